#!/bin/sh
# Build the lbx guest kernel for arm64 from Debian's linux-source package,
# cross-compiled with gcc-aarch64-linux-gnu, into the same cache as the
# x86_64 kernel (build-kernel.sh, whose cache key this script leaves alone).
#
#   build-kernel-arm64.sh [--check-only] [--print-key]
#
# The configuration is tinyconfig (ARCH=arm64), then lbx.config without its
# x86-only options (X86_ONLY below), then lbx-arm64.config. The cache
# directory is keyed by a hash of both fragments, this script, the source
# package version and the cross compiler. On success the last line of
# stdout is the directory holding Image and config. Every option asked for
# must survive olddefconfig; the build stops naming each one dropped.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
check_only=0
print_key=0
src_pkg=${LBX_KERNEL_SOURCE_PKG:-linux-source-6.12}
cross=${CROSS_COMPILE:-aarch64-linux-gnu-}
# Options of lbx.config that exist only on x86 (PVH, the MP table, bzImage
# compression, x86 early printk, KVM paravirt guest).
X86_ONLY="X86_MPPARSE HYPERVISOR_GUEST PARAVIRT KVM_GUEST PVH KERNEL_LZ4 EARLY_PRINTK"

while [ $# -gt 0 ]; do
	case $1 in
	--check-only) check_only=1; shift ;;
	--print-key) print_key=1; shift ;;
	-h|--help) sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) echo "build-kernel-arm64.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
	esac
done

die() { echo "build-kernel-arm64.sh: $*" >&2; exit 1; }

for f in "$here/lbx.config" "$here/lbx-arm64.config"; do
	[ -r "$f" ] || die "cannot read fragment '$f'"
done
command -v "${cross}gcc" >/dev/null ||
	die "${cross}gcc not found; apt-get install gcc-aarch64-linux-gnu (make setup)"
src_ver=$(dpkg-query -W -f '${Version}' "$src_pkg" 2>/dev/null) ||
	die "$src_pkg is not installed; run 'make setup' (or apt-get install $src_pkg)"
tarball=$(dpkg -L "$src_pkg" | grep '\.tar\.xz$' | head -n1)
[ -r "$tarball" ] || die "$src_pkg $src_ver has no source tarball under /usr/src"
cc_ver=$("${cross}gcc" --version | head -n1)

cache=${LBX_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/lbx}
key=arm64-$( { cat "$here/lbx.config" "$here/lbx-arm64.config" "$0"; echo "$src_pkg $src_ver";
	echo "$cc_ver"; } | sha256sum | cut -c1-16)
out=$cache/kernel/$key
if [ "$print_key" = 1 ]; then echo "$key"; exit 0; fi

if [ "$check_only" = 0 ] && [ -f "$out/Image" ]; then
	echo "kernel (arm64): cached ($src_pkg $src_ver, key $key)" >&2
	echo "$out"
	exit 0
fi

mkdir -p "$cache/kernel" "$cache/src"
exec 9>"$cache/kernel/.lock"
flock 9

src=$cache/src/$src_pkg-$src_ver
if [ ! -f "$src/.lbx-extracted" ]; then
	echo "kernel: extracting $tarball ..." >&2
	rm -rf "$src" "$src.tmp"
	mkdir -p "$src.tmp"
	tar -xJf "$tarball" -C "$src.tmp" --strip-components=1
	touch "$src.tmp/.lbx-extracted"
	mv "$src.tmp" "$src"
fi

build=$cache/kernel/build-$key
[ "$check_only" = 1 ] && build=$(mktemp -d "${TMPDIR:-/tmp}/lbx-kcheck.XXXXXX")
mkdir -p "$build"
log=$build/build.log
: >"$log"
kmake() { make -C "$src" O="$build" ARCH=arm64 CROSS_COMPILE="$cross" "$@" >>"$log" 2>&1; }

# The fragment actually applied: lbx.config minus X86_ONLY, then arm64's.
fragment=$build/lbx-arm64-full.config
pattern=$(echo "$X86_ONLY" | sed 's/ /|/g')
grep -Ev "^(# )?CONFIG_($pattern)[= ]" "$here/lbx.config" >"$fragment"
cat "$here/lbx-arm64.config" >>"$fragment"

echo "kernel (arm64): configuring (tinyconfig + lbx.config + lbx-arm64.config)" >&2
kmake tinyconfig || die "tinyconfig failed; see $log"
"$src/scripts/kconfig/merge_config.sh" -m -O "$build" "$build/.config" "$fragment" \
	>>"$log" 2>&1 || die "merging the fragments failed; see $log"
kmake olddefconfig || die "olddefconfig failed; see $log"

dropped=$(
	sed -n -e 's/^\(CONFIG_[A-Za-z0-9_]*\)=\(.*\)$/\1 \2/p' \
		-e 's/^# \(CONFIG_[A-Za-z0-9_]*\) is not set$/\1 n/p' "$fragment" |
	while read -r name want; do
		got=$(sed -n "s/^$name=\(.*\)\$/\1/p" "$build/.config")
		[ -n "$got" ] || got=n
		if [ "$got" != "$want" ]; then
			echo "$name (asked $want, got $got)"
		fi
	done
)
if [ -n "$dropped" ]; then
	echo "build-kernel-arm64.sh: the kernel ($src_pkg $src_ver, arm64) did not keep these options:" >&2
	echo "$dropped" | sed 's/^/  /' >&2
	[ "$check_only" = 1 ] && rm -rf "$build"
	exit 1
fi
if [ "$check_only" = 1 ]; then
	rm -rf "$build"
	echo "kernel (arm64): every option is kept" >&2
	exit 0
fi

start=$(date +%s)
jobs=$(nproc)
echo "kernel (arm64): compiling with $jobs jobs (log: $log)" >&2
kmake -j"$jobs" Image &
pid=$!
last=0
while kill -0 "$pid" 2>/dev/null; do
	sleep 2
	now=$(date +%s)
	if [ $((now - last)) -ge 30 ]; then
		echo "kernel (arm64): $(grep -c '^  CC ' "$log" || true) objects compiled, $((now - start))s" >&2
		last=$now
	fi
done
wait "$pid" || { tail -n 30 "$log" >&2; die "kernel build failed; full log: $log"; }

tmp=$out.tmp
rm -rf "$tmp"
mkdir -p "$tmp"
cp "$build/arch/arm64/boot/Image" "$tmp/Image"
cp "$build/vmlinux" "$tmp/vmlinux"
cp "$build/.config" "$tmp/config"
echo "$src_pkg $src_ver" >"$tmp/source"
rm -rf "$out"
mv "$tmp" "$out"
rm -rf "$build"
echo "kernel (arm64): built in $(($(date +%s) - start))s -> $out" >&2
echo "$out"
