#!/bin/sh
# The Debian base image of lbx: bookworm from debootstrap (no registry
# needed), imported into podman's local store for boxes and Containerfiles
# to build FROM.
#
#   debian-base.sh [--print-key]
#
# The recipe is this script: the suite, the package set and the finishing
# steps below. The cache entry is keyed by its hash, so a second run does
# no work and any change to the recipe builds a new entry:
#
#   <cache>/images/debian-bookworm-<key>/rootfs.tar   the tree, as debootstrap made it
#   podman: localhost/lbx-debian:bookworm-<key>       imported from that tarball,
#           also tagged localhost/lbx-debian:bookworm and :latest
#
# <cache> is $LBX_CACHE_DIR, else $XDG_CACHE_HOME/lbx, else ~/.cache/lbx.
# $LBX_DEBIAN_MIRROR overrides the mirror (it is not part of the key).
# Progress goes to stderr; on success the last line of stdout is the image
# reference. Needs root, or podman's user namespace (podman unshare).
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

# Root builds the tree directly; anyone else in podman's user namespace,
# where they are root and their subordinate ids are everyone else.
as_root() {
	if [ "$(id -u)" = 0 ]; then "$@"; else podman unshare "$@"; fi
}

tag_and_print() {
	podman tag "$ref" localhost/lbx-debian:$suite localhost/lbx-debian:latest >&2 ||
		die "podman tag $ref failed"
	echo "$ref"
	exit 0
}

command -v podman >/dev/null || die "podman is not installed (make setup installs it)"
if podman image exists "$ref"; then
	say "cached ($ref)"
	tag_and_print
fi

mkdir -p "$dir"
exec 9>"$dir/.lock"
flock 9
if [ ! -f "$dir/rootfs.tar" ]; then
	command -v debootstrap >/dev/null ||
		die "debootstrap is not installed (make setup installs it)"
	tree=$dir/tree
	as_root rm -rf "$tree"
	start=$(date +%s)
	say "building $suite (minbase + $packages) from $mirror with debootstrap;" \
		"this takes a few minutes, once (log: $dir/debootstrap.log)"
	# debootstrap names each package as it handles it; show each stage once.
	# Downloaded packages are kept for the next recipe (--cache-dir).
	mkdir -p "$cache/images/debs"
	if ! { as_root debootstrap --variant=minbase --include="$packages" \
		--cache-dir="$cache/images/debs" --components=main "$suite" "$tree" "$mirror" 2>&1 || echo "@failed"; } |
		tee "$dir/debootstrap.log" |
		awk '/^@failed/ { exit 1 }
		     /^I: / { v = $2; if (!(v in seen)) { seen[v] = 1; print "lbx: debian base: " v " ..."; fflush() } }' >&2
	then
		die "debootstrap failed; the end of $dir/debootstrap.log:
$(tail -n 5 "$dir/debootstrap.log")"
	fi
	say "finishing: locales (C.UTF-8, en_US.UTF-8), no apt caches"
	as_root sh -c '
		set -e
		echo "en_US.UTF-8 UTF-8" >"$1/etc/locale.gen"
		chroot "$1" /usr/sbin/locale-gen >/dev/null
		echo "LANG=C.UTF-8" >"$1/etc/default/locale"
		chroot "$1" apt-get clean
		rm -rf "$1"/var/lib/apt/lists/* "$1"/var/cache/apt/*.bin "$1"/var/log/*.log
		: >"$1/etc/hostname"
		rm -f "$1/etc/resolv.conf"
	' sh "$tree"
	say "packing the tree"
	as_root tar --numeric-owner -C "$tree" -cf "$dir/rootfs.tar.new" .
	mv "$dir/rootfs.tar.new" "$dir/rootfs.tar"
	as_root rm -rf "$tree"
	say "built in $(($(date +%s) - start)) s ($(du -sh "$dir/rootfs.tar" | cut -f1))"
fi
say "importing into podman as $ref"
podman import --change 'CMD ["/bin/bash"]' --change 'ENV LANG=C.UTF-8' \
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
		as_root rm -rf "$old"
	) 8>>"$old/.lock"
done
tag_and_print
