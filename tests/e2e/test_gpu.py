#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""A box with "gpu": true on engine qemu: the supervisor runs lbx-gpud
(virglrenderer on the host's EGL, llvmpipe here), QEMU's vhost-user-gpu
on virtio-mmio connects to it, the guest kernel's virtio-gpu driver binds
with 3D (virgl) and makes /dev/dri/card0 and renderD128, and guest
programs open them as root and as the box's ordinary user.

QEMU 7.2's vhost-user-gpu needs KVM (its vhost-user back-end object
refuses TCG), so on a host whose KVM cannot run Linux lbx up refuses the
box in one line and this test skips; tests/nested/test_nested_gpu.py runs
it inside the nested layer's L1, which has a real KVM. Real CLI, private
XDG directories."""
import json
import os
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lbxtest import Skip, approve_first, build_dir, kernel_dir, main, qemu_binary  # noqa: E402
from testlib import lbx_env  # noqa: E402


def box(t, tmp, env, definition):
    project = os.path.join(tmp, "proj")
    os.makedirs(project, exist_ok=True)
    with open(os.path.join(project, "lbx.json"), "w") as f:
        json.dump(definition, f)
    exe = os.path.join(build_dir(), "lbx", "lbx")

    def lbx(*args, timeout=600):
        return approve_first(lambda *a: subprocess.run(
            [exe] + list(a), cwd=project, env=env, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, timeout=timeout), args)
    return lbx


def box_logs(env):
    d = os.path.join(env["XDG_DATA_HOME"], "lbx", "boxes", "proj")
    out = b""
    for f in ("engine.log", "backends.log", "console.log"):
        p = os.path.join(d, f)
        if os.path.exists(p):
            out += b"\n== " + f.encode() + b"\n" + open(p, "rb").read()[-1500:]
    return out


def test_gpu_box(t):
    qemu_binary()
    gpud = os.path.join(build_dir(), "backends", "gpu", "lbx-gpud")
    if not os.path.exists(gpud):
        raise Skip("lbx-gpud was not built (install libvirglrenderer-dev and libepoxy-dev)")
    if subprocess.run(["qemu-system-x86_64", "-device", "help"], stdout=subprocess.PIPE,
                      text=True).stdout.find('"vhost-user-gpu"') < 0:
        raise Skip("this QEMU has no vhost-user-gpu device")
    tmp = tempfile.mkdtemp(prefix="lbx-gpu-")
    env = lbx_env(tmp)
    env["LBX_KERNEL_DIR"] = kernel_dir()
    lbx = box(t, tmp, env, {"image": "busybox", "engine": "qemu", "gpu": True})
    try:
        r = lbx("up")
        if r.returncode != 0 and b"needs engine qemu with KVM" in r.stderr:
            # QEMU 7.2's vhost-user-gpu refuses TCG; the nested layer runs this with KVM.
            raise Skip("QEMU's vhost-user-gpu needs KVM, which cannot run Linux guests here "
                       "(tests/nested/test_nested_gpu.py runs this test in L1)")
        if not t.ok(r.returncode == 0, "lbx up with \"gpu\": true",
                    r.stderr + box_logs(env)):
            return
        st = json.loads(lbx("status", "proj", "--json").stdout)
        t.ok("lbx-gpud" in [p["role"] for p in st["state"]["processes"]],
             "the supervisor runs lbx-gpud")
        logs = lbx("logs", "proj").stdout.decode(errors="replace")
        t.ok("renderer: " in logs and "EGL surfaceless" in logs,
             "lbx-gpud says which renderer it got",
             [x for x in logs.splitlines() if "renderer" in x])
        r = lbx("exec", "--root", "proj", "--", "sh", "-c",
                "ls /dev/dri; cat /sys/class/drm/card0/device/features 2>/dev/null;"
                "dmesg | grep -i 'virgl\\|virtio_gpu\\|\\[drm\\]' | head -5")
        out = r.stdout.decode(errors="replace")
        t.ok("card0" in out and "renderD128" in out,
             "the guest has /dev/dri/card0 and renderD128", out + r.stderr.decode())
        t.ok("virgl 3d acceleration enabled" in out.lower() or
             "features: +virgl" in out.lower(),
             "the guest's virtio-gpu driver runs with virgl 3D", out)
        r = lbx("exec", "proj", "--", "sh", "-c",
                "id -u; test -r /dev/dri/renderD128 && test -w /dev/dri/renderD128 && "
                "echo rw || ls -l /dev/dri")
        out = r.stdout.decode(errors="replace")
        t.ok(out.split("\n")[0] != "0" and "rw" in out,
             "an ordinary session may open the render node", out)
    finally:
        lbx("down", "proj", timeout=120)
        shutil.rmtree(tmp, True)


if __name__ == "__main__":
    main([test_gpu_box])
