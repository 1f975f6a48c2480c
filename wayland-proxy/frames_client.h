/* SPDX-License-Identifier: MIT */
/*
 * The host half's client of lbx-gpud's frames socket
 * (backends/gpu/frames_proto.h): one connection per proxy process, shared
 * by its Wayland clients. A guest dmabuf buffer (a virtio-gpu resource)
 * becomes a memfd of ours, bound once; each commit asks for the damaged
 * rectangles to be read back into it. Requests wait for their reply (a
 * read-back of a window is a few milliseconds), at most
 * WLP_FRAMES_TIMEOUT_MS.
 */
#ifndef WLP_FRAMES_CLIENT_H
#define WLP_FRAMES_CLIENT_H

#include <stdint.h>

#include "compiler.h"
#include "frames_proto.h"

#define WLP_FRAMES_TIMEOUT_MS 5000

struct wlp_frames {
	int fd;
	uint32_t next;		/* the last buffer handle given out */
	uint64_t bytes, copies; /* read back, over every client */
};

/* Connect to lbx-gpud's frames socket; NULL with errno set. */
struct wlp_frames *wlp_frames_connect(const char *path);
void wlp_frames_free(struct wlp_frames *f);

/* A new buffer handle, never 0. */
uint32_t wlp_frames_handle(struct wlp_frames *f);
/* 0 or the device's -errno (-EPIPE: lbx-gpud is gone, -ETIMEDOUT). */
LBX_MUST_CHECK int wlp_frames_bind(struct wlp_frames *f, uint32_t buffer, uint32_t resource,
				   uint32_t width, uint32_t height, uint32_t stride, int memfd);
LBX_MUST_CHECK int wlp_frames_copy(struct wlp_frames *f, uint32_t buffer,
				   const struct gpu_frames_rect *r, uint32_t n, uint32_t *bytes);
int wlp_frames_unbind(struct wlp_frames *f, uint32_t buffer);

#endif
