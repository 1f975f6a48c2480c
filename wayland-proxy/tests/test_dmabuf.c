/* SPDX-License-Identifier: MIT */
/*
 * The host half's GPU path (conn_dmabuf.c) on a real event loop. The test
 * plays the compositor (a socketpair speaking Wayland), the guest half (a
 * socketpair speaking link frames) and lbx-gpud's frames socket (a thread
 * answering BIND and COPY, filling the bound memfd as a read-back would).
 * A box client's dmabuf buffer must reach the compositor as a wl_shm
 * buffer of the proxy's, each commit must read back exactly the damage,
 * and the proxy's own objects must stay out of the box's sight and reach.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conn.h"
#include "evloop.h"
#include "frames_client.h"
#include "link.h"
#include "policy.h"
#include "tap.h"
#include "writer.h"

#define LOCAL0	 (256u * 1024 - 4096) /* the proxy's first id (LOCAL_ID_MIN) */
#define DMABUF	 0xfffff001u
#define AR24	 0x34325241u
#define BW	 64
#define BH	 32
#define GOOD_RES 5
#define S	 0xdeadbeefu
#define PIX	 0xff00ff00u

struct gpud_fake {
	int fd;
	uint8_t *map;
	size_t size;
	uint32_t stride;
	int binds, copies;
	struct gpu_frames_rect last;
};

struct env {
	struct lbx_loop *loop;
	struct wlp_conn *c;
	int comp, guest;
	struct wlp_policy pol;
	struct wlp_frames fr;
	struct gpud_fake g;
	pthread_t th;
	bool closed;
	char why[256];
};

static void on_closed(struct wlp_conn *c, const char *why, void *ctx)
{
	struct env *e = ctx;

	e->closed = true;
	snprintf(e->why, sizeof(e->why), "%s", why ? why : "");
	if (why)
		printf("# closed: %s\n", why);
}

static const struct wlp_conn_ops ops = { on_closed, NULL, NULL, NULL };

static uint32_t get32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return v; /* little-endian hosts only, as the wire */
}

static void *gpud_thread(void *arg)
{
	struct gpud_fake *g = arg;
	uint8_t in[GPU_FRAMES_REQ_MAX], out[GPU_FRAMES_REPLY];
	union {
		char b[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;

	for (;;) {
		struct iovec iov = { in, sizeof(in) };
		struct msghdr mh = { .msg_iov = &iov,
				     .msg_iovlen = 1,
				     .msg_control = u.b,
				     .msg_controllen = sizeof(u.b) };
		ssize_t n = recvmsg(g->fd, &mh, 0);
		struct gpu_frames_req q;
		int fd = -1, st = 0;
		uint32_t bytes = 0;

		if (n <= 0)
			return NULL;
		for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c))
			if (c->cmsg_type == SCM_RIGHTS)
				memcpy(&fd, CMSG_DATA(c), sizeof(int));
		if (gpu_frames_decode(in, (size_t)n, &q) != n)
			return NULL;
		if (q.type == GPU_FRAMES_BIND) {
			if (q.resource != GOOD_RES || fd < 0) {
				st = -ENOENT;
			} else {
				g->size = (size_t)q.stride * q.height;
				g->stride = q.stride;
				g->map =
				    mmap(NULL, g->size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
				g->binds++;
			}
		} else if (q.type == GPU_FRAMES_COPY && g->map) {
			g->last = q.rects[0];
			for (uint32_t y = 0; y < q.rects[0].h; y++)
				for (uint32_t x = 0; x < q.rects[0].w; x++)
					lbx_put_u32le(g->map + (q.rects[0].y + y) * g->stride +
							  (q.rects[0].x + x) * 4,
						      PIX + g->copies);
			bytes = q.rects[0].w * q.rects[0].h * 4;
			g->copies++;
		}
		if (fd >= 0)
			close(fd);
		n = (ssize_t)gpu_frames_put_reply(out, q.type, q.buffer, st, bytes);
		if (write(g->fd, out, (size_t)n) != n)
			return NULL;
	}
}

static void spin(struct env *e)
{
	for (int i = 0; i < 5; i++)
		lbx_loop_run_once(e->loop, 20);
}

static size_t wmsg(uint8_t *buf, uint32_t id, uint16_t op, const char *str, int nw, ...)
{
	struct lbx_writer w;
	va_list ap;
	size_t off;

	lbx_writer_init_fixed(&w, buf, 512);
	(void)!lbx_write_u32le(&w, id);
	(void)!lbx_write_reserve(&w, 4, &off);
	va_start(ap, nw);
	for (int i = 0; i < nw; i++) {
		uint32_t v = va_arg(ap, uint32_t);
		if (v == S && str) {
			size_t n = strlen(str) + 1;
			(void)!lbx_write_u32le(&w, (uint32_t)n);
			(void)!lbx_write_bytes(&w, str, n);
			(void)!lbx_write_zeros(&w, (4 - n % 4) % 4);
		} else {
			(void)!lbx_write_u32le(&w, v);
		}
	}
	va_end(ap);
	(void)!lbx_write_patch_u32le(&w, off, (uint32_t)lbx_writer_len(&w) << 16 | op);
	return lbx_writer_len(&w);
}

static void to_guest_frame(struct env *e, uint32_t type, const void *p, size_t n)
{
	uint8_t hdr[8];

	lbx_put_u32le(hdr, type);
	lbx_put_u32le(hdr + 4, (uint32_t)n);
	(void)!write(e->guest, hdr, 8);
	if (n)
		(void)!write(e->guest, p, n);
}

static void guest_msg(struct env *e, const uint8_t *m, size_t n)
{
	to_guest_frame(e, WLP_F_MSG, m, n);
}

/* Everything that reached the compositor since the last call, and its fd (or -1). */
static ssize_t comp_read(struct env *e, uint8_t *buf, size_t n, int *fd)
{
	union {
		char b[CMSG_SPACE(sizeof(int) * 4)];
		struct cmsghdr align;
	} u;
	struct iovec iov = { buf, n };
	struct msghdr mh = {
		.msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.b, .msg_controllen = sizeof(u.b)
	};

	*fd = -1;
	ssize_t r = recvmsg(e->comp, &mh, MSG_DONTWAIT);
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); r > 0 && c; c = CMSG_NXTHDR(&mh, c))
		if (c->cmsg_type == SCM_RIGHTS)
			memcpy(fd, CMSG_DATA(c), sizeof(int));
	return r;
}

/* Does buf (n bytes of Wayland messages) hold a message to id with opcode op? */
static bool has_msg(const uint8_t *buf, ssize_t n, uint32_t id, uint16_t op)
{
	for (ssize_t off = 0; off + 8 <= n;) {
		uint32_t i = get32(buf + off), so = get32(buf + off + 4);
		if (i == id && (so & 0xffff) == op)
			return true;
		if ((so >> 16) < 8)
			return false;
		off += so >> 16;
	}
	return false;
}

/* The same over link frames (what the guest half gets). */
static bool link_has(const uint8_t *buf, ssize_t n, uint32_t id, uint16_t op)
{
	for (ssize_t off = 0; off + 8 <= n;) {
		uint32_t t = get32(buf + off), len = get32(buf + off + 4);
		if (t == WLP_F_MSG && off + 8 + (ssize_t)len <= n &&
		    has_msg(buf + off + 8, len, id, op))
			return true;
		off += 8 + len;
	}
	return false;
}

static bool contains(const uint8_t *buf, ssize_t n, const char *s)
{
	return n > 0 && memmem(buf, (size_t)n, s, strlen(s)) != NULL;
}

static void setup(struct env *e)
{
	int a[2], b[2], f[2];

	memset(e, 0, sizeof(*e));
	wlp_policy_default(&e->pol);
	socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, a);
	socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, b);
	socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, f);
	e->loop = lbx_loop_new();
	e->comp = a[1];
	e->guest = b[1];
	e->fr.fd = f[0];
	e->g.fd = f[1];
	pthread_create(&e->th, NULL, gpud_thread, &e->g);
	e->c = wlp_conn_new(e->loop, WLP_HOST, a[0], b[0], &e->pol, &ops, e);
}

static void teardown(struct env *e)
{
	wlp_conn_free(e->c); /* its owner frees it, closed or not (as host_main.c does) */
	shutdown(e->fr.fd, SHUT_RDWR);
	pthread_join(e->th, NULL);
	close(e->fr.fd);
	close(e->g.fd);
	if (e->g.map)
		munmap(e->g.map, e->g.size);
	close(e->comp);
	close(e->guest);
	lbx_loop_free(e->loop);
}

/* The box's registry, the compositor's wl_shm and wl_compositor, the dmabuf global bound. */
static void start_v(struct env *e, bool check, uint32_t version)
{
	uint8_t m[512], buf[8192];
	ssize_t n;
	int fd;

	ok(wlp_conn_set_frames(e->c, &e->fr) == 0, "the connection takes the frames socket");
	guest_msg(e, m, wmsg(m, 1, 1, NULL, 1, 2));
	spin(e);
	(void)!write(e->comp, m, wmsg(m, 2, 0, "wl_shm", 3, 1, S, 1));
	(void)!write(e->comp, m, wmsg(m, 2, 0, "wl_compositor", 3, 2, S, 4));
	spin(e);
	n = recv(e->guest, buf, sizeof(buf), MSG_DONTWAIT);
	if (check)
		ok(contains(buf, n, "zwp_linux_dmabuf_v1") && contains(buf, n, "wl_compositor") &&
		       contains(buf, n, "wl_shm"),
		   "the box's registry lists the proxy's zwp_linux_dmabuf_v1 and the compositor's "
		   "globals");
	while (comp_read(e, buf, sizeof(buf), &fd) > 0)
		;
	guest_msg(e, m, wmsg(m, 2, 0, "zwp_linux_dmabuf_v1", 4, DMABUF, S, version, 3));
	spin(e);
	n = recv(e->guest, buf, sizeof(buf), MSG_DONTWAIT);
	if (check && version < 4)
		ok(link_has(buf, n, 3, 0) && link_has(buf, n, 3, 1),
		   "binding it gives the box format and modifier events from the proxy");
	if (check && version >= 4)
		ok(n <= 0, "binding version 4 gives no format or modifier events (the feedback "
			   "tells them)");
	n = comp_read(e, buf, sizeof(buf), &fd);
	if (check)
		ok(has_msg(buf, n, 2, 0) && contains(buf, n, "wl_shm") &&
		       !contains(buf, n, "zwp_linux_dmabuf_v1"),
		   "the compositor gets a wl_shm of the proxy's at that id instead (no id gap)");
	(void)!write(e->comp, m, wmsg(m, 3, 0, NULL, 1, 0));
	spin(e);
	n = recv(e->guest, buf, sizeof(buf), MSG_DONTWAIT);
	if (check)
		ok(n <= 0, "its wl_shm.format events are not the box's");
	guest_msg(e, m, wmsg(m, 2, 0, "wl_compositor", 4, 2, S, 4, 4));
	spin(e);
	n = comp_read(e, buf, sizeof(buf), &fd);
	if (check)
		ok(has_msg(buf, n, 2, 0) && contains(buf, n, "wl_compositor"),
		   "the box's next bind (id 4) reaches the compositor as it is");
}

static void start(struct env *e, bool check)
{
	start_v(e, check, 3);
}

/* params 5 with resource res, then create_immed of buffer 6. */
static void make_buffer(struct env *e, uint32_t res)
{
	uint8_t m[512], r[4];

	guest_msg(e, m, wmsg(m, 3, 1, NULL, 1, 5));
	lbx_put_u32le(r, res);
	to_guest_frame(e, WLP_F_FD_VGPU, r, 4);
	guest_msg(e, m, wmsg(m, 5, 1, NULL, 5, 0, 0, BW * 4, 0, 0));
	guest_msg(e, m, wmsg(m, 5, 3, NULL, 5, 6, BW, BH, AR24, 0));
	spin(e);
}

static void test_path(void)
{
	struct env e;
	uint8_t m[512], buf[8192];
	ssize_t n;
	int pool_fd = -1;

	setup(&e);
	start(&e, true);
	make_buffer(&e, GOOD_RES);
	n = comp_read(&e, buf, sizeof(buf), &pool_fd);
	ok(has_msg(buf, n, 1, 0), "create_params: the compositor gets a wl_display.sync at its id");
	ok(has_msg(buf, n, 3, 0) && pool_fd >= 0,
	   "create_immed: the compositor gets wl_shm.create_pool with a memfd");
	ok(has_msg(buf, n, 5, 0) && has_msg(buf, n, 5, 1),
	   "then create_buffer and destroy on that pool, at the params' id");
	is_int(e.g.binds, 1, "lbx-gpud got BIND of resource %u with the same memory", GOOD_RES);
	guest_msg(&e, m, wmsg(m, 5, 0, NULL, 0));
	spin(&e);
	n = recv(e.guest, buf, sizeof(buf), MSG_DONTWAIT);
	ok(n >= 20 && link_has(buf, n, 1, 1),
	   "params.destroy is answered with wl_display.delete_id by the proxy");
	int other_fd;
	n = comp_read(&e, buf, sizeof(buf), &other_fd);
	ok(n <= 0, "and the compositor never hears of the params");

	guest_msg(&e, m, wmsg(m, 4, 0, NULL, 1, 7));
	guest_msg(&e, m, wmsg(m, 7, 1, NULL, 3, 6, 0, 0));
	guest_msg(&e, m, wmsg(m, 7, 9, NULL, 4, 8, 4, 16, 8));
	guest_msg(&e, m, wmsg(m, 7, 6, NULL, 0));
	spin(&e);
	int dummy;
	n = comp_read(&e, buf, sizeof(buf), &dummy);
	ok(e.g.copies == 1 && e.g.last.x == 0 && e.g.last.w == BW && e.g.last.h == BH,
	   "the first commit of the buffer reads all of it back (%ux%u)", e.g.last.w, e.g.last.h);
	ok(has_msg(buf, n, 7, 6), "then the commit reaches the compositor");
	uint8_t *pm =
	    pool_fd >= 0 ? mmap(NULL, BW * 4 * BH, PROT_READ, MAP_SHARED, pool_fd, 0) : MAP_FAILED;
	ok(pm != MAP_FAILED && get32(pm) == PIX &&
	       get32(pm + (BH - 1) * BW * 4 + (BW - 1) * 4) == PIX,
	   "the compositor's pool holds the read-back pixels");
	guest_msg(&e, m, wmsg(m, 7, 1, NULL, 3, 6, 0, 0));
	guest_msg(&e, m, wmsg(m, 7, 9, NULL, 4, 8, 4, 16, 8));
	guest_msg(&e, m, wmsg(m, 7, 6, NULL, 0));
	spin(&e);
	ok(e.g.copies == 2 && e.g.last.x == 8 && e.g.last.y == 4 && e.g.last.w == 16 &&
	       e.g.last.h == 8,
	   "the next commit reads back the damaged 16x8 at 8,4 only");
	ok(pm != MAP_FAILED && get32(pm + 4 * BW * 4 + 8 * 4) == PIX + 1 && get32(pm) == PIX,
	   "and only that part of the pool changed");
	const struct wlp_conn_counters *k = wlp_conn_counters(e.c);
	is_int(k->gpu_bytes, BW * BH * 4 + 16 * 8 * 4, "bytes read back are counted");
	is_int(k->gpu_copies, 2, "as are the copies");
	(void)!write(e.comp, m, wmsg(m, 5, 0, NULL, 1, 0));
	(void)!write(e.comp, m, wmsg(m, 1, 1, NULL, 1, 5));
	(void)!write(e.comp, m, wmsg(m, 1, 1, NULL, 1, 5));
	spin(&e);
	n = recv(e.guest, buf, sizeof(buf), MSG_DONTWAIT);
	ok(n <= 0 && !e.closed,
	   "the sync's done and the delete_ids of the placeholders are not the box's");
	(void)!write(e.comp, m, wmsg(m, 1, 1, NULL, 1, 5));
	spin(&e);
	n = recv(e.guest, buf, sizeof(buf), MSG_DONTWAIT);
	ok(n > 0 && link_has(buf, n, 1, 1), "a delete_id beyond those goes to the box again");
	if (pm != MAP_FAILED)
		munmap(pm, BW * 4 * BH);
	if (pool_fd >= 0)
		close(pool_fd);
	teardown(&e);
}

static void test_refusals(void)
{
	struct env e;
	uint8_t m[512];

	setup(&e);
	start(&e, false);
	make_buffer(&e, 77);
	ok(e.closed && strstr(e.why, "lbx-gpud refused resource 77"),
	   "a resource lbx-gpud does not know ends the client with a line");
	teardown(&e);

	setup(&e);
	start(&e, false);
	make_buffer(&e, GOOD_RES);
	guest_msg(&e, m, wmsg(m, 5, 3, NULL, 5, 7, BW, BH, AR24, 0));
	spin(&e);
	ok(e.closed && strstr(e.why, "used already"), "params used twice end the client");
	teardown(&e);

	setup(&e);
	start(&e, false);
	guest_msg(&e, m, wmsg(m, 3, 1, NULL, 1, 5));
	guest_msg(&e, m, wmsg(m, 5, 1, NULL, 5, 0, 0, BW * 4, 0, 0));
	spin(&e);
	ok(e.closed, "params.add without its dmabuf's resource frame ends the client");
	teardown(&e);
}

/* The frames of buf (link frames) in order: their types, and each MSG's id and opcode. */
static int link_list(const uint8_t *buf, ssize_t n, uint32_t *types, uint32_t *ids,
		     uint16_t *opc, int max, const uint8_t **data, uint32_t *dlen)
{
	int k = 0;

	for (ssize_t off = 0; off + 8 <= n && k < max;) {
		uint32_t t = get32(buf + off), len = get32(buf + off + 4);
		if (off + 8 + (ssize_t)len > n)
			break;
		types[k] = t;
		ids[k] = t == WLP_F_MSG && len >= 8 ? get32(buf + off + 8) : 0;
		opc[k] = t == WLP_F_MSG && len >= 8 ? (uint16_t)(get32(buf + off + 12) & 0xffff) : 0;
		if (t == WLP_F_FD_DATA) {
			*data = buf + off + 8;
			*dlen = len;
		}
		k++;
		off += 8 + len;
	}
	return k;
}

static void test_feedback(void)
{
	struct env e;
	uint8_t m[512], buf[8192];
	uint32_t types[16], ids[16], dlen = 0;
	uint16_t opc[16];
	const uint8_t *data = NULL;
	ssize_t n;
	int fd, k;

	setup(&e);
	start_v(&e, true, 4);
	/* get_default_feedback (opcode 2) with new id 5 */
	guest_msg(&e, m, wmsg(m, 3, 2, NULL, 1, 5));
	spin(&e);
	n = recv(e.guest, buf, sizeof(buf), MSG_DONTWAIT);
	k = link_list(buf, n, types, ids, opc, 16, &data, &dlen);
	ok(k == 8 && types[0] == WLP_F_FD_DATA && types[1] == WLP_F_MSG && ids[1] == 5 &&
	       opc[1] == 1,
	   "get_default_feedback: the format table's file, then format_table, from the proxy");
	ok(data && dlen == 32 && get32(data) == AR24 && get32(data + 16) == 0x34325258u &&
	       get32(data + 8) == 0xffffffffu && get32(data + 12) == 0x00ffffffu,
	   "the table holds ARGB8888 and XRGB8888, modifier INVALID (16 bytes an entry)");
	/* main_device 2, tranche_target_device 4, tranche_formats 5, tranche_flags 6,
	 * tranche_done 3, done 0 */
	ok(k == 8 && opc[2] == 2 && opc[3] == 4 && opc[4] == 5 && opc[5] == 6 && opc[6] == 3 &&
	       opc[7] == 0,
	   "then main_device, one tranche (device, formats, flags, tranche_done) and done");
	n = comp_read(&e, buf, sizeof(buf), &fd);
	ok(has_msg(buf, n, 1, 0) && !contains(buf, n, "feedback"),
	   "the compositor gets a wl_display.sync at the feedback's id, nothing else");
	/* the compositor's done and delete_id of that placeholder: not the box's */
	(void)!write(e.comp, m, wmsg(m, 5, 0, NULL, 1, 0));
	(void)!write(e.comp, m, wmsg(m, 1, 1, NULL, 1, 5));
	spin(&e);
	n = recv(e.guest, buf, sizeof(buf), MSG_DONTWAIT);
	ok(n <= 0 && !e.closed, "the placeholder's done and delete_id are eaten");
	/* get_surface_feedback (opcode 3) needs a wl_surface: 7 from wl_compositor 4 */
	guest_msg(&e, m, wmsg(m, 4, 0, NULL, 1, 7));
	guest_msg(&e, m, wmsg(m, 3, 3, NULL, 2, 8, 7));
	spin(&e);
	n = recv(e.guest, buf, sizeof(buf), MSG_DONTWAIT);
	k = link_list(buf, n, types, ids, opc, 16, &data, &dlen);
	ok(k == 8 && ids[7] == 8 && opc[7] == 0, "get_surface_feedback is answered the same way");
	/* destroy feedback 5: the proxy sends its delete_id */
	guest_msg(&e, m, wmsg(m, 5, 0, NULL, 0));
	spin(&e);
	n = recv(e.guest, buf, sizeof(buf), MSG_DONTWAIT);
	ok(n > 0 && link_has(buf, n, 1, 1) && !e.closed,
	   "destroying a feedback: delete_id from the proxy");
	ok(wlp_conn_counters(e.c)->feedbacks == 2, "the proxy counts the feedbacks it answered");
	guest_msg(&e, m, wmsg(m, 3, 3, NULL, 2, 9, 3));
	spin(&e);
	ok(e.closed && strstr(e.why, "not a wl_surface"),
	   "get_surface_feedback on something not a surface ends the client");
	teardown(&e);
}

/*
 * The guest half: the host's main_device (no device of the guest's) becomes
 * the box's own virtio-gpu node, or, where there is none (this host), the
 * client ends with a line.
 */
static void test_guest_feedback(void)
{
	struct env e;
	uint8_t m[512], buf[4096];
	int a[2], b[2];
	struct stat st;
	bool node = stat("/dev/dri/renderD128", &st) == 0 || stat("/dev/dri/card0", &st) == 0;

	memset(&e, 0, sizeof(e));
	wlp_policy_default(&e.pol);
	socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, a);
	socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, b);
	e.loop = lbx_loop_new();
	e.c = wlp_conn_new(e.loop, WLP_GUEST, a[0], b[0], &e.pol, &ops, &e);
	/* the client: get_registry 2, bind the dmabuf global v4 as 3, get_default_feedback 4 */
	(void)!write(a[1], m, wmsg(m, 1, 1, NULL, 1, 2));
	(void)!write(a[1], m, wmsg(m, 2, 0, "zwp_linux_dmabuf_v1", 4, DMABUF, S, 4, 3));
	(void)!write(a[1], m, wmsg(m, 3, 2, NULL, 1, 4));
	spin(&e);
	ssize_t n = recv(b[1], buf, sizeof(buf), MSG_DONTWAIT);
	ok(n > 0 && link_has(buf, n, 3, 2), "the guest half passes get_default_feedback on");
	/* the host: main_device with 8 bytes of zeros */
	uint8_t fr[8];
	size_t ml = wmsg(m, 4, 2, NULL, 3, 8, 0, 0);
	lbx_put_u32le(fr, WLP_F_MSG);
	lbx_put_u32le(fr + 4, (uint32_t)ml);
	(void)!write(b[1], fr, 8);
	(void)!write(b[1], m, ml);
	spin(&e);
	n = recv(a[1], buf, sizeof(buf), MSG_DONTWAIT);
	if (node) {
		uint64_t dev = 0;
		if (n >= 20)
			memcpy(&dev, buf + 12, 8);
		ok(n == 20 && get32(buf) == 4 && get32(buf + 8) == 8 && dev == (uint64_t)st.st_rdev,
		   "main_device reaches the client as the box's own GPU node");
	} else {
		ok(e.closed && strstr(e.why, "no GPU node"),
		   "without a GPU node in the guest, a client's feedback ends it with a line");
	}
	wlp_conn_free(e.c);
	close(a[1]);
	close(b[1]);
	lbx_loop_free(e.loop);
}

int main(void)
{
	test_path();
	test_feedback();
	test_guest_feedback();
	test_refusals();
	return tap_done();
}
