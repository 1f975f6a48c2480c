#!/bin/sh
# The kernel script keeps every option of the real fragment, and stops
# naming the options when a fragment asks for ones the kernel drops.
set -u
script=$1
n=0
check() { n=$((n + 1)); if eval "$2"; then echo "ok $n - $1"; else echo "not ok $n - $1"; fi; }
pkg=${LBX_KERNEL_SOURCE_PKG:-linux-source-6.12}
if ! dpkg-query -W "$pkg" >/dev/null 2>&1; then
	echo "1..0 # SKIP $pkg is not installed (make setup installs it)"
	exit 0
fi
t=$(mktemp -d)
trap 'rm -rf "$t"' EXIT
here=$(dirname "$script")

"$script" --check-only >"$t/out" 2>"$t/err"
rc=$?
check "the real fragment is kept whole" '[ $rc -eq 0 ]' || sed 's/^/# /' "$t/err"

cp "$here/lbx.config" "$t/frag"
cat >>"$t/frag" <<'X'
CONFIG_LBX_NO_SUCH_OPTION=y
CONFIG_XEN_PVH=y
X
"$script" --check-only --fragment "$t/frag" >"$t/out" 2>"$t/err"
rc=$?
check "a dropped option fails the build" '[ $rc -ne 0 ]'
check "the unknown option is named" 'grep -q "CONFIG_LBX_NO_SUCH_OPTION (asked y, got n)" "$t/err"'
check "the option with unmet dependencies is named" 'grep -q "CONFIG_XEN_PVH (asked y, got n)" "$t/err"'
check "kept options are not named" '! grep -q "CONFIG_VIRTIO_FS" "$t/err"'
k1=$("$script" --print-key)
k2=$("$script" --print-key --fragment "$t/frag")
check "cache key depends on the fragment" '[ -n "$k1" ] && [ "$k1" != "$k2" ]'
echo "1..$n"
