#!/bin/sh
# Install the Debian packages lbx needs to build, boot and test, if missing.
# Runs apt-get as root, or through sudo.
set -eu

# What each is for is listed in README.md ("Dependencies").
pkgs="
gcc make meson ninja-build pkg-config python3
clang libclang-rt-14-dev
linux-source-6.12 bc flex bison libelf-dev libssl-dev xz-utils
qemu-system-x86 busybox-static cpio file e2fsprogs
libseccomp-dev bindfs fuse3 git socat
libcjson-dev openssh-client openssh-server
podman runc uidmap mmdebstrap
libslirp-dev
libvirglrenderer-dev libepoxy-dev libgl1-mesa-dri libegl-mesa0 qemu-system-gui
libegl-dev libgles-dev libgbm-dev
libusb-1.0-0-dev usbutils
libvirt-daemon libvirt-daemon-driver-qemu libvirt-clients libvirt-dev libxml2-dev
libwayland-dev wayland-protocols weston wayland-utils waypipe wl-clipboard
gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-system-arm libfdt-dev device-tree-compiler
"

missing=
for p in $pkgs; do
	if ! dpkg-query -W -f '${Status}' "$p" 2>/dev/null | grep -q '^install ok installed$'; then
		missing="$missing $p"
	fi
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" = 0 ]; then
	sudo=
elif command -v sudo >/dev/null; then
	sudo=sudo
else
	echo "setup: missing packages:$missing; run as root or install sudo" >&2
	exit 1
fi
echo "setup: installing$missing" >&2
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq >&2 || {
	echo "setup: apt-get update failed; check the network and /etc/apt/sources.list" >&2
	exit 1
}
if ! $sudo apt-get install -y -qq --no-install-recommends $missing >&2; then
	case $missing in
	*linux-source-6.12*)
		echo "setup: linux-source-6.12 comes from bookworm-security;" \
			"make sure that suite is in your apt sources" >&2 ;;
	esac
	echo "setup: apt-get install failed for:$missing" >&2
	exit 1
fi
