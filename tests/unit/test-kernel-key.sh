#!/bin/sh
# The kernel recipes beside lbx (build tree; the same files are installed in
# share/lbx) name the same cache keys as kernel-config/ does: lbx finds the
# kernel `make kernel` built only if the script, fragment and patch series
# it sees are the ones that built it. TAP.
#   test-kernel-key.sh SRCDIR BUILDDIR
set -u
src=$1 build=$2
echo "1..2"
n=0
for arch in x86_64 arm64; do
	n=$((n + 1))
	script=build-kernel.sh
	[ "$arch" = arm64 ] && script=build-kernel-arm64.sh
	a=$("$src/kernel-config/$script" --print-key 2>&1)
	b=$("$build/lbx/$script" --print-key 2>&1)
	if [ -n "$a" ] && [ "$a" = "$b" ]; then
		echo "ok $n - $arch kernel key beside lbx is kernel-config's ($a)"
	else
		echo "not ok $n - $arch kernel key beside lbx ($b) differs from kernel-config's ($a);" \
			"a patch added since the build was configured needs 'meson setup --reconfigure'"
	fi
done
