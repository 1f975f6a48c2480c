/* SPDX-License-Identifier: MIT */
/*
 * lbx-vsockd as a device model: the test is both the vhost-user front-end
 * (tests/unit/virtio/vfrontend.h) and the guest's virtio-vsock driver
 * (virtio 1.2 §5.10; vdriver.h), with guest RAM in a memfd, and it also
 * plays the host programs on the unix-socket side (Firecracker's
 * "CONNECT <port>\n" / "OK <port>\n" and UDS_PATH_<port>, see vsockd.h).
 * The device runs on an lbx_loop in this process that every step pumps.
 *
 * Packet headers are encoded and decoded here by hand from the spec's
 * layout (§5.10.6), not with the device's own vsock_pkt.c. The driver
 * checks every RW packet against the credit it advertised (§5.10.6.3).
 * White-box looks at struct vsockd only check that buffers stay bounded.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "log.h"
#include "tap.h"
#include "vdriver.h"
#include "vfrontend.h"
#include "vsockd.h"

#define MEM_SIZE (8u << 20)
#define QSIZE	 64
#define CID	 42 /* the guest's */
#define HOST	 2  /* VMADDR_CID_HOST */

/* Guest RAM layout: three rings, then the buffers. */
#define RING_BASE(q) (0x10000u * (q))
#define RX_PAY	     4096 /* payload room of one rx buffer, as Linux posts them */
#define RX_SLOTS     (QSIZE / 2)
#define RX_BUF	     0x100000u
#define RX_STRIDE    0x2000u
#define TX_SLOTS     (QSIZE / 2)
#define TX_BUF	     0x200000u
#define TX_STRIDE    0x11000u /* header + 64 KiB */
#define EV_BUF	     0x600000u

#define INBOX 512

/* One packet from the rx queue. */
struct pkt {
	struct vsock_hdr h;
	uint32_t used_len;
};

/* The guest's end of one connection. */
struct gconn {
	uint32_t gport, hport;
	uint32_t buf_alloc, fwd_cnt;	     /* what the driver tells the device */
	uint32_t adv_buf_alloc, adv_fwd_cnt; /* as the last packet sent told it */
	uint32_t rx_bytes;		     /* RW bytes received */
	uint8_t *rx;			     /* and the first RX_KEEP of them */
	uint32_t tx_cnt;		     /* RW bytes sent */
	uint32_t peer_buf_alloc, peer_fwd_cnt;
	unsigned nrw, max_rw, credit_updates, credit_requests;
	unsigned violations; /* RW beyond the credit we advertised */
	int host_fd;	     /* the host program's end */
};
#define RX_KEEP (4u << 20)

struct t {
	struct vfe fe;
	struct vfe_vq q[3];
	struct vsockd *d;
	char dir[64], uds[128];
	struct pkt inbox[INBOX];
	unsigned in_head, in_tail;
	unsigned rx_empty;   /* rx buffers given back unused */
	unsigned rx_bad_len; /* used len not header + payload */
	bool hold_rx;	     /* do not give the device new rx buffers */
	struct gconn *conns[16];
	unsigned nconns;
};

/* ---- headers, by the spec's layout ---- */

static uint64_t get64(const uint8_t *p)
{
	return (uint64_t)vd_get32(p) | (uint64_t)vd_get32(p + 4) << 32;
}

static void hdr_get(const uint8_t *p, struct vsock_hdr *h)
{
	h->src_cid = get64(p);
	h->dst_cid = get64(p + 8);
	h->src_port = vd_get32(p + 16);
	h->dst_port = vd_get32(p + 20);
	h->len = vd_get32(p + 24);
	h->type = vd_get16(p + 28);
	h->op = vd_get16(p + 30);
	h->flags = vd_get32(p + 32);
	h->buf_alloc = vd_get32(p + 36);
	h->fwd_cnt = vd_get32(p + 40);
}

static void hdr_put(uint8_t *p, const struct vsock_hdr *h)
{
	lbx_put_u64le(p, h->src_cid);
	lbx_put_u64le(p + 8, h->dst_cid);
	lbx_put_u32le(p + 16, h->src_port);
	lbx_put_u32le(p + 20, h->dst_port);
	lbx_put_u32le(p + 24, h->len);
	lbx_put_u16le(p + 28, h->type);
	lbx_put_u16le(p + 30, h->op);
	lbx_put_u32le(p + 32, h->flags);
	lbx_put_u32le(p + 36, h->buf_alloc);
	lbx_put_u32le(p + 40, h->fwd_cnt);
}

/* ---- the rx queue ---- */

static struct vdrv *rxq(struct t *t)
{
	return &t->q[VSOCKD_RX].d;
}

/* Post one rx buffer (odd slots split header and payload); size 0: the usual one. */
static void rx_post(struct t *t, uint32_t size)
{
	struct vdrv *d = rxq(t);
	unsigned s = d->avail_idx % RX_SLOTS;
	uint64_t buf = RX_BUF + (uint64_t)s * RX_STRIDE;
	uint16_t d0 = (uint16_t)(2 * s);

	if (size)
		vd_desc(d, d0, buf, size, VD_F_WRITE, 0);
	else if (s % 2)
		vd_desc(d, d0, buf, VSOCK_HDR_SIZE + RX_PAY, VD_F_WRITE, 0);
	else {
		vd_desc(d, d0, buf, VSOCK_HDR_SIZE, VD_F_WRITE | VD_F_NEXT, (uint16_t)(d0 + 1));
		vd_desc(d, (uint16_t)(d0 + 1), buf + VSOCK_HDR_SIZE, RX_PAY, VD_F_WRITE, 0);
	}
	vd_publish(d, d0);
}

static unsigned rx_outstanding(struct t *t)
{
	return (uint16_t)(rxq(t)->avail_idx - rxq(t)->used_seen);
}

static struct gconn *find_gconn(struct t *t, uint32_t hport, uint32_t gport)
{
	for (unsigned i = 0; i < t->nconns; i++)
		if (t->conns[i]->hport == hport && t->conns[i]->gport == gport)
			return t->conns[i];
	return NULL;
}

static void inbox_put(struct t *t, const struct pkt *p)
{
	if (t->in_tail - t->in_head >= INBOX) {
		ok(0, "inbox overflow");
		return;
	}
	t->inbox[t->in_tail++ % INBOX] = *p;
}

/* Take the next control packet the device sent (0: none). */
static int take(struct t *t, struct pkt *p)
{
	if (t->in_head == t->in_tail)
		return 0;
	*p = t->inbox[t->in_head++ % INBOX];
	return 1;
}

/* RW data and credit traffic go to their connection; the rest to the inbox. */
static void deliver(struct t *t, const struct pkt *p, const uint8_t *payload)
{
	struct gconn *c = find_gconn(t, p->h.src_port, p->h.dst_port);

	if (c) {
		c->peer_buf_alloc = p->h.buf_alloc;
		c->peer_fwd_cnt = p->h.fwd_cnt;
	}
	if (!c || (p->h.op != VSOCK_OP_RW && p->h.op != VSOCK_OP_CREDIT_UPDATE &&
		   p->h.op != VSOCK_OP_CREDIT_REQUEST)) {
		inbox_put(t, p);
		return;
	}
	if (p->h.op == VSOCK_OP_CREDIT_UPDATE) {
		c->credit_updates++;
		return;
	}
	if (p->h.op == VSOCK_OP_CREDIT_REQUEST) {
		c->credit_requests++;
		return;
	}
	/* §5.10.6.3: never more than buf_alloc - (tx_cnt - fwd_cnt) as we advertised them. */
	if ((uint32_t)(c->rx_bytes + p->h.len - c->adv_fwd_cnt) > c->adv_buf_alloc)
		c->violations++;
	if (c->rx_bytes + p->h.len <= RX_KEEP)
		memcpy(c->rx + c->rx_bytes, payload, p->h.len);
	c->rx_bytes += p->h.len;
	c->nrw++;
	if (p->h.len > c->max_rw)
		c->max_rw = p->h.len;
}

/*
 * Take everything the device returned on rx, then give it buffers again.
 * Returns how much happened (0: nothing).
 */
static unsigned poll_rx(struct t *t)
{
	struct vdrv *d = rxq(t);
	unsigned n = 0;
	uint32_t id, len;

	while (vd_get_used(d, &id, &len)) {
		uint64_t buf = RX_BUF + (uint64_t)(id / 2) * RX_STRIDE;
		struct pkt p = { .used_len = len };

		n++;
		if (len == 0) {
			t->rx_empty++;
			continue;
		}
		hdr_get(vd_ptr(d, buf), &p.h);
		if (len < VSOCK_HDR_SIZE || p.h.len > RX_PAY || len != VSOCK_HDR_SIZE + p.h.len) {
			t->rx_bad_len++;
			continue;
		}
		deliver(t, &p, vd_ptr(d, buf + VSOCK_HDR_SIZE));
	}
	if (!t->hold_rx && rx_outstanding(t) < RX_SLOTS) {
		while (rx_outstanding(t) < RX_SLOTS)
			rx_post(t, 0);
		vfe_kick(&t->fe, &t->q[VSOCKD_RX]);
		n++; /* the device may have used them already */
	}
	return n;
}

/* Run device and driver until neither has anything more to do. */
static void settle(struct t *t)
{
	for (int i = 0; i < 100000; i++) {
		vfe_pump(&t->fe);
		if (!poll_rx(t))
			break;
	}
}

/* ---- the tx queue ---- */

/* Put bytes on tx as one descriptor, or two cut at split; kick and settle. */
static void tx_raw(struct t *t, const uint8_t *bytes, uint32_t len, uint32_t split)
{
	struct vdrv *d = &t->q[VSOCKD_TX].d;
	unsigned s = d->avail_idx % TX_SLOTS;
	uint64_t buf = TX_BUF + (uint64_t)s * TX_STRIDE;
	uint16_t d0 = (uint16_t)(2 * s);
	uint32_t id, ulen;

	memcpy(vd_ptr(d, buf), bytes, len);
	if (split && split < len) {
		vd_desc(d, d0, buf, split, VD_F_NEXT, (uint16_t)(d0 + 1));
		vd_desc(d, (uint16_t)(d0 + 1), buf + split, len - split, 0, 0);
	} else {
		vd_desc(d, d0, buf, len, 0, 0);
	}
	vd_publish(d, d0);
	vfe_kick(&t->fe, &t->q[VSOCKD_TX]);
	while (vd_get_used(d, &id, &ulen))
		;
	settle(t);
}

/* A packet on connection c (header and payload in separate descriptors unless one). */
static void tx_pkt(struct t *t, struct gconn *c, uint16_t op, uint32_t flags, const void *data,
		   uint32_t len, bool one)
{
	static uint8_t buf[VSOCK_HDR_SIZE + VSOCK_MAX_PAYLOAD];
	struct vsock_hdr h = {
		.src_cid = CID,
		.dst_cid = HOST,
		.src_port = c->gport,
		.dst_port = c->hport,
		.len = len,
		.type = VSOCK_TYPE_STREAM,
		.op = op,
		.flags = flags,
		.buf_alloc = c->buf_alloc,
		.fwd_cnt = c->fwd_cnt,
	};

	hdr_put(buf, &h);
	if (len)
		memcpy(buf + VSOCK_HDR_SIZE, data, len);
	c->adv_buf_alloc = c->buf_alloc;
	c->adv_fwd_cnt = c->fwd_cnt;
	if (op == VSOCK_OP_RW)
		c->tx_cnt += len;
	tx_raw(t, buf, VSOCK_HDR_SIZE + len, one ? 0 : VSOCK_HDR_SIZE);
}

/* A header with any field, for packets outside a connection. */
static void tx_hdr(struct t *t, const struct vsock_hdr *h, const void *data, uint32_t len)
{
	static uint8_t buf[VSOCK_HDR_SIZE + 256];

	hdr_put(buf, h);
	if (len)
		memcpy(buf + VSOCK_HDR_SIZE, data, len);
	tx_raw(t, buf, VSOCK_HDR_SIZE + len, VSOCK_HDR_SIZE);
}

static struct vsock_hdr guest_hdr(uint32_t gport, uint32_t hport, uint16_t op)
{
	return (struct vsock_hdr){
		.src_cid = CID,
		.dst_cid = HOST,
		.src_port = gport,
		.dst_port = hport,
		.type = VSOCK_TYPE_STREAM,
		.op = op,
		.buf_alloc = 65536,
	};
}

/* ---- the host programs ---- */

static int host_connect(struct t *t)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	snprintf(a.sun_path, sizeof(a.sun_path), "%s", t->uds);
	if (fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static int host_listen(struct t *t, uint32_t port)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	snprintf(a.sun_path, sizeof(a.sun_path), "%s_%u", t->uds, port);
	if (fd >= 0 && (bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(fd, 8) < 0)) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Write all of buf, letting the device and driver run; bytes written. */
static size_t host_write(struct t *t, int fd, const void *buf, size_t len)
{
	size_t done = 0;

	for (int idle = 0; done < len && idle < 3;) {
		ssize_t n = send(fd, (const uint8_t *)buf + done, len - done, MSG_NOSIGNAL);

		if (n > 0) {
			done += (size_t)n;
			idle = 0;
		} else {
			idle++;
		}
		settle(t);
	}
	return done;
}

/* Read up to len bytes, letting device and driver run; *eof when the socket closed. */
static size_t host_read(struct t *t, int fd, void *buf, size_t len, bool *eof)
{
	size_t got = 0;

	*eof = false;
	settle(t);
	for (int idle = 0; got < len && idle < 3;) {
		ssize_t n = recv(fd, (uint8_t *)buf + got, len - got, MSG_DONTWAIT);

		if (n == 0) {
			*eof = true;
			break;
		}
		if (n > 0) {
			got += (size_t)n;
			idle = 0;
		} else {
			idle++;
		}
		settle(t);
	}
	return got;
}

static void fill_pattern(uint8_t *p, size_t len, unsigned seed)
{
	for (size_t i = 0; i < len; i++)
		p[i] = (uint8_t)((i * 131 + seed) ^ (i >> 8));
}

/* ---- connections ---- */

static struct gconn *gconn_new(struct t *t, uint32_t gport, uint32_t hport, uint32_t buf_alloc)
{
	struct gconn *c = calloc(1, sizeof(*c));

	c->gport = gport;
	c->hport = hport;
	c->buf_alloc = buf_alloc;
	c->rx = malloc(RX_KEEP);
	c->host_fd = -1;
	t->conns[t->nconns++] = c;
	return c;
}

static void gconn_free(struct t *t, struct gconn *c)
{
	for (unsigned i = 0; i < t->nconns; i++)
		if (t->conns[i] == c)
			t->conns[i] = t->conns[--t->nconns];
	if (c->host_fd >= 0)
		close(c->host_fd);
	free(c->rx);
	free(c);
}

static struct vsock_conn *dev_conn(struct t *t, const struct gconn *c)
{
	return vsockd_conn_find(t->d, c->hport, c->gport);
}

/*
 * A host program connects and asks for guest port `port`; the driver
 * accepts with buf_alloc. first: bytes sent right after the CONNECT line.
 */
static struct gconn *host_initiated(struct t *t, uint32_t port, uint32_t buf_alloc,
				    const char *first, bool verbose)
{
	char line[64], want[64];
	struct pkt p;
	struct gconn *c;
	int fd = host_connect(t), n;
	bool eof, got;

	n = snprintf(line, sizeof(line), "CONNECT %u\n%s", port, first);
	if (fd < 0 || host_write(t, fd, line, (size_t)n) != (size_t)n) {
		ok(0, "host client connects and sends CONNECT");
		return NULL;
	}
	got = take(t, &p) && p.h.op == VSOCK_OP_REQUEST;
	if (verbose) {
		ok(got, "CONNECT %u: the driver sees a REQUEST on rx", port);
		ok(got && p.h.src_cid == HOST && p.h.dst_cid == CID && p.h.dst_port == port &&
		       p.h.type == VSOCK_TYPE_STREAM && p.h.len == 0,
		   "REQUEST from the host CID to the guest's port %u, stream type", port);
		ok(got && p.h.buf_alloc == VSOCKD_BUF_ALLOC && p.h.fwd_cnt == 0,
		   "REQUEST advertises the device's buffer and fwd_cnt 0");
		ok(got && p.used_len == VSOCK_HDR_SIZE, "used len is the header alone");
	} else if (!got) {
		ok(0, "REQUEST for port %u", port);
	}
	if (!got) {
		close(fd);
		return NULL;
	}
	c = gconn_new(t, port, p.h.src_port, buf_alloc);
	c->host_fd = fd;
	c->peer_buf_alloc = p.h.buf_alloc;
	c->peer_fwd_cnt = p.h.fwd_cnt;
	tx_pkt(t, c, VSOCK_OP_RESPONSE, 0, NULL, 0, false);
	n = snprintf(want, sizeof(want), "OK %u\n", c->hport);
	memset(line, 0, sizeof(line));
	got =
	    host_read(t, fd, line, (size_t)n, &eof) == (size_t)n && !memcmp(line, want, (size_t)n);
	if (verbose)
		ok(got, "RESPONSE: the host client reads \"OK %u\\n\"", c->hport);
	else if (!got)
		ok(0, "OK line for port %u", port);
	return c;
}

/* ---- the tests ---- */

static void test_setup(struct t *t)
{
	uint64_t feats = vfe_handshake(&t->fe);
	uint8_t cfg[8];
	bool started = true;

	ok(feats & VFE_F(LBX_VIRTIO_F_VERSION_1), "handshake: VERSION_1 offered and acked");
	is_int(vfe_get_u64(&t->fe, LBX_VU_GET_QUEUE_NUM), 3, "three queues: rx, tx, event");
	ok(vfe_get_config(&t->fe, 0, cfg, 8) == 0 && get64(cfg) == CID,
	   "config space: le64 guest_cid (§5.10.4)");
	ok(vfe_get_config(&t->fe, 0, cfg, 4) == 0 && vd_get32(cfg) == CID &&
	       vfe_get_config(&t->fe, 4, cfg, 4) == 0 && vd_get32(cfg) == 0,
	   "config space read in halves");
	for (unsigned i = 0; i < 3; i++)
		started &= vfe_vq_init(&t->fe, &t->q[i], i, RING_BASE(i), QSIZE) == 0 &&
			   vfe_vq_start(&t->fe, &t->q[i]) == 0;
	ok(started, "rx, tx and event queues started");
	/* The event queue gets buffers as Linux gives it; the device keeps them. */
	for (uint16_t i = 0; i < 4; i++) {
		vd_desc(&t->q[VSOCKD_EVENT].d, i, EV_BUF + 8u * i, 8, VD_F_WRITE, 0);
		vd_publish(&t->q[VSOCKD_EVENT].d, i);
	}
	vfe_kick(&t->fe, &t->q[VSOCKD_EVENT]);
	settle(t);
	is_int(rx_outstanding(t), RX_SLOTS, "rx buffers posted, none used while idle");
}

static void test_host_initiated(struct t *t)
{
	struct gconn *c = host_initiated(t, 1234, 1u << 20, "hello", true);
	static uint8_t out[20000], back[30000];
	bool eof;

	if (!c)
		return;
	ok(c->hport >= 1024, "the host side got a port of its own (%u)", c->hport);
	ok(c->rx_bytes == 5 && !memcmp(c->rx, "hello", 5),
	   "bytes after the CONNECT line are the start of the stream");
	ok(dev_conn(t, c) && dev_conn(t, c)->state == CONN_OPEN, "device: connection open");

	/* Host to guest: more than one rx buffer's worth. */
	fill_pattern(out, sizeof(out), 1);
	is_int(host_write(t, c->host_fd, out, sizeof(out)), sizeof(out), "host writes 20000 bytes");
	ok(c->rx_bytes == 5 + sizeof(out) && !memcmp(c->rx + 5, out, sizeof(out)),
	   "host to guest: byte-exact through the rx queue");
	ok(c->nrw - 1 >= (sizeof(out) + RX_PAY - 1) / RX_PAY, "in several RW packets (%u)",
	   c->nrw - 1);
	is_int(c->max_rw, RX_PAY, "none larger than an rx buffer's payload room");
	is_int(t->rx_bad_len, 0, "every used len is header + payload");
	is_int(c->violations, 0, "within the credit the driver advertised");

	/* Guest to host: header and payload split, in one descriptor, and large. */
	fill_pattern(back, sizeof(back), 7);
	tx_pkt(t, c, VSOCK_OP_RW, 0, back, 100, false);
	tx_pkt(t, c, VSOCK_OP_RW, 0, back + 100, 900, true);
	tx_pkt(t, c, VSOCK_OP_RW, 0, back + 1000, 16384, false);
	tx_pkt(t, c, VSOCK_OP_RW, 0, back + 17384, sizeof(back) - 17384, false);
	{
		static uint8_t got[sizeof(back)];

		ok(host_read(t, c->host_fd, got, sizeof(got), &eof) == sizeof(got) &&
		       !memcmp(got, back, sizeof(got)),
		   "guest to host: byte-exact, split and whole packets alike");
	}
	ok(c->credit_updates > 0 && c->peer_fwd_cnt == sizeof(back),
	   "device reports fwd_cnt %u after the host took it all", c->peer_fwd_cnt);
	ok(dev_conn(t, c) && lbx_bq_len(&dev_conn(t, c)->to_host) == 0, "nothing left staged");
	gconn_free(t, c); /* the host program closes: the device owes the guest a SHUTDOWN */
	settle(t);
	{
		struct pkt p;
		bool got = take(t, &p);

		ok(got && p.h.op == VSOCK_OP_SHUTDOWN && (p.h.flags & VSOCK_SHUTDOWN_SEND),
		   "host program closed: SHUTDOWN(SEND) to the guest");
		if (got) {
			struct gconn tmp = { .gport = p.h.dst_port, .hport = p.h.src_port };

			tx_pkt(t, &tmp, VSOCK_OP_RST, 0, NULL, 0, false);
			ok(!vsockd_conn_find(t->d, tmp.hport, tmp.gport),
			   "the guest's RST frees the connection");
		}
	}
}

/* Host clients that do not follow the protocol are closed; the guest hears nothing. */
static void test_bad_handshake(struct t *t)
{
	static const struct {
		const char *name, *line;
	} bad[] = {
		{ "not CONNECT", "HELLO 1234\n" },
		{ "port 0", "CONNECT 0\n" },
		{ "port above 32 bits", "CONNECT 99999999999\n" },
		{ "trailing junk", "CONNECT 12x\n" },
		{ "no newline in 32 bytes", "CONNECT 1234567890123456789012345678901234567890" },
	};
	unsigned n0 = t->d->nconns;

	for (size_t i = 0; i < LBX_ARRAY_SIZE(bad); i++) {
		int fd = host_connect(t);
		char buf[8];
		struct pkt p;
		bool eof;

		host_write(t, fd, bad[i].line, strlen(bad[i].line));
		ok(host_read(t, fd, buf, sizeof(buf), &eof) == 0 && eof && !take(t, &p),
		   "bad handshake (%s): closed, no REQUEST", bad[i].name);
		close(fd);
	}
	is_int(t->d->nconns, n0, "no connection left behind");
}

static void test_credit(struct t *t)
{
	static uint8_t out[30000];
	struct gconn *c = host_initiated(t, 2000, 8192, "", false);
	unsigned rounds = 0;

	if (!c)
		return;
	fill_pattern(out, sizeof(out), 3);
	host_write(t, c->host_fd, out, sizeof(out));
	is_int(c->rx_bytes, 8192, "driver advertised 8192: the device sends exactly that much");
	ok(c->credit_requests <= 1, "then waits (at most one CREDIT_REQUEST) for more credit");
	ok(dev_conn(t, c) && lbx_bq_len(&dev_conn(t, c)->to_guest) <= VSOCKD_TO_GUEST,
	   "the rest waits within the device's staging bound");
	while (c->rx_bytes < sizeof(out) && rounds++ < 10) {
		uint32_t before = c->rx_bytes;

		c->fwd_cnt = c->rx_bytes; /* the guest application read it all */
		tx_pkt(t, c, VSOCK_OP_CREDIT_UPDATE, 0, NULL, 0, false);
		if (c->rx_bytes - before > 8192)
			ok(0, "round %u: %u bytes for 8192 of credit", rounds,
			   c->rx_bytes - before);
	}
	ok(c->rx_bytes == sizeof(out) && !memcmp(c->rx, out, sizeof(out)),
	   "each CREDIT_UPDATE resumes it; all 30000 bytes arrive exact");
	is_int(rounds, 3, "in 8192-byte steps");
	is_int(c->violations, 0, "never more than buf_alloc - (tx_cnt - fwd_cnt)");

	/* A guest that never reads: the host program is stopped, nothing piles up. */
	{
		static uint8_t big[1 << 16];
		size_t total = 0, n;

		fill_pattern(big, sizeof(big), 5);
		c->fwd_cnt = c->rx_bytes;
		tx_pkt(t, c, VSOCK_OP_CREDIT_UPDATE, 0, NULL, 0, false);
		do {
			n = host_write(t, c->host_fd, big, sizeof(big));
			total += n;
		} while (n == sizeof(big) && total < (8u << 20));
		ok(total < (8u << 20),
		   "host writes stall (%zu bytes taken) while the guest has no credit", total);
		is_int(c->rx_bytes, sizeof(out) + 8192, "guest got only its credit's worth");
		ok(dev_conn(t, c) && lbx_bq_len(&dev_conn(t, c)->to_guest) <= 8192,
		   "device staged no more than the guest's credit");
		is_int(c->violations, 0, "still within credit");
	}
	/* The guest resets it: the device frees it and closes the host socket. */
	tx_pkt(t, c, VSOCK_OP_RST, 0, NULL, 0, false);
	ok(!dev_conn(t, c), "guest RST frees the stalled connection");
	gconn_free(t, c);
}

/* The driver sends within the device's credit; the host program reads late. */
static void test_credit_update_on_drain(struct t *t)
{
	static uint8_t chunk[4096], got[VSOCKD_BUF_ALLOC + (1 << 20)];
	struct gconn *c = host_initiated(t, 2001, 65536, "", false);
	uint32_t sent = 0;
	unsigned updates;
	bool eof, exhausted = false;

	if (!c)
		return;
	while (sent < (4u << 20)) {
		uint32_t credit = c->peer_buf_alloc - (c->tx_cnt - c->peer_fwd_cnt);

		if (credit < sizeof(chunk)) {
			exhausted = true;
			break;
		}
		fill_pattern(chunk, sizeof(chunk), sent);
		tx_pkt(t, c, VSOCK_OP_RW, 0, chunk, sizeof(chunk), false);
		sent += sizeof(chunk);
	}
	ok(exhausted, "the driver ran out of credit after %u bytes: the host is not reading", sent);
	ok(c->peer_fwd_cnt < sent, "device reports fwd_cnt %u < %u sent", c->peer_fwd_cnt, sent);
	ok(dev_conn(t, c) && lbx_bq_len(&dev_conn(t, c)->to_host) <= VSOCKD_BUF_ALLOC,
	   "device holds at most its buf_alloc of guest data");
	updates = c->credit_updates;
	{
		size_t n = host_read(t, c->host_fd, got, sent, &eof);
		bool exact = n == sent;

		for (uint32_t off = 0; exact && off < sent; off += sizeof(chunk)) {
			fill_pattern(chunk, sizeof(chunk), off);
			exact = !memcmp(got + off, chunk, sizeof(chunk));
		}
		ok(exact, "the host program drains all %u bytes, exact", sent);
	}
	ok(c->credit_updates > updates, "device sent CREDIT_UPDATE as the host drained (%u)",
	   c->credit_updates - updates);
	is_int(c->peer_fwd_cnt, sent, "and its fwd_cnt caught up");
	/* A full SHUTDOWN (RCV|SEND) from the guest: RST back, host socket closed. */
	tx_pkt(t, c, VSOCK_OP_SHUTDOWN, VSOCK_SHUTDOWN_RCV | VSOCK_SHUTDOWN_SEND, NULL, 0, false);
	{
		struct pkt p;

		ok(take(t, &p) && p.h.op == VSOCK_OP_RST && p.h.src_port == c->hport &&
		       p.h.dst_port == c->gport,
		   "full SHUTDOWN: the device answers RST");
	}
	ok(host_read(t, c->host_fd, got, 1, &eof) == 0 && eof, "and closed the host socket");
	ok(!dev_conn(t, c), "connection gone");
	gconn_free(t, c);
}

static void test_past_credit(struct t *t)
{
	static uint8_t chunk[4096], got[VSOCKD_BUF_ALLOC + (1 << 20)];
	struct gconn *c = host_initiated(t, 2002, 65536, "", false);
	uint32_t sent = 0, before_last = 0;
	bool reset = false, eof, exact;
	struct pkt p;
	size_t absorbed;

	if (!c)
		return;
	/* The host program does not read; the driver ignores the device's credit. */
	while (!reset && sent < (4u << 20)) {
		fill_pattern(chunk, sizeof(chunk), sent);
		before_last = sent;
		tx_pkt(t, c, VSOCK_OP_RW, 0, chunk, sizeof(chunk), false);
		sent += sizeof(chunk);
		if (dev_conn(t, c) && lbx_bq_len(&dev_conn(t, c)->to_host) > VSOCKD_BUF_ALLOC)
			break;
		while (take(t, &p))
			reset |= p.h.op == VSOCK_OP_RST && p.h.src_port == c->hport &&
				 p.h.dst_port == c->gport;
	}
	ok(reset, "driver sending past its credit gets RST");
	absorbed = host_read(t, c->host_fd, got, sizeof(got), &eof);
	ok(eof, "and the host socket is closed");
	exact = true;
	for (uint32_t off = 0; exact && off + sizeof(chunk) <= absorbed; off += sizeof(chunk)) {
		fill_pattern(chunk, sizeof(chunk), off);
		exact = !memcmp(got + off, chunk, sizeof(chunk));
	}
	ok(exact, "what reached the host (%zu bytes) is an exact prefix", absorbed);
	ok(before_last <= absorbed + VSOCKD_BUF_ALLOC && sent > absorbed + VSOCKD_BUF_ALLOC,
	   "reset exactly when the credit ran out (sent %u, host took %zu)", sent, absorbed);
	ok(!dev_conn(t, c), "connection gone");
	gconn_free(t, c);
}

static void test_guest_initiated(struct t *t, struct gconn **keep)
{
	int lfd = host_listen(t, 5000);
	struct gconn *c = gconn_new(t, 1111, 5000, 65536);
	struct vsock_hdr h = guest_hdr(1112, 5001, VSOCK_OP_REQUEST);
	char buf[64];
	struct pkt p;
	bool eof, got;

	*keep = NULL;
	ok(lfd >= 0, "a host service listens at UDS_PATH_5000");
	tx_pkt(t, c, VSOCK_OP_REQUEST, 0, NULL, 0, false);
	got = take(t, &p);
	ok(got && p.h.op == VSOCK_OP_RESPONSE && p.h.src_cid == HOST && p.h.dst_cid == CID &&
	       p.h.src_port == 5000 && p.h.dst_port == 1111,
	   "guest REQUEST to port 5000: RESPONSE");
	c->host_fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	ok(c->host_fd >= 0, "the host service accepted the connection");
	tx_pkt(t, c, VSOCK_OP_RW, 0, "ping", 4, false);
	ok(host_read(t, c->host_fd, buf, 4, &eof) == 4 && !memcmp(buf, "ping", 4),
	   "guest to host service");
	host_write(t, c->host_fd, "pong", 4);
	ok(c->rx_bytes == 4 && !memcmp(c->rx, "pong", 4), "host service to guest");

	tx_hdr(t, &h, NULL, 0);
	got = take(t, &p);
	ok(got && p.h.op == VSOCK_OP_RST && p.h.src_port == 5001 && p.h.dst_port == 1112 &&
	       p.h.dst_cid == CID,
	   "guest REQUEST to port 5001 with no listener: RST");
	ok(!vsockd_conn_find(t->d, 5001, 1112), "no connection kept for it");
	close(lfd);
	*keep = c;
}

static void test_unknown(struct t *t)
{
	struct vsock_hdr h = guest_hdr(2222, 6000, VSOCK_OP_RW);
	struct pkt p;
	unsigned n0 = t->d->nconns;

	h.len = 3;
	tx_hdr(t, &h, "abc", 3);
	ok(take(t, &p) && p.h.op == VSOCK_OP_RST && p.h.src_port == 6000 && p.h.dst_port == 2222,
	   "RW for an unknown connection: RST");
	h = guest_hdr(2222, 6000, VSOCK_OP_CREDIT_UPDATE);
	tx_hdr(t, &h, NULL, 0);
	ok(take(t, &p) && p.h.op == VSOCK_OP_RST, "CREDIT_UPDATE for an unknown connection: RST");
	h = guest_hdr(2222, 6000, VSOCK_OP_RST);
	tx_hdr(t, &h, NULL, 0);
	ok(!take(t, &p), "RST for an unknown connection: no answer");
	is_int(t->d->nconns, n0, "no connection created");

	/* A connect() to another CID, or a type we do not offer: refused at once. */
	h = guest_hdr(2223, 6001, VSOCK_OP_REQUEST);
	h.dst_cid = 5;
	tx_hdr(t, &h, NULL, 0);
	ok(take(t, &p) && p.h.op == VSOCK_OP_RST && p.h.dst_port == 2223, "REQUEST to CID 5: RST");
	h = guest_hdr(2224, 6001, VSOCK_OP_REQUEST);
	h.type = VSOCK_TYPE_SEQPACKET;
	tx_hdr(t, &h, NULL, 0);
	ok(take(t, &p) && p.h.op == VSOCK_OP_RST && p.h.dst_port == 2224,
	   "SEQPACKET REQUEST (not offered): RST");
	is_int(t->d->nconns, n0, "no connection created");
}

/* Malformed packets on an open connection's ports: dropped, counted, no harm done. */
static void test_malformed(struct t *t, struct gconn *c)
{
	static const struct {
		const char *name;
		int kind;
	} bad[] = {
		{ "short header (20 bytes)", 0 }, { "bad op 99", 1 },
		{ "len beyond the buffer", 2 },	  { "wrong src_cid", 3 },
		{ "REQUEST with a payload", 4 },  { "len above 64 KiB", 5 },
	};
	char buf[64];
	bool eof;

	if (!c)
		return;
	for (size_t i = 0; i < LBX_ARRAY_SIZE(bad); i++) {
		struct vsock_hdr h = guest_hdr(c->gport, c->hport, VSOCK_OP_RW);
		uint8_t raw[VSOCK_HDR_SIZE + 8];
		uint64_t bad0 = t->d->bad_pkts;
		struct pkt p;

		h.len = 4;
		switch (bad[i].kind) {
		case 1: h.op = 99; break;
		case 2: h.len = 100; break;
		case 3: h.src_cid = CID + 1; break;
		case 4: h.op = VSOCK_OP_REQUEST; break;
		case 5: h.len = VSOCK_MAX_PAYLOAD + 1; break;
		}
		hdr_put(raw, &h);
		memcpy(raw + VSOCK_HDR_SIZE, "EVIL", 4);
		tx_raw(t, raw, bad[i].kind == 0 ? 20 : VSOCK_HDR_SIZE + 4, VSOCK_HDR_SIZE);
		is_int(t->d->bad_pkts, bad0 + 1, "%s: dropped and counted", bad[i].name);
		ok(!take(t, &p), "%s: no packet back (the connection is not reset)", bad[i].name);
	}
	ok(dev_conn(t, c) && dev_conn(t, c)->state == CONN_OPEN, "the connection is still open");
	tx_pkt(t, c, VSOCK_OP_RW, 0, "after", 5, false);
	ok(host_read(t, c->host_fd, buf, 5, &eof) == 5 && !memcmp(buf, "after", 5),
	   "and carries the next good bytes, with none of the bad ones");

	/* rx buffers a driver got wrong: too small for a header, or for any data. */
	for (uint32_t size = 20; size <= VSOCK_HDR_SIZE; size += VSOCK_HDR_SIZE - 20) {
		uint64_t bad0 = t->d->bad_pkts;
		unsigned empty0 = t->rx_empty, got0 = c->rx_bytes;
		struct pkt p = { 0 };

		t->hold_rx = true;
		for (int i = 0; i < 2 * RX_SLOTS && rx_outstanding(t) > 0; i++)
			host_write(t, c->host_fd, "x", 1); /* let the device use up the good ones */
		rx_post(t, size);
		rx_post(t, 0);
		vfe_kick(&t->fe, &t->q[VSOCKD_RX]);
		host_write(t, c->host_fd, "y", 1);
		t->hold_rx = false;
		settle(t);
		is_int(t->rx_empty, empty0 + 1,
		       "a %u-byte rx buffer with data waiting: given back unused", size);
		is_int(t->d->bad_pkts, bad0 + 1, "%u-byte rx buffer: counted", size);
		ok(!take(t, &p), "%u-byte rx buffer: no stray packet (op %u)", size, p.h.op);
		ok(c->rx_bytes > got0 && c->rx[c->rx_bytes - 1] == 'y',
		   "%u-byte rx buffer: the data went into the next buffer", size);
	}
}

static void test_shutdown(struct t *t, struct gconn *c)
{
	char buf[16];
	bool eof;
	struct pkt p;
	uint32_t got0;

	if (!c)
		return;
	tx_pkt(t, c, VSOCK_OP_SHUTDOWN, VSOCK_SHUTDOWN_SEND, NULL, 0, false);
	ok(host_read(t, c->host_fd, buf, sizeof(buf), &eof) == 0 && eof,
	   "SHUTDOWN(SEND) from the driver: the host program reads EOF");
	got0 = c->rx_bytes;
	ok(host_write(t, c->host_fd, "still", 5) == 5 && c->rx_bytes == got0 + 5 &&
	       !memcmp(c->rx + got0, "still", 5),
	   "but the host program can still send: a half-close");
	ok(!take(t, &p), "no RST for a half-close");
	tx_pkt(t, c, VSOCK_OP_SHUTDOWN, VSOCK_SHUTDOWN_RCV | VSOCK_SHUTDOWN_SEND, NULL, 0, false);
	ok(take(t, &p) && p.h.op == VSOCK_OP_RST && p.h.src_port == c->hport &&
	       p.h.dst_port == c->gport,
	   "full SHUTDOWN: RST");
	ok(send(c->host_fd, "z", 1, MSG_NOSIGNAL | MSG_DONTWAIT) < 0 && errno == EPIPE,
	   "the host socket is closed");
	ok(!dev_conn(t, c), "connection freed");
	gconn_free(t, c);
}

/* RSTs owed while the guest posts no rx buffers stay bounded. */
static void test_reset_flood(struct t *t)
{
	unsigned rsts = 0, peak = 0;
	struct pkt p;

	t->hold_rx = true;
	for (uint32_t i = 0; i < 200; i++) {
		struct vsock_hdr h = guest_hdr(30000 + i, 7000, VSOCK_OP_CREDIT_UPDATE);

		tx_hdr(t, &h, NULL, 0);
		if (t->d->nresets > peak)
			peak = t->d->nresets;
	}
	is_int(peak, VSOCKD_MAX_RESETS,
	       "200 packets for unknown connections, no rx buffers: "
	       "at most VSOCKD_MAX_RESETS RSTs wait");
	t->hold_rx = false;
	settle(t);
	while (take(t, &p))
		rsts += p.h.op == VSOCK_OP_RST;
	is_int(rsts, RX_SLOTS + VSOCKD_MAX_RESETS, "the buffers there were, plus the queued ones");
	is_int(t->d->nresets, 0, "RST queue empty again");
}

/*
 * A guest that opens connections and never closes them: it gets at most
 * VSOCKD_MAX_CONNS - VSOCKD_HOST_RESERVE, the rest are RST, and a host
 * client (lbx exec) still gets through.
 */
static void test_host_reserve(struct t *t)
{
	static int hfd[VSOCKD_MAX_CONNS];
	const unsigned cap = VSOCKD_MAX_CONNS - VSOCKD_HOST_RESERVE;
	unsigned n0 = t->d->nconns, opened = 0, refused = 0, nh = 0;
	int lfd = host_listen(t, 5100);
	struct gconn *c;
	struct pkt p;

	ok(lfd >= 0 && listen(lfd, 4096) == 0, "a host service listens at UDS_PATH_5100");
	if (lfd < 0)
		return;
	for (uint32_t i = 0; i < VSOCKD_MAX_CONNS + 10; i++) {
		struct vsock_hdr h = guest_hdr(40000 + i, 5100, VSOCK_OP_REQUEST);
		int fd;

		tx_hdr(t, &h, NULL, 0);
		if (!take(t, &p) || p.h.dst_port != 40000 + i) {
			ok(0, "guest REQUEST %u: an answer", i);
			break;
		}
		if (p.h.op == VSOCK_OP_RESPONSE)
			opened++;
		else if (p.h.op == VSOCK_OP_RST)
			refused++;
		while (nh < VSOCKD_MAX_CONNS &&
		       (fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0)
			hfd[nh++] = fd;
	}
	is_int(opened + n0, cap, "the guest opens %u connections, no more", cap);
	is_int(refused, VSOCKD_MAX_CONNS + 10 - opened, "every one beyond is refused with RST");
	ok(t->d->nconns <= cap, "the device holds %u connections (cap %u)", t->d->nconns, cap);
	is_int(t->d->guest_refused, refused, "refusals counted");
	is_int(t->d->refused_logged, 1, "one log line for %u refusals in a burst", refused);
	c = host_initiated(t, 4000, 65536, "", false);
	ok(c != NULL, "a host client (lbx exec) still connects to guest port 4000");
	if (c) {
		ok(dev_conn(t, c) && dev_conn(t, c)->state == CONN_OPEN,
		   "and its connection is open");
		tx_pkt(t, c, VSOCK_OP_RST, 0, NULL, 0, false);
		gconn_free(t, c);
	}
	for (uint32_t i = 0; i < opened; i++) {
		struct vsock_hdr h = guest_hdr(40000 + i, 5100, VSOCK_OP_RST);

		tx_hdr(t, &h, NULL, 0);
	}
	is_int(t->d->nconns, n0, "guest RSTs free every hoarded connection");
	while (nh)
		close(hfd[--nh]);
	close(lfd);
	while (take(t, &p))
		;
}

static void test_disconnect(struct t *t)
{
	struct gconn *c = host_initiated(t, 3000, 65536, "", false);
	char buf[4];
	bool eof;

	vfe_disconnect(&t->fe);
	is_int(t->d->nconns, 0, "front-end gone: every connection closed");
	ok(c && host_read(t, c->host_fd, buf, sizeof(buf), &eof) == 0 && eof,
	   "host programs see EOF");
	if (c)
		gconn_free(t, c);
	{
		int fd = host_connect(t);

		ok(fd >= 0 && host_read(t, fd, buf, sizeof(buf), &eof) == 0 && eof,
		   "with no guest, host clients are closed at once");
		if (fd >= 0)
			close(fd);
	}
}

int main(void)
{
	static struct t t = { .fe = { .sock = -1, .memfd = -1 } };
	const char *tmp = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
	int fds_at_start = vfe_count_fds();
	struct gconn *c;
	char path[160];

	lbx_log_init("test-vsockd-dm");
	lbx_log_set_level(LBX_LOG_ERROR); /* bad packets below log warnings */
	signal(SIGPIPE, SIG_IGN);	  /* as lbx-vsockd's main does */
	snprintf(t.dir, sizeof(t.dir), "%.40s/lbx-vsock-dm-XXXXXX", tmp);
	if (!mkdtemp(t.dir)) {
		printf("1..0 # SKIP no temporary directory\n");
		return 0;
	}
	snprintf(t.uds, sizeof(t.uds), "%s/v.sock", t.dir);
	for (unsigned i = 0; i < 3; i++)
		t.q[i].kick = t.q[i].call = t.q[i].err = -1;
	if (vfe_mem_init(&t.fe, MEM_SIZE) < 0) {
		printf("1..0 # SKIP memfd_create unavailable\n");
		return 0;
	}
	t.fe.loop = lbx_loop_new();
	t.d = vsockd_new(t.fe.loop, CID, t.uds);
	ok(t.d && vsockd_listen(t.d) == 0, "lbx-vsockd's device made, listening at UDS_PATH");
	if (!t.d)
		return tap_done();
	t.fe.dev = vsockd_vu(t.d);
	ok(vfe_connect(&t.fe) == 0, "vhost-user front-end connected over a socketpair");

	test_setup(&t);
	test_host_initiated(&t);
	test_bad_handshake(&t);
	test_credit(&t);
	test_credit_update_on_drain(&t);
	test_past_credit(&t);
	test_guest_initiated(&t, &c);
	test_unknown(&t);
	test_malformed(&t, c);
	test_shutdown(&t, c);
	test_reset_flood(&t);
	test_host_reserve(&t);
	ok(t.rx_bad_len == 0, "every rx packet's used len was header + payload");
	is_int(vd_used_idx(&t.q[VSOCKD_EVENT].d), 0,
	       "event queue buffers kept (no transport reset)");
	test_disconnect(&t);

	vsockd_free(t.d);
	while (t.nconns)
		gconn_free(&t, t.conns[0]);
	for (unsigned i = 0; i < 3; i++)
		vfe_vq_free(&t.q[i]);
	vfe_mem_free(&t.fe);
	lbx_loop_free(t.fe.loop);
	snprintf(path, sizeof(path), "%s/v.sock_5000", t.dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/v.sock_5100", t.dir);
	unlink(path);
	ok(access(t.uds, F_OK) < 0, "vsockd_free removed its socket");
	rmdir(t.dir);
	is_int(vfe_count_fds(), fds_at_start, "no fd leaked");
	return tap_done();
}
