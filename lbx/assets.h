/* SPDX-License-Identifier: MIT */
/*
 * Where lbx finds its helper programs, the guest kernel and the images.
 * LBX_LIBEXEC_DIR overrides; otherwise a build tree is recognised from
 * the path of the running lbx (BUILD/lbx/lbx), so `make run` needs no
 * installation. The kernel directory comes from LBX_KERNEL_DIR or the
 * file BUILD/kernel-dir that `make kernel` writes.
 */
#ifndef LBX_ASSETS_H
#define LBX_ASSETS_H

#include <stddef.h>

enum lbx_asset {
	ASSET_VSOCKD,
	ASSET_FSD,
	ASSET_VMM,
	ASSET_SSH_PROXY,
	ASSET_NETD,
	ASSET_KERNEL,	     /* vmlinux */
	ASSET_INITRAMFS,
	ASSET_BUSYBOX_IMAGE, /* initramfs overlay with busybox */
	ASSET_AGENT,	     /* lbx-agent, the init of engine light's container */
	ASSET_OWN_TREE,	     /* lbx-own-tree (images/owntree.h) */
	ASSET_DEBIAN_BASE,   /* debian-base.sh, the Debian base image's recipe */
	ASSET_WAYLAND_PROXY,
};

/* Path of an asset that exists, or -ENOENT with a message in err. */
int lbx_asset(enum lbx_asset a, char *buf, size_t sz, char *err, size_t errsz);

#endif
