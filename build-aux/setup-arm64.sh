#!/bin/sh
# Set up the arm64 cross build (issue 20): Debian's arm64 libfdt,
# libseccomp and libcjson (static libraries and headers) and busybox-static
# are fetched with `apt-get download` and unpacked with `dpkg-deb -x` into
# <cache>/arm64/sysroot, never installed (libfdt-dev:arm64 would replace the
# host's libfdt-dev). Then BUILD (default build-arm64) is configured with
# build-aux/aarch64-linux-gnu.ini and a cross file naming that sysroot.
#   setup-arm64.sh [BUILD]
# The host packages (gcc-aarch64-linux-gnu, libc6-dev-arm64-cross) come
# from build-aux/setup.sh. apt-get download needs the arm64 architecture
# known to dpkg (dpkg --add-architecture arm64; apt-get update), which
# installs nothing.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
build=${1:-build-arm64}
cache=${LBX_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/lbx}
a64=$cache/arm64
sysroot=$a64/sysroot
debs="libfdt-dev libfdt1 libseccomp-dev libseccomp2 libcjson-dev libcjson1 busybox-static"

die() { echo "setup-arm64: $*" >&2; exit 1; }

command -v aarch64-linux-gnu-gcc >/dev/null ||
	die "aarch64-linux-gnu-gcc not found; run make setup (gcc-aarch64-linux-gnu)"
if ! dpkg --print-foreign-architectures | grep -qx arm64; then
	# Like setup.sh: as root, or through sudo.
	sudo=
	if [ "$(id -u)" != 0 ]; then
		command -v sudo >/dev/null ||
			die "dpkg does not know arm64; as root: dpkg --add-architecture arm64 && apt-get update"
		sudo=sudo
	fi
	echo "setup-arm64: adding arm64 to dpkg's architectures (installs nothing)" >&2
	$sudo dpkg --add-architecture arm64 || die "dpkg --add-architecture arm64 failed"
	$sudo apt-get update -qq -o DPkg::Lock::Timeout=300 >&2 || die "apt-get update failed"
fi

mkdir -p "$a64/debs"
exec 9>"$a64/.lock"
flock 9
stamp=$sysroot/.lbx-unpacked
want=$(for p in $debs; do apt-cache policy "$p:arm64" | sed -n 's/^  Candidate: //p'; done | tr '\n' ' ')
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
	echo "setup-arm64: fetching$(printf ' %s:arm64' $debs)" >&2
	rm -rf "$a64/debs"/*.deb "$sysroot"
	(cd "$a64/debs" && apt-get download -q $(printf '%s:arm64 ' $debs) >&2) ||
		die "apt-get download failed; check the network and that arm64 is in dpkg's architectures"
	mkdir -p "$sysroot"
	for d in "$a64/debs"/*.deb; do dpkg-deb -x "$d" "$sysroot"; done
	echo "$want" >"$stamp"
fi

cat >"$a64/sysroot.ini" <<X
# Written by build-aux/setup-arm64.sh: the unpacked arm64 libraries.
[properties]
sys_root = '$sysroot'
pkg_config_libdir = '$sysroot/usr/lib/aarch64-linux-gnu/pkgconfig'
lbx_busybox = '$sysroot/bin/busybox'

[built-in options]
c_args = ['-I$sysroot/usr/include']
c_link_args = ['-L$sysroot/usr/lib/aarch64-linux-gnu']
X
if [ ! -f "$build/build.ninja" ]; then
	meson setup "$build" --cross-file "$here/aarch64-linux-gnu.ini" \
		--cross-file "$a64/sysroot.ini" >&2
fi
