/* SPDX-License-Identifier: MIT */
/*
 * RENAME (fuse_rename_in { newdir }) and RENAME2 (fuse_rename2_in
 * { newdir, flags }), each followed by the old and the new name. Both
 * directories are node ids of this tree and both names single checked
 * components, so a rename can neither take a file out of the tree nor
 * bring one in. RENAME2 flags: RENAME_NOREPLACE and RENAME_EXCHANGE;
 * RENAME_WHITEOUT (overlayfs' business) is EINVAL.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>

#include "fsd_priv.h"
#include "wire.h"

/*
 * The inode table reopens evicted inodes by name (inode.c): tell it where
 * the renamed ones are now. src and dst are what the two names were
 * before, each NULL if unknown.
 */
static void record(struct fsd *fsd, struct fsd_inode *from, const char *oldname,
		   const struct stat *src, struct fsd_inode *to, const char *newname,
		   const struct stat *dst, uint32_t flags)
{
	if (dst && (flags & RENAME_EXCHANGE)) {
		fsd_inode_moved(fsd, dst, to, newname, from, oldname);
	} else if (dst) {
		fsd_inode_unlinked(fsd, dst, to, newname);
		/* renamed over: the old file is gone, unless both names were one file */
		if (!src || src->st_dev != dst->st_dev || src->st_ino != dst->st_ino)
			fsd_quota_removed(fsd, dst);
	}
	if (src)
		fsd_inode_moved(fsd, src, from, oldname, to, newname);
}

static int do_rename(struct fsd_req *req, uint64_t newdir, uint32_t flags)
{
	struct fsd_inode *from = NULL, *to = NULL;
	const char *oldname, *newname;
	struct stat src, dst;
	bool have_src = false, have_dst = false;
	int err;

	if ((err = fsd_read_name(req, &oldname)) || (err = fsd_read_name(req, &newname)) ||
	    (err = fsd_args_end(req)))
		return err;
	if (flags & ~(uint32_t)(RENAME_NOREPLACE | RENAME_EXCHANGE))
		return fsd_refuse(req, -EINVAL);
	err = fsd_parent_get(req, req->nodeid, &from);
	if (!err)
		err = fsd_parent_get(req, newdir, &to);
	if (!err) {
		have_src = fstatat(from->fd, oldname, &src, AT_SYMLINK_NOFOLLOW) == 0;
		have_dst = fstatat(to->fd, newname, &dst, AT_SYMLINK_NOFOLLOW) == 0;
		if (renameat2(from->fd, oldname, to->fd, newname, flags) < 0)
			err = -errno;
	}
	if (!err) {
		record(req->fsd, from, oldname, have_src ? &src : NULL, to, newname,
		       have_dst ? &dst : NULL, flags);
		fsd_owner_renamed(req->fsd, from, oldname, have_src ? &src : NULL, to, newname,
				  have_dst ? &dst : NULL, flags);
	}
	fsd_inode_put(req->fsd, from);
	fsd_inode_put(req->fsd, to);
	return err;
}

int fsd_op_rename(struct fsd_req *req)
{
	uint64_t newdir;

	if (lbx_read_u64le(&req->args, &newdir))
		return fsd_refuse(req, -EINVAL);
	return do_rename(req, newdir, 0);
}

int fsd_op_rename2(struct fsd_req *req)
{
	struct fuse_rename2_in in;

	if (fsd_rd_rename2_in(&req->args, &in))
		return fsd_refuse(req, -EINVAL);
	return do_rename(req, in.newdir, in.flags);
}
