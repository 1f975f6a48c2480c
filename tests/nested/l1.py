# SPDX-License-Identifier: MIT
"""The nested layer's first-level guest (L1): Debian's stock kernel under
QEMU TCG with AMD SVM and nested paging (`-cpu max,+svm,+npt`), which loads
kvm_amd from its own package and so has a real /dev/kvm. Inside it lbx-vmm
(or QEMU -accel kvm) boots our guest kernel as L2.

What L1 boots is cached under <cache>/nested/ (the cache of
kernel-config/build-kernel.sh: LBX_CACHE_DIR, else XDG_CACHE_HOME/lbx,
else ~/.cache/lbx):
  deb/            the linux-image-*-amd64 package (apt-get download)
  linux-VERSION/  that package unpacked (dpkg-deb -x), never installed
  initramfs-KEY.cpio  busybox-static, the modules, l1-init.sh as /init;
                  KEY is the hash of those inputs

The build tree and the kernel cache are not copied: they, the host's /usr
and /etc are shared read-only into L1 over 9p (QEMU -virtfs) at the same
paths, so lbx, its daemons, their libraries, Python and QEMU run in L1 as
on the host. A job directory (read-write, /job in L1) carries the script L1
runs and what it leaves behind; its output is L1's serial console. A
sparse ext4 scratch disk, made per run, is L1's /scratch and its TMPDIR."""
import hashlib
import os
import re
import shutil
import subprocess
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))

# kvm_amd, and the 9p shares over virtio-pci; what they depend on comes along.
# A scratch disk (ext4 on virtio-blk: lbx-fsd keeps owners in user.* xattrs,
# which 6.1's tmpfs lacks) holds what the job writes; ext4 finds crc32c by name.
MODULES = ["irqbypass", "kvm-amd", "virtio_pci", "9pnet_virtio", "9p",
           "virtio_blk", "crc32c_generic", "ext4"]


class Skip(Exception):
    pass


def cache_dir():
    c = os.environ.get("LBX_CACHE_DIR")
    if not c:
        base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
        c = os.path.join(base, "lbx")
    return os.path.join(c, "nested")


def build_dir():
    return os.path.abspath(os.environ.get("LBX_BUILD_DIR", os.path.join(ROOT, "build")))


def kernel_dir():
    """Our guest kernel's cache directory: build-kernel.sh names it (and
    builds it if it is missing, as `make kernel` does)."""
    d = os.environ.get("LBX_KERNEL_DIR")
    if not d:
        p = subprocess.run([os.path.join(ROOT, "kernel-config", "build-kernel.sh")],
                           stdout=subprocess.PIPE, text=True)
        if p.returncode != 0 or not p.stdout.strip():
            raise RuntimeError("the guest kernel did not build (see the lines above)")
        d = p.stdout.strip().splitlines()[-1]
    if not os.path.exists(os.path.join(d, "vmlinux")):
        raise Skip(f"no vmlinux in {d}: run make kernel")
    return d


def _run(args, **kw):
    return subprocess.run(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kw)


def debian_kernel():
    """(vmlinuz, modules dir) of Debian's current linux-image-*-amd64,
    downloaded and unpacked into the cache the first time."""
    cache = cache_dir()
    os.makedirs(os.path.join(cache, "deb"), exist_ok=True)
    dep = _run(["apt-cache", "depends", "linux-image-amd64"]).stdout
    m = re.search(r"Depends: (linux-image-[0-9][^\s]*-amd64)\b", dep)
    if not m:
        # No package lists (apt-get update not run): use an unpacked one if any.
        have = sorted(d for d in os.listdir(cache) if d.startswith("linux-"))
        if not have:
            raise Skip("apt-cache knows no linux-image-amd64: run apt-get update")
        pkg = "linux-image-" + have[-1][len("linux-"):]
    else:
        pkg = m.group(1)
    ver = pkg[len("linux-image-"):]
    tree = os.path.join(cache, "linux-" + ver)
    vmlinuz = os.path.join(tree, "boot", "vmlinuz-" + ver)
    if not os.path.exists(vmlinuz):
        debdir = os.path.join(cache, "deb")
        debs = [f for f in os.listdir(debdir) if f.startswith(pkg + "_")]
        if not debs:
            r = _run(["apt-get", "download", "-q", pkg], cwd=debdir)
            debs = [f for f in os.listdir(debdir) if f.startswith(pkg + "_")]
            if r.returncode != 0 or not debs:
                raise RuntimeError(f"apt-get download {pkg} failed: {r.stderr.strip()[-300:]}")
        tmp = tempfile.mkdtemp(prefix="linux-", dir=cache)
        r = _run(["dpkg-deb", "-x", os.path.join(debdir, debs[0]), tmp])
        if r.returncode != 0:
            shutil.rmtree(tmp, True)
            raise RuntimeError(f"dpkg-deb -x {debs[0]} failed: {r.stderr.strip()}")
        shutil.rmtree(tree, True)
        os.rename(tmp, tree)
        for old in debs[1:]:
            os.unlink(os.path.join(debdir, old))
    mods = os.path.join(tree, "lib", "modules", ver, "kernel")
    return vmlinuz, mods


def _module_depends(path):
    with open(path, "rb") as f:
        m = re.search(rb"(?:^|\0)depends=([^\0]*)\0", f.read())
    return [d for d in m.group(1).decode().split(",") if d] if m else []


def _find_modules(moddir):
    """MODULES and what they depend on (the .modinfo depends= of each: the
    package has no modules.dep, depmod makes that at install), in load order."""
    paths = {}
    for dirpath, _, files in os.walk(moddir):
        for f in files:
            if f.endswith(".ko"):
                paths[f[:-3].replace("-", "_")] = os.path.join(dirpath, f)
    out = []

    def add(name, chain=()):
        key = name.replace("-", "_")
        p = paths.get(key)
        if not p:
            raise RuntimeError(f"module {name}.ko is not in {moddir}")
        if p in out or key in chain:
            return
        for d in _module_depends(p):
            add(d, chain + (key,))
        out.append(p)

    for name in MODULES:
        add(name)
    return out


def static_busybox():
    bb = shutil.which("busybox") or "/bin/busybox"
    if not os.path.exists(bb) or "statically linked" not in _run(["file", "-L", bb]).stdout:
        raise Skip("static busybox not found (make setup installs busybox-static)")
    return bb


def initramfs(moddir):
    """L1's initramfs (cached by the hash of its inputs): busybox in /bb,
    the modules in /modules with their load order, l1-init.sh as /init."""
    bb = static_busybox()
    mods = _find_modules(moddir)
    init = os.path.join(HERE, "l1-init.sh")
    h = hashlib.sha256()
    for p in [bb, init] + mods:
        h.update(p.encode() + b"\0")
        with open(p, "rb") as f:
            h.update(hashlib.sha256(f.read()).digest())
    key = h.hexdigest()[:16]
    out = os.path.join(cache_dir(), f"initramfs-{key}.cpio")
    if os.path.exists(out):
        return out
    mk = os.path.join(build_dir(), "images", "lbx-mkinitramfs")
    order = tempfile.NamedTemporaryFile("w", delete=False, dir=cache_dir(), suffix=".order")
    order.write("".join(os.path.basename(m) + "\n" for m in mods))
    order.close()
    args = [mk, "-o", out + ".tmp"]
    for d in ("/bb", "/modules", "/dev", "/proc", "/sys", "/tmp", "/run", "/root", "/var",
              "/var/tmp", "/usr", "/etc", "/job", "/mnt"):
        args += ["--dir", d]
    args += ["--file", f"{bb}:/bb/busybox:0755", "--file", f"{init}:/init:0755",
             "--file", f"{order.name}:/modules/order:0644"]
    for m in mods:
        args += ["--file", f"{m}:/modules/{os.path.basename(m)}:0644"]
    for a in _run([bb, "--list"]).stdout.split():
        if a != "busybox":
            args += ["--symlink", f"/bb/{a}:busybox"]
    for link in ("bin", "sbin", "lib", "lib64"):
        args += ["--symlink", f"/{link}:usr/{link}"]
    r = _run(args)
    os.unlink(order.name)
    if r.returncode != 0:
        raise RuntimeError(f"lbx-mkinitramfs failed: {r.stderr.strip()}")
    os.rename(out + ".tmp", out)
    for old in os.listdir(cache_dir()):
        if old.startswith("initramfs-") and old != os.path.basename(out):
            os.unlink(os.path.join(cache_dir(), old))
    return out


def qemu_has_svm():
    q = shutil.which("qemu-system-x86_64")
    if not q:
        raise Skip("qemu-system-x86_64 is not installed (make setup installs qemu-system-x86)")
    r = _run([q, "-cpu", "help"])
    if " svm" not in r.stdout and "svm" not in r.stdout.split():
        raise Skip("this QEMU's TCG does not offer svm (-cpu max,+svm)")
    return q


def shares():
    """(tag, host path) pairs shared read-only into L1 at the same path."""
    out = [("usr", "/usr"), ("etc", "/etc"), ("src", ROOT), ("kernel", kernel_dir())]
    b = build_dir()
    if not b.startswith(ROOT + os.sep):
        out.append(("build", b))
    return out


class Run:
    def __init__(self, console, rc, wall_s, timed_out, job):
        self.console, self.rc, self.wall_s, self.timed_out, self.job = \
            console, rc, wall_s, timed_out, job

    def lines(self):
        return self.console.splitlines()


def run(script, timeout=600, memory_mib=3072, cpus=2, on_line=None, keep_job=None,
        scratch_mib=2048):
    """Boot L1, run `script` (sh text) there as root, return its console.
    on_line(line) sees each console line as it comes. The job directory
    (the script's /job) is removed afterwards unless keep_job names a
    directory to use instead."""
    q = qemu_has_svm()
    vmlinuz, moddir = debian_kernel()
    cpio = initramfs(moddir)
    job = keep_job or tempfile.mkdtemp(prefix="lbx-nested-job-")
    os.makedirs(job, exist_ok=True)
    disk_dir = tempfile.mkdtemp(prefix="lbx-nested-disk-")
    disk = os.path.join(disk_dir, "scratch.img")
    mk = _run(["mkfs.ext4", "-q", "-F", "-m", "0", "-E", "root_owner=0:0", disk,
               f"{scratch_mib}M"])
    if mk.returncode != 0:
        shutil.rmtree(disk_dir, True)
        raise RuntimeError(f"mkfs.ext4 of L1's scratch disk failed: {mk.stderr.strip()}")
    with open(os.path.join(job, "run.sh"), "w") as f:
        f.write(script)
    mounts = []
    args = [q, "-accel", "tcg", "-cpu", "max,+svm,+npt", "-m", str(memory_mib),
            "-smp", str(cpus), "-M", "q35", "-nodefaults", "-no-reboot", "-display", "none",
            "-serial", "stdio", "-monitor", "none", "-kernel", vmlinuz, "-initrd", cpio]
    for i, (tag, path) in enumerate(shares()):
        args += ["-virtfs", f"local,path={path},mount_tag={tag},security_model=none,"
                 f"readonly=on,multidevs=remap,id=fs{i}"]
        mounts.append(f"{tag}:{path}")
    args += ["-virtfs", f"local,path={job},mount_tag=job,security_model=none,id=job"]
    args += ["-drive", f"file={disk},if=virtio,format=raw,cache=unsafe"]
    args += ["-append", "console=ttyS0 panic=-1 quiet loglevel=4 nested.mounts=" +
             ",".join(mounts)]
    t0 = time.monotonic()
    p = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT)
    out = []
    timed_out = False
    try:
        import selectors
        sel = selectors.DefaultSelector()
        sel.register(p.stdout, selectors.EVENT_READ)
        buf = b""
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
        shutil.rmtree(disk_dir, True)
    wall = time.monotonic() - t0
    r = Run("\n".join(out) + "\n", p.returncode, wall, timed_out, job)
    if not keep_job:
        r.files = {}
        for name in os.listdir(job):
            pth = os.path.join(job, name)
            if os.path.isfile(pth) and name != "run.sh":
                with open(pth, "rb") as f:
                    r.files[name] = f.read()
        shutil.rmtree(job, True)
    return r


QEMU_KVM = """#!/bin/sh
# engine qemu's argv with -accel kvm -cpu host instead of -accel tcg -cpu max
prev=
for a; do
	shift
	case "$prev:$a" in
	-accel:tcg) set -- "$@" kvm ;;
	-cpu:max) set -- "$@" host ;;
	*) set -- "$@" "$a" ;;
	esac
	prev=$a
done
exec %s "$@"
"""


def qemu_kvm_path(bindir):
    """A directory for the front of PATH whose qemu-system-x86_64 runs the
    real one with -accel kvm -cpu host where engine qemu asks for TCG:
    QEMU microvm on KVM is the peer lbx-vmm is measured and compared with."""
    import shlex
    os.makedirs(bindir, exist_ok=True)
    path = os.path.join(bindir, "qemu-system-x86_64")
    with open(path, "w") as f:
        f.write(QEMU_KVM % shlex.quote(shutil.which("qemu-system-x86_64")))
    os.chmod(path, 0o755)
    return bindir


def skip_reason(r):
    """Why L1 could not run L2 at all (None when it could)."""
    for line in r.lines():
        m = re.search(r"nested: SKIP (.*)", line)
        if m:
            return m.group(1)
    return None
