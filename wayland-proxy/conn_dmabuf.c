/* SPDX-License-Identifier: MIT */
/*
 * Part of conn.c (included there: it works on the connection's own
 * state). The host half's GPU path: box windows drawn with virgl reach the
 * compositor as wl_shm buffers the proxy fills from lbx-gpud.
 *
 *   - The proxy offers the box its own zwp_linux_dmabuf_v1 global
 *     (version DMABUF_VERSION, formats AR24 and XR24, linear), instead of
 *     the compositor's, and serves its objects itself.
 *   - zwp_linux_buffer_params_v1.add comes with the virtio-gpu resource id
 *     (FD_VGPU) the guest half found for the client's dmabuf.
 *   - create_immed makes a memfd of the proxy's (in this client's shm
 *     budget), binds it to the resource on lbx-gpud's frames socket, and
 *     asks the compositor for a wl_shm buffer on it with the client's
 *     wl_buffer id, through a registry, wl_shm and pool of the proxy's own
 *     (ids from LOCAL_ID_MIN, which the box may not use).
 *   - On wl_surface.commit, the damage accumulated for the attached buffer
 *     since it was last read is read back into the memfd before the commit
 *     goes on.
 *
 * create (the event-answered form) is answered with failed: clients that
 * use it fall back to create_immed or to wl_shm.
 */

static uint32_t local_id(struct wlp_conn *c)
{
	for (unsigned k = 0; k < WLP_OBJ_MAX - LOCAL_ID_MIN; k++) {
		uint32_t id = LOCAL_ID_MIN + (c->next_local++ % (WLP_OBJ_MAX - LOCAL_ID_MIN));
		if (!wlp_obj_get(&c->objs, id))
			return id;
	}
	return 0;
}

static struct wlp_obj *local_new(struct wlp_conn *c, uint32_t id, const struct wlp_iface *i,
				 uint32_t version)
{
	struct wlp_obj *o = id ? wlp_obj_new(&c->objs, id, i, version) : NULL;

	if (o)
		o->flags |= OF_LOCAL;
	return o;
}

/* An event of the proxy's making, to the box. */
static int link_event(struct wlp_conn *c, uint32_t id, const struct wlp_iface *i, uint16_t op,
		      const struct wlp_val *v)
{
	uint8_t buf[256];
	struct lbx_writer w;

	lbx_writer_init_fixed(&w, buf, sizeof(buf));
	if (wlp_encode(&w, id, op, &i->ev[op], v) < 0)
		return fail(c, "cannot encode %s.%s", i->name, i->ev[op].name);
	return link_frame(c, WLP_F_MSG, buf, lbx_writer_len(&w), NULL, 0);
}

/* A request of the proxy's making, to the compositor; fd (or -1) is given away. */
static int wl_request(struct wlp_conn *c, uint32_t id, const struct wlp_iface *i, uint16_t op,
		      const struct wlp_val *v, int fd)
{
	uint8_t buf[256];
	struct lbx_writer w;

	lbx_writer_init_fixed(&w, buf, sizeof(buf));
	if (wlp_encode(&w, id, op, &i->req[op], v) < 0) {
		if (fd >= 0)
			close(fd);
		return fail(c, "cannot encode %s.%s", i->name, i->req[op].name);
	}
	if (fd >= 0 && wlp_outq_put_fd(&c->wl_out, fd) < 0) {
		close(fd);
		return fail(c, "too many fds queued for the compositor");
	}
	if (wlp_outq_put(&c->wl_out, buf, lbx_writer_len(&w)) < 0)
		return fail(c, "the compositor does not read");
	return 0;
}

int wlp_conn_set_frames(struct wlp_conn *c, struct wlp_frames *frames)
{
	struct wlp_val v[1] = { 0 };
	uint32_t rid;

	if (c->role != WLP_HOST || c->frames)
		return -EINVAL;
	c->frames = frames;
	rid = local_id(c);
	if (!local_new(c, rid, &wlp_iface_wl_registry, 1))
		return fail(c, "out of memory");
	v[0].u = rid;
	if (wl_request(c, 1, &wlp_iface_wl_display, 1, v, -1) < 0)
		return -EPROTO;
	if (c->loop)
		update_watches(c);
	return 0;
}

/* The proxy's registry learns of wl_shm: bind it for the dmabuf buffers' pools. */
static int local_event(struct wlp_conn *c, struct msg *m)
{
	m->drop = true;
	if (is(m, &wlp_iface_wl_registry, "global") && !c->shm_id &&
	    strcmp(m->v[1].str, "wl_shm") == 0) {
		uint32_t sid = local_id(c);
		struct wlp_val v[2] = { 0 };

		if (!local_new(c, sid, &wlp_iface_wl_shm, 1))
			return fail(c, "out of memory");
		v[0].u = m->v[0].u;
		v[1] = (struct wlp_val){ .u = sid, .version = 1, .str = "wl_shm", .len = 6 };
		if (wl_request(c, m->h.id, &wlp_iface_wl_registry, 0, v, -1) < 0)
			return -EPROTO;
		c->shm_id = sid;
	}
	return 0;
}

/* Tell a box registry of the proxy's global, ahead of the compositor's first. */
static int dmabuf_offer(struct wlp_conn *c, uint32_t registry)
{
	struct wlp_val v[3] = { 0 };

	v[0].u = DMABUF_NAME;
	v[1].str = "zwp_linux_dmabuf_v1";
	v[1].len = strlen(v[1].str);
	v[2].u = DMABUF_VERSION;
	c->dmabuf_offered = true;
	return link_event(c, registry, &wlp_iface_wl_registry, 0, v);
}

static int dmabuf_bind(struct wlp_conn *c, struct msg *m)
{
	const struct wlp_val *b = &m->v[1];
	static const uint32_t fmts[] = { DRM_FMT_AR24, DRM_FMT_XR24 };

	m->drop = true;
	if (strcmp(b->str, "zwp_linux_dmabuf_v1") != 0 || b->version > DMABUF_VERSION)
		return fail(c,
			    "wl_registry.bind: global %u is zwp_linux_dmabuf_v1 up to version %u",
			    DMABUF_NAME, DMABUF_VERSION);
	if (!local_new(c, b->u, &wlp_iface_zwp_linux_dmabuf_v1, b->version))
		return fail(c, "out of memory");
	for (size_t i = 0; i < LBX_ARRAY_SIZE(fmts); i++) {
		struct wlp_val v[3] = { { .u = fmts[i] } };

		if (link_event(c, b->u, &wlp_iface_zwp_linux_dmabuf_v1, 0, v) < 0)
			return -EPROTO;
		if (b->version >= 3) {
			v[1].u = v[2].u = 0; /* DRM_FORMAT_MOD_LINEAR */
			if (link_event(c, b->u, &wlp_iface_zwp_linux_dmabuf_v1, 1, v) < 0)
				return -EPROTO;
		}
	}
	return 0;
}

/* A destructor on one of ours: the box waits for delete_id, which we send. */
static int local_destroy(struct wlp_conn *c, uint32_t id)
{
	struct wlp_obj *o = wlp_obj_get(&c->objs, id);
	struct wlp_val v[1] = { { .u = id } };

	obj_release(c, o);
	wlp_obj_remove(&c->objs, id);
	return link_event(c, 1, &wlp_iface_wl_display, 1, v);
}

/* create_immed: a wl_shm buffer of ours with the client's id, bound on the frames socket. */
static int dmabuf_buffer(struct wlp_conn *c, struct msg *m, struct params *p)
{
	uint32_t bid = m->v[0].u, fmt = m->v[3].u;
	int32_t w = ival(m, 1), h = ival(m, 2);
	struct pool pl = { 0 };
	struct wlp_val v[6] = { 0 };

	if (!p->added)
		return fail(c, "zwp_linux_buffer_params_v1.create_immed: no plane was added");
	if (w <= 0 || h <= 0 || w > (int32_t)GPU_FRAMES_MAX_DIM || h > (int32_t)GPU_FRAMES_MAX_DIM)
		return fail(c, "zwp_linux_buffer_params_v1.create_immed: size %dx%d", w, h);
	if (fmt != DRM_FMT_AR24 && fmt != DRM_FMT_XR24)
		return fail(c, "zwp_linux_buffer_params_v1.create_immed: format %#x not offered",
			    fmt);
	if (!c->shm_id)
		return fail(c, "the compositor offers no wl_shm for the box's GPU buffers");
	int32_t stride = w * 4;
	if (host_pool_make(c, stride * h, &pl) < 0)
		return -EPROTO;
	uint32_t ph = POOL_LOCAL | (++c->next_handle & ~POOL_LOCAL);
	if (pool_add(c, ph, pl.fd, pl.map, pl.size) < 0) {
		munmap(pl.map, pl.size);
		close(pl.fd);
		c->shm_bytes -= pl.size;
		return fail(c, "too many shm pools");
	}
	uint32_t fh = wlp_frames_handle(c->frames);
	int rc = wlp_frames_bind(c->frames, fh, p->resource, (uint32_t)w, (uint32_t)h,
				 (uint32_t)stride, pl.fd);
	if (rc < 0) {
		pool_unref(c, ph);
		return fail(c,
			    "zwp_linux_buffer_params_v1.create_immed: lbx-gpud refused resource "
			    "%u (%dx%d): %s",
			    p->resource, w, h, strerror(-rc));
	}
	uint32_t pid = local_id(c);
	struct wlp_obj *po = local_new(c, pid, &wlp_iface_wl_shm_pool, 1);
	struct wlp_obj *bo = wlp_obj_new(&c->objs, bid, &wlp_iface_wl_buffer, 1);
	struct buffer *b = calloc(1, sizeof(*b));
	if (!po || !bo || !b) {
		free(b);
		(void)wlp_frames_unbind(c->frames, fh);
		pool_unref(c, ph);
		return fail(c, "out of memory");
	}
	po->handle = ph; /* the pool's first reference */
	pool_find(c, ph)->refs++;
	bo->handle = ph;
	*b = (struct buffer){ .id = bid,
			      .pool = ph,
			      .w = w,
			      .h = h,
			      .stride = stride,
			      .format = fmt,
			      .full = true,
			      .frames = fh };
	buffer_link(c, b);
	bo->data = b;
	v[0].u = pid;
	v[2].u = (uint32_t)(stride * h);
	if (wl_request(c, c->shm_id, &wlp_iface_wl_shm, 0, v, dup(pl.fd)) < 0)
		return -EPROTO;
	v[0].u = bid;
	v[1].u = 0;
	v[2].u = (uint32_t)w;
	v[3].u = (uint32_t)h;
	v[4].u = (uint32_t)stride;
	v[5].u = fmt == DRM_FMT_AR24 ? 0 : 1; /* wl_shm argb8888, xrgb8888 */
	if (wl_request(c, pid, &wlp_iface_wl_shm_pool, 0, v, -1) < 0 ||
	    wl_request(c, pid, &wlp_iface_wl_shm_pool, 1, v, -1) < 0)
		return -EPROTO;
	po->state = WLP_OBJ_ZOMBIE; /* until the compositor's delete_id */
	return 0;
}

/* Requests to the proxy's own objects: served here, never forwarded. */
static int dmabuf_request(struct wlp_conn *c, struct msg *m)
{
	struct wlp_obj *o = m->obj;

	m->drop = true;
	if (o->iface == &wlp_iface_zwp_linux_dmabuf_v1) {
		if (m->m->destructor)
			return local_destroy(c, m->h.id);
		if (strcmp(m->m->name, "create_params") == 0) {
			struct wlp_obj *n = local_new(
			    c, m->v[0].u, &wlp_iface_zwp_linux_buffer_params_v1, o->version);
			if (!n || !(n->data = calloc(1, sizeof(struct params))))
				return fail(c, "out of memory");
			return 0;
		}
	} else if (o->iface == &wlp_iface_zwp_linux_buffer_params_v1) {
		struct params *p = o->data;
		if (m->m->destructor)
			return local_destroy(c, m->h.id);
		if (strcmp(m->m->name, "add") == 0) {
			if (p->added || m->v[1].u != 0 || m->v[2].u != 0)
				return fail(c,
					    "zwp_linux_buffer_params_v1.add: one plane at offset 0 "
					    "only (plane %u, offset %u)",
					    m->v[1].u, m->v[2].u);
			p->added = true;
			p->resource = m->vgpu;
			return 0;
		}
		if (strcmp(m->m->name, "create") == 0)
			return link_event(c, m->h.id, &wlp_iface_zwp_linux_buffer_params_v1, 1,
					  m->v);
		if (strcmp(m->m->name, "create_immed") == 0)
			return dmabuf_buffer(c, m, p);
	}
	return fail(c, "%s.%s: a request to one of the proxy's own objects", m->iface->name,
		    m->m->name);
}

/* Before a commit goes on: the attached GPU buffer's damaged part, read back. */
static int host_commit(struct wlp_conn *c, uint32_t sid, struct surface *s)
{
	struct rect d = s->damage;

	c->cnt.commits++;
	for (struct buffer *b = c->buffers; b; b = b->next)
		if (b->surface == sid && b->frames) {
			if (s->transformed)
				b->full = true;
			else
				rect_union(&b->dirty, d.x0, d.y0, d.x1, d.y1);
		}
	if (s->attached && s->buffer) {
		struct wlp_obj *o = wlp_obj_get(&c->objs, s->buffer);
		struct buffer *b = o && o->iface == &wlp_iface_wl_buffer ? o->data : NULL;
		if (b && b->frames) {
			if (b->surface != sid)
				b->full = true;
			b->surface = sid;
			struct rect r = b->full ? (struct rect){ 0, 0, b->w, b->h } : b->dirty;
			r.x1 = LBX_MIN(r.x1, b->w);
			r.y1 = LBX_MIN(r.y1, b->h);
			if (r.x0 < r.x1 && r.y0 < r.y1) {
				struct gpu_frames_rect fr = { (uint32_t)r.x0, (uint32_t)r.y0,
							      (uint32_t)(r.x1 - r.x0),
							      (uint32_t)(r.y1 - r.y0) };
				uint32_t bytes = 0;
				int rc = wlp_frames_copy(c->frames, b->frames, &fr, 1, &bytes);
				if (rc < 0)
					return fail(c,
						    "cannot read the box's GPU buffer %u back from "
						    "lbx-gpud: %s",
						    b->id, strerror(-rc));
				c->cnt.gpu_bytes += bytes;
				c->cnt.gpu_copies++;
			}
			b->full = false;
			b->dirty = (struct rect){ 0, 0, 0, 0 };
		}
	}
	s->attached = false;
	s->damage = (struct rect){ 0, 0, 0, 0 };
	return 0;
}
