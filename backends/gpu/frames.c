/* SPDX-License-Identifier: MIT */
/*
 * lbx-gpud's frames socket (frames_proto.h): the host half of this box's
 * Wayland proxy binds memfds to virtio-gpu resources and asks for damaged
 * rectangles to be read back into them, with the same virglrenderer
 * read-back that RESOURCE_FLUSH uses for the display (gpu_exec.c).
 *
 * The peer is trusted no more than the guest: it is the proxy, but what
 * it asks for is driven by the box's Wayland client. Every request goes
 * through the decoder; a resource id is looked up in our own table (one
 * the guest never made is refused), every rectangle must lie inside both
 * the resource and the bound memfd, which is sealed against shrinking
 * (or checked by size) before it is mapped. One client at a time, and
 * only one of our own uid (SO_PEERCRED): the socket lives in the box's
 * runtime directory with mode 0600.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>
#include <virgl/virglrenderer.h>

#include "frames_proto.h"
#include "gpud.h"
#include "log.h"
#include "unixsock.h"

#define IN_MAX (GPU_FRAMES_REQ_MAX * 4)
/* struct virgl_box is opaque in virglrenderer.h; virtio_gpu_box has its layout (gpu_exec.c). */
#define VGBOX(b) ((struct virgl_box *)(void *)(b))
#define FDS_MAX	 8

struct frames_buf {
	uint32_t buffer, resource, width, height, stride;
	uint8_t *map;
	size_t size;
};

struct gpud_frames {
	int listen_fd, fd;
	uint8_t in[IN_MAX];
	size_t inlen;
	int fds[FDS_MAX];
	unsigned nfds;
	struct frames_buf bufs[GPU_FRAMES_MAX_BUFFERS];
	unsigned nbufs;
};

static struct gpud_frames *frames_get(struct gpud *g)
{
	if (!g->frames) {
		g->frames = calloc(1, sizeof(*g->frames));
		if (g->frames)
			g->frames->listen_fd = g->frames->fd = -1;
	}
	return g->frames;
}

static struct frames_buf *buf_find(struct gpud_frames *f, uint32_t id)
{
	for (unsigned i = 0; i < f->nbufs; i++)
		if (f->bufs[i].buffer == id)
			return &f->bufs[i];
	return NULL;
}

static void buf_drop(struct gpud_frames *f, struct frames_buf *b)
{
	munmap(b->map, b->size);
	*b = f->bufs[--f->nbufs];
}

/* Drop the client, its buffers and any fd it sent that no BIND took. */
static void client_close(struct gpud *g)
{
	struct gpud_frames *f = g->frames;

	if (!f || f->fd < 0)
		return;
	lbx_loop_del(g->loop, f->fd);
	close(f->fd);
	f->fd = -1;
	while (f->nbufs)
		buf_drop(f, &f->bufs[0]);
	for (unsigned i = 0; i < f->nfds; i++)
		close(f->fds[i]);
	f->nfds = 0;
	f->inlen = 0;
}

/* The 4-byte formats a wl_shm ARGB8888/XRGB8888 buffer can take (virgl's numbering). */
static bool format_4bpp(uint32_t fmt)
{
	switch (fmt) {
	case VIRTIO_GPU_FORMAT_B8G8R8A8_UNORM:
	case VIRTIO_GPU_FORMAT_B8G8R8X8_UNORM:
	case VIRTIO_GPU_FORMAT_A8R8G8B8_UNORM:
	case VIRTIO_GPU_FORMAT_X8R8G8B8_UNORM:
	case VIRTIO_GPU_FORMAT_R8G8B8A8_UNORM:
	case VIRTIO_GPU_FORMAT_X8B8G8R8_UNORM:
	case VIRTIO_GPU_FORMAT_A8B8G8R8_UNORM:
	case VIRTIO_GPU_FORMAT_R8G8B8X8_UNORM: return true;
	}
	return false;
}

static int do_bind(struct gpud *g, const struct gpu_frames_req *q, int fd)
{
	struct gpud_frames *f = g->frames;
	struct gpud_resource *r = gpud_res_find(g, q->resource);
	size_t size = (size_t)q->stride * q->height;
	struct stat st;
	void *map;

	if (fd < 0)
		return -EBADF;
	if (!r || r->blob || !format_4bpp(r->format) || q->width > r->width ||
	    q->height > r->height)
		return -ENOENT;
	if (buf_find(f, q->buffer))
		return -EEXIST;
	if (f->nbufs == GPU_FRAMES_MAX_BUFFERS)
		return -ENOSPC;
	/* A memfd the peer can shrink under our mapping would fault us: sealed or refused. */
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || (uint64_t)st.st_size < size ||
	    !(fcntl(fd, F_GET_SEALS) & F_SEAL_SHRINK))
		return -EINVAL;
	map = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (map == MAP_FAILED)
		return -errno;
	f->bufs[f->nbufs++] = (struct frames_buf){ q->buffer, q->resource, q->width, q->height,
						   q->stride, map,	   size };
	return 0;
}

static int do_copy(struct gpud *g, const struct gpu_frames_req *q, uint32_t *bytes)
{
	struct frames_buf *b = buf_find(g->frames, q->buffer);
	struct gpud_resource *r = b ? gpud_res_find(g, b->resource) : NULL;

	if (!b)
		return -ENOENT;
	if (!r)
		return -ESTALE; /* the guest freed the resource: the proxy unbinds */
	for (uint32_t i = 0; i < q->nrects; i++) {
		const struct gpu_frames_rect *rc = &q->rects[i];
		struct virtio_gpu_box box = { rc->x, rc->y, 0, rc->w, rc->h, 1 };
		struct iovec iov = { b->map, b->size };

		if (rc->x + rc->w > b->width || rc->y + rc->h > b->height ||
		    rc->x + rc->w > r->width || rc->y + rc->h > r->height)
			return -ERANGE;
		if (virgl_renderer_transfer_read_iov(r->id, 0, 0, b->stride, 0, VGBOX(&box),
						     (uint64_t)rc->y * b->stride + rc->x * 4u, &iov,
						     1))
			return -EIO;
		*bytes += rc->w * rc->h * 4;
	}
	g->stats.frame_copies++;
	g->stats.frame_bytes += *bytes;
	return 0;
}

static void reply(struct gpud *g, const struct gpu_frames_req *q, int status, uint32_t bytes)
{
	uint8_t out[GPU_FRAMES_REPLY];
	size_t n = gpu_frames_put_reply(out, q->type, q->buffer, status, bytes);

	/* Replies are small and the proxy reads them at once: a full socket is its fault. */
	if (send(g->frames->fd, out, n, MSG_NOSIGNAL | MSG_DONTWAIT) != (ssize_t)n) {
		lbx_warn("gpu: the frames client does not read its replies; disconnected");
		client_close(g);
	}
}

static int handle(struct gpud *g, const struct gpu_frames_req *q)
{
	struct gpud_frames *f = g->frames;
	struct frames_buf *b;
	uint32_t bytes = 0;
	int st = 0, fd = -1;

	switch (q->type) {
	case GPU_FRAMES_BIND:
		if (f->nfds) {
			fd = f->fds[0];
			memmove(f->fds, f->fds + 1, --f->nfds * sizeof(int));
		}
		st = do_bind(g, q, fd);
		if (fd >= 0)
			close(fd);
		break;
	case GPU_FRAMES_COPY: st = do_copy(g, q, &bytes); break;
	case GPU_FRAMES_UNBIND:
		b = buf_find(f, q->buffer);
		if (b)
			buf_drop(f, b);
		else
			st = -ENOENT;
		break;
	}
	if (st < 0)
		lbx_debug("gpu: frames request %" PRIu32 " for buffer %" PRIu32 " refused: %s",
			  q->type, q->buffer, strerror(-st));
	reply(g, q, st, bytes);
	return g->frames->fd < 0 ? -EPIPE : 0;
}

/* recvmsg with the fds kept in order; the bytes appended to f->in. */
static ssize_t client_read(struct gpud_frames *f)
{
	union {
		char buf[CMSG_SPACE(sizeof(int) * FDS_MAX)];
		struct cmsghdr align;
	} u;
	struct iovec iov = { f->in + f->inlen, sizeof(f->in) - f->inlen };
	struct msghdr mh = { .msg_iov = &iov,
			     .msg_iovlen = 1,
			     .msg_control = u.buf,
			     .msg_controllen = sizeof(u.buf) };
	ssize_t n = recvmsg(f->fd, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);

	if (n < 0)
		return errno == EAGAIN || errno == EINTR ? 0 : -errno;
	for (struct cmsghdr *cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm)) {
		size_t k = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);

		if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
			continue;
		for (size_t i = 0; i < k; i++) {
			int fd;

			memcpy(&fd, CMSG_DATA(cm) + i * sizeof(int), sizeof(int));
			if (f->nfds < FDS_MAX)
				f->fds[f->nfds++] = fd;
			else
				close(fd);
		}
	}
	if (mh.msg_flags & MSG_CTRUNC)
		return -EMFILE;
	if (n == 0)
		return -EPIPE;
	f->inlen += (size_t)n;
	return n;
}

static void on_client(struct lbx_loop *loop, int fd, uint32_t events, void *data)
{
	struct gpud *g = data;
	struct gpud_frames *f = g->frames;
	struct gpu_frames_req q;
	size_t off = 0;
	ssize_t n = client_read(f);
	int used;

	if (n < 0) {
		if (n != -EPIPE)
			lbx_warn("gpu: frames client: %s; disconnected", strerror((int)-n));
		client_close(g);
		return;
	}
	while ((used = gpu_frames_decode(f->in + off, f->inlen - off, &q)) > 0) {
		off += (size_t)used;
		if (handle(g, &q) < 0)
			return;
	}
	if (used < 0 || f->nfds > 1) {
		lbx_warn("gpu: the frames client sent a malformed request; disconnected");
		client_close(g);
		return;
	}
	memmove(f->in, f->in + off, f->inlen - off);
	f->inlen -= off;
}

int gpud_frames_attach(struct gpud *g, int fd)
{
	struct gpud_frames *f = frames_get(g);
	int rc;

	if (!f) {
		close(fd);
		return -ENOMEM;
	}
	if (f->fd >= 0) {
		lbx_warn("gpu: a second frames client refused (one proxy per box)");
		close(fd);
		return -EBUSY;
	}
	rc = lbx_loop_add(g->loop, fd, EPOLLIN, on_client, g);
	if (rc < 0) {
		close(fd);
		return rc;
	}
	f->fd = fd;
	return 0;
}

static void on_accept(struct lbx_loop *loop, int lfd, uint32_t events, void *data)
{
	struct gpud *g = data;
	struct ucred cr;
	socklen_t len = sizeof(cr);
	int fd = lbx_loop_accept(loop, lfd, SOCK_CLOEXEC | SOCK_NONBLOCK, "frames socket");

	if (fd < 0)
		return;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) < 0 || cr.uid != geteuid()) {
		lbx_warn("gpu: frames client of uid %u refused (only the box's own proxy)",
			 (unsigned)cr.uid);
		close(fd);
		return;
	}
	if (gpud_frames_attach(g, fd) < 0)
		return; /* said why */
}

int gpud_frames_listen(struct gpud *g, const char *path)
{
	struct gpud_frames *f = frames_get(g);
	int rc;

	if (!f)
		return -ENOMEM;
	rc = lbx_unix_listen(path, 2, LBX_UNIX_NONBLOCK);
	if (rc < 0)
		return rc;
	f->listen_fd = rc;
	rc = lbx_loop_add(g->loop, f->listen_fd, EPOLLIN, on_accept, g);
	if (rc < 0) {
		close(f->listen_fd);
		f->listen_fd = -1;
	}
	return rc;
}

void gpud_frames_free(struct gpud *g)
{
	struct gpud_frames *f = g->frames;

	if (!f)
		return;
	client_close(g);
	if (f->listen_fd >= 0) {
		lbx_loop_del(g->loop, f->listen_fd);
		close(f->listen_fd);
	}
	free(f);
	g->frames = NULL;
}
