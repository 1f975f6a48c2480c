/* SPDX-License-Identifier: MIT */
/* LSEEK (fuse_lseek_in): SEEK_DATA and SEEK_HOLE for sparse files; the rest as lseek(2). */
#include <errno.h>
#include <unistd.h>

#include "fsd_priv.h"
#include "wire.h"

int fsd_op_lseek(struct fsd_req *req)
{
	struct fuse_lseek_in in;
	struct fsd_file *f;
	off_t off;

	if (fsd_rd_lseek_in(&req->args, &in) || lbx_read_end(&req->args))
		return fsd_refuse(req, -EINVAL);
	if (in.whence != SEEK_SET && in.whence != SEEK_CUR && in.whence != SEEK_END &&
	    in.whence != SEEK_DATA && in.whence != SEEK_HOLE)
		return -EINVAL;
	f = fsd_file_get(req->fsd, in.fh, false);
	if (!f)
		return fsd_refuse(req, -EBADF);
	off = lseek(f->fd, (off_t)in.offset, (int)in.whence);
	fsd_file_put(req->fsd, f);
	if (off < 0)
		return -errno;
	return lbx_write_u64le(&req->out, (uint64_t)off) ? -ENOMEM : 0;
}
