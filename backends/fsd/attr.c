/* SPDX-License-Identifier: MIT */
/*
 * Attributes and entries: host stat -> fuse_attr (fuse.h), with the
 * ownership view applied, and the lookup every entry reply starts from.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "fsd_priv.h"
#include "log.h"
#include "wire.h"

int fsd_stat(struct fsd *fsd, struct fsd_inode *ino, struct stat *st)
{
	if (fstatat(ino->fd, "", st, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) < 0)
		return -errno;
	fsd_inode_seen(ino, st);
	fsd_owner_apply(fsd, ino, st);
	return 0;
}

/* fuse_attr.rdev is the kernel's new_encode_dev() form (include/linux/kdev_t.h). */
static uint32_t encode_dev(dev_t d)
{
	uint32_t ma = major(d), mi = minor(d);

	return (mi & 0xff) | (ma << 8) | ((mi & ~0xffu) << 12);
}

int fsd_write_attr(struct lbx_writer *w, const struct stat *st)
{
	struct fuse_attr a;

	memset(&a, 0, sizeof(a));
	a.ino = st->st_ino;
	a.size = (uint64_t)st->st_size;
	a.blocks = (uint64_t)st->st_blocks;
	a.atime = (uint64_t)st->st_atim.tv_sec;
	a.mtime = (uint64_t)st->st_mtim.tv_sec;
	a.ctime = (uint64_t)st->st_ctim.tv_sec;
	a.atimensec = (uint32_t)st->st_atim.tv_nsec;
	a.mtimensec = (uint32_t)st->st_mtim.tv_nsec;
	a.ctimensec = (uint32_t)st->st_ctim.tv_nsec;
	a.mode = st->st_mode;
	a.nlink = (uint32_t)st->st_nlink;
	a.uid = st->st_uid;
	a.gid = st->st_gid;
	a.rdev = encode_dev(st->st_rdev);
	a.blksize = (uint32_t)st->st_blksize;
	return fsd_wr_attr(w, &a);
}

void fsd_split_timeout(uint32_t ms, uint64_t *sec, uint32_t *nsec)
{
	*sec = ms / 1000;
	*nsec = (ms % 1000) * 1000000u;
}

int fsd_write_entry(struct fsd_req *req, struct fsd_inode *ino, const struct stat *st)
{
	struct fuse_entry_out e;

	memset(&e, 0, sizeof(e));
	e.nodeid = ino->nodeid;
	fsd_inode_seen(ino, st);
	fsd_split_timeout(req->fsd->opt.entry_timeout_ms, &e.entry_valid, &e.entry_valid_nsec);
	fsd_split_timeout(req->fsd->opt.attr_timeout_ms, &e.attr_valid, &e.attr_valid_nsec);
	if (lbx_write_u64le(&req->out, e.nodeid) || lbx_write_u64le(&req->out, 0) ||
	    lbx_write_u64le(&req->out, e.entry_valid) || lbx_write_u64le(&req->out, e.attr_valid) ||
	    lbx_write_u32le(&req->out, e.entry_valid_nsec) ||
	    lbx_write_u32le(&req->out, e.attr_valid_nsec))
		return lbx_writer_error(&req->out);
	return fsd_write_attr(&req->out, st);
}

int fsd_write_attr_out(struct fsd_req *req, const struct stat *st)
{
	uint64_t sec;
	uint32_t nsec;

	fsd_split_timeout(req->fsd->opt.attr_timeout_ms, &sec, &nsec);
	if (lbx_write_u64le(&req->out, sec) || lbx_write_u32le(&req->out, nsec) ||
	    lbx_write_u32le(&req->out, 0))
		return lbx_writer_error(&req->out);
	return fsd_write_attr(&req->out, st);
}

/* Adopt an O_PATH fd, found as name in parent, as an inode (one more lookup); *out holds a ref. */
int fsd_learn_fd(struct fsd_req *req, struct fsd_inode *parent, const char *name, int fd,
		 struct fsd_inode **out, struct stat *st)
{
	int err;

	if (fstatat(fd, "", st, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) < 0) {
		err = -errno;
		close(fd);
		return err;
	}
	err = fsd_inode_learn(req->fsd, parent, name, fd, st, out);
	if (!err)
		fsd_owner_apply(req->fsd, *out, st);
	return err;
}

/*
 * Open one checked name under parent without following anything: the name
 * is a single component (name.c), and openat2 refuses on its own to leave
 * the parent, to cross a symlink or a /proc magic link on the way.
 * O_PATH | O_NOFOLLOW hands back a symlink itself, never its target.
 */
static int open_beneath(int dirfd, const char *name)
{
	struct open_how how = {
		.flags = O_PATH | O_NOFOLLOW | O_CLOEXEC,
		.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_SYMLINKS,
	};
	long fd = syscall(SYS_openat2, dirfd, name, &how, sizeof(how));

	return fd < 0 ? -errno : (int)fd;
}

/* Every inode fd is opened here: by a lookup, or to reopen an evicted one. */
int fsd_open_beneath(struct fsd *fsd, int dirfd, const char *name)
{
	int fd = open_beneath(dirfd, name);

	if (fsd_out_of_fds(fsd, fd))
		fd = open_beneath(dirfd, name);
	return fd;
}

/*
 * LOOKUP, and the entry reply of every call that makes a name (then mk
 * says what was asked for, so xattr mapping can record it first).
 */
/*
 * A name the table already holds (the guest revalidating its cache, most
 * lookups of a warm tree): one fstatat of the single, checked component,
 * not followed, instead of opening an fd only to close it as a duplicate.
 * Nothing new is opened, so nothing can escape the tree: what it finds is
 * used only if it is an inode the table reached through openat2 before.
 * 1: *ino pinned and *st set; 0: open it; < 0: the name is not there.
 */
static int entry_known(struct fsd_req *req, struct fsd_inode *parent, const char *name,
		       struct fsd_inode **ino, struct stat *st)
{
	if (fstatat(parent->fd, name, st, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? -ENOENT : 0;
	if (!fsd_inode_relookup(req->fsd, parent, name, st, ino))
		return 0;
	fsd_owner_apply(req->fsd, *ino, st);
	return 1;
}

int fsd_entry_reply(struct fsd_req *req, struct fsd_inode *parent, const char *name,
		    const struct fsd_made *mk)
{
	struct fsd_inode *ino;
	struct stat st;
	int fd, err = mk ? 0 : entry_known(req, parent, name, &ino, &st);

	if (err < 0)
		return err;
	if (err == 0) {
		fd = fsd_open_beneath(req->fsd, parent->fd, name);
		if (fd < 0)
			return fd;
		err = fsd_learn_fd(req, parent, name, fd, &ino, &st);
		if (err)
			return err;
	}
	err = 0;
	if (mk && req->fsd->opt.ownership == FSD_OWNERSHIP_XATTR) {
		err = fsd_owner_init_new(req, parent, ino, mk->mode, mk->rdev);
		if (!err)
			err = fsd_stat(req->fsd, ino, &st);
	}
	if (!err)
		err = fsd_write_entry(req, ino, &st);
	if (err)
		fsd_inode_forget(req->fsd, ino->nodeid, 1); /* no entry went out */
	fsd_inode_put(req->fsd, ino);
	return err;
}
