#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Boot to agent ready of an arm64 box, lbx-vmm against QEMU, nested (issue
20): in one L1 (Debian's arm64 kernel with KVM under qemu-system-aarch64 -M
virt,virtualization=on, TCG; tests/nested-arm64/l1.py) the arm64 lbx-vmm
and Debian's arm64 qemu-system-aarch64 -M virt -accel kvm (its package and
the libraries of its dependencies unpacked into L1's initramfs,
l1.qemu_arm64_cpio) each boot our arm64 kernel and initramfs
LBX_BENCH_RUNS times (default 5), alternating. Prints the medians of each:
start to "@lbx ready" as L1 saw it, the guest's uptime at ready, start to
the end of the box; and L1's own boot. A benchmark: it prints figures and
ratios and never fails on time."""
import os
import re
import statistics
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "nested-arm64"))
import l1  # noqa: E402

RUNS = int(os.environ.get("LBX_BENCH_RUNS", "5"))
CMDLINE = "panic=-1 quiet lbx.hostname=bench lbx.argv=/bin/true"
# QEMU as lbx's engine qemu runs it on an arm64 host with KVM (lbx/engine_qemu.c).
# Guest RAM in a shared memfd, as there and as lbx-vmm has it (vhost-user backends map it).
QEMU = ("/usr/bin/qemu-system-aarch64 -M virt,gic-version=3,acpi=off,memory-backend=mem "
        "-accel kvm -cpu host -m 256 -object memory-backend-memfd,id=mem,size=256M,share=on "
        "-smp 1 -nodefaults -no-user-config -display none -no-reboot -monitor none "
        "-serial stdio -kernel /l2/Image -initrd /l2/initrd.cpio")

SCRIPT = r"""
stamp() { while IFS= read -r line; do echo "@$1 $(cut -d' ' -f1 /proc/uptime) $line"; done; }
i=0
while [ $i -lt %(runs)d ]; do
	echo "@box v$i start $(cut -d' ' -f1 /proc/uptime)"
	/l2/lbx-vmm --kernel /l2/Image --initrd /l2/initrd.cpio --mem 256 \
		--cmdline "console=ttyS0 %(cmd)s" 2>&1 </dev/null | stamp v$i
	echo "@box v$i end $(cut -d' ' -f1 /proc/uptime)"
	echo "@box q$i start $(cut -d' ' -f1 /proc/uptime)"
	%(qemu)s -append "console=ttyAMA0 %(cmd)s" 2>&1 </dev/null | stamp q$i
	echo "@box q$i end $(cut -d' ' -f1 /proc/uptime)"
	i=$((i + 1))
done
"""


def runs_of(c, tag):
    """[(to ready, guest uptime, to end)] of the boxes tagged tag0, tag1, ..."""
    out = []
    for i in range(RUNS):
        s = re.search(rf"^@box {tag}{i} start ([0-9.]+)", c, re.M)
        e = re.search(rf"^@box {tag}{i} end ([0-9.]+)", c, re.M)
        rd = re.search(rf"^@{tag}{i} ([0-9.]+) @lbx ready uptime_ms=(\d+)", c, re.M)
        if not (s and e and rd):
            return None, i
        out.append((float(rd.group(1)) - float(s.group(1)), int(rd.group(2)) / 1000,
                    float(e.group(1)) - float(s.group(1))))
    return out, RUNS


def main():
    try:
        bins = l1.arm64_binaries()
        image = l1.arm64_kernel()
        l1.qemu()
        l1.debian_kernel()
        qemu_cpio = l1.qemu_arm64_cpio()
    except l1.Skip as e:
        print(f"nested-arm64 bench: not run: {e}")
        return 0
    initrd = l1.box_initramfs(bins["lbx-agent"])
    r = l1.run(SCRIPT % {"runs": RUNS, "cmd": CMDLINE, "qemu": QEMU},
               files=[(bins["lbx-vmm"], "/l2/lbx-vmm", "0755"), (image, "/l2/Image", "0644"),
                      (initrd, "/l2/initrd.cpio", "0644")], timeout=300 + 300 * RUNS,
               extra_cpio=qemu_cpio)
    c = r.console
    vmm, iv = runs_of(c, "v")
    qemu, iq = runs_of(c, "q")
    if vmm is None or qemu is None:
        print(f"nested-arm64 bench: run {iv if vmm is None else iq} of "
              f"{'lbx-vmm' if vmm is None else 'QEMU'} did not reach ready:\n" + c[-3000:])
        return 1
    init = re.search(r"^@l1 init uptime=([0-9.]+)", c, re.M)
    print(f"arm64 nested, {RUNS} boots each of our kernel + initramfs in one L1 "
          "(lbx-vmm, then qemu-system-aarch64 -M virt -accel kvm, alternating):")
    if init:
        print(f"  L1 boot to its init: {float(init.group(1)):.2f} s (L1 uptime)")
    med = {}
    for name, runs in (("lbx-vmm", vmm), ("qemu -accel kvm", qemu)):
        ready, guest, total = (statistics.median(x[k] for x in runs) for k in range(3))
        med[name] = (ready, guest, total)
        print(f"  {name:16s} start to agent ready {ready:6.2f} s median "
              f"(min {min(x[0] for x in runs):.2f}, max {max(x[0] for x in runs):.2f}; "
              f"as L1 saw it), guest uptime at ready {guest:5.2f} s, to box end {total:6.2f} s")
    v, q = med["lbx-vmm"], med["qemu -accel kvm"]
    print(f"  ratio QEMU / lbx-vmm: start to ready {q[0] / v[0]:.2f}, guest uptime "
          f"{q[1] / v[1]:.2f}, to box end {q[2] / v[2]:.2f}")
    print(f"  wall, L1 and all boxes: {r.wall_s:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
