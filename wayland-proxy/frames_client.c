/* SPDX-License-Identifier: MIT */
#include "frames_client.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "clock.h"
#include "unixsock.h"

struct wlp_frames *wlp_frames_connect(const char *path)
{
	struct wlp_frames *f = calloc(1, sizeof(*f));
	int fd;

	if (!f)
		return NULL;
	fd = lbx_unix_connect(path, 0);
	if (fd < 0) {
		free(f);
		errno = -fd;
		return NULL;
	}
	f->fd = fd;
	return f;
}

void wlp_frames_free(struct wlp_frames *f)
{
	if (!f)
		return;
	close(f->fd);
	free(f);
}

uint32_t wlp_frames_handle(struct wlp_frames *f)
{
	if (++f->next == 0)
		f->next = 1;
	return f->next;
}

static int send_req(struct wlp_frames *f, const uint8_t *b, size_t n, int fd)
{
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	struct iovec iov = { (void *)b, n };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };

	if (fd >= 0) {
		mh.msg_control = u.buf;
		mh.msg_controllen = sizeof(u.buf);
		struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(cm), &fd, sizeof(int));
	}
	ssize_t w;
	do
		w = sendmsg(f->fd, &mh, MSG_NOSIGNAL);
	while (w < 0 && errno == EINTR);
	return w == (ssize_t)n ? 0 : -EPIPE;
}

/* The reply to the request just sent: its status, or -EPIPE / -ETIMEDOUT. */
static int wait_reply(struct wlp_frames *f, uint32_t type, uint32_t buffer, uint32_t *bytes)
{
	uint8_t b[GPU_FRAMES_REPLY];
	size_t have = 0;
	uint64_t deadline = lbx_now_ms() + WLP_FRAMES_TIMEOUT_MS;
	struct gpu_frames_reply rep;

	while (have < sizeof(b)) {
		struct pollfd p = { .fd = f->fd, .events = POLLIN };
		int64_t left = (int64_t)(deadline - lbx_now_ms());

		if (left <= 0 || poll(&p, 1, (int)left) == 0)
			return -ETIMEDOUT;
		ssize_t r = read(f->fd, b + have, sizeof(b) - have);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -EPIPE;
		have += (size_t)r;
	}
	if (gpu_frames_decode_reply(b, sizeof(b), &rep) != GPU_FRAMES_REPLY || rep.type != type ||
	    rep.buffer != buffer)
		return -EPIPE; /* out of step: treat lbx-gpud as gone */
	if (bytes)
		*bytes = rep.bytes;
	return rep.status;
}

int wlp_frames_bind(struct wlp_frames *f, uint32_t buffer, uint32_t resource, uint32_t width,
		    uint32_t height, uint32_t stride, int memfd)
{
	uint8_t b[GPU_FRAMES_REQ_MAX];
	size_t n = gpu_frames_put_bind(b, buffer, resource, width, height, stride);

	if (send_req(f, b, n, memfd) < 0)
		return -EPIPE;
	return wait_reply(f, GPU_FRAMES_BIND, buffer, NULL);
}

int wlp_frames_copy(struct wlp_frames *f, uint32_t buffer, const struct gpu_frames_rect *r,
		    uint32_t n, uint32_t *bytes)
{
	uint8_t b[GPU_FRAMES_REQ_MAX];
	size_t len = gpu_frames_put_copy(b, buffer, r, n);
	int rc;

	*bytes = 0;
	if (send_req(f, b, len, -1) < 0)
		return -EPIPE;
	rc = wait_reply(f, GPU_FRAMES_COPY, buffer, bytes);
	if (rc == 0) {
		f->bytes += *bytes;
		f->copies++;
	}
	return rc;
}

int wlp_frames_unbind(struct wlp_frames *f, uint32_t buffer)
{
	uint8_t b[GPU_FRAMES_REQ_MAX];
	size_t n = gpu_frames_put_unbind(b, buffer);

	if (send_req(f, b, n, -1) < 0)
		return -EPIPE;
	return wait_reply(f, GPU_FRAMES_UNBIND, buffer, NULL);
}
