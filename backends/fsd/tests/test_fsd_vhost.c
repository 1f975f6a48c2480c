/* SPDX-License-Identifier: MIT */
/*
 * lbx-fsd's vhost-user-fs transport as a device model (virtio 1.2 §5.11):
 * the test is the vhost-user front-end (tests/unit/virtio/vfrontend.h)
 * and the guest's virtio-fs driver (vdriver.h), serving a temporary
 * directory with fsd_new and the transport of backends/fsd/vhost.c on a
 * loop this process pumps. No sandbox, no mount, no root.
 *
 * Requests go through the request queue (1) the way Linux's virtio_fs
 * builds them, and then some: the FUSE header, the arguments and a WRITE's
 * payload each in their own descriptors (arguments and payload also cut
 * across two), the reply header and the reply data in separate writable
 * descriptors (the data cut across two that are not adjacent in guest
 * memory). FORGET goes on the hiprio queue (0). Layouts come from
 * <linux/fuse.h>, not from lbx-fsd's own encoders.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <linux/fuse.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fsd.h"
#include "fsd_client.h"
#include "log.h"
#include "tap.h"
#include "vdriver.h"
#include "vfrontend.h"
#include "vhost.h"

#define MEM_SIZE (4u << 20)
#define QSIZE	 64
#define HIPRIO	 0
#define REQUESTS 1

/* Guest RAM: two rings, then fixed places for the parts of one request. */
#define RING_BASE(q) (0x10000u * (q))
#define IN_HDR	     0x100000u /* fuse_in_header */
#define IN_ARGS	     0x101000u /* arguments, first part */
#define IN_ARGS_B    0x103000u /* second part, not adjacent */
#define IN_DATA	     0x110000u /* WRITE payload */
#define IN_DATA_B    0x150000u
#define OUT_HDR	     0x200000u /* fuse_out_header */
#define OUT_DATA     0x201000u
#define OUT_DATA_B   0x300000u
#define MAX_PART     0x40000u

#define HELLO "hello, virtio-fs\n"

struct t {
	struct vfe fe;
	struct vfe_vq q[2];
	struct fsd *fsd;
	struct fsd_vu *vu;
	char root[64];
	uint64_t unique;
};

/* One request and what came back. */
struct call {
	unsigned q;
	uint32_t op;
	uint64_t nodeid;
	const void *args;
	uint32_t alen, acut; /* acut > 0: the arguments in two descriptors */
	const void *data;
	uint32_t dlen, dcut;  /* WRITE payload, likewise */
	uint32_t out;	      /* writable bytes after the reply header; 0: header only */
	uint32_t ocut;	      /* > 0: those in two descriptors */
	bool no_out;	      /* no writable descriptor at all */
	uint32_t out_hdr_len; /* size of the reply header's descriptor (normally 16) */
	/* results */
	bool used; /* the chain came back */
	uint32_t used_len;
	bool hdr_ok; /* out header's len and unique match */
	int32_t error;
	uint8_t body[MAX_PART * 2];
	uint32_t body_len;
};

static uint64_t get64(const uint8_t *p)
{
	return (uint64_t)vd_get32(p) | (uint64_t)vd_get32(p + 4) << 32;
}

struct seg {
	uint64_t gpa;
	uint32_t len;
	bool wr;
};

/* Put the segments on queue qidx as one chain from descriptor 0; kick; used len or -1. */
static int64_t run_chain(struct t *t, unsigned qidx, const struct seg *s, unsigned n)
{
	struct vdrv *d = &t->q[qidx].d;
	uint32_t id, len;

	for (unsigned i = 0; i < n; i++)
		vd_desc(d, i, s[i].gpa, s[i].len,
			(uint16_t)((s[i].wr ? VD_F_WRITE : 0) | (i + 1 < n ? VD_F_NEXT : 0)),
			(uint16_t)(i + 1 < n ? i + 1 : 0));
	vd_publish(d, 0);
	vfe_kick(&t->fe, &t->q[qidx]);
	if (!vd_get_used(d, &id, &len) || id != 0)
		return -1;
	return len;
}

/* Bytes in one or two descriptors (cut > 0), at a and b. */
static unsigned add_part(struct t *t, struct seg *s, unsigned n, uint64_t a, uint64_t b,
			 const void *p, uint32_t len, uint32_t cut, bool wr)
{
	if (!len)
		return n;
	if (!cut || cut >= len) {
		if (p)
			memcpy(t->fe.mem + a, p, len);
		s[n++] = (struct seg){ a, len, wr };
		return n;
	}
	if (p) {
		memcpy(t->fe.mem + a, p, cut);
		memcpy(t->fe.mem + b, (const uint8_t *)p + cut, len - cut);
	}
	s[n++] = (struct seg){ a, cut, wr };
	s[n++] = (struct seg){ b, len - cut, wr };
	return n;
}

static void fs_call(struct t *t, struct call *c)
{
	uint32_t total = 40 + c->alen + c->dlen;
	uint8_t *h = t->fe.mem + IN_HDR;
	uint64_t unique = ++t->unique;
	struct seg s[8];
	unsigned n = 0;
	int64_t used;

	/* fuse_in_header: len, opcode, unique, nodeid, uid, gid, pid, total_extlen+padding */
	lbx_put_u32le(h, total);
	lbx_put_u32le(h + 4, c->op);
	lbx_put_u64le(h + 8, unique);
	lbx_put_u64le(h + 16, c->nodeid);
	lbx_put_u32le(h + 24, getuid());
	lbx_put_u32le(h + 28, getgid());
	lbx_put_u32le(h + 32, 4321);
	lbx_put_u32le(h + 36, 0);
	s[n++] = (struct seg){ IN_HDR, 40, false };
	n = add_part(t, s, n, IN_ARGS, IN_ARGS_B, c->args, c->alen, c->acut, false);
	n = add_part(t, s, n, IN_DATA, IN_DATA_B, c->data, c->dlen, c->dcut, false);
	memset(t->fe.mem + OUT_HDR, 0xee, 16);
	if (!c->no_out) {
		s[n++] = (struct seg){ OUT_HDR, c->out_hdr_len ? c->out_hdr_len : 16, true };
		n = add_part(t, s, n, OUT_DATA, OUT_DATA_B, NULL, c->out, c->ocut, true);
	}
	used = run_chain(t, c->q, s, n);
	c->used = used >= 0;
	c->used_len = used >= 0 ? (uint32_t)used : 0;
	c->hdr_ok = false;
	c->error = 0;
	c->body_len = 0;
	if (c->used_len < 16)
		return;
	c->hdr_ok = vd_get32(t->fe.mem + OUT_HDR) == c->used_len &&
		    get64(t->fe.mem + OUT_HDR + 8) == unique;
	c->error = (int32_t)vd_get32(t->fe.mem + OUT_HDR + 4);
	c->body_len = c->used_len - 16;
	/* Gather the data back from its descriptors. */
	if (c->ocut && c->ocut < c->body_len) {
		memcpy(c->body, t->fe.mem + OUT_DATA, c->ocut);
		memcpy(c->body + c->ocut, t->fe.mem + OUT_DATA_B, c->body_len - c->ocut);
	} else if (c->body_len <= sizeof(c->body)) {
		memcpy(c->body, t->fe.mem + OUT_DATA, c->body_len);
	}
}

/* A call that must succeed with a proper reply. */
static bool good(const struct call *c)
{
	return c->used && c->hdr_ok && c->error == 0;
}

static struct call *call_new(unsigned q, uint32_t op, uint64_t nodeid, const void *args,
			     uint32_t alen, uint32_t out)
{
	static struct call c;

	memset(&c, 0, sizeof(c));
	c.q = q;
	c.op = op;
	c.nodeid = nodeid;
	c.args = args;
	c.alen = alen;
	c.acut = alen > 1 ? alen / 2 : 0;
	c.out = out;
	c.ocut = out > 8 ? 7 : 0;
	return &c;
}

/* ---- host side ---- */

static size_t slurp(const char *root, const char *name, uint8_t *buf, size_t cap)
{
	char p[256];
	FILE *f;
	size_t n;

	snprintf(p, sizeof(p), "%s/%s", root, name);
	f = fopen(p, "r");
	if (!f)
		return 0;
	n = fread(buf, 1, cap, f);
	fclose(f);
	return n;
}

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(p);
}

static uint64_t inodes(struct t *t)
{
	struct fsd_stats st;

	fsd_get_stats(t->fsd, &st);
	return st.inodes;
}

/* ---- the tests ---- */

static void test_setup(struct t *t)
{
	uint64_t proto;
	bool started = true;

	ok(vfe_handshake(&t->fe) & VFE_F(LBX_VIRTIO_F_VERSION_1), "handshake: VERSION_1 acked");
	is_int(vfe_get_u64(&t->fe, LBX_VU_GET_QUEUE_NUM), 2, "two queues: hiprio and requests");
	proto = vfe_get_u64(&t->fe, LBX_VU_GET_PROTOCOL_FEATURES);
	ok(!(proto & VFE_F(LBX_VU_PROTOCOL_F_CONFIG)), "no CONFIG: the tag is the front-end's");
	for (unsigned i = 0; i < 2; i++)
		started &= vfe_vq_init(&t->fe, &t->q[i], i, RING_BASE(i), QSIZE) == 0 &&
			   vfe_vq_start(&t->fe, &t->q[i]) == 0;
	ok(started, "hiprio and request queues started");
}

static void test_init(struct t *t)
{
	struct fuse_init_in in = {
		.major = 7,
		.minor = 38,
		.max_readahead = 131072,
		.flags = FUSE_DO_READDIRPLUS | FUSE_BIG_WRITES | FUSE_MAX_PAGES,
	};
	struct fuse_getattr_in ga = { 0 };
	struct call *c = call_new(REQUESTS, FUSE_GETATTR, FUSE_ROOT_ID, &ga, sizeof(ga), 256);

	fs_call(t, c);
	ok(c->used && c->hdr_ok && c->error == -EIO && c->used_len == 16,
	   "GETATTR before INIT: EIO, header only");
	c = call_new(REQUESTS, FUSE_INIT, 0, &in, sizeof(in), 256);
	fs_call(t, c);
	ok(good(c), "FUSE_INIT through the request queue (arguments in two descriptors)");
	ok(c->body_len >= offsetof(struct fuse_init_out, flags) &&
	       vd_get32(c->body + offsetof(struct fuse_init_out, major)) == 7,
	   "fuse_init_out: major 7 (reply data in two writable descriptors)");
}

static void test_files(struct t *t)
{
	static const char name[] = "hello.txt";
	struct fuse_getattr_in ga = { 0 };
	struct fuse_open_in oi = { .flags = O_RDWR };
	struct fuse_read_in ri = { 0 };
	struct fuse_write_in wi = { 0 };
	uint8_t host[256];
	uint64_t id, fh;
	struct call *c;

	c = call_new(REQUESTS, FUSE_LOOKUP, FUSE_ROOT_ID, name, sizeof(name), 256);
	c->acut = 3; /* the name cut across descriptors */
	fs_call(t, c);
	ok(good(c) && c->body_len == sizeof(struct fuse_entry_out), "LOOKUP hello.txt");
	id = get64(c->body + offsetof(struct fuse_entry_out, nodeid));
	ok(id > FUSE_ROOT_ID &&
	       S_ISREG(vd_get32(c->body + offsetof(struct fuse_entry_out, attr) +
				offsetof(struct fuse_attr, mode))) &&
	       get64(c->body + offsetof(struct fuse_entry_out, attr) +
		     offsetof(struct fuse_attr, size)) == strlen(HELLO),
	   "entry: a regular file of %zu bytes", strlen(HELLO));

	c = call_new(REQUESTS, FUSE_GETATTR, id, &ga, sizeof(ga), 256);
	fs_call(t, c);
	ok(good(c) && c->body_len == sizeof(struct fuse_attr_out) &&
	       get64(c->body + offsetof(struct fuse_attr_out, attr) +
		     offsetof(struct fuse_attr, size)) == strlen(HELLO),
	   "GETATTR: the size");

	c = call_new(REQUESTS, FUSE_OPEN, id, &oi, sizeof(oi), 64);
	fs_call(t, c);
	ok(good(c) && c->body_len == sizeof(struct fuse_open_out), "OPEN O_RDWR");
	fh = get64(c->body + offsetof(struct fuse_open_out, fh));

	ri.fh = fh;
	ri.size = 4096;
	c = call_new(REQUESTS, FUSE_READ, id, &ri, sizeof(ri), 4096);
	c->ocut = 5; /* data lands in two writable descriptors far apart */
	fs_call(t, c);
	ok(good(c) && c->body_len == strlen(HELLO) && !memcmp(c->body, HELLO, strlen(HELLO)),
	   "READ: header and data in separate descriptors, data split, bytes exact");

	wi.fh = fh;
	wi.offset = 7;
	wi.size = 6;
	c = call_new(REQUESTS, FUSE_WRITE, id, &wi, sizeof(wi), 64);
	c->data = "VIRTIO";
	c->dlen = 6;
	c->dcut = 2;
	fs_call(t, c);
	ok(good(c) && c->body_len == sizeof(struct fuse_write_out) &&
	       vd_get32(c->body + offsetof(struct fuse_write_out, size)) == 6,
	   "WRITE: header, arguments (two descriptors) and payload (two more)");
	memset(host, 0, sizeof(host));
	slurp(t->root, name, host, sizeof(host));
	ok(!strcmp((char *)host, "hello, VIRTIO-fs\n"), "the host file has the written bytes");

	/* A large write: 200 KiB in two payload descriptors. */
	{
		static uint8_t big[200 * 1024], back[sizeof(big) + 1];

		for (size_t i = 0; i < sizeof(big); i++)
			big[i] = (uint8_t)(i * 7 + (i >> 10));
		wi.offset = 0;
		wi.size = sizeof(big);
		c = call_new(REQUESTS, FUSE_WRITE, id, &wi, sizeof(wi), 64);
		c->data = big;
		c->dlen = sizeof(big);
		c->dcut = 70001;
		fs_call(t, c);
		ok(good(c) && vd_get32(c->body) == sizeof(big), "WRITE of 200 KiB");
		ok(slurp(t->root, name, back, sizeof(back)) == sizeof(big) &&
		       !memcmp(back, big, sizeof(big)),
		   "the host sees all of it");
		ri.offset = 1000;
		ri.size = 150000;
		c = call_new(REQUESTS, FUSE_READ, id, &ri, sizeof(ri), 150000);
		c->ocut = 65536;
		fs_call(t, c);
		ok(good(c) && c->body_len == 150000 && !memcmp(c->body, big + 1000, 150000),
		   "READ of 150000 bytes at 1000 across two descriptors");
	}
}

static void test_create(struct t *t, uint64_t *new_id)
{
	uint8_t args[sizeof(struct fuse_create_in) + 16];
	struct fuse_create_in ci = { .flags = O_CREAT | O_EXCL | O_RDWR, .mode = 0644 };
	struct fuse_write_in wi = { 0 };
	uint8_t host[64] = { 0 };
	struct stat st;
	char p[128];
	struct call *c;
	uint64_t fh;

	memcpy(args, &ci, sizeof(ci));
	memcpy(args + sizeof(ci), "new.txt", 8);
	c = call_new(REQUESTS, FUSE_CREATE, FUSE_ROOT_ID, args, sizeof(ci) + 8, 512);
	fs_call(t, c);
	ok(good(c) && c->body_len == sizeof(struct fuse_entry_out) + sizeof(struct fuse_open_out),
	   "CREATE new.txt: entry and open handle");
	snprintf(p, sizeof(p), "%s/new.txt", t->root);
	ok(stat(p, &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 0777) == 0644,
	   "the host has new.txt, mode 0644");
	*new_id = get64(c->body + offsetof(struct fuse_entry_out, nodeid));
	fh = get64(c->body + sizeof(struct fuse_entry_out) + offsetof(struct fuse_open_out, fh));
	wi.fh = fh;
	wi.size = 5;
	c = call_new(REQUESTS, FUSE_WRITE, *new_id, &wi, sizeof(wi), 64);
	c->data = "fresh";
	c->dlen = 5;
	fs_call(t, c);
	ok(good(c) && slurp(t->root, "new.txt", host, sizeof(host)) == 5 &&
	       !memcmp(host, "fresh", 5),
	   "WRITE through the created handle reaches the host");
}

/* FORGET and BATCH_FORGET on hiprio: processed, and no reply bytes. */
static void test_forget(struct t *t)
{
	static const char name[] = "sub";
	struct fuse_forget_in fi = { .nlookup = 1 };
	uint8_t batch[sizeof(struct fuse_batch_forget_in) + sizeof(struct fuse_forget_one)];
	struct fuse_batch_forget_in bi = { .count = 1 };
	struct fuse_forget_one one = { .nlookup = 1 };
	struct call *c;
	uint64_t id, before;

	c = call_new(REQUESTS, FUSE_LOOKUP, FUSE_ROOT_ID, name, sizeof(name), 256);
	fs_call(t, c);
	id = get64(c->body);
	ok(good(c), "LOOKUP sub");
	before = inodes(t);
	c = call_new(HIPRIO, FUSE_FORGET, id, &fi, sizeof(fi), 0);
	c->no_out = true;
	fs_call(t, c);
	ok(c->used && c->used_len == 0, "FORGET on hiprio: used len 0");
	is_int(inodes(t), before - 1, "and the inode is forgotten");

	c = call_new(REQUESTS, FUSE_LOOKUP, FUSE_ROOT_ID, name, sizeof(name), 256);
	fs_call(t, c);
	one.nodeid = get64(c->body);
	memcpy(batch, &bi, sizeof(bi));
	memcpy(batch + sizeof(bi), &one, sizeof(one));
	c = call_new(HIPRIO, FUSE_BATCH_FORGET, 0, batch, sizeof(batch), 64);
	fs_call(t, c);
	ok(c->used && c->used_len == 0 && vd_get32(t->fe.mem + OUT_HDR) == 0xeeeeeeee,
	   "BATCH_FORGET with a reply buffer offered: used len 0, nothing written");
	is_int(inodes(t), before - 1, "and processed");
}

static void test_readdirplus(struct t *t)
{
	struct fuse_open_in oi = { .flags = O_RDONLY };
	struct fuse_read_in ri = { 0 };
	struct fuse_release_in rel = { 0 };
	bool hello = false, fresh = false, sub = false, sane = true;
	struct call *c;
	uint32_t off = 0;

	c = call_new(REQUESTS, FUSE_OPENDIR, FUSE_ROOT_ID, &oi, sizeof(oi), 64);
	fs_call(t, c);
	ok(good(c), "OPENDIR /");
	ri.fh = get64(c->body);
	ri.size = 8192;
	c = call_new(REQUESTS, FUSE_READDIRPLUS, FUSE_ROOT_ID, &ri, sizeof(ri), 8192);
	c->ocut = 100; /* an entry cut across descriptors */
	fs_call(t, c);
	ok(good(c) && c->body_len > 0, "READDIRPLUS: %u bytes of entries", c->body_len);
	/* fuse_direntplus: fuse_entry_out, then fuse_dirent (name padded to 8). */
	while (sane && off + sizeof(struct fuse_direntplus) <= c->body_len) {
		const uint8_t *e = c->body + off + sizeof(struct fuse_entry_out);
		uint32_t namelen = vd_get32(e + offsetof(struct fuse_dirent, namelen));
		const char *nm = (const char *)e + offsetof(struct fuse_dirent, name);
		uint32_t size = (uint32_t)FUSE_DIRENTPLUS_SIZE(
		    &(struct fuse_direntplus){ .dirent = { .namelen = namelen } });

		if (namelen == 0 || namelen > 255 || off + size > c->body_len) {
			sane = false;
			break;
		}
		hello |= namelen == 9 && !memcmp(nm, "hello.txt", 9);
		fresh |= namelen == 7 && !memcmp(nm, "new.txt", 7);
		sub |= namelen == 3 && !memcmp(nm, "sub", 3);
		off += size;
	}
	ok(sane && off == c->body_len, "entries parse and fill the reply exactly");
	ok(hello && fresh && sub, "hello.txt, new.txt and sub are listed");
	rel.fh = ri.fh;
	c = call_new(REQUESTS, FUSE_RELEASEDIR, FUSE_ROOT_ID, &rel, sizeof(rel), 0);
	fs_call(t, c);
	ok(good(c) && c->used_len == 16, "RELEASEDIR: header-only reply");
}

static void test_malformed(struct t *t)
{
	struct fuse_getattr_in ga = { 0 };
	struct fuse_read_in ri = { 0 };
	struct fuse_open_in oi = { .flags = O_RDONLY };
	struct fsd_stats st0, st1;
	struct call *c;
	struct seg s[2];
	uint64_t id = 0;

	fsd_get_stats(t->fsd, &st0);
	/* 20 bytes: not even a fuse_in_header. */
	s[0] = (struct seg){ IN_HDR, 20, false };
	s[1] = (struct seg){ OUT_HDR, 256, true };
	memset(t->fe.mem + OUT_HDR, 0xee, 16);
	ok(run_chain(t, REQUESTS, s, 2) == 0 && vd_get32(t->fe.mem + OUT_HDR) == 0xeeeeeeee,
	   "request shorter than a header: chain returned with used len 0, nothing written");
	/* Only writable buffers. */
	s[0] = (struct seg){ OUT_HDR, 256, true };
	ok(run_chain(t, REQUESTS, s, 1) == 0, "chain without a request: used len 0");

	c = call_new(REQUESTS, FUSE_GETATTR, FUSE_ROOT_ID, &ga, sizeof(ga), 0);
	c->out_hdr_len = 8;
	fs_call(t, c);
	ok(c->used && c->used_len == 0 && vd_get32(t->fe.mem + OUT_HDR) == 0xeeeeeeee,
	   "reply buffer of 8 bytes (no room for a header): used len 0, nothing written");
	c = call_new(REQUESTS, FUSE_GETATTR, FUSE_ROOT_ID, &ga, sizeof(ga), 0);
	c->no_out = true;
	fs_call(t, c);
	ok(c->used && c->used_len == 0, "no reply buffer at all: used len 0");
	c = call_new(REQUESTS, FUSE_GETATTR, FUSE_ROOT_ID, &ga, sizeof(ga), 0);
	fs_call(t, c);
	ok(c->used && c->hdr_ok && c->used_len == 16 && c->error == -ERANGE,
	   "reply buffer too small for the attributes: header alone, ERANGE");
	c = call_new(REQUESTS, FUSE_GETATTR, FUSE_ROOT_ID, &ga, sizeof(ga), 50);
	fs_call(t, c);
	ok(c->used && c->hdr_ok && c->used_len == 16 && c->error == -ERANGE,
	   "reply data buffer too small (50 bytes): header alone, ERANGE");

	/* READ into less room than asked: a short read, within the buffers. */
	{
		static const char name[] = "hello.txt";

		c = call_new(REQUESTS, FUSE_LOOKUP, FUSE_ROOT_ID, name, sizeof(name), 256);
		fs_call(t, c);
		id = get64(c->body);
		c = call_new(REQUESTS, FUSE_OPEN, id, &oi, sizeof(oi), 64);
		fs_call(t, c);
		ri.fh = get64(c->body);
		ri.size = 4096;
		memset(t->fe.mem + OUT_DATA, 0xee, 16);
		c = call_new(REQUESTS, FUSE_READ, id, &ri, sizeof(ri), 4);
		fs_call(t, c);
		ok(good(c) && c->used_len == 20 && t->fe.mem[OUT_DATA + 4] == 0xee,
		   "READ of 4096 into 4 bytes: 4 bytes, nothing past the buffer");
	}

	/* The header's len disagrees with the chain. */
	c = call_new(REQUESTS, FUSE_GETATTR, FUSE_ROOT_ID, &ga, sizeof(ga), 256);
	fs_call(t, c);
	lbx_put_u32le(t->fe.mem + IN_HDR, 200); /* now lie about the length and resend */
	{
		struct seg r[3] = {
			{ IN_HDR, 40, false },
			{ IN_ARGS, 16, false },
			{ OUT_HDR, 16, true },
		};

		memset(t->fe.mem + IN_ARGS, 0, 16);
		ok(run_chain(t, REQUESTS, r, 3) == 16 &&
		       (int32_t)vd_get32(t->fe.mem + OUT_HDR + 4) == -EINVAL,
		   "header len 200 for a 56-byte request: EINVAL");
	}
	c = call_new(REQUESTS, 9999, FUSE_ROOT_ID, NULL, 0, 64);
	fs_call(t, c);
	ok(c->used && c->hdr_ok && c->error == -ENOSYS, "unknown opcode: ENOSYS");
	fsd_get_stats(t->fsd, &st1);
	ok(st1.refused > st0.refused, "refusals counted (%llu)",
	   (unsigned long long)(st1.refused - st0.refused));

	c = call_new(REQUESTS, FUSE_GETATTR, id, &ga, sizeof(ga), 256);
	fs_call(t, c);
	ok(good(c) && get64(c->body + offsetof(struct fuse_attr_out, attr) +
			    offsetof(struct fuse_attr, size)) == 200 * 1024,
	   "the request queue still works after all that");
	ok(!vfe_readable(t->q[REQUESTS].err) && !vfe_readable(t->q[HIPRIO].err),
	   "no ring was marked broken");
}

int main(void)
{
	static struct t t = { .fe = { .sock = -1, .memfd = -1 } };
	const char *tmp = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
	struct fsd_options opt;
	char sub[128];
	uint64_t new_id = 0;
	int fds_at_start = vfe_count_fds();

	lbx_log_init("test-fsd-vhost");
	lbx_log_set_level(LBX_LOG_ERROR);
	for (unsigned i = 0; i < 2; i++)
		t.q[i].kick = t.q[i].call = t.q[i].err = -1;
	snprintf(t.root, sizeof(t.root), "%.40s/lbx-fsd-dm-XXXXXX", tmp);
	if (!mkdtemp(t.root)) {
		printf("1..0 # SKIP no temporary directory\n");
		return 0;
	}
	fc_put_at(t.root, "hello.txt", HELLO);
	snprintf(sub, sizeof(sub), "%s/sub", t.root);
	mkdir(sub, 0755);
	if (vfe_mem_init(&t.fe, MEM_SIZE) < 0) {
		printf("1..0 # SKIP memfd_create unavailable\n");
		return 0;
	}
	fsd_options_default(&opt);
	t.fe.loop = lbx_loop_new();
	ok(fsd_new(t.root, &opt, &t.fsd) == 0, "fsd_new serves %s", t.root);
	t.vu = t.fsd ? fsd_vhost_new(t.fsd, t.fe.loop, false) : NULL;
	ok(t.vu != NULL, "vhost-user-fs device on the test's loop");
	if (!t.vu)
		return tap_done();
	t.fe.dev = fsd_vhost_dev(t.vu);
	ok(vfe_connect(&t.fe) == 0, "front-end connected over a socketpair");

	test_setup(&t);
	test_init(&t);
	test_files(&t);
	test_create(&t, &new_id);
	test_forget(&t);
	test_readdirplus(&t);
	test_malformed(&t);

	vfe_disconnect(&t.fe);
	ok(!lbx_vu_dev_connected(fsd_vhost_dev(t.vu)), "front-end gone: session over");
	fsd_vhost_free(t.vu);
	fsd_free(t.fsd);
	for (unsigned i = 0; i < 2; i++)
		vfe_vq_free(&t.q[i]);
	vfe_mem_free(&t.fe);
	lbx_loop_free(t.fe.loop);
	is_int(vfe_count_fds(), fds_at_start, "no fd leaked");
	nftw(t.root, rm_one, 8, FTW_DEPTH | FTW_PHYS);
	return tap_done();
}
