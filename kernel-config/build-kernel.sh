#!/bin/sh
# Build the lbx guest kernel from Debian's linux-source package into a cache.
#
#   build-kernel.sh [--fragment FILE] [--check-only] [--print-key]
#
# The cache directory is keyed by a hash of everything that decides the
# result: the fragment, this script, the patches in patches/ (applied in
# name order to a copy of Debian's source; 0002 is the virtio-fs
# notification queue, VIRTIO_FS_F_NOTIFICATION), the kernel source package
# version and the compiler. A second run with the same inputs does no work. On success
# the last line of stdout is the directory holding vmlinux, bzImage and
# config. Progress goes to stderr.
#
# Every option the fragment sets must be set the same way in the final
# .config; when Kconfig drops one (unmet dependency, unknown name) the build
# stops before compiling and names each dropped option.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
fragment=$here/lbx.config
check_only=0
print_key=0
src_pkg=${LBX_KERNEL_SOURCE_PKG:-linux-source-6.12}

while [ $# -gt 0 ]; do
	case $1 in
	--fragment) fragment=$2; shift 2 ;;
	--check-only) check_only=1; shift ;;
	--print-key) print_key=1; shift ;;
	-h|--help) sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) echo "build-kernel.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
	esac
done

die() { echo "build-kernel.sh: $*" >&2; exit 1; }

[ -r "$fragment" ] || die "cannot read fragment '$fragment'"
src_ver=$(dpkg-query -W -f '${Version}' "$src_pkg" 2>/dev/null) ||
	die "$src_pkg is not installed; run 'make setup' (or apt-get install $src_pkg)"
tarball=$(dpkg -L "$src_pkg" | grep '\.tar\.xz$' | head -n1)
[ -r "$tarball" ] || die "$src_pkg $src_ver has no source tarball under /usr/src"
cc_ver=$(${CC:-gcc} --version | head -n1)

cache=${LBX_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/lbx}
patches=$(ls "$here"/patches/*.patch 2>/dev/null | sort || true)
key=$( { cat "$fragment" "$0"; for p in $patches; do cat "$p"; done
	echo "$src_pkg $src_ver"; echo "$cc_ver"; } | sha256sum | cut -c1-16)
out=$cache/kernel/$key
if [ "$print_key" = 1 ]; then echo "$key"; exit 0; fi

if [ "$check_only" = 0 ] && [ -f "$out/vmlinux" ] && [ -f "$out/bzImage" ]; then
	echo "kernel: cached ($src_pkg $src_ver, key $key)" >&2
	echo "$out"
	exit 0
fi

mkdir -p "$cache/kernel" "$cache/src"
exec 9>"$cache/kernel/.lock"
flock 9

# One extracted tree per source version, shared by every configuration.
src=$cache/src/$src_pkg-$src_ver
if [ ! -f "$src/.lbx-extracted" ]; then
	echo "kernel: extracting $tarball ..." >&2
	rm -rf "$src" "$src.tmp"
	mkdir -p "$src.tmp"
	tar -xJf "$tarball" -C "$src.tmp" --strip-components=1
	touch "$src.tmp/.lbx-extracted"
	mv "$src.tmp" "$src"
fi

# Patched: a tree of its own per patch set, hard links to the shared one
# except for the files the patches change (copied first, so the shared
# tree is never written).
if [ -n "$patches" ]; then
	phash=$(for p in $patches; do cat "$p"; done | sha256sum | cut -c1-12)
	psrc=$src-p$phash
	if [ ! -f "$psrc/.lbx-patched" ]; then
		echo "kernel: applying $(echo "$patches" | wc -l) patches ..." >&2
		rm -rf "$psrc" "$psrc.tmp"
		cp -al "$src" "$psrc.tmp"
		for p in $patches; do
			sed -n 's|^+++ b/\([^[:space:]]*\).*|\1|p' "$p" | while read -r f; do
				[ -f "$psrc.tmp/$f" ] && cp "$psrc.tmp/$f" "$psrc.tmp/$f.lbx" &&
					mv "$psrc.tmp/$f.lbx" "$psrc.tmp/$f"
			done
			patch -d "$psrc.tmp" -p1 --no-backup-if-mismatch -s <"$p" ||
				die "patch $(basename "$p") does not apply to $src_pkg $src_ver"
		done
		touch "$psrc.tmp/.lbx-patched"
		mv "$psrc.tmp" "$psrc"
	fi
	src=$psrc
fi

build=$cache/kernel/build-$key
[ "$check_only" = 1 ] && build=$(mktemp -d "${TMPDIR:-/tmp}/lbx-kcheck.XXXXXX")
mkdir -p "$build"
log=$build/build.log
: >"$log"
kmake() { make -C "$src" O="$build" ARCH=x86_64 "$@" >>"$log" 2>&1; }

echo "kernel: configuring (tinyconfig + $(basename "$fragment"))" >&2
kmake tinyconfig || die "tinyconfig failed; see $log"
"$src/scripts/kconfig/merge_config.sh" -m -O "$build" "$build/.config" "$fragment" \
	>>"$log" 2>&1 || die "merging $fragment failed; see $log"
kmake olddefconfig || die "olddefconfig failed; see $log"

# Compare what was asked with what Kconfig kept.
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
	echo "build-kernel.sh: the kernel ($src_pkg $src_ver) did not keep these options from $fragment:" >&2
	echo "$dropped" | sed 's/^/  /' >&2
	[ "$check_only" = 1 ] && rm -rf "$build"
	exit 1
fi
if [ "$check_only" = 1 ]; then
	rm -rf "$build"
	echo "kernel: every option in $(basename "$fragment") is kept" >&2
	exit 0
fi

# Compile, with a progress line: compiled objects so far and elapsed time.
start=$(date +%s)
jobs=$(nproc)
echo "kernel: compiling with $jobs jobs (about 3 minutes on 2 cores; log: $log)" >&2
kmake -j"$jobs" vmlinux bzImage &
pid=$!
tty=0
[ -t 2 ] && tty=1
last=0
while kill -0 "$pid" 2>/dev/null; do
	sleep 2
	now=$(date +%s)
	n=$(grep -c '^  CC ' "$log" || true)
	if [ "$tty" = 1 ]; then
		printf '\rkernel: %d objects compiled, %ds ' "$n" $((now - start)) >&2
	elif [ $((now - last)) -ge 30 ]; then
		echo "kernel: $n objects compiled, $((now - start))s" >&2
		last=$now
	fi
done
[ "$tty" = 1 ] && echo >&2
wait "$pid" || { tail -n 30 "$log" >&2; die "kernel build failed; full log: $log"; }

tmp=$out.tmp
rm -rf "$tmp"
mkdir -p "$tmp"
cp "$build/vmlinux" "$tmp/vmlinux"
cp "$build/arch/x86/boot/bzImage" "$tmp/bzImage"
cp "$build/.config" "$tmp/config"
echo "$src_pkg $src_ver" >"$tmp/source"
rm -rf "$out"
mv "$tmp" "$out"
rm -rf "$build"
echo "kernel: built in $(($(date +%s) - start))s -> $out" >&2
echo "$out"
