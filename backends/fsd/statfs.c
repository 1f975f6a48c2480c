/* SPDX-License-Identifier: MIT */
/*
 * STATFS: the host file system's figures under the node (fuse_kstatfs);
 * with --quota-bytes the size is the quota and free space what is left of
 * it (quota.c), so df in the guest shows the quota.
 */
#include <errno.h>
#include <string.h>
#include <sys/statfs.h>

#include "fsd_priv.h"
#include "wire.h"

int fsd_op_statfs(struct fsd_req *req)
{
	struct fuse_kstatfs k;
	struct fsd_inode *ino;
	struct statfs s;
	int err;

	if ((err = fsd_args_end(req)))
		return err;
	err = fsd_node_get(req, req->nodeid, &ino);
	if (err)
		return err;
	err = fstatfs(ino->fd, &s) < 0 ? -errno : 0;
	fsd_inode_put(req->fsd, ino);
	if (err)
		return err;
	memset(&k, 0, sizeof(k));
	k.blocks = s.f_blocks;
	k.bfree = s.f_bfree;
	k.bavail = s.f_bavail;
	if (req->fsd->opt.quota_bytes && s.f_frsize) {
		/* the quota is the size; free is what is left of it, if the host has that much */
		uint64_t left = fsd_quota_left(req->fsd) / (uint64_t)s.f_frsize;

		k.blocks = req->fsd->opt.quota_bytes / (uint64_t)s.f_frsize;
		k.bfree = LBX_MIN((uint64_t)s.f_bfree, left);
		k.bavail = LBX_MIN((uint64_t)s.f_bavail, left);
	}
	k.files = s.f_files;
	k.ffree = s.f_ffree;
	k.bsize = (uint32_t)s.f_bsize;
	k.namelen = (uint32_t)s.f_namelen;
	k.frsize = (uint32_t)s.f_frsize;
	return fsd_wr_kstatfs(&req->out, &k);
}
