/* SPDX-License-Identifier: MIT */
/*
 * The frames socket: how the host half of the Wayland proxy
 * (lbx-wayland-proxy) gets a box window's pixels out of lbx-gpud when the
 * guest client drew them with virgl into a virtio-gpu resource (a
 * linux-dmabuf buffer in the guest). One socket per box, in the box's
 * runtime directory (mode 0600, the owner's uid checked on accept). The
 * proxy owns the memory: it gives lbx-gpud a memfd per buffer once, then
 * asks for the damaged rectangles of each frame to be read back into it.
 *
 * Little-endian, a request is
 *
 *   u32 type, u32 payload length, payload
 *
 *   BIND    u32 buffer, u32 resource, u32 width, u32 height, u32 stride,
 *           with one fd (SCM_RIGHTS): a memfd of at least stride * height
 *           bytes that becomes the proxy's wl_shm pool for that buffer
 *   COPY    u32 buffer, u32 nrects (1..GPU_FRAMES_MAX_RECTS), then
 *           nrects * (u32 x, u32 y, u32 w, u32 h): read these rectangles
 *           of the resource back into the memfd, 4 bytes a pixel (the
 *           resource's B8G8R8A8/X8 bytes: wl_shm ARGB8888/XRGB8888), at
 *           y * stride + x * 4
 *   UNBIND  u32 buffer
 *
 * and every request is answered, in order, with
 *
 *   u32 type (the request's), u32 12, u32 buffer, i32 status (0 or
 *   -errno), u32 bytes copied
 *
 * Both ends parse with common/reader.h; the decoder below is the only
 * parser of requests and is fuzzed (tests/fuzz_frames.c).
 */
#ifndef LBX_GPU_FRAMES_PROTO_H
#define LBX_GPU_FRAMES_PROTO_H

#include <stddef.h>
#include <stdint.h>

#include "compiler.h"

enum gpu_frames_type { GPU_FRAMES_BIND = 1, GPU_FRAMES_COPY = 2, GPU_FRAMES_UNBIND = 3 };

#define GPU_FRAMES_HDR	     8
#define GPU_FRAMES_MAX_RECTS 64
#define GPU_FRAMES_REQ_MAX   (GPU_FRAMES_HDR + 8 + 16 * GPU_FRAMES_MAX_RECTS)
#define GPU_FRAMES_REPLY     20
/* Buffers one client may bind at once (a window has two or three). */
#define GPU_FRAMES_MAX_BUFFERS 64
#define GPU_FRAMES_MAX_DIM     16384u

struct gpu_frames_rect {
	uint32_t x, y, w, h;
};

struct gpu_frames_req {
	uint32_t type;
	uint32_t buffer;			  /* the client's name for it, never 0 */
	uint32_t resource, width, height, stride; /* BIND */
	uint32_t nrects;			  /* COPY */
	struct gpu_frames_rect rects[GPU_FRAMES_MAX_RECTS];
};

/*
 * One request at the start of buf: its length (> 0), 0 if the whole request
 * is not there yet, -EBADMSG if it is malformed (unknown type, a length
 * that does not match, buffer 0, sizes out of 1..GPU_FRAMES_MAX_DIM, a
 * stride below width * 4, an empty or wrapping rectangle, too many).
 */
LBX_MUST_CHECK int gpu_frames_decode(const uint8_t *buf, size_t len, struct gpu_frames_req *req);

/* Requests and replies into out (GPU_FRAMES_REQ_MAX bytes); their length. */
size_t gpu_frames_put_bind(uint8_t *out, uint32_t buffer, uint32_t resource, uint32_t width,
			   uint32_t height, uint32_t stride);
size_t gpu_frames_put_copy(uint8_t *out, uint32_t buffer, const struct gpu_frames_rect *r,
			   uint32_t n);
size_t gpu_frames_put_unbind(uint8_t *out, uint32_t buffer);
size_t gpu_frames_put_reply(uint8_t *out, uint32_t type, uint32_t buffer, int32_t status,
			    uint32_t bytes);

struct gpu_frames_reply {
	uint32_t type, buffer;
	int32_t status;
	uint32_t bytes;
};

/* A reply at the start of buf: GPU_FRAMES_REPLY, 0 if incomplete, -EBADMSG. */
LBX_MUST_CHECK int gpu_frames_decode_reply(const uint8_t *buf, size_t len,
					   struct gpu_frames_reply *rep);

#endif
