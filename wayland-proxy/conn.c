/* SPDX-License-Identifier: MIT */
#include "conn.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "frames_client.h"
#include "link.h"
#include "objmap.h"
#include "outq.h"
#include "reader.h"
#include "vgpu.h"
#include "wire.h"
#include "writer.h"

#define WL_IN_MAX    (64u * 1024)
#define LINK_IN_MAX  (WLP_FRAME_MAX + WLP_FRAME_HDR + 64u * 1024)
#define FDQ_MAX	     64
#define PIPES	     16
#define PIPE_BUF_MAX (4u << 20)
#define POOLS_MAX    4096
#define OUT_HIGH     (4u << 20)
#define OUT_MAX	     (128u << 20)
#define GLOBALS_MAX  256

/* Object flags. */
#define OF_SELECTION 0x1  /* a data offer announced as the selection */
#define OF_VIEWPORT  0x2  /* a surface with a viewport: damage in surface space is not exact */
#define OF_LOCAL     0x4  /* host: an object the proxy serves itself (the dmabuf ones) */
#define OF_OFFERED   0x8  /* host: a box registry told of the proxy's dmabuf global */
#define OF_SHM_TWIN  0x10 /* host: the compositor has a wl_shm of the proxy's at this id */

/* host: ids whose compositor-side placeholder's events and delete_id the proxy eats. */
#define SWALLOW_MAX 256
/* host: the name of the zwp_linux_dmabuf_v1 global it offers for GPU buffers. */
#define DMABUF_NAME    0xfffff001u
#define DMABUF_VERSION 4	   /* create_immed; feedback (version 4), else format and modifier */

#define POOL_LOCAL     0x80000000u /* host: pool handles of its own (guests count up from 1) */
#define DRM_FMT_AR24   0x34325241u
#define DRM_FMT_XR24   0x34325258u

enum fdkind { FK_NONE, FK_SHM, FK_DATA, FK_PIPE, FK_VGPU };

struct slot {
	uint8_t kind;
	uint32_t handle;
	uint8_t *data;
	size_t len;
};

struct pool {
	uint32_t handle;
	int fd;
	uint8_t *map;
	size_t size;
	unsigned refs;
};

struct rect {
	int32_t x0, y0, x1, y1; /* empty when x0 >= x1 */
};

struct surface {
	uint32_t buffer;
	bool attached;
	bool transformed;
	int32_t scale;
	struct rect damage;
};

struct buffer {
	uint32_t id, pool, offset, format;
	int32_t w, h, stride;
	uint32_t surface; /* last committed on */
	bool full;
	struct rect dirty;
	uint32_t gem;	 /* guest: a dmabuf buffer's GEM handle on the render node */
	uint32_t frames; /* host: a dmabuf buffer's handle on lbx-gpud's frames socket */
	struct buffer *next, **pprev;
};

/* A zwp_linux_buffer_params_v1 under construction: plane 0 only. */
struct params {
	bool added, used;
	uint32_t resource; /* host */
	uint32_t gem;	   /* guest */
};

struct pipe {
	struct wlp_conn *c;
	bool used, remote, held, eof;
	uint32_t handle;
	int fd;
	uint32_t ev;
	void *ask;
	uint8_t *buf;
	size_t len;
};

struct wlp_conn {
	struct lbx_loop *loop;
	enum wlp_role role;
	const struct wlp_policy *pol;
	const struct wlp_conn_ops *ops;
	void *ctx;
	int wl_fd, link_fd;
	uint32_t wl_ev, link_ev;
	struct wlp_objmap objs;
	uint8_t *wl_in, *link_in;
	size_t wl_in_len, link_in_len;
	int wl_fds[FDQ_MAX];
	unsigned n_wl_fds;
	struct slot slots[FDQ_MAX];
	unsigned nslots;
	struct wlp_outq wl_out, link_out;
	struct pool *pools;
	size_t npools;
	uint64_t shm_bytes;
	struct buffer *buffers;
	struct pipe pipes[PIPES];
	uint32_t next_handle;
	struct {
		uint32_t name, max;
		const struct wlp_iface *iface;
	} globals[GLOBALS_MAX];
	size_t nglobals;
	struct wlp_conn_counters cnt;
	struct wlp_frames *frames; /* host: lbx-gpud's frames socket, NULL: no GPU path */
	uint32_t shm_id;	   /* host: the proxy's own wl_shm, 0 until bound */
	uint32_t shm_name;	   /* host: the compositor's wl_shm global */
	uint32_t swallow[SWALLOW_MAX];
	unsigned nswallow;
	bool dmabuf_offered;
	char err[256];
};

struct msg {
	struct wlp_header h;
	struct wlp_obj *obj;
	const struct wlp_iface *iface;
	const struct wlp_msg *m;
	struct wlp_val v[WLP_MAX_ARGS];
	unsigned nfds;
	bool req;
	bool drop, rewrite;
	int fds[2];    /* materialised fds, at most one per message in our tables */
	uint32_t vgpu; /* FK_VGPU: the resource id (host) or GEM handle (guest) */
	char strbuf[WLP_MSG_MAX];
};

static void update_watches(struct wlp_conn *c);

LBX_PRINTF(2, 3) static int fail(struct wlp_conn *c, const char *fmt, ...)
{
	va_list ap;

	if (!c->err[0]) {
		va_start(ap, fmt);
		vsnprintf(c->err, sizeof(c->err), fmt, ap);
		va_end(ap);
	}
	return -EPROTO;
}

const char *wlp_conn_error(const struct wlp_conn *c)
{
	return c->err;
}

const struct wlp_conn_counters *wlp_conn_counters(const struct wlp_conn *c)
{
	return &c->cnt;
}

static void audit(struct wlp_conn *c, const char *event, const char *iface, const char *detail)
{
	if (c->ops && c->ops->audit)
		c->ops->audit(c->ctx, event, iface, detail);
}

static bool is(const struct msg *m, const struct wlp_iface *i, const char *name)
{
	return m->iface == i && strcmp(m->m->name, name) == 0;
}

extern const struct wlp_iface wlp_iface_wl_registry, wlp_iface_wl_shm, wlp_iface_wl_shm_pool,
    wlp_iface_wl_buffer, wlp_iface_wl_surface, wlp_iface_wl_compositor, wlp_iface_wl_keyboard,
    wlp_iface_wl_data_offer, wlp_iface_wl_data_source, wlp_iface_wl_data_device,
    wlp_iface_zwp_primary_selection_offer_v1, wlp_iface_zwp_primary_selection_source_v1,
    wlp_iface_zwp_primary_selection_device_v1, wlp_iface_xdg_toplevel, wlp_iface_wp_viewporter,
    wlp_iface_zwp_linux_dmabuf_v1, wlp_iface_zwp_linux_buffer_params_v1,
    wlp_iface_zwp_linux_dmabuf_feedback_v1;

/* What the fd of a message holds: the only fds the proxy carries. */
static enum fdkind fd_kind(const struct msg *m)
{
	if (m->req && is(m, &wlp_iface_wl_shm, "create_pool"))
		return FK_SHM;
	if (!m->req && (is(m, &wlp_iface_wl_keyboard, "keymap") ||
			is(m, &wlp_iface_zwp_linux_dmabuf_feedback_v1, "format_table")))
		return FK_DATA;
	if (m->req && (is(m, &wlp_iface_wl_data_offer, "receive") ||
		       is(m, &wlp_iface_zwp_primary_selection_offer_v1, "receive")))
		return FK_PIPE;
	if (!m->req && (is(m, &wlp_iface_wl_data_source, "send") ||
			is(m, &wlp_iface_zwp_primary_selection_source_v1, "send")))
		return FK_PIPE;
	if (m->req && is(m, &wlp_iface_zwp_linux_buffer_params_v1, "add"))
		return FK_VGPU;
	return FK_NONE;
}

/* ---- frames to the link ---- */

static int link_frame(struct wlp_conn *c, uint32_t type, const void *a, size_t alen, const void *b,
		      size_t blen)
{
	uint8_t hdr[WLP_FRAME_HDR];

	lbx_put_u32le(hdr, type);
	lbx_put_u32le(hdr + 4, (uint32_t)(alen + blen));
	if (wlp_outq_put(&c->link_out, hdr, sizeof(hdr)) < 0 ||
	    (alen && wlp_outq_put(&c->link_out, a, alen) < 0) ||
	    (blen && wlp_outq_put(&c->link_out, b, blen) < 0))
		return fail(c, "the link's queue is full (the other half does not read)");
	c->cnt.link_out += WLP_FRAME_HDR + alen + blen;
	return 0;
}

static int link_u32(struct wlp_conn *c, uint32_t type, uint32_t v, const void *b, size_t blen)
{
	uint8_t p[4];

	lbx_put_u32le(p, v);
	return link_frame(c, type, p, 4, b, blen);
}

/* ---- shm pools ---- */

static struct pool *pool_find(struct wlp_conn *c, uint32_t handle)
{
	for (size_t i = 0; i < c->npools; i++)
		if (c->pools[i].handle == handle)
			return &c->pools[i];
	return NULL;
}

static int pool_add(struct wlp_conn *c, uint32_t handle, int fd, uint8_t *map, size_t size)
{
	if (pool_find(c, handle) || c->npools == POOLS_MAX)
		return -EEXIST;
	struct pool *n = realloc(c->pools, (c->npools + 1) * sizeof(*n));
	if (!n)
		return -ENOMEM;
	c->pools = n;
	n[c->npools++] = (struct pool){ handle, fd, map, size, 1 };
	return 0;
}

static void pool_unref(struct wlp_conn *c, uint32_t handle)
{
	struct pool *p = pool_find(c, handle);

	if (!p || --p->refs > 0)
		return;
	munmap(p->map, p->size);
	close(p->fd);
	if (c->role == WLP_HOST)
		c->shm_bytes -= p->size;
	*p = c->pools[--c->npools];
}

/* The guest maps the client's pool to read what it draws. */
static int guest_pool_map(struct wlp_conn *c, int fd, int32_t size, struct pool *p)
{
	struct stat st;

	if (size <= 0 || fstat(fd, &st) < 0 || st.st_size < size) {
		close(fd);
		return fail(c, "wl_shm.create_pool: the fd holds fewer than %d bytes", size);
	}
	void *map = mmap(NULL, (size_t)size, PROT_READ, MAP_SHARED, fd, 0);
	if (map == MAP_FAILED) {
		close(fd);
		return fail(c, "wl_shm.create_pool: cannot map the pool: %s", strerror(errno));
	}
	p->fd = fd;
	p->map = map;
	p->size = (size_t)size;
	return 0;
}

/* The host's copy: a memfd it owns, sized by it, never shrinkable by anyone. */
static int host_pool_make(struct wlp_conn *c, int32_t size, struct pool *p)
{
	if (size <= 0 || (uint64_t)size > c->pol->shm_max - c->shm_bytes ||
	    c->shm_bytes > c->pol->shm_max)
		return fail(c,
			    "wl_shm.create_pool: %d bytes is over this client's shm budget "
			    "(%llu bytes)",
			    size, (unsigned long long)c->pol->shm_max);
	int fd = memfd_create("lbx-wl-shm", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (fd < 0 || ftruncate(fd, size) < 0 || fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK) < 0) {
		if (fd >= 0)
			close(fd);
		return fail(c, "cannot make a shm pool of %d bytes: %s", size, strerror(errno));
	}
	void *map = mmap(NULL, (size_t)size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (map == MAP_FAILED) {
		close(fd);
		return fail(c, "cannot map a shm pool of %d bytes: %s", size, strerror(errno));
	}
	p->fd = fd;
	p->map = map;
	p->size = (size_t)size;
	c->shm_bytes += (size_t)size;
	return 0;
}

static int pool_resize(struct wlp_conn *c, struct pool *p, int32_t size)
{
	struct stat st;

	if (size < 0 || (size_t)size < p->size)
		return fail(c, "wl_shm_pool.resize: pools only grow (%d < %zu)", size, p->size);
	if ((size_t)size == p->size)
		return 0;
	size_t grow = (size_t)size - p->size;
	if (c->role == WLP_HOST) {
		if (grow > c->pol->shm_max - c->shm_bytes)
			return fail(c,
				    "wl_shm_pool.resize: %d bytes is over this client's shm budget",
				    size);
		if (ftruncate(p->fd, size) < 0)
			return fail(c, "cannot grow a shm pool: %s", strerror(errno));
	} else if (fstat(p->fd, &st) < 0 || st.st_size < size) {
		return fail(c, "wl_shm_pool.resize: the fd holds fewer than %d bytes", size);
	}
	void *map = mremap(p->map, p->size, (size_t)size, MREMAP_MAYMOVE);
	if (map == MAP_FAILED)
		return fail(c, "cannot remap a shm pool: %s", strerror(errno));
	p->map = map;
	p->size = (size_t)size;
	if (c->role == WLP_HOST)
		c->shm_bytes += grow;
	return 0;
}

/* ---- pipes ---- */

static struct pipe *pipe_find(struct wlp_conn *c, bool remote, uint32_t handle)
{
	for (int i = 0; i < PIPES; i++)
		if (c->pipes[i].used && c->pipes[i].remote == remote &&
		    c->pipes[i].handle == handle)
			return &c->pipes[i];
	return NULL;
}

static void pipe_close(struct pipe *p)
{
	struct wlp_conn *c = p->c;

	if (p->ask && c->ops && c->ops->ask_cancel)
		c->ops->ask_cancel(c->ctx, p->ask);
	if (c->loop)
		lbx_loop_want(c->loop, p->fd, &p->ev, 0, NULL, NULL);
	close(p->fd);
	free(p->buf);
	memset(p, 0, sizeof(*p));
}

static void pipe_io(struct lbx_loop *loop, int fd, uint32_t events, void *data);

static struct pipe *pipe_add(struct wlp_conn *c, bool remote, uint32_t handle, int fd)
{
	for (int i = 0; i < PIPES; i++) {
		struct pipe *p = &c->pipes[i];
		if (!p->used) {
			*p = (struct pipe){
				.c = c, .used = true, .remote = remote, .handle = handle, .fd = fd
			};
			return p;
		}
	}
	return NULL;
}

/* Hold a pipe's data until the user answers (ask). */
static void pipe_hold(struct wlp_conn *c, struct pipe *p, const char *what)
{
	uint32_t token = p->handle << 1 | p->remote;

	p->held = true;
	p->ask = c->ops && c->ops->ask ? c->ops->ask(c->ctx, c, what, token) : NULL;
	if (!p->ask) {
		audit(c, "refused selection read", NULL, "no way to ask the user");
		p->held = false;
		if (p->remote)
			(void)!link_u32(c, WLP_F_PIPE_CLOSE, p->handle, NULL, 0);
		pipe_close(p);
	}
}

/* ---- the guest's damage tracking ---- */

static void rect_union(struct rect *r, int64_t x0, int64_t y0, int64_t x1, int64_t y1)
{
	x0 = LBX_MAX(x0, 0);
	y0 = LBX_MAX(y0, 0);
	x1 = LBX_MIN(x1, INT32_MAX);
	y1 = LBX_MIN(y1, INT32_MAX);
	if (x0 >= x1 || y0 >= y1)
		return;
	if (r->x0 >= r->x1) {
		*r = (struct rect){ (int32_t)x0, (int32_t)y0, (int32_t)x1, (int32_t)y1 };
		return;
	}
	r->x0 = (int32_t)LBX_MIN(r->x0, x0);
	r->y0 = (int32_t)LBX_MIN(r->y0, y0);
	r->x1 = (int32_t)LBX_MAX(r->x1, x1);
	r->y1 = (int32_t)LBX_MAX(r->y1, y1);
}

static unsigned format_bpp(uint32_t format)
{
	switch (format) {
	case 0:		 /* argb8888 */
	case 1:		 /* xrgb8888 */
	case 0x34325241: /* AR24 */
	case 0x34325258: /* XR24 */
	case 0x34324241: /* AB24 */
	case 0x34324258: /* XB24 */ return 4;
	case 0x36314752: /* RG16 */ return 2;
	}
	return 0; /* whole rows */
}

static int send_rect(struct wlp_conn *c, struct buffer *b, struct rect r)
{
	struct pool *p = pool_find(c, b->pool);
	struct stat st;
	unsigned bpp = format_bpp(b->format);

	if (!p)
		return 0;
	if (fstat(p->fd, &st) < 0 || (size_t)st.st_size < p->size)
		return fail(c, "a shm pool shrank under its buffers");
	r.x1 = LBX_MIN(r.x1, b->w);
	r.y1 = LBX_MIN(r.y1, b->h);
	if (r.x0 >= r.x1 || r.y0 >= r.y1)
		return 0;
	size_t x0 = bpp ? (size_t)r.x0 * bpp : 0;
	size_t row = bpp ? (size_t)(r.x1 - r.x0) * bpp : (size_t)b->stride;
	size_t per = LBX_MAX((size_t)1, (WLP_FRAME_MAX - 20) / row);
	for (int32_t y = r.y0; y < r.y1;) {
		size_t rows = LBX_MIN(per, (size_t)(r.y1 - y));
		size_t off = b->offset + (size_t)y * (size_t)b->stride + x0;
		uint8_t f[20];
		lbx_put_u32le(f, b->pool);
		lbx_put_u32le(f + 4, (uint32_t)off);
		lbx_put_u32le(f + 8, (uint32_t)b->stride);
		lbx_put_u32le(f + 12, (uint32_t)row);
		lbx_put_u32le(f + 16, (uint32_t)rows);
		if (row == (size_t)b->stride) {
			if (link_frame(c, WLP_F_SHM_RECT, f, 20, p->map + off, rows * row) < 0)
				return -EPROTO;
		} else {
			if (link_frame(c, WLP_F_SHM_RECT, f, 20, NULL, 0) < 0)
				return -EPROTO;
			/* The header said 20 bytes: patch in the rows that follow. */
			uint8_t *len = c->link_out.buf + c->link_out.tail - 24;
			lbx_put_u32le(len, (uint32_t)(20 + rows * row));
			for (size_t k = 0; k < rows; k++)
				if (wlp_outq_put(&c->link_out, p->map + off + k * (size_t)b->stride,
						 row) < 0)
					return fail(c, "the link's queue is full");
			c->cnt.link_out += rows * row;
		}
		y += (int32_t)rows;
	}
	return 0;
}

static int guest_commit(struct wlp_conn *c, uint32_t sid, struct surface *s)
{
	struct rect d = s->damage;

	c->cnt.commits++;
	for (struct buffer *b = c->buffers; b; b = b->next)
		if (b->surface == sid) {
			if (s->transformed)
				b->full = true;
			else
				rect_union(&b->dirty, d.x0, d.y0, d.x1, d.y1);
		}
	if (s->attached && s->buffer) {
		struct wlp_obj *o = wlp_obj_get(&c->objs, s->buffer);
		struct buffer *b = o && o->iface == &wlp_iface_wl_buffer ? o->data : NULL;
		if (b) {
			if (b->surface != sid)
				b->full = true;
			b->surface = sid;
			struct rect r = b->full ? (struct rect){ 0, 0, b->w, b->h } : b->dirty;
			/* The host reads a GPU buffer back once the commit arrives: the GPU must be
			 * done. */
			if (b->gem && wlp_vgpu_wait(b->gem) < 0)
				return fail(c,
					    "wl_surface.commit: cannot wait for the GPU to finish "
					    "buffer %u",
					    b->id);
			if (send_rect(c, b, r) < 0)
				return -EPROTO;
			b->full = false;
			b->dirty = (struct rect){ 0, 0, 0, 0 };
		}
	}
	s->attached = false;
	s->damage = (struct rect){ 0, 0, 0, 0 };
	return 0;
}

static void buffer_free(struct wlp_conn *c, struct buffer *b)
{
	if (b->gem)
		wlp_vgpu_release(b->gem);
	if (b->frames && c->frames)
		(void)wlp_frames_unbind(c->frames, b->frames);
	*b->pprev = b->next;
	if (b->next)
		b->next->pprev = b->pprev;
	free(b);
}

/* Release what the proxy keeps for an object that is going away. */
static void obj_release(struct wlp_conn *c, struct wlp_obj *o)
{
	if (o->iface == &wlp_iface_wl_shm_pool || o->iface == &wlp_iface_wl_buffer) {
		if (o->handle)
			pool_unref(c, o->handle);
		o->handle = 0;
	}
	if (o->data) {
		if (o->iface == &wlp_iface_wl_buffer)
			buffer_free(c, o->data);
		else if (o->iface == &wlp_iface_zwp_linux_buffer_params_v1) {
			struct params *p = o->data;
			if (p->gem)
				wlp_vgpu_release(p->gem);
			free(p);
		} else
			free(o->data);
		o->data = NULL;
	}
}

/* ---- per-message handling ---- */

static int check_args(struct wlp_conn *c, struct msg *m)
{
	for (unsigned i = 0; i < m->m->nargs; i++) {
		const struct wlp_arg *a = &m->m->args[i];
		const struct wlp_val *v = &m->v[i];

		if (a->type == 'o' && v->u) {
			struct wlp_obj *t = wlp_obj_get(&c->objs, v->u);
			if (!t || (m->req && t->state != WLP_OBJ_LIVE))
				return fail(c, "%s.%s: unknown object %u", m->iface->name,
					    m->m->name, v->u);
			if (a->iface && t->iface != a->iface)
				return fail(c, "%s.%s: object %u is a %s, not a %s", m->iface->name,
					    m->m->name, v->u, t->iface->name, a->iface->name);
		}
		if (a->type == 'n') {
			bool server = v->u >= WLP_SERVER_ID_MIN;
			uint32_t idx = server ? v->u - WLP_SERVER_ID_MIN : v->u;
			if (server == m->req || wlp_obj_get(&c->objs, v->u) || idx >= WLP_OBJ_MAX)
				return fail(c, "%s.%s: new id %u is taken or not the sender's",
					    m->iface->name, m->m->name, v->u);
			if (!a->iface) {
				const struct wlp_iface *ni = wlp_iface_find(v->str, v->len);
				if (!ni && c->role == WLP_HOST)
					audit(c, "refused bind", v->str, "not offered to the box");
				if (!ni || v->version == 0 || v->version > ni->version)
					return fail(c, "%s.%s: unknown interface %s version %u",
						    m->iface->name, m->m->name, v->str, v->version);
			}
		}
	}
	return 0;
}

static int create_objects(struct wlp_conn *c, struct msg *m)
{
	for (unsigned i = 0; i < m->m->nargs; i++) {
		const struct wlp_arg *a = &m->m->args[i];
		const struct wlp_val *v = &m->v[i];

		if (a->type != 'n')
			continue;
		const struct wlp_iface *ni = a->iface ? a->iface : wlp_iface_find(v->str, v->len);
		uint32_t ver = a->iface ? m->obj->version : v->version;
		if (!wlp_obj_new(&c->objs, v->u, ni, LBX_MIN(ver, ni->version)))
			return fail(c, "out of memory for object %u", v->u);
	}
	return 0;
}

static int32_t ival(const struct msg *m, unsigned i)
{
	return (int32_t)m->v[i].u;
}

static int host_commit(struct wlp_conn *c, uint32_t sid, struct surface *s);

/*
 * Both halves follow surfaces: the guest to send only the damaged part of
 * shm buffers, the host to read back only the damaged part of GPU buffers.
 */
static int surface_request(struct wlp_conn *c, struct msg *m)
{
	struct wlp_obj *o = m->obj;
	struct surface *s = o->data;

	if (o->iface == &wlp_iface_wl_surface && s) {
		if (strcmp(m->m->name, "attach") == 0) {
			s->buffer = m->v[0].u;
			s->attached = true;
		} else if (strcmp(m->m->name, "damage") == 0) {
			int64_t k = s->scale > 0 ? s->scale : 1;
			if (o->flags & OF_VIEWPORT) {
				s->transformed = true;
			}
			rect_union(&s->damage, k * ival(m, 0), k * ival(m, 1),
				   k * ((int64_t)ival(m, 0) + ival(m, 2)),
				   k * ((int64_t)ival(m, 1) + ival(m, 3)));
		} else if (strcmp(m->m->name, "damage_buffer") == 0) {
			rect_union(&s->damage, ival(m, 0), ival(m, 1),
				   (int64_t)ival(m, 0) + ival(m, 2),
				   (int64_t)ival(m, 1) + ival(m, 3));
		} else if (strcmp(m->m->name, "set_buffer_scale") == 0) {
			s->scale = ival(m, 0);
		} else if (strcmp(m->m->name, "set_buffer_transform") == 0) {
			s->transformed = ival(m, 0) != 0 || (o->flags & OF_VIEWPORT);
		} else if (strcmp(m->m->name, "commit") == 0) {
			return c->role == WLP_GUEST ? guest_commit(c, m->h.id, s)
						    : host_commit(c, m->h.id, s);
		}
	}
	return 0;
}

/* The guest follows pools, buffers and surfaces to send only what changed. */
static int guest_request(struct wlp_conn *c, struct msg *m)
{
	struct wlp_obj *o = m->obj;

	if (is(m, &wlp_iface_wl_shm_pool, "resize")) {
		struct pool *p = pool_find(c, o->handle);
		return p ? pool_resize(c, p, ival(m, 0)) : 0;
	}
	if (is(m, &wlp_iface_zwp_linux_buffer_params_v1, "add")) {
		struct params *p = o->data;
		if (!p || p->gem) {
			if (m->vgpu)
				wlp_vgpu_release(m->vgpu);
			return fail(c, "zwp_linux_buffer_params_v1.add: one plane only");
		}
		p->gem = m->vgpu;
		m->vgpu = 0;
		return 0;
	}
	return surface_request(c, m);
}

/*
 * The host half's dmabuf feedback names no device (conn_dmabuf.c): the
 * guest's own virtio-gpu node goes in, which Mesa opens to render on.
 */
static int guest_event(struct wlp_conn *c, struct msg *m)
{
	if (m->iface != &wlp_iface_zwp_linux_dmabuf_feedback_v1 ||
	    (strcmp(m->m->name, "main_device") != 0 &&
	     strcmp(m->m->name, "tranche_target_device") != 0))
		return 0;
	uint64_t dev;
	int rc = wlp_vgpu_device(&dev);
	if (rc < 0)
		return fail(c, "zwp_linux_dmabuf_feedback_v1.%s: the box has no GPU node: %s",
			    m->m->name, strerror(-rc));
	memcpy(m->strbuf, &dev, sizeof(dev));
	m->v[0].p = (const uint8_t *)m->strbuf;
	m->v[0].len = sizeof(dev);
	m->rewrite = true;
	return 0;
}

static int create_buffer_check(struct wlp_conn *c, struct msg *m, struct pool *p)
{
	int32_t off = ival(m, 1), w = ival(m, 2), h = ival(m, 3), stride = ival(m, 4);

	if (off < 0 || w <= 0 || h <= 0 || stride <= 0 || stride > (int32_t)(WLP_FRAME_MAX - 64) ||
	    (uint64_t)off + (uint64_t)stride * (uint64_t)h > p->size)
		return fail(c,
			    "wl_shm_pool.create_buffer: %dx%d stride %d at %d is outside the "
			    "pool (%zu bytes)",
			    w, h, stride, off, p->size);
	return 0;
}

static void buffer_link(struct wlp_conn *c, struct buffer *b)
{
	b->next = c->buffers;
	if (b->next)
		b->next->pprev = &b->next;
	b->pprev = &c->buffers;
	c->buffers = b;
}

#include "conn_dmabuf.c"

/* After the new objects exist: attach what the proxy keeps for them. */
static int after_create(struct wlp_conn *c, struct msg *m)
{
	if (is(m, &wlp_iface_wl_compositor, "create_surface")) {
		struct wlp_obj *n = wlp_obj_get(&c->objs, m->v[0].u);
		n->data = calloc(1, sizeof(struct surface));
		if (!n->data)
			return fail(c, "out of memory");
	}
	if (is(m, &wlp_iface_zwp_linux_dmabuf_v1, "create_params") && c->role == WLP_GUEST) {
		struct wlp_obj *n = wlp_obj_get(&c->objs, m->v[0].u);
		n->data = calloc(1, sizeof(struct params));
		if (!n->data)
			return fail(c, "out of memory");
	}
	if (is(m, &wlp_iface_zwp_linux_buffer_params_v1, "create_immed") && c->role == WLP_GUEST) {
		struct params *p = m->obj->data;
		struct wlp_obj *n = wlp_obj_get(&c->objs, m->v[0].u);
		struct buffer *b = calloc(1, sizeof(*b));
		if (!b)
			return fail(c, "out of memory");
		*b = (struct buffer){ .id = m->v[0].u,
				      .w = ival(m, 1),
				      .h = ival(m, 2),
				      .format = m->v[3].u,
				      .gem = p ? p->gem : 0,
				      .full = true };
		if (p)
			p->gem = 0;
		buffer_link(c, b);
		n->data = b;
	}
	if (is(m, &wlp_iface_wp_viewporter, "get_viewport")) {
		struct wlp_obj *s = wlp_obj_get(&c->objs, m->v[1].u);
		s->flags |= OF_VIEWPORT;
		if (s->data)
			((struct surface *)s->data)->transformed = true;
	}
	if (is(m, &wlp_iface_wl_shm_pool, "create_buffer")) {
		struct wlp_obj *n = wlp_obj_get(&c->objs, m->v[0].u);
		struct pool *p = pool_find(c, m->obj->handle);
		if (!p)
			return 0;
		p->refs++;
		n->handle = p->handle;
		if (c->role == WLP_GUEST) {
			struct buffer *b = calloc(1, sizeof(*b));
			if (!b)
				return fail(c, "out of memory");
			*b = (struct buffer){ .id = m->v[0].u,
					      .pool = p->handle,
					      .offset = m->v[1].u,
					      .w = ival(m, 2),
					      .h = ival(m, 3),
					      .stride = ival(m, 4),
					      .format = m->v[5].u,
					      .full = true };
			buffer_link(c, b);
			n->data = b;
		}
	}
	return 0;
}

/* The filter: what the host lets through. */
static int host_request(struct wlp_conn *c, struct msg *m)
{
	const struct wlp_policy *pol = c->pol;

	if (m->obj->flags & OF_LOCAL)
		return dmabuf_request(c, m);
	if (is(m, &wlp_iface_wl_registry, "bind") && m->v[0].u == DMABUF_NAME && c->frames)
		return dmabuf_bind(c, m);
	if (is(m, &wlp_iface_wl_registry, "bind")) {
		const struct wlp_val *v = &m->v[1];
		for (size_t i = 0; i < c->nglobals; i++)
			if (c->globals[i].name == m->v[0].u) {
				if (strcmp(c->globals[i].iface->name, v->str) != 0 ||
				    v->version > c->globals[i].max)
					break;
				return 0;
			}
		audit(c, "refused bind", v->str, "not offered to the box");
		return fail(c, "wl_registry.bind: global %u (%s version %u) was not offered",
			    m->v[0].u, v->str, v->version);
	}
	if (is(m, &wlp_iface_xdg_toplevel, "set_title") ||
	    is(m, &wlp_iface_xdg_toplevel, "set_app_id")) {
		struct wlp_val *v = &m->v[0];
		size_t pl = strlen(pol->title_prefix);
		size_t n = LBX_MIN(v->len, sizeof(m->strbuf) - 256 - pl);
		memcpy(m->strbuf, pol->title_prefix, pl);
		memcpy(m->strbuf + pl, v->str, n);
		m->strbuf[pl + n] = 0;
		v->str = m->strbuf;
		v->len = pl + n;
		m->rewrite = true;
		return 0;
	}
	if ((is(m, &wlp_iface_wl_data_device, "set_selection") ||
	     is(m, &wlp_iface_zwp_primary_selection_device_v1, "set_selection")) &&
	    m->v[0].u) {
		if (pol->to_host == WLP_CLIP_DENY) {
			audit(c, "refused selection offer", m->iface->name,
			      "clipboard to_host is deny");
			m->drop = true;
		} else {
			wlp_obj_get(&c->objs, m->v[0].u)->flags |= OF_SELECTION;
		}
	}
	return surface_request(c, m);
}

static int host_event(struct wlp_conn *c, struct msg *m)
{
	if (m->iface == &wlp_iface_wl_display && m->h.opcode == 1 && swallow_take(c, m->v[0].u)) {
		m->drop = true; /* delete_id of a placeholder of ours: the box never knew it */
		return 0;
	}
	if (is(m, &wlp_iface_wl_registry, "global") && strcmp(m->v[1].str, "wl_shm") == 0)
		c->shm_name = m->v[0].u;
	if (is(m, &wlp_iface_wl_registry, "global") && c->frames) {
		if (strcmp(m->v[1].str, "zwp_linux_dmabuf_v1") == 0) {
			m->drop = true; /* the box's GPU buffers go through ours */
			return 0;
		}
		if (!(m->obj->flags & OF_OFFERED)) {
			m->obj->flags |= OF_OFFERED;
			if (dmabuf_offer(c, m->h.id) < 0)
				return -EPROTO;
		}
	}
	if (is(m, &wlp_iface_wl_registry, "global")) {
		const char *name = m->v[1].str;
		uint32_t ver = wlp_policy_global(c->pol, name, m->v[2].u);
		if (ver == 0 || c->nglobals == GLOBALS_MAX) {
			audit(c, "refused global", name, "not in the box's allowlist");
			m->drop = true;
			return 0;
		}
		c->globals[c->nglobals].name = m->v[0].u;
		c->globals[c->nglobals].max = ver;
		c->globals[c->nglobals++].iface = wlp_iface_find(name, strlen(name));
		if (ver != m->v[2].u) {
			m->v[2].u = ver;
			m->rewrite = true;
		}
		return 0;
	}
	if (is(m, &wlp_iface_wl_registry, "global_remove")) {
		for (size_t i = 0; i < c->nglobals; i++)
			if (c->globals[i].name == m->v[0].u) {
				c->globals[i] = c->globals[--c->nglobals];
				return 0;
			}
		m->drop = true;
		return 0;
	}
	if ((is(m, &wlp_iface_wl_data_device, "selection") ||
	     is(m, &wlp_iface_zwp_primary_selection_device_v1, "selection")) &&
	    m->v[0].u) {
		struct wlp_obj *o = wlp_obj_get(&c->objs, m->v[0].u);
		if (o)
			o->flags |= OF_SELECTION;
	}
	return 0;
}

/* An fd from the Wayland side becomes frames on the link. */
static int fd_to_link(struct wlp_conn *c, struct msg *m, int fd)
{
	enum fdkind k = fd_kind(m);

	if (k == FK_SHM && c->role == WLP_GUEST) {
		struct pool p = { 0 };
		if (guest_pool_map(c, fd, ival(m, 2), &p) < 0)
			return -EPROTO;
		uint32_t h = ++c->next_handle;
		if (pool_add(c, h, fd, p.map, p.size) < 0) {
			munmap(p.map, p.size);
			close(fd);
			return fail(c, "too many shm pools");
		}
		/* The pool object is made after this: create_objects below. */
		m->fds[1] = (int)h;
		return link_u32(c, WLP_F_FD_SHM, h, NULL, 0);
	}
	if (k == FK_DATA && c->role == WLP_HOST) {
		uint32_t size = m->v[2].u;
		if (size == 0 || size > WLP_DATA_MAX) {
			close(fd);
			return fail(c, "wl_keyboard.keymap of %u bytes", size);
		}
		void *map = mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0);
		close(fd);
		if (map == MAP_FAILED)
			return fail(c, "cannot map the keymap: %s", strerror(errno));
		int rc = link_frame(c, WLP_F_FD_DATA, map, size, NULL, 0);
		munmap(map, size);
		return rc;
	}
	if (k == FK_PIPE) {
		uint32_t h = ++c->next_handle;
		struct pipe *p = pipe_add(c, false, h, fd);
		if (!p) {
			close(fd); /* too many transfers at once: this one reads nothing */
			return link_u32(c, WLP_F_FD_PIPE, 0, NULL, 0);
		}
		fcntl(fd, F_SETFL, O_NONBLOCK | fcntl(fd, F_GETFL));
		if (link_u32(c, WLP_F_FD_PIPE, h, NULL, 0) < 0)
			return -EPROTO;
		if (c->role == WLP_HOST && c->pol->to_host == WLP_CLIP_ASK &&
		    (m->obj->flags & OF_SELECTION))
			pipe_hold(c, p, "the host reads the box's clipboard");
		return 0;
	}
	if (k == FK_VGPU && c->role == WLP_GUEST) {
		uint32_t gem, res;
		char why[160];
		int rc = wlp_vgpu_import(fd, &gem, &res, why, sizeof(why));
		close(fd);
		if (rc < 0)
			return fail(c, "zwp_linux_buffer_params_v1.add: %s", why);
		m->vgpu = gem;
		return link_u32(c, WLP_F_FD_VGPU, res, NULL, 0);
	}
	close(fd);
	return fail(c, "%s.%s: an fd the proxy does not carry", m->iface->name, m->m->name);
}

/* A frame from the link becomes an fd for the Wayland side. */
static int fd_from_link(struct wlp_conn *c, struct msg *m, struct slot *s, int *out)
{
	enum fdkind k = fd_kind(m);

	*out = -1;
	if (k != s->kind)
		return fail(c, "%s.%s: the fd sent does not match the message", m->iface->name,
			    m->m->name);
	if (k == FK_VGPU && c->role == WLP_HOST) {
		if (!c->frames)
			return fail(c, "%s.%s: a GPU buffer, and this box has no GPU path",
				    m->iface->name, m->m->name);
		m->vgpu = s->handle; /* the virtio-gpu resource id */
		return 0;
	}
	if (k == FK_SHM && c->role == WLP_HOST) {
		struct pool p = { 0 };
		if (host_pool_make(c, ival(m, 2), &p) < 0)
			return -EPROTO;
		if (pool_add(c, s->handle, p.fd, p.map, p.size) < 0) {
			munmap(p.map, p.size);
			close(p.fd);
			c->shm_bytes -= p.size;
			return fail(c, "shm pool handle %u reused", s->handle);
		}
		m->fds[1] = (int)s->handle;
		*out = dup(p.fd);
		return *out < 0 ? fail(c, "dup: %s", strerror(errno)) : 0;
	}
	if (k == FK_DATA && c->role == WLP_GUEST) {
		int fd = memfd_create("lbx-wl-data", MFD_CLOEXEC | MFD_ALLOW_SEALING);
		if (fd < 0 || write(fd, s->data, s->len) != (ssize_t)s->len ||
		    fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE) < 0) {
			if (fd >= 0)
				close(fd);
			return fail(c, "cannot make the %s file: %s", m->m->name, strerror(errno));
		}
		*out = fd;
		return 0;
	}
	if (k == FK_PIPE) {
		int pfd[2];
		if (pipe2(pfd, O_CLOEXEC | O_NONBLOCK) < 0)
			return fail(c, "pipe: %s", strerror(errno));
		struct pipe *p = s->handle ? pipe_add(c, true, s->handle, pfd[0]) : NULL;
		if (!p)
			close(pfd[0]);
		*out = pfd[1];
		if (p && c->role == WLP_HOST && m->req && (m->obj->flags & OF_SELECTION)) {
			if (c->pol->from_host == WLP_CLIP_DENY) {
				audit(c, "refused selection read", m->iface->name,
				      "clipboard from_host is deny");
				m->drop = true;
				(void)!link_u32(c, WLP_F_PIPE_CLOSE, p->handle, NULL, 0);
				pipe_close(p);
			} else if (c->pol->from_host == WLP_CLIP_ASK) {
				pipe_hold(c, p, "the box reads the host's clipboard");
			}
		}
		return 0;
	}
	return fail(c, "%s.%s: an fd kind this half does not take", m->iface->name, m->m->name);
}

static int parse(struct wlp_conn *c, struct msg *m, const uint8_t *raw)
{
	m->obj = wlp_obj_get(&c->objs, m->h.id);
	if (!m->obj)
		return fail(c, "message to unknown object %u", m->h.id);
	m->iface = m->obj->iface;
	if (m->req && m->obj->state != WLP_OBJ_LIVE)
		return fail(c, "request to destroyed %s %u", m->iface->name, m->h.id);
	unsigned n = m->req ? m->iface->nreq : m->iface->nev;
	if (m->h.opcode >= n)
		return fail(c, "unknown %s %u of %s", m->req ? "request" : "event", m->h.opcode,
			    m->iface->name);
	m->m = &(m->req ? m->iface->req : m->iface->ev)[m->h.opcode];
	if (m->m->since > m->obj->version)
		return fail(c, "%s.%s needs version %u, object %u has %u", m->iface->name,
			    m->m->name, m->m->since, m->h.id, m->obj->version);
	if (wlp_decode(m->m, raw + WLP_HEADER, m->h.size - WLP_HEADER, m->v, &m->nfds) < 0)
		return fail(c, "%s.%s: malformed arguments", m->iface->name, m->m->name);
	if (m->nfds > 1 || (m->nfds && fd_kind(m) == FK_NONE))
		return fail(c, "%s.%s: an fd the proxy does not carry", m->iface->name, m->m->name);
	return check_args(c, m);
}

static int emit_wl(struct wlp_conn *c, struct msg *m, const uint8_t *raw)
{
	if (m->fds[0] >= 0 && wlp_outq_put_fd(&c->wl_out, m->fds[0]) < 0)
		return fail(c, "too many fds queued for the Wayland peer");
	m->fds[0] = -1;
	if (!m->rewrite)
		return wlp_outq_put(&c->wl_out, raw, m->h.size) < 0
			   ? fail(c, "the Wayland peer does not read")
			   : 0;
	uint8_t buf[WLP_MSG_MAX];
	struct lbx_writer w;
	lbx_writer_init_fixed(&w, buf, sizeof(buf));
	if (wlp_encode(&w, m->h.id, m->h.opcode, m->m, m->v) < 0)
		return fail(c, "%s.%s: rewritten message too large", m->iface->name, m->m->name);
	return wlp_outq_put(&c->wl_out, buf, lbx_writer_len(&w)) < 0
		   ? fail(c, "the Wayland peer does not read")
		   : 0;
}

static int emit_link(struct wlp_conn *c, struct msg *m, const uint8_t *raw)
{
	if (!m->rewrite)
		return link_frame(c, WLP_F_MSG, raw, m->h.size, NULL, 0);
	uint8_t buf[WLP_MSG_MAX];
	struct lbx_writer w;
	lbx_writer_init_fixed(&w, buf, sizeof(buf));
	if (wlp_encode(&w, m->h.id, m->h.opcode, m->m, m->v) < 0)
		return fail(c, "%s.%s: rewritten message too large", m->iface->name, m->m->name);
	return link_frame(c, WLP_F_MSG, buf, lbx_writer_len(&w), NULL, 0);
}

static void after_destroy(struct wlp_conn *c, struct msg *m)
{
	struct wlp_obj *o = m->obj;

	if (m->iface == &wlp_iface_wl_display && !m->req && m->h.opcode == 1) {
		/* delete_id: the id is free again */
		struct wlp_obj *d = wlp_obj_get(&c->objs, m->v[0].u);
		if (d && m->v[0].u < WLP_SERVER_ID_MIN) {
			obj_release(c, d);
			wlp_obj_remove(&c->objs, m->v[0].u);
		}
		return;
	}
	if (!m->m->destructor)
		return;
	obj_release(c, o);
	if (m->h.id >= WLP_SERVER_ID_MIN)
		wlp_obj_remove(&c->objs, m->h.id);
	else
		o->state = WLP_OBJ_ZOMBIE;
}

/* One whole message: from the Wayland side (wl) or from the link. */
static int handle_msg(struct wlp_conn *c, const uint8_t *raw, const struct wlp_header *h,
		      bool from_link)
{
	struct msg *m = malloc(sizeof(*m));
	int rc;

	if (!m)
		return fail(c, "out of memory");
	memset(m, 0, offsetof(struct msg, strbuf));
	m->h = *h;
	m->fds[0] = -1;
	m->fds[1] = 0;
	/* Requests come from the client: the guest's Wayland side, the host's link. */
	m->req = (c->role == WLP_GUEST) != from_link;
	if (c->role == WLP_HOST && !m->req && host_event_eaten(c, h->id)) {
		free(m); /* a compositor event to a placeholder of the proxy's (conn_dmabuf.c) */
		return 0;
	}
	rc = parse(c, m, raw);
	if (rc < 0)
		goto out;
	if (m->nfds) {
		if (from_link) {
			if (c->nslots == 0) {
				rc = fail(c, "%s.%s: its fd was not sent", m->iface->name,
					  m->m->name);
				goto out;
			}
			struct slot s = c->slots[0];
			memmove(c->slots, c->slots + 1, --c->nslots * sizeof(s));
			rc = m->obj->state == WLP_OBJ_LIVE ? fd_from_link(c, m, &s, &m->fds[0]) : 0;
			free(s.data);
		} else {
			if (c->n_wl_fds == 0) {
				rc = fail(c, "%s.%s: its fd was not sent", m->iface->name,
					  m->m->name);
				goto out;
			}
			int fd = c->wl_fds[0];
			memmove(c->wl_fds, c->wl_fds + 1, --c->n_wl_fds * sizeof(int));
			if (m->obj->state == WLP_OBJ_LIVE)
				rc = fd_to_link(c, m, fd);
			else
				close(fd);
		}
		if (rc < 0)
			goto out;
	}
	if (m->obj->state != WLP_OBJ_LIVE) {
		/* an event racing the client's destructor: libwayland drops it too */
		goto out;
	}
	if (is(m, &wlp_iface_wl_shm_pool, "create_buffer")) {
		struct pool *p = pool_find(c, m->obj->handle);
		if (p && (rc = create_buffer_check(c, m, p)) < 0)
			goto out;
	}
	if (c->role == WLP_HOST) {
		if (is(m, &wlp_iface_wl_shm_pool, "resize")) {
			struct pool *p = pool_find(c, m->obj->handle);
			if (p && (rc = pool_resize(c, p, ival(m, 0))) < 0)
				goto out;
		}
		rc = m->req ? host_request(c, m) : host_event(c, m);
	} else {
		rc = m->req ? guest_request(c, m) : guest_event(c, m);
	}
	if (rc < 0)
		goto out;
	if (m->drop)
		goto out;
	if ((rc = create_objects(c, m)) < 0)
		goto out;
	if (m->fds[1]) {
		/* the new pool object carries its pool's handle */
		struct wlp_obj *po = wlp_obj_get(&c->objs, m->v[0].u);
		po->handle = (uint32_t)m->fds[1];
	}
	if ((rc = after_create(c, m)) < 0)
		goto out;
	rc = from_link ? emit_wl(c, m, raw) : emit_link(c, m, raw);
	if (rc < 0)
		goto out;
	after_destroy(c, m);
out:
	if (m->drop && m->fds[1])
		pool_unref(c, (uint32_t)m->fds[1]);
	if (m->fds[0] >= 0)
		close(m->fds[0]);
	if (m->vgpu && c->role == WLP_GUEST)
		wlp_vgpu_release(m->vgpu); /* an add that did not get through */
	free(m);
	return rc;
}

/* ---- input ---- */

int wlp_conn_feed_wl(struct wlp_conn *c, const uint8_t *buf, size_t len, const int *fds,
		     unsigned nfds)
{
	for (unsigned i = 0; i < nfds; i++) {
		if (c->n_wl_fds == FDQ_MAX) {
			for (; i < nfds; i++)
				close(fds[i]);
			return fail(c, "too many fds sent");
		}
		c->wl_fds[c->n_wl_fds++] = fds[i];
	}
	size_t off = 0;
	while (off < len) {
		struct wlp_header h;
		int rc = wlp_header(buf + off, len - off, &h);
		if (rc == -EAGAIN)
			break;
		if (rc < 0)
			return fail(c, "a message with a bad size");
		if ((rc = handle_msg(c, buf + off, &h, false)) < 0)
			return rc;
		off += h.size;
	}
	if (off == len && c->n_wl_fds)
		return fail(c, "an fd no message declares");
	return (int)off;
}

static int frame_pipe(struct wlp_conn *c, uint32_t type, struct lbx_reader *r)
{
	uint32_t handle;
	const uint8_t *p;
	size_t n;

	if (lbx_read_u32le(r, &handle) < 0 || lbx_read_rest(r, &p, &n) < 0)
		return fail(c, "a short pipe frame");
	struct pipe *lp = pipe_find(c, false, handle);
	if (!lp)
		return 0; /* a pipe this side closed already */
	if (type == WLP_F_PIPE_CLOSE) {
		lp->eof = true;
	} else {
		if (lp->len + n > PIPE_BUF_MAX) {
			pipe_close(lp); /* the reader is too slow: end this transfer */
			return 0;
		}
		uint8_t *b = realloc(lp->buf, lp->len + n);
		if (!b)
			return fail(c, "out of memory");
		memcpy(b + lp->len, p, n);
		lp->buf = b;
		lp->len += n;
	}
	return 0;
}

static int frame_shm(struct wlp_conn *c, struct lbx_reader *r)
{
	uint32_t handle, off, stride, row, rows;
	const uint8_t *data;
	size_t n;

	if (c->role != WLP_HOST)
		return fail(c, "shm contents sent to the guest");
	if (lbx_read_u32le(r, &handle) < 0 || lbx_read_u32le(r, &off) < 0 ||
	    lbx_read_u32le(r, &stride) < 0 || lbx_read_u32le(r, &row) < 0 ||
	    lbx_read_u32le(r, &rows) < 0 || lbx_read_rest(r, &data, &n) < 0)
		return fail(c, "a short shm frame");
	struct pool *p = pool_find(c, handle);
	if (!p)
		return fail(c, "shm contents for unknown pool %u", handle);
	if (rows == 0 || row == 0 || row > stride || (uint64_t)row * rows != n ||
	    (uint64_t)off + (uint64_t)stride * (rows - 1) + row > p->size)
		return fail(c, "shm contents outside pool %u", handle);
	for (uint32_t k = 0; k < rows; k++)
		memcpy(p->map + off + (size_t)k * stride, data + (size_t)k * row, row);
	return 0;
}

static int handle_frame(struct wlp_conn *c, uint32_t type, const uint8_t *p, size_t n)
{
	struct lbx_reader r;
	struct wlp_header h;

	lbx_reader_init(&r, p, n);
	switch (type) {
	case WLP_F_MSG:
		if (wlp_header(p, n, &h) < 0 || h.size != n)
			return fail(c, "a message frame with a bad size");
		return handle_msg(c, p, &h, true);
	case WLP_F_FD_SHM:
	case WLP_F_FD_PIPE:
	case WLP_F_FD_VGPU:
	case WLP_F_FD_DATA: {
		struct slot s = { 0 };
		if (c->nslots == FDQ_MAX)
			return fail(c, "too many fds sent");
		s.kind = type == WLP_F_FD_SHM	 ? FK_SHM
			 : type == WLP_F_FD_PIPE ? FK_PIPE
			 : type == WLP_F_FD_VGPU ? FK_VGPU
						 : FK_DATA;
		if (type == WLP_F_FD_DATA) {
			if (n == 0 || n > WLP_DATA_MAX || !(s.data = malloc(n)))
				return fail(c, "a file of %zu bytes", n);
			memcpy(s.data, p, n);
			s.len = n;
		} else if (lbx_read_u32le(&r, &s.handle) < 0 || lbx_read_end(&r) < 0) {
			return fail(c, "a bad fd frame");
		}
		c->slots[c->nslots++] = s;
		return 0;
	}
	case WLP_F_SHM_RECT: return frame_shm(c, &r);
	case WLP_F_PIPE_DATA:
	case WLP_F_PIPE_CLOSE: return frame_pipe(c, type, &r);
	}
	return fail(c, "unknown frame type %u", type);
}

int wlp_conn_feed_link(struct wlp_conn *c, const uint8_t *buf, size_t len)
{
	size_t off = 0;

	while (len - off >= WLP_FRAME_HDR) {
		struct lbx_reader r;
		uint32_t type, n;
		lbx_reader_init(&r, buf + off, len - off);
		if (lbx_read_u32le(&r, &type) < 0 || lbx_read_u32le(&r, &n) < 0)
			break;
		if (n > WLP_FRAME_MAX + 64)
			return fail(c, "a frame of %u bytes", n);
		if (len - off - WLP_FRAME_HDR < n)
			break;
		int rc = handle_frame(c, type, buf + off + WLP_FRAME_HDR, n);
		if (rc < 0)
			return rc;
		off += WLP_FRAME_HDR + n;
	}
	if (off == len && c->nslots)
		return fail(c, "an fd no message declares");
	c->cnt.link_in += off;
	return (int)off;
}

/* ---- I/O ---- */

/* guest: tell the box's client why it is cut off, as a compositor would (wl_display.error). */
static void guest_error_event(struct wlp_conn *c)
{
	struct wlp_val v[3] = { { .u = 1 }, { .u = 3 /* implementation */ }, { 0 } };
	uint8_t buf[512];
	struct lbx_writer w;

	if (c->role != WLP_GUEST || !c->err[0])
		return;
	v[2].str = c->err;
	v[2].len = strlen(c->err); /* below 256: fail() bounds it */
	lbx_writer_init_fixed(&w, buf, sizeof(buf));
	if (wlp_encode(&w, 1, 0, &wlp_iface_wl_display.ev[0], v) == 0)
		(void)!wlp_outq_put(&c->wl_out, buf, lbx_writer_len(&w));
}

static void conn_end(struct wlp_conn *c, const char *why)
{
	guest_error_event(c);
	/* What is already queued may still go (a protocol error event, say). */
	(void)wlp_outq_flush(&c->link_out, c->link_fd);
	(void)wlp_outq_flush(&c->wl_out, c->wl_fd);
	if (c->ops && c->ops->closed)
		c->ops->closed(c, why, c->ctx);
}

static int read_wl(struct wlp_conn *c)
{
	union {
		char buf[CMSG_SPACE(sizeof(int) * 28)];
		struct cmsghdr align;
	} u;
	struct iovec iov = { c->wl_in + c->wl_in_len, WL_IN_MAX - c->wl_in_len };
	struct msghdr mh = { .msg_iov = &iov,
			     .msg_iovlen = 1,
			     .msg_control = u.buf,
			     .msg_controllen = sizeof(u.buf) };
	int fds[28];
	unsigned nfds = 0;

	ssize_t r = recvmsg(c->wl_fd, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
	if (r < 0)
		return errno == EAGAIN || errno == EINTR ? 0 : fail(c, "read: %s", strerror(errno));
	for (struct cmsghdr *cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm)) {
		if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
			continue;
		size_t k = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (size_t i = 0; i < k && nfds < 28; i++)
			memcpy(&fds[nfds++], CMSG_DATA(cm) + i * sizeof(int), sizeof(int));
	}
	if (r == 0 && nfds == 0)
		return -EPIPE;
	c->wl_in_len += (size_t)r;
	int used = wlp_conn_feed_wl(c, c->wl_in, c->wl_in_len, fds, nfds);
	if (used < 0)
		return used;
	memmove(c->wl_in, c->wl_in + used, c->wl_in_len - (size_t)used);
	c->wl_in_len -= (size_t)used;
	return 0;
}

static int read_link(struct wlp_conn *c)
{
	ssize_t r = read(c->link_fd, c->link_in + c->link_in_len, LINK_IN_MAX - c->link_in_len);

	if (r < 0)
		return errno == EAGAIN || errno == EINTR ? 0 : fail(c, "read: %s", strerror(errno));
	if (r == 0)
		return -EPIPE;
	c->link_in_len += (size_t)r;
	int used = wlp_conn_feed_link(c, c->link_in, c->link_in_len);
	if (used < 0)
		return used;
	memmove(c->link_in, c->link_in + used, c->link_in_len - (size_t)used);
	c->link_in_len -= (size_t)used;
	return 0;
}

/* One side's readiness: flush what waits for it, then read what it sent. */
static void side_io(struct wlp_conn *c, struct wlp_outq *out, int fd, uint32_t events,
		    int (*read_side)(struct wlp_conn *))
{
	int rc = 0;

	if (events & EPOLLOUT) {
		rc = wlp_outq_flush(out, fd);
		if (rc == -EAGAIN)
			rc = 0;
	}
	if (rc == 0 && (events & (EPOLLIN | EPOLLHUP | EPOLLERR)))
		rc = read_side(c);
	if (rc < 0) {
		conn_end(c, rc == -EPIPE && !c->err[0] ? NULL
			    : c->err[0]		       ? c->err
						       : "write failed");
		return;
	}
	update_watches(c);
}

static void wl_io(struct lbx_loop *loop, int fd, uint32_t events, void *data)
{
	struct wlp_conn *c = data;

	side_io(c, &c->wl_out, c->wl_fd, events, read_wl);
}

static void link_io(struct lbx_loop *loop, int fd, uint32_t events, void *data)
{
	struct wlp_conn *c = data;

	side_io(c, &c->link_out, c->link_fd, events, read_link);
}

static int pipe_read(struct wlp_conn *c, struct pipe *p)
{
	uint8_t buf[64 * 1024];
	ssize_t r = read(p->fd, buf, sizeof(buf));

	if (r < 0)
		return errno == EAGAIN || errno == EINTR ? 0 : -EPIPE;
	if (r == 0) {
		if (p->held) {
			p->eof = true;
			return 0;
		}
		return -EPIPE;
	}
	if (p->held) {
		uint8_t *b = realloc(p->buf, p->len + (size_t)r);
		if (!b)
			return -EPIPE;
		memcpy(b + p->len, buf, (size_t)r);
		p->buf = b;
		p->len += (size_t)r;
		return 0;
	}
	return link_u32(c, WLP_F_PIPE_DATA, p->handle, buf, (size_t)r) < 0 ? -EPROTO : 0;
}

static void pipe_io(struct lbx_loop *loop, int fd, uint32_t events, void *data)
{
	struct pipe *p = data;
	struct wlp_conn *c = p->c;

	if (p->remote) {
		int rc = pipe_read(c, p);
		if (rc == -EPROTO) {
			conn_end(c, c->err);
			return;
		}
		if (rc < 0) {
			(void)!link_u32(c, WLP_F_PIPE_CLOSE, p->handle, NULL, 0);
			pipe_close(p);
		}
	} else if (p->len) {
		ssize_t w = write(p->fd, p->buf, p->len);
		if (w < 0 && errno != EAGAIN && errno != EINTR) {
			pipe_close(p);
		} else if (w > 0) {
			memmove(p->buf, p->buf + w, p->len - (size_t)w);
			p->len -= (size_t)w;
		}
	}
	update_watches(c);
}

static void update_watches(struct wlp_conn *c)
{
	uint32_t wl = 0, link = 0;

	if (!wlp_outq_busy(&c->link_out))
		wl |= EPOLLIN;
	if (wlp_outq_len(&c->wl_out))
		wl |= EPOLLOUT;
	if (!wlp_outq_busy(&c->wl_out))
		link |= EPOLLIN;
	if (wlp_outq_len(&c->link_out))
		link |= EPOLLOUT;
	lbx_loop_want(c->loop, c->wl_fd, &c->wl_ev, wl, wl_io, c);
	lbx_loop_want(c->loop, c->link_fd, &c->link_ev, link, link_io, c);
	for (int i = 0; i < PIPES; i++) {
		struct pipe *p = &c->pipes[i];
		if (!p->used)
			continue;
		if (!p->remote && p->eof && p->len == 0 && !p->held) {
			pipe_close(p);
			continue;
		}
		uint32_t ev = 0;
		if (p->remote && !p->eof && !wlp_outq_busy(&c->link_out) &&
		    !(p->held && p->len > PIPE_BUF_MAX))
			ev = EPOLLIN;
		if (!p->remote && p->len && !p->held)
			ev = EPOLLOUT;
		if (p->remote && p->eof && !p->held) {
			(void)!link_u32(c, WLP_F_PIPE_CLOSE, p->handle, NULL, 0);
			pipe_close(p);
			continue;
		}
		lbx_loop_want(c->loop, p->fd, &p->ev, ev, pipe_io, p);
	}
}

void wlp_conn_answer(struct wlp_conn *c, uint32_t token, bool allowed)
{
	struct pipe *p = pipe_find(c, token & 1, token >> 1);

	if (!p || !p->held)
		return;
	p->ask = NULL;
	p->held = false;
	if (!allowed) {
		audit(c, "refused selection read", NULL, "the user said no");
		if (p->remote)
			(void)!link_u32(c, WLP_F_PIPE_CLOSE, p->handle, NULL, 0);
		pipe_close(p);
	} else if (p->remote && p->len) {
		if (link_u32(c, WLP_F_PIPE_DATA, p->handle, p->buf, p->len) < 0) {
			conn_end(c, c->err);
			return;
		}
		free(p->buf);
		p->buf = NULL;
		p->len = 0;
	}
	update_watches(c);
}

struct wlp_conn *wlp_conn_new(struct lbx_loop *loop, enum wlp_role role, int wl_fd, int link_fd,
			      const struct wlp_policy *policy, const struct wlp_conn_ops *ops,
			      void *ctx)
{
	struct wlp_conn *c = calloc(1, sizeof(*c));

	if (c) {
		c->wl_in = malloc(WL_IN_MAX);
		c->link_in = malloc(LINK_IN_MAX);
	}
	if (!c || !c->wl_in || !c->link_in) {
		if (c) {
			free(c->wl_in);
			free(c->link_in);
		}
		free(c);
		close(wl_fd);
		close(link_fd);
		return NULL;
	}
	c->loop = loop;
	c->role = role;
	c->pol = policy;
	c->ops = ops;
	c->ctx = ctx;
	c->wl_fd = wl_fd;
	c->link_fd = link_fd;
	wlp_objmap_init(&c->objs);
	(void)!wlp_obj_new(&c->objs, 1, &wlp_iface_wl_display, 1);
	wlp_outq_init(&c->wl_out, OUT_HIGH, OUT_MAX);
	wlp_outq_init(&c->link_out, OUT_HIGH, OUT_MAX);
	if (loop)
		update_watches(c);
	return c;
}

static void release_each(struct wlp_obj *o, void *ctx)
{
	obj_release(ctx, o);
}

void wlp_conn_free(struct wlp_conn *c)
{
	if (!c)
		return;
	for (int i = 0; i < PIPES; i++)
		if (c->pipes[i].used)
			pipe_close(&c->pipes[i]);
	wlp_objmap_each(&c->objs, release_each, c);
	wlp_objmap_free(&c->objs);
	for (size_t i = 0; i < c->npools; i++) {
		munmap(c->pools[i].map, c->pools[i].size);
		close(c->pools[i].fd);
	}
	free(c->pools);
	for (unsigned i = 0; i < c->n_wl_fds; i++)
		close(c->wl_fds[i]);
	for (unsigned i = 0; i < c->nslots; i++)
		free(c->slots[i].data);
	if (c->loop) {
		lbx_loop_want(c->loop, c->wl_fd, &c->wl_ev, 0, NULL, NULL);
		lbx_loop_want(c->loop, c->link_fd, &c->link_ev, 0, NULL, NULL);
	}
	close(c->wl_fd);
	close(c->link_fd);
	wlp_outq_free(&c->wl_out);
	wlp_outq_free(&c->link_out);
	free(c->wl_in);
	free(c->link_in);
	free(c);
}
