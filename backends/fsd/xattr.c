/* SPDX-License-Identifier: MIT */
/*
 * GETXATTR, SETXATTR, LISTXATTR, REMOVEXATTR.
 *
 * Only the user.* namespace passes. trusted.* and security.* would let a
 * guest set what the host trusts (security.capability on a host binary,
 * overlayfs' trusted.overlay.*): set and remove are EOPNOTSUPP, get is
 * ENODATA, and listings leave them out. FSD_OVERRIDE_XATTR and
 * FSD_NAMES_XATTR are ours (ownership.c) and are hidden from the guest in every mode, so no guest
 * can forge the ownership a later xattr-mapped server would report; so are
 * the overlay namespaces below (set and remove EPERM, get ENODATA, never
 * listed).
 * Linux keeps user xattrs on regular files and directories only; the
 * calls go through /proc/self/fd, which names the inode itself.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <linux/limits.h>
#include <sys/xattr.h>

#include "fsd_priv.h"
#include "wire.h"

enum xname { XNAME_OK, XNAME_FOREIGN, XNAME_HIDDEN };

/*
 * Overlay file systems keep their own state in user xattrs when they run
 * unprivileged: overlayfs with "userxattr" reads user.overlay.* (opaque
 * directories, redirects, metacopy), fuse-overlayfs user.fuseoverlayfs.*.
 * A guest that could set them on a tree the host later uses as an overlay
 * layer would redirect lookups there; hidden like our ownership xattr.
 */
static const char *const hidden_prefixes[] = { "user.overlay.", "user.fuseoverlayfs." };

static enum xname classify(const char *name)
{
	if (!strcmp(name, FSD_OVERRIDE_XATTR) || !strcmp(name, FSD_NAMES_XATTR))
		return XNAME_HIDDEN;
	for (size_t i = 0; i < sizeof(hidden_prefixes) / sizeof(hidden_prefixes[0]); i++)
		if (!strncmp(name, hidden_prefixes[i], strlen(hidden_prefixes[i])))
			return XNAME_HIDDEN;
	return strncmp(name, "user.", 5) ? XNAME_FOREIGN : XNAME_OK;
}

static int read_xname(struct fsd_req *req, const char **name)
{
	size_t n;
	int err = lbx_read_cstr(&req->args, XATTR_NAME_MAX, name, &n);

	if (err)
		return fsd_refuse(req, err == -EMSGSIZE ? -ERANGE : -EINVAL);
	return n ? 0 : fsd_refuse(req, -EINVAL);
}

/* The node, if it may carry user xattrs; *path names it for the *xattr calls. */
static int target(struct fsd_req *req, struct fsd_inode **ino, char *path, size_t size)
{
	int err = fsd_node_get(req, req->nodeid, ino);

	if (err)
		return err;
	fsd_proc_path(*ino, path, size);
	return (*ino)->type == S_IFREG || (*ino)->type == S_IFDIR ? 0 : 1;
}

/* Reply to a size query (size 0) or with the bytes, as fuse.h's getxattr_out rules say. */
static int reply_sized(struct fsd_req *req, uint32_t size, const void *buf, size_t n)
{
	if (size == 0)
		return fsd_wr_u32_pad(&req->out, (uint32_t)n);
	if (n > size)
		return -ERANGE;
	return lbx_write_bytes(&req->out, buf, n) ? -ENOMEM : 0;
}

int fsd_op_getxattr(struct fsd_req *req)
{
	struct fsd_inode *ino;
	uint32_t size, pad;
	const char *name;
	char path[40], *buf;
	ssize_t n;
	int err;

	if (fsd_rd_xattr_size_in(&req->args, &size, &pad))
		return fsd_refuse(req, -EINVAL);
	if ((err = read_xname(req, &name)) || (err = fsd_args_end(req)))
		return err;
	if (classify(name) != XNAME_OK)
		return -ENODATA;
	if ((err = target(req, &ino, path, sizeof(path)))) {
		fsd_inode_put(req->fsd, ino);
		return err < 0 ? err : -ENODATA;
	}
	buf = malloc(FSD_XATTR_MAX);
	n = buf ? getxattr(path, name, buf, FSD_XATTR_MAX) : -1;
	err = n < 0 ? (buf ? -errno : -ENOMEM) : reply_sized(req, size, buf, (size_t)n);
	free(buf);
	fsd_inode_put(req->fsd, ino);
	return err;
}

/* Keep only the names the guest may see, in place; returns the new length. */
static size_t filter_list(char *list, size_t n)
{
	size_t in = 0, out = 0;

	while (in < n) {
		size_t l = strnlen(list + in, n - in);

		if (in + l < n && classify(list + in) == XNAME_OK) {
			memmove(list + out, list + in, l + 1);
			out += l + 1;
		}
		in += l + 1;
	}
	return out;
}

int fsd_op_listxattr(struct fsd_req *req)
{
	struct fsd_inode *ino;
	uint32_t size, pad;
	char path[40], *buf;
	ssize_t n;
	int err;

	if (fsd_rd_xattr_size_in(&req->args, &size, &pad))
		return fsd_refuse(req, -EINVAL);
	if ((err = fsd_args_end(req)))
		return err;
	if ((err = target(req, &ino, path, sizeof(path)))) {
		fsd_inode_put(req->fsd, ino);
		return err < 0 ? err : reply_sized(req, size, "", 0);
	}
	buf = malloc(FSD_XATTR_MAX);
	n = buf ? listxattr(path, buf, FSD_XATTR_MAX) : -1;
	if (n < 0)
		err = buf ? -errno : -ENOMEM;
	else
		err = reply_sized(req, size, buf, filter_list(buf, (size_t)n));
	free(buf);
	fsd_inode_put(req->fsd, ino);
	return err;
}

int fsd_op_setxattr(struct fsd_req *req)
{
	struct fsd_inode *ino;
	uint32_t size, flags;
	const char *name;
	const uint8_t *value;
	char path[40];
	int err;

	if (fsd_rd_xattr_size_in(&req->args, &size, &flags))
		return fsd_refuse(req, -EINVAL);
	if ((err = read_xname(req, &name)))
		return err;
	if (size > FSD_XATTR_MAX || lbx_read_bytes(&req->args, size, &value))
		return fsd_refuse(req, -EINVAL);
	if ((err = fsd_args_end(req)))
		return err;
	if (flags & ~(uint32_t)(XATTR_CREATE | XATTR_REPLACE))
		return -EINVAL;
	if (classify(name) != XNAME_OK)
		return classify(name) == XNAME_HIDDEN ? -EPERM : -EOPNOTSUPP;
	if ((err = target(req, &ino, path, sizeof(path)))) {
		fsd_inode_put(req->fsd, ino);
		return err < 0 ? err : -EPERM;
	}
	err = setxattr(path, name, value, size, (int)flags) < 0 ? -errno : 0;
	fsd_inode_put(req->fsd, ino);
	return err;
}

int fsd_op_removexattr(struct fsd_req *req)
{
	struct fsd_inode *ino;
	const char *name;
	char path[40];
	int err;

	if ((err = read_xname(req, &name)) || (err = fsd_args_end(req)))
		return err;
	if (classify(name) != XNAME_OK)
		return classify(name) == XNAME_HIDDEN ? -EPERM : -EOPNOTSUPP;
	if ((err = target(req, &ino, path, sizeof(path)))) {
		fsd_inode_put(req->fsd, ino);
		return err < 0 ? err : -EPERM;
	}
	err = removexattr(path, name) < 0 ? -errno : 0;
	fsd_inode_put(req->fsd, ino);
	return err;
}
