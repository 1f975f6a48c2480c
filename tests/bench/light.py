#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Engine light against plain podman, same image, one run: `lbx up --light`
to ready and `lbx exec NAME -- true`, beside `podman run -d IMAGE` (started)
and `podman exec CONTAINER true`. The image is the Debian base
(localhost/lbx-debian:bookworm; built and cached by the first `lbx up`).
Medians; prints ratios; never fails on time.

    tests/bench/light.py [BUILD_DIR]     (LBX_BENCH_RUNS, default 5)
"""
import os
import statistics
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from benchlib import (BUILD, EXECS_PER_RUN, LIMITS, PODMAN, RUNS, lbx_cycles,  # noqa: E402
                      timed)
from testlib import lbx_env  # noqa: E402

IMAGE = "localhost/lbx-debian:bookworm"


def bench_lbx(tmp):
    env = lbx_env(tmp)
    proj = os.path.join(tmp, "lightbench")
    os.makedirs(proj)
    # The first build makes the root tree from the Debian image (not timed).
    subprocess.run([os.path.join(BUILD, "lbx", "lbx"), "build"], cwd=proj, env=env, check=True,
                   stdout=subprocess.DEVNULL)
    return lbx_cycles(proj, env, "lightbench", ["--light"])


def bench_podman():
    runs, execs = [], []
    for i in range(RUNS):
        name = f"lbx-bench-light-{os.getpid()}-{i}"
        runs.append(timed(PODMAN + ["run", "-d", "--rm", "--network", "none", "--name", name]
                          + LIMITS + [IMAGE, "sleep", "600"]))
        try:
            for _ in range(EXECS_PER_RUN):
                execs.append(timed(PODMAN + ["exec", name, "true"]))
        finally:
            subprocess.run(PODMAN + ["rm", "-f", "-t", "0", name], stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
    return statistics.median(runs), statistics.median(execs)


def main():
    with tempfile.TemporaryDirectory(prefix="lbx-bench-light-") as tmp:
        up, ex = bench_lbx(tmp)
    run, pex = bench_podman()
    print(f"medians of {RUNS} starts and {RUNS * EXECS_PER_RUN} execs, image {IMAGE}")
    print(f"  lbx up --light to ready           {up:8.0f} ms")
    print(f"  podman run -d IMAGE (started)     {run:8.0f} ms   lbx up --light / podman run = {up / run:.2f}x")
    print(f"  lbx exec NAME -- true             {ex:8.1f} ms")
    print(f"  podman exec CONTAINER true        {pex:8.1f} ms   lbx exec / podman exec = {ex / pex:.2f}x")


if __name__ == "__main__":
    main()
