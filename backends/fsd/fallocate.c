/* SPDX-License-Identifier: MIT */
/*
 * FALLOCATE (fuse_fallocate_in). Modes the kernel passes on: KEEP_SIZE,
 * PUNCH_HOLE, ZERO_RANGE (fuse_file_fallocate); anything else is
 * EOPNOTSUPP here too, so COLLAPSE/INSERT never reach the host.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/falloc.h>

#include "fsd_priv.h"
#include "wire.h"

#define FSD_FALLOC_MODES (FALLOC_FL_KEEP_SIZE | FALLOC_FL_PUNCH_HOLE | FALLOC_FL_ZERO_RANGE)

int fsd_op_fallocate(struct fsd_req *req)
{
	struct fuse_fallocate_in in;
	struct fsd_quota_op q;
	struct fsd_file *f;
	uint64_t end;
	int err;

	if (fsd_rd_fallocate_in(&req->args, &in) || lbx_read_end(&req->args))
		return fsd_refuse(req, -EINVAL);
	if (in.mode & ~(uint32_t)FSD_FALLOC_MODES)
		return -EOPNOTSUPP;
	if (in.offset > INT64_MAX || in.length > INT64_MAX)
		return -EINVAL;
	f = fsd_file_get(req->fsd, in.fh, false);
	if (!f)
		return fsd_refuse(req, -EBADF);
	/* A punched hole frees; any other mode may allocate up to offset + length. */
	end = (in.mode & FALLOC_FL_PUNCH_HOLE) ? 0 : in.offset + in.length;
	err = fsd_quota_begin(req->fsd, f->fd, end, &q);
	if (!err) {
		err = fallocate(f->fd, (int)in.mode, (off_t)in.offset, (off_t)in.length) < 0
			  ? -errno
			  : 0;
		fsd_quota_end(req->fsd, f->fd, &q);
	}
	if (!err && req->fsd->watch)
		fsd_file_changed(f); /* the guest knows of this change (watch.c) */
	fsd_file_put(req->fsd, f);
	return err;
}
