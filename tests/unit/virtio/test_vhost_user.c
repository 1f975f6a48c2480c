/* SPDX-License-Identifier: MIT */
/*
 * The vhost-user back-end library against a front-end played by hand over
 * a socketpair, with guest memory in a memfd, serving a small echo device
 * (copies each chain's readable bytes into its writable buffers). The test
 * is also the guest driver (vdriver.h); the front-end is vfrontend.h, which
 * the back-ends' device-model tests share. Covers the QEMU-style
 * handshake, ring life cycle (disabled, enabled, stopped, restarted), kicks
 * and calls, EVENT_IDX through the library, config space, memory table
 * replacement, and malformed or refused messages: each must be answered
 * or end the session cleanly, never crash, and never leak an fd.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "evloop.h"
#include "log.h"
#include "tap.h"
#include "vdriver.h"
#include "vfrontend.h"
#include "vhost_user.h"
#include "vhost_user_backend.h"
#include "virtq.h"

#define MEM_SIZE	(1024 * 1024)
#define QSIZE		16
#define DEV_FEATURE_BIT 3 /* some device-specific feature */
#define F(b)		(1ull << (b))

/* ---- the echo device ---- */

struct echo {
	int kicks, chains, stopped, disconnects;
	uint8_t config[8];
};

static void echo_kicked(struct lbx_vu_dev *dev, unsigned qidx, struct lbx_virtq *q)
{
	static struct lbx_virtq_chain c;
	struct echo *e = lbx_vu_dev_data(dev);
	uint8_t tmp[4096];

	e->kicks++;
	while (lbx_virtq_pop(q, &c) == 1) {
		size_t n = lbx_iov_to_buf(c.rd, c.nrd, 0, tmp, LBX_MIN(sizeof(tmp), c.wr_len));

		lbx_vu_dev_push(dev, qidx, c.head,
				(uint32_t)lbx_iov_from_buf(c.wr, c.nwr, 0, tmp, n));
		e->chains++;
	}
	lbx_vu_dev_notify(dev, qidx);
}

static int echo_get_config(struct lbx_vu_dev *dev, uint32_t off, void *buf, uint32_t len)
{
	struct echo *e = lbx_vu_dev_data(dev);

	memcpy(buf, e->config + off, len);
	return 0;
}

static int echo_set_config(struct lbx_vu_dev *dev, uint32_t off, const void *buf, uint32_t len,
			   uint32_t flags)
{
	struct echo *e = lbx_vu_dev_data(dev);

	memcpy(e->config + off, buf, len);
	return 0;
}

static void echo_stopped(struct lbx_vu_dev *dev, unsigned qidx)
{
	((struct echo *)lbx_vu_dev_data(dev))->stopped++;
}

static void echo_disconnected(struct lbx_vu_dev *dev)
{
	((struct echo *)lbx_vu_dev_data(dev))->disconnects++;
}

static const struct lbx_vu_ops echo_ops = {
	.name = "echo",
	.num_queues = 2,
	.features = F(DEV_FEATURE_BIT),
	.config_size = 8,
	.queue_kicked = echo_kicked,
	.get_config = echo_get_config,
	.set_config = echo_set_config,
	.queue_stopped = echo_stopped,
	.disconnected = echo_disconnected,
};

/* ---- the front-end ---- */

struct fe {
	struct vfe vu;	 /* front-end: socket, guest RAM, the back-end's loop and device */
	struct vfe_vq q; /* queue 0 as front-end and guest driver see it */
	struct echo echo;
};

static void connect_fe(struct fe *f)
{
	if (vfe_connect(&f->vu) < 0) {
		ok(0, "socketpair and attach");
		exit(tap_done());
	}
}

/* Publish an echo request: 'text' readable, 64 bytes writable, at slot pair k. */
static void publish_echo(struct fe *f, unsigned k, const char *text)
{
	uint64_t in = vd_free_gpa(&f->q.d) + 0x2000 * (uint64_t)k, out = in + 0x1000;
	uint16_t d0 = (uint16_t)(2 * k % QSIZE), d1 = (uint16_t)(d0 + 1);

	memcpy(vd_ptr(&f->q.d, in), text, strlen(text));
	memset(vd_ptr(&f->q.d, out), 0, 64);
	vd_desc(&f->q.d, d0, in, (uint32_t)strlen(text), VD_F_NEXT, d1);
	vd_desc(&f->q.d, d1, out, 64, VD_F_WRITE, 0);
	vd_publish(&f->q.d, d0);
}

static bool echoed(struct fe *f, unsigned k, const char *text)
{
	uint64_t out = vd_free_gpa(&f->q.d) + 0x2000 * (uint64_t)k + 0x1000;
	uint32_t id, len;
	bool got = vd_get_used(&f->q.d, &id, &len);

	/* Like a driver re-enabling callbacks: interrupt me after what I have seen. */
	vd_set_used_event(&f->q.d, f->q.d.used_seen);
	return got && id == 2 * k % QSIZE && len == strlen(text) &&
	       !memcmp(vd_ptr(&f->q.d, out), text, len);
}

static void kick(struct fe *f)
{
	if (vfe_kick(&f->vu, &f->q))
		ok(0, "kick write");
}

/* ---- the happy path, as QEMU drives it ---- */

static void test_handshake(struct fe *f)
{
	uint64_t feats = vfe_get_u64(&f->vu, LBX_VU_GET_FEATURES);
	uint64_t want = F(LBX_VIRTIO_F_VERSION_1) | F(LBX_VIRTIO_F_INDIRECT_DESC) |
			F(LBX_VIRTIO_F_EVENT_IDX) | F(LBX_VU_F_PROTOCOL_FEATURES);
	uint64_t proto;
	struct lbx_vu_msg m, r;
	struct lbx_vu_mem_region reg = vfe_whole_mem(&f->vu);

	is_int(feats, want | F(DEV_FEATURE_BIT),
	       "GET_FEATURES: ring features, PROTOCOL_FEATURES and the device's bit");
	lbx_vu_encode_empty(&m, LBX_VU_SET_OWNER, 0);
	is_int(vfe_request(&f->vu, &m, &r), 0, "SET_OWNER has no reply");
	proto = vfe_get_u64(&f->vu, LBX_VU_GET_PROTOCOL_FEATURES);
	is_int(proto,
	       F(LBX_VU_PROTOCOL_F_MQ) | F(LBX_VU_PROTOCOL_F_REPLY_ACK) |
		   F(LBX_VU_PROTOCOL_F_CONFIG),
	       "GET_PROTOCOL_FEATURES: MQ, REPLY_ACK, CONFIG");
	ok(lbx_vu_encode_u64(&m, LBX_VU_SET_PROTOCOL_FEATURES, 0, proto) == 0 &&
	       vfe_request(&f->vu, &m, &r) == 0,
	   "SET_PROTOCOL_FEATURES accepted without a reply");
	is_int(vfe_get_u64(&f->vu, LBX_VU_GET_QUEUE_NUM), 2, "GET_QUEUE_NUM");
	is_int(vfe_set_u64(&f->vu, LBX_VU_SET_FEATURES, want), 0, "SET_FEATURES acked 0");
	is_int(lbx_vu_dev_features(f->vu.dev), want, "features recorded");
	is_int(vfe_set_mem(&f->vu, &reg, 1, &f->vu.memfd), 0, "SET_MEM_TABLE acked 0");
	is_int(lbx_vu_dev_mem(f->vu.dev)->nregions, 1, "one region mapped");

	vd_layout(&f->q.d, QSIZE);
	is_int(vfe_set_state(&f->vu, LBX_VU_SET_VRING_NUM, 0, QSIZE), 0, "SET_VRING_NUM");
	is_int(vfe_set_state(&f->vu, LBX_VU_SET_VRING_BASE, 0, 0), 0, "SET_VRING_BASE");
	is_int(vfe_set_addr(&f->vu, 0, vfe_uva(&f->vu, f->q.d.desc_gpa),
			    vfe_uva(&f->vu, f->q.d.avail_gpa), vfe_uva(&f->vu, f->q.d.used_gpa)),
	       0, "SET_VRING_ADDR");
	is_int(vfe_set_fd(&f->vu, LBX_VU_SET_VRING_CALL, 0, f->q.call), 0, "SET_VRING_CALL");
	is_int(vfe_set_fd(&f->vu, LBX_VU_SET_VRING_ERR, 0, f->q.err), 0, "SET_VRING_ERR");
	publish_echo(f, 0, "early");
	is_int(vfe_set_fd(&f->vu, LBX_VU_SET_VRING_KICK, 0, f->q.kick), 0,
	       "SET_VRING_KICK starts the ring");
	is_int(f->echo.kicks, 0, "ring is disabled until SET_VRING_ENABLE (PROTOCOL_FEATURES)");
	ok(lbx_vu_dev_queue(f->vu.dev, 0) == NULL, "no queue handed out while disabled");
	kick(f);
	is_int(vd_used_idx(&f->q.d), 0, "a kick on a disabled ring does nothing");
	is_int(vfe_set_state(&f->vu, LBX_VU_SET_VRING_ENABLE, 0, 1), 0, "SET_VRING_ENABLE 1");
	ok(echoed(f, 0, "early"), "enabling processes what was queued: bytes echoed");
	ok(vfe_drain(f->q.call) >= 1, "call eventfd signalled");
	ok(lbx_vu_dev_queue(f->vu.dev, 0) != NULL, "queue handed out when running");
}

static void test_running(struct fe *f)
{
	struct lbx_vu_msg m, r;
	struct lbx_vu_config c = { .offset = 0, .size = 8 };
	struct lbx_vu_config got;

	publish_echo(f, 1, "kicked");
	kick(f);
	ok(echoed(f, 1, "kicked"), "kick: chain echoed");
	ok(vfe_drain(f->q.call) >= 1, "kick: call signalled");

	/* EVENT_IDX through the library: the driver wants no interrupt yet. */
	vd_set_used_event(&f->q.d, (uint16_t)(vd_used_idx(&f->q.d) + 5));
	publish_echo(f, 2, "quiet");
	kick(f);
	ok(echoed(f, 2, "quiet"), "chain echoed");
	ok(!vfe_readable(f->q.call), "used_event ahead: no call");
	is_int(vd_avail_event(&f->q.d), 3, "back-end asked for a kick at avail 3");

	ok(lbx_vu_encode_config(&m, LBX_VU_GET_CONFIG, 0, &c) == 0 &&
	       vfe_request(&f->vu, &m, &r) == 1 && lbx_vu_decode_config(&r, &got) == 0 &&
	       !memcmp(got.data, "ECHOCFG", 8),
	   "GET_CONFIG returns the config space");
	c.offset = 4;
	ok(lbx_vu_encode_config(&m, LBX_VU_GET_CONFIG, 0, &c) == 0 &&
	       vfe_request(&f->vu, &m, &r) == 1 && r.size == 0,
	   "GET_CONFIG beyond the config space: empty reply (spec: error)");
	c.offset = 2;
	c.size = 3;
	memcpy(c.data, "xyz", 3);
	ok(lbx_vu_encode_config(&m, LBX_VU_SET_CONFIG, 0, &c) == 0 && vfe_acked(&f->vu, &m) == 0 &&
	       !memcmp(f->echo.config, "ECxyzFG", 8),
	   "SET_CONFIG writes through to the device");
	c.offset = 7;
	ok(lbx_vu_encode_config(&m, LBX_VU_SET_CONFIG, 0, &c) == 0 && vfe_acked(&f->vu, &m) == 1,
	   "SET_CONFIG beyond the config space: refused");

	/* Memory table replaced while the ring runs: rings are re-translated. */
	{
		struct lbx_vu_mem_region reg = vfe_whole_mem(&f->vu);

		is_int(vfe_set_mem(&f->vu, &reg, 1, &f->vu.memfd), 0,
		       "SET_MEM_TABLE again while running");
		publish_echo(f, 3, "remapped");
		kick(f);
		ok(echoed(f, 3, "remapped"), "ring works after the remap");
	}
}

static void test_stop_restart(struct fe *f)
{
	struct lbx_vu_msg m, r;
	struct lbx_vu_vring_state s = { 0, 0 };
	int newkick = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);

	ok(lbx_vu_encode_vring_state(&m, LBX_VU_GET_VRING_BASE, 0, &s) == 0 &&
	       vfe_request(&f->vu, &m, &r) == 1 &&
	       lbx_vu_check_reply(&r, LBX_VU_GET_VRING_BASE) == 0 &&
	       lbx_vu_decode_vring_state(&r, &s) == 0,
	   "GET_VRING_BASE replies");
	is_int(s.num, 4, "with the next avail index");
	is_int(f->echo.stopped, 1, "the device heard the queue stop");
	publish_echo(f, 4, "while stopped");
	kick(f);
	is_int(vd_used_idx(&f->q.d), 4, "a stopped ring is not processed");
	is_int(vfe_set_state(&f->vu, LBX_VU_SET_VRING_BASE, 0, 4), 0, "SET_VRING_BASE 4");
	is_int(vfe_set_fd(&f->vu, LBX_VU_SET_VRING_KICK, 0, newkick), 0,
	       "new SET_VRING_KICK restarts");
	ok(echoed(f, 4, "while stopped"), "the waiting chain is processed on restart");
	close(f->q.kick);
	f->q.kick = newkick;
}

/* ---- refused requests: the session goes on ---- */

static void test_refusals(struct fe *f)
{
	struct lbx_vu_mem_region regs[2] = { vfe_whole_mem(&f->vu), vfe_whole_mem(&f->vu) };
	int fds[2] = { f->vu.memfd, f->vu.memfd };
	int efd = eventfd(0, EFD_CLOEXEC);
	struct lbx_vu_msg m;

	is_int(vfe_set_state(&f->vu, LBX_VU_SET_VRING_NUM, 5, 16), 1,
	       "SET_VRING_NUM queue 5 of 2: refused");
	is_int(vfe_set_state(&f->vu, LBX_VU_SET_VRING_NUM, 1, 12), 1, "size 12: refused");
	is_int(vfe_set_state(&f->vu, LBX_VU_SET_VRING_NUM, 1, 65536), 1, "size 65536: refused");
	is_int(vfe_set_state(&f->vu, LBX_VU_SET_VRING_NUM, 0, 16), 1,
	       "size of a running queue: refused");
	is_int(vfe_set_state(&f->vu, LBX_VU_SET_VRING_BASE, 1, 70000), 1,
	       "base above 65535: refused");
	is_int(vfe_set_state(&f->vu, LBX_VU_SET_VRING_ENABLE, 0, 2), 1,
	       "SET_VRING_ENABLE 2: refused");
	is_int(vfe_set_fd(&f->vu, LBX_VU_SET_VRING_KICK, 200, efd), 1,
	       "kick for queue 200: refused");
	is_int(vfe_set_fd(&f->vu, LBX_VU_SET_VRING_KICK, 1, -1), 1,
	       "polling kick (no fd): refused");
	is_int(vfe_set_state(&f->vu, LBX_VU_SET_VRING_NUM, 1, 16), 0, "queue 1 size 16");
	is_int(vfe_set_addr(&f->vu, 1, vfe_uva(&f->vu, MEM_SIZE - 64), vfe_uva(&f->vu, 0x1000),
			    vfe_uva(&f->vu, 0x2000)),
	       1, "descriptor table running out of memory: refused");
	is_int(vfe_set_addr(&f->vu, 1, 0x1000, vfe_uva(&f->vu, 0x1000), vfe_uva(&f->vu, 0x2000)), 1,
	       "descriptor table at a non-uva: refused");
	is_int(vfe_set_addr(&f->vu, 1, vfe_uva(&f->vu, 0x8), vfe_uva(&f->vu, 0x1000),
			    vfe_uva(&f->vu, 0x2000)),
	       1, "misaligned descriptor table: refused");
	is_int(vfe_set_fd(&f->vu, LBX_VU_SET_VRING_KICK, 1, efd), 1, "so queue 1 does not start");

	regs[1].gpa = MEM_SIZE / 2;
	regs[1].uva += 1ull << 32;
	is_int(vfe_set_mem(&f->vu, regs, 2, fds), 1,
	       "SET_MEM_TABLE with overlapping gpas: refused");
	regs[0].size = 4 * MEM_SIZE;
	is_int(vfe_set_mem(&f->vu, regs, 1, fds), 1, "region larger than its file: refused");
	regs[0].size = 0;
	is_int(vfe_set_mem(&f->vu, regs, 1, fds), 1, "empty region: refused");
	regs[0] = vfe_whole_mem(&f->vu);
	regs[0].mmap_offset = 2 * MEM_SIZE;
	is_int(vfe_set_mem(&f->vu, regs, 1, fds), 1, "mmap offset beyond the file: refused");
	regs[0] = vfe_whole_mem(&f->vu);
	regs[0].gpa = UINT64_MAX - 0xfff;
	is_int(vfe_set_mem(&f->vu, regs, 1, fds), 1, "region wrapping the gpa space: refused");
	is_int(lbx_vu_dev_mem(f->vu.dev)->nregions, 1, "old memory table kept");

	is_int(vfe_set_u64(&f->vu, LBX_VU_SET_FEATURES, F(LBX_VU_F_LOG_ALL)), 1,
	       "SET_FEATURES with LOG_ALL (not offered): refused");
	is_int(vfe_set_u64(&f->vu, LBX_VU_SET_PROTOCOL_FEATURES,
			   F(LBX_VU_PROTOCOL_F_REPLY_ACK) | F(LBX_VU_PROTOCOL_F_LOG_SHMFD)),
	       1, "SET_PROTOCOL_FEATURES with LOG_SHMFD: refused");
	ok(lbx_vu_encode_u64(&m, LBX_VU_SET_LOG_BASE, 0, 0) == 0, "encode SET_LOG_BASE");
	m.fds[0] = efd;
	m.nfds = 1;
	is_int(vfe_acked(&f->vu, &m), 1, "SET_LOG_BASE (dirty logging): refused");
	lbx_vu_encode_empty(&m, 99, 0);
	is_int(vfe_acked(&f->vu, &m), 1, "unknown request 99 with NEED_REPLY: refused");

	ok(lbx_vu_dev_connected(f->vu.dev), "session still up after all refusals");
	publish_echo(f, 5, "still here");
	kick(f);
	ok(echoed(f, 5, "still here"), "and queue 0 still works");
	close(efd);
}

static void test_broken_ring(struct fe *f)
{
	int chains = f->echo.chains;

	vd_desc(&f->q.d, 14, vd_free_gpa(&f->q.d), 8, VD_F_NEXT, 15);
	vd_desc(&f->q.d, 15, vd_free_gpa(&f->q.d), 8, VD_F_NEXT, 14);
	vd_publish(&f->q.d, 14);
	kick(f);
	ok(vfe_drain(f->q.err) >= 1, "a looping chain breaks the ring: error eventfd signalled");
	ok(lbx_vu_dev_queue(f->vu.dev, 0) == NULL, "broken queue no longer handed out");
	publish_echo(f, 6, "ignored");
	kick(f);
	is_int(f->echo.chains, chains, "nothing more processed on the broken ring");
	is_int(vfe_get_u64(&f->vu, LBX_VU_GET_QUEUE_NUM), 2, "the session goes on");
}

/* ---- malformed messages: the session ends cleanly ---- */

static int send_raw(int sock, uint32_t req, uint32_t flags, uint32_t size, const void *payload,
		    size_t len, const int *fds, unsigned nfds)
{
	uint8_t buf[64];
	union {
		char c[CMSG_SPACE(sizeof(int) * 16)];
		struct cmsghdr align;
	} ctl;
	struct iovec iov = { buf, 12 + len };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };

	lbx_put_u32le(buf, req);
	lbx_put_u32le(buf + 4, flags);
	lbx_put_u32le(buf + 8, size);
	memcpy(buf + 12, payload, len);
	if (nfds) {
		struct cmsghdr *c;

		memset(&ctl, 0, sizeof(ctl));
		mh.msg_control = ctl.c;
		mh.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
		c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
		memcpy(CMSG_DATA(c), fds, sizeof(int) * nfds);
	}
	return sendmsg(sock, &mh, MSG_NOSIGNAL) == (ssize_t)(12 + len) ? 0 : -1;
}

struct bad_msg {
	const char *name;
	uint32_t req, flags, size;
	uint8_t payload[40];
	size_t len;
	unsigned nfds;
};

static const struct bad_msg bad_msgs[] = {
	{ "short header", LBX_VU_GET_FEATURES, 1, 0, { 0 }, 0, 0 }, /* sent as 5 bytes */
	{ "payload size above the cap", LBX_VU_SET_FEATURES, 1, 4096, { 0 }, 8, 0 },
	{ "bad version", LBX_VU_GET_FEATURES, 2, 0, { 0 }, 0, 0 },
	{ "nine fds", LBX_VU_GET_FEATURES, 1, 0, { 0 }, 0, 9 },
	{ "SET_VRING_NUM with 4 payload bytes", LBX_VU_SET_VRING_NUM, 1, 4, { 0 }, 4, 0 },
	{ "SET_MEM_TABLE of 0 regions", LBX_VU_SET_MEM_TABLE, 1, 8, { 0 }, 8, 0 },
	{ "SET_MEM_TABLE of 1 region without its fd", LBX_VU_SET_MEM_TABLE, 1, 40, { 1 }, 40, 0 },
	{ "SET_VRING_CALL with two fds", LBX_VU_SET_VRING_CALL, 1, 8, { 0 }, 8, 2 },
	{ "SET_VRING_KICK with unknown bits", LBX_VU_SET_VRING_KICK, 1, 8, { 0, 0, 4 }, 8, 1 },
	{ "GET_VRING_BASE for queue 7", LBX_VU_GET_VRING_BASE, 1, 8, { 7 }, 8, 0 },
	{ "unknown request without NEED_REPLY", 99, 1, 0, { 0 }, 0, 0 },
	{ "a reply sent as a request", LBX_VU_GET_FEATURES, 1 | LBX_VU_FLAG_REPLY, 0, { 0 }, 0, 0 },
	{ "GET_FEATURES with a payload", LBX_VU_GET_FEATURES, 1, 8, { 0 }, 8, 0 },
	{ "payload cut short", LBX_VU_SET_FEATURES, 1, 8, { 0 }, 4, 0 },
};

static void test_bad_msg(struct fe *f, const struct bad_msg *b)
{
	int fds[9];
	int before = f->echo.disconnects;

	for (unsigned i = 0; i < b->nfds; i++)
		fds[i] = eventfd(0, EFD_CLOEXEC);
	connect_fe(f);
	if (!strcmp(b->name, "short header")) {
		if (write(f->vu.sock, "\x01\0\0\0\x01", 5) != 5)
			ok(0, "write");
	} else if (send_raw(f->vu.sock, b->req, b->flags, b->size, b->payload, b->len, fds,
			    b->nfds)) {
		ok(0, "%s: send", b->name);
	}
	shutdown(f->vu.sock, SHUT_WR); /* a truncated message must not wait forever */
	vfe_pump(&f->vu);
	ok(f->echo.disconnects == before + 1 && !lbx_vu_dev_connected(f->vu.dev),
	   "%s: session closed cleanly", b->name);
	close(f->vu.sock);
	for (unsigned i = 0; i < b->nfds; i++)
		close(fds[i]);
}

/* ---- listening ---- */

static void test_listen(struct fe *f)
{
	const char *tmp = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
	char dir[80], path[108];
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct stat st;
	int before = f->echo.disconnects;

	snprintf(dir, sizeof(dir), "%.60s/lbx-vu-test-XXXXXX", tmp);
	if (!mkdtemp(dir)) {
		ok(0, "mkdtemp");
		return;
	}
	snprintf(path, sizeof(path), "%s/vu.sock", dir);
	close(open(path, O_CREAT | O_WRONLY | O_CLOEXEC, 0600));
	is_int(lbx_vu_dev_listen(f->vu.dev, path), -EEXIST,
	       "listen refuses to replace a regular file");
	unlink(path);
	is_int(lbx_vu_dev_listen(f->vu.dev, path), 0, "listen on a fresh path");
	memcpy(sa.sun_path, path, strlen(path) + 1);
	for (int round = 1; round <= 2; round++) {
		f->vu.sock = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		ok(connect(f->vu.sock, (struct sockaddr *)&sa, sizeof(sa)) == 0, "connect %d",
		   round);
		vfe_pump(&f->vu);
		ok(lbx_vu_dev_connected(f->vu.dev), "accepted %d", round);
		is_int(vfe_get_u64(&f->vu, LBX_VU_GET_QUEUE_NUM), 2, "session %d answers", round);
		vfe_disconnect(&f->vu);
		is_int(f->echo.disconnects, before + round, "session %d ended", round);
	}
	lbx_vu_dev_free(f->vu.dev);
	f->vu.dev = NULL;
	ok(lstat(path, &st) < 0 && errno == ENOENT, "free removes the socket file");
	rmdir(dir);
}

int main(void)
{
	struct fe f = { .vu = { .sock = -1, .memfd = -1 } };
	int fds_at_start = vfe_count_fds();

	lbx_log_init("test-vhost-user");
	lbx_log_set_level(LBX_LOG_ERROR); /* every refusal below logs a warning */
	memcpy(f.echo.config, "ECHOCFG", 8);
	f.vu.loop = lbx_loop_new();
	f.vu.dev = lbx_vu_dev_new(f.vu.loop, &echo_ops, &f.echo);
	if (vfe_mem_init(&f.vu, MEM_SIZE) < 0) {
		printf("1..0 # SKIP memfd_create unavailable\n");
		return 0;
	}
	ok(f.vu.loop && f.vu.dev && vfe_vq_init(&f.vu, &f.q, 0, 0, QSIZE) == 0, "set-up");
	ok(lbx_vu_dev_new(f.vu.loop, &(struct lbx_vu_ops){ .num_queues = 1 }, NULL) == NULL,
	   "a device without queue_kicked is refused");

	connect_fe(&f);
	test_handshake(&f);
	test_running(&f);
	test_stop_restart(&f);
	test_refusals(&f);
	test_broken_ring(&f);
	vfe_disconnect(&f.vu);
	is_int(f.echo.disconnects, 1, "front-end closing ends the session");
	ok(!lbx_vu_dev_connected(f.vu.dev), "not connected");
	is_int(lbx_vu_dev_mem(f.vu.dev)->nregions, 0, "guest memory unmapped");
	is_int(f.echo.stopped, 2, "queue 0 stopped by GET_VRING_BASE and by the disconnect");

	for (size_t i = 0; i < LBX_ARRAY_SIZE(bad_msgs); i++)
		test_bad_msg(&f, &bad_msgs[i]);
	test_listen(&f);

	if (f.vu.dev)
		lbx_vu_dev_free(f.vu.dev);
	vfe_mem_free(&f.vu);
	vfe_vq_free(&f.q);
	lbx_loop_free(f.vu.loop);
	is_int(vfe_count_fds(), fds_at_start, "no fd leaked");
	return tap_done();
}
