/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for the frames socket's decoder (frames_proto.c): the
 * input is a stream of requests as the Wayland proxy's host half would
 * send them. Beyond "no crash", a decoded request keeps the decoder's
 * promises: its length inside the input, sizes in range, no rectangle
 * wrapping or empty, a BIND's stride room for its width.
 */
#include <stdint.h>
#include <stdlib.h>

#include "frames_proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(const struct gpu_frames_req *q)
{
	if (q->buffer == 0)
		abort();
	if (q->type == GPU_FRAMES_BIND &&
	    (q->resource == 0 || q->width == 0 || q->height == 0 || q->width > GPU_FRAMES_MAX_DIM ||
	     q->height > GPU_FRAMES_MAX_DIM || (uint64_t)q->stride < (uint64_t)q->width * 4))
		abort();
	if (q->type == GPU_FRAMES_COPY) {
		if (q->nrects == 0 || q->nrects > GPU_FRAMES_MAX_RECTS)
			abort();
		for (uint32_t i = 0; i < q->nrects; i++) {
			const struct gpu_frames_rect *r = &q->rects[i];

			if (r->w == 0 || r->h == 0 || (uint64_t)r->x + r->w > GPU_FRAMES_MAX_DIM ||
			    (uint64_t)r->y + r->h > GPU_FRAMES_MAX_DIM)
				abort();
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t off = 0;
	struct gpu_frames_req q;
	struct gpu_frames_reply rep;
	int n;

	while ((n = gpu_frames_decode(data + off, size - off, &q)) > 0) {
		if ((size_t)n > size - off)
			abort();
		check(&q);
		off += (size_t)n;
	}
	n = gpu_frames_decode_reply(data, size, &rep);
	if (n > 0 && ((size_t)n > size || rep.status > 0))
		abort();
	return 0;
}
