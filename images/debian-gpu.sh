#!/bin/sh
# The Debian image of a box with "gpu": true: lbx's Debian base
# (debian-base.sh, beside this script) with Mesa's virgl driver and EGL
# (libgl1-mesa-dri, libegl-mesa0) and mesa-utils (eglinfo, glxinfo,
# es2gears), for the guest to render through lbx-gpud.
#
#   debian-gpu.sh [--print-key]
#
# Built once from the base with podman build (apt-get from the Debian
# mirror: this is lbx's own recipe, not the project's, so its RUN step has
# podman's network). Keyed by the hash of this script and the base's
# reference; on success the last line of stdout is the image reference
# localhost/lbx-debian-gpu:bookworm-<key>. Progress goes to stderr.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
packages="libgl1-mesa-dri libegl-mesa0 libegl1 libgles2 mesa-utils"

say() { echo "lbx: debian gpu image: $*" >&2; }
die() { echo "lbx: debian gpu image: $*" >&2; exit 1; }

[ $# -eq 0 ] || [ "$1" = --print-key ] || die "unknown argument '$1' (usage: debian-gpu.sh [--print-key])"
base=$(sh "$here/debian-base.sh" | tail -n 1) || die "the Debian base image could not be built"
key=$( { cat "$0"; echo "$base"; } | sha256sum | cut -c1-16)
if [ "${1:-}" = --print-key ]; then echo "$key"; exit 0; fi
ref=localhost/lbx-debian-gpu:bookworm-$key
if podman image exists "$ref"; then
	say "cached ($ref)"
	echo "$ref"
	exit 0
fi
say "adding $packages to $base (once)"
printf 'FROM %s\nRUN apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends %s && rm -rf /var/lib/apt/lists/*\n' \
	"$base" "$packages" |
	podman build --ulimit nofile=1024:1024 --ulimit nproc=1024:1024 -t "$ref" -f - "$here" >&2 ||
	die "podman build of $ref failed (it needs the Debian mirror; see the lines above)"
echo "$ref"
