/* SPDX-License-Identifier: MIT */
/*
 * Executing decoded virtio-gpu commands (virtio 1.2 §5.7.6.7-8) on
 * virglrenderer. What the decoder could not know is checked here: that a
 * resource or context exists, that backing lies in guest memory, that a
 * 2D transfer or a scanout fits its resource. A refused command is
 * answered with VIRTIO_GPU_RESP_ERR_* and one log line; nothing a guest
 * sends ends the daemon.
 *
 * Responses are the uapi structs, filled on a little-endian host (the
 * only kind lbx runs on; the static assertion below says so).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <virgl/virglrenderer.h>

#include "gpud.h"
#include "log.h"

_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "virtio-gpu responses are little-endian");

/* virglrenderer's names for what QEMU's virgl device also uses for 2D resources. */
#define PIPE_TEXTURE_2D		 2
#define VIRGL_BIND_RENDER_TARGET (1u << 1)
#define VIRGL_BIND_SAMPLER_VIEW	 (1u << 3)

static size_t resp_hdr(uint8_t *resp, uint32_t type)
{
	struct virtio_gpu_ctrl_hdr h = { .type = type };

	memcpy(resp, &h, sizeof(h));
	return sizeof(h);
}

/* The resource a command names, for log lines (0: none). */
static uint32_t cmd_resource(const struct gpu_cmd *c)
{
	switch (c->hdr.type) {
	case VIRTIO_GPU_CMD_SET_SCANOUT: return c->u.set_scanout.resource_id;
	case VIRTIO_GPU_CMD_RESOURCE_FLUSH: return c->u.flush.resource_id;
	case VIRTIO_GPU_CMD_TRANSFER_TO_HOST_2D: return c->u.t2d.resource_id;
	case VIRTIO_GPU_CMD_TRANSFER_TO_HOST_3D:
	case VIRTIO_GPU_CMD_TRANSFER_FROM_HOST_3D: return c->u.t3d.resource_id;
	case VIRTIO_GPU_CMD_UPDATE_CURSOR: return c->u.cursor.resource_id;
	case VIRTIO_GPU_CMD_RESOURCE_CREATE_2D:
	case VIRTIO_GPU_CMD_RESOURCE_CREATE_3D:
	case VIRTIO_GPU_CMD_RESOURCE_CREATE_BLOB:
	case VIRTIO_GPU_CMD_RESOURCE_UNREF:
	case VIRTIO_GPU_CMD_RESOURCE_ATTACH_BACKING:
	case VIRTIO_GPU_CMD_RESOURCE_DETACH_BACKING:
	case VIRTIO_GPU_CMD_CTX_ATTACH_RESOURCE:
	case VIRTIO_GPU_CMD_CTX_DETACH_RESOURCE:
		return c->u.unref.resource_id; /* each begins with resource_id */
	default: return 0;
	}
}

static size_t refuse(struct gpud *g, const struct gpu_cmd *c, uint8_t *resp, uint32_t code,
		     const char *why)
{
	g->stats.refused++;
	lbx_warn("gpu: %s refused: %s (resource %" PRIu32 ", context %" PRIu32 ")",
		 gpu_cmd_name(c->hdr.type), why, cmd_resource(c), c->hdr.ctx_id);
	return resp_hdr(resp, code);
}

/*
 * virglrenderer.h leaves struct virgl_box opaque; it is six u32s (x, y, z,
 * w, h, d), the layout of virtio-gpu's own box, which QEMU passes the same way.
 */
#define VGBOX(b) ((struct virgl_box *)(void *)(b))

#define OK_NODATA(resp) resp_hdr((resp), VIRTIO_GPU_RESP_OK_NODATA)

/* ---- the resource table ---- */

static unsigned bucket(uint32_t id)
{
	return (id * 2654435761u) % GPUD_RES_BUCKETS;
}

struct gpud_resource *gpud_res_find(struct gpud *g, uint32_t id)
{
	for (struct gpud_resource *r = g->res[bucket(id)]; r; r = r->next)
		if (r->id == id)
			return r;
	return NULL;
}

static struct gpud_resource *res_add(struct gpud *g, uint32_t id)
{
	struct gpud_resource *r;

	if (g->nres >= GPUD_MAX_RESOURCES)
		return NULL;
	r = calloc(1, sizeof(*r));
	if (!r)
		return NULL;
	r->id = id;
	r->next = g->res[bucket(id)];
	g->res[bucket(id)] = r;
	g->nres++;
	return r;
}

static void res_detach(struct gpud_resource *r)
{
	struct iovec *iov = NULL;
	int n = 0;

	if (!r->iov)
		return;
	if (!r->blob)
		virgl_renderer_resource_detach_iov((int)r->id, &iov, &n);
	free(r->iov);
	r->iov = NULL;
	r->niov = 0;
	r->backing_len = 0;
}

static void res_remove(struct gpud *g, struct gpud_resource *r)
{
	struct gpud_resource **pp = &g->res[bucket(r->id)];

	while (*pp != r)
		pp = &(*pp)->next;
	*pp = r->next;
	res_detach(r);
	virgl_renderer_resource_unref(r->id);
	for (unsigned i = 0; i < GPUD_NUM_SCANOUTS; i++)
		if (g->scanouts[i].resource_id == r->id) {
			g->scanouts[i].resource_id = 0;
			gpud_display_scanout(g, i, 0, 0);
		}
	free(r);
	g->nres--;
}

static bool ctx_exists(const struct gpud *g, uint32_t id)
{
	for (unsigned i = 0; i < g->nctx; i++)
		if (g->ctxs[i] == id)
			return true;
	return false;
}

void gpud_reset(struct gpud *g)
{
	for (unsigned b = 0; b < GPUD_RES_BUCKETS; b++)
		while (g->res[b])
			res_remove(g, g->res[b]);
	for (unsigned i = 0; i < g->nctx; i++)
		virgl_renderer_context_destroy(g->ctxs[i]);
	g->nctx = 0;
	memset(g->scanouts, 0, sizeof(g->scanouts));
	g->npending = 0;
}

/* Guest memory entries as host iovecs; NULL if one lies outside guest RAM. */
static struct iovec *map_entries(struct gpud *g, const struct gpu_cmd *c)
{
	const struct lbx_guest_mem *mem = lbx_vu_dev_mem(g->dev);
	struct iovec *iov = calloc(c->nentries, sizeof(*iov));

	if (!iov)
		return NULL;
	for (uint32_t i = 0; i < c->nentries; i++) {
		void *p = lbx_guest_mem_ptr(mem, c->entries[i].addr, c->entries[i].length);

		if (!p) {
			free(iov);
			return NULL;
		}
		iov[i] = (struct iovec){ p, c->entries[i].length };
	}
	return iov;
}

/* ---- 2D ---- */

static size_t x_display_info(struct gpud *g, const struct gpu_cmd *c, uint8_t *resp, size_t cap)
{
	struct virtio_gpu_resp_display_info d = g->display;

	if (cap < sizeof(d))
		return refuse(g, c, resp, VIRTIO_GPU_RESP_ERR_UNSPEC, "response buffer too small");
	d.hdr = (struct virtio_gpu_ctrl_hdr){ .type = VIRTIO_GPU_RESP_OK_DISPLAY_INFO };
	memcpy(resp, &d, sizeof(d));
	return sizeof(d);
}

static size_t x_create_2d(struct gpud *g, const struct gpu_cmd *c, uint8_t *resp, size_t cap)
{
	const struct virtio_gpu_resource_create_2d *b = &c->u.create_2d;
	struct virgl_renderer_resource_create_args a = {
		.handle = b->resource_id,
		.target = PIPE_TEXTURE_2D,
		.format = b->format,
		.bind = VIRGL_BIND_RENDER_TARGET | VIRGL_BIND_SAMPLER_VIEW,
		.width = b->width,
		.height = b->height,
		.depth = 1,
		.array_size = 1,
		.flags = VIRTIO_GPU_RESOURCE_FLAG_Y_0_TOP,
	};
	struct gpud_resource *r;

	if (gpud_res_find(g, b->resource_id))
		return refuse(g, c, resp, VIRTIO_GPU_RESP_ERR_INVALID_RESOURCE_ID, "id in use");
	if (virgl_renderer_resource_create(&a, NULL, 0))
		return refuse(g, c, resp, VIRTIO_GPU_RESP_ERR_UNSPEC, "the renderer refused it");
	r = res_add(g, b->resource_id);
	if (!r) {
		virgl_renderer_resource_unref(b->resource_id);
		return refuse(g, c, resp, VIRTIO_GPU_RESP_ERR_OUT_OF_MEMORY, "too many resources");
	}
	r->width = b->width;
	r->height = b->height;
	r->format = b->format;
	r->is_2d = true;
	return OK_NODATA(resp);
}

static size_t x_create_3d(struct gpud *g, const struct gpu_cmd *c, uint8_t *resp, size_t cap)
{
	const struct virtio_gpu_resource_create_3d *b = &c->u.create_3d;
	struct virgl_renderer_resource_create_args a = {
		.handle = b->resource_id,
		.target = b->target,
		.format = b->format,
		.bind = b->bind,
		.width = b->width,
		.height = b->height,
		.depth = b->depth,
		.array_size = b->array_size,
		.last_level = b->last_level,
		.nr_samples = b->nr_samples,
		.flags = b->flags,
	};
	struct gpud_resource *r;

	if (gpud_res_find(g, b->resource_id))
		return refuse(g, c, resp, VIRTIO_GPU_RESP_ERR_INVALID_RESOURCE_ID, "id in use");
	if (virgl_renderer_resource_create(&a, NULL, 0))
		return refuse(g, c, resp, VIRTIO_GPU_RESP_ERR_INVALID_PARAMETER,
			      "the renderer refused its target, format or size");
	r = res_add(g, b->resource_id);
	if (!r) {
		virgl_renderer_resource_unref(b->resource_id);
		return refuse(g, c, resp, VIRTIO_GPU_RESP_ERR_OUT_OF_MEMORY, "too many resources");
	}
	r->width = b->width;
	r->height = b->height;
	r->format = b->format;
	return OK_NODATA(resp);
}

static size_t x_create_blob(struct gpud *g, const struct gpu_cmd *c, uint8_t *resp, size_t cap)
{
	const struct virtio_gpu_resource_create_blob *b = &c->u.create_blob;
	struct virgl_renderer_resource_create_blob_args a = {
		.res_handle = b->resource_id,
		.ctx_id = c->hdr.ctx_id,
		.blob_mem = VIRGL_RENDERER_BLOB_MEM_GUEST,
		.blob_flags = b->blob_flags,
		.blob_id = b->blob_id,
		.size = b->size,
	};
	struct gpud_resource *r;
	struct iovec *iov;

	if (gpud_res_find(g, b->resource_id))
		return refuse(g, c, resp, VIRTIO_GPU_RESP_ERR_INVALID_RESOURCE_ID, "id in use");
	iov = map_entries(g, c);
	if (!iov)
		return refuse(g, c, resp, VIRTIO_GPU_RESP_ERR_INVALID_PARAMETER,
			      "memory entries outside guest RAM");
	a.iovecs = iov;
	a.num_iovs = c->nentries;
	r = res_add(g, b->resource_id);
	if (!r || virgl_renderer_resource_create_blob(&a)) {
		free(iov);
		if (r) {
			r->iov = NULL;
			res_remove(g, r);
		}
		return refuse(g, c, resp, VIRTIO_GPU_RESP_ERR_UNSPEC, "the renderer refused it");
	}
	r->blob = true;
	r->iov = iov;
	r->niov = c->nentries;
	r->backing_len = c->entries_len;
	return OK_NODATA(resp);
}

static size_t x_unref(struct gpud *g, const struct gpu_cmd *c, uint8_t *resp, size_t cap)
{
	struct gpud_resource *r = gpud_res_find(g, c->u.unref.resource_id);

	if (!r)
		return refuse(g, c, resp, VIRTIO_GPU_RESP_ERR_INVALID_RESOURCE_ID,
			      "no such resource");
	res_remove(g, r);
	return OK_NODATA(resp);
}

static size_t x_attach(struct gpud *g, const struct gpu_cmd *c, uint8_t *resp, size_t cap)
{
	struct gpud_resource *r = gpud_res_find(g, c->u.attach.resource_id);
	struct iovec *iov;

	if (!r)
		return refuse(g, c, resp, VIRTIO_GPU_RESP_ERR_INVALID_RESOURCE_ID,
			      "no such resource");
	if (r->iov)
		return refuse(g, c, resp, VIRTIO_GPU_RESP_ERR_UNSPEC, "backing already attached");
	iov = map_entries(g, c);
	if (!iov)
		return refuse(g, c, resp, VIRTIO_GPU_RESP_ERR_INVALID_PARAMETER,
			      "memory entries outside guest RAM");
	if (virgl_renderer_resource_attach_iov((int)r->id, iov, (int)c->nentries)) {
		free(iov);
		return refuse(g, c, resp, VIRTIO_GPU_RESP_ERR_UNSPEC, "the renderer refused it");
	}
	r->iov = iov;
	r->niov = c->nentries;
	r->backing_len = c->entries_len;
	return OK_NODATA(resp);
}

static size_t x_detach(struct gpud *g, const struct gpu_cmd *c, uint8_t *resp, size_t cap)
{
	struct gpud_resource *r = gpud_res_find(g, c->u.detach.resource_id);

	if (!r)
		return refuse(g, c, resp, VIRTIO_GPU_RESP_ERR_INVALID_RESOURCE_ID,
			      "no such resource");
	if (!r->iov || r->blob)
		return refuse(g, c, resp, VIRTIO_GPU_RESP_ERR_UNSPEC, "no backing to detach");
	res_detach(r);
	return OK_NODATA(resp);
}

/* Does [x, x+w) x [y, y+h) lie inside the resource? */
static bool rect_in(const struct gpud_resource *r, const struct virtio_gpu_rect *rc)
{
	return (uint64_t)rc->x + rc->width <= r->width && (uint64_t)rc->y + rc->height <= r->height;
}

static size_t x_t2d(struct gpud *g, const struct gpu_cmd *c, uint8_t *resp, size_t cap)
{
	const struct virtio_gpu_transfer_to_host_2d *b = &c->u.t2d;
	struct gpud_resource *r = gpud_res_find(g, b->resource_id);
	struct virtio_gpu_box box = { b->r.x, b->r.y, 0, b->r.width, b->r.height, 1 };
	uint64_t stride, need;

	if (!r || !r->is_2d)
		return refuse(g, c, resp, VIRTIO_GPU_RESP_ERR_INVALID_RESOURCE_ID,
			      "no such 2D resource");
	if (!r->iov)
		return refuse(g, c, resp, VIRTIO_GPU_RESP_ERR_UNSPEC, "no backing attached");
	if (!rect_in(r, &b->r))
		return refuse(g, c, resp, VIRTIO_GPU_RESP_ERR_INVALID_PARAMETER,
			      "rectangle outside the resource");
	/* The last byte read: offset + (h - 1) rows of the resource's stride + w pixels. */
	stride = (uint64_t)r->width * gpu_format_bpp(r->format);
	need = b->offset +
	       (b->r.height ? (uint64_t)(b->r.height - 1) * stride + (uint64_t)b->r.width * 4 : 0);
	if (need > r->backing_len)
		return refuse(g, c, resp, VIRTIO_GPU_RESP_ERR_INVALID_PARAMETER,
			      "transfer beyond the backing");
	if (b->r.width && b->r.height &&
	    virgl_renderer_transfer_write_iov(r->id, 0, 0, 0, 0, VGBOX(&box), b->offset, NULL, 0))
		return refuse(g, c, resp, VIRTIO_GPU_RESP_ERR_UNSPEC, "the renderer refused it");
	return OK_NODATA(resp);
}

static size_t x_set_scanout(struct gpud *g, const struct gpu_cmd *c, uint8_t *resp, size_t cap)
{
	const struct virtio_gpu_set_scanout *b = &c->u.set_scanout;
	struct gpud_resource *r;

	if (b->scanout_id >= GPUD_NUM_SCANOUTS)
		return refuse(g, c, resp, VIRTIO_GPU_RESP_ERR_INVALID_SCANOUT_ID,
			      "no such scanout");
	if (!b->resource_id || !b->r.width || !b->r.height) {
		g->scanouts[b->scanout_id].resource_id = 0;
		gpud_display_scanout(g, b->scanout_id, 0, 0);
		return OK_NODATA(resp);
	}
	r = gpud_res_find(g, b->resource_id);
	if (!r)
		return refuse(g, c, resp, VIRTIO_GPU_RESP_ERR_INVALID_RESOURCE_ID,
			      "no such resource");
	if (!rect_in(r, &b->r))
		return refuse(g, c, resp, VIRTIO_GPU_RESP_ERR_INVALID_PARAMETER,
			      "rectangle outside the resource");
	g->scanouts[b->scanout_id] = (struct gpud_scanout){ b->resource_id, b->r };
	gpud_display_scanout(g, b->scanout_id, b->r.width, b->r.height);
	return OK_NODATA(resp);
}

/* The intersection of a and b into out; false if empty. */
static bool intersect(const struct virtio_gpu_rect *a, const struct virtio_gpu_rect *b,
		      struct virtio_gpu_rect *out)
{
	uint32_t x0 = a->x > b->x ? a->x : b->x, y0 = a->y > b->y ? a->y : b->y;
	uint64_t ax1 = (uint64_t)a->x + a->width, bx1 = (uint64_t)b->x + b->width;
	uint64_t ay1 = (uint64_t)a->y + a->height, by1 = (uint64_t)b->y + b->height;
	uint64_t x1 = ax1 < bx1 ? ax1 : bx1, y1 = ay1 < by1 ? ay1 : by1;

	if (x1 <= x0 || y1 <= y0)
		return false;
	*out = (struct virtio_gpu_rect){ x0, y0, (uint32_t)(x1 - x0), (uint32_t)(y1 - y0) };
	return true;
}

/* Read back rc of resource id into g->pixbuf as rows of rc->width * 4 bytes. */
static int read_back(struct gpud *g, uint32_t id, const struct virtio_gpu_rect *rc)
{
	size_t need = (size_t)rc->width * rc->height * 4;
	struct virtio_gpu_box box = { rc->x, rc->y, 0, rc->width, rc->height, 1 };
	struct iovec iov;

	if (need > g->pixbuf_size) {
		uint8_t *p = realloc(g->pixbuf, need);

		if (!p)
			return -ENOMEM;
		g->pixbuf = p;
		g->pixbuf_size = need;
	}
	iov = (struct iovec){ g->pixbuf, need };
	return virgl_renderer_transfer_read_iov(id, 0, 0, rc->width * 4, 0, VGBOX(&box), 0, &iov, 1)
		   ? -EIO
		   : 0;
}

static size_t x_flush(struct gpud *g, const struct gpu_cmd *c, uint8_t *resp, size_t cap)
{
	const struct virtio_gpu_resource_flush *b = &c->u.flush;
	struct gpud_resource *r = gpud_res_find(g, b->resource_id);

	if (!r)
		return refuse(g, c, resp, VIRTIO_GPU_RESP_ERR_INVALID_RESOURCE_ID,
			      "no such resource");
	for (unsigned i = 0; i < GPUD_NUM_SCANOUTS; i++) {
		struct gpud_scanout *s = &g->scanouts[i];
		struct virtio_gpu_rect d, rel;

		if (s->resource_id != r->id || !intersect(&b->r, &s->r, &d))
			continue;
		if (read_back(g, r->id, &d) < 0) {
			lbx_warn("gpu: cannot read back resource %" PRIu32 " for scanout %u", r->id,
				 i);
			continue;
		}
		rel = (struct virtio_gpu_rect){ d.x - s->r.x, d.y - s->r.y, d.width, d.height };
		g->stats.updates++;
		g->stats.update_bytes += (uint64_t)d.width * d.height * 4;
		gpud_display_update(g, i, &rel, g->pixbuf);
		if (g->on_update)
			g->on_update(g, i, &rel, g->pixbuf, g->on_update_data);
	}
	return OK_NODATA(resp);
}

static size_t x_capset_info(struct gpud *g, const struct gpu_cmd *c, uint8_t *resp, size_t cap)
{
	struct virtio_gpu_resp_capset_info ci = { .hdr.type = VIRTIO_GPU_RESP_OK_CAPSET_INFO };
	uint32_t idx = c->u.capset_info.capset_index;

	if (idx >= g->num_capsets || cap < sizeof(ci))
		return refuse(g, c, resp, VIRTIO_GPU_RESP_ERR_INVALID_PARAMETER, "no such capset");
	ci.capset_id = idx == 0 ? VIRTIO_GPU_CAPSET_VIRGL : VIRTIO_GPU_CAPSET_VIRGL2;
	virgl_renderer_get_cap_set(ci.capset_id, &ci.capset_max_version, &ci.capset_max_size);
	memcpy(resp, &ci, sizeof(ci));
	return sizeof(ci);
}

static size_t x_capset(struct gpud *g, const struct gpu_cmd *c, uint8_t *resp, size_t cap)
{
	uint32_t id = c->u.capset.capset_id, ver = c->u.capset.capset_version, max_ver = 0,
		 max_size = 0;
	size_t hdr = sizeof(struct virtio_gpu_ctrl_hdr);

	if (id != VIRTIO_GPU_CAPSET_VIRGL && id != VIRTIO_GPU_CAPSET_VIRGL2)
		return refuse(g, c, resp, VIRTIO_GPU_RESP_ERR_INVALID_PARAMETER, "no such capset");
	virgl_renderer_get_cap_set(id, &max_ver, &max_size);
	if (!max_size || ver > max_ver || cap < hdr + max_size)
		return refuse(g, c, resp, VIRTIO_GPU_RESP_ERR_INVALID_PARAMETER,
			      "capset version unknown or response buffer too small");
	memset(resp + hdr, 0, max_size);
	virgl_renderer_fill_caps(id, ver, resp + hdr);
	resp_hdr(resp, VIRTIO_GPU_RESP_OK_CAPSET);
	return hdr + max_size;
}

/* ---- 3D ---- */

static size_t x_ctx_create(struct gpud *g, const struct gpu_cmd *c, uint8_t *resp, size_t cap)
{
	const struct virtio_gpu_ctx_create *b = &c->u.ctx_create;

	if (ctx_exists(g, c->hdr.ctx_id))
		return refuse(g, c, resp, VIRTIO_GPU_RESP_ERR_INVALID_CONTEXT_ID, "context in use");
	if (g->nctx >= GPUD_MAX_CONTEXTS)
		return refuse(g, c, resp, VIRTIO_GPU_RESP_ERR_OUT_OF_MEMORY, "too many contexts");
	if (virgl_renderer_context_create(c->hdr.ctx_id, b->nlen, b->debug_name))
		return refuse(g, c, resp, VIRTIO_GPU_RESP_ERR_UNSPEC, "the renderer refused it");
	g->ctxs[g->nctx++] = c->hdr.ctx_id;
	return OK_NODATA(resp);
}

static size_t x_ctx_destroy(struct gpud *g, const struct gpu_cmd *c, uint8_t *resp, size_t cap)
{
	for (unsigned i = 0; i < g->nctx; i++)
		if (g->ctxs[i] == c->hdr.ctx_id) {
			virgl_renderer_context_destroy(c->hdr.ctx_id);
			g->ctxs[i] = g->ctxs[--g->nctx];
			return OK_NODATA(resp);
		}
	return refuse(g, c, resp, VIRTIO_GPU_RESP_ERR_INVALID_CONTEXT_ID, "no such context");
}

static size_t x_ctx_res(struct gpud *g, const struct gpu_cmd *c, uint8_t *resp, size_t cap)
{
	if (!ctx_exists(g, c->hdr.ctx_id))
		return refuse(g, c, resp, VIRTIO_GPU_RESP_ERR_INVALID_CONTEXT_ID,
			      "no such context");
	if (!gpud_res_find(g, c->u.ctx_res.resource_id))
		return refuse(g, c, resp, VIRTIO_GPU_RESP_ERR_INVALID_RESOURCE_ID,
			      "no such resource");
	if (c->hdr.type == VIRTIO_GPU_CMD_CTX_ATTACH_RESOURCE)
		virgl_renderer_ctx_attach_resource((int)c->hdr.ctx_id,
						   (int)c->u.ctx_res.resource_id);
	else
		virgl_renderer_ctx_detach_resource((int)c->hdr.ctx_id,
						   (int)c->u.ctx_res.resource_id);
	return OK_NODATA(resp);
}

static size_t x_t3d(struct gpud *g, const struct gpu_cmd *c, uint8_t *resp, size_t cap)
{
	const struct virtio_gpu_transfer_host_3d *b = &c->u.t3d;
	struct gpud_resource *r = gpud_res_find(g, b->resource_id);
	struct virtio_gpu_box box = { b->box.x, b->box.y, b->box.z, b->box.w, b->box.h, b->box.d };
	int rc;

	if (!ctx_exists(g, c->hdr.ctx_id))
		return refuse(g, c, resp, VIRTIO_GPU_RESP_ERR_INVALID_CONTEXT_ID,
			      "no such context");
	if (!r)
		return refuse(g, c, resp, VIRTIO_GPU_RESP_ERR_INVALID_RESOURCE_ID,
			      "no such resource");
	if (!r->iov)
		return refuse(g, c, resp, VIRTIO_GPU_RESP_ERR_UNSPEC, "no backing attached");
	/*
	 * The box against the resource's level and format, and the transfer
	 * against the backing iovecs, are virglrenderer's checks
	 * (vrend_check_transfer_bounds, check_iov_bounds): it knows the format.
	 */
	if (c->hdr.type == VIRTIO_GPU_CMD_TRANSFER_TO_HOST_3D)
		rc = virgl_renderer_transfer_write_iov(r->id, c->hdr.ctx_id, (int)b->level,
						       b->stride, b->layer_stride, VGBOX(&box),
						       b->offset, NULL, 0);
	else
		rc = virgl_renderer_transfer_read_iov(r->id, c->hdr.ctx_id, b->level, b->stride,
						      b->layer_stride, VGBOX(&box), b->offset, NULL,
						      0);
	if (rc)
		return refuse(g, c, resp, VIRTIO_GPU_RESP_ERR_INVALID_PARAMETER,
			      "the renderer refused the box");
	return OK_NODATA(resp);
}

static size_t x_submit(struct gpud *g, const struct gpu_cmd *c, uint8_t *resp, size_t cap)
{
	if (!ctx_exists(g, c->hdr.ctx_id))
		return refuse(g, c, resp, VIRTIO_GPU_RESP_ERR_INVALID_CONTEXT_ID,
			      "no such context");
	if (c->stream_len && virgl_renderer_submit_cmd((void *)c->stream, (int)c->hdr.ctx_id,
						       (int)(c->stream_len / 4)))
		return refuse(g, c, resp, VIRTIO_GPU_RESP_ERR_INVALID_PARAMETER,
			      "the renderer refused the command stream");
	return OK_NODATA(resp);
}

static size_t x_edid(struct gpud *g, const struct gpu_cmd *c, uint8_t *resp, size_t cap)
{
	/* VIRTIO_GPU_F_EDID is not offered. */
	return refuse(g, c, resp, VIRTIO_GPU_RESP_ERR_UNSPEC, "EDID is not offered");
}

static size_t x_cursor(struct gpud *g, const struct gpu_cmd *c, uint8_t *resp, size_t cap)
{
	struct virtio_gpu_update_cursor cur = c->u.cursor, *b = &cur;
	uint32_t *image = NULL, w = 0, h = 0;

	cur.hdr = c->hdr; /* the decoder keeps the header apart */

	if (c->hdr.type == VIRTIO_GPU_CMD_UPDATE_CURSOR && b->resource_id) {
		if (!gpud_res_find(g, b->resource_id))
			return refuse(g, c, resp, VIRTIO_GPU_RESP_ERR_INVALID_RESOURCE_ID,
				      "no such resource");
		image = virgl_renderer_get_cursor_data(b->resource_id, &w, &h);
		if (image && (w != 64 || h != 64)) {
			free(image);
			return refuse(g, c, resp, VIRTIO_GPU_RESP_ERR_INVALID_PARAMETER,
				      "cursor not 64x64");
		}
	}
	gpud_display_cursor(g, b, image);
	free(image);
	return OK_NODATA(resp);
}

typedef size_t (*exec_fn)(struct gpud *g, const struct gpu_cmd *c, uint8_t *resp, size_t cap);

static exec_fn executor(uint32_t type)
{
	switch (type) {
	case VIRTIO_GPU_CMD_GET_DISPLAY_INFO: return x_display_info;
	case VIRTIO_GPU_CMD_RESOURCE_CREATE_2D: return x_create_2d;
	case VIRTIO_GPU_CMD_RESOURCE_UNREF: return x_unref;
	case VIRTIO_GPU_CMD_SET_SCANOUT: return x_set_scanout;
	case VIRTIO_GPU_CMD_RESOURCE_FLUSH: return x_flush;
	case VIRTIO_GPU_CMD_TRANSFER_TO_HOST_2D: return x_t2d;
	case VIRTIO_GPU_CMD_RESOURCE_ATTACH_BACKING: return x_attach;
	case VIRTIO_GPU_CMD_RESOURCE_DETACH_BACKING: return x_detach;
	case VIRTIO_GPU_CMD_GET_CAPSET_INFO: return x_capset_info;
	case VIRTIO_GPU_CMD_GET_CAPSET: return x_capset;
	case VIRTIO_GPU_CMD_GET_EDID: return x_edid;
	case VIRTIO_GPU_CMD_RESOURCE_CREATE_BLOB: return x_create_blob;
	case VIRTIO_GPU_CMD_CTX_CREATE: return x_ctx_create;
	case VIRTIO_GPU_CMD_CTX_DESTROY: return x_ctx_destroy;
	case VIRTIO_GPU_CMD_CTX_ATTACH_RESOURCE:
	case VIRTIO_GPU_CMD_CTX_DETACH_RESOURCE: return x_ctx_res;
	case VIRTIO_GPU_CMD_RESOURCE_CREATE_3D: return x_create_3d;
	case VIRTIO_GPU_CMD_TRANSFER_TO_HOST_3D:
	case VIRTIO_GPU_CMD_TRANSFER_FROM_HOST_3D: return x_t3d;
	case VIRTIO_GPU_CMD_SUBMIT_3D: return x_submit;
	case VIRTIO_GPU_CMD_UPDATE_CURSOR:
	case VIRTIO_GPU_CMD_MOVE_CURSOR: return x_cursor;
	default: return NULL;
	}
}

size_t gpud_exec(struct gpud *g, const struct gpu_cmd *c, uint8_t *resp, size_t resp_cap)
{
	exec_fn fn = executor(c->hdr.type);

	g->stats.commands++;
	if (!fn)
		return refuse(g, c, resp, VIRTIO_GPU_RESP_ERR_UNSPEC, "not implemented");
	return fn(g, c, resp, resp_cap);
}
