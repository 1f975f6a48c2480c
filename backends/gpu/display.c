/* SPDX-License-Identifier: MIT */
/*
 * The vhost-user-gpu display socket (QEMU docs/interop/vhost-user-gpu.rst):
 * the front-end hands it over with VHOST_USER_GPU_SET_SOCKET; on it the
 * back-end asks (GET_PROTOCOL_FEATURES, GET_DISPLAY_INFO) and tells
 * (SCANOUT, UPDATE with the pixels, CURSOR_*), and the front-end replies
 * to the asking ones. Messages are a 12-byte header (u32 request, flags,
 * size; native order, little-endian here) and size bytes of payload.
 *
 * Replies are read asynchronously on the loop and parsed with the reader;
 * the display mode the front-end gives replaces the default one for the
 * next GET_DISPLAY_INFO of the guest. Writes never block the daemon for
 * long: the socket is non-blocking and a message that cannot be written
 * within DISPLAY_WRITE_MS is dropped with a log line (the front-end may be
 * waiting on us in a vhost-user request at that moment).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "clock.h"
#include "gpud.h"
#include "log.h"
#include "reader.h"
#include "writer.h"

enum {
	VUG_GET_PROTOCOL_FEATURES = 1,
	VUG_SET_PROTOCOL_FEATURES = 2,
	VUG_GET_DISPLAY_INFO = 3,
	VUG_CURSOR_POS = 4,
	VUG_CURSOR_POS_HIDE = 5,
	VUG_CURSOR_UPDATE = 6,
	VUG_SCANOUT = 7,
	VUG_UPDATE = 8,
};
#define VUG_FLAG_REPLY	  0x4u
#define VUG_HDR		  12
#define DISPLAY_WRITE_MS  2000
#define DISPLAY_REPLY_MAX 1024 /* the largest reply we ask for: display info, 408 bytes */

static uint8_t inbuf[VUG_HDR + DISPLAY_REPLY_MAX];
static size_t inlen;

/* Write all of iov within DISPLAY_WRITE_MS; 0 or -errno. */
static int write_all(int fd, struct iovec *iov, int n)
{
	uint64_t deadline = lbx_now_ms() + DISPLAY_WRITE_MS;

	while (n > 0) {
		ssize_t w = writev(fd, iov, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && errno == EAGAIN) {
			struct pollfd p = { .fd = fd, .events = POLLOUT };
			int64_t left = (int64_t)(deadline - lbx_now_ms());

			if (left <= 0 || poll(&p, 1, (int)left) <= 0)
				return -ETIMEDOUT;
			continue;
		}
		if (w < 0)
			return -errno;
		while (n > 0 && (size_t)w >= iov->iov_len) {
			w -= (ssize_t)iov->iov_len;
			iov++;
			n--;
		}
		if (n > 0) {
			iov->iov_base = (uint8_t *)iov->iov_base + w;
			iov->iov_len -= (size_t)w;
		}
	}
	return 0;
}

/* One message: fixed payload part, then optional bulk data. */
static void send_msg(struct gpud *g, uint32_t req, const uint8_t *fixed, size_t flen,
		     const void *data, size_t dlen)
{
	uint8_t hdr[VUG_HDR];
	struct iovec iov[3] = { { hdr, sizeof(hdr) },
				{ (void *)fixed, flen },
				{ (void *)data, dlen } };
	int rc;

	if (g->display_fd < 0)
		return;
	lbx_put_u32le(hdr, req);
	lbx_put_u32le(hdr + 4, 0);
	lbx_put_u32le(hdr + 8, (uint32_t)(flen + dlen));
	rc = write_all(g->display_fd, iov, dlen ? 3 : 2);
	if (rc == -ETIMEDOUT)
		lbx_warn("gpu: the display front-end took no message for %d ms; one dropped",
			 DISPLAY_WRITE_MS);
	else if (rc < 0) {
		lbx_warn("gpu: cannot write to the display front-end: %s; display off",
			 strerror(-rc));
		gpud_display_detach(g);
	}
}

/* A reply to GET_DISPLAY_INFO: the guest's next GET_DISPLAY_INFO answers with it. */
static void got_display_info(struct gpud *g, struct lbx_reader *r)
{
	struct virtio_gpu_resp_display_info d;

	if (lbx_reader_left(r) != sizeof(d) || lbx_read_copy(r, &d, sizeof(d))) {
		lbx_warn("gpu: display info from the front-end has the wrong size; ignored");
		return;
	}
	for (unsigned i = 0; i < VIRTIO_GPU_MAX_SCANOUTS; i++) {
		struct virtio_gpu_rect *rc = &d.pmodes[i].r;

		if (i >= GPUD_NUM_SCANOUTS || rc->width > GPU_MAX_DIM || rc->height > GPU_MAX_DIM)
			memset(&d.pmodes[i], 0, sizeof(d.pmodes[i]));
	}
	g->display = d;
	lbx_debug("gpu: front-end display %" PRIu32 "x%" PRIu32, d.pmodes[0].r.width,
		  d.pmodes[0].r.height);
}

static void got_reply(struct gpud *g, uint32_t req, struct lbx_reader *r)
{
	uint64_t feats;

	switch (req) {
	case VUG_GET_PROTOCOL_FEATURES:
		/* We use none of them (EDID, DMABUF2): say so, then ask for the mode. */
		if (lbx_read_u64le(r, &feats))
			lbx_warn("gpu: bad protocol features reply from the display front-end");
		{
			uint8_t zero[8] = { 0 };

			send_msg(g, VUG_SET_PROTOCOL_FEATURES, zero, sizeof(zero), NULL, 0);
			send_msg(g, VUG_GET_DISPLAY_INFO, NULL, 0, NULL, 0);
		}
		break;
	case VUG_GET_DISPLAY_INFO: got_display_info(g, r); break;
	default: break; /* DMABUF_UPDATE's unblock and the like: nothing waits for them */
	}
}

static void on_display(struct lbx_loop *loop, int fd, uint32_t events, void *data)
{
	struct gpud *g = data;
	ssize_t n = read(fd, inbuf + inlen, sizeof(inbuf) - inlen);

	if (n <= 0) {
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		lbx_info("gpu: the display front-end closed its socket");
		gpud_display_detach(g);
		return;
	}
	inlen += (size_t)n;
	for (;;) {
		struct lbx_reader r, body;
		uint32_t req, flags, size;

		lbx_reader_init(&r, inbuf, inlen);
		if (lbx_read_u32le(&r, &req) || lbx_read_u32le(&r, &flags) ||
		    lbx_read_u32le(&r, &size))
			return; /* header incomplete */
		if (size > DISPLAY_REPLY_MAX || !(flags & VUG_FLAG_REPLY)) {
			lbx_warn("gpu: unexpected message %" PRIu32 " (%" PRIu32
				 " bytes) from the display front-end; display off",
				 req, size);
			gpud_display_detach(g);
			return;
		}
		if (lbx_read_sub(&r, size, &body))
			return; /* payload incomplete */
		got_reply(g, req, &body);
		if (g->display_fd < 0)
			return;
		memmove(inbuf, inbuf + VUG_HDR + size, inlen - VUG_HDR - size);
		inlen -= VUG_HDR + size;
	}
}

int gpud_display_attach(struct gpud *g, int fd)
{
	int rc;

	gpud_display_detach(g);
	if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) < 0) {
		rc = -errno;
		close(fd);
		return rc;
	}
	rc = lbx_loop_add(g->loop, fd, EPOLLIN, on_display, g);
	if (rc < 0) {
		close(fd);
		return rc;
	}
	g->display_fd = fd;
	inlen = 0;
	send_msg(g, VUG_GET_PROTOCOL_FEATURES, NULL, 0, NULL, 0);
	return 0;
}

void gpud_display_detach(struct gpud *g)
{
	if (g->display_fd < 0)
		return;
	lbx_loop_del(g->loop, g->display_fd);
	close(g->display_fd);
	g->display_fd = -1;
	inlen = 0;
}

void gpud_display_scanout(struct gpud *g, unsigned scanout, uint32_t width, uint32_t height)
{
	uint8_t p[12];

	lbx_put_u32le(p, scanout);
	lbx_put_u32le(p + 4, width);
	lbx_put_u32le(p + 8, height);
	send_msg(g, VUG_SCANOUT, p, sizeof(p), NULL, 0);
}

void gpud_display_update(struct gpud *g, unsigned scanout, const struct virtio_gpu_rect *r,
			 const uint8_t *pixels)
{
	uint8_t p[20];

	lbx_put_u32le(p, scanout);
	lbx_put_u32le(p + 4, r->x);
	lbx_put_u32le(p + 8, r->y);
	lbx_put_u32le(p + 12, r->width);
	lbx_put_u32le(p + 16, r->height);
	send_msg(g, VUG_UPDATE, p, sizeof(p), pixels, (size_t)r->width * r->height * 4);
}

void gpud_display_cursor(struct gpud *g, const struct virtio_gpu_update_cursor *c,
			 const uint32_t *image)
{
	uint8_t p[20];

	lbx_put_u32le(p, c->pos.scanout_id);
	lbx_put_u32le(p + 4, c->pos.x);
	lbx_put_u32le(p + 8, c->pos.y);
	if (c->hdr.type == VIRTIO_GPU_CMD_MOVE_CURSOR || (!image && c->resource_id)) {
		send_msg(g, VUG_CURSOR_POS, p, 12, NULL, 0);
		return;
	}
	if (!image) {
		send_msg(g, VUG_CURSOR_POS_HIDE, p, 12, NULL, 0);
		return;
	}
	lbx_put_u32le(p + 12, c->hot_x);
	lbx_put_u32le(p + 16, c->hot_y);
	send_msg(g, VUG_CURSOR_UPDATE, p, sizeof(p), image, 64 * 64 * 4);
}
