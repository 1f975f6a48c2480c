#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""lbx-fsd benchmark: the same tree natively, through bindfs and through
lbx-fsd over /dev/fuse, in one run; then inside a guest on engine qemu,
the tree served once by lbx-fsd and once by QEMU's virtiofsd
(/usr/lib/qemu/virtiofsd, Debian's qemu-system-common) to the same guest
kernel. Prints times and ratios. Not a test: it never fails on time.
Needs root, /dev/fuse and bindfs (the guest rows: qemu-system-x86_64,
virtiofsd and the guest kernel; they are left out, with the reason,
where one is missing).

Over /dev/fuse lbx-fsd runs twice: with its default cache policy (the
tree watched, host edits notified, names and attributes cached 60 s) and
with the policy before notifications (--no-watch: 1 s). In the guest,
engine qemu's policy for both servers: QEMU 7.2 passes no notification
queue, so lbx-fsd answers with 1 s timeouts, as virtiofsd's cache=auto
does. The guest's tools (git, gcc, make, tar, find) are the host's /usr,
served read-only by another lbx-fsd, the same for both rows.

  tests/bench/fsd.py BUILD_DIR        (LBX_BENCH_FSD_MB=1024: size of the sequential I/O;
                                       LBX_BENCH_FSD_FILES=20000: files in the tree;
                                       LBX_BENCH_FSD_GUEST_FILES=2000: in the guest's
                                       tree, which runs under TCG; LBX_BENCH_FSD_GUEST=0:
                                       no guest rows)
"""
import os
import re
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
GUEST_FILES = int(os.environ.get("LBX_BENCH_FSD_GUEST_FILES", "2000"))
VIRTIOFSD = "/usr/lib/qemu/virtiofsd"


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


def make_git_tree(path, files):
    for d in range(200):
        os.makedirs(f"{path}/d{d}", exist_ok=True)
        for i in range(files // 200):
            with open(f"{path}/d{d}/f{i}.txt", "w") as f:
                f.write(f"file {d}/{i}\n")
    sh("git init -q && git add -A && git -c user.name=b -c user.email=b@e commit -q -m init",
       cwd=path)


def make_tree(root):
    make_git_tree(f"{root}/tree", FILES)
    make_git_tree(f"{root}/gtree", GUEST_FILES)
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


# ---- the guest rows (engine qemu: QEMU microvm under TCG, our kernel) ----

# (label, command, cold, runs): the compile runs once, it takes minutes under TCG.
GUEST_ROWS = [
    (f"git status, {GUEST_FILES} files (warm)", "cd /p/gtree && git status --porcelain", False,
     RUNS),
    (f"git status, {GUEST_FILES} files (cold)", "cd /p/gtree && git status --porcelain", True,
     RUNS),
    ("find -type f | xargs stat (cold)", "cd /p/gtree && find . -type f | xargs stat", True, RUNS),
    ("tar c of the tree (warm)", "cd /p && tar -cf - gtree | wc -c", False, RUNS),
    # CC=gcc: /usr/bin/cc is a link through /etc/alternatives, which the guest lacks
    ("untar + make -j2 of 61 C files", "cd /p/work && rm -rf proj && tar -xf ../proj.tar && "
     "make -s -j2 -C proj CC=gcc", False, 1),
]


# The guest mounts the tools and the tree from its command line, then runs
# the rest from the tree (a kernel command line holds 2 KiB).
GUEST_BOOT = ("mkdir -p /usr /p && mount -t virtiofs -o ro tools /usr && "
              "mount -t virtiofs proj /p && sh /p/bench.sh")


def guest_script():
    """The guest's bench.sh: each row its number of times; one '@bench ROW
    MICROSECONDS' line per run. Cold: the guest's caches dropped first (the
    host's stay warm)."""
    lines = ["[ -e /lib ] || ln -s usr/lib /lib; [ -e /lib64 ] || ln -s usr/lib64 /lib64",
             "export PATH=/usr/bin:/bin HOME=/tmp",
             "git config --global --add safe.directory '*'",
             "run() { if [ $2 = 1 ]; then sync; echo 3 > /proc/sys/vm/drop_caches; fi; "
             "a=$(/usr/bin/date +%s%N); sh -c \"$3\" >/tmp/out 2>&1 || "
             "{ echo \"@bench-failed $1\"; tail -n 5 /tmp/out; }; "
             "b=$(/usr/bin/date +%s%N); echo \"@bench $1 $(( (b - a) / 1000 ))\"; }"]
    for i, (_, cmd, cold, runs) in enumerate(GUEST_ROWS):
        for _ in range(runs):
            lines.append(f"run {i} {int(cold)} '{cmd}'")
    return "\n".join(lines) + "\n"


def guest_rows(build, data):
    """{row label: median seconds} per server, or a reason there are none."""
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                                    "e2e"))
    os.environ.setdefault("LBX_BUILD_DIR", build)
    import lbxtest
    from lbxtest import Box, Device, VhostUserFs, wait_for_path, stop_process

    class VirtioFsd(Device):
        """QEMU's C virtiofsd serving the tree (cache=auto: 1 s timeouts)."""

        def __init__(self, shared_dir, tag):
            self.shared_dir, self.tag, self.proc = shared_dir, tag, None

        def start(self, workdir):
            self.sock = os.path.join(workdir, "virtiofsd.sock")
            self.log = open(os.path.join(workdir, "virtiofsd.log"), "w")
            self.proc = subprocess.Popen([VIRTIOFSD, f"--socket-path={self.sock}",
                                          "-o", f"source={self.shared_dir}", "-o", "cache=auto"],
                                         stdout=self.log, stderr=subprocess.STDOUT)
            wait_for_path(self.sock, self.proc, "virtiofsd")

        def qemu_args(self):
            return ["-chardev", f"socket,id=vfsd,path={self.sock}",
                    "-device", f"vhost-user-fs-device,chardev=vfsd,tag={self.tag}"]

        def stop(self):
            if self.proc:
                stop_process(self.proc)
                self.log.close()
            self.proc = None

    if os.environ.get("LBX_BENCH_FSD_GUEST", "1") == "0":
        return None, "LBX_BENCH_FSD_GUEST=0"
    if not os.path.exists(VIRTIOFSD):
        return None, f"no {VIRTIOFSD} (Debian's qemu-system-common)"
    try:
        lbxtest.qemu_binary()
        lbxtest.kernel_dir()
    except lbxtest.Skip as e:
        return None, str(e)
    out = {}
    with open(os.path.join(data, "bench.sh"), "w") as f:
        f.write(guest_script())
    for name, dev in (("virtiofsd", VirtioFsd(data, "proj")),
                      ("lbx-fsd", VhostUserFs(data, "proj"))):
        print(f"# guest rows: the tree served by {name} ...", flush=True)
        tools = VhostUserFs("/usr", "tools", read_only=True)
        r = Box(devices=[tools, dev], memory_mib=1024, cpus=2).run(["sh", "-c", GUEST_BOOT],
                                                                  timeout=1800)
        got = {}
        for row, us in re.findall(r"^@bench (\d+) (\d+)$", r.output, re.M):
            got.setdefault(int(row), []).append(int(us) / 1e6)
        failed = re.findall(r"^@bench-failed (\d+)$", r.output, re.M)
        if r.code != 0 or failed or len(got) != len(GUEST_ROWS):
            return None, (f"the guest with {name} did not run every row "
                          f"(exit {r.code}, failed rows {failed}): {r.console[-800:]}")
        out[name] = {GUEST_ROWS[i][0]: statistics.median(v) for i, v in got.items()}
    return out, None


def print_guest(rows, why):
    if rows is None:
        print(f"\n# no guest rows: {why}")
        return
    print(f"\n{'in the guest (engine qemu, TCG)':40s} {'virtiofsd':>10s} {'lbx-fsd':>9s}"
          f" {'virtiofsd/fsd':>14s}")
    for label, *_ in GUEST_ROWS:
        v, f = rows["virtiofsd"][label], rows["lbx-fsd"][label]
        print(f"{label:40s} {v:9.3f}s {f:8.3f}s {v / f:13.2f}x")
    print(f"\n# median of {RUNS} runs (the compile: 1) in one guest per server (same kernel, 2 vCPUs, TCG);"
          " virtiofsd/fsd > 1: lbx-fsd is ahead (goal: on every row). Times are the guest's"
          " clock under TCG: compare the columns, not with the /dev/fuse rows.")


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
              " <= 1.3 on the compile); bindfs/fsd: how much faster lbx-fsd is than bindfs",
              flush=True)
        for p, mnt in procs:
            sh(f"umount {mnt}", check=False)
            p.terminate()
            p.wait()
        procs = []
        rows, why = guest_rows(os.path.abspath(sys.argv[1]), data)
        print_guest(rows, why)
    finally:
        for p, mnt in procs:
            sh(f"umount {mnt}", check=False)
            p.terminate()
            p.wait()
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
