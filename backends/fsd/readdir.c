/* SPDX-License-Identifier: MIT */
/*
 * OPENDIR, READDIR, READDIRPLUS, RELEASEDIR, FSYNCDIR.
 *
 * A directory handle keeps its own fd and a getdents64 buffer. The guest's
 * offsets are the host's d_off cookies, so a READDIR at any offset the
 * guest was given resumes with lseek (telldir/seekdir work), and entries
 * that stay put while others come and go are listed exactly once, as the
 * host file system guarantees. READDIRPLUS looks up every entry but "."
 * and ".." (the kernel ignores those, fuse_direntplus_link), and does so
 * only once the entry is known to fit, so no lookup is counted that the
 * guest never saw.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fsd_priv.h"
#include "wire.h"

#define DBUF_SIZE 32768
#define ENTRY_OUT_SIZE 128 /* fuse_entry_out */
#define DIRENT64_HEAD 19   /* d_ino, d_off, d_reclen, d_type */

/*
 * With host edits notified the guest keeps a directory's listing in its
 * page cache across opendirs (FOPEN_CACHE_DIR, FUSE 7.28): a warm `git
 * status` then reads no directory from the host. The guest drops it on
 * its own changes (fuse_dir_changed) and on a change of the directory's
 * mtime; a host change drops it through the watch, which invalidates the
 * directory's pages (watch.c), so a host change within one mtime tick is
 * not missed. Without notifications every opendir reads the host.
 */
static uint32_t dir_open_flags(struct fsd *fsd)
{
	if (!atomic_load(&fsd->notified) || fsd->proto_minor < 28)
		return 0;
	return FOPEN_KEEP_CACHE | FOPEN_CACHE_DIR;
}

int fsd_op_opendir(struct fsd_req *req)
{
	struct fuse_open_in in;
	struct fsd_inode *ino;
	uint64_t fh;
	int err, fd;

	if (fsd_rd_open_in(&req->args, &in))
		return fsd_refuse(req, -EINVAL);
	if ((err = fsd_args_end(req)))
		return err;
	err = fsd_parent_get(req, req->nodeid, &ino);
	if (err)
		return err;
	fd = fsd_inode_open(req->fsd, ino, O_RDONLY | O_DIRECTORY);
	if (fd < 0) {
		fsd_inode_put(req->fsd, ino);
		return fd;
	}
	err = fsd_file_add(req->fsd, fd, ino, true, &fh); /* takes fd and the ref */
	if (err)
		return err;
	return fsd_wr_open_out(&req->out, fh, dir_open_flags(req->fsd));
}

struct dent {
	uint64_t ino;
	int64_t off;
	uint16_t reclen;
	uint8_t type;
	const char *name;
	size_t namelen;
};

/* One linux_dirent64 from the kernel's buffer, read like any other bytes. */
static int next_dent(struct fsd_file *f, struct dent *d)
{
	struct lbx_reader r, rec;
	uint64_t off;

	lbx_reader_init(&r, f->dbuf + f->dpos, f->dlen - f->dpos);
	if (lbx_read_u64le(&r, &d->ino) || lbx_read_u64le(&r, &off) ||
	    lbx_read_u16le(&r, &d->reclen) || lbx_read_u8(&r, &d->type) ||
	    d->reclen < DIRENT64_HEAD + 1 || d->reclen > f->dlen - f->dpos)
		return -EIO;
	d->off = (int64_t)off;
	lbx_reader_init(&rec, f->dbuf + f->dpos + DIRENT64_HEAD, d->reclen - DIRENT64_HEAD);
	if (lbx_read_cstr(&rec, NAME_MAX, &d->name, &d->namelen) || d->namelen == 0)
		return -EIO;
	return 0;
}

static int refill(struct fsd_file *f)
{
	ssize_t n;

	if (f->dpos < f->dlen)
		return 1;
	n = getdents64(f->fd, f->dbuf, DBUF_SIZE);
	if (n < 0)
		return -errno;
	f->dlen = (size_t)n;
	f->dpos = 0;
	return n > 0;
}

static int seek_to(struct fsd_file *f, uint64_t offset)
{
	if (!f->dbuf && !(f->dbuf = malloc(DBUF_SIZE)))
		return -ENOMEM;
	if ((int64_t)offset == f->doff)
		return 0;
	if (offset > INT64_MAX || lseek(f->fd, (off_t)offset, SEEK_SET) < 0)
		return -EINVAL;
	f->dlen = f->dpos = 0;
	f->doff = (int64_t)offset;
	return 0;
}

static bool is_dot(const struct dent *d)
{
	return !strcmp(d->name, ".") || !strcmp(d->name, "..");
}

/* The entry_out half of a fuse_direntplus: a lookup, or zeros (no attributes offered). */
static int plus_entry(struct fsd_req *req, struct fsd_file *f, const struct dent *d)
{
	size_t before = lbx_writer_len(&req->out);

	if (!is_dot(d) && fsd_entry_reply(req, f->inode, d->name, NULL) == 0)
		return 0;
	if (lbx_writer_len(&req->out) != before)
		return -EIO;
	return lbx_write_zeros(&req->out, ENTRY_OUT_SIZE);
}

static int fill(struct fsd_req *req, struct fsd_file *f, size_t cap, bool plus)
{
	struct dent d;
	int more, err;

	while ((more = refill(f)) > 0) {
		size_t need;

		if ((err = next_dent(f, &d)))
			return err;
		need = fsd_dirent_size(d.namelen) + (plus ? ENTRY_OUT_SIZE : 0);
		if (lbx_writer_len(&req->out) + need > cap)
			return 0;
		if (plus && (err = plus_entry(req, f, &d)))
			return err;
		if (fsd_wr_dirent(&req->out, d.ino, (uint64_t)d.off, d.type, d.name, d.namelen))
			return -ENOMEM;
		f->dpos += d.reclen;
		f->doff = d.off;
	}
	return more < 0 ? more : 0;
}

static int readdir_common(struct fsd_req *req, bool plus)
{
	struct fuse_read_in in;
	struct fsd_file *f;
	size_t cap;
	int err;

	if (fsd_rd_read_in(&req->args, &in) || lbx_read_end(&req->args))
		return fsd_refuse(req, -EINVAL);
	f = fsd_file_get(req->fsd, in.fh, true);
	if (!f)
		return fsd_refuse(req, -EBADF);
	cap = LBX_MIN((size_t)in.size, (size_t)FSD_MAX_LIST);
	cap = LBX_MIN(cap, req->reply_cap > FSD_OUT_HEADER_SIZE ? req->reply_cap - FSD_OUT_HEADER_SIZE : 0);
	pthread_mutex_lock(&f->lock);
	err = seek_to(f, in.offset);
	if (!err)
		err = fill(req, f, cap, plus);
	pthread_mutex_unlock(&f->lock);
	fsd_file_put(req->fsd, f);
	return err;
}

int fsd_op_readdir(struct fsd_req *req)
{
	return readdir_common(req, false);
}

int fsd_op_readdirplus(struct fsd_req *req)
{
	return readdir_common(req, true);
}

int fsd_op_releasedir(struct fsd_req *req)
{
	struct fuse_release_in in;

	if (fsd_rd_release_in(&req->args, &in) || lbx_read_end(&req->args))
		return fsd_refuse(req, -EINVAL);
	return fsd_file_release(req->fsd, in.fh, true) ? fsd_refuse(req, -EBADF) : 0;
}

int fsd_op_fsyncdir(struct fsd_req *req)
{
	return fsd_sync_file(req, true);
}
