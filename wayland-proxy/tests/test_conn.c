/* SPDX-License-Identifier: MIT */
/*
 * The host half's filter on a real event loop, with this test playing both
 * the compositor (a socketpair speaking Wayland, fds by SCM_RIGHTS) and the
 * guest half (a socketpair speaking link frames): the clipboard and primary
 * selection policy (deny, ask answered yes and no, allow) in both
 * directions, and the audit lines it writes.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "conn.h"
#include "evloop.h"
#include "link.h"
#include "policy.h"
#include "tap.h"
#include "writer.h"

struct env {
	struct lbx_loop *loop;
	struct wlp_conn *c;
	int comp, guest; /* the test's ends */
	struct wlp_policy pol;
	int audits;
	char last_audit[128];
	uint32_t ask_token;
	int asks;
	bool closed;
};

static void on_closed(struct wlp_conn *c, const char *why, void *ctx)
{
	struct env *e = ctx;

	e->closed = true;
	if (why)
		printf("# closed: %s\n", why);
}

static void on_audit(void *ctx, const char *event, const char *iface, const char *detail)
{
	struct env *e = ctx;

	e->audits++;
	snprintf(e->last_audit, sizeof(e->last_audit), "%s", event);
}

static int dummy;
static void *on_ask(void *ctx, struct wlp_conn *c, const char *what, uint32_t token)
{
	struct env *e = ctx;

	e->asks++;
	e->ask_token = token;
	return &dummy;
}

static void on_ask_cancel(void *ctx, void *h)
{
}

static const struct wlp_conn_ops ops = { on_closed, on_audit, on_ask, on_ask_cancel };

static void spin(struct env *e)
{
	for (int i = 0; i < 5; i++)
		lbx_loop_run_once(e->loop, 20);
}

/* A Wayland message: id, opcode, words (strings given as WSTR). */
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
		if (v == 0xdeadbeef && str) { /* the string goes here */
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
#define S 0xdeadbeefu

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

static void guest_u32(struct env *e, uint32_t type, uint32_t v, const char *data)
{
	uint8_t b[256];

	lbx_put_u32le(b, v);
	size_t n = data ? strlen(data) : 0;
	memcpy(b + 4, data ? data : "", n);
	to_guest_frame(e, type, b, 4 + n);
}

static void comp_send(struct env *e, const uint8_t *m, size_t n, int fd)
{
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	struct iovec iov = { (void *)m, n };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };

	if (fd >= 0) {
		memset(&u, 0, sizeof(u));
		mh.msg_control = u.buf;
		mh.msg_controllen = sizeof(u.buf);
		struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &fd, sizeof(int));
	}
	(void)!sendmsg(e->comp, &mh, 0);
}

/* What reached the compositor: bytes, and the first fd (or -1). */
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

/* Everything the guest side got, as raw frames. */
static ssize_t guest_read(struct env *e, uint8_t *buf, size_t n)
{
	return recv(e->guest, buf, n, MSG_DONTWAIT);
}

/* Frames of type in buf: the count, and the payload of the last. */
static int frames(const uint8_t *buf, ssize_t n, uint32_t type, char *last, size_t lastsz)
{
	int k = 0;

	for (ssize_t off = 0; n > 0 && off + 8 <= n;) {
		uint32_t t, len;
		memcpy(&t, buf + off, 4);
		memcpy(&len, buf + off + 4, 4);
		if (t == type) {
			k++;
			if (last) {
				size_t m = LBX_MIN((size_t)len, lastsz - 1);
				memcpy(last, buf + off + 8, m);
				last[m] = 0;
			}
		}
		off += 8 + len;
	}
	return k;
}

static void setup(struct env *e, enum wlp_clip to_host, enum wlp_clip from_host)
{
	int a[2], b[2];
	uint8_t m[512], buf[4096];
	int fd;

	memset(e, 0, sizeof(*e));
	wlp_policy_default(&e->pol);
	e->pol.to_host = to_host;
	e->pol.from_host = from_host;
	socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, a);
	socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, b);
	e->loop = lbx_loop_new();
	e->comp = a[1];
	e->guest = b[1];
	e->c = wlp_conn_new(e->loop, WLP_HOST, a[0], b[0], &e->pol, &ops, e);
	/* registry, two globals, both bound, a data device, an offer as the selection */
	guest_msg(e, m, wmsg(m, 1, 1, NULL, 1, 2));
	spin(e);
	comp_send(e, m, wmsg(m, 2, 0, "wl_seat", 3, 1, S, 7), -1);
	comp_send(e, m, wmsg(m, 2, 0, "wl_data_device_manager", 3, 2, S, 3), -1);
	spin(e);
	guest_msg(e, m, wmsg(m, 2, 0, "wl_seat", 4, 1, S, 7, 3));
	guest_msg(e, m, wmsg(m, 2, 0, "wl_data_device_manager", 4, 2, S, 3, 4));
	guest_msg(e, m, wmsg(m, 4, 1, NULL, 2, 5, 3));
	spin(e);
	comp_send(e, m, wmsg(m, 5, 0, NULL, 1, 0xff000000u), -1);
	comp_send(e, m, wmsg(m, 5, 5, NULL, 1, 0xff000000u), -1);
	spin(e);
	while (comp_read(e, buf, sizeof(buf), &fd) > 0)
		;
	while (guest_read(e, buf, sizeof(buf)) > 0)
		;
}

static void teardown(struct env *e)
{
	if (!e->closed)
		wlp_conn_free(e->c);
	close(e->comp);
	close(e->guest);
	lbx_loop_free(e->loop);
}

/* The box reads the host's selection: is the receive forwarded, does data come back? */
static void box_reads(enum wlp_clip mode, int answer, bool want_data, const char *what)
{
	struct env e;
	uint8_t m[512], buf[65536];
	char last[256] = "";
	int fd;

	setup(&e, WLP_CLIP_ALLOW, mode);
	guest_u32(&e, WLP_F_FD_PIPE, 7, NULL);
	guest_msg(&e, m, wmsg(m, 0xff000000u, 1, "text/plain", 1, S));
	spin(&e);
	ssize_t n = comp_read(&e, buf, sizeof(buf), &fd);
	if (mode == WLP_CLIP_DENY) {
		ok(n <= 0 && fd < 0, "%s: the receive does not reach the compositor", what);
	} else {
		ok(n > 0 && fd >= 0, "%s: the receive reaches the compositor with a pipe", what);
		if (fd >= 0) {
			(void)!write(fd, "host secret", 11);
			close(fd);
		}
	}
	if (mode == WLP_CLIP_ASK) {
		is_int(e.asks, 1, "%s: the user is asked once", what);
		spin(&e);
		n = guest_read(&e, buf, sizeof(buf));
		is_int(frames(buf, n, WLP_F_PIPE_DATA, NULL, 0), 0,
		       "%s: nothing reaches the box before the answer", what);
		wlp_conn_answer(e.c, e.ask_token, answer);
	}
	spin(&e);
	n = guest_read(&e, buf, sizeof(buf));
	int data = frames(buf, n, WLP_F_PIPE_DATA, last, sizeof(last));
	if (want_data)
		ok(data == 1 && strcmp(last + 4, "host secret") == 0,
		   "%s: the host's data reaches the box", what);
	else
		is_int(data, 0, "%s: none of the host's data reaches the box", what);
	is_int(frames(buf, n, WLP_F_PIPE_CLOSE, NULL, 0), 1, "%s: the box's pipe is closed", what);
	if (!want_data)
		ok(e.audits >= 1 && strcmp(e.last_audit, "refused selection read") == 0,
		   "%s: an audit line says so", what);
	ok(!e.closed, "%s: the client stays connected", what);
	teardown(&e);
}

/* The host reads the box's selection. */
static void host_reads(enum wlp_clip mode, int answer, bool want_data, const char *what)
{
	struct env e;
	uint8_t m[512], buf[65536];
	int fd, p[2];

	setup(&e, mode, WLP_CLIP_ALLOW);
	guest_msg(&e, m, wmsg(m, 4, 0, NULL, 1, 6));	     /* create_data_source 6 */
	guest_msg(&e, m, wmsg(m, 6, 0, "text/plain", 1, S)); /* offer */
	guest_msg(&e, m, wmsg(m, 5, 1, NULL, 2, 6, 1));	     /* set_selection */
	guest_msg(&e, m, wmsg(m, 1, 0, NULL, 1, 8));	     /* sync */
	spin(&e);
	ssize_t n = comp_read(&e, buf, sizeof(buf), &fd);
	/* create_data_source 12 + offer 24 + set_selection 16 + sync 12 bytes */
	if (mode == WLP_CLIP_DENY) {
		is_int(n, 12 + 24 + 12, "%s: set_selection does not reach the compositor", what);
		ok(strcmp(e.last_audit, "refused selection offer") == 0, "%s: audited", what);
		teardown(&e);
		return;
	}
	is_int(n, 12 + 24 + 16 + 12, "%s: set_selection reaches the compositor", what);
	(void)!pipe(p);
	comp_send(&e, m, wmsg(m, 6, 1, "text/plain", 1, S), p[1]); /* send(mime, fd) */
	close(p[1]);
	spin(&e);
	n = guest_read(&e, buf, sizeof(buf));
	char h[8];
	ok(frames(buf, n, WLP_F_FD_PIPE, h, sizeof(h)) == 1, "%s: the box is asked for data", what);
	uint32_t handle;
	memcpy(&handle, h, 4);
	guest_u32(&e, WLP_F_PIPE_DATA, handle, "box text");
	guest_u32(&e, WLP_F_PIPE_CLOSE, handle, NULL);
	spin(&e);
	if (mode == WLP_CLIP_ASK) {
		is_int(e.asks, 1, "%s: the user is asked", what);
		wlp_conn_answer(e.c, e.ask_token, answer);
		spin(&e);
	}
	char got[64] = "";
	fcntl(p[0], F_SETFL, O_NONBLOCK);
	n = read(p[0], got, sizeof(got) - 1);
	if (want_data)
		ok(n == 8 && memcmp(got, "box text", 8) == 0, "%s: the host gets the box's data",
		   what);
	else
		ok(n <= 0, "%s: the host gets nothing", what);
	close(p[0]);
	ok(!e.closed, "%s: the client stays connected", what);
	teardown(&e);
}

int main(void)
{
	box_reads(WLP_CLIP_DENY, 0, false, "host->box deny");
	box_reads(WLP_CLIP_ALLOW, 0, true, "host->box allow");
	box_reads(WLP_CLIP_ASK, 1, true, "host->box ask, yes");
	box_reads(WLP_CLIP_ASK, 0, false, "host->box ask, no");
	host_reads(WLP_CLIP_DENY, 0, false, "box->host deny");
	host_reads(WLP_CLIP_ALLOW, 0, true, "box->host allow");
	host_reads(WLP_CLIP_ASK, 1, true, "box->host ask, yes");
	host_reads(WLP_CLIP_ASK, 0, false, "box->host ask, no");
	return tap_done();
}
