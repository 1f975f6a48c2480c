/* SPDX-License-Identifier: MIT */
/*
 * The one codec of the ownership records a box root tree keeps
 * (images/owntree.c writes them, lbx-fsd --ownership xattr reads and
 * writes them; backends/fsd/README.md "Ownership").
 *
 * 1. user.containers.override_stat on a regular file or directory, the
 *    text form containers-storage writes and fuse-overlayfs reads:
 *
 *        "UID:GID:MODE[:TYPE]"    e.g. "0:0:0755", "0:5:0620:char-136-0"
 *
 *    UID and GID decimal, MODE octal (only the permission bits 07777 are
 *    taken; some writers put the whole st_mode there), TYPE only when the
 *    host object stands in for another kind: char-MAJ-MIN, block-MAJ-MIN,
 *    pipe, socket (also accepted: file, dir, symlink).
 *
 * 2. user.lbx.override_names on a directory: the same records for the
 *    directory's entries that Linux lets carry no user xattr (symbolic
 *    links, FIFOs, sockets), kept by name, so those objects stay what they
 *    are on disk (engine light runs the same tree with podman --rootfs and
 *    needs a FIFO to be a FIFO). The value is a sequence of records
 *
 *        NAME '\0' "UID:GID:MODE" '\0'
 *
 *    names unique, in no order. A name is one path component (no '/', no
 *    NUL), which is what makes the form unambiguous.
 *
 * Both values are read back from the host tree; a tree's xattrs are not
 * trusted to be well formed (a host tool, a crash, another writer), so
 * every parse is bounds-checked and a malformed record is -EINVAL.
 */
#ifndef LBX_OVERRIDE_STAT_H
#define LBX_OVERRIDE_STAT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define LBX_OVERRIDE_XATTR	 "user.containers.override_stat"
#define LBX_OVERRIDE_NAMES_XATTR "user.lbx.override_names"
/* Longest value: "4294967295:4294967295:07777:block-4095-1048575" and a NUL. */
#define LBX_OVERRIDE_VALUE_MAX 64

struct lbx_override {
	uint32_t uid, gid;
	mode_t mode; /* permission bits; type bits only when TYPE said so */
	dev_t rdev;  /* TYPE char- or block- */
};

/* 0, or -EINVAL for anything but the form above. */
int lbx_override_parse(const char *s, size_t n, struct lbx_override *ov);
/* Bytes written (no NUL counted), or -ENOSPC. TYPE is written for type bits in ov->mode. */
int lbx_override_format(const struct lbx_override *ov, char *buf, size_t size);

/*
 * The record for name in a user.lbx.override_names value: 0 and *ov,
 * -ENOENT if the value holds none, -EINVAL if the value is malformed.
 */
int lbx_override_names_find(const char *val, size_t n, const char *name, struct lbx_override *ov);
/*
 * Set (ov non-NULL) or remove (NULL) name's record in the value of n
 * bytes at val, in place, cap bytes available. The new length, or
 * -ENOSPC (does not fit cap), -EINVAL (malformed value). A malformed
 * value is not repaired: the caller decides (lbx-fsd starts afresh).
 */
int lbx_override_names_set(char *val, size_t n, size_t cap, const char *name,
			   const struct lbx_override *ov);

#endif
