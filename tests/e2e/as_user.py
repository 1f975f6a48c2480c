#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Run an e2e test script as an ordinary user: as_user.py [--tun] TEST.py

Run by root, it makes the test user (userlib.py), puts the guest kernel in
that user's cache (copied from root's, as `lbx up` would find a kernel it
built there itself) and runs the script as that user with a clean
environment, its TAP output passed through. --tun makes /dev/net/tun 0666
(udev's default) for the run, for engine light's network, and puts the
mode back after. Run by anyone else, it runs the script as they are."""
import os
import stat
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lbxtest import Skip, Tap, build_dir, kernel_dir  # noqa: E402
import userlib  # noqa: E402

TUN = "/dev/net/tun"


def skip(script, why):
    t = Tap()
    t.skip(f"{os.path.basename(script)} as {userlib.E2E_USER}", why)
    t.done()


def main():
    args = sys.argv[1:]
    tun = "--tun" in args
    args = [a for a in args if a != "--tun"]
    script = os.path.abspath(args[0])
    if os.getuid() != 0:
        os.execv(sys.executable, [sys.executable, script] + args[1:])
    try:
        userlib.need_root_and_tools("podman", "newuidmap")
        userlib.check_reachable(os.path.join(build_dir(), "lbx", "lbx"))
        userlib.check_reachable(script)
        pw = userlib.make_user(user=userlib.E2E_USER)
        kdir = userlib.seed_kernel(pw, kernel_dir())
    except Skip as e:
        skip(script, str(e))
    print(f"# as {userlib.E2E_USER} (uid {pw.pw_uid}); its kernel: {kdir}", flush=True)
    mode = stat.S_IMODE(os.stat(TUN).st_mode) if tun and os.path.exists(TUN) else None
    try:
        if mode is not None and mode & 0o006 != 0o006:
            print(f"# {TUN} is {mode:04o} here; 0666 (udev's default) for this run", flush=True)
            os.chmod(TUN, 0o666)
        env = userlib.user_env(pw, LBX_BUILD_DIR=build_dir(), PYTHONDONTWRITEBYTECODE="1",
                               PYTHONUNBUFFERED="1")
        # The system's python: the one running this may live in root's home.
        python = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else sys.executable
        r = userlib.runuser(pw, [python, script] + args[1:], env=env, cwd="/tmp")
        sys.exit(r.returncode)
    finally:
        if mode is not None:
            os.chmod(TUN, mode)


if __name__ == "__main__":
    main()
