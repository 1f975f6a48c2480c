#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""A box cannot grant itself more (docs/box.md "Approval"). A session in the
box rewrites the project's lbx.json with a read-write mount of a host
directory, root sessions and every host port; `lbx down; lbx up` without a
terminal is refused in one line naming `lbx allow`, `lbx build` too; after
`lbx allow` it starts with what was approved; at a terminal `lbx up` asks
(y/N). Narrowing needs no approval. Another project cannot take the box's
name. Runs the real CLI with its own XDG directories; engine qemu (TCG)."""
import json
import os
import pty
import select
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lbxtest import build_dir, kernel_dir, main, qemu_binary  # noqa: E402
from testlib import lbx_env  # noqa: E402


class Env:
    def __init__(self):
        self.tmp = tempfile.mkdtemp(prefix="lbx-trust-")
        self.env = lbx_env(self.tmp)
        self.env["LBX_KERNEL_DIR"] = kernel_dir()
        self.project = os.path.join(self.tmp, "proj")
        self.secret = os.path.join(self.tmp, "host-secret")
        os.makedirs(self.project)
        os.makedirs(self.secret)
        with open(os.path.join(self.secret, "key"), "w") as f:
            f.write("host only\n")
        self.exe = os.path.join(build_dir(), "lbx", "lbx")

    def lbx(self, *args, cwd=None, timeout=300):
        """The CLI without a terminal: stdin is /dev/null, stderr a pipe."""
        return subprocess.run([self.exe] + list(args), cwd=cwd or self.project, env=self.env,
                              stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, timeout=timeout)

    def write(self, definition, cwd=None):
        with open(os.path.join(cwd or self.project, "lbx.json"), "w") as f:
            json.dump(definition, f)

    def running(self, name="proj"):
        return self.lbx("status", name).returncode == 0

    def cleanup(self):
        self.lbx("down", "proj", timeout=120)
        shutil.rmtree(self.tmp, True)


def on_terminal(e, args, answer, timeout=300):
    """Run lbx with a pty as stdin and stderr; answer the y/N question once.
    Returns (exit status, everything it printed)."""
    pid, fd = pty.fork()
    if pid == 0:
        os.chdir(e.project)
        os.execve(e.exe, [e.exe] + args, e.env)
    out, answered = b"", False
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 1.0)
        if not ready:
            continue
        try:
            chunk = os.read(fd, 4096)
        except OSError:
            break
        if not chunk:
            break
        out += chunk
        if not answered and b"[y/N]" in out:
            os.write(fd, answer)
            answered = True
    else:
        os.kill(pid, 9)
    _, status = os.waitpid(pid, 0)
    os.close(fd)
    return os.waitstatus_to_exitcode(status), out


def attack(e):
    """What a session writes: a host directory read-write, root sessions, every host port."""
    return {"image": "busybox",
            "mounts": [{"host": e.secret, "guest": "/mnt/secret", "mode": "rw"}],
            "landlock": {"root_sessions": True},
            "network": {"host": ["tcp:1-65535"]}}


def one_line(r):
    lines = r.stderr.decode(errors="replace").strip().splitlines()
    return lines[0] if r.returncode != 0 and len(lines) == 1 else None


def test_self_grant(t):
    qemu_binary()
    e = Env()
    try:
        e.write({"image": "busybox", "landlock": {"root_sessions": False}})
        r = e.lbx("up")
        if not t.ok(r.returncode == 0, "a definition narrower than the defaults needs no approval",
                    r.stderr):
            return
        r = e.lbx("exec", "--root", "proj", "--", "true")
        t.ok(r.returncode != 0, "root sessions are off, as approved", r.stderr)

        # The attack: a session rewrites the project's definition.
        text = json.dumps(attack(e))
        r = e.lbx("exec", "proj", "--", "sh", "-c", f"printf '%s' '{text}' > lbx.json")
        t.eq(r.returncode, 0, "a session in the box can rewrite lbx.json", r.stderr)
        t.eq(e.lbx("down", "proj").returncode, 0, "lbx down")

        r = e.lbx("up")
        line = one_line(r)
        t.ok(line is not None and "'lbx allow proj'" in line and "mounts" in line and
             "landlock.root_sessions" in line and "network.host" in line,
             "lbx up without a terminal refuses in one line naming 'lbx allow proj' and what "
             "widens", r.stderr)
        t.ok(not e.running(), "and nothing was started")
        r = e.lbx("up", "proj", cwd=e.tmp)
        t.ok(one_line(r) is not None and "lbx allow proj" in one_line(r),
             "lbx up NAME from elsewhere is refused too", r.stderr)
        r = e.lbx("build", "proj")
        t.ok(one_line(r) is not None and "lbx allow proj" in one_line(r),
             "so is lbx build", r.stderr)
        with open(os.path.join(e.secret, "key")) as f:
            t.eq(f.read(), "host only\n", "the host directory was not reached")

        r = e.lbx("allow", "--show", "proj")
        t.ok(r.returncode == 0 and e.secret.encode() in r.stdout and b"read-write" in r.stdout
             and b"root_sessions" in r.stdout and b"tcp:1-65535" in r.stdout,
             "lbx allow --show lists what it would approve", r.stdout + r.stderr)
        t.ok(one_line(e.lbx("up")) is not None, "--show approved nothing")
        r = e.lbx("allow", "--json", "proj")
        js = json.loads(r.stdout) if r.returncode == 0 else {}
        t.ok({w["key"] for w in js.get("widens", [])} >=
             {"mounts", "landlock.root_sessions", "network.host"} and
             js.get("approve", {}).get("box", {}).get("mounts", [{}])[0].get("host") == e.secret,
             "lbx allow --json: the widenings and the canonical definition", r.stdout[-1500:])

        r = e.lbx("allow", "proj")
        t.ok(r.returncode == 0 and b"approved" in r.stderr, "lbx allow proj", r.stderr)
        r = e.lbx("up")
        if not t.ok(r.returncode == 0, "then lbx up starts it", r.stderr):
            return
        r = e.lbx("exec", "proj", "--", "sh", "-c", "cat /mnt/secret/key")
        t.eq(r.stdout, b"host only\n", "with the approved mount", r.stderr)
        t.eq(e.lbx("exec", "--root", "proj", "--", "true").returncode, 0,
             "and root sessions, as approved")

        # Narrowing: the session drops the mount; no approval needed.
        narrow = dict(attack(e), mounts=[])
        r = e.lbx("exec", "proj", "--", "sh", "-c",
                  f"printf '%s' '{json.dumps(narrow)}' > lbx.json")
        e.lbx("down", "proj")
        r = e.lbx("up")
        t.ok(r.returncode == 0, "a narrowed definition starts without approval", r.stderr)
        r = e.lbx("exec", "proj", "--", "sh", "-c", "ls /mnt/secret 2>&1; true")
        t.ok(b"key" not in r.stdout, "and the mount is gone", r.stdout)
        # ...and it is now the approved version: the mount back needs approval again.
        r = e.lbx("exec", "proj", "--", "sh", "-c", f"printf '%s' '{text}' > lbx.json")
        e.lbx("down", "proj")
        r = e.lbx("up")
        t.ok(one_line(r) is not None and "mounts" in one_line(r),
             "widening again after a narrowing asks again", r.stderr)

        # At a terminal: the list and a question; N refuses, y starts.
        rc, out = on_terminal(e, ["up"], b"n\n")
        t.ok(rc != 0 and b"asks for more than you approved" in out and e.secret.encode() in out
             and b"[y/N]" in out and b"not approved" in out,
             "at a terminal lbx up lists what widens and asks; 'n' refuses", out[-1500:])
        t.ok(not e.running(), "and starts nothing")
        rc, out = on_terminal(e, ["up"], b"y\n")
        t.ok(rc == 0 and b"is up" in out, "'y' approves and starts it", out[-1500:])
        t.eq(e.lbx("exec", "proj", "--", "cat", "/mnt/secret/key").stdout, b"host only\n",
             "with the mount")
        e.lbx("down", "proj")
        t.eq(e.lbx("up").returncode, 0, "what was approved at the terminal stays approved")
    finally:
        e.cleanup()


def test_name_takeover(t):
    qemu_binary()
    e = Env()
    try:
        e.write({"image": "busybox"})
        r = e.lbx("up")
        if not t.ok(r.returncode == 0, "the victim's box is up", r.stderr):
            return
        e.lbx("down", "proj")
        evil = os.path.join(e.tmp, "evil")
        os.makedirs(evil)
        e.write({"name": "proj", "image": "busybox"}, cwd=evil)
        r = e.lbx("up", cwd=evil)
        line = one_line(r)
        t.ok(line is not None and f"belongs to the project {e.project}" in line and
             "lbx rm proj" in line and '"name"' in line,
             "another project claiming the name is refused in one line that names the owner "
             "and the ways out", r.stderr)
        t.ok(not e.running(), "and nothing was started")
        r = e.lbx("allow", cwd=evil)
        t.ok(one_line(r) is not None and "belongs to the project" in one_line(r),
             "lbx allow refuses it too", r.stderr)
        with open(os.path.join(e.env["XDG_DATA_HOME"], "lbx", "boxes", "proj", "box.json")) as f:
            t.eq(json.load(f)["project"], e.project, "the box's record still names its project")
        r = e.lbx("up", "proj", cwd=e.tmp)
        t.ok(r.returncode == 0, "the owner's box still starts by name", r.stderr)
        r = e.lbx("exec", "proj", "--", "pwd")
        t.eq(r.stdout.decode().strip(), e.project, "with the owner's project")
        e.lbx("down", "proj")
        t.eq(e.lbx("rm", "proj").returncode, 0, "lbx rm proj forgets the old box")
        r = e.lbx("up", cwd=evil)
        t.ok(r.returncode == 0, "after which the name is free", r.stderr)
        e.lbx("down", "proj")
    finally:
        e.cleanup()


def test_recipe(t):
    """A Containerfile and its context are approved by their contents: a change
    from the box is refused before podman builds anything."""
    e = Env()
    try:
        with open(os.path.join(e.project, "Containerfile"), "w") as f:
            f.write("FROM localhost/lbx-debian:bookworm\nCOPY setup.sh /\nRUN sh /setup.sh\n")
        with open(os.path.join(e.project, "setup.sh"), "w") as f:
            f.write("echo building\n")
        e.write({"image": {"containerfile": "Containerfile"}})
        r = e.lbx("build")
        t.ok(one_line(r) is not None and "(image)" in one_line(r) and "lbx allow proj" in
             one_line(r), "a new Containerfile is refused without approval", r.stderr)
        r = e.lbx("allow")
        t.ok(r.returncode == 0, "lbx allow in the project directory", r.stderr)
        r = e.lbx("allow", "--show")
        t.ok(b"nothing beyond" in r.stdout, "then nothing is left to approve", r.stdout)
        # The box changes a script the approved Containerfile runs.
        with open(os.path.join(e.project, "setup.sh"), "w") as f:
            f.write("cat /host/secret\n")
        r = e.lbx("build")
        t.ok(one_line(r) is not None and "(image)" in one_line(r),
             "a changed build context is refused before podman runs", r.stderr)
        r = e.lbx("allow", "--show")
        t.ok(b"image: Containerfile or its context ./ changed" in r.stdout,
             "allow --show says the recipe changed", r.stdout)
        # Changing the definition only inside .git or lbx.json's own keys is not the recipe.
        os.makedirs(os.path.join(e.project, ".git"))
        with open(os.path.join(e.project, ".git", "HEAD"), "w") as f:
            f.write("ref: refs/heads/main\n")
        e.lbx("allow")
        e.write({"image": {"containerfile": "Containerfile"}, "cpus": 1})
        r = e.lbx("allow", "--show")
        t.ok(b"nothing beyond" in r.stdout, ".git and lbx.json itself are not the recipe",
             r.stdout)
    finally:
        e.cleanup()


if __name__ == "__main__":
    main([test_self_grant, test_name_takeover, test_recipe])
