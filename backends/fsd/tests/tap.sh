# SPDX-License-Identifier: MIT
# TAP for the fsd shell tests (sourced): ok, nok, same FILE FILE, check CMD...,
# and the skip every /dev/fuse test needs. The caller prints the plan.
n=0 failed=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
nok() { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $1"; }
same() { desc=$1; if cmp -s "$2" "$3"; then ok "$desc"; else nok "$desc"; diff "$2" "$3" | head -5 | sed 's/^/# /'; fi; }
check() { desc=$1; shift; if "$@" >/dev/null 2>&1; then ok "$desc"; else nok "$desc"; fi; }

# Skip the whole test unless root, /dev/fuse and each named tool are there.
need_fuse_and() {
	if [ "$(id -u)" != 0 ] || [ ! -w /dev/fuse ]; then
		echo "1..0 # SKIP needs root and /dev/fuse"
		exit 0
	fi
	for t in "$@"; do
		command -v "$t" >/dev/null || { echo "1..0 # SKIP $t is not installed"; exit 0; }
	done
}
