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
 *     wl_buffer id.
 *   - The compositor must see every id the client uses, in order
 *     (libwayland-server refuses a new id past the next free one), and the
 *     proxy may make none of its own. So the ids of the objects it serves
 *     stand for objects of its own on the compositor: a
 *     zwp_linux_dmabuf_v1 id is bound as a wl_shm there (the proxy's, for
 *     the pools), a params id is a wl_display.sync callback, then the pool
 *     of the buffer it makes, destroyed at once. Their events and
 *     delete_ids are eaten (swallow list); the wl_shm twin is never
 *     destroyed, so its id stays a zombie for the box.
 *   - On wl_surface.commit, the damage accumulated for the attached buffer
 *     since it was last read is read back into the memfd before the commit
 *     goes on.
 *
 * create (the event-answered form) is answered with failed: clients that
 * use it fall back to create_immed or to wl_shm.
 *
 * Version 4's feedback (get_default_feedback, get_surface_feedback) is how
 * Mesa's EGL Wayland platform picks the GPU it renders on: the proxy
 * answers it itself, one tranche of the same two formats (modifier
 * INVALID: the driver's own layout), with a format
 * table it sends as an FD_DATA file. The device it names is the guest
 * half's business: the guest rewrites main_device and
 * tranche_target_device to the box's own virtio-gpu node (conn.c,
 * guest_event), since no host dev_t means anything in the guest.
 */

static struct wlp_obj *local_new(struct wlp_conn *c, uint32_t id, const struct wlp_iface *i,
				 uint32_t version)
{
	struct wlp_obj *o = wlp_obj_new(&c->objs, id, i, version);

	if (o)
		o->flags |= OF_LOCAL;
	return o;
}

static int swallow_add(struct wlp_conn *c, uint32_t id)
{
	if (c->nswallow == SWALLOW_MAX)
		return fail(c, "too many GPU buffers made at once");
	c->swallow[c->nswallow++] = id;
	return 0;
}

static bool swallow_has(const struct wlp_conn *c, uint32_t id)
{
	for (unsigned i = 0; i < c->nswallow; i++)
		if (c->swallow[i] == id)
			return true;
	return false;
}

/* The compositor's delete_id of a placeholder: forget the oldest entry for id. */
static bool swallow_take(struct wlp_conn *c, uint32_t id)
{
	for (unsigned i = 0; i < c->nswallow; i++)
		if (c->swallow[i] == id) {
			memmove(c->swallow + i, c->swallow + i + 1,
				(--c->nswallow - i) * sizeof(c->swallow[0]));
			return true;
		}
	return false;
}

/* Events the compositor sends to what stands for the proxy's objects: none for the box. */
static bool host_event_eaten(struct wlp_conn *c, uint32_t id)
{
	struct wlp_obj *o;

	if (swallow_has(c, id))
		return true;
	o = wlp_obj_get(&c->objs, id);
	return o && (o->flags & OF_LOCAL);
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
	if (c->role != WLP_HOST || c->frames)
		return -EINVAL;
	c->frames = frames;
	return 0;
}

/* A wl_display.sync on id: the compositor's placeholder for an object of ours. */
static int placeholder(struct wlp_conn *c, uint32_t id)
{
	struct wlp_val v[1] = { { .u = id } };

	if (swallow_add(c, id) < 0)
		return -EPROTO;
	return wl_request(c, 1, &wlp_iface_wl_display, 0, v, -1);
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
	struct wlp_obj *o = local_new(c, b->u, &wlp_iface_zwp_linux_dmabuf_v1, b->version);
	if (!o)
		return fail(c, "out of memory");
	if (c->shm_name) {
		/* The compositor's side of this id: a wl_shm of the proxy's. */
		struct wlp_val v[2] = { { .u = c->shm_name },
					{ .u = b->u, .version = 1, .str = "wl_shm", .len = 6 } };
		if (wl_request(c, m->h.id, &wlp_iface_wl_registry, 0, v, -1) < 0)
			return -EPROTO;
		o->flags |= OF_SHM_TWIN;
		if (!c->shm_id)
			c->shm_id = b->u;
	} else if (placeholder(c, b->u) < 0) {
		return -EPROTO;
	}
	/* Version 4 and up: the feedback alone tells formats (the protocol forbids these). */
	for (size_t i = 0; b->version < 4 && i < LBX_ARRAY_SIZE(fmts); i++) {
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

/* An event of zwp_linux_dmabuf_feedback_v1 by its name, to the box. */
static int feedback_event(struct wlp_conn *c, uint32_t id, const char *name,
			  const struct wlp_val *v)
{
	const struct wlp_iface *fi = &wlp_iface_zwp_linux_dmabuf_feedback_v1;

	for (uint16_t op = 0; op < fi->nev; op++)
		if (strcmp(fi->ev[op].name, name) == 0)
			return link_event(c, id, fi, op, v);
	return fail(c, "zwp_linux_dmabuf_feedback_v1 has no event %s", name);
}

/*
 * A feedback object's whole answer, at once: the format table (FD_DATA,
 * then format_table), the main device, one tranche of both formats
 * (the driver's own layout) on that device, done. The device is 0 here: the guest half
 * puts its own in.
 */
static int feedback_send(struct wlp_conn *c, uint32_t id)
{
	static const uint32_t fmts[] = { DRM_FMT_AR24, DRM_FMT_XR24 };
	uint8_t table[16 * LBX_ARRAY_SIZE(fmts)] = { 0 };
	uint8_t dev[8] = { 0 }, idx[2 * LBX_ARRAY_SIZE(fmts)];
	struct wlp_val v[2] = { 0 };

	for (size_t i = 0; i < LBX_ARRAY_SIZE(fmts); i++) {
		/*
		 * format u32, 4 bytes of padding, modifier u64: DRM_FORMAT_MOD_INVALID,
		 * the driver's own layout (Mesa then allocates without modifiers). The
		 * layout is the guest's business: lbx-gpud reads the resource back
		 * through virglrenderer, which knows it.
		 */
		static const uint64_t invalid = (1ull << 56) - 1;
		memcpy(table + 16 * i, &fmts[i], 4);
		memcpy(table + 16 * i + 8, &invalid, 8);
		uint16_t k = (uint16_t)i;
		memcpy(idx + 2 * i, &k, 2);
	}
	if (link_frame(c, WLP_F_FD_DATA, table, sizeof(table), NULL, 0) < 0)
		return -EPROTO;
	v[1].u = sizeof(table);
	if (feedback_event(c, id, "format_table", v) < 0)
		return -EPROTO;
	v[0] = (struct wlp_val){ .p = dev, .len = sizeof(dev) };
	if (feedback_event(c, id, "main_device", v) < 0 ||
	    feedback_event(c, id, "tranche_target_device", v) < 0)
		return -EPROTO;
	v[0] = (struct wlp_val){ .p = idx, .len = sizeof(idx) };
	if (feedback_event(c, id, "tranche_formats", v) < 0)
		return -EPROTO;
	v[0] = (struct wlp_val){ .u = 0 };
	if (feedback_event(c, id, "tranche_flags", v) < 0 ||
	    feedback_event(c, id, "tranche_done", v) < 0 || feedback_event(c, id, "done", v) < 0)
		return -EPROTO;
	c->cnt.feedbacks++;
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

	if (!p->added || p->used)
		return fail(c, "zwp_linux_buffer_params_v1.create_immed: %s",
			    p->used ? "the params were used already" : "no plane was added");
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
	/* The pool stands at the params' id, free on the compositor since its sync. */
	uint32_t pid = m->h.id;
	struct wlp_obj *bo = wlp_obj_new(&c->objs, bid, &wlp_iface_wl_buffer, 1);
	struct buffer *b = calloc(1, sizeof(*b));
	if (!bo || !b) {
		free(b);
		(void)wlp_frames_unbind(c->frames, fh);
		pool_unref(c, ph);
		return fail(c, "out of memory");
	}
	bo->handle = ph; /* the buffer holds the pool's one reference */
	p->used = true;
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
	return swallow_add(c, pid); /* the pool's delete_id */
}

/* Requests to the objects the proxy serves: here, never forwarded. */
static int dmabuf_request(struct wlp_conn *c, struct msg *m)
{
	struct wlp_obj *o = m->obj;

	m->drop = true;
	if (o->iface == &wlp_iface_zwp_linux_dmabuf_v1) {
		if (m->m->destructor && (o->flags & OF_SHM_TWIN)) {
			/* wl_shm v1 cannot be destroyed: the id stays taken, a zombie for the box
			 */
			o->state = WLP_OBJ_ZOMBIE;
			return 0;
		}
		if (m->m->destructor)
			return local_destroy(c, m->h.id);
		if (strcmp(m->m->name, "create_params") == 0) {
			struct wlp_obj *n = local_new(
			    c, m->v[0].u, &wlp_iface_zwp_linux_buffer_params_v1, o->version);
			if (!n || !(n->data = calloc(1, sizeof(struct params))))
				return fail(c, "out of memory");
			return placeholder(c, m->v[0].u);
		}
		if (strcmp(m->m->name, "get_default_feedback") == 0 ||
		    strcmp(m->m->name, "get_surface_feedback") == 0) {
			if (!local_new(c, m->v[0].u, &wlp_iface_zwp_linux_dmabuf_feedback_v1,
				       o->version))
				return fail(c, "out of memory");
			if (placeholder(c, m->v[0].u) < 0)
				return -EPROTO;
			return feedback_send(c, m->v[0].u);
		}
	} else if (o->iface == &wlp_iface_zwp_linux_dmabuf_feedback_v1) {
		if (m->m->destructor)
			return local_destroy(c, m->h.id);
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
