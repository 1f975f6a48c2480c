# SPDX-License-Identifier: MIT
"""An ordinary user for the e2e tests: made (once, kept) when the tests run
as root, so that boxes are tested as the people who use lbx run them.
test_rootless.py drives the CLI as that user; as_user.py runs a whole test
script as that user."""
import os
import pwd
import shutil
import stat
import subprocess

from lbxtest import Skip, build_dir

USER = "lbx-rootless"
# as_user.py's own user: test_rootless.py ends every process of its user when
# it is done, which must not hit a test running as the other one.
E2E_USER = "lbx-e2e"
SUBIDS = {USER: "400000-465535", E2E_USER: "500000-565535"}
PATH = "/usr/local/bin:/usr/bin:/bin"


def has_subids(path, user=USER):
    try:
        with open(path) as f:
            return any(line.split(":")[0] == user for line in f)
    except FileNotFoundError:
        return False


def need_root_and_tools(*programs):
    if os.getuid() != 0:
        raise Skip("needs root to make a user of its own to run as")
    for p in ("useradd", "runuser") + programs:
        if not shutil.which(p):
            raise Skip(f"{p} is not installed (make setup installs podman, runc and uidmap)")


def check_reachable(path):
    """Every directory above path must be searchable by other users."""
    d = os.path.abspath(path)
    while d != "/":
        d = os.path.dirname(d)
        if not os.stat(d).st_mode & stat.S_IXOTH:
            raise Skip(f"{d} is not searchable by other users, so the test user cannot run the "
                       "build")


def make_user(podman=True, user=USER):
    """The test user, with subordinate ids; checks rootless podman works for it."""
    try:
        pw = pwd.getpwnam(user)
    except KeyError:
        subprocess.run(["useradd", "--create-home", "--shell", "/bin/sh", user], check=True)
        pw = pwd.getpwnam(user)
    # Rootless podman and mmdebstrap map the other ids to the user's subordinate
    # ids; useradd adds them only where /etc/subuid already exists.
    if not has_subids("/etc/subuid", user) or not has_subids("/etc/subgid", user):
        subprocess.run(["usermod", "--add-subuids", SUBIDS[user], "--add-subgids",
                        SUBIDS[user], user], check=True)
    if podman:
        r = runuser(pw, ["podman", "unshare", "true"], stdout=subprocess.PIPE,
                    stderr=subprocess.STDOUT)
        if r.returncode != 0:
            out = r.stdout.decode(errors="replace").strip().splitlines()
            raise Skip("rootless podman cannot make its user namespace here: " +
                       (out[-1] if out else "podman unshare failed"))
    return pw


def user_env(pw, **extra):
    env = {"HOME": pw.pw_dir, "USER": pw.pw_name, "LOGNAME": pw.pw_name, "PATH": PATH}
    env.update(extra)
    return env


def runuser(pw, argv, env=None, cwd="/", **kw):
    """argv as the test user, in a clean environment (runuser, env -i)."""
    env = env or user_env(pw)
    return subprocess.run(["runuser", "-u", pw.pw_name, "--", "env", "-i"] +
                          [f"{k}={v}" for k, v in env.items()] + list(argv), cwd=cwd, **kw)


def seed_kernel(pw, root_kernel_dir):
    """The guest kernel in the user's own cache, where lbx looks for it (by the
    key build-kernel.sh prints for that user), copied from root's build so the
    test does not compile it again."""
    script = os.path.join(build_dir(), "lbx", "build-kernel.sh")
    r = runuser(pw, ["sh", script, "--print-key"], stdout=subprocess.PIPE, text=True)
    if r.returncode != 0:
        raise RuntimeError(f"build-kernel.sh --print-key failed as {pw.pw_name}")
    key = r.stdout.strip().splitlines()[-1]
    dest = os.path.join(pw.pw_dir, ".cache", "lbx", "kernel", key)
    if not os.path.exists(os.path.join(dest, "vmlinux")):
        runuser(pw, ["mkdir", "-p", os.path.dirname(dest)], check=True)
        tmp = dest + ".tmp"
        shutil.rmtree(tmp, True)
        shutil.copytree(root_kernel_dir, tmp)
        subprocess.run(["chown", "-R", f"{pw.pw_uid}:{pw.pw_gid}", tmp], check=True)
        os.rename(tmp, dest)
    return dest
