/* SPDX-License-Identifier: MIT */
/* UNLINK and RMDIR: one checked name under a directory node. */
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fsd_priv.h"

static int remove_name(struct fsd_req *req, int flags)
{
	struct fsd_inode *dir;
	const char *name;
	struct stat st;
	bool known;
	int err;

	if ((err = fsd_read_name(req, &name)) || (err = fsd_args_end(req)))
		return err;
	err = fsd_parent_get(req, req->nodeid, &dir);
	if (err)
		return err;
	/* An inode that loses the name it would be reopened by stays open (inode.c). */
	known = fstatat(dir->fd, name, &st, AT_SYMLINK_NOFOLLOW) == 0;
	err = unlinkat(dir->fd, name, flags) < 0 ? -errno : 0;
	if (!err && known) {
		fsd_inode_unlinked(req->fsd, &st, dir, name);
		fsd_quota_removed(req->fsd, &st);
		fsd_owner_unlinked(req->fsd, dir, name, &st);
	}
	fsd_inode_put(req->fsd, dir);
	return err;
}

int fsd_op_unlink(struct fsd_req *req)
{
	return remove_name(req, 0);
}

int fsd_op_rmdir(struct fsd_req *req)
{
	return remove_name(req, AT_REMOVEDIR);
}
