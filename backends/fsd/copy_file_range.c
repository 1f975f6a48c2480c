/* SPDX-License-Identifier: MIT */
/*
 * COPY_FILE_RANGE (fuse_copy_file_range_in): host-side copy between two
 * open handles of this tree, so reflinks and server-side copies work
 * without the data crossing into the guest. Flags must be 0 (as in
 * copy_file_range(2)); the reply is a fuse_write_out.
 */
#include <errno.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fsd_priv.h"
#include "wire.h"

int fsd_op_copy_file_range(struct fsd_req *req)
{
	struct fuse_copy_file_range_in in;
	struct fsd_file *src, *dst;
	loff_t off_in, off_out;
	ssize_t n = -1;
	int err = 0;

	if (fsd_rd_copy_file_range_in(&req->args, &in) || lbx_read_end(&req->args))
		return fsd_refuse(req, -EINVAL);
	if (in.flags || in.off_in > INT64_MAX || in.off_out > INT64_MAX)
		return -EINVAL;
	src = fsd_file_get(req->fsd, in.fh_in, false);
	dst = fsd_file_get(req->fsd, in.fh_out, false);
	if (!src || !dst) {
		err = fsd_refuse(req, -EBADF);
	} else {
		uint64_t len = LBX_MIN(in.len, (uint64_t)UINT32_MAX);
		struct fsd_quota_op q;
		struct stat st;

		/* what can be copied is bounded by the source's end */
		if (fstat(src->fd, &st) == 0)
			len = (uint64_t)st.st_size > in.off_in
				  ? LBX_MIN(len, (uint64_t)st.st_size - in.off_in)
				  : 0;
		off_in = (loff_t)in.off_in;
		off_out = (loff_t)in.off_out;
		err = fsd_quota_begin(req->fsd, dst->fd, len ? in.off_out + len : 0, &q);
		if (!err) {
			n = copy_file_range(src->fd, &off_in, dst->fd, &off_out,
					    LBX_MIN(in.len, (uint64_t)UINT32_MAX), 0);
			if (n < 0)
				err = -errno;
			fsd_quota_end(req->fsd, dst->fd, &q);
			if (n > 0 && req->fsd->watch)
				fsd_file_changed(dst); /* the guest knows (watch.c) */
		}
	}
	if (src)
		fsd_file_put(req->fsd, src);
	if (dst)
		fsd_file_put(req->fsd, dst);
	return err ? err : fsd_wr_u32_pad(&req->out, (uint32_t)n);
}
