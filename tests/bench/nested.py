#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""lbx-vmm against QEMU microvm -accel kvm on a real KVM: in one run of the
nested layer's L1 (tests/nested/l1.py: Debian's kernel with kvm_amd under
QEMU TCG with SVM), the same busybox box goes up on engine vm and on engine
qemu by turns, LBX_BENCH_RUNS times each (default 5). Engine qemu passes
-accel tcg, so for this run a wrapper first in PATH turns that into
-accel kvm -cpu host. Measured, both by L1's clock:
  - `lbx up` from exec to the agent's ready (and the guest's own uptime at
    ready, from its console),
  - `lbx exec NAME -- true`, round trip (4 per boot),
  - the monitor's peak RSS (VmHWM of lbx-vmm or qemu-system-x86_64).
Prints medians and ratios; never fails on time.

  python3 tests/bench/nested.py [BUILD]"""
import json
import os
import re
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tests"))
sys.path.insert(0, os.path.join(ROOT, "tests", "nested"))
RUNS = int(os.environ.get("LBX_BENCH_RUNS", "5"))
EXECS = 4

def ms(t0):
    return (time.monotonic() - t0) * 1000


def monitor_pid(tmp):
    """The box's monitor process: lbx-vmm or QEMU, with this run's paths."""
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                args = f.read().split(b"\0")
        except OSError:
            continue
        name = os.path.basename(args[0]).decode(errors="replace")
        if name in ("lbx-vmm", "qemu-system-x86_64") and tmp.encode() in b" ".join(args):
            return int(pid), b"kvm" in args
    return None, False


def vm_hwm_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return 0


def ready_uptime(console):
    m = re.search(r"@lbx ready uptime_ms=(\d+)", console)
    return float(m.group(1)) if m else None


def inner(build):
    """In L1: the measurements, as one JSON line."""
    from testlib import lbx_env
    tmp = tempfile.mkdtemp(prefix="lbx-bench-nested-")
    env = lbx_env(tmp)
    import l1
    env["LBX_KERNEL_DIR"] = l1.kernel_dir()
    import l1
    env["PATH"] = l1.qemu_kvm_path(os.path.join(tmp, "bin")) + ":" + env["PATH"]
    proj = os.path.join(tmp, "proj")
    os.makedirs(proj)
    with open(os.path.join(proj, "lbx.json"), "w") as f:
        f.write('{"image": "busybox"}')
    lbx = os.path.join(build, "lbx", "lbx")
    console = os.path.join(env["XDG_DATA_HOME"], "lbx", "boxes", "proj", "console.log")
    res = {e: {"up": [], "exec": [], "rss": [], "guest": []} for e in ("vm", "qemu")}
    kvm_seen = True

    def run(*args, timeout=150):
        try:
            return subprocess.run([lbx] + list(args), cwd=proj, env=env, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, timeout=timeout)
        except subprocess.TimeoutExpired:
            return subprocess.CompletedProcess(args, -1, b"", b"timed out after %d s" % timeout)

    try:
        for i in range(RUNS):
            for engine in ("vm", "qemu"):
                t0 = time.monotonic()
                r = run("up", "--engine", engine)
                up = ms(t0)
                if r.returncode != 0:
                    print(f"# run {i + 1} {engine}: lbx up failed: {r.stderr.decode()[-300:]}",
                          flush=True)
                    tail = run("logs", "proj").stdout.decode(errors="replace")[-1500:]
                    for ln in tail.splitlines():
                        print("#   " + ln, flush=True)
                    run("down", "proj")
                    res[engine]["failed"] = res[engine].get("failed", 0) + 1
                    continue
                pid, on_kvm = monitor_pid(tmp)
                if engine == "qemu":
                    kvm_seen = kvm_seen and on_kvm
                execs = []
                for _ in range(EXECS):
                    t0 = time.monotonic()
                    run("exec", "proj", "--", "true")
                    execs.append(ms(t0))
                rss = vm_hwm_kib(pid) if pid else 0
                try:
                    g = ready_uptime(open(console, errors="replace").read())
                except OSError:
                    g = None
                run("down", "proj")
                d = res[engine]
                d["up"].append(up)
                d["exec"] += execs
                d["rss"].append(rss)
                if g is not None:
                    d["guest"].append(g)
                print(f"# run {i + 1} {engine}: up {up:.0f} ms, exec {statistics.median(execs):.1f}"
                      f" ms, peak RSS {rss / 1024:.1f} MiB", flush=True)
    finally:
        run("down", "proj")
        shutil.rmtree(tmp, True)
    print("nested-bench: " + json.dumps({"results": res, "qemu_on_kvm": kvm_seen}), flush=True)


def med(v):
    return statistics.median(v) if v else float("nan")


def table(data):
    r = data["results"]
    rows = [("boot to agent ready (lbx up, L1 clock)", "up", "ms", 1),
            ("guest uptime at agent ready", "guest", "ms", 1),
            ("lbx exec -- true round trip", "exec", "ms", 1),
            ("monitor peak RSS", "rss", "MiB", 1024)]
    print(f"{'':40} {'lbx-vmm':>12} {'QEMU kvm':>12} {'QEMU/vmm':>9}")
    for label, key, unit, div in rows:
        a, b = med(r["vm"][key]) / div, med(r["qemu"][key]) / div
        ratio = b / a if a else float("nan")
        print(f"{label:40} {a:8.1f} {unit:<3} {b:8.1f} {unit:<3} {ratio:8.2f}x")
    fails = [f"{e} {r[e]['failed']}" for e in ("vm", "qemu") if r[e].get("failed")]
    if fails:
        print("boots that did not reach ready (left out): " + ", ".join(fails))
    print(f"medians of {len(r['vm']['up'])} and {len(r['qemu']['up'])} boots, "
          f"{len(r['vm']['exec'])} and {len(r['qemu']['exec'])} execs"
          + ("" if data["qemu_on_kvm"] else "; QEMU did NOT run on -accel kvm"))


def outer(build):
    import l1
    env = {"LBX_BUILD_DIR": build, "LBX_KERNEL_DIR": l1.kernel_dir(),
           "PYTHONDONTWRITEBYTECODE": "1", "LBX_BENCH_RUNS": str(RUNS)}
    script = "export " + " ".join(f"{k}={shlex.quote(v)}" for k, v in env.items()) + "\n"
    script += f"python3 {shlex.quote(os.path.abspath(__file__))} --inner {shlex.quote(build)}\n"
    found = {}

    def line(text):
        if text.startswith("nested-bench: "):
            found["data"] = json.loads(text[len("nested-bench: "):])
        elif text.startswith("#") or text.startswith("nested:"):
            print(text, flush=True)

    r = l1.run(script, timeout=1500, on_line=line)
    why = l1.skip_reason(r)
    if why:
        print(f"nested bench skipped: {why}")
        return 0
    if "data" not in found:
        print("nested bench: no results from L1; its console ends:")
        print("\n".join(r.lines()[-30:]))
        return 1
    print(f"L1 run: {r.wall_s:.0f} s wall")
    table(found["data"])
    return 0


if __name__ == "__main__":
    if len(sys.argv) > 2 and sys.argv[1] == "--inner":
        inner(os.path.abspath(sys.argv[2]))
        sys.exit(0)
    b = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "build"))
    os.environ["LBX_BUILD_DIR"] = b
    sys.exit(outer(b))
