# SPDX-License-Identifier: MIT
# TAP for the fsd shell tests (sourced): ok, nok, same FILE FILE, check CMD...,
# bail (a failure that ends the test), and the skip every /dev/fuse test
# needs. The caller prints the plan.
n=0 failed=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
nok() { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $1"; }
same() { desc=$1; if cmp -s "$2" "$3"; then ok "$desc"; else nok "$desc"; diff "$2" "$3" | head -5 | sed 's/^/# /'; fi; }
bail() { nok "$1"; echo "1..$n"; exit 1; }
check() { desc=$1; shift; if "$@" >/dev/null 2>&1; then ok "$desc"; else nok "$desc"; fi; }

# Skip the whole test, with the reason, unless this machine can mount FUSE
# (root, /dev/fuse, the kernel's fuse file system) and has each named tool.
# Past this point a mount that fails is lbx-fsd's failure, never a skip.
need_fuse_and() {
	if [ "$(id -u)" != 0 ]; then
		echo "1..0 # SKIP needs root (to mount FUSE)"
		exit 0
	fi
	if ! { : <>/dev/fuse; } 2>/dev/null; then
		echo "1..0 # SKIP /dev/fuse does not open read-write (no fuse module or device?)"
		exit 0
	fi
	if ! grep -qx 'nodev[[:space:]]*fuse' /proc/filesystems; then
		echo "1..0 # SKIP the kernel lists no fuse file system in /proc/filesystems"
		exit 0
	fi
	for t in "$@"; do
		command -v "$t" >/dev/null || { echo "1..0 # SKIP $t is not installed"; exit 0; }
	done
}
