# SPDX-License-Identifier: MIT
"""Boot lbx guests under QEMU TCG and check what the agent reports.

A test reads as "boot a box with these devices, run this, expect that":

    box = Box(devices=[VirtioRng()], cpus=2)
    r = box.run(["sh", "-c", "exit 3"])
    t.eq(r.code, 3, "exit status reaches the host")

The guest is our kernel (kernel-config/) and initramfs (images/), with the
test tools overlay (busybox) appended as a second cpio archive: the kernel
unpacks concatenated archives in order, so the production initramfs stays
exactly what boxes boot. The agent reports on the console with "@lbx"
lines (guest-agent/agent.h).
"""
import atexit
import json
import os
import socket
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.parse

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tests"))
import testlib  # noqa: E402


class Skip(Exception):
    """The machine lacks something this test needs."""


class Tap(testlib.Tap):
    """TAP output, counted by meson and by tests/summary.py; done() exits."""

    def done(self):
        sys.exit(self.result())


def build_dir():
    return os.path.abspath(os.environ.get("LBX_BUILD_DIR", os.path.join(ROOT, "build")))


def kernel_dir():
    """The cached kernel build; build-kernel.sh builds it if it is missing."""
    d = os.environ.get("LBX_KERNEL_DIR")
    if d:
        return d
    script = os.path.join(ROOT, "kernel-config", "build-kernel.sh")
    p = subprocess.run([script], stdout=subprocess.PIPE, text=True)
    if p.returncode != 0:
        raise RuntimeError("kernel build failed (see the lines above)")
    return p.stdout.strip().splitlines()[-1]


def qemu_binary():
    q = shutil.which("qemu-system-x86_64")
    if not q:
        raise Skip("qemu-system-x86_64 is not installed (make setup installs qemu-system-x86)")
    return q


_overlay_cache = {}


def tools_overlay():
    """A cpio with busybox and its applet links, appended for tests only.
    Built once per test process, in a directory removed at exit."""
    if "path" in _overlay_cache:
        return _overlay_cache["path"]
    workdir = tempfile.mkdtemp(prefix="lbx-e2e-tools-")
    atexit.register(shutil.rmtree, workdir, True)
    bb = shutil.which("busybox") or "/bin/busybox"
    if not os.path.exists(bb) or "statically linked" not in subprocess.run(
            ["file", "-L", bb], stdout=subprocess.PIPE, text=True).stdout:
        raise Skip("static busybox not found (make setup installs busybox-static)")
    applets = subprocess.run([bb, "--list"], stdout=subprocess.PIPE, text=True,
                             check=True).stdout.split()
    out = os.path.join(workdir, "tools.cpio")
    args = [os.path.join(build_dir(), "images", "lbx-mkinitramfs"), "-o", out,
            "--dir", "/bin", "--file", f"{bb}:/bin/busybox:0755"]
    for a in applets:
        if a != "busybox":
            args += ["--symlink", f"/bin/{a}:busybox"]
    subprocess.run(args, check=True)
    _overlay_cache["path"] = out
    return out


def binaries_overlay(programs):
    """A cpio with host programs and the shared libraries they need (from
    ldd), for tests that run real tools (ssh-add, ...) in the guest."""
    key = "bin:" + ",".join(str(p) for p in programs)
    if key in _overlay_cache:
        return _overlay_cache[key]
    files = set()
    for prog in programs:
        # (host path, guest path): a program of the build tree, put where the
        # guest's own mounts (a tmpfs /tmp) cannot hide it.
        prog, dest = prog if isinstance(prog, tuple) else (prog, None)
        path = shutil.which(prog)
        if not path:
            raise Skip(f"{prog} is not installed on the host")
        files.add(os.path.realpath(path) + ":" + (dest or path))
        out = subprocess.run(["ldd", path], stdout=subprocess.PIPE, text=True).stdout
        for line in out.splitlines():
            m = re.search(r"(/\S+) \(0x", line)
            if m:
                files.add(os.path.realpath(m.group(1)) + ":" + m.group(1))
    dirs = set()
    for f in files:
        d = os.path.dirname(f.split(":", 1)[1])
        while d not in ("/", ""):
            dirs.add(d)
            d = os.path.dirname(d)
    workdir = tempfile.mkdtemp(prefix="lbx-e2e-bins-")
    atexit.register(shutil.rmtree, workdir, True)
    out = os.path.join(workdir, "bins.cpio")
    args = [os.path.join(build_dir(), "images", "lbx-mkinitramfs"), "-o", out]
    for d in sorted(dirs, key=len):
        args += ["--dir", d]
    for f in sorted(files):
        args += ["--file", f + ":0755"]
    subprocess.run(args, check=True)
    _overlay_cache[key] = out
    return out


class Device:
    """Something a box is booted with: QEMU arguments and, later, a backend."""

    def qemu_args(self):
        return []

    def start(self, workdir):
        pass

    def stop(self):
        pass


class VirtioRng(Device):
    """QEMU's own virtio-rng on virtio-mmio (a peer device that needs no backend)."""

    def qemu_args(self):
        return ["-device", "virtio-rng-device"]


class VhostUserVsock(Device):
    """lbx-vsockd serving virtio-vsock to QEMU's vhost-user-vsock-device.
    Host side: `uds` (CONNECT <port>), guest connections to port P go to uds_P."""

    def __init__(self, guest_cid=3):
        self.guest_cid = guest_cid
        self.proc = None

    def start(self, workdir):
        self.vu = os.path.join(workdir, "vsock-vu.sock")
        self.uds = os.path.join(workdir, "vsock.sock")
        self.log = open(os.path.join(workdir, "vsockd.log"), "w")
        exe = os.path.join(build_dir(), "backends", "vsock", "lbx-vsockd")
        self.proc = subprocess.Popen([exe, "--socket", self.vu, "--uds-path", self.uds,
                                      "--guest-cid", str(self.guest_cid)],
                                     stdout=self.log, stderr=subprocess.STDOUT)
        wait_for_path(self.vu, self.proc, "lbx-vsockd")

    def qemu_args(self):
        return ["-chardev", f"socket,id=vsk,path={self.vu}",
                "-device", "vhost-user-vsock-device,chardev=vsk"]

    def stop(self):
        if self.proc:
            stop_process(self.proc)
            self.log.close()
        self.proc = None


class VhostUserFs(Device):
    """lbx-fsd serving a host directory to QEMU's vhost-user-fs-device."""

    count = 0

    def __init__(self, shared_dir, tag, read_only=False, ownership="identity", wrapper=()):
        self.shared_dir = shared_dir
        self.tag = tag
        self.read_only = read_only
        self.ownership = ownership
        self.wrapper = list(wrapper)
        self.proc = None
        VhostUserFs.count += 1
        self.id = f"fs{VhostUserFs.count}"

    def start(self, workdir):
        self.sock = os.path.join(workdir, f"{self.id}.sock")
        self.log_path = os.path.join(workdir, f"{self.id}.log")
        self.log = open(self.log_path, "w")
        exe = os.path.join(build_dir(), "backends", "fsd", "lbx-fsd")
        cmd = self.wrapper + [exe, "--shared-dir", self.shared_dir, "--socket", self.sock,
                              "--tag", self.tag, "--ownership", self.ownership]
        if self.read_only:
            cmd.append("--read-only")
        self.proc = subprocess.Popen(cmd, stdout=self.log, stderr=subprocess.STDOUT)
        wait_for_path(self.sock, self.proc, "lbx-fsd")

    def qemu_args(self):
        return ["-chardev", f"socket,id={self.id},path={self.sock}",
                "-device", f"vhost-user-fs-device,chardev={self.id},tag={self.tag}"]

    def stop(self):
        if self.proc:
            self.returncode = stop_process(self.proc)
            self.log.close()
            with open(self.log_path) as f:
                self.log_text = f.read()
        self.proc = None


def host_ssh_agent(tmp, keys):
    """A real ssh-agent in tmp holding fresh keys; keys maps a name (used as
    the key's comment) to its type. Returns (process, socket, {name: SHA256
    fingerprint}); stop the process with stop_process."""
    if not all(shutil.which(p) for p in ("ssh-agent", "ssh-add", "ssh-keygen")):
        raise Skip("OpenSSH client tools are not installed (make setup installs openssh-client)")
    sock = os.path.join(tmp, "agent.sock")
    agent = subprocess.Popen(["ssh-agent", "-D", "-a", sock], stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
    wait_for_path(sock, agent, "ssh-agent")
    fps = {}
    for name, kind in keys.items():
        path = os.path.join(tmp, "id_" + name)
        subprocess.run(["ssh-keygen", "-q", "-t", kind, "-N", "", "-C", name, "-f", path],
                       check=True)
        subprocess.run(["ssh-add", "-q", path], env={"SSH_AUTH_SOCK": sock}, check=True,
                       stderr=subprocess.DEVNULL)
        fps[name] = subprocess.run(["ssh-keygen", "-l", "-E", "sha256", "-f", path + ".pub"],
                                   stdout=subprocess.PIPE, text=True,
                                   check=True).stdout.split()[1]
    return agent, sock, fps


stop_process = testlib.stop_process  # the e2e tests import it from here


# --- Approval (docs/box.md "Approval") -------------------------------------
# Without a terminal, `lbx up` and `lbx build` refuse a definition that grants
# more than the host user approved. A test stands for that user: what it wrote
# into lbx.json it approves with `lbx allow` first, as the user would at the
# prompt. test_trust.py checks the refusal and the prompt themselves.

def box_name_arg(args):
    """NAME in `lbx up|build [OPTIONS] [NAME]`, or None."""
    rest = list(args[1:])
    while rest:
        a = rest.pop(0)
        if a == "--engine":
            rest = rest[1:]
        elif not a.startswith("-"):
            return a
    return None


def approve_first(run, args):
    """run(*args) for the lbx CLI, preceded by `lbx allow [NAME]` when args is an
    `up` or a `build` (a failing allow is left for the command itself to report)."""
    if args and args[0] in ("up", "build"):
        name = box_name_arg(args)
        run("allow", *([name] if name else []))
    return run(*args)


def wait_for_path(path, proc, name, timeout=10):
    deadline = time.monotonic() + timeout
    while not os.path.exists(path):
        if proc.poll() is not None:
            raise RuntimeError(f"{name} exited with {proc.returncode} before creating {path}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"{name} did not create {path}")
        time.sleep(0.02)


class Result:
    def __init__(self, console, rc, wall_s, timed_out):
        self.console = console
        self.qemu_rc = rc
        self.wall_s = wall_s
        self.timed_out = timed_out
        self.code = self.signal = self.ready_ms = None
        self.errors = []
        m = re.search(r"^@lbx ready uptime_ms=(\d+)", console, re.M)
        if m:
            self.ready_ms = int(m.group(1))
        # The last exit report counts: the agent writes it after the command ended.
        for kind, val in re.findall(r"^@lbx exit (code|signal)=(\d+)", console, re.M):
            if kind == "code":
                self.code, self.signal = int(val), None
            else:
                self.code, self.signal = None, int(val)
        self.errors = re.findall(r"^@lbx error (.*)$", console, re.M)
        self.powered_off = bool(re.search(r"^@lbx poweroff", console, re.M))

    @property
    def output(self):
        """What the command printed: the console between ready and exit."""
        m = re.search(r"^@lbx ready[^\n]*\n(.*?)\n@lbx (exit|error)", self.console, re.M | re.S)
        return m.group(1) if m else ""


class RunningBox:
    """A box left running (the agent serves exec sessions), for tests that
    talk to it while it is up. Use as a context manager."""

    def __init__(self, box, workdir, proc):
        self.box = box
        self.workdir = workdir
        self.proc = proc
        self.console = ""
        self._lines = []
        import threading
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self):
        for raw in iter(self.proc.stdout.readline, b""):
            self._lines.append(raw.decode("utf-8", "replace").replace("\r\n", "\n"))

    def text(self):
        return "".join(self._lines)

    def wait_ready(self, timeout=180):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if re.search(r"^@lbx ready", self.text(), re.M):
                return True
            if self.proc.poll() is not None:
                return False
            time.sleep(0.05)
        return False

    def lbx(self, args, input=None, timeout=120):
        """Run the lbx CLI; returns CompletedProcess with bytes stdout/stderr."""
        exe = os.path.join(build_dir(), "lbx", "lbx")
        return subprocess.run([exe] + list(args), input=input, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, timeout=timeout)

    def stop(self):
        stop_process(self.proc)
        for d in self.box.devices:
            d.stop()
        self._thread.join(timeout=5)
        shutil.rmtree(self.workdir, True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


def quote_arg(a):
    return urllib.parse.quote(a, safe="/-_.,:=+@")


class Box:
    def __init__(self, devices=(), cpus=1, memory_mib=256, hostname="lbx-test",
                 quiet=True, kernel="vmlinux", initramfs=None, tools=True, overlays=()):
        self.devices = list(devices)
        self.cpus = cpus
        self.memory_mib = memory_mib
        self.hostname = hostname
        self.quiet = quiet
        self.kernel = kernel
        self.initramfs = initramfs or os.path.join(build_dir(), "images", "initramfs.cpio")
        self.tools = tools
        self.overlays = list(overlays)

    def cmdline(self, argv, env=None, cwd=None, tty=False, extra=()):
        parts = ["console=ttyS0", "reboot=t", "panic=-1", f"lbx.hostname={self.hostname}"]
        if self.quiet:
            parts.append("quiet")
        parts += [f"lbx.argv={quote_arg(a)}" for a in argv]
        parts += [f"lbx.env={quote_arg(k + '=' + v)}" for k, v in (env or {}).items()]
        if cwd:
            parts.append(f"lbx.cwd={quote_arg(cwd)}")
        if tty:
            parts.append("lbx.tty=1")
        return " ".join(parts + list(extra))

    def qemu_command(self, workdir, argv, interactive=False, **kw):
        initrd = self.initramfs
        if self.tools:
            initrd = os.path.join(workdir, "initrd.cpio")
            with open(initrd, "wb") as out:
                for part in [self.initramfs, tools_overlay()] + self.overlays:
                    with open(part, "rb") as f:
                        shutil.copyfileobj(f, out)
        mem = f"{self.memory_mib}M"
        cmd = [qemu_binary(),
               "-M", "microvm,acpi=off,isa-serial=on,rtc=on,memory-backend=mem",
               "-accel", "tcg", "-cpu", "max", "-smp", str(self.cpus), "-m", mem,
               "-object", f"memory-backend-memfd,id=mem,size={mem},share=on",
               "-global", "virtio-mmio.force-legacy=false",
               "-nodefaults", "-no-user-config", "-display", "none", "-no-reboot",
               "-chardev", "stdio,id=con,signal=off" if interactive else "stdio,id=con",
               "-serial", "chardev:con",
               "-kernel", os.path.join(kernel_dir(), self.kernel),
               "-initrd", initrd,
               "-append", self.cmdline(argv, tty=interactive, **kw)]
        for d in self.devices:
            cmd += d.qemu_args()
        return cmd

    def start(self, argv=(), serve_port=1024, extra=(), **kw):
        """Boot and leave the box running with the exec service on vsock."""
        workdir = tempfile.mkdtemp(prefix="lbx-e2e-")
        try:
            for d in self.devices:
                d.start(workdir)
            extra = list(extra) + [f"lbx.serve={serve_port}"]
            cmd = self.qemu_command(workdir, list(argv), extra=extra, **kw)
            proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                    stderr=subprocess.STDOUT)
        except BaseException:
            for d in self.devices:
                d.stop()
            shutil.rmtree(workdir, True)
            raise
        return RunningBox(self, workdir, proc)

    def run(self, argv, timeout=180, **kw):
        with tempfile.TemporaryDirectory(prefix="lbx-e2e-") as workdir:
            for d in self.devices:
                d.start(workdir)
            try:
                cmd = self.qemu_command(workdir, argv, **kw)
                start = time.monotonic()
                timed_out = False
                p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT)
                try:
                    out, _ = p.communicate(timeout=timeout)
                except subprocess.TimeoutExpired:
                    p.kill()
                    out, _ = p.communicate()
                    timed_out = True
                wall = time.monotonic() - start
            finally:
                for d in self.devices:
                    d.stop()
        console = out.decode("utf-8", "replace").replace("\r\n", "\n")
        return Result(console, p.returncode, wall, timed_out)


class PlannedBox:
    """A box booted from `lbx engine-argv`: the engine and backend command
    lines `lbx up` would run, from the same manifest and argv builders,
    started here instead of by the supervisor (so a test sees each
    process). `lbx exec NAME` reaches it as it reaches a box `lbx up`
    started."""

    def __init__(self, exe, env, cwd, engine="qemu"):
        r = subprocess.run([exe, "engine-argv", "--engine", engine], cwd=cwd, env=env,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=600)
        if r.returncode != 0:
            raise RuntimeError("lbx engine-argv failed: " + r.stderr.decode(errors="replace"))
        self.plan = json.loads(r.stdout)
        self.procs = []
        self.ready = None
        self.log = open(os.path.join(os.path.dirname(self.plan["console"]), "planned.log"), "ab")

    def start(self, timeout=180):
        """Start the backends, listen for READY, start the engine; wait for READY."""
        for b in self.plan["backends"]:
            p = subprocess.Popen(b["argv"], stdin=subprocess.DEVNULL, stdout=self.log,
                                 stderr=self.log)
            self.procs.append(p)
            wait_for_path(b["socket"], p, b["role"])
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        if os.path.exists(self.plan["ready"]):
            os.unlink(self.plan["ready"])
        listener.bind(self.plan["ready"])
        listener.listen(1)
        listener.settimeout(timeout)
        self.procs.append(subprocess.Popen(self.plan["argv"], stdin=subprocess.DEVNULL,
                                           stdout=self.log, stderr=self.log))
        try:
            conn, _ = listener.accept()
            conn.settimeout(10)
            self.ready = conn.recv(64).decode(errors="replace")
            conn.close()
        except OSError:
            self.ready = None
        finally:
            listener.close()
            os.unlink(self.plan["ready"])
        return bool(self.ready and self.ready.startswith("READY"))

    def console(self):
        try:
            with open(self.plan["console"], errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def stop(self):
        for p in reversed(self.procs):
            stop_process(p)
        self.log.close()


def main(tests):
    """Run test functions, each taking (tap); a Skip skips the remaining tests."""
    t = Tap()
    for fn in tests:
        try:
            fn(t)
        except Skip as e:
            t.skip(fn.__name__, str(e))
        except Exception:  # a broken test is a failed test, not a crash
            import traceback
            t.ok(False, fn.__name__ + " raised", traceback.format_exc())
    t.done()


def shell(argv=("sh",), **box_kw):
    """Boot a box with the tools overlay and give the console to the user.
    Used by `make run` until lbx's own CLI exists."""
    box = Box(**box_kw)
    with tempfile.TemporaryDirectory(prefix="lbx-run-") as workdir:
        cmd = box.qemu_command(workdir, list(argv), interactive=sys.stdin.isatty(),
                               env={"PS1": f"[{box.hostname}] \\w # "}, cwd="/root")
        return subprocess.call(cmd)


if __name__ == "__main__":
    import argparse
    ap = argparse.ArgumentParser(description="boot an lbx guest under QEMU TCG with a shell")
    ap.add_argument("--shell", action="store_true", help="open a shell on the console")
    ap.add_argument("--cpus", type=int, default=2)
    ap.add_argument("--memory-mib", type=int, default=512)
    ap.add_argument("--hostname", default="lbx")
    a = ap.parse_args()
    if not a.shell:
        ap.error("nothing to do (use --shell)")
    sys.exit(shell(cpus=a.cpus, memory_mib=a.memory_mib, hostname=a.hostname))
