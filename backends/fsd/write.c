/* SPDX-License-Identifier: MIT */
/*
 * WRITE (fuse_write_in + size bytes of data). The data is the one part of
 * a request used in place (fsd.h): its length must match write_in.size
 * exactly, and it only ever goes to pwritev.
 */
#include <errno.h>
#include <limits.h>
#include <sys/uio.h>

#include "fsd_priv.h"
#include "wire.h"

#define FSD_MAX_IOV 1024

int fsd_op_write(struct fsd_req *req)
{
	struct iovec iov[FSD_MAX_IOV];
	struct fuse_write_in in;
	struct fsd_quota_op q;
	struct fsd_file *f;
	size_t got;
	int err;
	unsigned cnt;
	ssize_t n;

	if (fsd_rd_write_in(&req->args, &in) || lbx_read_end(&req->args))
		return fsd_refuse(req, -EINVAL);
	if (in.size != req->payload_len || in.offset > (uint64_t)INT64_MAX - in.size)
		return fsd_refuse(req, -EINVAL);
	f = fsd_file_get(req->fsd, in.fh, false);
	if (!f)
		return fsd_refuse(req, -EBADF);
	got = fsd_iov_slice(req->payload, req->npayload, req->payload_off, in.size, iov,
			    FSD_MAX_IOV, &cnt);
	err = fsd_quota_begin(req->fsd, f->fd, in.offset + got, &q);
	if (err) {
		fsd_file_put(req->fsd, f);
		return err;
	}
	n = got ? pwritev(f->fd, iov, (int)cnt, (off_t)in.offset) : 0;
	err = n < 0 ? -errno : 0;
	if (n > 0 && req->fsd->watch)
		fsd_file_changed(f); /* the guest knows of this change (watch.c) */
	fsd_quota_end(req->fsd, f->fd, &q);
	fsd_file_put(req->fsd, f);
	if (err)
		return err;
	return fsd_wr_u32_pad(&req->out, (uint32_t)n);
}
