/* SPDX-License-Identifier: MIT */
/*
 * A test-side FUSE client: builds raw requests (fuse.h layouts, through
 * common/writer.h) and hands them to fsd_handle() the way a transport
 * would, optionally split into many small iovecs like virtio descriptors.
 */
#ifndef LBX_FSD_CLIENT_H
#define LBX_FSD_CLIENT_H

#include <errno.h>
#include <linux/fuse.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fsd.h"
#include "reader.h"
#include "writer.h"

#define FC_REPLY_MAX (1u << 21)

struct fc {
	struct fsd *fsd;
	uint64_t unique;
	uint32_t uid, gid;
	unsigned split;	  /* >0: cut requests and replies into iovecs of this many bytes */
	uint8_t *reply;
	size_t reply_len; /* bytes fsd_handle wrote, 0: no reply */
	int handle_ret;
	struct lbx_reader body; /* the reply after fuse_out_header */
};

/*
 * A scratch directory ROOT (mkdtemp of "/tmp/PREFIX.XXXXXX") holding the
 * shared TREE and a directory OUTSIDE it, each buffer at least 300 bytes.
 */
static inline void fc_make_dirs(const char *prefix, char root[256], char tree[300],
				char outside[300])
{
	snprintf(root, 256, "/tmp/%s.XXXXXX", prefix);
	if (!mkdtemp(root))
		abort();
	snprintf(tree, 300, "%s/tree", root);
	snprintf(outside, 300, "%s/outside", root);
	if (mkdir(tree, 0755) || mkdir(outside, 0755))
		abort();
}

/* Write text to a host file (the test's side of the tree), or abort. */
static inline void fc_put(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	if (!f || fputs(text, f) < 0 || fclose(f))
		abort();
}

static inline void fc_put_at(const char *dir, const char *name, const char *text)
{
	char p[512];

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	fc_put(p, text);
}

static inline void fc_init(struct fc *c, struct fsd *fsd)
{
	memset(c, 0, sizeof(*c));
	c->fsd = fsd;
	c->reply = malloc(FC_REPLY_MAX);
}

static inline void fc_free(struct fc *c)
{
	free(c->reply);
}

/* Cut buf into iovecs of at most `split` bytes (all of it if split is 0). */
static inline unsigned fc_cut(void *buf, size_t len, unsigned split, struct iovec *iov,
			      unsigned max)
{
	unsigned n = 0;
	size_t off = 0;

	if (!split || len / split + 1 > max) {
		iov[0].iov_base = buf;
		iov[0].iov_len = len;
		return 1;
	}
	while (off < len) {
		size_t l = len - off < split ? len - off : split;

		iov[n].iov_base = (uint8_t *)buf + off;
		iov[n++].iov_len = l;
		off += l;
	}
	return n ? n : 1;
}

/* Send raw bytes; returns the reply's error field (0 or -errno), or 1 if no reply came. */
static inline int fc_raw(struct fc *c, void *req, size_t len, size_t reply_cap)
{
	/* per thread: tests may drive one server from several clients at once */
	static _Thread_local struct iovec riov[8192], wiov[8192];
	unsigned nr = fc_cut(req, len, c->split, riov, 8192);
	unsigned nw = fc_cut(c->reply, reply_cap, c->split, wiov, 8192);
	uint32_t rlen, err32;
	uint64_t unique;
	struct lbx_reader r;

	c->reply_len = 0;
	c->handle_ret = fsd_handle(c->fsd, riov, nr, wiov, nw, &c->reply_len);
	if (!c->reply_len)
		return 1;
	lbx_reader_init(&r, c->reply, c->reply_len);
	if (lbx_read_u32le(&r, &rlen) || lbx_read_u32le(&r, &err32) || lbx_read_u64le(&r, &unique))
		return -EPROTO;
	if (rlen != c->reply_len)
		return -EPROTO;
	lbx_reader_init(&c->body, c->reply + 16, c->reply_len - 16);
	return (int32_t)err32;
}

/* A request: header for opcode/nodeid, then args (alen bytes). */
static inline int fc_call(struct fc *c, uint32_t opcode, uint64_t nodeid, const void *args,
			  size_t alen)
{
	struct lbx_writer w;
	int ret;

	lbx_writer_init_dynamic(&w, 1u << 22);
	if (lbx_write_u32le(&w, (uint32_t)(40 + alen)) || lbx_write_u32le(&w, opcode) ||
	    lbx_write_u64le(&w, ++c->unique) || lbx_write_u64le(&w, nodeid) ||
	    lbx_write_u32le(&w, c->uid) || lbx_write_u32le(&w, c->gid) ||
	    lbx_write_u32le(&w, 1234) || lbx_write_u32le(&w, 0) || lbx_write_bytes(&w, args, alen)) {
		lbx_writer_free(&w);
		return -ENOMEM;
	}
	ret = fc_raw(c, (void *)lbx_writer_data(&w), lbx_writer_len(&w), FC_REPLY_MAX);
	lbx_writer_free(&w);
	return ret;
}

static inline int fc_init_session(struct fc *c)
{
	uint8_t a[64];
	struct lbx_writer w;

	lbx_writer_init_fixed(&w, a, sizeof(a));
	if (lbx_write_u32le(&w, 7) || lbx_write_u32le(&w, 38) || lbx_write_u32le(&w, 131072) ||
	    lbx_write_u32le(&w, FUSE_DO_READDIRPLUS | FUSE_BIG_WRITES | FUSE_MAX_PAGES) ||
	    lbx_write_u32le(&w, 0) || lbx_write_zeros(&w, 44))
		return -ENOMEM;
	return fc_call(c, FUSE_INIT, 0, a, sizeof(a));
}

/* Name plus NUL, and optional fixed struct before it. */
static inline int fc_named(struct fc *c, uint32_t op, uint64_t nodeid, const void *pre,
			   size_t prelen, const char *name)
{
	uint8_t buf[8192];
	size_t n = strlen(name) + 1;

	if (prelen + n > sizeof(buf))
		return -E2BIG;
	if (prelen)
		memcpy(buf, pre, prelen);
	memcpy(buf + prelen, name, n);
	return fc_call(c, op, nodeid, buf, prelen + n);
}

/* LOOKUP; on success *nodeid and *mode from the entry. */
static inline int fc_lookup(struct fc *c, uint64_t parent, const char *name, uint64_t *nodeid,
			    uint32_t *mode)
{
	uint64_t id;
	uint32_t m;
	int err = fc_named(c, FUSE_LOOKUP, parent, NULL, 0, name);

	if (err)
		return err;
	/* fuse_entry_out: nodeid, generation, 2x valid, 2x nsec, then fuse_attr (mode at +60) */
	if (lbx_read_u64le(&c->body, &id) || lbx_read_skip(&c->body, 32 + 60) ||
	    lbx_read_u32le(&c->body, &m))
		return -EPROTO;
	if (nodeid)
		*nodeid = id;
	if (mode)
		*mode = m;
	return 0;
}

static inline int fc_open(struct fc *c, uint32_t op, uint64_t nodeid, uint32_t flags,
			  uint64_t *fh)
{
	uint8_t a[8];

	lbx_put_u32le(a, flags);
	lbx_put_u32le(a + 4, 0);
	int err = fc_call(c, op, nodeid, a, sizeof(a));

	if (!err && lbx_read_u64le(&c->body, fh))
		return -EPROTO;
	return err;
}

static inline void fc_put_read_in(uint8_t *a, uint64_t fh, uint64_t off, uint32_t size)
{
	memset(a, 0, 40);
	lbx_put_u64le(a, fh);
	lbx_put_u64le(a + 8, off);
	lbx_put_u32le(a + 16, size);
}

static inline int fc_read(struct fc *c, uint64_t nodeid, uint64_t fh, uint64_t off,
			  uint32_t size, char *out, size_t *n)
{
	uint8_t a[40];
	const uint8_t *p;
	size_t len;
	int err;

	fc_put_read_in(a, fh, off, size);
	err = fc_call(c, FUSE_READ, nodeid, a, sizeof(a));
	if (err)
		return err;
	if (lbx_read_rest(&c->body, &p, &len))
		return -EPROTO;
	memcpy(out, p, len);
	*n = len;
	return 0;
}

static inline int fc_getattr(struct fc *c, uint64_t nodeid, uint32_t *mode, uint32_t *uid,
			     uint32_t *gid)
{
	uint8_t a[16] = { 0 };
	uint32_t m, u, g;
	int err = fc_call(c, FUSE_GETATTR, nodeid, a, sizeof(a));

	if (err)
		return err;
	/* fuse_attr_out: valid (8), nsec (4), dummy (4), attr: mode at +60, nlink, uid, gid */
	if (lbx_read_skip(&c->body, 16 + 60) || lbx_read_u32le(&c->body, &m) ||
	    lbx_read_skip(&c->body, 4) || lbx_read_u32le(&c->body, &u) ||
	    lbx_read_u32le(&c->body, &g))
		return -EPROTO;
	if (mode)
		*mode = m;
	if (uid)
		*uid = u;
	if (gid)
		*gid = g;
	return 0;
}

static inline int fc_forget(struct fc *c, uint64_t nodeid, uint64_t n)
{
	uint8_t a[8];

	lbx_put_u64le(a, n);
	return fc_call(c, FUSE_FORGET, nodeid, a, sizeof(a));
}

#endif
