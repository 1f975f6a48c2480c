/* SPDX-License-Identifier: MIT */
/* The virtio-gpu command decoder (see gpu_cmd.h). */
#include "gpu_cmd.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "compiler.h"
#include "reader.h"

#define U32(r, v) lbx_read_u32le((r), &(v))
#define U64(r, v) read_u64((r), &(v))
#define INVALID	  VIRTIO_GPU_RESP_ERR_INVALID_PARAMETER
#define BAD_RES	  VIRTIO_GPU_RESP_ERR_INVALID_RESOURCE_ID
#define BAD_CTX	  VIRTIO_GPU_RESP_ERR_INVALID_CONTEXT_ID
#define UNSPEC	  VIRTIO_GPU_RESP_ERR_UNSPEC

/* The uapi's __le64 is unsigned long long; the reader's uint64_t may not be. */
static int read_u64(struct lbx_reader *r, __u64 *v)
{
	uint64_t x;
	int rc = lbx_read_u64le(r, &x);

	*v = rc ? 0 : x;
	return rc;
}

typedef int (*body_fn)(struct lbx_reader *r, struct gpu_cmd *c, struct gpu_cmd_error *e);

static int fail(struct gpu_cmd_error *e, uint32_t resp, const char *why)
{
	e->resp = resp;
	e->why = why;
	return -EBADMSG;
}

/* The reader ran short or long: the body is not the size its type gives. */
static int size_check(struct lbx_reader *r, struct gpu_cmd_error *e)
{
	if (lbx_reader_error(r) || lbx_read_end(r))
		return fail(e, UNSPEC, "the command's size does not match its type");
	return 0;
}

static bool dim_ok(uint32_t v)
{
	return v >= 1 && v <= GPU_MAX_DIM;
}

/* A rectangle within GPU_MAX_DIM on both axes (empty ones allowed: a no-op flush). */
static bool rect_ok(const struct virtio_gpu_rect *rc)
{
	return (uint64_t)rc->x + rc->width <= GPU_MAX_DIM &&
	       (uint64_t)rc->y + rc->height <= GPU_MAX_DIM;
}

static void read_rect(struct lbx_reader *r, struct virtio_gpu_rect *rc)
{
	if (U32(r, rc->x) || U32(r, rc->y) || U32(r, rc->width) || U32(r, rc->height))
		return; /* sticky: size_check reports it */
}

unsigned gpu_format_bpp(uint32_t format)
{
	switch (format) {
	case VIRTIO_GPU_FORMAT_B8G8R8A8_UNORM:
	case VIRTIO_GPU_FORMAT_B8G8R8X8_UNORM:
	case VIRTIO_GPU_FORMAT_A8R8G8B8_UNORM:
	case VIRTIO_GPU_FORMAT_X8R8G8B8_UNORM:
	case VIRTIO_GPU_FORMAT_R8G8B8A8_UNORM:
	case VIRTIO_GPU_FORMAT_X8B8G8R8_UNORM:
	case VIRTIO_GPU_FORMAT_A8B8G8R8_UNORM:
	case VIRTIO_GPU_FORMAT_R8G8B8X8_UNORM: return 4;
	default: return 0;
	}
}

/* ---- bodies ---- */

static int b_none(struct lbx_reader *r, struct gpu_cmd *c, struct gpu_cmd_error *e)
{
	return size_check(r, e);
}

static int b_create_2d(struct lbx_reader *r, struct gpu_cmd *c, struct gpu_cmd_error *e)
{
	struct virtio_gpu_resource_create_2d *b = &c->u.create_2d;

	if (U32(r, b->resource_id) || U32(r, b->format) || U32(r, b->width) || U32(r, b->height) ||
	    size_check(r, e))
		return size_check(r, e);
	if (!b->resource_id)
		return fail(e, BAD_RES, "resource id 0");
	if (!gpu_format_bpp(b->format))
		return fail(e, INVALID, "unknown 2D format");
	if (!dim_ok(b->width) || !dim_ok(b->height))
		return fail(e, INVALID, "width or height out of 1..16384");
	return 0;
}

static int b_create_3d(struct lbx_reader *r, struct gpu_cmd *c, struct gpu_cmd_error *e)
{
	struct virtio_gpu_resource_create_3d *b = &c->u.create_3d;

	if (U32(r, b->resource_id) || U32(r, b->target) || U32(r, b->format) || U32(r, b->bind) ||
	    U32(r, b->width) || U32(r, b->height) || U32(r, b->depth) || U32(r, b->array_size) ||
	    U32(r, b->last_level) || U32(r, b->nr_samples) || U32(r, b->flags) ||
	    U32(r, b->padding) || size_check(r, e))
		return size_check(r, e);
	if (!b->resource_id)
		return fail(e, BAD_RES, "resource id 0");
	/* A buffer (PIPE_BUFFER) is width bytes long: up to 256 MiB; textures GPU_MAX_DIM. */
	if (!dim_ok(b->height) || !dim_ok(b->depth) || b->array_size < 1 ||
	    b->array_size > GPU_MAX_DIM || b->width < 1 || b->width > (256u << 20) ||
	    b->last_level > 15 || b->nr_samples > 32)
		return fail(e, INVALID, "size out of range");
	return 0;
}

/* nr_entries memory entries: each non-empty, none wrapping, none overlapping another. */
static int cmp_entry(const void *a, const void *b)
{
	const struct virtio_gpu_mem_entry *x = a, *y = b;

	return x->addr < y->addr ? -1 : x->addr > y->addr;
}

static int read_entries(struct lbx_reader *r, struct gpu_cmd *c, uint32_t n,
			struct gpu_cmd_error *e)
{
	struct virtio_gpu_mem_entry *sorted;

	if (n == 0 || n > GPU_MAX_ENTRIES)
		return fail(e, INVALID, "nr_entries out of 1..16384");
	if (lbx_reader_left(r) != (size_t)n * sizeof(struct virtio_gpu_mem_entry))
		return fail(e, UNSPEC, "nr_entries does not match the command's size");
	c->entries = calloc(n, sizeof(*c->entries));
	sorted = calloc(n, sizeof(*sorted));
	if (!c->entries || !sorted) {
		free(sorted);
		return fail(e, VIRTIO_GPU_RESP_ERR_OUT_OF_MEMORY, "out of memory");
	}
	c->nentries = n;
	for (uint32_t i = 0; i < n; i++) {
		struct virtio_gpu_mem_entry *m = &c->entries[i];

		if (U64(r, m->addr) || U32(r, m->length) || U32(r, m->padding))
			break;
		if (!m->length || m->addr + m->length < m->addr) {
			free(sorted);
			return fail(e, INVALID, "an empty or wrapping memory entry");
		}
		c->entries_len += m->length;
	}
	memcpy(sorted, c->entries, (size_t)n * sizeof(*sorted));
	qsort(sorted, n, sizeof(*sorted), cmp_entry);
	for (uint32_t i = 1; i < n; i++)
		if (sorted[i - 1].addr + sorted[i - 1].length > sorted[i].addr) {
			free(sorted);
			return fail(e, INVALID, "overlapping memory entries");
		}
	free(sorted);
	return size_check(r, e);
}

static int b_attach(struct lbx_reader *r, struct gpu_cmd *c, struct gpu_cmd_error *e)
{
	struct virtio_gpu_resource_attach_backing *b = &c->u.attach;

	if (U32(r, b->resource_id) || U32(r, b->nr_entries))
		return size_check(r, e);
	if (!b->resource_id)
		return fail(e, BAD_RES, "resource id 0");
	return read_entries(r, c, b->nr_entries, e);
}

static int b_create_blob(struct lbx_reader *r, struct gpu_cmd *c, struct gpu_cmd_error *e)
{
	struct virtio_gpu_resource_create_blob *b = &c->u.create_blob;
	int rc;

	if (U32(r, b->resource_id) || U32(r, b->blob_mem) || U32(r, b->blob_flags) ||
	    U32(r, b->nr_entries) || U64(r, b->blob_id) || U64(r, b->size))
		return size_check(r, e);
	if (!b->resource_id)
		return fail(e, BAD_RES, "resource id 0");
	if (b->blob_mem != VIRTIO_GPU_BLOB_MEM_GUEST || !b->size)
		return fail(e, INVALID, "only non-empty guest-memory blobs are offered");
	rc = read_entries(r, c, b->nr_entries, e);
	if (rc)
		return rc;
	if (c->entries_len < b->size)
		return fail(e, INVALID, "blob larger than its memory entries");
	return 0;
}

static int b_res_only(struct lbx_reader *r, struct gpu_cmd *c, struct gpu_cmd_error *e)
{
	/* unref, detach_backing and ctx_resource share this layout: id, padding. */
	struct virtio_gpu_resource_unref *b = &c->u.unref;

	if (U32(r, b->resource_id) || U32(r, b->padding) || size_check(r, e))
		return size_check(r, e);
	if (!b->resource_id)
		return fail(e, BAD_RES, "resource id 0");
	return 0;
}

static int b_set_scanout(struct lbx_reader *r, struct gpu_cmd *c, struct gpu_cmd_error *e)
{
	struct virtio_gpu_set_scanout *b = &c->u.set_scanout;

	read_rect(r, &b->r);
	if (U32(r, b->scanout_id) || U32(r, b->resource_id) || size_check(r, e))
		return size_check(r, e);
	if (!rect_ok(&b->r))
		return fail(e, INVALID, "scanout rectangle out of range");
	return 0; /* resource 0 disables the scanout */
}

static int b_flush(struct lbx_reader *r, struct gpu_cmd *c, struct gpu_cmd_error *e)
{
	struct virtio_gpu_resource_flush *b = &c->u.flush;

	read_rect(r, &b->r);
	if (U32(r, b->resource_id) || U32(r, b->padding) || size_check(r, e))
		return size_check(r, e);
	if (!b->resource_id)
		return fail(e, BAD_RES, "resource id 0");
	if (!rect_ok(&b->r))
		return fail(e, INVALID, "flush rectangle out of range");
	return 0;
}

static int b_t2d(struct lbx_reader *r, struct gpu_cmd *c, struct gpu_cmd_error *e)
{
	struct virtio_gpu_transfer_to_host_2d *b = &c->u.t2d;

	read_rect(r, &b->r);
	if (U64(r, b->offset) || U32(r, b->resource_id) || U32(r, b->padding) || size_check(r, e))
		return size_check(r, e);
	if (!b->resource_id)
		return fail(e, BAD_RES, "resource id 0");
	if (!rect_ok(&b->r) || b->offset > UINT32_MAX)
		return fail(e, INVALID, "transfer rectangle or offset out of range");
	return 0;
}

static int b_t3d(struct lbx_reader *r, struct gpu_cmd *c, struct gpu_cmd_error *e)
{
	struct virtio_gpu_transfer_host_3d *b = &c->u.t3d;
	struct virtio_gpu_box *x = &b->box;

	if (U32(r, x->x) || U32(r, x->y) || U32(r, x->z) || U32(r, x->w) || U32(r, x->h) ||
	    U32(r, x->d) || U64(r, b->offset) || U32(r, b->resource_id) || U32(r, b->level) ||
	    U32(r, b->stride) || U32(r, b->layer_stride) || size_check(r, e))
		return size_check(r, e);
	if (!b->resource_id)
		return fail(e, BAD_RES, "resource id 0");
	if ((uint64_t)x->x + x->w > (256u << 20) || (uint64_t)x->y + x->h > GPU_MAX_DIM ||
	    (uint64_t)x->z + x->d > GPU_MAX_DIM || b->level > 15 || b->offset > UINT32_MAX)
		return fail(e, INVALID, "transfer box, level or offset out of range");
	return 0;
}

static int b_capset_info(struct lbx_reader *r, struct gpu_cmd *c, struct gpu_cmd_error *e)
{
	if (U32(r, c->u.capset_info.capset_index) || U32(r, c->u.capset_info.padding))
		return size_check(r, e);
	return size_check(r, e);
}

static int b_capset(struct lbx_reader *r, struct gpu_cmd *c, struct gpu_cmd_error *e)
{
	if (U32(r, c->u.capset.capset_id) || U32(r, c->u.capset.capset_version))
		return size_check(r, e);
	return size_check(r, e);
}

static int b_edid(struct lbx_reader *r, struct gpu_cmd *c, struct gpu_cmd_error *e)
{
	if (U32(r, c->u.edid.scanout) || U32(r, c->u.edid.padding))
		return size_check(r, e);
	return size_check(r, e);
}

static int need_ctx(const struct gpu_cmd *c, struct gpu_cmd_error *e)
{
	return c->hdr.ctx_id ? 0 : fail(e, BAD_CTX, "context id 0");
}

static int b_ctx_create(struct lbx_reader *r, struct gpu_cmd *c, struct gpu_cmd_error *e)
{
	struct virtio_gpu_ctx_create *b = &c->u.ctx_create;

	if (U32(r, b->nlen) || U32(r, b->context_init) ||
	    lbx_read_copy(r, b->debug_name, sizeof(b->debug_name)) || size_check(r, e))
		return size_check(r, e);
	if (b->nlen > sizeof(b->debug_name))
		return fail(e, INVALID, "debug name longer than 64 bytes");
	return need_ctx(c, e);
}

static int b_ctx_only(struct lbx_reader *r, struct gpu_cmd *c, struct gpu_cmd_error *e)
{
	return size_check(r, e) ? -EBADMSG : need_ctx(c, e);
}

static int b_ctx_res(struct lbx_reader *r, struct gpu_cmd *c, struct gpu_cmd_error *e)
{
	return b_res_only(r, c, e) ? -EBADMSG : need_ctx(c, e);
}

static int b_submit(struct lbx_reader *r, struct gpu_cmd *c, struct gpu_cmd_error *e)
{
	struct virtio_gpu_cmd_submit *b = &c->u.submit;

	if (U32(r, b->size) || U32(r, b->padding))
		return size_check(r, e);
	if (need_ctx(c, e))
		return -EBADMSG;
	if (b->size > GPU_MAX_SUBMIT || b->size % 4)
		return fail(e, INVALID, "command stream size not a dword count up to 8 MiB");
	if (lbx_read_bytes(r, b->size, &c->stream) || size_check(r, e))
		return fail(e, UNSPEC, "command stream size does not match the command's size");
	c->stream_len = b->size;
	return 0;
}

static int b_cursor(struct lbx_reader *r, struct gpu_cmd *c, struct gpu_cmd_error *e)
{
	struct virtio_gpu_update_cursor *b = &c->u.cursor;

	if (U32(r, b->pos.scanout_id) || U32(r, b->pos.x) || U32(r, b->pos.y) ||
	    U32(r, b->pos.padding) || U32(r, b->resource_id) || U32(r, b->hot_x) ||
	    U32(r, b->hot_y) || U32(r, b->padding))
		return size_check(r, e);
	return size_check(r, e);
}

/* ---- the table ---- */

struct cmd_desc {
	uint32_t type;
	const char *name;
	body_fn body;
};

static const struct cmd_desc cmds[] = {
	{ VIRTIO_GPU_CMD_GET_DISPLAY_INFO, "GET_DISPLAY_INFO", b_none },
	{ VIRTIO_GPU_CMD_RESOURCE_CREATE_2D, "RESOURCE_CREATE_2D", b_create_2d },
	{ VIRTIO_GPU_CMD_RESOURCE_UNREF, "RESOURCE_UNREF", b_res_only },
	{ VIRTIO_GPU_CMD_SET_SCANOUT, "SET_SCANOUT", b_set_scanout },
	{ VIRTIO_GPU_CMD_RESOURCE_FLUSH, "RESOURCE_FLUSH", b_flush },
	{ VIRTIO_GPU_CMD_TRANSFER_TO_HOST_2D, "TRANSFER_TO_HOST_2D", b_t2d },
	{ VIRTIO_GPU_CMD_RESOURCE_ATTACH_BACKING, "RESOURCE_ATTACH_BACKING", b_attach },
	{ VIRTIO_GPU_CMD_RESOURCE_DETACH_BACKING, "RESOURCE_DETACH_BACKING", b_res_only },
	{ VIRTIO_GPU_CMD_GET_CAPSET_INFO, "GET_CAPSET_INFO", b_capset_info },
	{ VIRTIO_GPU_CMD_GET_CAPSET, "GET_CAPSET", b_capset },
	{ VIRTIO_GPU_CMD_GET_EDID, "GET_EDID", b_edid },
	{ VIRTIO_GPU_CMD_RESOURCE_CREATE_BLOB, "RESOURCE_CREATE_BLOB", b_create_blob },
	{ VIRTIO_GPU_CMD_CTX_CREATE, "CTX_CREATE", b_ctx_create },
	{ VIRTIO_GPU_CMD_CTX_DESTROY, "CTX_DESTROY", b_ctx_only },
	{ VIRTIO_GPU_CMD_CTX_ATTACH_RESOURCE, "CTX_ATTACH_RESOURCE", b_ctx_res },
	{ VIRTIO_GPU_CMD_CTX_DETACH_RESOURCE, "CTX_DETACH_RESOURCE", b_ctx_res },
	{ VIRTIO_GPU_CMD_RESOURCE_CREATE_3D, "RESOURCE_CREATE_3D", b_create_3d },
	{ VIRTIO_GPU_CMD_TRANSFER_TO_HOST_3D, "TRANSFER_TO_HOST_3D", b_t3d },
	{ VIRTIO_GPU_CMD_TRANSFER_FROM_HOST_3D, "TRANSFER_FROM_HOST_3D", b_t3d },
	{ VIRTIO_GPU_CMD_SUBMIT_3D, "SUBMIT_3D", b_submit },
	{ VIRTIO_GPU_CMD_UPDATE_CURSOR, "UPDATE_CURSOR", b_cursor },
	{ VIRTIO_GPU_CMD_MOVE_CURSOR, "MOVE_CURSOR", b_cursor },
};

static const struct cmd_desc *find_cmd(uint32_t type)
{
	for (size_t i = 0; i < LBX_ARRAY_SIZE(cmds); i++)
		if (cmds[i].type == type)
			return &cmds[i];
	return NULL;
}

const char *gpu_cmd_name(uint32_t type)
{
	const struct cmd_desc *d = find_cmd(type);

	return d ? d->name : "unknown";
}

static int read_hdr(struct lbx_reader *r, struct virtio_gpu_ctrl_hdr *h)
{
	uint8_t ring;

	if (U32(r, h->type) || U32(r, h->flags) || U64(r, h->fence_id) || U32(r, h->ctx_id) ||
	    lbx_read_u8(r, &ring) || lbx_read_copy(r, h->padding, sizeof(h->padding)))
		return -EBADMSG;
	h->ring_idx = ring;
	return 0;
}

int gpu_cmd_decode(const void *buf, size_t len, struct gpu_cmd *cmd, struct gpu_cmd_error *err)
{
	const struct cmd_desc *d;
	struct lbx_reader r;
	int rc;

	memset(cmd, 0, sizeof(*cmd));
	err->resp = UNSPEC;
	err->why = NULL;
	lbx_reader_init(&r, buf, len);
	if (read_hdr(&r, &cmd->hdr))
		return fail(err, UNSPEC, "shorter than a command header");
	d = find_cmd(cmd->hdr.type);
	if (!d)
		return fail(err, UNSPEC, "unknown command type");
	rc = d->body(&r, cmd, err);
	if (rc)
		gpu_cmd_release(cmd);
	return rc;
}

void gpu_cmd_release(struct gpu_cmd *cmd)
{
	free(cmd->entries);
	cmd->entries = NULL;
	cmd->nentries = 0;
}
