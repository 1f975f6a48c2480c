#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""lbx-fsd benchmark: the same tree natively, through bindfs and through
lbx-fsd over /dev/fuse, in one run; prints times and ratios. Not a test:
it never fails on time. Needs root, /dev/fuse and bindfs.

lbx-fsd runs twice: with its default cache policy (the tree watched, host
edits notified, names and attributes cached 60 s) and with the policy
before notifications (--no-watch: 1 s).

  tests/bench/fsd.py BUILD_DIR        (LBX_BENCH_FSD_MB=1024: size of the sequential I/O;
                                       LBX_BENCH_FSD_FILES=20000: files in the tree)
"""
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

RUNS = 3
# The tree: 20k files. Over lbx-fsd's inode fd budget (the open file
# limit less a reserve) idle inode fds are closed and reopened on use.
FILES = int(os.environ.get("LBX_BENCH_FSD_FILES", "20000"))


def sh(cmd, cwd=None, check=True):
    r = subprocess.run(cmd, shell=True, cwd=cwd, stdout=subprocess.DEVNULL,
                       stderr=subprocess.PIPE, text=True)
    if check and r.returncode:
        raise SystemExit(f"'{cmd}' in {cwd} failed ({r.returncode}): {r.stderr.strip()}")
    return r


def drop_caches():
    os.sync()
    with open("/proc/sys/vm/drop_caches", "w") as f:
        f.write("3\n")


def timed(cmd, cwd=None, cold=False):
    if cold:
        drop_caches()
    t = time.monotonic()
    sh(cmd, cwd=cwd)
    return time.monotonic() - t


def mounted(path):
    with open("/proc/self/mountinfo") as f:
        return any(line.split()[4] == path for line in f)


def wait_mount(path, proc):
    for _ in range(1000):
        if mounted(path):
            return
        if proc and proc.poll() is not None:
            raise SystemExit("mount failed")
        time.sleep(0.01)
    raise SystemExit("mount did not appear: " + path)


def make_tree(root):
    for d in range(200):
        os.makedirs(f"{root}/tree/d{d}", exist_ok=True)
        for i in range(FILES // 200):
            with open(f"{root}/tree/d{d}/f{i}.txt", "w") as f:
                f.write(f"file {d}/{i}\n")
    sh("git init -q && git add -A && git -c user.name=b -c user.email=b@e commit -q -m init",
       cwd=f"{root}/tree")
    proj = f"{root}/proj"
    os.makedirs(f"{proj}/src")
    for i in range(60):
        with open(f"{proj}/src/m{i}.c", "w") as f:
            f.write("#include <stdio.h>\n#include <string.h>\n#include <stdlib.h>\n")
            f.write("".join(f"int f{i}_{k}(int x) {{ return x * {k} + {i}; }}\n"
                            for k in range(200)))
    with open(f"{proj}/src/main.c", "w") as f:
        f.write("int main(void) { return 0; }\n")
    with open(f"{proj}/Makefile", "w") as f:
        f.write("SRC := $(wildcard src/*.c)\nprog: $(SRC:.c=.o)\n\t$(CC) -o $@ $^\n"
                "%.o: %.c\n\t$(CC) -O1 -c -o $@ $<\n")
    sh(f"tar -C {root} -cf {root}/proj.tar proj")


def workloads(mb):
    return [
        (f"git status, {FILES} files (warm)", "git status --porcelain >/dev/null", False, "tree"),
        ("find -type f | xargs stat (cold)", "find . -type f | xargs stat >/dev/null", True, "tree"),
        (f"sequential write {mb} MiB", f"dd if=/dev/zero of=big bs=1M count={mb} conv=fsync status=none",
         False, ""),
        (f"sequential read {mb} MiB (cold)", "dd if=big of=/dev/null bs=1M status=none", True, ""),
        ("untar + make -j2 of 61 C files", "rm -rf proj && tar -xf ../proj.tar && make -s -j2 -C proj",
         False, "work"),
    ]


def main():
    if len(sys.argv) < 2:
        raise SystemExit(__doc__)
    fsd = os.path.join(sys.argv[1], "backends/fsd/lbx-fsd")
    if os.geteuid() != 0 or not os.path.exists("/dev/fuse") or not shutil.which("bindfs"):
        raise SystemExit("fsd.py needs root, /dev/fuse and bindfs")
    mb = int(os.environ.get("LBX_BENCH_FSD_MB", "1024"))
    base = tempfile.mkdtemp(prefix="lbx-fsd-bench.")
    data = f"{base}/data"
    os.makedirs(f"{data}/work")
    limit = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    budget = limit - max(256, limit // 4)  # lbx-fsd's default --max-inode-fds
    if budget < FILES:
        print(f"# open file limit {limit}: lbx-fsd keeps at most {budget} inode fds, fewer "
              f"than the tree's {FILES} files; it evicts and reopens, which the metadata "
              "rows pay for", flush=True)
    print(f"# building a tree of {FILES} files and a C project in {base} ...", flush=True)
    make_tree(data)
    targets = {"native": data}
    procs = []
    try:
        for name, cmd in [("bindfs", ["bindfs", data, f"{base}/bindfs"]),
                          ("lbx-fsd", [fsd, "--shared-dir", data, "--fuse-mount", f"{base}/lbx-fsd"]),
                          ("fsd-1s", [fsd, "--shared-dir", data, "--fuse-mount", f"{base}/fsd-1s",
                                      "--no-watch"])]:
            mnt = f"{base}/{name}"
            os.makedirs(mnt)
            p = subprocess.Popen(cmd, stderr=subprocess.DEVNULL)
            procs.append((p, mnt))
            wait_mount(mnt, p if name != "bindfs" else None)
            targets[name] = mnt
        results = {}
        for label, cmd, cold, sub in workloads(mb):
            for tname, root in targets.items():
                cwd = os.path.join(root, sub) if sub else os.path.join(root, "work")
                times = [timed(cmd, cwd=cwd, cold=cold) for _ in range(RUNS)]
                results[(label, tname)] = statistics.median(times)
            if label.startswith("sequential read"):
                sh(f"rm -f {data}/work/big")
        print(f"\n{'workload':40s} {'native':>9s} {'bindfs':>9s} {'lbx-fsd':>9s} {'fsd 1s':>9s}"
              f" {'fsd/native':>11s} {'bindfs/fsd':>11s} {'1s/60s':>7s}")
        for label, *_ in workloads(mb):
            n, b, f, o = (results[(label, t)] for t in ("native", "bindfs", "lbx-fsd", "fsd-1s"))
            print(f"{label:40s} {n:8.3f}s {b:8.3f}s {f:8.3f}s {o:8.3f}s {f / n:10.2f}x"
                  f" {b / f:10.2f}x {o / f:6.2f}x")
        print(f"\n# median of {RUNS} runs; lbx-fsd: the default policy (watched, 60 s caches);"
              " fsd 1s: --no-watch (1 s caches, the policy before notifications);"
              " fsd/native: lbx-fsd's cost over the host (goals: <= 1.5 on warm git status,"
              " <= 1.3 on the compile); bindfs/fsd: how much faster lbx-fsd is than bindfs")
    finally:
        for p, mnt in procs:
            sh(f"umount {mnt}", check=False)
            p.terminate()
            p.wait()
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
