#!/bin/sh
# Every test layer, then one summary line: "N passed, N failed[, N skipped]".
#
#   check.sh BUILDDIR            unit, kernel, e2e in BUILDDIR; unit tests again
#                                under ASan+UBSan; a short run of each fuzzer
#   check.sh --only-fuzz BUILDDIR
#
# LBX_FUZZ_SECONDS sets the time per fuzz target (default 30).
set -u
only_fuzz=0
if [ "${1:-}" = --only-fuzz ]; then only_fuzz=1; shift; fi
build=${1:-build}
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
san=build-san
fuzz=build-fuzz
logs=
missing=

layer() { echo "== $*" >&2; }

run_meson_tests() {
	dir=$1; shift
	# meson test's own exit status is summarised below, not here.
	meson test -C "$dir" --print-errorlogs "$@" >&2 || true
	logs="$logs $dir"
}

if [ "$only_fuzz" = 0 ]; then
	layer "unit, kernel, e2e and nested tests ($build)"
	# make check built build-arm64 and the arm64 kernel first: the arm64
	# nested layer fails without them instead of skipping (it still skips
	# without qemu-system-aarch64).
	export LBX_REQUIRE_ARM64=1
	run_meson_tests "$build"

	layer "unit tests under ASan+UBSan ($san)"
	if { [ -f "$san/build.ninja" ] ||
		meson setup "$san" -Db_sanitize=address,undefined -Db_lundef=false >/dev/null; } &&
		ninja -C "$san" >&2; then
		run_meson_tests "$san" --suite unit
	else
		missing="$missing --missing sanitizer-build"
	fi
fi

layer "fuzz targets, ${LBX_FUZZ_SECONDS:-30}s each ($fuzz)"
if { [ -f "$fuzz/build.ninja" ] ||
	CC=clang meson setup "$fuzz" -Dfuzz=true -Db_sanitize=address,undefined \
		-Db_lundef=false >/dev/null; } && ninja -C "$fuzz" >&2; then
	run_meson_tests "$fuzz" --suite fuzz
else
	missing="$missing --missing fuzz-build"
fi

# shellcheck disable=SC2086
python3 build-aux/summary.py $logs $missing >"$build/summary.txt"
rc=$?
cat "$build/summary.txt"
exit "$rc"
