/* SPDX-License-Identifier: MIT */
#include "wire.h"

#include <string.h>

/*
 * The readers below chain with ||: a failed read is sticky (reader.h), so
 * the first failure short-circuits and lbx_reader_error() reports it.
 */
#define DONE(r) lbx_reader_error(r)

int fsd_rd_in_header(struct lbx_reader *r, struct fuse_in_header *h)
{
	memset(h, 0, sizeof(*h));
	if (lbx_read_u32le(r, &h->len) || lbx_read_u32le(r, &h->opcode) ||
	    lbx_read_u64le(r, &h->unique) || lbx_read_u64le(r, &h->nodeid) ||
	    lbx_read_u32le(r, &h->uid) || lbx_read_u32le(r, &h->gid) ||
	    lbx_read_u32le(r, &h->pid) || lbx_read_skip(r, 4)) /* total_extlen, padding */
		return DONE(r);
	return 0;
}

/* 16 bytes before 7.36; 64 since (flags2 and reserved words). */
int fsd_rd_init_in(struct lbx_reader *r, struct fuse_init_in *in)
{
	memset(in, 0, sizeof(*in));
	if (lbx_read_u32le(r, &in->major) || lbx_read_u32le(r, &in->minor) ||
	    lbx_read_u32le(r, &in->max_readahead) || lbx_read_u32le(r, &in->flags))
		return DONE(r);
	if (lbx_reader_left(r) >= 48 && (lbx_read_u32le(r, &in->flags2) || lbx_read_skip(r, 44)))
		return DONE(r);
	return 0;
}

int fsd_rd_getattr_in(struct lbx_reader *r, struct fuse_getattr_in *in)
{
	if (lbx_read_u32le(r, &in->getattr_flags) || lbx_read_u32le(r, &in->dummy) ||
	    lbx_read_u64le(r, &in->fh))
		return DONE(r);
	return 0;
}

int fsd_rd_setattr_in(struct lbx_reader *r, struct fuse_setattr_in *in)
{
	if (lbx_read_u32le(r, &in->valid) || lbx_read_u32le(r, &in->padding) ||
	    lbx_read_u64le(r, &in->fh) || lbx_read_u64le(r, &in->size) ||
	    lbx_read_u64le(r, &in->lock_owner) || lbx_read_u64le(r, &in->atime) ||
	    lbx_read_u64le(r, &in->mtime) || lbx_read_u64le(r, &in->ctime) ||
	    lbx_read_u32le(r, &in->atimensec) || lbx_read_u32le(r, &in->mtimensec) ||
	    lbx_read_u32le(r, &in->ctimensec) || lbx_read_u32le(r, &in->mode) ||
	    lbx_read_u32le(r, &in->unused4) || lbx_read_u32le(r, &in->uid) ||
	    lbx_read_u32le(r, &in->gid) || lbx_read_u32le(r, &in->unused5))
		return DONE(r);
	return 0;
}

int fsd_rd_mknod_in(struct lbx_reader *r, struct fuse_mknod_in *in)
{
	if (lbx_read_u32le(r, &in->mode) || lbx_read_u32le(r, &in->rdev) ||
	    lbx_read_u32le(r, &in->umask) || lbx_read_u32le(r, &in->padding))
		return DONE(r);
	return 0;
}

int fsd_rd_mkdir_in(struct lbx_reader *r, struct fuse_mkdir_in *in)
{
	if (lbx_read_u32le(r, &in->mode) || lbx_read_u32le(r, &in->umask))
		return DONE(r);
	return 0;
}

int fsd_rd_rename2_in(struct lbx_reader *r, struct fuse_rename2_in *in)
{
	if (lbx_read_u64le(r, &in->newdir) || lbx_read_u32le(r, &in->flags) ||
	    lbx_read_u32le(r, &in->padding))
		return DONE(r);
	return 0;
}

int fsd_rd_open_in(struct lbx_reader *r, struct fuse_open_in *in)
{
	if (lbx_read_u32le(r, &in->flags) || lbx_read_u32le(r, &in->open_flags))
		return DONE(r);
	return 0;
}

int fsd_rd_create_in(struct lbx_reader *r, struct fuse_create_in *in)
{
	if (lbx_read_u32le(r, &in->flags) || lbx_read_u32le(r, &in->mode) ||
	    lbx_read_u32le(r, &in->umask) || lbx_read_u32le(r, &in->open_flags))
		return DONE(r);
	return 0;
}

int fsd_rd_release_in(struct lbx_reader *r, struct fuse_release_in *in)
{
	if (lbx_read_u64le(r, &in->fh) || lbx_read_u32le(r, &in->flags) ||
	    lbx_read_u32le(r, &in->release_flags) || lbx_read_u64le(r, &in->lock_owner))
		return DONE(r);
	return 0;
}

int fsd_rd_flush_in(struct lbx_reader *r, struct fuse_flush_in *in)
{
	if (lbx_read_u64le(r, &in->fh) || lbx_read_u32le(r, &in->unused) ||
	    lbx_read_u32le(r, &in->padding) || lbx_read_u64le(r, &in->lock_owner))
		return DONE(r);
	return 0;
}

int fsd_rd_read_in(struct lbx_reader *r, struct fuse_read_in *in)
{
	if (lbx_read_u64le(r, &in->fh) || lbx_read_u64le(r, &in->offset) ||
	    lbx_read_u32le(r, &in->size) || lbx_read_u32le(r, &in->read_flags) ||
	    lbx_read_u64le(r, &in->lock_owner) || lbx_read_u32le(r, &in->flags) ||
	    lbx_read_u32le(r, &in->padding))
		return DONE(r);
	return 0;
}

int fsd_rd_write_in(struct lbx_reader *r, struct fuse_write_in *in)
{
	if (lbx_read_u64le(r, &in->fh) || lbx_read_u64le(r, &in->offset) ||
	    lbx_read_u32le(r, &in->size) || lbx_read_u32le(r, &in->write_flags) ||
	    lbx_read_u64le(r, &in->lock_owner) || lbx_read_u32le(r, &in->flags) ||
	    lbx_read_u32le(r, &in->padding))
		return DONE(r);
	return 0;
}

int fsd_rd_fsync_in(struct lbx_reader *r, struct fuse_fsync_in *in)
{
	if (lbx_read_u64le(r, &in->fh) || lbx_read_u32le(r, &in->fsync_flags) ||
	    lbx_read_u32le(r, &in->padding))
		return DONE(r);
	return 0;
}

/* fuse_getxattr_in {size, padding} and fuse_setxattr_in {size, flags} without SETXATTR_EXT. */
int fsd_rd_xattr_size_in(struct lbx_reader *r, uint32_t *size, uint32_t *flags)
{
	if (lbx_read_u32le(r, size) || lbx_read_u32le(r, flags))
		return DONE(r);
	return 0;
}

int fsd_rd_lseek_in(struct lbx_reader *r, struct fuse_lseek_in *in)
{
	if (lbx_read_u64le(r, &in->fh) || lbx_read_u64le(r, &in->offset) ||
	    lbx_read_u32le(r, &in->whence) || lbx_read_u32le(r, &in->padding))
		return DONE(r);
	return 0;
}

int fsd_rd_fallocate_in(struct lbx_reader *r, struct fuse_fallocate_in *in)
{
	if (lbx_read_u64le(r, &in->fh) || lbx_read_u64le(r, &in->offset) ||
	    lbx_read_u64le(r, &in->length) || lbx_read_u32le(r, &in->mode) ||
	    lbx_read_u32le(r, &in->padding))
		return DONE(r);
	return 0;
}

int fsd_rd_copy_file_range_in(struct lbx_reader *r, struct fuse_copy_file_range_in *in)
{
	if (lbx_read_u64le(r, &in->fh_in) || lbx_read_u64le(r, &in->off_in) ||
	    lbx_read_u64le(r, &in->nodeid_out) || lbx_read_u64le(r, &in->fh_out) ||
	    lbx_read_u64le(r, &in->off_out) || lbx_read_u64le(r, &in->len) ||
	    lbx_read_u64le(r, &in->flags))
		return DONE(r);
	return 0;
}

#define WDONE(w) lbx_writer_error(w)

int fsd_wr_out_header(struct lbx_writer *w, uint32_t len, int32_t error, uint64_t unique)
{
	if (lbx_write_u32le(w, len) || lbx_write_u32le(w, (uint32_t)error) ||
	    lbx_write_u64le(w, unique))
		return WDONE(w);
	return 0;
}

/* The 64-byte reply of protocol 7.23 and later. */
int fsd_wr_init_out(struct lbx_writer *w, const struct fuse_init_out *o)
{
	if (lbx_write_u32le(w, o->major) || lbx_write_u32le(w, o->minor) ||
	    lbx_write_u32le(w, o->max_readahead) || lbx_write_u32le(w, o->flags) ||
	    lbx_write_u16le(w, o->max_background) || lbx_write_u16le(w, o->congestion_threshold) ||
	    lbx_write_u32le(w, o->max_write) || lbx_write_u32le(w, o->time_gran) ||
	    lbx_write_u16le(w, o->max_pages) || lbx_write_u16le(w, o->map_alignment) ||
	    lbx_write_u32le(w, o->flags2) || lbx_write_zeros(w, 28))
		return WDONE(w);
	return 0;
}

int fsd_wr_attr(struct lbx_writer *w, const struct fuse_attr *a)
{
	if (lbx_write_u64le(w, a->ino) || lbx_write_u64le(w, a->size) ||
	    lbx_write_u64le(w, a->blocks) || lbx_write_u64le(w, a->atime) ||
	    lbx_write_u64le(w, a->mtime) || lbx_write_u64le(w, a->ctime) ||
	    lbx_write_u32le(w, a->atimensec) || lbx_write_u32le(w, a->mtimensec) ||
	    lbx_write_u32le(w, a->ctimensec) || lbx_write_u32le(w, a->mode) ||
	    lbx_write_u32le(w, a->nlink) || lbx_write_u32le(w, a->uid) ||
	    lbx_write_u32le(w, a->gid) || lbx_write_u32le(w, a->rdev) ||
	    lbx_write_u32le(w, a->blksize) || lbx_write_u32le(w, 0)) /* flags */
		return WDONE(w);
	return 0;
}

int fsd_wr_entry_out(struct lbx_writer *w, const struct fuse_entry_out *e)
{
	if (lbx_write_u64le(w, e->nodeid) || lbx_write_u64le(w, e->generation) ||
	    lbx_write_u64le(w, e->entry_valid) || lbx_write_u64le(w, e->attr_valid) ||
	    lbx_write_u32le(w, e->entry_valid_nsec) || lbx_write_u32le(w, e->attr_valid_nsec))
		return WDONE(w);
	return fsd_wr_attr(w, &e->attr);
}

int fsd_wr_attr_out(struct lbx_writer *w, const struct fuse_attr_out *o)
{
	if (lbx_write_u64le(w, o->attr_valid) || lbx_write_u32le(w, o->attr_valid_nsec) ||
	    lbx_write_u32le(w, 0))
		return WDONE(w);
	return fsd_wr_attr(w, &o->attr);
}

int fsd_wr_open_out(struct lbx_writer *w, uint64_t fh, uint32_t open_flags)
{
	if (lbx_write_u64le(w, fh) || lbx_write_u32le(w, open_flags) || lbx_write_u32le(w, 0))
		return WDONE(w);
	return 0;
}

int fsd_wr_u32_pad(struct lbx_writer *w, uint32_t v)
{
	if (lbx_write_u32le(w, v) || lbx_write_u32le(w, 0))
		return WDONE(w);
	return 0;
}

int fsd_wr_kstatfs(struct lbx_writer *w, const struct fuse_kstatfs *s)
{
	if (lbx_write_u64le(w, s->blocks) || lbx_write_u64le(w, s->bfree) ||
	    lbx_write_u64le(w, s->bavail) || lbx_write_u64le(w, s->files) ||
	    lbx_write_u64le(w, s->ffree) || lbx_write_u32le(w, s->bsize) ||
	    lbx_write_u32le(w, s->namelen) || lbx_write_u32le(w, s->frsize) ||
	    lbx_write_zeros(w, 4 + 24))
		return WDONE(w);
	return 0;
}

size_t fsd_dirent_size(size_t namelen)
{
	return (FUSE_NAME_OFFSET + namelen + 7) & ~(size_t)7;
}

int fsd_wr_dirent(struct lbx_writer *w, uint64_t ino, uint64_t off, uint32_t type,
		  const char *name, size_t namelen)
{
	size_t pad = fsd_dirent_size(namelen) - FUSE_NAME_OFFSET - namelen;

	if (lbx_write_u64le(w, ino) || lbx_write_u64le(w, off) ||
	    lbx_write_u32le(w, (uint32_t)namelen) || lbx_write_u32le(w, type) ||
	    lbx_write_bytes(w, name, namelen) || lbx_write_zeros(w, pad))
		return WDONE(w);
	return 0;
}
