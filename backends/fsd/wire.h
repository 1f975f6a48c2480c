/* SPDX-License-Identifier: MIT */
/*
 * FUSE wire structures (include/uapi/linux/fuse.h), decoded field by field
 * through common/reader.h and encoded through common/writer.h, never cast
 * onto a buffer. The kernel's structs are only used as plain holders.
 * Every decoder returns 0 or a negative reader error; callers map that to
 * EINVAL (a truncated or forged argument block).
 */
#ifndef LBX_FSD_WIRE_H
#define LBX_FSD_WIRE_H

#include <linux/fuse.h>

#include "reader.h"
#include "writer.h"

#define FSD_IN_HEADER_SIZE  40
#define FSD_OUT_HEADER_SIZE 16

LBX_MUST_CHECK int fsd_rd_in_header(struct lbx_reader *r, struct fuse_in_header *h);
LBX_MUST_CHECK int fsd_rd_init_in(struct lbx_reader *r, struct fuse_init_in *in);
LBX_MUST_CHECK int fsd_rd_getattr_in(struct lbx_reader *r, struct fuse_getattr_in *in);
LBX_MUST_CHECK int fsd_rd_setattr_in(struct lbx_reader *r, struct fuse_setattr_in *in);
LBX_MUST_CHECK int fsd_rd_mknod_in(struct lbx_reader *r, struct fuse_mknod_in *in);
LBX_MUST_CHECK int fsd_rd_mkdir_in(struct lbx_reader *r, struct fuse_mkdir_in *in);
LBX_MUST_CHECK int fsd_rd_rename2_in(struct lbx_reader *r, struct fuse_rename2_in *in);
LBX_MUST_CHECK int fsd_rd_open_in(struct lbx_reader *r, struct fuse_open_in *in);
LBX_MUST_CHECK int fsd_rd_create_in(struct lbx_reader *r, struct fuse_create_in *in);
LBX_MUST_CHECK int fsd_rd_release_in(struct lbx_reader *r, struct fuse_release_in *in);
LBX_MUST_CHECK int fsd_rd_flush_in(struct lbx_reader *r, struct fuse_flush_in *in);
LBX_MUST_CHECK int fsd_rd_read_in(struct lbx_reader *r, struct fuse_read_in *in);
LBX_MUST_CHECK int fsd_rd_write_in(struct lbx_reader *r, struct fuse_write_in *in);
LBX_MUST_CHECK int fsd_rd_fsync_in(struct lbx_reader *r, struct fuse_fsync_in *in);
LBX_MUST_CHECK int fsd_rd_xattr_size_in(struct lbx_reader *r, uint32_t *size, uint32_t *flags);
LBX_MUST_CHECK int fsd_rd_lseek_in(struct lbx_reader *r, struct fuse_lseek_in *in);
LBX_MUST_CHECK int fsd_rd_fallocate_in(struct lbx_reader *r, struct fuse_fallocate_in *in);
LBX_MUST_CHECK int fsd_rd_copy_file_range_in(struct lbx_reader *r,
					     struct fuse_copy_file_range_in *in);

LBX_MUST_CHECK int fsd_wr_out_header(struct lbx_writer *w, uint32_t len, int32_t error,
				     uint64_t unique);
LBX_MUST_CHECK int fsd_wr_init_out(struct lbx_writer *w, const struct fuse_init_out *o);
LBX_MUST_CHECK int fsd_wr_attr(struct lbx_writer *w, const struct fuse_attr *a);
LBX_MUST_CHECK int fsd_wr_entry_out(struct lbx_writer *w, const struct fuse_entry_out *e);
LBX_MUST_CHECK int fsd_wr_attr_out(struct lbx_writer *w, const struct fuse_attr_out *o);
LBX_MUST_CHECK int fsd_wr_open_out(struct lbx_writer *w, uint64_t fh, uint32_t open_flags);
LBX_MUST_CHECK int fsd_wr_u32_pad(struct lbx_writer *w, uint32_t v); /* write_out, getxattr_out */
LBX_MUST_CHECK int fsd_wr_kstatfs(struct lbx_writer *w, const struct fuse_kstatfs *s);
/* fuse_dirent plus its name, padded to FUSE_DIRENT_ALIGN. */
LBX_MUST_CHECK int fsd_wr_dirent(struct lbx_writer *w, uint64_t ino, uint64_t off, uint32_t type,
				 const char *name, size_t namelen);
size_t fsd_dirent_size(size_t namelen);

#endif
