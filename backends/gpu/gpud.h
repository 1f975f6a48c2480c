/* SPDX-License-Identifier: MIT */
/*
 * lbx-gpud: a vhost-user-gpu device (virtio 1.2 §5.7, device id 16) whose
 * renderer is virglrenderer, for QEMU's vhost-user-gpu front-end (and
 * lbx-vmm's, vmm/vhost_gpu.c).
 *
 *   controlq (0)  commands decoded by gpu_cmd.c, executed by gpu_exec.c;
 *                 fenced ones answered when virglrenderer signals the fence
 *   cursorq (1)   UPDATE_CURSOR / MOVE_CURSOR, passed to the display
 *
 * Every guest context is one virgl context (CTX_CREATE), every guest
 * resource one virgl resource; 2D resources are virgl textures too. The
 * scanout's pixels reach the front-end over the vhost-user-gpu display
 * socket (QEMU docs/interop/vhost-user-gpu.rst, display.c): read back from
 * the renderer for the damaged rectangle only, and sent as
 * VHOST_USER_GPU_UPDATE.
 *
 * Resources and contexts are tracked here as well as in virglrenderer, so
 * that an id the guest never created is refused before the renderer sees
 * it, and so that backing memory (iovecs into guest RAM) stays ours.
 */
#ifndef LBX_GPUD_H
#define LBX_GPUD_H

#include <linux/virtio_gpu.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include "evloop.h"
#include "gpu_cmd.h"
#include "vhost_user_backend.h"
#include "virtq.h"

enum gpud_queue { GPUD_CONTROLQ = 0, GPUD_CURSORQ = 1 };

#define GPUD_NUM_SCANOUTS  1
#define GPUD_MAX_RESOURCES 65536
#define GPUD_MAX_CONTEXTS  1024
#define GPUD_RES_BUCKETS   4096
#define GPUD_MAX_PENDING   1024 /* fenced commands waiting for their fence */
/* vhost-user-gpu's own front-end request: the display socket (vhost-user.rst). */
#define GPUD_VU_GPU_SET_SOCKET 33

struct gpud_resource {
	struct gpud_resource *next; /* hash chain */
	uint32_t id;
	uint32_t width, height, format; /* format: VIRTIO_GPU_FORMAT_* or virgl's */
	bool is_2d;
	bool blob;
	struct iovec *iov; /* backing, host pointers into guest RAM; NULL: none */
	unsigned niov;
	uint64_t backing_len;
};

struct gpud_scanout {
	uint32_t resource_id; /* 0: disabled */
	struct virtio_gpu_rect r;
};

/* A fenced command waiting for virglrenderer's fence. */
struct gpud_pending {
	uint16_t head;
	uint32_t fence; /* low 32 bits of fence_id, as virglrenderer 0.10 takes it */
	struct virtio_gpu_ctrl_hdr resp;
	struct iovec wr[4];
	unsigned nwr;
};

struct gpud_stats {
	uint64_t commands, refused, fences, updates, update_bytes;
	uint64_t frame_copies, frame_bytes; /* the frames socket's read-backs */
};

struct gpud_frames;

struct gpud {
	struct lbx_loop *loop;
	struct lbx_vu_dev *dev;
	bool virgl_ready;
	const char *renderer; /* GL_RENDERER of the host context, for the start-up line */
	uint32_t num_capsets;
	struct gpud_resource *res[GPUD_RES_BUCKETS];
	unsigned nres;
	uint32_t *ctxs; /* live context ids */
	unsigned nctx;
	struct gpud_scanout scanouts[GPUD_NUM_SCANOUTS];
	struct virtio_gpu_resp_display_info display; /* what the front-end says */
	int display_fd;				     /* vhost-user-gpu display socket, -1: none */
	uint8_t *reqbuf;			     /* one request, gathered from its chain */
	size_t reqbuf_size;
	uint8_t *pixbuf; /* read-back of a damaged rectangle */
	size_t pixbuf_size;
	struct gpud_pending *pending;
	unsigned npending;
	int poll_fd; /* virglrenderer's fence eventfd (THREAD_SYNC), -1: poll by timer */
	int fence_timer;
	struct lbx_virtq_chain *chain;
	struct gpud_stats stats;
	/* Called after a scanout got new pixels (x, y, w, h within the scanout); for the proxy. */
	void (*on_update)(struct gpud *g, unsigned scanout, const struct virtio_gpu_rect *r,
			  const uint8_t *pixels, void *data);
	void *on_update_data;
	struct gpud_frames *frames; /* frames.c; NULL until used */
};

/* gpud.c: the vhost-user device. Initialises virglrenderer (EGL, surfaceless if no node). */
struct gpud *gpud_new(struct lbx_loop *loop, const char *render_node);
void gpud_free(struct gpud *g);
struct lbx_vu_dev *gpud_vu(struct gpud *g);

/* gpu_exec.c: run one decoded command; fills resp, returns its length (>= 24). */
size_t gpud_exec(struct gpud *g, const struct gpu_cmd *c, uint8_t *resp, size_t resp_cap);
/* One control or cursor chain, from pop to push (exposed for tests). */
void gpud_handle_chain(struct gpud *g, unsigned qidx, const struct lbx_virtq_chain *ch);
void gpud_reset(struct gpud *g);
struct gpud_resource *gpud_res_find(struct gpud *g, uint32_t id);
/* Answer fenced commands whose fence has passed. */
void gpud_fence_done(struct gpud *g, uint32_t fence);

/* display.c: the vhost-user-gpu display socket. */
int gpud_display_attach(struct gpud *g, int fd);
void gpud_display_detach(struct gpud *g);
void gpud_display_scanout(struct gpud *g, unsigned scanout, uint32_t width, uint32_t height);
void gpud_display_update(struct gpud *g, unsigned scanout, const struct virtio_gpu_rect *r,
			 const uint8_t *pixels);
void gpud_display_cursor(struct gpud *g, const struct virtio_gpu_update_cursor *c,
			 const uint32_t *image);

/*
 * frames.c: the frames socket for the Wayland proxy's host half
 * (frames_proto.h). listen: at path (mode 0600, peers of our uid only);
 * attach: an already connected client (tests). free: both, and its buffers.
 */
LBX_MUST_CHECK int gpud_frames_listen(struct gpud *g, const char *path);
LBX_MUST_CHECK int gpud_frames_attach(struct gpud *g, int fd);
void gpud_frames_free(struct gpud *g);

#endif
