/* SPDX-License-Identifier: MIT */
/* GETATTR (fuse_getattr_in; FUSE_GETATTR_FH means "through this open file"). */
#include <errno.h>

#include "fsd_priv.h"
#include "wire.h"

int fsd_op_getattr(struct fsd_req *req)
{
	struct fuse_getattr_in in;
	struct fsd_inode *ino;
	struct stat st;
	int err;

	if (fsd_rd_getattr_in(&req->args, &in))
		return fsd_refuse(req, -EINVAL);
	if ((err = fsd_args_end(req)))
		return err;
	err = fsd_node_get(req, req->nodeid, &ino);
	if (err)
		return err;
	err = fsd_stat(req->fsd, ino, &st);
	if (!err)
		err = fsd_write_attr_out(req, &st);
	fsd_inode_put(req->fsd, ino);
	return err;
}
