/* SPDX-License-Identifier: MIT */
/*
 * READ (fuse_read_in): data goes straight from the host file into the
 * transport's reply buffers after fuse_out_header, with no bounce copy.
 */
#include <errno.h>
#include <limits.h>
#include <sys/uio.h>

#include "fsd_priv.h"
#include "wire.h"

#define FSD_MAX_IOV 1024

int fsd_op_read(struct fsd_req *req)
{
	struct iovec iov[FSD_MAX_IOV];
	struct fuse_read_in in;
	struct fsd_file *f;
	size_t want, got;
	unsigned cnt;
	ssize_t n;

	if (fsd_rd_read_in(&req->args, &in) || lbx_read_end(&req->args))
		return fsd_refuse(req, -EINVAL);
	if (in.offset > INT64_MAX)
		return -EINVAL;
	f = fsd_file_get(req->fsd, in.fh, false);
	if (!f)
		return fsd_refuse(req, -EBADF);
	want = LBX_MIN((size_t)in.size, (size_t)req->fsd->opt.max_write);
	if (req->reply_cap < FSD_OUT_HEADER_SIZE)
		want = 0;
	else
		want = LBX_MIN(want, req->reply_cap - FSD_OUT_HEADER_SIZE);
	got = fsd_iov_slice(req->reply, req->nreply, FSD_OUT_HEADER_SIZE, want, iov, FSD_MAX_IOV, &cnt);
	n = got ? preadv(f->fd, iov, (int)cnt, (off_t)in.offset) : 0;
	fsd_file_put(req->fsd, f);
	if (n < 0)
		return -errno;
	req->direct_len = (size_t)n;
	return 0;
}
