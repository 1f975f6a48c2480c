/* SPDX-License-Identifier: MIT */
/*
 * Where lbx finds its helper programs, the guest kernel and the images.
 *
 * The layout is recognised from the path of the running lbx:
 *
 *   build tree  BUILD/lbx/lbx (BUILD/meson-private exists): everything at
 *               its place in BUILD, so `make run` needs no installation;
 *   installed   PREFIX/bin/lbx: programs in PREFIX/libexec/lbx, data
 *               (initramfs, busybox image, recipes) in PREFIX/share/lbx
 *               (the directories meson was configured with, relative to
 *               the prefix, so a copy moved with DESTDIR works as well).
 *
 * LBX_LIBEXEC_DIR overrides both with one flat directory.
 *
 * The guest kernel is not a file lbx ships: it is built from Debian's
 * linux-source by build-kernel.sh (installed beside the recipes) into the
 * user's cache, keyed by the hash of its inputs. lbx asks the script for
 * that key and looks in <cache>/kernel/<key>/, so every user finds their
 * own build and nothing records a path another user cannot read.
 * LBX_KERNEL_DIR names a kernel directory instead.
 */
#ifndef LBX_ASSETS_H
#define LBX_ASSETS_H

#include <stdbool.h>
#include <stddef.h>

enum lbx_asset {
	ASSET_VSOCKD,
	ASSET_FSD,
	ASSET_VMM,
	ASSET_SSH_PROXY,
	ASSET_NETD,
	ASSET_KERNEL, /* vmlinux (x86_64) or Image (arm64): arch.h */
	ASSET_INITRAMFS,
	ASSET_BUSYBOX_IMAGE, /* initramfs overlay with busybox */
	ASSET_AGENT,	     /* lbx-agent, the init of engine light's container */
	ASSET_OWN_TREE,	     /* lbx-own-tree (images/owntree.h) */
	ASSET_DEBIAN_BASE,   /* debian-base.sh, the Debian base image's recipe */
	ASSET_BUILD_KERNEL,  /* build-kernel.sh (arm64: build-kernel-arm64.sh), fragments beside it */
	ASSET_USBIPD,	     /* lbx-usbipd (passthrough/) */
	ASSET_WAYLAND_PROXY,
	ASSET_GPUD,	  /* lbx-gpud (backends/gpu/) */
	ASSET_DEBIAN_GPU, /* debian-gpu.sh: the Debian base with Mesa's virgl driver */
};

/* Path of an asset that exists, or -ENOENT with a message in err. */
int lbx_asset(enum lbx_asset a, char *buf, size_t sz, char *err, size_t errsz);

/*
 * Make sure the guest kernel exists in the user's cache: build it (minutes,
 * progress on stderr) when it does not. On success LBX_KERNEL_DIR is set in
 * the environment, so the supervisor and the engines find it at once.
 * 0, or -errno with a one-line reason in err.
 */
int lbx_asset_ensure_kernel(char *err, size_t errsz);

/* "build tree", "installed" or "LBX_LIBEXEC_DIR", and its directory. */
const char *lbx_asset_layout(char *dir, size_t sz);

#endif
