/* SPDX-License-Identifier: MIT */
/*
 * SETATTR (fuse_setattr_in): mode, owner, size and times, in that order,
 * then the new attributes. With FATTR_FH the open file is used.
 * Ownership and mode go through the ownership view (ownership.c): with
 * xattr mapping only the record changes (ownership.c), never the host owner.
 */
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fsd_priv.h"
#include "wire.h"

#define NSEC_PER_SEC 1000000000u

/* Xattr mapping: merge the change into the current view and store it. */
static int set_override(struct fsd_req *req, struct fsd_inode *ino,
			const struct fuse_setattr_in *in)
{
	struct fsd_override ov;
	mode_t perm, vtype;
	struct stat st;
	char path[40];
	int err;

	err = fsd_stat(req->fsd, ino, &st);
	if (err)
		return err;
	ov.uid = (in->valid & FATTR_UID) ? in->uid : st.st_uid;
	ov.gid = (in->valid & FATTR_GID) ? in->gid : st.st_gid;
	perm = ((in->valid & FATTR_MODE) ? in->mode : st.st_mode) & 07777;
	vtype = st.st_mode & S_IFMT; /* a faked device keeps its TYPE */
	ov.mode = (vtype == ino->type ? 0 : vtype) | perm;
	ov.rdev = st.st_rdev;
	err = fsd_owner_store(req->fsd, ino, &ov);
	/* A symlink, FIFO or socket has its bits set by the store (ownership.c). */
	if (err || !(in->valid & FATTR_MODE) || (ino->type != S_IFREG && ino->type != S_IFDIR))
		return err;
	fsd_proc_path(ino, path, sizeof(path));
	return chmod(path, fsd_host_mode(req->fsd, ino->type, in->mode)) < 0 ? -errno : 0;
}

static int set_mode(struct fsd_req *req, struct fsd_inode *ino, struct fsd_file *f, mode_t mode)
{
	char path[40];
	int r;

	if (ino->type == S_IFLNK)
		return -EOPNOTSUPP; /* Linux has no modes on symlinks */
	mode = fsd_host_mode(req->fsd, ino->type, mode);
	if (f) {
		r = fchmod(f->fd, mode);
	} else {
		fsd_proc_path(ino, path, sizeof(path));
		r = chmod(path, mode);
	}
	return r < 0 ? -errno : 0;
}

static int set_owner(struct fsd_inode *ino, const struct fuse_setattr_in *in)
{
	uid_t uid = (in->valid & FATTR_UID) ? in->uid : (uid_t)-1;
	gid_t gid = (in->valid & FATTR_GID) ? in->gid : (gid_t)-1;

	if (fchownat(ino->fd, "", uid, gid, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) < 0)
		return -errno;
	return 0;
}

static int truncate_to(struct fsd_req *req, struct fsd_inode *ino, struct fsd_file *f,
		       uint64_t size)
{
	int fd, r;

	if (f)
		return ftruncate(f->fd, (off_t)size) < 0 ? -errno : 0;
	fd = fsd_inode_open(req->fsd, ino, O_WRONLY);
	if (fd < 0)
		return fd;
	r = ftruncate(fd, (off_t)size) < 0 ? -errno : 0;
	close(fd);
	return r;
}

static int set_size(struct fsd_req *req, struct fsd_inode *ino, struct fsd_file *f, uint64_t size)
{
	struct fsd_quota_op q;
	int r;

	if (ino->type == S_IFDIR)
		return -EISDIR;
	if (ino->type != S_IFREG)
		return -EINVAL;
	if (size > INT64_MAX)
		return -EFBIG;
	r = fsd_quota_begin(req->fsd, ino->fd, size, &q); /* a larger size counts (quota.c) */
	if (r)
		return r;
	r = truncate_to(req, ino, f, size);
	fsd_quota_end(req->fsd, ino->fd, &q);
	return r;
}

static int pick_time(uint32_t valid, uint32_t set, uint32_t now, uint64_t sec, uint32_t nsec,
		     struct timespec *ts)
{
	ts->tv_sec = 0;
	if (valid & now) {
		ts->tv_nsec = UTIME_NOW;
	} else if (valid & set) {
		if (nsec >= NSEC_PER_SEC || sec > INT64_MAX)
			return -EINVAL;
		ts->tv_sec = (time_t)sec;
		ts->tv_nsec = nsec;
	} else {
		ts->tv_nsec = UTIME_OMIT;
	}
	return 0;
}

static int set_times(struct fsd_inode *ino, const struct fuse_setattr_in *in)
{
	struct timespec ts[2];

	if (pick_time(in->valid, FATTR_ATIME, FATTR_ATIME_NOW, in->atime, in->atimensec, &ts[0]) ||
	    pick_time(in->valid, FATTR_MTIME, FATTR_MTIME_NOW, in->mtime, in->mtimensec, &ts[1]))
		return -EINVAL;
	if (utimensat(ino->fd, "", ts, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) < 0)
		return -errno;
	return 0;
}

static int apply(struct fsd_req *req, struct fsd_inode *ino, struct fsd_file *f,
		 const struct fuse_setattr_in *in)
{
	bool xattr = req->fsd->opt.ownership == FSD_OWNERSHIP_XATTR;
	int err = 0;

	if (xattr && (in->valid & (FATTR_MODE | FATTR_UID | FATTR_GID)))
		err = set_override(req, ino, in);
	if (!xattr && !err && (in->valid & FATTR_MODE))
		err = set_mode(req, ino, f, in->mode);
	if (!xattr && !err && (in->valid & (FATTR_UID | FATTR_GID)))
		err = set_owner(ino, in);
	if (!err && (in->valid & FATTR_SIZE))
		err = set_size(req, ino, f, in->size);
	if (!err && (in->valid & (FATTR_ATIME | FATTR_MTIME | FATTR_ATIME_NOW | FATTR_MTIME_NOW)))
		err = set_times(ino, in);
	return err;
}

int fsd_op_setattr(struct fsd_req *req)
{
	struct fuse_setattr_in in;
	struct fsd_file *f = NULL;
	struct fsd_inode *ino;
	struct stat st;
	int err;

	if (fsd_rd_setattr_in(&req->args, &in))
		return fsd_refuse(req, -EINVAL);
	if ((err = fsd_args_end(req)))
		return err;
	err = fsd_node_get(req, req->nodeid, &ino);
	if (err)
		return err;
	if ((in.valid & FATTR_FH) && !(f = fsd_file_get(req->fsd, in.fh, false)))
		err = fsd_refuse(req, -EBADF);
	else if (f && f->inode != ino)
		err = fsd_refuse(req, -EBADF);
	if (!err)
		err = apply(req, ino, f, &in);
	if (!err)
		err = fsd_stat(req->fsd, ino, &st);
	if (!err)
		err = fsd_write_attr_out(req, &st);
	if (f)
		fsd_file_put(req->fsd, f);
	fsd_inode_put(req->fsd, ino);
	return err;
}
