/* SPDX-License-Identifier: MIT */
/* The frames socket's decoder (frames_proto.h): what it takes and what it refuses. */
#include <errno.h>
#include <string.h>

#include "frames_proto.h"
#include "tap.h"
#include "writer.h"

static uint8_t b[GPU_FRAMES_REQ_MAX + 64];

static int dec(size_t n, struct gpu_frames_req *q)
{
	return gpu_frames_decode(b, n, q);
}

int main(void)
{
	struct gpu_frames_req q;
	struct gpu_frames_rect r[GPU_FRAMES_MAX_RECTS + 1];
	struct gpu_frames_reply rep;
	size_t n;

	n = gpu_frames_put_bind(b, 7, 3, 64, 32, 256);
	is_int(dec(n, &q), (int)n, "BIND decodes whole");
	ok(q.type == GPU_FRAMES_BIND && q.buffer == 7 && q.resource == 3 && q.width == 64 &&
	       q.height == 32 && q.stride == 256,
	   "with its fields");
	is_int(dec(n - 1, &q), 0, "a partial BIND waits for more");
	is_int(dec(4, &q), 0, "so does a partial header");
	n = gpu_frames_put_bind(b, 7, 3, 64, 32, 255);
	is_int(dec(n, &q), -EBADMSG, "a stride below width * 4 is refused");
	n = gpu_frames_put_bind(b, 0, 3, 64, 32, 256);
	is_int(dec(n, &q), -EBADMSG, "buffer 0 is refused");
	n = gpu_frames_put_bind(b, 1, 0, 64, 32, 256);
	is_int(dec(n, &q), -EBADMSG, "resource 0 is refused");
	n = gpu_frames_put_bind(b, 1, 3, 0, 32, 256);
	is_int(dec(n, &q), -EBADMSG, "width 0 is refused");
	n = gpu_frames_put_bind(b, 1, 3, 64, GPU_FRAMES_MAX_DIM + 1, 256);
	is_int(dec(n, &q), -EBADMSG, "a height over the limit is refused");
	n = gpu_frames_put_bind(b, 1, 3, 0x40000001u, 1, 4);
	is_int(dec(n, &q), -EBADMSG, "a width whose * 4 wraps is refused");

	for (unsigned i = 0; i <= GPU_FRAMES_MAX_RECTS; i++)
		r[i] = (struct gpu_frames_rect){ i, 2 * i, 3, 4 };
	n = gpu_frames_put_copy(b, 9, r, 2);
	is_int(dec(n, &q), (int)n, "COPY of two rectangles decodes");
	ok(q.type == GPU_FRAMES_COPY && q.buffer == 9 && q.nrects == 2 && q.rects[1].x == 1 &&
	       q.rects[1].y == 2 && q.rects[1].w == 3 && q.rects[1].h == 4,
	   "with its rectangles");
	n = gpu_frames_put_copy(b, 9, r, GPU_FRAMES_MAX_RECTS);
	is_int(dec(n, &q), (int)n, "COPY of the most rectangles decodes");
	lbx_put_u32le(b + 12, GPU_FRAMES_MAX_RECTS + 1);
	is_int(dec(n, &q), -EBADMSG, "a count over the most is refused");
	n = gpu_frames_put_copy(b, 9, r, 1);
	lbx_put_u32le(b + 4, 8);
	lbx_put_u32le(b + 12, 0);
	is_int(dec(n - 16, &q), -EBADMSG, "no rectangle is refused");
	r[0] = (struct gpu_frames_rect){ 0xfffffff0u, 0, 0x20, 1 };
	n = gpu_frames_put_copy(b, 9, r, 1);
	is_int(dec(n, &q), -EBADMSG, "a wrapping rectangle is refused");
	r[0] = (struct gpu_frames_rect){ 0, 0, 0, 1 };
	n = gpu_frames_put_copy(b, 9, r, 1);
	is_int(dec(n, &q), -EBADMSG, "an empty rectangle is refused");
	n = gpu_frames_put_copy(b, 9, r, 1);
	lbx_put_u32le(b + 4, 8 + 16 + 4); /* says 4 bytes more than a rectangle */
	memset(b + n, 0, 4);
	is_int(dec(n + 4, &q), -EBADMSG, "trailing bytes are refused");

	n = gpu_frames_put_unbind(b, 5);
	is_int(dec(n, &q), (int)n, "UNBIND decodes");
	lbx_put_u32le(b, 4);
	is_int(dec(n, &q), -EBADMSG, "an unknown type is refused");
	lbx_put_u32le(b, GPU_FRAMES_UNBIND);
	lbx_put_u32le(b + 4, 0x7fffffffu);
	is_int(dec(n, &q), -EBADMSG, "a length over the largest request is refused at once");

	n = gpu_frames_put_reply(b, GPU_FRAMES_COPY, 9, -ENOENT, 0);
	is_int(gpu_frames_decode_reply(b, n, &rep), GPU_FRAMES_REPLY, "a reply decodes");
	ok(rep.type == GPU_FRAMES_COPY && rep.buffer == 9 && rep.status == -ENOENT,
	   "with its status");
	is_int(gpu_frames_decode_reply(b, n - 1, &rep), 0, "a partial reply waits");
	lbx_put_u32le(b + 4, 13);
	is_int(gpu_frames_decode_reply(b, n, &rep), -EBADMSG,
	       "a reply of the wrong size is refused");
	return tap_done();
}
