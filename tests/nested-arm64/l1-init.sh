#!/bin/busybox sh
# /init of the arm64 nested layer's L1 (tests/nested-arm64/l1.py): Debian's
# arm64 kernel under qemu-system-aarch64 -M virt,virtualization=on. KVM is
# built into that kernel, so no module is loaded. Everything L2 needs (the
# arm64 lbx-vmm, our arm64 kernel, the box initramfs) is in this initramfs;
# /job/run.sh is the test's script. Its output is L1's serial console.
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
mount -t tmpfs tmp /tmp
echo "@l1 init uptime=$(cut -d' ' -f1 /proc/uptime)"
if [ -c /dev/kvm ]; then echo "@l1 kvm yes"; else echo "@l1 kvm no"; fi
sh /job/run.sh
echo "@l1 done rc=$?"
poweroff -f
