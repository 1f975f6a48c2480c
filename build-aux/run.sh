#!/bin/sh
# `make run`: boot a box and open a shell in it.
#
# Until lbx's CLI (lbx up / lbx enter) and project sharing over virtio-fs
# exist, this boots the guest kernel and initramfs under QEMU (engine qemu,
# TCG) with busybox on the console, so the guest can be tried by hand.
set -eu
build=${1:-build}
root=$(cd "$(dirname "$0")/.." && pwd)
if [ -r /dev/kvm ] && grep -Eqw 'vmx|svm' /proc/cpuinfo; then
	why="lbx-vmm is not built yet"
else
	why="this CPU has no vmx/svm, so KVM cannot run a Linux guest"
fi
echo "lbx: engine auto: using qemu (TCG): $why." >&2
echo "lbx: the project directory is not shared yet (lbx-fsd is a later issue);" \
	"the box has a busybox shell. Leave it with 'exit'." >&2
LBX_BUILD_DIR=$root/$build exec python3 "$root/tests/e2e/lbxtest.py" --shell \
	--hostname "$(basename "$PWD" | tr -c 'A-Za-z0-9.\n-' '-' | cut -c1-60)"
