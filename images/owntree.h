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
 *   - device nodes, fifos and sockets become empty regular files (mode
 *     0600) standing in for them, as rootless containers store them;
 *   - symbolic links are chowned only: Linux keeps no user xattrs on them,
 *     and lbx-fsd shows them with the serving user as root.
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

#define OWNTREE_XATTR "user.containers.override_stat"
/* Longest value: "4294967295:4294967295:07777:block-4095-1048575" and a NUL. */
#define OWNTREE_VALUE_MAX 64

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
int owntree_convert(const char *dir, uid_t uid, gid_t gid, struct owntree_stats *stats,
		    char *err, size_t errsz);

#endif
