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
TCG, so both figures are L1's and their ratio is what to read). Where
weston is installed, the box also has a wayland section and gpu-draw -W
shows its frames on a headless weston through the Wayland proxy's GPU
path; the proxy's own count gives the bytes per frame carried to the
host (read back from lbx-gpud), and weston-simple-egl runs fullscreen
on the 1280x720 output twice, on virgl (Mesa's EGL Wayland platform
through the proxy's dmabuf feedback) and on the guest's llvmpipe (shm),
with its own fps figure and the bytes per frame each path carried.
Prints the tables and ratios; never fails on time.

  python3 tests/bench/gpu.py [--frames N]"""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tests"))
sys.path.insert(0, os.path.join(ROOT, "tests", "e2e"))
sys.path.insert(0, os.path.join(ROOT, "tests", "nested"))
from lbxtest import build_dir, kernel_dir  # noqa: E402
from testlib import lbx_env, stop_process  # noqa: E402
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


def start_weston(env):
    """A headless weston for the Wayland row, or None."""
    if not shutil.which("weston"):
        return None
    wenv = dict(env, WAYLAND_DISPLAY="wl-host")
    p = subprocess.Popen(["weston", "--backend=headless-backend.so", "--socket=wl-host",
                          "--use-pixman", "--idle-time=0", "--width=%d" % W, "--height=%d" % H],
                         env=wenv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(1000):
        if os.path.exists(os.path.join(env["XDG_RUNTIME_DIR"], "wl-host")):
            env["WAYLAND_DISPLAY"] = "wl-host"
            return p
        if p.poll() is not None:
            return None
        time.sleep(0.01)
    stop_process(p)
    return None


def proxy_clients(env):
    """Per client, from lbx-wayland-proxy's close lines: (bytes from the box, commits,
    GPU bytes read back, dmabuf feedbacks)."""
    log = os.path.join(env["XDG_DATA_HOME"], "lbx", "boxes", "proj", "backends.log")
    text = open(log, errors="replace").read() if os.path.exists(log) else ""
    return [tuple(map(int, m)) for m in re.findall(
        r"(\d+) bytes from the box, \d+ to it, (\d+) commits, (\d+) bytes read back from "
        r"the GPU in \d+ copies, (\d+) dmabuf feedbacks", text)]


SIMPLE_EGL_S = 30


def simple_egl_rows(lbx, env):
    """weston-simple-egl fullscreen on the 1280x720 output, SIMPLE_EGL_S seconds each:
    on virgl (Mesa's EGL Wayland platform on the proxy's dmabuf feedback, frames read
    back from lbx-gpud) and on the guest's llvmpipe (wl_shm, the shm path)."""
    rows = []
    for name, extra in (("virgl (lbx-gpud)", ""), ("guest llvmpipe", "LIBGL_ALWAYS_SOFTWARE=true ")):
        before = len(proxy_clients(env))
        r = lbx("exec", "proj", "--", "sh", "-c",
                "timeout -s INT %d env %s %s%s/ld-linux-x86-64.so.2 --library-path %s "
                "/host/usr/bin/weston-simple-egl -f -o" % (SIMPLE_EGL_S, test_gpu.MESA_ENV, extra,
                                                       test_gpu.HOST_LIB, test_gpu.HOST_LIB),
                timeout=SIMPLE_EGL_S + 240)
        out = r.stdout.decode(errors="replace")
        rates = [float(x) for x in re.findall(r"frames in \d+ seconds: ([0-9.]+) fps", out)]
        # the proxy logs a client when it closes: wait for this one's line
        for _ in range(100):
            cl = proxy_clients(env)
            if len(cl) > before:
                break
            time.sleep(0.1)
        c = cl[before] if len(cl) > before else None
        rows.append((name, rates[-1] if rates else None, c, out.strip()[-200:]))
    return rows


def proxy_bytes(env, first):
    """(GPU bytes read back, copies) of the client that closed first after `first`
    close lines of lbx-wayland-proxy."""
    log = os.path.join(env["XDG_DATA_HOME"], "lbx", "boxes", "proj", "backends.log")
    text = open(log, errors="replace").read() if os.path.exists(log) else ""
    got = [tuple(map(int, m)) for m in
           re.findall(r"(\d+) bytes read back from the GPU in (\d+) copies", text)]
    return got[first] if len(got) > first else (0, 0)


def inner():
    tmp = tempfile.mkdtemp(prefix="lbx-bench-gpu-")
    env = lbx_env(tmp)
    env["LBX_KERNEL_DIR"] = kernel_dir()
    env.pop("DISPLAY", None)
    weston = start_weston(env)
    definition = {"image": "busybox", "engine": "qemu", "gpu": True, "cpus": 2,
                  "mounts": [{"host": "/usr", "guest": "/host/usr", "mode": "ro"}]}
    if weston:
        definition["wayland"] = {}
    lbx = test_gpu.box(Tap(), tmp, env, definition)
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
        wl = None
        if weston:
            wl_first = len(proxy_clients(env))
            t0 = time.time()
            r = lbx("exec", "proj", "--", "sh", "-c",
                    "%s -W -w %d -h %d -n %d -s 0" % (test_gpu.DRAW, W, H, FRAMES))
            wl_s = time.time() - t0
            wl = r.stdout.decode(errors="replace")
            for _ in range(100):  # its close line, before the next client's
                if len(proxy_clients(env)) > wl_first:
                    break
                time.sleep(0.1)
        egl = simple_egl_rows(lbx, env) if weston and shutil.which("weston-simple-egl") else None
        lbx("down", "proj", timeout=120)
        if egl:
            print("bench gpu: weston-simple-egl -f at %dx%d on weston headless through the "
                  "proxy pair, %d s each" % (W, H, SIMPLE_EGL_S))
            print("bench gpu: %-18s %8s %12s %22s" % ("path", "fps", "commits", "bytes per frame"))
            for name, f, c, err in egl:
                if not c or not f:
                    print("bench gpu: %-18s failed: %s" % (name, err))
                    continue
                _, commits, gpu, fb = c
                per = (gpu if gpu else c[0]) // max(commits, 1)
                how = "read back" if gpu else "shm from box"
                print("bench gpu: %-18s %8.1f %12d %12d (%s)%s" % (
                    name, f, commits, per, how, "" if (fb > 0) == bool(gpu) else " ?"))
            if egl[0][1] and egl[1][1]:
                print("bench gpu: weston-simple-egl virgl / guest llvmpipe: %.2fx"
                      % (egl[0][1] / egl[1][1]))
        if wl is not None:
            nbytes, copies = proxy_bytes(env, wl_first)
            if ("presented: %d" % FRAMES) in wl and copies:
                print("bench gpu: %-18s %d frames shown on weston through the proxy in %.1f s "
                      "(with the box exec)" % ("virgl -> Wayland", FRAMES, wl_s))
                print("bench gpu: bytes per frame carried to the host: %d read back from "
                      "lbx-gpud into shm (%.2f of a whole %dx%d frame, %d bytes: the damage "
                      "of each commit)" % (nbytes // copies, nbytes / copies / (W * H * 4),
                                              W, H, W * H * 4))
            else:
                print("bench gpu: the Wayland row failed: %s" % wl.strip()[-200:])
        else:
            print("bench gpu: no weston here: no Wayland row (bytes per frame not measured)")
    finally:
        lbx("down", "proj", timeout=120)
        if weston:
            stop_process(weston)
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
