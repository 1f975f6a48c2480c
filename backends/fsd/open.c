/* SPDX-License-Identifier: MIT */
/*
 * OPEN, FLUSH, RELEASE and FSYNC of regular files.
 *
 * Open flags from the guest are filtered to what a data fd needs; nothing
 * that changes how a name resolves (O_CREAT, O_PATH, O_TMPFILE, O_DIRECTORY)
 * gets through, and O_NOFOLLOW is always set. O_DIRECT and O_NOATIME are
 * dropped (our buffers are not aligned; the host may refuse NOATIME).
 * With the writeback cache the kernel reads around partial writes and
 * handles O_APPEND itself, so O_WRONLY becomes O_RDWR and O_APPEND goes
 * (fuse.h, FUSE_WRITEBACK_CACHE).
 */
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include "fsd_priv.h"
#include "wire.h"

#define FSD_OPEN_PASS (O_ACCMODE | O_APPEND | O_TRUNC | O_NONBLOCK | O_SYNC | O_DSYNC)

int fsd_open_flags(const struct fsd *fsd, uint32_t guest, int *flags)
{
	int f = (int)guest & FSD_OPEN_PASS;

	if ((f & O_ACCMODE) == O_ACCMODE)
		return -EINVAL;
	if (fsd->opt.read_only && ((f & O_ACCMODE) != O_RDONLY || (f & O_TRUNC)))
		return -EROFS;
	if (fsd->opt.writeback && !fsd->opt.read_only) {
		if ((f & O_ACCMODE) == O_WRONLY)
			f = (f & ~O_ACCMODE) | O_RDWR;
		f &= ~O_APPEND;
	}
	*flags = f | O_NOFOLLOW | O_CLOEXEC;
	return 0;
}

uint32_t fsd_fopen_flags(const struct fsd *fsd)
{
	return fsd->opt.keep_cache ? FOPEN_KEEP_CACHE : 0;
}

int fsd_op_open(struct fsd_req *req)
{
	struct fuse_open_in in;
	struct fsd_quota_op q;
	struct fsd_inode *ino;
	uint64_t fh;
	int err, flags, fd;

	if (fsd_rd_open_in(&req->args, &in))
		return fsd_refuse(req, -EINVAL);
	if ((err = fsd_args_end(req)) || (err = fsd_open_flags(req->fsd, in.flags, &flags)))
		return err;
	err = fsd_node_get(req, req->nodeid, &ino);
	if (err)
		return err;
	if (ino->type == S_IFDIR) {
		fsd_inode_put(req->fsd, ino);
		return -EISDIR;
	}
	q.on = false; /* O_TRUNC frees what the file used (quota.c) */
	if ((flags & O_TRUNC) && (err = fsd_quota_begin(req->fsd, ino->fd, 0, &q))) {
		fsd_inode_put(req->fsd, ino);
		return err;
	}
	fd = fsd_inode_open(req->fsd, ino, flags);
	if (fd == -EACCES && req->fsd->opt.writeback && (in.flags & O_ACCMODE) == O_WRONLY)
		fd = fsd_inode_open(req->fsd, ino, (flags & ~O_ACCMODE) | O_WRONLY);
	fsd_quota_end(req->fsd, ino->fd, &q);
	if (fd < 0) {
		fsd_inode_put(req->fsd, ino);
		return fd;
	}
	err = fsd_file_add(req->fsd, fd, ino, false, &fh); /* takes fd and the ref */
	if (err)
		return err;
	return fsd_wr_open_out(&req->out, fh, fsd_fopen_flags(req->fsd));
}

int fsd_op_flush(struct fsd_req *req)
{
	struct fuse_flush_in in;
	struct fsd_file *f;

	if (fsd_rd_flush_in(&req->args, &in) || lbx_read_end(&req->args))
		return fsd_refuse(req, -EINVAL);
	f = fsd_file_get(req->fsd, in.fh, false);
	if (!f)
		return fsd_refuse(req, -EBADF);
	fsd_file_put(req->fsd, f);
	return 0;
}

int fsd_op_release(struct fsd_req *req)
{
	struct fuse_release_in in;

	if (fsd_rd_release_in(&req->args, &in) || lbx_read_end(&req->args))
		return fsd_refuse(req, -EINVAL);
	return fsd_file_release(req->fsd, in.fh, false) ? fsd_refuse(req, -EBADF) : 0;
}

int fsd_sync_file(struct fsd_req *req, bool dir)
{
	struct fuse_fsync_in in;
	struct fsd_file *f;
	int r;

	if (fsd_rd_fsync_in(&req->args, &in) || lbx_read_end(&req->args))
		return fsd_refuse(req, -EINVAL);
	f = fsd_file_get(req->fsd, in.fh, dir);
	if (!f)
		return fsd_refuse(req, -EBADF);
	r = (in.fsync_flags & FUSE_FSYNC_FDATASYNC) ? fdatasync(f->fd) : fsync(f->fd);
	r = r < 0 ? -errno : 0;
	fsd_file_put(req->fsd, f);
	return r;
}

int fsd_op_fsync(struct fsd_req *req)
{
	return fsd_sync_file(req, false);
}
