/* SPDX-License-Identifier: MIT */
/*
 * A box's image and its root tree (docs/box.md, "image").
 *
 * The root tree DATA/root is made from the image the first time a box
 * starts and by `lbx build`:
 *
 *   busybox        the test image's cpio, unpacked (no network, no podman)
 *   debian         the Debian base (images/debian-base.sh: mmdebstrap once
 *                  into the cache, imported as localhost/lbx-debian:bookworm)
 *   containerfile  `podman build --network none` of the box's Containerfile, tagged
 *                  localhost/lbx-box:NAME
 *
 * An image built by podman is exported (podman create + export), unpacked
 * and converted with lbx-own-tree: the host user owns every file, and the
 * owners and modes the guest sees are in user.containers.override_stat
 * (lbx-fsd --ownership xattr). The new tree is made beside the old one and
 * swapped in; the box user's home moves over, the project is never touched.
 * DATA/image.txt records what the tree was made from.
 */
#ifndef LBX_IMAGE_H
#define LBX_IMAGE_H

#include <stdbool.h>
#include <stddef.h>

#include "box.h"
#include "config.h"

/* podman as lbx runs it: runc, and explicit limits (TESTING.md). */
#define IMAGE_PODMAN "podman", "--runtime", "runc"
#define IMAGE_PODMAN_ULIMITS "--ulimit", "nofile=1024:1024", "--ulimit", "nproc=1024:1024"

/*
 * Make DATA/root from the box's image if there is none (rebuild: always,
 * replacing it). Progress lines go to stderr. 0, or -errno with a one-line
 * reason in err.
 */
int image_make_root(const struct box_config *c, const struct box_paths *p, bool rebuild,
		    char *err, size_t errsz);

/*
 * Remove podman's image of the box (localhost/lbx-box:NAME, what `lbx build`
 * made from its Containerfile), if there is one: 0, or -EIO when podman
 * could not remove it.
 */
int image_remove_box_image(const char *name);

/* The box user's home in the guest: /root for root, else the host's home path. */
void image_box_home(char *buf, size_t sz);

#endif
