#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Boot time of the lbx guest under QEMU TCG, median of N runs per variant.

Prints guest time to "agent ready" (CLOCK_BOOTTIME in the guest) and wall
time for the whole run (QEMU start to exit), and each variant's ratio to
the baseline (PVH vmlinux, uncompressed initramfs, quiet console). A
benchmark: it prints figures, it never fails on time.
"""
import os
import shutil
import statistics
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "e2e"))
import lbxtest  # noqa: E402

RUNS = int(os.environ.get("LBX_BENCH_RUNS", "5"))


def compressed(src, tool, workdir):
    out = os.path.join(workdir, os.path.basename(src) + "." + tool[0])
    with open(src, "rb") as f, open(out, "wb") as o:
        subprocess.run(tool, stdin=f, stdout=o, check=True)
    return out


def measure(box):
    ready, wall = [], []
    for _ in range(RUNS):
        # /init as a command exits at once (not PID 1): boot, report, power off.
        r = box.run(["/init"])
        if r.ready_ms is None or r.code != 2:
            raise RuntimeError("boot failed:\n" + r.console[-2000:])
        ready.append(r.ready_ms)
        wall.append(r.wall_s * 1000)
    return statistics.median(ready), statistics.median(wall)


def main():
    base_initrd = os.path.join(lbxtest.build_dir(), "images", "initramfs.cpio")
    with tempfile.TemporaryDirectory(prefix="lbx-bench-") as wd:
        variants = [
            ("vmlinux (PVH), cpio, quiet", dict()),
            ("bzImage, cpio, quiet", dict(kernel="bzImage")),
            ("vmlinux, cpio.gz, quiet",
             dict(initramfs=compressed(base_initrd, ["gzip", "-9n"], wd))),
            ("vmlinux, cpio.lz4, quiet",
             dict(initramfs=compressed(base_initrd, ["lz4", "-l", "-9", "-q"], wd))),
            ("vmlinux, cpio, verbose console", dict(quiet=False)),
        ]
        if not shutil.which("lz4"):
            variants = [v for v in variants if "lz4" not in v[0]]
        print(f"boot to agent ready under QEMU TCG, median of {RUNS} runs")
        print(f"initramfs: {os.path.getsize(base_initrd)} bytes uncompressed")
        base = None
        for name, kw in variants:
            ready, wall = measure(lbxtest.Box(tools=False, **kw))
            if base is None:
                base = (ready, wall)
            print(f"  {name:34s} ready {ready:6.0f} ms guest ({ready / base[0]:.2f}x)"
                  f"   run {wall:6.0f} ms wall ({wall / base[1]:.2f}x)")


if __name__ == "__main__":
    main()
