#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Start-up cost of lbx-vmm beside QEMU's microvm, measured in the same run.

    tests/bench/vmm-start.py BUILDDIR [RUNS]

Both boot the same probe guest (tests/kvm, PVH entry for QEMU, which
loads it through its firmware) that prints one line and ends the machine
(i8042 reset for lbx-vmm, isa-debug-exit for QEMU). Reported, as medians:

  lbx-vmm  exec -> first KVM_RUN (LBX_VMM_REPORT_START), RSS at that moment
           without guest RAM (VmRSS - RssShmem), whole run wall time, peak RSS
  qemu     whole run wall time and peak RSS (-M microvm, -accel kvm; tcg if
           kvm fails), which includes firmware reaching the guest

and the ratios qemu / lbx-vmm. A benchmark, not a test: it never fails on
time, and absolute numbers depend on the machine (here KVM is a nested
software hypervisor, so guest instructions are slow for both).
"""
import os
import re
import shutil
import statistics
import subprocess
import sys
import time

build = sys.argv[1] if len(sys.argv) > 1 else "build"
runs = int(sys.argv[2]) if len(sys.argv) > 2 else 15
vmm = os.path.join(build, "vmm", "lbx-vmm")
probe = os.path.join(build, "tests", "kvm", "lbx-probe")


def spawn(argv, env=None):
    t0 = time.monotonic_ns()
    p = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    err = p.stderr.read().decode(errors="replace")
    _, status, ru = os.wait4(p.pid, 0)
    t1 = time.monotonic_ns()
    p.returncode = os.waitstatus_to_exitcode(status)
    return t0, t1, ru.ru_maxrss, err, p.returncode


def lbx_run():
    env = dict(os.environ, LBX_VMM_REPORT_START="1")
    t0, t1, maxrss, err, rc = spawn([vmm, "--kernel", probe, "--cmdline", "lbx.probe=reset",
                                     "--mem", "256", "--console", "/dev/null", "--rng"], env)
    m = re.search(r"first-kvm-run monotonic_ns=(\d+)", err)
    fields = dict((k, int(v)) for k, v in re.findall(r"first-kvm-run (\w+):\s+(\d+) kB", err))
    if rc != 0 or not m:
        raise SystemExit("lbx-vmm failed (exit %d): %s" % (rc, err))
    first = (int(m.group(1)) - t0) / 1e6
    rss = fields.get("VmRSS", 0) - fields.get("RssShmem", 0)
    return first, (t1 - t0) / 1e6, rss, maxrss


def qemu_run(accel):
    t0, t1, maxrss, err, rc = spawn([
        "qemu-system-x86_64", "-M", "microvm,acpi=off,isa-serial=on,rtc=off", "-accel", accel,
        "-m", "256", "-nodefaults", "-no-user-config", "-display", "none", "-serial", "null",
        "-kernel", probe, "-append", "lbx.probe=reset",
        "-device", "isa-debug-exit,iobase=0xf4,iosize=4"])
    return rc == 1, (t1 - t0) / 1e6, maxrss  # isa-debug-exit: (0 << 1) | 1


def main():
    for f in (vmm, probe):
        if not os.path.exists(f):
            raise SystemExit("%s missing: build with meson first" % f)
    try:
        os.close(os.open("/dev/kvm", os.O_RDWR))
    except OSError as e:
        raise SystemExit("/dev/kvm: %s" % e.strerror)
    lbx = [lbx_run() for _ in range(runs)]
    first = statistics.median(r[0] for r in lbx)
    wall = statistics.median(r[1] for r in lbx)
    rss = statistics.median(r[2] for r in lbx)
    maxrss = statistics.median(r[3] for r in lbx)
    print("lbx-vmm (%d runs, medians)" % runs)
    print("  exec -> first KVM_RUN      %8.2f ms" % first)
    print("  RSS at first KVM_RUN       %8.0f KiB (without guest RAM)" % rss)
    print("  exec -> exit (whole run)   %8.2f ms" % wall)
    print("  peak RSS (whole run)       %8.0f KiB" % maxrss)
    if not shutil.which("qemu-system-x86_64"):
        print("qemu-system-x86_64 not installed: no peer to compare with")
        return
    for accel in ("kvm", "tcg"):
        q = [qemu_run(accel) for _ in range(runs)]
        if all(r[0] for r in q):
            break
    else:
        print("qemu: the probe did not run to isa-debug-exit under kvm or tcg")
        return
    qwall = statistics.median(r[1] for r in q)
    qrss = statistics.median(r[2] for r in q)
    print("qemu-system-x86_64 -M microvm -accel %s (%d runs, medians)" % (accel, runs))
    print("  exec -> exit (whole run)   %8.2f ms" % qwall)
    print("  peak RSS (whole run)       %8.0f KiB" % qrss)
    print("ratios (qemu / lbx-vmm)")
    print("  whole run time             %8.1fx" % (qwall / wall))
    print("  whole run vs lbx first KVM_RUN %4.1fx" % (qwall / first))
    print("  peak RSS                   %8.1fx" % (qrss / maxrss))


main()
