#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The arm64 nested layer (issue 20): in one L1 (Debian's arm64 kernel with
KVM under qemu-system-aarch64 -M virt,virtualization=on, TCG), the arm64
lbx-vmm boots our arm64 guest kernel and box initramfs as L2:

  box 1: one vCPU; the agent reaches ready, runs a command whose output and
         exit status come back on the console, and ends the box with a PSCI reset
         (lbx-vmm exits 0 saying so);
  box 2: two vCPUs (PSCI CPU_ON) and a virtio-rng device (virtio-mmio on an
         SPI, through the device tree): the guest sees both CPUs and reads
         random bytes through the device's virtqueue;
  box 3: a virtio-fs tree served by the arm64 lbx-fsd in L1 over
         vhost-user: the guest reads a file L1 wrote and writes one L1
         reads back;
  box 4: vsock as lbx uses it, through the arm64 lbx-vsockd in L1 over
         vhost-user: the agent's ready notice reaches the host port,
         an exec session (lbx exec's client, lbx-exec-probe) returns the
         command's output and exit status, and the host's POWEROFF ends
         the box.

Skips, with the reason, without qemu-system-aarch64. Without the arm64
build (make build-arm64), our arm64 kernel (make kernel-arm64) or Debian's
arm64 kernel package it skips too, unless LBX_REQUIRE_ARM64 is set (make
check builds them first and sets it): then that is a failure. Prints the L1 and L2 times (not asserted)."""
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import l1  # noqa: E402

n = 0
failed = 0


def ok(cond, desc, detail=""):
    global n, failed
    n += 1
    print(f"{'ok' if cond else 'not ok'} {n} - {desc}")
    if not cond:
        failed += 1
        for line in str(detail).splitlines()[-40:]:
            print("#   " + line)
    sys.stdout.flush()
    return cond


CMDLINE = "console=ttyS0 panic=-1 quiet lbx.hostname=arm64-box"

# Each box's console is stamped with L1's uptime line by line, then printed
# with its name, so the test sees when the agent became ready as L1 saw it.
SCRIPT = r"""
box() {
	name=$1; shift
	echo "@box $name start $(cut -d' ' -f1 /proc/uptime)"
	/l2/lbx-vmm --kernel /l2/Image --initrd /l2/initrd.cpio "$@" 2>&1 |
		while IFS= read -r line; do echo "@$name $(cut -d' ' -f1 /proc/uptime) $line"; done
	echo "@box $name end $(cut -d' ' -f1 /proc/uptime)"
}
box b1 --mem 256 --cmdline "%(cmd)s lbx.argv=/bin/sh lbx.argv=-c lbx.argv=echo%%20hello-from-arm64%%3B%%20exit%%207"
box b2 --mem 256 --cpus 2 --rng --cmdline "%(cmd)s lbx.argv=/bin/sh lbx.argv=-c lbx.argv=echo%%20cpus%%3D%%24%%28nproc%%29%%3B%%20cat%%20/sys/class/misc/hw_random/rng_current%%3B%%20head%%20-c%%2032%%20/dev/hwrng%%20%%7C%%20wc%%20-c"
mkdir -p /tmp/share
echo from-l1 >/tmp/share/in.txt
/l2/lbx-fsd --shared-dir /tmp/share --socket /tmp/fs.sock --tag proj 2>/tmp/fsd.err &
fsd=$!
i=0
while [ ! -S /tmp/fs.sock ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
box b3 --mem 256 --vhost-user fs,/tmp/fs.sock,tag=proj --cmdline "%(cmd)s lbx.mount=proj:/mnt/proj lbx.argv=/bin/sh lbx.argv=-c lbx.argv=cat%%20/mnt/proj/in.txt%%3B%%20echo%%20from-l2%%20%%3E/mnt/proj/out.txt"
kill $fsd 2>/dev/null
wait
echo "@fs out=$(cat /tmp/share/out.txt 2>&1)"
sed 's/^/@fsd /' /tmp/fsd.err
/l2/lbx-vsockd --socket /tmp/vs.sock --uds-path /tmp/vsock.sock 2>/tmp/vsockd.err &
vsd=$!
i=0
while [ ! -S /tmp/vs.sock ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
/l2/lbx-exec-probe /tmp/vsock.sock --ready --poweroff -- /bin/sh -c 'echo exec-over-vsock; uname -m; exit 5' >/tmp/x4.out 2>&1 &
probe=$!
box b4 --mem 256 --vhost-user vsock,/tmp/vs.sock --cmdline "%(cmd)s lbx.serve=vsock:1024 lbx.notify=vsock:1025"
wait $probe
echo "@x4 rc=$?"
sed 's/^/@x4 /' /tmp/x4.out
kill $vsd 2>/dev/null
wait
sed 's/^/@vsockd /' /tmp/vsockd.err
"""


def box_lines(console, name):
    """[(L1 uptime, text)] of box name's console."""
    out = []
    for m in re.finditer(rf"^@{name} ([0-9.]+) (.*)$", console, re.M):
        out.append((float(m.group(1)), m.group(2)))
    return out


def box_times(console, name):
    s = re.search(rf"^@box {name} start ([0-9.]+)", console, re.M)
    e = re.search(rf"^@box {name} end ([0-9.]+)", console, re.M)
    return (float(s.group(1)) if s else None, float(e.group(1)) if e else None)


def main():
    try:
        l1.qemu()
        bins = l1.arm64_binaries()
        image = l1.arm64_kernel()
        l1.busybox_arm64()
        l1.debian_kernel()
        l1.mkinitramfs()
    except l1.Missing as e:
        if os.environ.get("LBX_REQUIRE_ARM64"):
            # make check built these first: their absence is a failure there.
            ok(False, f"what make check builds for this layer is there: {e}")
            print(f"1..{n}")
            return 1
        print(f"1..0 # SKIP {e}")
        return 0
    except l1.Skip as e:
        print(f"1..0 # SKIP {e}")
        return 0
    initrd = l1.box_initramfs(bins["lbx-agent"])
    files = [(bins[p], "/l2/" + p, "0755")
             for p in ("lbx-vmm", "lbx-fsd", "lbx-vsockd", "lbx-exec-probe")]
    files += [(image, "/l2/Image", "0644"), (initrd, "/l2/initrd.cpio", "0644")]
    r = l1.run(SCRIPT % {"cmd": CMDLINE}, files=files, timeout=900)
    c = r.console
    ok(not r.timed_out, "L1 ran to the end within 15 minutes", c)
    ok("@l1 kvm yes" in c, "L1 has /dev/kvm (KVM in VHE mode under TCG)", c)

    b1 = box_lines(c, "b1")
    text1 = "\n".join(t for _, t in b1)
    ready1 = [t for t, line in b1 if line.startswith("@lbx ready")]
    ok(ready1, "box 1: the agent reported ready on the UART", text1 or c)
    ok("hello-from-arm64" in text1, "box 1: the command's output came back", text1)
    ok(re.search(r"^@lbx exit code=7$", text1, re.M), "box 1: exit status 7 reported", text1)
    # The agent ends a box with a reset (guest-agent/power.c): PSCI SYSTEM_RESET here.
    ok("guest reset (PSCI SYSTEM_RESET)" in text1,
       "box 1: the agent's reset reached lbx-vmm through PSCI and ended the box", text1)

    b2 = box_lines(c, "b2")
    text2 = "\n".join(t for _, t in b2)
    ok(re.search(r"^@lbx ready", text2, re.M), "box 2: the agent reported ready", text2 or c)
    ok(re.search(r"^cpus=2$", text2, re.M), "box 2: the guest brought up both vCPUs (PSCI CPU_ON)",
       text2)
    ok(re.search(r"^virtio_rng", text2, re.M),
       "box 2: virtio-rng found from the device tree is the current hw_random", text2)
    ok(re.search(r"^32$", text2, re.M), "box 2: 32 random bytes read through the virtqueue", text2)
    ok(re.search(r"^@lbx exit code=0$", text2, re.M) and "PSCI SYSTEM_RESET" in text2,
       "box 2: exit status 0 and the PSCI reset", text2)

    b3 = box_lines(c, "b3")
    text3 = "\n".join(t for _, t in b3)
    ok(re.search(r"^from-l1$", text3, re.M),
       "box 3: the guest read L1's file through virtio-fs (lbx-fsd, vhost-user)", text3 or c)
    ok(re.search(r"^@fs out=from-l2$", c, re.M), "box 3: L1 reads the file the guest wrote",
       "\n".join(line for line in c.splitlines() if line.startswith(("@fs", "@b3"))))
    ok(re.search(r"^@lbx exit code=0$", text3, re.M), "box 3: exit status 0", text3)

    b4 = box_lines(c, "b4")
    text4 = "\n".join(t for _, t in b4)
    x4 = "\n".join(line[4:] for line in c.splitlines() if line.startswith("@x4 "))
    ok(re.search(r"^@ready READY", x4, re.M),
       "box 4: the agent's ready notice came over vsock to lbx-vsockd's host port 1025",
       x4 + "\n" + text4)
    ok(re.search(r"^exec-over-vsock$", x4, re.M) and re.search(r"^aarch64$", x4, re.M),
       "box 4: an exec session over vsock ran the command in the arm64 guest", x4)
    ok(re.search(r"^@exec code=5 ", x4, re.M) and re.search(r"^rc=5$", x4, re.M),
       "box 4: and returned its exit status 5", x4)
    s4, e4 = box_times(c, "b4")
    ok(e4 is not None and re.search(r"PSCI SYSTEM_(OFF|RESET)", text4),
       "box 4: the host's POWEROFF ended the box through PSCI", text4 or c)

    l1_init = re.search(r"^@l1 init uptime=([0-9.]+)", c, re.M)
    s1, e1 = box_times(c, "b1")
    m = re.search(r"^@lbx ready uptime_ms=(\d+)", text1, re.M)
    if l1_init and s1 and ready1:
        print(f"# L1 boot to init: {float(l1_init.group(1)):.1f} s (L1 uptime)")
        print(f"# L2 (box 1) start to agent ready: {ready1[0] - s1:.1f} s as L1 saw it"
              + (f", guest uptime {int(m.group(1)) / 1000:.1f} s" if m else "")
              + (f"; to power-off {e1 - s1:.1f} s" if e1 else ""))
    print(f"# wall for L1 and the four boxes: {r.wall_s:.1f} s")
    print(f"1..{n}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
