#!/bin/sh
# The arm64 kernel script (issue 20) keeps every option it asks for (lbx.config
# without the x86-only ones, plus lbx-arm64.config), and has a cache key of
# its own that leaves the x86 key alone.
set -u
script=$1
x86=$2
n=0
check() { n=$((n + 1)); if eval "$2"; then echo "ok $n - $1"; else echo "not ok $n - $1"; fi; }
pkg=${LBX_KERNEL_SOURCE_PKG:-linux-source-6.12}
if ! dpkg-query -W "$pkg" >/dev/null 2>&1; then
	echo "1..0 # SKIP $pkg is not installed (make setup installs it)"
	exit 0
fi
if ! command -v aarch64-linux-gnu-gcc >/dev/null; then
	echo "1..0 # SKIP aarch64-linux-gnu-gcc is not installed (make setup: gcc-aarch64-linux-gnu)"
	exit 0
fi
t=$(mktemp -d)
trap 'rm -rf "$t"' EXIT
"$script" --check-only >"$t/out" 2>"$t/err"
rc=$?
check "the arm64 fragments are kept whole" '[ $rc -eq 0 ]' || sed 's/^/# /' "$t/err"
ka=$("$script" --print-key)
kx=$("$x86" --print-key)
check "the arm64 key is its own" '[ -n "$ka" ] && [ "${ka#arm64-}" != "$ka" ] && [ "$ka" != "$kx" ]'
echo "1..$n"
