/* SPDX-License-Identifier: MIT */
/* lbx-gpud's vhost-user device: queues, fences, config space, session life. */
#include <epoxy/gl.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>
#include <virgl/virglrenderer.h>

#include "gpud.h"
#include "log.h"

/* Room for any response: the largest is GET_CAPSET (virgl2 caps are about 1.4 KiB). */
#define RESP_MAX 65536

static const char *render_node_path;

/* ---- virglrenderer's callbacks (one renderer per process) ---- */

static void cb_write_fence(void *cookie, uint32_t fence)
{
	gpud_fence_done(cookie, fence);
}

static int cb_get_drm_fd(void *cookie)
{
	return render_node_path ? open(render_node_path, O_RDWR | O_CLOEXEC) : -1;
}

static struct virgl_renderer_callbacks virgl_cbs = {
	.version = 2,
	.write_fence = cb_write_fence,
	.get_drm_fd = cb_get_drm_fd,
};

/* ---- fences ---- */

static void push_pending(struct gpud *g, const struct gpud_pending *p)
{
	size_t n = sizeof(p->resp);

	lbx_iov_from_buf(p->wr, p->nwr, 0, &p->resp, n);
	lbx_vu_dev_push(g->dev, GPUD_CONTROLQ, p->head, (uint32_t)n);
}

void gpud_fence_done(struct gpud *g, uint32_t fence)
{
	unsigned kept = 0;

	for (unsigned i = 0; i < g->npending; i++) {
		struct gpud_pending *p = &g->pending[i];

		if ((int32_t)(fence - p->fence) >= 0) {
			push_pending(g, p);
			g->stats.fences++;
		} else {
			g->pending[kept++] = *p;
		}
	}
	if (kept != g->npending) {
		g->npending = kept;
		lbx_vu_dev_notify(g->dev, GPUD_CONTROLQ);
	}
}

static void on_fence_fd(struct lbx_loop *loop, int fd, uint32_t events, void *data)
{
	virgl_renderer_poll(); /* reads the eventfd and calls write_fence */
}

static void on_fence_timer(struct lbx_loop *loop, int fd, uint32_t events, void *data)
{
	struct gpud *g = data;
	uint64_t n;

	if (read(fd, &n, sizeof(n)) < 0) {
		/* a timerfd that did not fire: nothing to do */
	}
	if (g->npending)
		virgl_renderer_poll();
}

/* ---- chains ---- */

static void hold_fenced(struct gpud *g, const struct lbx_virtq_chain *ch, const uint8_t *resp)
{
	struct gpud_pending *p;

	if (g->npending >= GPUD_MAX_PENDING) {
		/* More in flight than the ring holds: answer now rather than lose it. */
		lbx_warn("gpu: too many fenced commands in flight; answering one early");
		virgl_renderer_poll();
	}
	if (g->npending >= GPUD_MAX_PENDING) {
		struct gpud_pending now = { .head = ch->head, .nwr = ch->nwr < 4 ? ch->nwr : 4 };

		memcpy(&now.resp, resp, sizeof(now.resp));
		memcpy(now.wr, ch->wr, now.nwr * sizeof(now.wr[0]));
		push_pending(g, &now);
		return;
	}
	p = &g->pending[g->npending++];
	p->head = ch->head;
	memcpy(&p->resp, resp, sizeof(p->resp));
	p->fence = (uint32_t)p->resp.fence_id;
	p->nwr = ch->nwr < 4 ? ch->nwr : 4;
	memcpy(p->wr, ch->wr, p->nwr * sizeof(p->wr[0]));
}

/* Gather the chain's readable part into g->reqbuf; its length, or -EMSGSIZE. */
static ssize_t gather(struct gpud *g, const struct lbx_virtq_chain *ch)
{
	size_t n = ch->rd_len;

	if (n > GPU_MAX_REQUEST)
		return -EMSGSIZE;
	if (n > g->reqbuf_size) {
		uint8_t *p = realloc(g->reqbuf, n);

		if (!p)
			return -ENOMEM;
		g->reqbuf = p;
		g->reqbuf_size = n;
	}
	return (ssize_t)lbx_iov_to_buf(ch->rd, ch->nrd, 0, g->reqbuf, n);
}

void gpud_handle_chain(struct gpud *g, unsigned qidx, const struct lbx_virtq_chain *ch)
{
	static uint8_t resp[RESP_MAX];
	struct virtio_gpu_ctrl_hdr *rh = (struct virtio_gpu_ctrl_hdr *)resp;
	struct gpu_cmd_error err;
	struct gpu_cmd cmd;
	ssize_t len = gather(g, ch);
	size_t cap = ch->wr_len < RESP_MAX ? ch->wr_len : RESP_MAX, n;
	bool fenced;

	if (len < 0 || gpu_cmd_decode(g->reqbuf, (size_t)len, &cmd, &err)) {
		struct virtio_gpu_ctrl_hdr h = { .type = len < 0 ? VIRTIO_GPU_RESP_ERR_UNSPEC
								 : err.resp };
		uint32_t type = 0;

		if (len >= 4)
			memcpy(&type, g->reqbuf, 4);
		g->stats.refused++;
		lbx_warn("gpu: command 0x%04" PRIx32 " (%s) refused: %s", type, gpu_cmd_name(type),
			 len < 0 ? "larger than 8 MiB" : err.why);
		n = lbx_iov_from_buf(ch->wr, ch->nwr, 0, &h, sizeof(h));
		lbx_vu_dev_push(g->dev, qidx, ch->head, (uint32_t)n);
		return;
	}
	if (qidx == GPUD_CURSORQ && cmd.hdr.type != VIRTIO_GPU_CMD_UPDATE_CURSOR &&
	    cmd.hdr.type != VIRTIO_GPU_CMD_MOVE_CURSOR) {
		lbx_warn("gpu: %s on the cursor queue refused", gpu_cmd_name(cmd.hdr.type));
		gpu_cmd_release(&cmd);
		lbx_vu_dev_push(g->dev, qidx, ch->head, 0);
		return;
	}
	n = gpud_exec(g, &cmd, resp, cap < sizeof(*rh) ? sizeof(*rh) : cap);
	fenced = cmd.hdr.flags & VIRTIO_GPU_FLAG_FENCE;
	if (fenced) {
		rh->flags |= VIRTIO_GPU_FLAG_FENCE;
		rh->fence_id = cmd.hdr.fence_id;
		rh->ctx_id = cmd.hdr.ctx_id;
	}
	gpu_cmd_release(&cmd);
	if (qidx == GPUD_CURSORQ) {
		lbx_vu_dev_push(g->dev, qidx, ch->head, 0);
		return;
	}
	if (fenced && n == sizeof(*rh) && !virgl_renderer_create_fence((int)rh->fence_id, 0)) {
		hold_fenced(g, ch, resp);
		return;
	}
	n = lbx_iov_from_buf(ch->wr, ch->nwr, 0, resp, n);
	lbx_vu_dev_push(g->dev, qidx, ch->head, (uint32_t)n);
}

/* ---- vhost-user ops ---- */

static void queue_kicked(struct lbx_vu_dev *dev, unsigned qidx, struct lbx_virtq *q)
{
	struct gpud *g = lbx_vu_dev_data(dev);
	int rc;

	while ((rc = lbx_virtq_pop(q, g->chain)) == 1)
		gpud_handle_chain(g, qidx, g->chain);
	lbx_vu_dev_notify(dev, qidx);
	if (g->npending)
		virgl_renderer_poll();
}

static int get_config(struct lbx_vu_dev *dev, uint32_t offset, void *buf, uint32_t len)
{
	struct gpud *g = lbx_vu_dev_data(dev);
	struct virtio_gpu_config cfg = { .num_scanouts = GPUD_NUM_SCANOUTS,
					 .num_capsets = g->num_capsets };

	memcpy(buf, (uint8_t *)&cfg + offset, len);
	return 0;
}

/* events_clear: QEMU keeps events_read itself; nothing to do here. */
static int set_config(struct lbx_vu_dev *dev, uint32_t offset, const void *buf, uint32_t len,
		      uint32_t flags)
{
	return 0;
}

static void queue_stopped(struct lbx_vu_dev *dev, unsigned qidx)
{
	struct gpud *g = lbx_vu_dev_data(dev);

	if (qidx == GPUD_CONTROLQ)
		g->npending = 0; /* their chains belong to a ring that is gone */
}

static void disconnected(struct lbx_vu_dev *dev)
{
	struct gpud *g = lbx_vu_dev_data(dev);

	gpud_reset(g);
	gpud_display_detach(g);
}

static int device_request(struct lbx_vu_dev *dev, uint32_t request, const uint8_t *payload,
			  uint32_t size, int *fds, unsigned nfds)
{
	struct gpud *g = lbx_vu_dev_data(dev);
	int fd;

	if (request != GPUD_VU_GPU_SET_SOCKET)
		return -ENOSYS;
	if (nfds != 1 || size != 0) {
		lbx_warn("gpu: GPU_SET_SOCKET without exactly one socket");
		return -EINVAL;
	}
	fd = fds[0];
	fds[0] = -1;
	return gpud_display_attach(g, fd);
}

static const struct lbx_vu_ops gpud_ops = {
	.name = "gpu",
	.num_queues = 2,
	.features = 1ull << VIRTIO_GPU_F_VIRGL,
	.config_size = sizeof(struct virtio_gpu_config),
	.queue_kicked = queue_kicked,
	.get_config = get_config,
	.set_config = set_config,
	.queue_stopped = queue_stopped,
	.disconnected = disconnected,
	.device_request = device_request,
};

/* ---- life ---- */

static void default_display(struct gpud *g)
{
	/* QEMU's default mode (xres/yres) until the front-end says otherwise. */
	memset(&g->display, 0, sizeof(g->display));
	g->display.pmodes[0].r.width = 1280;
	g->display.pmodes[0].r.height = 800;
	g->display.pmodes[0].enabled = 1;
}

static int renderer_init(struct gpud *g, const char *render_node)
{
	int flags = VIRGL_RENDERER_USE_EGL | VIRGL_RENDERER_THREAD_SYNC;
	uint32_t ver, size;

	render_node_path = render_node;
	if (!render_node)
		flags |= VIRGL_RENDERER_USE_SURFACELESS;
	/* virglrenderer refuses a NULL cookie; ours is the device. */
	if (virgl_renderer_init(g, flags, &virgl_cbs))
		return -ENODEV;
	g->virgl_ready = true;
	g->renderer = (const char *)glGetString(GL_RENDERER);
	for (uint32_t id = VIRTIO_GPU_CAPSET_VIRGL; id <= VIRTIO_GPU_CAPSET_VIRGL2; id++) {
		virgl_renderer_get_cap_set(id, &ver, &size);
		if (ver && size)
			g->num_capsets = id;
	}
	g->poll_fd = virgl_renderer_get_poll_fd();
	return 0;
}

struct gpud *gpud_new(struct lbx_loop *loop, const char *render_node)
{
	struct gpud *g = calloc(1, sizeof(*g));
	int rc;

	if (!g)
		return NULL;
	g->loop = loop;
	g->display_fd = g->poll_fd = g->fence_timer = -1;
	default_display(g);
	g->chain = malloc(sizeof(*g->chain));
	g->ctxs = calloc(GPUD_MAX_CONTEXTS, sizeof(*g->ctxs));
	g->pending = calloc(GPUD_MAX_PENDING, sizeof(*g->pending));
	g->dev = lbx_vu_dev_new(loop, &gpud_ops, g);
	if (!g->chain || !g->ctxs || !g->pending || !g->dev) {
		gpud_free(g);
		return NULL;
	}
	if (renderer_init(g, render_node) < 0) {
		lbx_err("gpu: virglrenderer could not start on %s (EGL); see the lines above",
			render_node ? render_node : "Mesa's surfaceless platform");
		gpud_free(g);
		return NULL;
	}
	if (g->poll_fd >= 0)
		rc = lbx_loop_add(loop, g->poll_fd, EPOLLIN, on_fence_fd, g);
	else
		rc = g->fence_timer = lbx_loop_add_timer(loop, 2, true, on_fence_timer, g);
	if (rc < 0) {
		gpud_free(g);
		return NULL;
	}
	return g;
}

void gpud_free(struct gpud *g)
{
	if (!g)
		return;
	if (g->dev)
		lbx_vu_dev_free(g->dev);
	gpud_display_detach(g);
	gpud_frames_free(g);
	if (g->virgl_ready) {
		gpud_reset(g);
		if (g->poll_fd >= 0)
			lbx_loop_del(g->loop, g->poll_fd);
		virgl_renderer_cleanup(g);
	}
	if (g->fence_timer >= 0)
		lbx_loop_del(g->loop, g->fence_timer);
	free(g->reqbuf);
	free(g->pixbuf);
	free(g->pending);
	free(g->ctxs);
	free(g->chain);
	free(g);
}

struct lbx_vu_dev *gpud_vu(struct gpud *g)
{
	return g->dev;
}
