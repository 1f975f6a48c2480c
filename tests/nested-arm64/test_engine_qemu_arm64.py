#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Engine qemu as lbx runs it on an arm64 host (issue 20): the command line
`lbx engine-argv --arch aarch64 --engine qemu` plans (qemu-system-aarch64
-M virt, under TCG here as on an arm64 host without KVM) boots our arm64
kernel (its PL011 console) with an arm64 initramfs and busybox image, wired
to this host's lbx-fsd and lbx-vsockd over vhost-user, to the agent's
READY; `lbx exec` then runs a command in the arm64 guest over vsock and
gets its output, a project file and its exit status.

lbx finds its helpers in a directory made here (LBX_LIBEXEC_DIR): this
build's backends, and the initramfs and busybox image made from the arm64
build (make build-arm64). Skips without qemu-system-aarch64; without the
arm64 build or kernel it skips too, unless LBX_REQUIRE_ARM64 is set (make
check): then that is a failure."""
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.dirname(HERE))
import l1  # noqa: E402
from testlib import lbx_env, stop_process  # noqa: E402

n = 0
failed = 0

# What lbx starts from its libexec and data directories, from this (x86_64) build.
HOST_ASSETS = {
    "lbx-vsockd": "backends/vsock/lbx-vsockd",
    "lbx-fsd": "backends/fsd/lbx-fsd",
    "lbx-netd": "backends/net/lbx-netd",
    "lbx-own-tree": "images/lbx-own-tree",
    "lbx-ssh-proxy": "vsock-ssh/lbx-ssh-proxy",
    "build-kernel-arm64.sh": "lbx/build-kernel-arm64.sh",
    "lbx-arm64.config": "lbx/lbx-arm64.config",
    "lbx.config": "lbx/lbx.config",
}


def ok(cond, desc, detail=""):
    global n, failed
    n += 1
    print(f"{'ok' if cond else 'not ok'} {n} - {desc}")
    if not cond:
        failed += 1
        for line in str(detail).splitlines()[-40:]:
            print("#   " + line)
    sys.stdout.flush()
    return cond


def libexec_dir(d, agent):
    """The flat directory lbx runs from: host programs, arm64 guest images."""
    b = l1.build_dir()
    for name, rel in HOST_ASSETS.items():
        os.symlink(os.path.join(b, rel), os.path.join(d, name))
    mk = l1.mkinitramfs()
    r = l1._run([mk, "-o", os.path.join(d, "initramfs.cpio"), "--agent", agent])
    if r.returncode != 0:
        raise RuntimeError("lbx-mkinitramfs (arm64 initramfs) failed: " + r.stderr)
    args = [mk, "-o", os.path.join(d, "busybox.cpio"), "--dir", "/bin", "--dir", "/etc",
            "--dir", "/home"] + l1.busybox_args(l1.busybox_arm64())
    r = l1._run(args)
    if r.returncode != 0:
        raise RuntimeError("lbx-mkinitramfs (arm64 busybox image) failed: " + r.stderr)


def boot(plan, log, timeout=300):
    """Start the plan's backends and QEMU as the supervisor would; wait for READY."""
    procs = []
    for b in plan["backends"]:
        procs.append(subprocess.Popen(b["argv"], stdin=subprocess.DEVNULL, stdout=log,
                                      stderr=log))
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    if os.path.exists(plan["ready"]):
        os.unlink(plan["ready"])
    listener.bind(plan["ready"])
    listener.listen(1)
    listener.settimeout(timeout)
    for b in plan["backends"]:
        for _ in range(100):
            if os.path.exists(b["socket"]):
                break
            subprocess.run(["sleep", "0.1"])
    procs.append(subprocess.Popen(plan["argv"], stdin=subprocess.DEVNULL, stdout=log,
                                  stderr=log))
    ready = None
    try:
        conn, _ = listener.accept()
        conn.settimeout(10)
        ready = conn.recv(64).decode(errors="replace")
        conn.close()
    except OSError:
        pass
    finally:
        listener.close()
        os.unlink(plan["ready"])
    return procs, ready


def main():
    try:
        l1.qemu()
        bins = l1.arm64_binaries()
        image = l1.arm64_kernel()
        l1.busybox_arm64()
        l1.mkinitramfs()
    except l1.Missing as e:
        if os.environ.get("LBX_REQUIRE_ARM64"):
            ok(False, f"what make check builds for this test is there: {e}")
            print(f"1..{n}")
            return 1
        print(f"1..0 # SKIP {e}")
        return 0
    except l1.Skip as e:
        print(f"1..0 # SKIP {e}")
        return 0
    tmp = tempfile.mkdtemp(prefix="lbx-qemu-arm64-")
    procs = []
    log = None
    try:
        flat = os.path.join(tmp, "libexec")
        os.makedirs(flat)
        libexec_dir(flat, bins["lbx-agent"])
        env = lbx_env(tmp)
        env["LBX_LIBEXEC_DIR"] = flat
        env["LBX_KERNEL_DIR"] = os.path.dirname(image)
        project = os.path.join(tmp, "arm")
        os.makedirs(project)
        with open(os.path.join(project, "lbx.json"), "w") as f:
            f.write('{"image": "busybox", "network": {"mode": "none"}}')
        with open(os.path.join(project, "from-host.txt"), "w") as f:
            f.write("host\n")
        exe = os.path.join(l1.build_dir(), "lbx", "lbx")
        r = subprocess.run([exe, "engine-argv", "--arch", "aarch64", "--engine", "qemu"],
                           cwd=project, env=env, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True, timeout=600)
        if not ok(r.returncode == 0, "lbx engine-argv --arch aarch64 plans the box", r.stderr):
            return 1
        plan = json.loads(r.stdout)
        argv = plan["argv"]
        ok(plan.get("arch") == "aarch64" and argv[0] == "qemu-system-aarch64" and
           argv[argv.index("-M") + 1].startswith("virt,") and
           argv[argv.index("-accel") + 1] == "tcg",
           "the plan is qemu-system-aarch64 -M virt under TCG (no KVM for it on this host)",
           " ".join(argv[:12]))
        log = open(os.path.join(tmp, "boot.log"), "ab")
        procs, ready = boot(plan, log)
        console = ""
        if os.path.exists(plan["console"]):
            with open(plan["console"], errors="replace") as f:
                console = f.read()
        ok(ready and ready.startswith("READY"),
           "that command line boots the arm64 box to the agent's READY over vsock",
           console[-3000:] + open(os.path.join(tmp, "boot.log"), errors="replace").read()[-2000:])
        r = subprocess.run([exe, "exec", "arm", "--", "sh", "-c",
                            "uname -m; cat from-host.txt; exit 3"], cwd=project, env=env,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                           timeout=180)
        ok(r.returncode == 3 and r.stdout == "aarch64\nhost\n",
           "lbx exec runs in the arm64 guest: its machine, the project file, exit status 3",
           (r.returncode, r.stdout, r.stderr))
        with open(plan["console"], errors="replace") as f:
            console = f.read()
        ok("@lbx ready" in console,
           "the agent's ready line is in the console log (virt's PL011, console=ttyAMA0)",
           console[-2000:])
    finally:
        for p in reversed(procs):
            stop_process(p)
        if log:
            log.close()
        shutil.rmtree(tmp, True)
    print(f"1..{n}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
