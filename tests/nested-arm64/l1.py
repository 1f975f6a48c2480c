# SPDX-License-Identifier: MIT
"""The arm64 nested layer's first-level guest (L1): Debian's stock arm64
kernel under qemu-system-aarch64 -M virt,virtualization=on,gic-version=3
-cpu max (TCG), which runs KVM in VHE mode and has /dev/kvm. Inside it the
arm64 lbx-vmm boots our arm64 guest kernel and initramfs as L2.

L1's kernel is cached under <cache>/nested-arm64/ (the cache of
kernel-config/build-kernel.sh: LBX_CACHE_DIR, else XDG_CACHE_HOME/lbx, else
~/.cache/lbx): deb/ holds linux-image-*-arm64 (apt-get download, with arm64
known to dpkg), linux-VERSION/ its vmlinuz (dpkg-deb, never installed).
L1's initramfs holds arm64 busybox (from the sysroot
build-aux/setup-arm64.sh unpacked), l1-init.sh as /init, the files the
test names and its script as /job/run.sh. It is cached in
<cache>/nested-arm64/initramfs/ by the hash of all of those (and of
lbx-mkinitramfs), as is the L2 box initramfs, so a run with nothing changed
makes neither again; the newest few are kept. No 9p: the host's binaries
are x86_64 and useless in L1."""
import hashlib
import os
import re
import shutil
import subprocess
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))


class Skip(Exception):
    pass


class Missing(Skip):
    """Something `make check` builds first (make build-arm64, kernel-arm64):
    a skip for a bare `meson test`, a failure under make check
    (LBX_REQUIRE_ARM64=1, set by build-aux/check.sh)."""


def cache_root():
    c = os.environ.get("LBX_CACHE_DIR")
    if not c:
        base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
        c = os.path.join(base, "lbx")
    return c


def _run(args, **kw):
    return subprocess.run(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kw)


def build_dir():
    return os.path.abspath(os.environ.get("LBX_BUILD_DIR", os.path.join(ROOT, "build")))


def arm64_build_dir():
    return os.path.abspath(os.environ.get("LBX_ARM64_BUILD_DIR", os.path.join(ROOT, "build-arm64")))


def arm64_binaries():
    """{name: path} of the arm64 cross build: lbx-vmm, lbx-agent, lbx-fsd,
    lbx-vsockd and lbx-exec-probe."""
    b = arm64_build_dir()
    out = {"lbx-vmm": os.path.join(b, "vmm", "lbx-vmm"),
           "lbx-agent": os.path.join(b, "guest-agent", "lbx-agent"),
           "lbx-fsd": os.path.join(b, "backends", "arm64", "lbx-fsd"),
           "lbx-vsockd": os.path.join(b, "backends", "arm64", "lbx-vsockd"),
           "lbx-exec-probe": os.path.join(b, "tests", "nested-arm64", "lbx-exec-probe")}
    for p in out.values():
        if not os.path.exists(p):
            raise Missing(f"no arm64 build ({p} is missing): run make build-arm64")
    return out


def arm64_kernel():
    """Our arm64 guest kernel (Image), as build-kernel-arm64.sh cached it."""
    d = os.environ.get("LBX_ARM64_KERNEL_DIR")
    if not d:
        r = _run([os.path.join(ROOT, "kernel-config", "build-kernel-arm64.sh"), "--print-key"])
        if r.returncode != 0:
            raise Missing("build-kernel-arm64.sh cannot compute its key: " + r.stderr.strip()[-200:])
        d = os.path.join(cache_root(), "kernel", r.stdout.strip())
    image = os.path.join(d, "Image")
    if not os.path.exists(image):
        raise Missing(f"no arm64 guest kernel in {d}: run make kernel-arm64")
    return image


def busybox_arm64():
    bb = os.path.join(cache_root(), "arm64", "sysroot", "bin", "busybox")
    if not os.path.exists(bb):
        raise Missing(f"no arm64 busybox at {bb}: run build-aux/setup-arm64.sh")
    return bb


def qemu():
    q = shutil.which("qemu-system-aarch64")
    if not q:
        raise Skip("qemu-system-aarch64 is not installed (make setup installs qemu-system-arm)")
    return q


def debian_kernel():
    """vmlinuz of Debian's current linux-image-*-arm64, fetched the first time."""
    cache = os.path.join(cache_root(), "nested-arm64")
    debdir = os.path.join(cache, "deb")
    os.makedirs(debdir, exist_ok=True)
    dep = _run(["apt-cache", "depends", "linux-image-arm64:arm64"]).stdout
    m = re.search(r"Depends: (linux-image-[0-9][^\s:]*-arm64)\b", dep)
    if m:
        pkg = m.group(1)
    else:
        have = sorted(d for d in os.listdir(cache) if d.startswith("linux-"))
        if not have:
            raise Missing("apt-cache knows no linux-image-arm64:arm64: "
                          "dpkg --add-architecture arm64 && apt-get update")
        pkg = "linux-image-" + have[-1][len("linux-"):]
    ver = pkg[len("linux-image-"):]
    vmlinuz = os.path.join(cache, "linux-" + ver, "boot", "vmlinuz-" + ver)
    if os.path.exists(vmlinuz):
        return vmlinuz
    debs = [f for f in os.listdir(debdir) if f.startswith(pkg + "_")]
    if not debs:
        r = _run(["apt-get", "download", "-q", pkg + ":arm64"], cwd=debdir)
        debs = [f for f in os.listdir(debdir) if f.startswith(pkg + "_")]
        if r.returncode != 0 or not debs:
            raise RuntimeError(f"apt-get download {pkg}:arm64 failed: {r.stderr.strip()[-300:]}")
    tmp = tempfile.mkdtemp(prefix="linux-", dir=cache)
    # Only the kernel: L1 loads no module (KVM, virtio-mmio and PL011 are built in).
    r = subprocess.run(f"dpkg-deb --fsys-tarfile '{os.path.join(debdir, debs[0])}' | "
                       f"tar -x -C '{tmp}' ./boot/vmlinuz-{ver}", shell=True,
                       stderr=subprocess.PIPE, text=True)
    if r.returncode != 0:
        shutil.rmtree(tmp, True)
        raise RuntimeError(f"unpacking {debs[0]} failed: {r.stderr.strip()}")
    shutil.rmtree(os.path.join(cache, "linux-" + ver), True)
    os.rename(tmp, os.path.join(cache, "linux-" + ver))
    return vmlinuz


# What of Debian's arm64 QEMU L1 needs to run qemu-system-aarch64 -accel kvm
# (the benchmark's peer): the binary and the libraries of its package closure.
QEMU_KEEP = ("lib", "usr/lib", "usr/bin/qemu-system-aarch64")


def qemu_arm64_cpio():
    """A cpio of Debian's qemu-system-arm:arm64 and the libraries of its
    dependencies (apt-get download, dpkg-deb -x, never installed), to be
    appended to L1's initramfs: /usr/bin/qemu-system-aarch64 runs there with
    /lib/ld-linux-aarch64.so.1. Cached in <cache>/nested-arm64/qemu-KEY.cpio,
    KEY the hash of the closure's package versions."""
    r = _run(["apt-cache", "depends", "--recurse", "--no-recommends", "--no-suggests",
              "--no-conflicts", "--no-breaks", "--no-replaces", "--no-enhances",
              "qemu-system-arm:arm64"])
    pkgs = sorted({line for line in r.stdout.splitlines()
                   if re.match(r"^[a-z0-9][^ <>]*:arm64$", line)})
    if r.returncode != 0 or "qemu-system-arm:arm64" not in pkgs:
        raise Skip("apt-cache knows no qemu-system-arm:arm64 (dpkg --add-architecture arm64)")
    uris = _run(["apt-get", "download", "--print-uris"] + pkgs).stdout
    key = hashlib.sha256(uris.encode()).hexdigest()[:16]
    cache = os.path.join(cache_root(), "nested-arm64")
    out = os.path.join(cache, f"qemu-{key}.cpio")
    if os.path.exists(out):
        return out
    work = tempfile.mkdtemp(prefix="qemu-", dir=cache)
    try:
        debs, root = os.path.join(work, "debs"), os.path.join(work, "root")
        os.makedirs(debs)
        os.makedirs(root)
        r = _run(["apt-get", "download", "-q"] + pkgs, cwd=debs)
        if r.returncode != 0:
            raise RuntimeError("apt-get download of qemu-system-arm:arm64's closure failed: "
                               + r.stderr.strip()[-300:])
        for d in sorted(os.listdir(debs)):
            r = _run(["dpkg-deb", "-x", os.path.join(debs, d), root])
            if r.returncode != 0:
                raise RuntimeError(f"dpkg-deb -x {d} failed: {r.stderr.strip()}")
        keep = os.path.join(work, "keep")
        for k in QEMU_KEEP:
            src = os.path.join(root, k)
            if os.path.lexists(src):
                os.makedirs(os.path.dirname(os.path.join(keep, k)), exist_ok=True)
                os.rename(src, os.path.join(keep, k))
        if not os.path.exists(os.path.join(keep, "usr/bin/qemu-system-aarch64")):
            raise RuntimeError("qemu-system-arm:arm64 has no usr/bin/qemu-system-aarch64")
        r = subprocess.run(f"cd '{keep}' && find . | cpio -o -H newc --quiet -R 0:0 > "
                           f"'{out}.tmp'", shell=True, stderr=subprocess.PIPE, text=True)
        if r.returncode != 0:
            raise RuntimeError("cpio of the arm64 QEMU failed: " + r.stderr.strip())
        os.rename(out + ".tmp", out)
        for f in os.listdir(cache):
            if f.startswith("qemu-") and f.endswith(".cpio") and os.path.join(cache, f) != out:
                os.unlink(os.path.join(cache, f))
    finally:
        shutil.rmtree(work, True)
    return out


def mkinitramfs():
    mk = os.path.join(build_dir(), "images", "lbx-mkinitramfs")
    if not os.path.exists(mk):
        raise Missing(f"{mk} is missing: run make build")
    return mk


def busybox_args(bb, prefix="/bin"):
    """lbx-mkinitramfs arguments for busybox and a link per applet. The
    applets are listed by the host's busybox (the same Debian version)."""
    host_bb = shutil.which("busybox") or "/bin/busybox"
    applets = _run([host_bb, "--list"]).stdout.split() if os.path.exists(host_bb) else ["sh"]
    args = ["--file", f"{bb}:{prefix}/busybox:0755"]
    for a in applets:
        if a != "busybox":
            args += ["--symlink", f"{prefix}/{a}:busybox"]
    return args


KEEP_INITRAMFS = 6


def _file_digest(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.digest()


def _cached_cpio(kind, args, inputs, what, key_args=None):
    """<cache>/nested-arm64/initramfs/KIND-HASH.cpio, made by
    lbx-mkinitramfs ARGS when no file of that hash is there. HASH covers
    key_args (default ARGS) and the contents of lbx-mkinitramfs and of the
    files in inputs."""
    d = os.path.join(cache_root(), "nested-arm64", "initramfs")
    os.makedirs(d, exist_ok=True)
    h = hashlib.sha256("\0".join(key_args if key_args is not None else args).encode())
    for p in [mkinitramfs()] + list(inputs):
        h.update(_file_digest(p))
    out = os.path.join(d, f"{kind}-{h.hexdigest()[:16]}.cpio")
    if os.path.exists(out):
        os.utime(out)
        return out
    tmp = out + f".tmp{os.getpid()}"
    r = _run([mkinitramfs(), "-o", tmp] + args)
    if r.returncode != 0:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise RuntimeError(f"lbx-mkinitramfs ({what}) failed: {r.stderr.strip()}")
    os.rename(tmp, out)
    old = sorted((f for f in os.listdir(d) if f.startswith(kind + "-") and f.endswith(".cpio")),
                 key=lambda f: os.path.getmtime(os.path.join(d, f)), reverse=True)
    for f in old[KEEP_INITRAMFS:]:
        try:
            os.unlink(os.path.join(d, f))
        except FileNotFoundError:
            pass
    return out


def box_initramfs(agent):
    """The L2 box initramfs (cached): the arm64 agent as /init and an arm64 busybox."""
    bb = busybox_arm64()
    args = ["--agent", agent, "--dir", "/bin", "--dir", "/etc", "--dir", "/home"]
    args += busybox_args(bb)
    return _cached_cpio("box", args, [agent, bb], "L2 box")


def l1_initramfs(script, files):
    """L1's initramfs (cached). files: (host path, path in L1, mode) triples."""
    bb = busybox_arm64()
    init = os.path.join(HERE, "l1-init.sh")
    args = []
    for dname in ("/bin", "/dev", "/proc", "/sys", "/tmp", "/job", "/l2"):
        args += ["--dir", dname]
    args += busybox_args(bb)
    args += ["--file", f"{init}:/init:0755"]
    for src, dst, mode in files:
        args += ["--file", f"{src}:{dst}:{mode}"]
    work = tempfile.mkdtemp(prefix="lbx-nested-arm64-")
    try:
        job = os.path.join(work, "run.sh")
        with open(job, "w") as f:
            f.write(script)
        # The script's path is a temporary one: its contents are the key.
        return _cached_cpio("l1", args + ["--file", f"{job}:/job/run.sh:0755"],
                            [bb, init, job] + [src for src, _, _ in files], "L1",
                            key_args=args + ["/job/run.sh"])
    finally:
        shutil.rmtree(work, True)


class Run:
    def __init__(self, console, rc, wall_s, timed_out):
        self.console, self.rc, self.wall_s, self.timed_out = console, rc, wall_s, timed_out


def run(script, files=(), timeout=600, memory_mib=2048, cpus=2, on_line=None, extra_cpio=None):
    """Boot L1 with `script` as /job/run.sh and `files` in its initramfs;
    extra_cpio (a newc archive) is appended to it."""
    q = qemu()
    vmlinuz = debian_kernel()
    cpio = l1_initramfs(script, files)
    if extra_cpio:
        both = os.path.join(tempfile.mkdtemp(prefix="lbx-nested-arm64-"), "l1.cpio")
        with open(both, "wb") as out:
            for part in (cpio, extra_cpio):
                with open(part, "rb") as f:
                    shutil.copyfileobj(f, out)
        cpio = both
    args = [q, "-M", "virt,virtualization=on,gic-version=3", "-cpu", "max",
            "-accel", "tcg", "-m", str(memory_mib), "-smp", str(cpus),
            "-nodefaults", "-no-reboot", "-display", "none", "-serial", "stdio",
            "-monitor", "none", "-kernel", vmlinuz, "-initrd", cpio,
            "-append", "console=ttyAMA0 panic=-1 quiet loglevel=4 rdinit=/init"]
    t0 = time.monotonic()
    p = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT)
    out, timed_out = [], False
    import selectors
    sel = selectors.DefaultSelector()
    sel.register(p.stdout, selectors.EVENT_READ)
    buf = b""
    try:
        while True:
            left = timeout - (time.monotonic() - t0)
            if left <= 0:
                timed_out = True
                break
            if not sel.select(min(left, 1.0)):
                continue
            chunk = os.read(p.stdout.fileno(), 65536)
            if not chunk:
                break
            buf += chunk
            while b"\n" in buf:
                line, buf = buf.split(b"\n", 1)
                text = line.decode("utf-8", "replace").rstrip("\r")
                out.append(text)
                if on_line:
                    on_line(text)
        if buf:
            out.append(buf.decode("utf-8", "replace"))
    finally:
        if p.poll() is None:
            p.kill()
        p.wait()
        p.stdout.close()
    if extra_cpio:
        shutil.rmtree(os.path.dirname(cpio), True)
    return Run("\n".join(out) + "\n", p.returncode, time.monotonic() - t0, timed_out)
