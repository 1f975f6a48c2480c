#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""lbx up to ready and the `lbx exec NAME -- true` round trip (engine qemu
here, TCG), beside `podman run --rm IMAGE true` and `podman exec` on the
same machine, with the same busybox tree as the image. Medians; prints
ratios; never fails on time.

    tests/bench/lifecycle.py [BUILD_DIR]     (LBX_BENCH_RUNS, default 5)
"""
import os
import shutil
import statistics
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from benchlib import (BUILD, EXECS_PER_RUN, LIMITS, PODMAN, ROOT, RUNS,  # noqa: E402
                      lbx_cycles, timed)
from testlib import lbx_env  # noqa: E402


def bench_lbx(tmp):
    env = lbx_env(tmp)
    env["LBX_KERNEL_DIR"] = subprocess.run([os.path.join(ROOT, "kernel-config", "build-kernel.sh")],
                                           stdout=subprocess.PIPE, text=True,
                                           check=True).stdout.split()[-1]
    proj = os.path.join(tmp, "bench")
    os.makedirs(proj)
    with open(os.path.join(proj, "lbx.json"), "w") as f:
        f.write('{"image": "busybox", "engine": "qemu"}')
    return lbx_cycles(proj, env, "bench")


def bench_podman(tmp):
    if not shutil.which("podman"):
        return None
    tree = os.path.join(tmp, "tree")
    os.makedirs(tree)
    subprocess.run(f"cd {tree} && cpio -idm --quiet < {BUILD}/images/busybox.cpio", shell=True,
                   check=True)
    tar = os.path.join(tmp, "busybox.tar")
    subprocess.run(["tar", "-C", tree, "-cf", tar, "."], check=True)
    image = "localhost/lbx-bench-busybox"
    subprocess.run(PODMAN + ["import", tar, image], stdout=subprocess.DEVNULL, check=True)
    runs, execs = [], []
    for _ in range(RUNS):
        runs.append(timed(PODMAN + ["run", "--rm"] + LIMITS + [image, "/bin/true"]))
    cid = subprocess.run(PODMAN + ["run", "-d"] + LIMITS + [image, "/bin/sleep", "600"],
                         stdout=subprocess.PIPE, text=True, check=True).stdout.strip()
    try:
        for _ in range(RUNS * EXECS_PER_RUN):
            execs.append(timed(PODMAN + ["exec", cid, "/bin/true"]))
    finally:
        subprocess.run(PODMAN + ["rm", "-f", cid], stdout=subprocess.DEVNULL)
        subprocess.run(PODMAN + ["rmi", image], stdout=subprocess.DEVNULL)
    return statistics.median(runs), statistics.median(execs)


def main():
    with tempfile.TemporaryDirectory(prefix="lbx-bench-life-") as tmp:
        up, ex = bench_lbx(tmp)
        pod = bench_podman(tmp)
    print(f"medians of {RUNS} starts and {RUNS * EXECS_PER_RUN} execs")
    print(f"  lbx up (engine qemu, TCG) to ready   {up:8.0f} ms")
    print(f"  lbx exec NAME -- true                {ex:8.1f} ms")
    if pod:
        print(f"  podman run --rm IMAGE true           {pod[0]:8.0f} ms   lbx up / podman run = {up / pod[0]:.2f}x")
        print(f"  podman exec CONTAINER true           {pod[1]:8.1f} ms   lbx exec / podman exec = {ex / pod[1]:.2f}x")
    else:
        print("  podman is not installed: no peer figures")


if __name__ == "__main__":
    main()
