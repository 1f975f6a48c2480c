/* SPDX-License-Identifier: MIT */
/*
 * Turning an unpacked image into a box root tree (ARCHITECTURE.md "Guest
 * kernel and images"): every object ends up owned by the host user on
 * disk, and what the guest should see (owner, group, permission bits, and
 * for device nodes, fifos and sockets the kind of object) is kept in the
 * user.containers.override_stat xattr, in the form lbx-fsd reads with
 * --ownership xattr (backends/fsd/README.md, "Ownership"):
 *
 *     UID:GID:0MODE[:TYPE]      TYPE: char-MAJ-MIN, block-MAJ-MIN, pipe, socket
 *
 * On disk:
 *   - regular files and directories keep their permission bits, plus u+rw
 *     (u+rwx for directories) so the host user can serve and replace them;
 *     set-id and sticky bits live only in the xattr;
 *   - device nodes become empty regular files (mode 0600) standing in for
 *     them, as rootless containers store them;
 *   - fifos and sockets stay what they are (engine light runs the same
 *     tree as is), with the permission bits on disk; owner, group and
 *     set-id bits, unless 0:0 and none, go to their directory's
 *     user.lbx.override_names record (override_stat.h);
 *   - symbolic links are chowned only: Linux keeps no user xattrs on them;
 *     a link not owned by root keeps its owner in its directory's
 *     user.lbx.override_names record (override_stat.h); the others show
 *     as root, the serving user's view.
 *
 * The walk does not follow symbolic links or cross into other file
 * systems. Run it once on a freshly unpacked tree: a second run would
 * record the host user as every object's owner.
 */
#ifndef LBX_IMAGES_OWNTREE_H
#define LBX_IMAGES_OWNTREE_H

#include <stddef.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "override_stat.h" /* the codec, shared with lbx-fsd */

#define OWNTREE_XATTR	  LBX_OVERRIDE_XATTR
#define OWNTREE_VALUE_MAX LBX_OVERRIDE_VALUE_MAX
/* A directory's names record (symbolic links' owners): what ext4 keeps in one block. */
#define OWNTREE_NAMES_MAX 4000

struct owntree_stats {
	unsigned long files, dirs, links, specials;
};

/* The xattr value for an object with this lstat() result; bytes written or -ENOSPC. */
int owntree_value(const struct stat *st, char *buf, size_t sz);
/* The mode an object gets on disk (for regular files and directories). */
mode_t owntree_disk_mode(mode_t mode);
/*
 * Convert the tree at dir so uid:gid owns everything. 0, or -errno with a
 * one-line message naming the object in err.
 */
int owntree_convert(const char *dir, uid_t uid, gid_t gid, struct owntree_stats *stats, char *err,
		    size_t errsz);

#endif
