/* SPDX-License-Identifier: MIT */
/*
 * lbx-gpud as a device model: the test is the vhost-user front-end
 * (tests/unit/virtio/vfrontend.h), the guest's virtio-gpu driver (virtio
 * 1.2 §5.7; vdriver.h) and QEMU's side of the vhost-user-gpu display
 * socket (docs/interop/vhost-user-gpu.rst), with guest RAM in a memfd.
 * The device runs on an lbx_loop in this process that every step pumps,
 * and renders with virglrenderer on Mesa's surfaceless EGL (llvmpipe).
 *
 * Requests are built here by hand from the spec's layout, not with the
 * device's decoder. Valid commands must do what the spec says (pixels
 * pushed by TRANSFER_TO_HOST_2D come back to the display on
 * RESOURCE_FLUSH, for the damaged rectangle only; a 3D buffer written and
 * read back holds the guest's bytes; fences answer); malformed ones must
 * be refused with the right VIRTIO_GPU_RESP_ERR_* while the device goes
 * on answering. The frames socket (frames.c) is driven as the Wayland
 * proxy's host half would: a memfd bound to a resource gets exactly the
 * damaged rectangles read back into it, and bad ids, sizes and memfds are
 * refused.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>
#include <virgl/virglrenderer.h>

#include "frames_proto.h"
#include "gpud.h"
#include "gpud_sandbox.h"
#include "log.h"
#include "tap.h"
#include "vdriver.h"
#include "vfrontend.h"

#define MEM_SIZE (32u << 20)
#define QSIZE	 64
#define REQ_BUF	 0x100000u /* request, then response 64 KiB later */
#define RESP_BUF 0x110000u
#define PIX_BUF	 0x200000u /* a 2D resource's backing */
#define BUF3D	 0x400000u /* a 3D buffer's backing */
#define W	 64
#define H	 64

struct t {
	struct vfe fe;
	struct vfe_vq q[2];
	struct gpud *g;
	int disp;      /* our end of the display socket */
	int disp_peer; /* the device's end, until GPU_SET_SOCKET hands it over */
	uint8_t req[8192];
	size_t len;
};

/* ---- requests by the spec's layout ---- */

static void put32(struct t *t, uint32_t v)
{
	lbx_put_u32le(t->req + t->len, v);
	t->len += 4;
}

static void put64(struct t *t, uint64_t v)
{
	lbx_put_u64le(t->req + t->len, v);
	t->len += 8;
}

static void hdr(struct t *t, uint32_t type, uint32_t flags, uint64_t fence, uint32_t ctx)
{
	t->len = 0;
	put32(t, type);
	put32(t, flags);
	put64(t, fence);
	put32(t, ctx);
	put32(t, 0);
}

/* Send t->req on queue qi with a wr buffer of resp_cap; returns the used len, -1: none. */
static int64_t send_cmd(struct t *t, unsigned qi, uint32_t resp_cap)
{
	struct vdrv *d = &t->q[qi].d;
	uint32_t id, used;
	int tries = 0;

	memcpy(t->fe.mem + REQ_BUF, t->req, t->len);
	memset(t->fe.mem + RESP_BUF, 0xee, 64);
	if (resp_cap) {
		vd_desc(d, 0, REQ_BUF, (uint32_t)t->len, VD_F_NEXT, 1);
		vd_desc(d, 1, RESP_BUF, resp_cap, VD_F_WRITE, 0);
	} else {
		vd_desc(d, 0, REQ_BUF, (uint32_t)t->len, 0, 0);
	}
	vd_publish(d, 0);
	vfe_kick(&t->fe, &t->q[qi]);
	/* A fenced command answers when the renderer's fence thread says so. */
	while (!vd_get_used(d, &id, &used)) {
		struct pollfd p = { .fd = t->g->poll_fd, .events = POLLIN };

		if (++tries > 200)
			return -1;
		poll(&p, t->g->poll_fd >= 0 ? 1 : 0, 50);
		vfe_pump(&t->fe);
	}
	vfe_drain(t->q[qi].call);
	return used;
}

static uint32_t resp_type(struct t *t)
{
	return vd_get32(t->fe.mem + RESP_BUF);
}

/* Send and return the response type (0 if none came). */
static uint32_t cmd(struct t *t)
{
	return send_cmd(t, GPUD_CONTROLQ, 4096) >= 24 ? resp_type(t) : 0;
}

static uint32_t create_2d(struct t *t, uint32_t id, uint32_t w, uint32_t h)
{
	hdr(t, VIRTIO_GPU_CMD_RESOURCE_CREATE_2D, 0, 0, 0);
	put32(t, id);
	put32(t, VIRTIO_GPU_FORMAT_B8G8R8X8_UNORM);
	put32(t, w);
	put32(t, h);
	return cmd(t);
}

static uint32_t attach(struct t *t, uint32_t id, unsigned n, const uint64_t *addr,
		       const uint32_t *len)
{
	hdr(t, VIRTIO_GPU_CMD_RESOURCE_ATTACH_BACKING, 0, 0, 0);
	put32(t, id);
	put32(t, n);
	for (unsigned i = 0; i < n; i++) {
		put64(t, addr[i]);
		put32(t, len[i]);
		put32(t, 0);
	}
	return cmd(t);
}

static void rect(struct t *t, uint32_t x, uint32_t y, uint32_t w, uint32_t h)
{
	put32(t, x);
	put32(t, y);
	put32(t, w);
	put32(t, h);
}

static uint32_t t2d(struct t *t, uint32_t id, uint32_t x, uint32_t y, uint32_t w, uint32_t h,
		    uint64_t offset)
{
	hdr(t, VIRTIO_GPU_CMD_TRANSFER_TO_HOST_2D, 0, 0, 0);
	rect(t, x, y, w, h);
	put64(t, offset);
	put32(t, id);
	put32(t, 0);
	return cmd(t);
}

static uint32_t flush(struct t *t, uint32_t id, uint32_t x, uint32_t y, uint32_t w, uint32_t h)
{
	hdr(t, VIRTIO_GPU_CMD_RESOURCE_FLUSH, 0, 0, 0);
	rect(t, x, y, w, h);
	put32(t, id);
	put32(t, 0);
	return cmd(t);
}

/* ---- the display front-end ---- */

/* One message from the device on the display socket: its request, payload size; -1: none. */
static int disp_read(struct t *t, uint32_t *req, uint8_t *payload, size_t cap)
{
	uint8_t h[12];
	uint32_t size;
	size_t got = 0;

	vfe_pump(&t->fe);
	if (!vfe_readable(t->disp) || recv(t->disp, h, 12, MSG_WAITALL) != 12)
		return -1;
	*req = vd_get32(h);
	size = vd_get32(h + 8);
	while (got < size) {
		uint8_t sink[4096];
		size_t want = size - got;
		ssize_t n;

		if (got < cap)
			n = recv(t->disp, payload + got, want < cap - got ? want : cap - got,
				 MSG_WAITALL);
		else
			n = recv(t->disp, sink, want < sizeof(sink) ? want : sizeof(sink),
				 MSG_WAITALL);
		if (n <= 0)
			return -1;
		got += (size_t)n;
	}
	return (int)size;
}

static void disp_reply(struct t *t, uint32_t req, const void *payload, uint32_t size)
{
	uint8_t h[12];

	lbx_put_u32le(h, req);
	lbx_put_u32le(h + 4, 0x4);
	lbx_put_u32le(h + 8, size);
	if (write(t->disp, h, 12) != 12 || (size && write(t->disp, payload, size) != size))
		ok(0, "display reply written");
	vfe_pump(&t->fe);
}

static void drain_display(struct t *t)
{
	static uint8_t sink[W * H * 4 + 64];
	uint32_t req;

	while (disp_read(t, &req, sink, sizeof(sink)) >= 0)
		;
}

/* ---- tests ---- */

static void test_setup(struct t *t)
{
	uint64_t feats = vfe_handshake(&t->fe);
	uint8_t cfg[16] = { 0 };
	struct lbx_vu_msg m = { .request = GPUD_VU_GPU_SET_SOCKET, .flags = LBX_VU_VERSION };
	uint32_t req;
	uint8_t p[512];
	struct virtio_gpu_resp_display_info di = { 0 };
	uint64_t zero = 0;

	ok(feats & (1ull << VIRTIO_GPU_F_VIRGL), "VIRTIO_GPU_F_VIRGL offered and acked");
	ok(vfe_get_config(&t->fe, 0, cfg, 16) == 0 && vd_get32(cfg + 8) == 1 &&
	       vd_get32(cfg + 12) >= 1,
	   "config: 1 scanout, at least one capset (%u)", vd_get32(cfg + 12));
	for (unsigned i = 0; i < 2; i++)
		ok(vfe_vq_start(&t->fe, &t->q[i]) == 0, "queue %u started", i);
	/* VHOST_USER_GPU_SET_SOCKET, as QEMU's vhost-user-gpu sends it at DRIVER_OK. */
	m.fds[0] = t->disp_peer;
	m.nfds = 1;
	ok(lbx_vu_send(t->fe.sock, &m) == 0, "GPU_SET_SOCKET sent");
	close(t->disp_peer);
	ok(disp_read(t, &req, p, sizeof(p)) == 0 && req == 1,
	   "the device asks the display for its protocol features");
	disp_reply(t, 1, &zero, 8);
	ok(disp_read(t, &req, p, sizeof(p)) == 8 && req == 2, "then sets them (none)");
	ok(disp_read(t, &req, p, sizeof(p)) == 0 && req == 3, "then asks for the display mode");
	di.hdr.type = VIRTIO_GPU_RESP_OK_DISPLAY_INFO;
	di.pmodes[0].r.width = 1024;
	di.pmodes[0].r.height = 768;
	di.pmodes[0].enabled = 1;
	disp_reply(t, 3, &di, sizeof(di));
}

static void test_display_info(struct t *t)
{
	hdr(t, VIRTIO_GPU_CMD_GET_DISPLAY_INFO, 0, 0, 0);
	is_int(cmd(t), VIRTIO_GPU_RESP_OK_DISPLAY_INFO, "GET_DISPLAY_INFO answered");
	ok(vd_get32(t->fe.mem + RESP_BUF + 24 + 8) == 1024 &&
	       vd_get32(t->fe.mem + RESP_BUF + 24 + 12) == 768 &&
	       vd_get32(t->fe.mem + RESP_BUF + 24 + 16) == 1,
	   "with the display front-end's mode, 1024x768, enabled");
}

static void test_capsets(struct t *t)
{
	uint32_t ver, size;

	hdr(t, VIRTIO_GPU_CMD_GET_CAPSET_INFO, 0, 0, 0);
	put32(t, 0);
	put32(t, 0);
	is_int(cmd(t), VIRTIO_GPU_RESP_OK_CAPSET_INFO, "GET_CAPSET_INFO 0 answered");
	ver = vd_get32(t->fe.mem + RESP_BUF + 28);
	size = vd_get32(t->fe.mem + RESP_BUF + 32);
	ok(vd_get32(t->fe.mem + RESP_BUF + 24) == VIRTIO_GPU_CAPSET_VIRGL && ver >= 1 && size > 0,
	   "capset 0 is VIRGL, version %u, %u bytes", ver, size);
	hdr(t, VIRTIO_GPU_CMD_GET_CAPSET, 0, 0, 0);
	put32(t, VIRTIO_GPU_CAPSET_VIRGL);
	put32(t, ver);
	ok(send_cmd(t, GPUD_CONTROLQ, 4096) == 24 + size &&
	       resp_type(t) == VIRTIO_GPU_RESP_OK_CAPSET,
	   "GET_CAPSET returns the header and %u bytes of caps", size);
	hdr(t, VIRTIO_GPU_CMD_GET_CAPSET_INFO, 0, 0, 0);
	put32(t, 7);
	put32(t, 0);
	is_int(cmd(t), VIRTIO_GPU_RESP_ERR_INVALID_PARAMETER, "GET_CAPSET_INFO 7 refused");
}

static uint32_t pixel(unsigned x, unsigned y)
{
	return 0xff000000u | (x * 4u) << 16 | (y * 4u) << 8 | ((x ^ y) & 0xff);
}

static void test_2d(struct t *t)
{
	static uint8_t p[W * H * 4];
	uint64_t a = PIX_BUF;
	uint32_t l = W * H * 4, req;
	int n;
	bool same = true;

	for (unsigned y = 0; y < H; y++)
		for (unsigned x = 0; x < W; x++)
			lbx_put_u32le(t->fe.mem + PIX_BUF + (y * W + x) * 4, pixel(x, y));
	is_int(create_2d(t, 1, W, H), VIRTIO_GPU_RESP_OK_NODATA, "RESOURCE_CREATE_2D 64x64");
	is_int(attach(t, 1, 1, &a, &l), VIRTIO_GPU_RESP_OK_NODATA, "ATTACH_BACKING");
	is_int(t2d(t, 1, 0, 0, W, H, 0), VIRTIO_GPU_RESP_OK_NODATA, "TRANSFER_TO_HOST_2D");
	hdr(t, VIRTIO_GPU_CMD_SET_SCANOUT, 0, 0, 0);
	rect(t, 0, 0, W, H);
	put32(t, 0);
	put32(t, 1);
	is_int(cmd(t), VIRTIO_GPU_RESP_OK_NODATA, "SET_SCANOUT 0 to resource 1");
	n = disp_read(t, &req, p, sizeof(p));
	ok(n == 12 && req == 7 && vd_get32(p + 4) == W && vd_get32(p + 8) == H,
	   "the display is told: SCANOUT 64x64");
	is_int(flush(t, 1, 8, 16, 24, 8), VIRTIO_GPU_RESP_OK_NODATA,
	       "RESOURCE_FLUSH of 24x8 at 8,16");
	n = disp_read(t, &req, p, sizeof(p));
	ok(n == 20 + 24 * 8 * 4 && req == 8 && vd_get32(p + 4) == 8 && vd_get32(p + 8) == 16 &&
	       vd_get32(p + 12) == 24 && vd_get32(p + 16) == 8,
	   "the display gets UPDATE of the damaged rectangle only (%d bytes)", n);
	for (unsigned y = 0; y < 8 && n > 0; y++)
		for (unsigned x = 0; x < 24; x++)
			if ((vd_get32(p + 20 + (y * 24 + x) * 4) & 0xffffff) !=
			    (pixel(8 + x, 16 + y) & 0xffffff))
				same = false;
	ok(same, "its pixels are the guest's, read back from the renderer");
	ok(t->g->stats.update_bytes == 24 * 8 * 4, "bytes carried: %llu",
	   (unsigned long long)t->g->stats.update_bytes);
	is_int(flush(t, 1, 200, 200, 8, 8), VIRTIO_GPU_RESP_OK_NODATA,
	       "a flush outside the scanout is a no-op");
	ok(disp_read(t, &req, p, sizeof(p)) < 0, "and sends nothing");
}

/* ---- the frames socket (frames.c): the Wayland proxy's host half reads resources back ---- */

#define FSTRIDE (W * 4 + 64)

static int frames_send(int fd, const uint8_t *b, size_t n, int pass_fd)
{
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	struct iovec iov = { (void *)b, n };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };

	if (pass_fd >= 0) {
		mh.msg_control = u.buf;
		mh.msg_controllen = sizeof(u.buf);
		struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(cm), &pass_fd, sizeof(int));
	}
	return sendmsg(fd, &mh, MSG_NOSIGNAL) == (ssize_t)n ? 0 : -1;
}

/* One request, then the device's reply to it (status; -1000 without one). */
static int32_t frames_req(struct t *t, int fd, const uint8_t *b, size_t n, int pass_fd,
			  uint32_t *bytes)
{
	uint8_t r[GPU_FRAMES_REPLY];
	struct gpu_frames_reply rep;

	if (frames_send(fd, b, n, pass_fd) < 0)
		return -1000;
	vfe_pump(&t->fe);
	if (!vfe_readable(fd) || read(fd, r, sizeof(r)) != sizeof(r) ||
	    gpu_frames_decode_reply(r, sizeof(r), &rep) != GPU_FRAMES_REPLY)
		return -1000;
	if (bytes)
		*bytes = rep.bytes;
	return rep.status;
}

static int sealed_memfd(size_t size, bool seal)
{
	int fd = memfd_create("test-frames", MFD_CLOEXEC | MFD_ALLOW_SEALING);

	if (fd < 0 || ftruncate(fd, (off_t)size) < 0 ||
	    (seal && fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK) < 0)) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

static bool rect_is_guests(const uint8_t *map, uint32_t x0, uint32_t y0, uint32_t w, uint32_t h)
{
	for (uint32_t y = y0; y < y0 + h; y++)
		for (uint32_t x = x0; x < x0 + w; x++)
			if ((vd_get32(map + y * FSTRIDE + x * 4) & 0xffffff) !=
			    (pixel(x, y) & 0xffffff))
				return false;
	return true;
}

/* Made before the sandbox (the test's socketpair is no call lbx-gpud has). */
static int frames_sv[2] = { -1, -1 }, frames_sv2[2] = { -1, -1 };

static void frames_prepare(void)
{
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, frames_sv) < 0 ||
	    socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, frames_sv2) < 0)
		ok(0, "socketpairs for the frames test");
}

static void test_frames(struct t *t)
{
	uint8_t b[GPU_FRAMES_REQ_MAX], *map;
	size_t size = (size_t)FSTRIDE * H, n, untouched = 0;
	struct gpu_frames_rect r[2] = { { 4, 2, 10, 6 }, { 40, 50, 20, 14 } };
	uint64_t before = t->g->stats.frame_bytes;
	uint32_t bytes = 0;
	int *sv = frames_sv, mfd, loose;

	if (sv[0] < 0 || frames_sv2[0] < 0 || (mfd = sealed_memfd(size, true)) < 0) {
		ok(0, "socketpair and memfd for the frames test");
		return;
	}
	map = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, mfd, 0);
	if (map == MAP_FAILED) {
		ok(0, "memfd mapped");
		close(mfd);
		return;
	}
	memset(map, 0x55, size);
	ok(gpud_frames_attach(t->g, sv[1]) == 0, "a frames client attached");
	n = gpu_frames_put_bind(b, 1, 1, W, H, FSTRIDE);
	is_int(frames_req(t, sv[0], b, n, -1, NULL), -EBADF, "BIND without a memfd is refused");
	is_int(frames_req(t, sv[0], b, n, mfd, NULL), 0, "BIND of resource 1 to a memfd");
	is_int(frames_req(t, sv[0], b, n, mfd, NULL), -EEXIST, "a buffer bound twice is refused");
	n = gpu_frames_put_bind(b, 2, 77, W, H, FSTRIDE);
	is_int(frames_req(t, sv[0], b, n, mfd, NULL), -ENOENT,
	       "a resource the guest never made is refused");
	n = gpu_frames_put_bind(b, 2, 1, W + 1, H, FSTRIDE);
	is_int(frames_req(t, sv[0], b, n, mfd, NULL), -ENOENT,
	       "a buffer wider than its resource is refused");
	loose = sealed_memfd(size, false);
	n = gpu_frames_put_bind(b, 2, 1, W, H, FSTRIDE);
	is_int(frames_req(t, sv[0], b, n, loose, NULL), -EINVAL,
	       "a memfd the client could shrink is refused");
	if (loose >= 0)
		close(loose);
	loose = sealed_memfd(size - 1, true);
	is_int(frames_req(t, sv[0], b, n, loose, NULL), -EINVAL,
	       "a memfd smaller than stride * height is refused");
	if (loose >= 0)
		close(loose);

	n = gpu_frames_put_copy(b, 1, r, 2);
	is_int(frames_req(t, sv[0], b, n, -1, &bytes), 0, "COPY of two damaged rectangles");
	is_int(bytes, (10 * 6 + 20 * 14) * 4, "the reply counts their bytes only");
	ok(rect_is_guests(map, 4, 2, 10, 6) && rect_is_guests(map, 40, 50, 20, 14),
	   "the memfd holds the guest's pixels there, at y * stride + x * 4");
	for (size_t i = 0; i < size; i++)
		untouched += map[i] == 0x55;
	is_int(untouched, size - (10 * 6 + 20 * 14) * 4, "and nothing outside them was written");
	is_int(t->g->stats.frame_bytes - before, (10 * 6 + 20 * 14) * 4,
	       "the device counts the bytes read back");
	r[0] = (struct gpu_frames_rect){ 60, 0, 8, 8 };
	n = gpu_frames_put_copy(b, 1, r, 1);
	is_int(frames_req(t, sv[0], b, n, -1, NULL), -ERANGE,
	       "a rectangle past the buffer's edge is refused");
	n = gpu_frames_put_copy(b, 3, r, 1);
	is_int(frames_req(t, sv[0], b, n, -1, NULL), -ENOENT,
	       "COPY of an unbound buffer is refused");
	n = gpu_frames_put_unbind(b, 1);
	is_int(frames_req(t, sv[0], b, n, -1, NULL), 0, "UNBIND");
	n = gpu_frames_put_copy(b, 1, r, 1);
	is_int(frames_req(t, sv[0], b, n, -1, NULL), -ENOENT, "and the buffer is gone");
	is_int(gpud_frames_attach(t->g, frames_sv2[1]), -EBUSY,
	       "a second frames client is refused");
	close(frames_sv2[0]);
	memset(b, 0xff, 16);
	ok(write(sv[0], b, 16) == 16, "the client sends garbage");
	vfe_pump(&t->fe);
	ok(read(sv[0], b, 1) == 0, "and is disconnected");
	hdr(t, VIRTIO_GPU_CMD_GET_DISPLAY_INFO, 0, 0, 0);
	is_int(cmd(t), VIRTIO_GPU_RESP_OK_DISPLAY_INFO, "while the device goes on answering");
	close(sv[0]);
	munmap(map, size);
	close(mfd);
}

static void test_3d(struct t *t)
{
	uint64_t a = BUF3D;
	uint32_t l = 4096;
	bool same = true;

	hdr(t, VIRTIO_GPU_CMD_CTX_CREATE, 0, 0, 1);
	put32(t, 4);
	put32(t, 0);
	memcpy(t->req + t->len, "test", 4);
	memset(t->req + t->len + 4, 0, 60);
	t->len += 64;
	is_int(cmd(t), VIRTIO_GPU_RESP_OK_NODATA, "CTX_CREATE 1");
	is_int(cmd(t), VIRTIO_GPU_RESP_ERR_INVALID_CONTEXT_ID, "a second CTX_CREATE 1 refused");
	hdr(t, VIRTIO_GPU_CMD_RESOURCE_CREATE_3D, 0, 0, 1);
	put32(t, 2);	   /* resource */
	put32(t, 0);	   /* PIPE_BUFFER */
	put32(t, 64);	   /* VIRGL_FORMAT_R8_UNORM */
	put32(t, 1u << 4); /* VIRGL_BIND_VERTEX_BUFFER */
	put32(t, 4096);
	put32(t, 1);
	put32(t, 1);
	put32(t, 1);
	put32(t, 0);
	put32(t, 0);
	put32(t, 0);
	put32(t, 0);
	is_int(cmd(t), VIRTIO_GPU_RESP_OK_NODATA, "RESOURCE_CREATE_3D: a 4 KiB buffer");
	hdr(t, VIRTIO_GPU_CMD_CTX_ATTACH_RESOURCE, 0, 0, 1);
	put32(t, 2);
	put32(t, 0);
	is_int(cmd(t), VIRTIO_GPU_RESP_OK_NODATA, "CTX_ATTACH_RESOURCE");
	is_int(attach(t, 2, 1, &a, &l), VIRTIO_GPU_RESP_OK_NODATA, "its backing attached");
	for (unsigned i = 0; i < 4096; i++)
		t->fe.mem[BUF3D + i] = (uint8_t)(i * 7 + 3);
	hdr(t, VIRTIO_GPU_CMD_TRANSFER_TO_HOST_3D, 0, 0, 1);
	put32(t, 0), put32(t, 0), put32(t, 0), put32(t, 4096), put32(t, 1), put32(t, 1);
	put64(t, 0);
	put32(t, 2), put32(t, 0), put32(t, 0), put32(t, 0);
	is_int(cmd(t), VIRTIO_GPU_RESP_OK_NODATA, "TRANSFER_TO_HOST_3D of the buffer");
	memset(t->fe.mem + BUF3D, 0, 4096);
	t->req[0] = VIRTIO_GPU_CMD_TRANSFER_FROM_HOST_3D & 0xff;
	is_int(cmd(t), VIRTIO_GPU_RESP_OK_NODATA, "TRANSFER_FROM_HOST_3D into zeroed backing");
	for (unsigned i = 0; i < 4096; i++)
		if (t->fe.mem[BUF3D + i] != (uint8_t)(i * 7 + 3))
			same = false;
	ok(same, "the guest's bytes came back through the renderer");
	/* An empty command stream with a fence: answered once the fence passes. */
	hdr(t, VIRTIO_GPU_CMD_SUBMIT_3D, VIRTIO_GPU_FLAG_FENCE, 41, 1);
	put32(t, 0);
	put32(t, 0);
	ok(cmd(t) == VIRTIO_GPU_RESP_OK_NODATA &&
	       (vd_get32(t->fe.mem + RESP_BUF + 4) & VIRTIO_GPU_FLAG_FENCE) &&
	       vd_get32(t->fe.mem + RESP_BUF + 8) == 41,
	   "a fenced SUBMIT_3D is answered with its fence id");
	ok(t->g->stats.fences >= 1, "through virglrenderer's fence (%llu)",
	   (unsigned long long)t->g->stats.fences);
}

static void test_malformed(struct t *t)
{
	uint64_t a[2] = { PIX_BUF, PIX_BUF + 0x800 };
	uint32_t l[2] = { 0x1000, 0x1000 };
	uint64_t out = MEM_SIZE - 0x800;
	uint64_t refused = t->g->stats.refused;

	is_int(flush(t, 99, 0, 0, 8, 8), VIRTIO_GPU_RESP_ERR_INVALID_RESOURCE_ID,
	       "flush of a resource never created");
	is_int(create_2d(t, 1, W, H), VIRTIO_GPU_RESP_ERR_INVALID_RESOURCE_ID,
	       "creating an id in use");
	is_int(create_2d(t, 3, 0, H), VIRTIO_GPU_RESP_ERR_INVALID_PARAMETER, "width 0");
	is_int(create_2d(t, 3, W, H), VIRTIO_GPU_RESP_OK_NODATA, "resource 3 for the next checks");
	is_int(attach(t, 3, 2, a, l), VIRTIO_GPU_RESP_ERR_INVALID_PARAMETER,
	       "overlapping backing entries");
	is_int(attach(t, 3, 1, &out, l), VIRTIO_GPU_RESP_ERR_INVALID_PARAMETER,
	       "a backing entry past the end of guest RAM");
	is_int(attach(t, 77, 1, a, l), VIRTIO_GPU_RESP_ERR_INVALID_RESOURCE_ID,
	       "backing for a resource never created");
	is_int(t2d(t, 3, 0, 0, W, H, 0), VIRTIO_GPU_RESP_ERR_UNSPEC, "a transfer without backing");
	is_int(attach(t, 3, 1, a, l), VIRTIO_GPU_RESP_OK_NODATA, "4 KiB of backing for 16 KiB");
	is_int(t2d(t, 3, 0, 0, W, H, 0), VIRTIO_GPU_RESP_ERR_INVALID_PARAMETER,
	       "a transfer beyond the backing");
	is_int(t2d(t, 3, 60, 0, 8, 1, 0), VIRTIO_GPU_RESP_ERR_INVALID_PARAMETER,
	       "a transfer rectangle beyond the resource");
	is_int(attach(t, 3, 1, a, l), VIRTIO_GPU_RESP_ERR_UNSPEC, "backing attached twice");
	hdr(t, VIRTIO_GPU_CMD_SUBMIT_3D, 0, 0, 9);
	put32(t, 4);
	put32(t, 0);
	put32(t, 0);
	is_int(cmd(t), VIRTIO_GPU_RESP_ERR_INVALID_CONTEXT_ID, "SUBMIT_3D to a context never made");
	hdr(t, VIRTIO_GPU_CMD_SUBMIT_3D, 0, 0, 1);
	put32(t, 64);
	put32(t, 0);
	put32(t, 0);
	is_int(cmd(t), VIRTIO_GPU_RESP_ERR_UNSPEC, "SUBMIT_3D longer than its request");
	hdr(t, VIRTIO_GPU_CMD_SUBMIT_3D, 0, 0, 1);
	put32(t, 8);
	put32(t, 0);
	put32(t, 0x00ff0042); /* a virgl command of 255 dwords, in 2 */
	put32(t, 0);
	ok(cmd(t) != 0, "a garbled command stream is answered");
	hdr(t, VIRTIO_GPU_CMD_SET_SCANOUT, 0, 0, 0);
	rect(t, 0, 0, W, H);
	put32(t, 5);
	put32(t, 1);
	is_int(cmd(t), VIRTIO_GPU_RESP_ERR_INVALID_SCANOUT_ID, "scanout 5");
	hdr(t, VIRTIO_GPU_CMD_SET_SCANOUT, 0, 0, 0);
	rect(t, 0, 0, W + 1, H);
	put32(t, 0);
	put32(t, 1);
	is_int(cmd(t), VIRTIO_GPU_RESP_ERR_INVALID_PARAMETER, "a scanout larger than its resource");
	hdr(t, VIRTIO_GPU_CMD_RESOURCE_CREATE_2D, 0, 0, 0);
	put32(t, 4);
	is_int(cmd(t), VIRTIO_GPU_RESP_ERR_UNSPEC, "a truncated command");
	hdr(t, 0x0777, 0, 0, 0);
	is_int(cmd(t), VIRTIO_GPU_RESP_ERR_UNSPEC, "an unknown command");
	t->len = 7;
	is_int(cmd(t), VIRTIO_GPU_RESP_ERR_UNSPEC, "7 bytes");
	ok(t->g->stats.refused - refused >= 17, "each counted as refused (%llu)",
	   (unsigned long long)(t->g->stats.refused - refused));
	test_display_info(t);
}

static void test_cursor_and_unref(struct t *t)
{
	uint8_t p[64];
	uint32_t req;
	int n;

	hdr(t, VIRTIO_GPU_CMD_MOVE_CURSOR, 0, 0, 0);
	put32(t, 0), put32(t, 10), put32(t, 20), put32(t, 0);
	put32(t, 0), put32(t, 0), put32(t, 0), put32(t, 0);
	ok(send_cmd(t, GPUD_CURSORQ, 0) == 0, "MOVE_CURSOR on the cursor queue used");
	n = disp_read(t, &req, p, sizeof(p));
	ok(n == 12 && req == 4 && vd_get32(p + 4) == 10 && vd_get32(p + 8) == 20,
	   "the display gets CURSOR_POS 10,20");
	hdr(t, VIRTIO_GPU_CMD_RESOURCE_UNREF, 0, 0, 0);
	put32(t, 1);
	put32(t, 0);
	is_int(cmd(t), VIRTIO_GPU_RESP_OK_NODATA, "RESOURCE_UNREF of the scanout's resource");
	ok(disp_read(t, &req, p, sizeof(p)) == 12 && req == 7 && vd_get32(p + 4) == 0,
	   "the display is told the scanout is off");
	is_int(cmd(t), VIRTIO_GPU_RESP_ERR_INVALID_RESOURCE_ID, "a second UNREF refused");
	hdr(t, VIRTIO_GPU_CMD_RESOURCE_DETACH_BACKING, 0, 0, 0);
	put32(t, 3);
	put32(t, 0);
	is_int(cmd(t), VIRTIO_GPU_RESP_OK_NODATA, "DETACH_BACKING");
	is_int(cmd(t), VIRTIO_GPU_RESP_ERR_UNSPEC, "DETACH_BACKING twice refused");
	hdr(t, VIRTIO_GPU_CMD_CTX_DESTROY, 0, 0, 1);
	is_int(cmd(t), VIRTIO_GPU_RESP_OK_NODATA, "CTX_DESTROY 1");
	is_int(cmd(t), VIRTIO_GPU_RESP_ERR_INVALID_CONTEXT_ID, "CTX_DESTROY 1 twice refused");
}

/* The display front-end is a peer too: a message that is no reply closes the display only. */
static void test_hostile_display(struct t *t)
{
	uint8_t h[12];

	lbx_put_u32le(h, 3);
	lbx_put_u32le(h + 4, 0); /* not a reply */
	lbx_put_u32le(h + 8, 0);
	ok(write(t->disp, h, sizeof(h)) == sizeof(h), "the display sends a request of its own");
	vfe_pump(&t->fe);
	ok(t->g->display_fd < 0, "the device closes the display socket");
	hdr(t, VIRTIO_GPU_CMD_GET_DISPLAY_INFO, 0, 0, 0);
	is_int(cmd(t), VIRTIO_GPU_RESP_OK_DISPLAY_INFO, "and goes on answering the guest");
	ok(create_2d(t, 9, W, H) == VIRTIO_GPU_RESP_OK_NODATA, "resource 9 without a display");
	hdr(t, VIRTIO_GPU_CMD_SET_SCANOUT, 0, 0, 0);
	rect(t, 0, 0, W, H);
	put32(t, 0);
	put32(t, 9);
	is_int(cmd(t), VIRTIO_GPU_RESP_OK_NODATA, "SET_SCANOUT with no display to tell");
	is_int(flush(t, 9, 0, 0, W, H), VIRTIO_GPU_RESP_OK_NODATA, "and RESOURCE_FLUSH");
}

int main(void)
{
	static struct t t = { .fe = { .sock = -1, .memfd = -1 }, .disp = -1, .disp_peer = -1 };
	int fds_at_start = vfe_count_fds();

	lbx_log_init("test-gpud-dm");
	lbx_log_set_level(LBX_LOG_ERROR); /* refused commands below log warnings */
	signal(SIGPIPE, SIG_IGN);
	for (unsigned i = 0; i < 2; i++)
		t.q[i].kick = t.q[i].call = t.q[i].err = -1;
	if (vfe_mem_init(&t.fe, MEM_SIZE) < 0) {
		printf("1..0 # SKIP memfd_create unavailable\n");
		return 0;
	}
	t.fe.loop = lbx_loop_new();
	t.g = gpud_new(t.fe.loop, NULL);
	if (!t.g) {
		printf("1..0 # SKIP virglrenderer cannot start on EGL surfaceless here "
		       "(no Mesa EGL?)\n");
		return 0;
	}
	ok(1, "lbx-gpud's device made; renderer %s", t.g->renderer ? t.g->renderer : "?");
	t.fe.dev = gpud_vu(t.g);
	ok(vfe_connect(&t.fe) == 0, "vhost-user front-end connected over a socketpair");
	{
		int sv[2];

		if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
			return tap_done();
		t.disp = sv[0];
		t.disp_peer = sv[1];
	}
	for (unsigned i = 0; i < 2; i++)
		ok(vfe_vq_init(&t.fe, &t.q[i], i, 0x10000u * i, QSIZE) == 0, "queue %u laid out",
		   i);
	frames_prepare();
#ifdef GPUD_TEST_SANDBOX
	/* From here on, lbx-gpud's own sandbox: every command below runs under it. */
	ok(gpud_sandbox_apply(NULL) == 0, "lbx-gpud's Landlock and seccomp applied");
#endif
	test_setup(&t);
	test_display_info(&t);
	test_capsets(&t);
	test_2d(&t);
	test_frames(&t);
	test_3d(&t);
	drain_display(&t);
	test_malformed(&t);
	test_cursor_and_unref(&t);
	test_hostile_display(&t);
	vfe_disconnect(&t.fe);
	is_int(t.g->nres, 0, "front-end gone: every resource released");
	is_int(t.g->nctx, 0, "and every context");
	ok(t.g->display_fd < 0, "and the display socket closed");
	gpud_free(t.g);
	for (unsigned i = 0; i < 2; i++)
		vfe_vq_free(&t.q[i]);
	close(t.disp);
	vfe_mem_free(&t.fe);
	lbx_loop_free(t.fe.loop);
#ifndef GPUD_TEST_SANDBOX /* Landlock hides /proc/self/fd */
	is_int(vfe_count_fds(), fds_at_start, "no fd leaked");
#else
	(void)fds_at_start;
#endif
	return tap_done();
}
