/* SPDX-License-Identifier: MIT */
/*
 * ACCESS (fuse_access_in { mask }). Mounts use default_permissions (the
 * kernel checks modes itself, as virtio-fs always does), so this comes
 * only from kernels that ask anyway. Answered from the attributes the
 * guest sees, for the caller's uid and gid (FUSE carries no
 * supplementary groups); write access on a read-only tree is EROFS.
 */
#include <errno.h>
#include <unistd.h>

#include "fsd_priv.h"

static int check(const struct stat *st, uint32_t uid, uint32_t gid, uint32_t mask)
{
	mode_t m = st->st_mode;
	unsigned bits;

	if (uid == 0) {
		/* root passes except X on a file nobody may execute */
		if ((mask & X_OK) && !S_ISDIR(m) && !(m & (S_IXUSR | S_IXGRP | S_IXOTH)))
			return -EACCES;
		return 0;
	}
	if (uid == st->st_uid)
		bits = (m >> 6) & 7;
	else if (gid == st->st_gid)
		bits = (m >> 3) & 7;
	else
		bits = m & 7;
	return (mask & 7 & ~bits) ? -EACCES : 0;
}

int fsd_op_access(struct fsd_req *req)
{
	struct fsd_inode *ino;
	uint32_t mask, pad;
	struct stat st;
	int err;

	if (lbx_read_u32le(&req->args, &mask) || lbx_read_u32le(&req->args, &pad))
		return fsd_refuse(req, -EINVAL);
	if ((err = fsd_args_end(req)))
		return err;
	if ((mask & W_OK) && req->fsd->opt.read_only)
		return -EROFS;
	err = fsd_node_get(req, req->nodeid, &ino);
	if (err)
		return err;
	err = fsd_stat(req->fsd, ino, &st);
	fsd_inode_put(req->fsd, ino);
	return err ? err : check(&st, req->uid, req->gid, mask);
}
