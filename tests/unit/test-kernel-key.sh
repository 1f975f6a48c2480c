#!/bin/sh
# The kernel recipe beside lbx (build tree; the same files are installed in
# share/lbx) names the same cache key as kernel-config/ does: lbx finds the
# kernel `make kernel` built only if the script, fragment and patch series
# it sees are the ones that built it. TAP.
#   test-kernel-key.sh SRCDIR BUILDDIR
set -u
src=$1 build=$2
echo "1..2"
a=$("$src/kernel-config/build-kernel.sh" --print-key 2>&1)
b=$("$build/lbx/build-kernel.sh" --print-key 2>&1)
if [ -n "$a" ] && [ "$a" = "$b" ]; then
	echo "ok 1 - x86_64 kernel key beside lbx is kernel-config's ($a)"
else
	echo "not ok 1 - x86_64 kernel key beside lbx ($b) differs from kernel-config's ($a)"
fi
a=$("$src/kernel-config/build-kernel-arm64.sh" --print-key 2>&1)
b=$("$build/lbx/build-kernel-arm64.sh" --print-key 2>&1)
if [ -n "$a" ] && [ "$a" = "$b" ]; then
	echo "ok 2 - arm64 kernel key beside lbx is kernel-config's ($a)"
else
	echo "not ok 2 - arm64 kernel key beside lbx ($b) differs from kernel-config's ($a)"
fi
