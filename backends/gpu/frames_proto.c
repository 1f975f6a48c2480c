/* SPDX-License-Identifier: MIT */
/* The frames socket's wire format (frames_proto.h): one decoder, small encoders. */
#include "frames_proto.h"

#include <errno.h>
#include <stdbool.h>

#include "reader.h"
#include "writer.h"

static bool dim_ok(uint32_t v)
{
	return v >= 1 && v <= GPU_FRAMES_MAX_DIM;
}

static int decode_bind(struct lbx_reader *r, struct gpu_frames_req *q)
{
	if (lbx_read_u32le(r, &q->resource) || lbx_read_u32le(r, &q->width) ||
	    lbx_read_u32le(r, &q->height) || lbx_read_u32le(r, &q->stride))
		return -EBADMSG;
	if (q->resource == 0 || !dim_ok(q->width) || !dim_ok(q->height) ||
	    q->stride < q->width * 4 || q->stride > GPU_FRAMES_MAX_DIM * 4)
		return -EBADMSG;
	return 0;
}

static int decode_copy(struct lbx_reader *r, struct gpu_frames_req *q)
{
	if (lbx_read_u32le(r, &q->nrects) || q->nrects == 0 || q->nrects > GPU_FRAMES_MAX_RECTS)
		return -EBADMSG;
	for (uint32_t i = 0; i < q->nrects; i++) {
		struct gpu_frames_rect *rc = &q->rects[i];

		if (lbx_read_u32le(r, &rc->x) || lbx_read_u32le(r, &rc->y) ||
		    lbx_read_u32le(r, &rc->w) || lbx_read_u32le(r, &rc->h))
			return -EBADMSG;
		if (!dim_ok(rc->w) || !dim_ok(rc->h) || rc->x >= GPU_FRAMES_MAX_DIM ||
		    rc->y >= GPU_FRAMES_MAX_DIM || rc->x + rc->w > GPU_FRAMES_MAX_DIM ||
		    rc->y + rc->h > GPU_FRAMES_MAX_DIM)
			return -EBADMSG;
	}
	return 0;
}

int gpu_frames_decode(const uint8_t *buf, size_t len, struct gpu_frames_req *q)
{
	struct lbx_reader r, body;
	uint32_t n;
	int rc;

	lbx_reader_init(&r, buf, len);
	if (lbx_read_u32le(&r, &q->type) || lbx_read_u32le(&r, &n))
		return 0;
	if (n > GPU_FRAMES_REQ_MAX - GPU_FRAMES_HDR)
		return -EBADMSG;
	if (lbx_read_sub(&r, n, &body))
		return 0;
	q->nrects = 0;
	if (lbx_read_u32le(&body, &q->buffer) || q->buffer == 0)
		return -EBADMSG;
	switch (q->type) {
	case GPU_FRAMES_BIND: rc = decode_bind(&body, q); break;
	case GPU_FRAMES_COPY: rc = decode_copy(&body, q); break;
	case GPU_FRAMES_UNBIND: rc = 0; break;
	default: return -EBADMSG;
	}
	if (rc < 0 || lbx_read_end(&body))
		return -EBADMSG;
	return (int)(GPU_FRAMES_HDR + n);
}

static size_t put_hdr(uint8_t *out, uint32_t type, uint32_t n)
{
	lbx_put_u32le(out, type);
	lbx_put_u32le(out + 4, n);
	return GPU_FRAMES_HDR;
}

size_t gpu_frames_put_bind(uint8_t *out, uint32_t buffer, uint32_t resource, uint32_t width,
			   uint32_t height, uint32_t stride)
{
	size_t o = put_hdr(out, GPU_FRAMES_BIND, 20);
	const uint32_t v[] = { buffer, resource, width, height, stride };

	for (unsigned i = 0; i < 5; i++, o += 4)
		lbx_put_u32le(out + o, v[i]);
	return o;
}

size_t gpu_frames_put_copy(uint8_t *out, uint32_t buffer, const struct gpu_frames_rect *r,
			   uint32_t n)
{
	size_t o;

	if (n > GPU_FRAMES_MAX_RECTS)
		n = GPU_FRAMES_MAX_RECTS;
	o = put_hdr(out, GPU_FRAMES_COPY, 8 + 16 * n);
	lbx_put_u32le(out + o, buffer);
	lbx_put_u32le(out + o + 4, n);
	o += 8;
	for (uint32_t i = 0; i < n; i++, o += 16) {
		lbx_put_u32le(out + o, r[i].x);
		lbx_put_u32le(out + o + 4, r[i].y);
		lbx_put_u32le(out + o + 8, r[i].w);
		lbx_put_u32le(out + o + 12, r[i].h);
	}
	return o;
}

size_t gpu_frames_put_unbind(uint8_t *out, uint32_t buffer)
{
	size_t o = put_hdr(out, GPU_FRAMES_UNBIND, 4);

	lbx_put_u32le(out + o, buffer);
	return o + 4;
}

size_t gpu_frames_put_reply(uint8_t *out, uint32_t type, uint32_t buffer, int32_t status,
			    uint32_t bytes)
{
	size_t o = put_hdr(out, type, 12);

	lbx_put_u32le(out + o, buffer);
	lbx_put_u32le(out + o + 4, (uint32_t)status);
	lbx_put_u32le(out + o + 8, bytes);
	return o + 12;
}

int gpu_frames_decode_reply(const uint8_t *buf, size_t len, struct gpu_frames_reply *rep)
{
	struct lbx_reader r;
	uint32_t n, st;

	lbx_reader_init(&r, buf, len);
	if (lbx_read_u32le(&r, &rep->type) || lbx_read_u32le(&r, &n))
		return 0;
	if (n != 12 || rep->type < GPU_FRAMES_BIND || rep->type > GPU_FRAMES_UNBIND)
		return -EBADMSG;
	if (lbx_read_u32le(&r, &rep->buffer) || lbx_read_u32le(&r, &st) ||
	    lbx_read_u32le(&r, &rep->bytes))
		return 0;
	rep->status = (int32_t)st;
	if (rep->status > 0)
		return -EBADMSG;
	return GPU_FRAMES_REPLY;
}
