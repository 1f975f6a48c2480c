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
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "build"))
RUNS = int(os.environ.get("LBX_BENCH_RUNS", "5"))
# As lbx runs podman (lbx/image.h).
PODMAN = ["podman", "--runtime", "runc"]
LIMITS = ["--ulimit", "nofile=1024:1024", "--ulimit", "nproc=1024:1024"]
IMAGE = "localhost/lbx-debian:bookworm"


def timed(cmd, **kw):
    t0 = time.monotonic()
    r = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, **kw)
    if r.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd[:4])} failed: {r.stderr.decode()[-500:]}")
    return (time.monotonic() - t0) * 1000


def bench_lbx(tmp):
    env = dict(os.environ)
    for k in ("XDG_RUNTIME_DIR", "XDG_DATA_HOME", "XDG_CONFIG_HOME"):
        env[k] = os.path.join(tmp, k)
        os.makedirs(env[k], mode=0o700)
    proj = os.path.join(tmp, "lightbench")
    os.makedirs(proj)
    lbx = [os.path.join(BUILD, "lbx", "lbx")]
    # The first up makes the root tree from the Debian image (not timed).
    subprocess.run(lbx + ["build"], cwd=proj, env=env, check=True, stdout=subprocess.DEVNULL)
    ups, execs = [], []
    try:
        for _ in range(RUNS):
            ups.append(timed(lbx + ["up", "--light"], cwd=proj, env=env))
            for _ in range(4):
                execs.append(timed(lbx + ["exec", "lightbench", "--", "true"], cwd=proj, env=env))
            timed(lbx + ["down", "lightbench"], cwd=proj, env=env)
    finally:
        subprocess.run(lbx + ["down", "lightbench"], cwd=proj, env=env, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
    return statistics.median(ups), statistics.median(execs)


def bench_podman():
    runs, execs = [], []
    for i in range(RUNS):
        name = f"lbx-bench-light-{os.getpid()}-{i}"
        runs.append(timed(PODMAN + ["run", "-d", "--rm", "--network", "none", "--name", name]
                          + LIMITS + [IMAGE, "sleep", "600"]))
        try:
            for _ in range(4):
                execs.append(timed(PODMAN + ["exec", name, "true"]))
        finally:
            subprocess.run(PODMAN + ["rm", "-f", "-t", "0", name], stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
    return statistics.median(runs), statistics.median(execs)


def main():
    with tempfile.TemporaryDirectory(prefix="lbx-bench-light-") as tmp:
        up, ex = bench_lbx(tmp)
    run, pex = bench_podman()
    print(f"medians of {RUNS} starts and {RUNS * 4} execs, image {IMAGE}")
    print(f"  lbx up --light to ready           {up:8.0f} ms")
    print(f"  podman run -d IMAGE (started)     {run:8.0f} ms   lbx up --light / podman run = {up / run:.2f}x")
    print(f"  lbx exec NAME -- true             {ex:8.1f} ms")
    print(f"  podman exec CONTAINER true        {pex:8.1f} ms   lbx exec / podman exec = {ex / pex:.2f}x")


if __name__ == "__main__":
    main()
