/* SPDX-License-Identifier: MIT */
/* UNLINK and RMDIR: one checked name under a directory node. */
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include "fsd_priv.h"

static int remove_name(struct fsd_req *req, int flags)
{
	struct fsd_inode *dir;
	const char *name;
	int err;

	if ((err = fsd_read_name(req, &name)) || (err = fsd_args_end(req)))
		return err;
	err = fsd_parent_get(req, req->nodeid, &dir);
	if (err)
		return err;
	err = unlinkat(dir->fd, name, flags) < 0 ? -errno : 0;
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
