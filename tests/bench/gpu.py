#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""GLES frames per second in a box at 1280x720, two ways, in the same box:
  - virgl: the guest's Mesa virgl driver on /dev/dri/renderD128, executed
    on the host by lbx-gpud (virglrenderer; llvmpipe on a host without a GPU);
  - guest llvmpipe: Mesa's software rasteriser on the guest's own CPUs.
The program is backends/gpu/tests/gpu_draw.c (clear, one shaded triangle,
a read-back of one pixel per frame so every frame is finished), run from
the host's Mesa through a read-only mount of /usr (as tests/e2e/test_gpu.py
does). QEMU's vhost-user-gpu needs KVM: where this host's KVM cannot run
Linux, the benchmark runs itself in the nested layer's L1 (real KVM under
TCG, so both figures are L1's and their ratio is what to read). Prints the
table and ratios; never fails on time.

  python3 tests/bench/gpu.py [--frames N]"""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tests"))
sys.path.insert(0, os.path.join(ROOT, "tests", "e2e"))
sys.path.insert(0, os.path.join(ROOT, "tests", "nested"))
from lbxtest import build_dir, kernel_dir  # noqa: E402
from testlib import lbx_env  # noqa: E402
import test_gpu  # noqa: E402

W, H = 1280, 720
FRAMES = int(sys.argv[sys.argv.index("--frames") + 1]) if "--frames" in sys.argv else 60


class Tap:
    def ok(self, cond, what, diag=None):
        if not cond:
            print("bench gpu: %s failed %s" % (what, diag if diag else ""))
        return cond

    def skip(self, *a):
        pass


def fps(out):
    m = re.search(r"renderer: (.*)\n(?:.*\n)*frames: (\d+) seconds: ([0-9.]+)", out)
    return (m.group(1), int(m.group(2)) / float(m.group(3))) if m else (None, None)


def inner():
    tmp = tempfile.mkdtemp(prefix="lbx-bench-gpu-")
    env = lbx_env(tmp)
    env["LBX_KERNEL_DIR"] = kernel_dir()
    lbx = test_gpu.box(Tap(), tmp, env, {
        "image": "busybox", "engine": "qemu", "gpu": True, "cpus": 2,
        "mounts": [{"host": "/usr", "guest": "/host/usr", "mode": "ro"}]})
    shutil.copy(os.path.join(build_dir(), "backends", "gpu", "gpu-draw"),
                os.path.join(tmp, "proj", "gpu-draw"))
    try:
        r = lbx("up")
        if r.returncode != 0:
            return r.stderr.decode(errors="replace")
        rows = []
        for name, flags in (("virgl (lbx-gpud)", ""), ("guest llvmpipe", "-S")):
            draw = test_gpu.DRAW
            if flags:  # Mesa's software rasteriser even though a render node is there
                draw = draw.replace("env ", "env LIBGL_ALWAYS_SOFTWARE=true ", 1)
            cmd = "%s %s -w %d -h %d -n %d" % (draw, flags, W, H, FRAMES)
            r = lbx("exec", "proj", "--", "sh", "-c", cmd)
            rend, f = fps(r.stdout.decode(errors="replace"))
            rows.append((name, rend, f, r.stderr.decode(errors="replace")[-300:]))
        print("bench gpu: %dx%d, %d frames of gpu-draw, in one box (2 vCPUs)" % (W, H, FRAMES))
        print("bench gpu: %-18s %-44s %8s" % ("path", "GL_RENDERER", "fps"))
        for name, rend, f, err in rows:
            print("bench gpu: %-18s %-44s %8s" % (name, (rend or "failed: " + err)[:44],
                                                  "%.1f" % f if f else "-"))
        if rows[0][2] and rows[1][2]:
            print("bench gpu: virgl / guest llvmpipe: %.2fx" % (rows[0][2] / rows[1][2]))
        print("bench gpu: bytes per frame carried to the host display: 0 (offscreen frames);"
              " a scanout flush carries its damaged rectangle only, %d bytes for all of %dx%d"
              % (W * H * 4, W, H))
        lbx("down", "proj", timeout=120)
    finally:
        lbx("down", "proj", timeout=120)
        shutil.rmtree(tmp, True)
    return None


def main():
    if "--inner" in sys.argv:
        err = inner()
        if err:
            print("bench gpu: the box did not start: %s" % err.strip().splitlines()[-1])
        return 0
    err = inner() if os.path.exists("/dev/kvm") and "--nested" not in sys.argv else "x"
    if err is None:
        return 0
    import l1
    from test_nested import job_script
    print("bench gpu: engine qemu has no usable KVM here; running in the nested layer's L1")
    try:
        r = l1.run(job_script(os.path.abspath(__file__), "--inner", "--frames", str(FRAMES)),
                   timeout=900, on_line=lambda x: x.startswith("bench gpu:") and print(x))
    except l1.Skip as e:
        print("bench gpu: skipped: %s" % e)
        return 0
    print("bench gpu: L1 and the box together %.1f s wall" % r.wall_s)
    return 0


if __name__ == "__main__":
    sys.exit(main())
