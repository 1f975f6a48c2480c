#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Engine light as an ordinary user: rootless podman with --userns=keep-id.

The user's uid is kept inside, so the project's files stay theirs; the
container's root is a subordinate uid on the host, which must still leave
the agent's socket to the user (and only to the host side of it). The box
uses the busybox image (the Debian base as an ordinary user is
images-user's: as_user.py runs test_images.py as one). Run as root, the
test makes a user of its own for this (lbx-rootless, kept for the next run)
and runs the real CLI as that user; the network part needs /dev/net/tun
usable by that user, which is udev's default (0666): a host that has it
0600 gets it 0666 for the test and back after."""
import json
import os
import shutil
import stat
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lbxtest import Skip, approve_first, build_dir, main  # noqa: E402
from testlib import http_server  # noqa: E402
import userlib  # noqa: E402
from userlib import USER  # noqa: E402

TUN = "/dev/net/tun"


def need():
    userlib.need_root_and_tools("podman", "runc", "newuidmap")
    userlib.check_reachable(os.path.join(build_dir(), "lbx", "lbx"))


def make_user():
    return userlib.make_user()


class As:
    """The lbx CLI as the test user, with a clean environment."""

    def __init__(self, pw):
        self.pw = pw
        self.exe = os.path.join(build_dir(), "lbx", "lbx")
        self.project = os.path.join(pw.pw_dir, "proj")
        self.env = userlib.user_env(pw)

    def run(self, *argv, timeout=300):
        return userlib.runuser(self.pw, argv, env=self.env, cwd=self.project,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=timeout)

    def lbx(self, *args, timeout=300):
        return approve_first(lambda *a: self.run(self.exe, *a, timeout=timeout), args)

    def write(self, rel, text):
        self.run("touch", rel, timeout=30)  # the user's file
        with open(os.path.join(self.project, rel), "w") as f:
            f.write(text)


def test_rootless(t):
    need()
    pw = make_user()
    u = As(pw)
    srv = http_server(body=b"hello, rootless box\n")
    tun_mode = stat.S_IMODE(os.stat(TUN).st_mode) if os.path.exists(TUN) else None
    try:
        if tun_mode is not None and tun_mode & 0o006 != 0o006:
            t.note(f"{TUN} is {tun_mode:04o} here; 0666 (udev's default) for this test")
            os.chmod(TUN, 0o666)
        subprocess.run(["runuser", "-u", USER, "--", "mkdir", "-p", u.project], check=True)
        u.write("lbx.json", json.dumps({
            "name": "rootless", "image": "busybox",
            "network": {"host": [f"tcp:{srv.server_address[1]}"]}}))
        r = u.lbx("up", "--light")
        if not t.ok(r.returncode == 0 and b"engine light" in r.stderr,
                    f"lbx up --light as {USER} (uid {pw.pw_uid}): rootless podman", r.stderr):
            t.note(u.lbx("logs", "rootless").stdout.decode(errors="replace")[-2000:])
            return
        # No XDG_RUNTIME_DIR in the user's environment: lbx's fallback.
        sock = f"/tmp/lbx-{pw.pw_uid}/rootless/light/agent.sock"
        if os.path.exists(sock):
            t.eq(os.stat(sock).st_uid, pw.pw_uid,
                 "the agent's socket belongs to the user, not to the container's root "
                 "(a subordinate uid on the host)")
        else:
            t.skip("the agent's socket belongs to the user", f"not found at {sock}")
        r = u.lbx("exec", "rootless", "--", "sh", "-c", "id -u; pwd; echo hi > made-inside")
        made = os.path.join(u.project, "made-inside")
        t.ok(r.returncode == 0 and r.stdout.decode().split() == [str(pw.pw_uid), u.project] and
             os.path.exists(made) and os.stat(made).st_uid == pw.pw_uid,
             "exec: the user's uid inside, the project at its path, files written are the user's",
             r.stdout + r.stderr)
        r = u.lbx("exec", "rootless", "--", "sh", "-c", "echo x > /etc/evil")
        t.ok(r.returncode != 0 and b"Permission denied" in r.stderr,
             "Landlock holds in a rootless container too", r.stderr)
        # busybox's own nc: Debian's static busybox wget crashes in its resolver code.
        r = u.lbx("exec", "rootless", "--", "sh", "-c",
                  "printf 'GET / HTTP/1.0\\r\\n\\r\\n' | "
                  f"nc -w 20 10.0.2.2 {srv.server_address[1]}")
        t.ok(r.returncode == 0 and r.stdout.endswith(b"\r\n\r\nhello, rootless box\n"),
             "the network through lbx-netd works rootless (a host service the box's rule names)",
             r.stdout + r.stderr)
        r = u.lbx("down", "rootless")
        gone = u.run("podman", "container", "exists", "lbx-rootless")
        t.ok(r.returncode == 0 and gone.returncode == 1, "lbx down removes the container",
             r.stderr)
        if tun_mode is not None:
            # A host where the user cannot open /dev/net/tun: one line says so.
            os.chmod(TUN, 0o600)
            r = u.lbx("up", "--light")
            lines = r.stderr.decode(errors="replace").strip().splitlines()
            t.ok(r.returncode != 0 and lines and "/dev/net/tun" in lines[-1] and
                 "chmod 0666" in lines[-1] and '"mode": "none"' in lines[-1] and
                 u.run("podman", "container", "exists", "lbx-rootless").returncode == 1,
                 "without /dev/net/tun the up stops before podman, with one line naming the fix "
                 "and the way out",
                 r.stderr)
            u.lbx("down", "rootless", timeout=120)
        r = u.lbx("rm", "rootless")
        t.ok(r.returncode == 0, "lbx rm", r.stderr)
    finally:
        u.lbx("down", "rootless", timeout=120)
        if tun_mode is not None:
            os.chmod(TUN, tun_mode)
        srv.shutdown()
        srv.server_close()
        # podman leaves a pause process per rootless user; nothing of the test stays.
        subprocess.run(["pkill", "-KILL", "-u", USER], stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
        shutil.rmtree(u.project, True)


def test_what_a_user_lacks(t):
    """A user with nothing granted (nobody: no subordinate ids; here also no
    /dev/kvm and, at 0600, no /dev/net/tun) reads one line per problem with
    its fix, from lbx doctor and from lbx up."""
    if os.getuid() != 0:
        raise Skip("needs root to run as nobody")
    userlib.check_reachable(os.path.join(build_dir(), "lbx", "lbx"))
    import pwd
    import tempfile
    pw = pwd.getpwnam("nobody")
    if userlib.has_subids("/etc/subuid", "nobody"):
        raise Skip("nobody has subordinate ids on this host")
    tmp = tempfile.mkdtemp(prefix="lbx-nobody-")
    os.chmod(tmp, 0o755)
    try:
        env = {"HOME": tmp, "USER": "nobody", "LOGNAME": "nobody", "PATH": userlib.PATH,
               "XDG_RUNTIME_DIR": tmp + "/run", "XDG_DATA_HOME": tmp + "/data",
               "XDG_CONFIG_HOME": tmp + "/config", "XDG_CACHE_HOME": tmp + "/cache"}
        proj = os.path.join(tmp, "proj")
        os.makedirs(proj)
        with open(os.path.join(proj, "lbx.json"), "w") as f:
            f.write('{"name": "nobodys", "image": "debian"}')
        subprocess.run(["chown", "-R", f"{pw.pw_uid}:{pw.pw_gid}", tmp], check=True)
        exe = os.path.join(build_dir(), "lbx", "lbx")

        def run(*args):
            return subprocess.run(["runuser", "-u", "nobody", "--", "env", "-i"] +
                                  [f"{k}={v}" for k, v in env.items()] + [exe] + list(args),
                                  cwd=proj, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                  text=True, timeout=120)
        r = run("doctor", "--json")
        try:
            checks = {c["name"]: c for c in json.loads(r.stdout)["checks"]}
        except (ValueError, KeyError):
            checks = {}
        sub = checks.get("subids", {})
        t.ok(r.returncode == 1 and sub.get("ok") is False and
             "usermod --add-subuids" in (sub.get("fix") or ""),
             "doctor --json as nobody: no subordinate ids, and the usermod that adds them",
             r.stdout + r.stderr)
        kvm = checks.get("kvm", {})
        if os.path.exists("/dev/kvm") and not os.stat("/dev/kvm").st_mode & 0o006:
            t.ok(kvm.get("ok") is False and "usermod -aG kvm" in (kvm.get("fix") or ""),
                 "doctor: /dev/kvm closed to this user, fixed by the kvm group", kvm)
        else:
            t.skip("doctor names the kvm group", "/dev/kvm is open to everyone here")
        r = run("doctor", "--quiet")
        lines = r.stdout.strip().splitlines()
        t.ok(lines and all(line.startswith("lbx: ") and "Fix: " in line for line in lines) and
             any(line.startswith("lbx: subids:") for line in lines),
             "doctor --quiet: one line per problem, each with its fix", r.stdout)
        r = run("up")
        last = r.stderr.strip().splitlines()[-1:] or [""]
        t.ok(r.returncode != 0 and "subordinate" in last[0] and "usermod" in last[0],
             "lbx up of a Debian box stops with one line naming the fix (no mmdebstrap run)",
             r.stderr)
        if os.path.exists("/dev/kvm") and not os.stat("/dev/kvm").st_mode & 0o006:
            t.ok("/dev/kvm cannot be opened (Permission denied); 'sudo usermod -aG kvm" in
                 r.stderr, "and first one line on /dev/kvm: the kvm group is the fix", r.stderr)
    finally:
        subprocess.run(["rm", "-rf", tmp])


if __name__ == "__main__":
    main([test_what_a_user_lacks, test_rootless])
