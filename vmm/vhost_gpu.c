/* SPDX-License-Identifier: MIT */
/* lbx-vmm's side of vhost-user-gpu (vhost_gpu.h). */
#include "vhost_gpu.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/virtio_gpu.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "log.h"
#include "reader.h"
#include "vhost_user.h"
#include "writer.h"

#define VU_GPU_SET_SOCKET	  33
#define VUG_GET_PROTOCOL_FEATURES 1
#define VUG_GET_DISPLAY_INFO	  3
#define VUG_FLAG_REPLY		  0x4u
/* The largest message a backend sends: an UPDATE of a whole 16384x16384 scanout. */
#define VUG_MAX_PAYLOAD (20u + 16384u * 16384u * 4u)

int vmm_vhost_gpu_init(struct vmm_vhost_gpu *g)
{
	int sv[2];

	memset(g, 0, sizeof(*g));
	g->ours = g->peer = -1;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, sv) < 0)
		return -errno;
	g->ours = sv[0];
	g->peer = sv[1];
	return 0;
}

static void reply(struct vmm_vhost_gpu *g, uint32_t request, const void *payload, uint32_t len)
{
	uint8_t msg[12 + sizeof(struct virtio_gpu_resp_display_info)];

	lbx_put_u32le(msg, request);
	lbx_put_u32le(msg + 4, VUG_FLAG_REPLY);
	lbx_put_u32le(msg + 8, len);
	memcpy(msg + 12, payload, len);
	if (write(g->ours, msg, 12 + len) != (ssize_t)(12 + len))
		lbx_warn("vhost-user gpu: cannot answer the backend's display request %u", request);
}

/* A whole request arrived (its payload, if any, was read or skipped). */
static void answer(struct vmm_vhost_gpu *g)
{
	struct virtio_gpu_resp_display_info di = { .hdr.type = VIRTIO_GPU_RESP_OK_DISPLAY_INFO };
	uint8_t none[8] = { 0 };

	switch (g->request) {
	case VUG_GET_PROTOCOL_FEATURES: reply(g, g->request, none, sizeof(none)); break;
	case VUG_GET_DISPLAY_INFO:
		/* No display: QEMU's default mode, as with -display none. */
		di.pmodes[0].r.width = 1280;
		di.pmodes[0].r.height = 800;
		di.pmodes[0].enabled = 1;
		reply(g, g->request, &di, sizeof(di));
		break;
	default: break; /* SET_PROTOCOL_FEATURES, SCANOUT, UPDATE, CURSOR_*: nothing shows them */
	}
}

/* request, flags, size: the message whose payload comes next. */
static int parse_hdr(struct vmm_vhost_gpu *g)
{
	struct lbx_reader h;
	uint32_t flags;

	lbx_reader_init(&h, g->hdr, sizeof(g->hdr));
	return lbx_read_u32le(&h, &g->request) || lbx_read_u32le(&h, &flags) ||
		       lbx_read_u32le(&h, &g->left)
		   ? -EBADMSG
		   : 0;
}

static void on_display(struct lbx_loop *loop, int fd, uint32_t events, void *data)
{
	struct vmm_vhost_gpu *g = data;
	uint8_t buf[65536];
	ssize_t n = read(fd, buf, sizeof(buf));
	struct lbx_reader r;

	if (n <= 0) {
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		lbx_loop_del(loop, fd);
		return;
	}
	lbx_reader_init(&r, buf, (size_t)n);
	while (lbx_reader_left(&r) > 0) {
		const uint8_t *p;
		size_t take;

		if (g->hdr_len < sizeof(g->hdr)) {
			take = sizeof(g->hdr) - g->hdr_len;
			take = take < lbx_reader_left(&r) ? take : lbx_reader_left(&r);
			if (lbx_read_copy(&r, g->hdr + g->hdr_len, take))
				return;
			g->hdr_len += take;
			if (g->hdr_len < sizeof(g->hdr))
				return;
			if (parse_hdr(g) < 0 || g->left > VUG_MAX_PAYLOAD) {
				lbx_warn(
				    "vhost-user gpu: a %u-byte display message; display closed",
				    g->left);
				lbx_loop_del(loop, fd);
				return;
			}
		}
		take = g->left < lbx_reader_left(&r) ? g->left : lbx_reader_left(&r);
		if (lbx_read_bytes(&r, take, &p))
			return;
		g->left -= (uint32_t)take;
		if (g->left == 0) {
			answer(g);
			g->hdr_len = 0;
		}
	}
}

int vmm_vhost_gpu_watch(struct vmm_vhost_gpu *g, struct lbx_loop *loop)
{
	return lbx_loop_add(loop, g->ours, EPOLLIN, on_display, g);
}

int vmm_vhost_gpu_activate(struct vmm_vhost_gpu *g, struct vmm_vu *vu)
{
	struct lbx_vu_msg msg = { .request = VU_GPU_SET_SOCKET, .flags = LBX_VU_VERSION };

	/* SCM_RIGHTS gives the backend its own copy; ours stays for the next activation. */
	msg.fds[0] = g->peer;
	msg.nfds = 1;
	return lbx_vu_send(vu->sock, &msg);
}

void vmm_vhost_gpu_free(struct vmm_vhost_gpu *g)
{
	if (g->ours >= 0)
		close(g->ours);
	if (g->peer >= 0)
		close(g->peer);
	g->ours = g->peer = -1;
}
