#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The user's product: lbx up on a project, lbx exec/enter, Landlock in
the box, lbx down, crashes, bad definitions, lbx rm. Runs the real CLI with
its own XDG directories; engine qemu (TCG) with lbx-fsd and lbx-vsockd."""
import json
import os
import pty
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import termios
import fcntl
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lbxtest import (approve_first, build_dir, host_ssh_agent, kernel_dir, main,  # noqa: E402
                     qemu_binary, stop_process)
from testlib import lbx_env  # noqa: E402


class Env:
    def __init__(self):
        self.tmp = tempfile.mkdtemp(prefix="lbx-life-")
        self.env = lbx_env(self.tmp)
        self.env["LBX_KERNEL_DIR"] = kernel_dir()
        self.project = os.path.join(self.tmp, "proj")
        os.makedirs(self.project)
        # The busybox test image needs no network (the default is debian).
        with open(os.path.join(self.project, "lbx.json"), "w") as f:
            f.write('{"image": "busybox"}')
        self.exe = os.path.join(build_dir(), "lbx", "lbx")

    def lbx(self, *args, cwd=None, input=None, timeout=300):
        return approve_first(lambda *a: subprocess.run(
            [self.exe] + list(a), cwd=cwd or self.project, env=self.env, input=input,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=timeout), args)

    def processes(self):
        """Processes still using this test's directories."""
        out = subprocess.run(["ps", "-eo", "pid,args"], stdout=subprocess.PIPE, text=True).stdout
        return [line for line in out.splitlines() if self.tmp in line and "ps -eo" not in line]

    def cleanup(self):
        self.lbx("down", "proj", timeout=120)
        shutil.rmtree(self.tmp, True)


def tty_exec(e, args, rows, cols):
    """Run lbx with a pty of the given size as its terminal; returns output."""
    pid, fd = pty.fork()
    if pid == 0:
        os.chdir(e.project)
        os.execve(e.exe, [e.exe] + args, e.env)
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
    out = b""
    while True:
        try:
            chunk = os.read(fd, 4096)
        except OSError:
            break
        if not chunk:
            break
        out += chunk
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status), out


def test_lifecycle(t):
    qemu_binary()
    e = Env()
    try:
        with open(os.path.join(e.project, "from-host.txt"), "w") as f:
            f.write("host data\n")
        os.makedirs(os.path.join(e.project, ".git", "hooks"))
        with open(os.path.join(e.project, ".git", "config"), "w") as f:
            f.write("[core]\n\tbare = false\n")
        r = e.lbx("up")
        if not t.ok(r.returncode == 0 and b"box proj is up" in r.stderr, "lbx up on a project",
                    r.stderr):
            print("#", e.lbx("logs", "proj").stdout.decode()[-2000:])
            return
        t.ok(b"engine auto: using qemu" in r.stderr, "auto says why it fell back to qemu", r.stderr)
        r = e.lbx("up", "proj")
        t.ok(r.returncode == 0 and b"already up" in r.stderr, "a second up is a no-op")
        rt = os.path.join(e.env["XDG_RUNTIME_DIR"], "lbx", "proj")
        t.ok(not os.path.exists(os.path.join(rt, "vsock.sock_1025")),
             "the ready channel is closed once the agent said READY (nothing to flood)")

        r = e.lbx("exec", "proj", "--", "sh", "-c", "pwd; cat from-host.txt")
        t.eq(r.stdout.decode(), f"{e.project}\nhost data\n",
             "exec starts in the project, which is the host's tree")
        for cmd, want in ((["true"], 0), (["false"], 1), (["/nope"], 127),
                          (["sh", "-c", "kill -9 $$"], 137)):
            t.eq(e.lbx("exec", "proj", "--", *cmd).returncode, want, f"exit status {want}")
        p = subprocess.run(f"'{e.exe}' exec proj -- yes | head -n 2", shell=True, cwd=e.project,
                           env=e.env, stdout=subprocess.PIPE, timeout=120)
        t.eq(p.stdout, b"y\ny\n", "a pipeline cut short stops the command in the box")
        # The guest writes an OSC 52 (set the host clipboard) and a CSI to its console.
        r = e.lbx("exec", "--root", "proj", "--", "sh", "-c",
                  "printf 'marker-osc \\033]52;c;ZXZpbA==\\007 \\033[2J end\\n' > /dev/console")
        time.sleep(0.5)
        out = e.lbx("logs", "proj").stdout
        t.ok(r.returncode == 0 and b"marker-osc \\x1b]52;c;ZXZpbA==\\x07 \\x1b[2J end" in out
             and b"\x1b" not in out and b"\x07" not in out,
             "lbx logs shows the guest's escape sequences as text, never sends them",
             (r.returncode, r.stderr, out[-300:]))
        t.ok(b"lbx-fsd:" in out, "lbx logs shows the backends' log too (lbx-fsd's lines)",
             out[:600])
        r = e.lbx("exec", "proj", "--", "sh", "-c", "grep ' / virtiofs ' /proc/mounts")
        opts = r.stdout.decode().split()[3].split(",") if r.stdout.split() else []
        t.ok("nosuid" in opts and "nodev" in opts,
             "the root tree is mounted nosuid,nodev (a forged stand-in is no device)", r.stdout)
        # Host git runs what .git/hooks and .git/config say: the box may not write them.
        r = e.lbx("exec", "proj", "--", "sh", "-c",
                  "echo 'touch /tmp/pwned' > .git/hooks/pre-commit; echo hook=$?;"
                  " echo '[core] fsmonitor = /tmp/x' >> .git/config; echo config=$?;"
                  " mv .git/hooks .git/h2; echo mv=$?; echo ok > .git/other; echo other=$?")
        out = r.stdout.decode()
        t.ok("hook=1" in out and "config=1" in out and "mv=1" in out and "other=0" in out
             and b"Read-only file system" in r.stderr
             and not os.path.exists(os.path.join(e.project, ".git", "hooks", "pre-commit"))
             and "fsmonitor" not in open(os.path.join(e.project, ".git", "config")).read(),
             "the box cannot write .git/hooks or .git/config (EROFS), the rest of .git it can",
             out + r.stderr.decode())
        e.lbx("exec", "proj", "--", "sh", "-c", "echo guest data > from-guest.txt")
        with open(os.path.join(e.project, "from-guest.txt")) as f:
            t.eq(f.read(), "guest data\n", "a file written in the guest is on the host")
        st = os.stat(os.path.join(e.project, "from-guest.txt"))
        t.eq((st.st_uid, st.st_gid), (os.getuid(), os.getgid()), "owned by the host user")

        rc, out = tty_exec(e, ["exec", "-t", "proj", "--", "stty", "size"], 33, 101)
        t.ok(rc == 0 and b"33 101" in out, "a pty session gets the window size", out)

        # Landlock: a root session makes a world-writable directory outside the project...
        r = e.lbx("exec", "--root", "proj", "--", "sh", "-c",
                  "mkdir -p -m 1777 /srv/shared && touch /srv/shared/by-root")
        t.eq(r.returncode, 0, "a --root session may write anywhere", r.stderr)
        # ...which a user session still cannot write into.
        r = e.lbx("exec", "proj", "--", "sh", "-c", "echo x > /srv/shared/f")
        t.ok(r.returncode != 0 and b"Permission denied" in r.stderr,
             "a user session cannot write outside its trees, even world-writable ones", r.stderr)
        r = e.lbx("exec", "proj", "--", "sh", "-c", "ls /srv/shared; echo y > /tmp/ok; cat /tmp/ok")
        t.ok(r.returncode == 0 and r.stdout == b"by-root\ny\n",
             "but it reads there, and writes /tmp", r.stdout + r.stderr)
        r = e.lbx("exec", "proj", "--", "sh", "-c", "kill -0 1")
        t.ok(r.returncode != 0 and b"not permitted" in r.stderr,
             "a user session cannot signal the agent (EPERM)", r.stderr)

        r = e.lbx("status", "proj", "--json")
        st = json.loads(r.stdout)
        roles = [p["role"] for p in st.get("state", {}).get("processes", [])]
        t.ok(st["running"] and "lbx-fsd (project)" in roles and "lbx-vsockd" in roles,
             "status --json shows the box's processes", r.stdout)
        r = e.lbx("ls", "--json")
        t.ok([b["name"] for b in json.loads(r.stdout)] == ["proj"], "ls --json lists it")

        r = e.lbx("down", "proj")
        t.ok(r.returncode == 0 and b"is down" in r.stderr, "lbx down", r.stderr)
        rt = os.path.join(e.env["XDG_RUNTIME_DIR"], "lbx", "proj")
        t.ok(not os.path.exists(rt), "no runtime directory (sockets) left behind")
        t.eq(e.processes(), [], "no process left behind")
        r = e.lbx("status", "proj")
        t.ok(r.returncode == 3 and b"stopped by lbx down" in r.stdout, "status: stopped by lbx down",
             r.stdout)

        # A backend dying takes the box down, and status names it.
        r = e.lbx("up", "proj")
        t.eq(r.returncode, 0, "up again", r.stderr)
        fsd = [line.split()[0] for line in e.processes()
               if "lbx-fsd" in line and "--tag project" in line]
        if t.ok(len(fsd) == 1, "one lbx-fsd serves the project", e.processes()):
            os.kill(int(fsd[0]), signal.SIGKILL)
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and e.lbx("status", "proj").returncode == 0:
                time.sleep(0.2)
            r = e.lbx("status", "proj")
            t.ok(r.returncode == 3 and b"lbx-fsd (project) was killed by signal 9" in r.stdout,
                 "kill -9 of lbx-fsd stops the box and status names it", r.stdout)
            t.eq(e.processes(), [], "and nothing of it is left running")

        with open(os.path.join(e.project, "lbx.json"), "w") as f:
            f.write('{"name": "proj", "memory": "lots"}')
        r = e.lbx("up")
        lines = r.stderr.decode().strip().splitlines()
        t.ok(r.returncode != 0 and len(lines) == 1 and "lbx.json: memory:" in lines[0],
             "a malformed lbx.json is one line naming the key", r.stderr)
        os.unlink(os.path.join(e.project, "lbx.json"))

        r = e.lbx("rm", "proj")
        t.ok(r.returncode == 0 and not os.path.exists(
            os.path.join(e.env["XDG_DATA_HOME"], "lbx", "boxes", "proj")), "lbx rm forgets the box")
        t.ok(os.path.exists(os.path.join(e.project, "from-guest.txt")), "and leaves the project alone")
    finally:
        e.cleanup()


def test_ssh_section(t):
    """A box with an "ssh" section gets lbx-ssh-proxy wired to the host's agent."""
    qemu_binary()
    e = Env()
    agent = None
    try:
        agent, sock, keys = host_ssh_agent(e.tmp, {"given": "ed25519", "other": "ed25519"})
        fps = [keys["given"], keys["other"]]
        with open(os.path.join(e.project, "lbx.json"), "w") as f:
            f.write('{"image": "busybox", "ssh": {"keys": [{"key": "%s", "namespaces": ["git"]}]}}'
                    % fps[0])
        e.env["SSH_AUTH_SOCK"] = sock
        r = e.lbx("up")
        if not t.ok(r.returncode == 0, "lbx up with an ssh section", r.stderr):
            return
        st = json.loads(e.lbx("status", "proj", "--json").stdout)
        t.ok("lbx-ssh-proxy" in [p["role"] for p in st["state"]["processes"]],
             "the supervisor runs lbx-ssh-proxy")
        proxy = os.path.join(e.env["XDG_RUNTIME_DIR"], "lbx", "proj", "vsock.sock_1026")
        out = subprocess.run(["ssh-add", "-l"], env={"SSH_AUTH_SOCK": proxy},
                             stdout=subprocess.PIPE, text=True).stdout
        t.ok(fps[0] in out and fps[1] not in out, "the box's agent offers only the given key", out)
        r = e.lbx("exec", "proj", "--", "sh", "-c", 'test -S "$SSH_AUTH_SOCK" && echo $SSH_AUTH_SOCK')
        t.eq(r.stdout, b"/run/lbx/ssh-agent.sock\n", "sessions in the box get SSH_AUTH_SOCK")
        e.lbx("down", "proj")
        del e.env["SSH_AUTH_SOCK"]
        r = e.lbx("up")
        t.ok(r.returncode != 0 and b"SSH_AUTH_SOCK is not set" in r.stderr,
             "without a host agent, up says what is missing", r.stderr)
    finally:
        if agent:
            stop_process(agent)
        e.cleanup()


def test_network(t):
    """The box's network: lbx-netd with the box's policy, eth0 set up by the agent."""
    qemu_binary()
    e = Env()
    server = None
    try:
        with open(os.path.join(e.project, "page.html"), "w") as f:
            f.write("served by the host\n")
        server = subprocess.Popen([sys.executable, "-m", "http.server", "0", "--bind", "127.0.0.1"],
                                  cwd=e.project, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                  text=True)
        port = int(server.stdout.readline().split("port ")[1].split()[0])
        with open(os.path.join(e.project, "lbx.json"), "w") as f:
            f.write('{"image": "busybox", "env": ["GREETING=hello box", "EDITOR=vi"], '
                    '"network": {"host": ["tcp:%d"]}}' % port)
        r = e.lbx("up")
        if not t.ok(r.returncode == 0, "lbx up with a network section", r.stderr):
            return
        r = e.lbx("exec", "-e", "EDITOR=nano", "proj", "--", "sh", "-c", "echo $GREETING/$EDITOR")
        t.eq(r.stdout, b"hello box/nano\n",
             "the box's env reaches sessions, under the session's own", r.stderr)
        r = e.lbx("exec", "proj", "--", "sh", "-c", "ip -4 addr show eth0; cat /etc/resolv.conf")
        t.ok(b"inet 10.0.2.15/24" in r.stdout and b"nameserver 10.0.2.3" in r.stdout,
             "the agent configured eth0 and resolv.conf", r.stdout + r.stderr)
        r = e.lbx("exec", "proj", "--", "wget", "-qO-", f"http://10.0.2.2:{port}/page.html")
        t.eq(r.stdout, b"served by the host\n", "a host service the policy names is reachable")
        r = e.lbx("exec", "proj", "--", "wget", "-qO-", f"http://10.0.2.2:{port + 1}/")
        t.ok(r.returncode != 0 and b"refused" in r.stderr, "another host port is refused", r.stderr)
        r = e.lbx("exec", "proj", "--", "wget", "-qO-", "http://169.254.169.254/")
        t.ok(r.returncode != 0, "the metadata address is not reachable", r.stderr)
        r = e.lbx("net", "proj", "--json")
        st = json.loads(r.stdout) if r.returncode == 0 else {}
        t.ok(st.get("mode") == "nat" and f"tcp:{port}" in st.get("host", []) and
             st.get("counters", {}).get("flows_denied", 0) >= 2,
             "lbx net shows the live policy and the denied flows", r.stdout[-600:])
        e.lbx("down", "proj")
        with open(os.path.join(e.project, "lbx.json"), "w") as f:
            f.write('{"image": "busybox", "network": {"mode": "none"}}')
        r = e.lbx("up")
        t.eq(r.returncode, 0, "lbx up with mode none", r.stderr)
        r = e.lbx("exec", "proj", "--", "sh", "-c", "ls /sys/class/net")
        t.ok(b"eth0" not in r.stdout.split(), "mode none: no network card at all", r.stdout)
        t.ok(not any("lbx-netd" in p for p in e.processes()), "and no lbx-netd")
        r = e.lbx("net", "proj")
        t.ok(r.returncode != 0 and b"no network" in r.stderr, "lbx net says so", r.stderr)
    finally:
        if server:
            server.terminate()
            server.wait()
        e.cleanup()


if __name__ == "__main__":
    main([test_lifecycle, test_ssh_section, test_network])
