#!/bin/sh
# The Debian base image of lbx: bookworm from mmdebstrap (no registry
# needed), imported into podman's local store for boxes and Containerfiles
# to build FROM.
#
#   debian-base.sh [--print-key]
#
# The recipe is this script: the suite, the package set and the finishing
# hooks below. The cache entry is keyed by its hash, so a second run does
# no work and any change to the recipe builds a new entry:
#
#   <cache>/images/debian-bookworm-<key>/rootfs.tar   the tree, as mmdebstrap made it
#   podman: localhost/lbx-debian:bookworm-<key>       imported from that tarball,
#           also tagged localhost/lbx-debian:bookworm and :latest
#
# <cache> is $LBX_CACHE_DIR, else $XDG_CACHE_HOME/lbx, else ~/.cache/lbx.
# $LBX_DEBIAN_MIRROR overrides the mirror (it is not part of the key).
# Progress goes to stderr; on success the last line of stdout is the image
# reference.
#
# One recipe for everyone: mmdebstrap --mode=unshare builds the tree in a
# user namespace, where the caller is root and its subordinate ids
# (/etc/subuid, /etc/subgid) are everyone else, and writes the tarball
# with the owners the image needs. No mknod, no chroot on the host, no
# root: an ordinary user with subordinate ids runs it as root does.
set -eu

suite=bookworm
packages=git,build-essential,openssh-client,curl,ca-certificates,locales
mirror=${LBX_DEBIAN_MIRROR:-http://deb.debian.org/debian}

say() { echo "lbx: debian base: $*" >&2; }
die() { echo "lbx: debian base: $*" >&2; exit 1; }

key=$(sha256sum <"$0" | cut -c1-16)
if [ "${1:-}" = --print-key ]; then echo "$key"; exit 0; fi
[ $# -eq 0 ] || die "unknown argument '$1' (usage: debian-base.sh [--print-key])"

cache=${LBX_CACHE_DIR:-${XDG_CACHE_HOME:-${HOME:?}/.cache}/lbx}
dir=$cache/images/debian-$suite-$key
ref=localhost/lbx-debian:$suite-$key

tag_and_print() {
	podman tag "$ref" localhost/lbx-debian:$suite localhost/lbx-debian:latest >&2 ||
		die "podman tag $ref failed"
	echo "$ref"
	exit 0
}

# mmdebstrap and newuidmap live in /usr/bin, but look in sbin too for tools
# an ordinary user's PATH lacks.
PATH=$PATH:/usr/sbin:/sbin
command -v podman >/dev/null || die "podman is not installed (make setup installs it)"
if podman image exists "$ref"; then
	say "cached ($ref)"
	tag_and_print
fi

mkdir -p "$dir"
exec 9>"$dir/.lock"
flock 9
if [ ! -f "$dir/rootfs.tar" ]; then
	command -v mmdebstrap >/dev/null ||
		die "mmdebstrap is not installed (make setup installs it; or 'sudo apt-get install mmdebstrap')"
	user=$(id -un)
	if [ "$(id -u)" != 0 ] && { ! grep -q "^\($user\|$(id -u)\):" /etc/subuid 2>/dev/null ||
		! grep -q "^\($user\|$(id -u)\):" /etc/subgid 2>/dev/null; }; then
		die "$user has no subordinate ids in /etc/subuid and /etc/subgid, which mmdebstrap's" \
			"user namespace needs: 'sudo usermod --add-subuids 100000-165535" \
			"--add-subgids 100000-165535 $user'"
	fi
	start=$(date +%s)
	say "building $suite (minbase + $packages) from $mirror with mmdebstrap" \
		"(once; log: $dir/mmdebstrap.log)"
	# mmdebstrap names each stage with an "I: " line; show those, the rest goes to the log.
	# The customize hooks run inside the user namespace, as the image's root.
	rm -f "$dir/rootfs.tar.new"
	if ! { mmdebstrap --mode=unshare --variant=minbase --format=tar \
		--include="$packages" --components=main \
		--customize-hook='echo "en_US.UTF-8 UTF-8" >"$1/etc/locale.gen"' \
		--customize-hook='chroot "$1" /usr/sbin/locale-gen >/dev/null' \
		--customize-hook='echo "LANG=C.UTF-8" >"$1/etc/default/locale"' \
		--customize-hook='rm -rf "$1"/var/log/*.log "$1"/var/cache/apt/*.bin; : >"$1/etc/hostname"; rm -f "$1/etc/resolv.conf"' \
		"$suite" "$dir/rootfs.tar.new" "$mirror" 2>&1 || echo "@failed"; } |
		tee "$dir/mmdebstrap.log" |
		awk '/^@failed/ { exit 1 }
		     /^I: .*\.\.\.$/ { sub(/^I: /, ""); sub(/\.\.\.$/, ""); print "lbx: debian base: " $0 " ..."; fflush() }' >&2
	then
		rm -f "$dir/rootfs.tar.new"
		die "mmdebstrap failed; the end of $dir/mmdebstrap.log:
$(tail -n 5 "$dir/mmdebstrap.log")"
	fi
	mv "$dir/rootfs.tar.new" "$dir/rootfs.tar"
	say "built in $(($(date +%s) - start)) s ($(du -sh "$dir/rootfs.tar" | cut -f1))"
fi
[ -n "${start:-}" ] || say "cached tarball ($dir/rootfs.tar)"
say "importing into podman as $ref"
podman import --quiet --change 'CMD ["/bin/bash"]' --change 'ENV LANG=C.UTF-8' \
	"$dir/rootfs.tar" "$ref" >/dev/null || die "podman import of $dir/rootfs.tar failed"

# The bases of older recipes are nobody's now: their tarballs go (one not
# locked by a build in progress), and their images unless a box's image is
# built on them (then podman refuses, and that one stays for the box).
for old in "$cache/images/debian-$suite-"*; do
	[ "$old" = "$dir" ] || [ ! -d "$old" ] && continue
	oldkey=${old##*-}
	(
		flock -n 8 || exit 0
		say "removing the base of an older recipe ($oldkey)"
		podman rmi "localhost/lbx-debian:$suite-$oldkey" >/dev/null 2>&1 || true
		# An older recipe's tree may hold files of subordinate ids (debootstrap era).
		rm -rf "$old" 2>/dev/null || podman unshare rm -rf "$old" 2>/dev/null || true
	) 8>>"$old/.lock"
done
tag_and_print
