/* SPDX-License-Identifier: MIT */
/*
 * CREATE (fuse_create_in + name): create-and-open in one step, replying
 * with the new entry and an open handle. The file is created exclusively
 * first, so we know whether it is new (xattr mapping records the caller as
 * owner only then); without the guest's O_EXCL an existing file is opened,
 * and only a regular file: the name is opened O_PATH first, its type
 * checked on that fd (a FIFO or a device node is ENXIO, as OPEN answers,
 * a directory EISDIR, a symlink ELOOP), and the data fd is reopened from
 * that very inode through /proc/self/fd, so a name swapped in between
 * cannot make us open a FIFO (a hung worker) or a device.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "fsd_priv.h"
#include "wire.h"

static int open_how(int dirfd, const char *name, struct open_how *how)
{
	long fd = syscall(SYS_openat2, dirfd, name, how, sizeof(*how));

	return fd < 0 ? -errno : (int)fd;
}

static int open_create(struct fsd_req *req, struct fsd_inode *dir, const char *name, int flags,
		       mode_t mode)
{
	struct open_how how = {
		.flags = (uint64_t)flags | O_NOCTTY, /* O_CREAT | O_EXCL: only ever a new file */
		.mode = fsd_host_mode(req->fsd, S_IFREG, mode),
		.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_SYMLINKS,
	};
	struct fsd_creds c;
	int fd;

	fsd_creds_enter(req, &c);
	fd = open_how(dir->fd, name, &how);
	if (fsd_out_of_fds(req->fsd, fd))
		fd = open_how(dir->fd, name, &how); /* EMFILE comes before any file is made */
	fsd_creds_leave(&c);
	return fd;
}

/*
 * CREATE of a name that exists, without O_EXCL: open it only if it is a
 * regular file. *pfd gets the O_PATH fd the data fd was reopened from.
 */
static int open_existing(struct fsd_req *req, struct fsd_inode *dir, const char *name, int flags,
			 int *pfd)
{
	struct fsd_quota_op q;
	struct fsd_creds c;
	struct stat st;
	char num[16];
	int p = fsd_open_beneath(req->fsd, dir->fd, name), fd;

	if (p < 0)
		return p;
	if (fstat(p, &st) < 0)
		st.st_mode = 0;
	if (!S_ISREG(st.st_mode)) {
		fd = S_ISDIR(st.st_mode) ? -EISDIR : S_ISLNK(st.st_mode) ? -ELOOP : -ENXIO;
		close(p);
		return fd;
	}
	if (((flags & O_ACCMODE) != O_RDONLY || (flags & O_TRUNC)) &&
	    fsd_protect_stat(req->fsd, &st)) {
		close(p);
		return -EROFS; /* a hard link of a protected file (protect.c) */
	}
	snprintf(num, sizeof(num), "%d", p);
	q.on = false; /* O_TRUNC frees what the file used (quota.c) */
	if ((flags & O_TRUNC) && (fd = fsd_quota_begin(req->fsd, p, 0, &q))) {
		close(p);
		return fd;
	}
	fsd_creds_enter(req, &c);
	fd = openat(req->fsd->proc_fd, num, (flags & ~O_NOFOLLOW) | O_NONBLOCK | O_NOCTTY);
	if (fd < 0 && fsd_out_of_fds(req->fsd, -errno))
		fd = openat(req->fsd->proc_fd, num, (flags & ~O_NOFOLLOW) | O_NONBLOCK | O_NOCTTY);
	fd = fd < 0 ? -errno : fd;
	fsd_creds_leave(&c);
	fsd_quota_end(req->fsd, p, &q);
	/* O_NONBLOCK was only for the open: a regular file's reads never block anyway. */
	if (fd >= 0 && !(flags & O_NONBLOCK) && fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) < 0) {
		close(fd);
		fd = -errno;
	}
	if (fd < 0) {
		close(p);
		return fd;
	}
	*pfd = p;
	return fd;
}

/* An O_PATH fd for the very inode fd has open, for the inode table. */
static int path_of(struct fsd *fsd, int fd)
{
	char name[16];
	int p;

	snprintf(name, sizeof(name), "%d", fd);
	p = openat(fsd->proc_fd, name, O_PATH | O_CLOEXEC);
	if (p < 0 && fsd_out_of_fds(fsd, -errno))
		p = openat(fsd->proc_fd, name, O_PATH | O_CLOEXEC);
	return p < 0 ? -errno : p;
}

static int reply_created(struct fsd_req *req, struct fsd_inode *dir, const char *name, int fd,
			 int pfd, mode_t mode, bool fresh)
{
	struct fsd_inode *ino;
	struct stat st;
	uint64_t fh;
	int err;

	if (pfd < 0)
		pfd = path_of(req->fsd, fd);
	if (pfd < 0) {
		close(fd);
		return pfd;
	}
	err = fsd_learn_fd(req, dir, name, pfd, &ino, &st);
	if (err) {
		close(fd);
		return err;
	}
	if (fresh && req->fsd->opt.ownership == FSD_OWNERSHIP_XATTR &&
	    !(err = fsd_owner_init_new(req, dir, ino, S_IFREG | (mode & 07777), 0)))
		err = fsd_stat(req->fsd, ino, &st);
	if (!err)
		err = fsd_write_entry(req, ino, &st);
	if (err) {
		fsd_inode_forget(req->fsd, ino->nodeid, 1);
		fsd_inode_put(req->fsd, ino);
		close(fd);
		return err;
	}
	err = fsd_file_add(req->fsd, fd, ino, false, &fh); /* takes fd and the ref */
	if (err)
		return err;
	return fsd_wr_open_out(&req->out, fh, fsd_fopen_flags(req->fsd));
}

int fsd_op_create(struct fsd_req *req)
{
	struct fuse_create_in in;
	struct fsd_inode *dir;
	const char *name;
	bool fresh = true;
	int err, flags, fd, pfd = -1;

	if (fsd_rd_create_in(&req->args, &in))
		return fsd_refuse(req, -EINVAL);
	if ((err = fsd_read_name(req, &name)) || (err = fsd_args_end(req)) ||
	    (err = fsd_open_flags(req->fsd, in.flags, &flags)))
		return err;
	err = fsd_parent_get(req, req->nodeid, &dir);
	if (err)
		return err;
	fd = open_create(req, dir, name, flags | O_CREAT | O_EXCL, in.mode);
	if (fd == -EEXIST && !(in.flags & O_EXCL)) {
		fresh = false;
		fd = open_existing(req, dir, name, flags, &pfd);
	}
	err = fd < 0 ? fd : reply_created(req, dir, name, fd, pfd, in.mode, fresh);
	fsd_inode_put(req->fsd, dir);
	return err;
}
