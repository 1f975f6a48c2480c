/* SPDX-License-Identifier: MIT */
/*
 * The host transport: the FUSE core mounted through /dev/fuse, for tests,
 * benchmarks and trying a tree out without a guest.
 */
#ifndef LBX_FSD_FUSE_DEV_H
#define LBX_FSD_FUSE_DEV_H

#include "fsd.h"

/* Mount a FUSE file system at mountpoint (needs CAP_SYS_ADMIN); *fd is /dev/fuse. */
LBX_MUST_CHECK int fsd_fuse_mount(const char *mountpoint, const struct fsd_options *opt, int *fd);
/* Unmount, lazily if busy. 0, or -errno (-EINVAL: nothing mounted there). */
int fsd_fuse_unmount(const char *mountpoint);
/*
 * Serve requests from fd with nthreads workers until the kernel ends the
 * connection (unmount: ENODEV). Returns 0, or -errno of a fatal error.
 */
int fsd_fuse_serve(struct fsd *fsd, int fd, unsigned nthreads);
/* Watch the tree for host edits and tell the kernel on fd (*fd must outlive the watch). */
LBX_MUST_CHECK int fsd_fuse_watch(struct fsd *fsd, const int *fd);

#endif
