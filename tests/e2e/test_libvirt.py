#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Engine libvirt as an ordinary user, on qemu:///session: the life-cycle
assertions of test_lifecycle.py on a transient libvirt domain.

libvirt's session daemon needs no system service: virConnectOpen starts
one for the user on demand. Run as root (CI), the test makes a user of its
own (lbx-libvirt, kept for the next run) and runs the real CLI as that
user, with private XDG directories (so the session daemon, its sockets and
its logs are the test's own); run as an ordinary user, it is that user.
The box uses the busybox image. Only a host without libvirt's QEMU driver
is a skip; libvirt failing with the driver installed is a failure."""
import json
import os
import pwd
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lbxtest import Skip, approve_first, build_dir, kernel_dir, main, qemu_binary  # noqa: E402
from testlib import http_server  # noqa: E402

USER = "lbx-libvirt"
DOMAIN = "lbx-proj"
QEMU_DRIVER = ("/usr/lib/x86_64-linux-gnu/libvirt/connection-driver/libvirt_driver_qemu.so",
               "/usr/lib64/libvirt/connection-driver/libvirt_driver_qemu.so")


def need():
    qemu_binary()
    if not any(os.path.exists(p) for p in QEMU_DRIVER):
        raise Skip("libvirt's QEMU driver is not installed (make setup installs "
                   "libvirt-daemon-driver-qemu)")
    for p in ("virsh", "libvirtd"):
        if not shutil.which(p) and not os.path.exists("/usr/sbin/" + p):
            raise Skip(f"{p} is not installed (make setup installs libvirt-clients and "
                       "libvirt-daemon)")
    if os.getuid() == 0:
        for p in ("useradd", "runuser"):
            if not shutil.which(p):
                raise Skip(f"{p} is not installed, so the test cannot run as its own user")
        d = os.path.join(build_dir(), "lbx", "lbx")
        while d != "/":
            d = os.path.dirname(d)
            if not os.stat(d).st_mode & stat.S_IXOTH:
                raise Skip(f"{d} is not searchable by other users, so {USER} cannot run "
                           "the build")


def user():
    if os.getuid() != 0:
        return pwd.getpwuid(os.getuid())
    try:
        return pwd.getpwnam(USER)
    except KeyError:
        subprocess.run(["useradd", "--create-home", "--shell", "/bin/sh", USER], check=True)
        return pwd.getpwnam(USER)


class As:
    """The lbx CLI (and virsh) as the test's user, with private XDG directories."""

    def __init__(self, pw):
        self.pw = pw
        self.exe = os.path.join(build_dir(), "lbx", "lbx")
        self.tmp = tempfile.mkdtemp(prefix="lbx-lv-")
        self.project = os.path.join(self.tmp, "proj")
        self.env = {"HOME": pw.pw_dir, "USER": pw.pw_name, "LOGNAME": pw.pw_name,
                    "PATH": "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin"}
        for k, d in (("XDG_RUNTIME_DIR", "run"), ("XDG_DATA_HOME", "data"),
                     ("XDG_CONFIG_HOME", "config"), ("XDG_CACHE_HOME", "cache"),
                     ("LBX_KERNEL_DIR", "kernel")):
            self.env[k] = os.path.join(self.tmp, d)
            os.makedirs(self.env[k], mode=0o700)
        os.makedirs(self.project)
        # The kernel cache may be root's alone (~root is 0700): a copy the user can read.
        shutil.copy(os.path.join(kernel_dir(), "vmlinux"), self.env["LBX_KERNEL_DIR"])
        if os.getuid() == 0:
            for dirpath, dirs, files in os.walk(self.tmp):
                for n in [dirpath] + [os.path.join(dirpath, f) for f in files]:
                    os.chown(n, pw.pw_uid, pw.pw_gid)

    def run(self, *argv, timeout=300):
        pre = ["runuser", "-u", self.pw.pw_name, "--"] if os.getuid() == 0 else []
        return subprocess.run(pre + ["env", "-i"] + [f"{k}={v}" for k, v in self.env.items()] +
                              list(argv), cwd=self.project, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, timeout=timeout)

    def lbx(self, *args, timeout=300):
        return approve_first(lambda *a: self.run(self.exe, *a, timeout=timeout), args)

    def virsh(self, *args):
        return self.run("virsh", "-c", "qemu:///session", *args, timeout=120)

    def domains(self):
        r = self.virsh("list", "--all", "--name")
        return [n for n in r.stdout.decode().split() if n]

    def write(self, rel, text):
        path = os.path.join(self.project, rel)
        with open(path, "w") as f:
            f.write(text)
        if os.getuid() == 0:
            os.chown(path, self.pw.pw_uid, self.pw.pw_gid)

    def processes(self):
        """Processes of the test's directories (lbx's and the domain's), not libvirt's own
        nor the test's SSH agent."""
        out = subprocess.run(["ps", "-eo", "pid,args"], stdout=subprocess.PIPE, text=True).stdout
        return [line for line in out.splitlines()
                if (self.tmp in line or f"guest={DOMAIN}" in line) and "ps -eo" not in line
                and "libvirtd" not in line and "virtlogd" not in line
                and "ssh-agent" not in line]

    def qemu_pid(self):
        for line in self.processes():
            if "qemu-system" in line and f"guest={DOMAIN}" in line:
                return int(line.split()[0])
        return None

    def stop_daemons(self):
        """The session daemons this test's XDG_RUNTIME_DIR started, by their pid files."""
        for name in ("libvirtd", "virtlogd", "virtqemud"):
            pidfile = os.path.join(self.env["XDG_RUNTIME_DIR"], "libvirt", name + ".pid")
            try:
                with open(pidfile) as f:
                    os.kill(int(f.read().split()[0]), signal.SIGTERM)
            except (OSError, ValueError, IndexError):
                pass

    def stop_podman_pause(self):
        """The test's own user only: the pause process rootless podman leaves (lbx makes
        the root tree under `podman unshare`)."""
        if os.getuid() != 0 or self.pw.pw_name != USER:
            return
        out = subprocess.run(["ps", "-u", USER, "-o", "pid=,args="], stdout=subprocess.PIPE,
                             text=True).stdout
        for line in out.splitlines():
            pid, _, args = line.strip().partition(" ")
            if args.strip() == "podman":
                os.kill(int(pid), signal.SIGTERM)

    def cleanup(self):
        self.lbx("down", "proj", timeout=120)
        if DOMAIN in self.domains():
            self.virsh("destroy", DOMAIN)
        self.stop_daemons()
        self.stop_podman_pause()
        shutil.rmtree(self.tmp, True)


def user_ssh_agent(u):
    """A real ssh-agent of the test's user with two fresh keys; (process, {name: fingerprint})."""
    if not all(shutil.which(p) for p in ("ssh-agent", "ssh-add", "ssh-keygen")):
        raise Skip("OpenSSH client tools are not installed (make setup installs openssh-client)")
    sock = os.path.join(u.tmp, "agent.sock")
    pre = ["runuser", "-u", u.pw.pw_name, "--"] if os.getuid() == 0 else []
    agent = subprocess.Popen(pre + ["ssh-agent", "-D", "-a", sock], stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
    for _ in range(100):
        if os.path.exists(sock):
            break
        time.sleep(0.1)
    u.env["SSH_AUTH_SOCK"] = sock
    fps = {}
    for name in ("given", "other"):
        key = os.path.join(u.tmp, "id_" + name)
        u.run("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", name, "-f", key)
        u.run("ssh-add", "-q", key)
        fps[name] = u.run("ssh-keygen", "-l", "-E", "sha256", "-f",
                          key + ".pub").stdout.decode().split()[1]
    return agent, fps


def check_ssh(t, u, fps):
    st = json.loads(u.lbx("status", "proj", "--json").stdout)
    t.ok("lbx-ssh-proxy" in [p["role"] for p in st["state"]["processes"]],
         "the supervisor runs lbx-ssh-proxy")
    proxy = os.path.join(u.env["XDG_RUNTIME_DIR"], "lbx", "proj", "vsock.sock_1026")
    r = u.run("env", f"SSH_AUTH_SOCK={proxy}", "ssh-add", "-l")
    out = r.stdout.decode()
    t.ok(fps["given"] in out and fps["other"] not in out,
         "the box's SSH agent offers only the given key", out + r.stderr.decode())
    r = u.lbx("exec", "proj", "--", "sh", "-c", 'test -S "$SSH_AUTH_SOCK" && echo $SSH_AUTH_SOCK')
    t.eq(r.stdout, b"/run/lbx/ssh-agent.sock\n", "sessions in the box get SSH_AUTH_SOCK",
         r.stderr)


def wait_stopped(u, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and u.lbx("status", "proj").returncode == 0:
        time.sleep(0.2)
    return u.lbx("status", "proj")


def check_state(t, u):
    st = json.loads(u.lbx("status", "proj", "--json").stdout)
    lv = st.get("state", {}).get("libvirt", {})
    t.ok(st["running"] and st["state"]["engine"] == "libvirt" and lv.get("domain") == DOMAIN and
         lv.get("uri") == "qemu:///session" and lv.get("state") == "running",
         "status --json: engine libvirt, its URI, the domain and libvirt's state", st)
    r = u.lbx("ls")
    t.ok(f"libvirt domain {DOMAIN}: running".encode() in r.stdout,
         "lbx ls shows the domain and libvirt's state", r.stdout)
    t.eq(u.domains(), [DOMAIN], "virsh list shows the transient domain")
    r = u.virsh("dumpxml", DOMAIN)
    xml = r.stdout.decode()
    t.ok("<access mode='shared'/>" in xml and "<source type='memfd'/>" in xml and
         "machine='microvm'" in xml and "type='vhostuser'" in xml,
         "libvirt runs the XML lbx gave: microvm, shared memfd RAM, vhost-user devices",
         xml[:400])
    log = os.path.join(u.env["XDG_CACHE_HOME"], "libvirt", "qemu", "log", DOMAIN + ".log")
    try:
        with open(log, errors="replace") as f:
            line = f.read()
        t.ok("vhost-user-fs-device" in line and "vhost-user-vsock-device" in line and
             "virtio-mmio.force-legacy=false" in line and "memory-backend-memfd" in line,
             "QEMU's command line: vhost-user fs and vsock, modern virtio-mmio, memfd", line[-600:])
    except FileNotFoundError:
        t.ok(False, f"libvirt's log of the domain's QEMU command line exists ({log})")


def check_box(t, u, port, denied):
    r = u.lbx("exec", "proj", "--", "sh", "-c", "pwd; id -u; cat from-host.txt")
    t.eq(r.stdout.decode(), f"{u.project}\n{u.pw.pw_uid}\nhost data\n",
         "exec starts in the project as the user, which is the host's tree", r.stderr)
    for cmd, want in ((["true"], 0), (["false"], 1), (["/nope"], 127),
                      (["sh", "-c", "kill -9 $$"], 137)):
        t.eq(u.lbx("exec", "proj", "--", *cmd).returncode, want, f"exit status {want}")
    u.lbx("exec", "proj", "--", "sh", "-c", "echo guest data > from-guest.txt")
    path = os.path.join(u.project, "from-guest.txt")
    t.ok(os.path.exists(path) and open(path).read() == "guest data\n" and
         os.stat(path).st_uid == u.pw.pw_uid,
         "a file written in the guest is on the host, the user's")
    u.lbx("exec", "--root", "proj", "--", "sh", "-c", "echo marker-console > /dev/console")
    time.sleep(0.5)
    r = u.lbx("logs", "proj")
    t.ok(b"marker-console" in r.stdout and b"@lbx ready" in r.stdout,
         "lbx logs shows the guest's serial console (libvirt's <serial type='file'>)",
         r.stdout[-300:])
    r = u.lbx("exec", "--root", "proj", "--", "sh", "-c",
              "mkdir -p -m 1777 /srv/shared && touch /srv/shared/by-root")
    t.eq(r.returncode, 0, "a --root session may write anywhere", r.stderr)
    r = u.lbx("exec", "proj", "--", "sh", "-c", "echo x > /srv/shared/f")
    t.ok(r.returncode != 0 and b"Permission denied" in r.stderr,
         "Landlock: a user session cannot write outside its trees, even world-writable ones",
         r.stderr)
    r = u.lbx("exec", "proj", "--", "sh", "-c",
              f"printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -w 20 10.0.2.2 {port}")
    t.ok(r.returncode == 0 and r.stdout.endswith(b"\r\n\r\nhello, libvirt box\n"),
         "the network through lbx-netd: a host service the box's rule names", r.stdout + r.stderr)
    r = u.lbx("exec", "proj", "--", "sh", "-c",
              f"printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -w 10 10.0.2.2 {denied}")
    t.ok(b"hello" not in r.stdout, "and not one it does not name", r.stdout + r.stderr)


def test_libvirt(t):
    need()
    pw = user()
    u = As(pw)
    srv = http_server(body=b"hello, libvirt box\n")
    other = http_server(body=b"hello, not for the box\n")
    agent = None
    try:
        agent, fps = user_ssh_agent(u)
        u.write("lbx.json", json.dumps({
            "image": "busybox", "network": {"host": [f"tcp:{srv.server_address[1]}"]},
            "ssh": {"keys": [{"key": fps["given"], "namespaces": ["git"]}]}}))
        u.write("from-host.txt", "host data\n")
        r = u.lbx("up", "--engine", "libvirt")
        if not t.ok(r.returncode == 0 and b"engine libvirt" in r.stderr,
                    f"lbx up --engine libvirt as {pw.pw_name} on qemu:///session", r.stderr):
            t.note(u.lbx("logs", "proj").stdout.decode(errors="replace")[-2000:])
            eng = os.path.join(u.env["XDG_DATA_HOME"], "lbx", "boxes", "proj", "engine.log")
            if os.path.exists(eng):
                t.note(open(eng, errors="replace").read()[-1500:])
            return
        check_state(t, u)
        check_box(t, u, srv.server_address[1], other.server_address[1])
        check_ssh(t, u, fps)

        r = u.lbx("down", "proj")
        t.ok(r.returncode == 0 and b"is down" in r.stderr, "lbx down", r.stderr)
        t.eq(u.domains(), [], "nothing left in virsh list --all")
        t.eq(u.processes(), [], "no process left behind")
        r = u.lbx("status", "proj")
        t.ok(r.returncode == 3 and b"stopped by lbx down" in r.stdout,
             "status: stopped by lbx down", r.stdout)

        # QEMU killed under libvirt: the box stops and status says what libvirt reported.
        r = u.lbx("up")
        t.ok(r.returncode == 0 and b"engine libvirt" in r.stderr,
             "up again: the engine is remembered", r.stderr)
        pid = u.qemu_pid()
        if t.ok(pid is not None, "the domain's QEMU runs as the user", u.processes()):
            os.kill(pid, signal.SIGKILL)
            r = wait_stopped(u)
            t.ok(r.returncode == 3 and b"the engine (libvirt)" in r.stdout and
                 b"QEMU process failed" in r.stdout,
                 "kill -9 of the domain's QEMU stops the box, and status says why", r.stdout)
            t.eq(u.domains(), [], "and nothing is left defined")
            t.eq(u.processes(), [], "nor running")

        # A backend dying is still the backend's fault, not the domain's.
        r = u.lbx("up")
        fsd = [line.split()[0] for line in u.processes()
               if "lbx-fsd" in line and "--tag project" in line]
        if t.ok(r.returncode == 0 and len(fsd) == 1, "up again: one lbx-fsd serves the project",
                r.stderr):
            os.kill(int(fsd[0]), signal.SIGKILL)
            r = wait_stopped(u)
            t.ok(r.returncode == 3 and b"lbx-fsd (project) was killed by signal 9" in r.stdout,
                 "kill -9 of lbx-fsd stops the box and status names it", r.stdout)
            t.eq(u.domains(), [], "and the domain is gone")

        # A guest that cannot power off (paused by virsh): lbx down destroys the domain.
        r = u.lbx("up")
        if t.ok(r.returncode == 0, "up for a hung guest", r.stderr):
            u.virsh("suspend", DOMAIN)
            st = json.loads(u.lbx("status", "proj", "--json").stdout)
            t.eq(st.get("state", {}).get("libvirt", {}).get("state"), "paused",
                 "status --json shows libvirt's state as it is: paused")
            # The supervisor waits for the agent (30 s for its vsock port, 20 s for the
            # power-off) before it destroys the domain; `lbx down` itself gives up
            # waiting after 60 s, which a loaded machine can exceed.
            u.lbx("down", "proj", timeout=300)
            r = wait_stopped(u, timeout=120)
            t.ok(r.returncode == 3 and b"stopped by lbx down" in r.stdout,
                 "lbx down of a guest that does not power off", r.stdout)
            t.eq(u.domains(), [], "the domain is destroyed")
            t.eq(u.processes(), [], "and nothing is left running")

        # Destroyed behind lbx's back (virsh destroy): named as such.
        r = u.lbx("up", "--connect=qemu+unix:///session")
        if t.ok(r.returncode == 0, "up a third time, with --connect", r.stderr):
            u.virsh("destroy", DOMAIN)
            r = wait_stopped(u)
            t.ok(r.returncode == 3 and b"destroyed outside lbx" in r.stdout,
                 "virsh destroy stops the box, and status says so", r.stdout)
        r = u.lbx("up")
        st = json.loads(u.lbx("status", "proj", "--json").stdout)
        t.ok(r.returncode == 0 and
             st.get("state", {}).get("libvirt", {}).get("uri") == "qemu+unix:///session",
             "the URI given with --connect is remembered for the next up", st)
        u.lbx("down", "proj")

        # A URI without a daemon is one line that names it.
        # The session daemon killed: the box stops, and its QEMU does not outlive it.
        r = u.lbx("up")
        pidfile = os.path.join(u.env["XDG_RUNTIME_DIR"], "libvirt", "libvirtd.pid")
        if t.ok(r.returncode == 0 and os.path.exists(pidfile), "up with a session daemon",
                r.stderr):
            with open(pidfile) as f:
                os.kill(int(f.read().split()[0]), signal.SIGKILL)
            r = wait_stopped(u)
            t.ok(r.returncode == 3 and b"the connection to" in r.stdout and b"closed" in r.stdout,
                 "a libvirt daemon that dies stops the box, and status says so", r.stdout)
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline and u.processes():
                time.sleep(0.5)
            t.eq(u.processes(), [], "and its QEMU is destroyed through a new daemon")
            t.eq(u.domains(), [], "which has no domain left")

        # --connect=URI: approve_first's box_name_arg skips only --engine's value.
        r = u.lbx("up", "--engine", "libvirt",
                  "--connect=qemu+unix:///session?socket=/nonexistent/libvirt-sock")
        lines = r.stderr.decode(errors="replace").strip().splitlines()
        t.ok(r.returncode != 0 and lines and "/nonexistent/libvirt-sock" in lines[-1],
             "a libvirt URI that cannot be reached fails with one line naming it", r.stderr)
        r = u.lbx("up", "--engine", "libvirt", "--connect=qemu+ssh://elsewhere/system")
        t.ok(r.returncode == 2 and b"needs a local URI" in r.stderr and
             b"docs/remote.md" in r.stderr, "a remote URI is refused, pointing at the design note",
             r.stderr)
        r = u.lbx("up", "--engine", "qemu", "--connect=qemu:///session")
        t.ok(r.returncode == 2 and b"--connect is for engine libvirt" in r.stderr,
             "--connect with another engine is refused", r.stderr)
    finally:
        if agent:
            agent.terminate()
            agent.wait(10)
        srv.shutdown()
        srv.server_close()
        other.shutdown()
        other.server_close()
        u.cleanup()


if __name__ == "__main__":
    main([test_libvirt])
