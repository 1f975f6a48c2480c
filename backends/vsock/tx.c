/* SPDX-License-Identifier: MIT */
/*
 * The tx queue: packets from the guest. Each header is copied out of guest
 * memory and decoded through the reader before anything acts on it; a
 * packet that does not add up is dropped and counted, never trusted.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "vsockd.h"

static void update_credit(struct vsock_conn *c, const struct vsock_hdr *h)
{
	if (!c->peer_credit_known || c->peer_buf_alloc != h->buf_alloc ||
	    c->peer_fwd_cnt != h->fwd_cnt)
		c->credit_requested = false;
	c->peer_buf_alloc = h->buf_alloc;
	c->peer_fwd_cnt = h->fwd_cnt;
	c->peer_credit_known = true;
}

/* One line per VSOCKD_REFUSE_LOG_SECS at most, however hard the guest pushes. */
static void log_refused(struct vsockd *d, uint32_t port)
{
	struct timespec now;

	d->guest_refused++;
	clock_gettime(CLOCK_MONOTONIC, &now);
	if (d->refuse_log_at && now.tv_sec - d->refuse_log_at < VSOCKD_REFUSE_LOG_SECS)
		return;
	lbx_warn("vsock: the guest holds %u connections; refusing its connect to host port %u "
		 "(%llu refused since the last report); %u slots stay reserved for lbx exec",
		 d->nconns, port, (unsigned long long)(d->guest_refused - d->refused_logged),
		 VSOCKD_HOST_RESERVE);
	d->refused_logged = d->guest_refused;
	d->refuse_log_at = now.tv_sec ? now.tv_sec : 1;
}

/* A guest connect() to the host (CID 2) port h->dst_port. */
static void guest_request(struct vsockd *d, const struct vsock_hdr *h)
{
	struct vsock_conn *c;
	int fd;

	if (vsockd_conn_find(d, h->dst_port, h->src_port)) {
		vsockd_queue_reset(d, h->dst_port, h->src_port);
		return;
	}
	if (d->nconns >= VSOCKD_MAX_CONNS - VSOCKD_HOST_RESERVE) {
		log_refused(d, h->dst_port);
		vsockd_queue_reset(d, h->dst_port, h->src_port);
		return;
	}
	fd = vsockd_connect_host(d, h->dst_port);
	if (fd < 0) {
		lbx_debug("vsock: guest port %u -> host port %u refused: %s", h->src_port,
			  h->dst_port, strerror(-fd));
		vsockd_queue_reset(d, h->dst_port, h->src_port);
		return;
	}
	c = vsockd_conn_new(d, fd, CONN_OPEN, h->dst_port, h->src_port);
	if (!c) {
		close(fd);
		vsockd_queue_reset(d, h->dst_port, h->src_port);
		return;
	}
	update_credit(c, h);
	c->ctrl |= CTRL_RESPONSE;
	vsockd_conn_update_interest(c);
}

static void guest_rw(struct vsock_conn *c, const struct vsock_hdr *h,
		     const struct lbx_virtq_chain *ch)
{
	size_t room;
	uint8_t *p;

	if (h->len == 0)
		return;
	if (c->peer_shutdown & VSOCK_SHUTDOWN_SEND || c->fd < 0 || c->close_after_flush) {
		/* Data after the guest said it would send no more: drop it. */
		return;
	}
	p = lbx_bq_tail_space(&c->to_host, &room);
	if (h->len > room) {
		/* More than the credit we gave (§5.10.6.3): the guest broke the rules. */
		lbx_warn("vsock: guest port %u sent past its credit; resetting", c->peer_port);
		vsockd_conn_reset(c);
		return;
	}
	lbx_iov_to_buf(ch->rd, ch->nrd, VSOCK_HDR_SIZE, p, h->len);
	lbx_bq_commit(&c->to_host, h->len);
}

static void guest_shutdown(struct vsock_conn *c, const struct vsock_hdr *h)
{
	c->peer_shutdown |= h->flags & (VSOCK_SHUTDOWN_RCV | VSOCK_SHUTDOWN_SEND);
	/*
	 * Both directions shut: the guest has closed and waits for our RST,
	 * which we send once its last bytes reached the host socket.
	 */
	if (c->peer_shutdown == (VSOCK_SHUTDOWN_RCV | VSOCK_SHUTDOWN_SEND))
		c->close_after_flush = true;
}

static void handle_packet(struct vsockd *d, const struct vsock_hdr *h,
			  const struct lbx_virtq_chain *ch)
{
	struct vsock_conn *c;

	if (h->src_cid != d->guest_cid) {
		/*
		 * Not from the guest's address: an RST to guest_cid at these
		 * ports would reset whatever connection of the guest's uses them.
		 */
		d->bad_pkts++;
		return;
	}
	if (h->dst_cid != VSOCK_HOST_CID || h->type != VSOCK_TYPE_STREAM) {
		d->bad_pkts++;
		if (h->op != VSOCK_OP_RST)
			vsockd_queue_reset(d, h->dst_port, h->src_port);
		return;
	}
	if (h->op == VSOCK_OP_REQUEST) {
		guest_request(d, h);
		return;
	}
	c = vsockd_conn_find(d, h->dst_port, h->src_port);
	if (!c) {
		if (h->op != VSOCK_OP_RST)
			vsockd_queue_reset(d, h->dst_port, h->src_port);
		return;
	}
	if (c->state == CONN_CLOSING) {
		if (h->op == VSOCK_OP_RST)
			vsockd_conn_free(c); /* it is gone already: no RST owed */
		return;
	}
	update_credit(c, h);
	switch (h->op) {
	case VSOCK_OP_RESPONSE:
		if (c->state == CONN_CONNECTING) {
			char ok[32];
			int n = snprintf(ok, sizeof(ok), "OK %u\n", c->local_port);

			/* A fresh socket always has room for this line. */
			if (write(c->fd, ok, (size_t)n) != n) {
				vsockd_conn_reset(c);
				return;
			}
			c->state = CONN_OPEN;
		}
		break;
	case VSOCK_OP_RST:
		/* The guest refused or dropped the connection. */
		vsockd_conn_free(c);
		return;
	case VSOCK_OP_SHUTDOWN:
		guest_shutdown(c, h);
		break;
	case VSOCK_OP_RW:
		if (c->state != CONN_OPEN) {
			vsockd_conn_reset(c);
			return;
		}
		guest_rw(c, h, ch);
		break;
	case VSOCK_OP_CREDIT_REQUEST:
		c->ctrl |= CTRL_CREDIT_UPDATE;
		break;
	default: /* CREDIT_UPDATE: the credit above was all */
		break;
	}
	if (c->state != CONN_CLOSING)
		vsockd_conn_host_progress(c);
}

/* Decode one chain: header from the first bytes, payload after it. */
void vsockd_tx_chain(struct vsockd *d, const struct lbx_virtq_chain *ch)
{
	uint8_t raw[VSOCK_HDR_SIZE];
	struct lbx_reader r;
	struct vsock_hdr h;

	if (ch->rd_len < VSOCK_HDR_SIZE ||
	    lbx_iov_to_buf(ch->rd, ch->nrd, 0, raw, sizeof(raw)) != sizeof(raw)) {
		d->bad_pkts++;
		return;
	}
	lbx_reader_init(&r, raw, sizeof(raw));
	if (vsock_hdr_decode(&r, &h) < 0 || h.len > ch->rd_len - VSOCK_HDR_SIZE) {
		d->bad_pkts++;
		lbx_debug("vsock: malformed packet from the guest dropped");
		return;
	}
	handle_packet(d, &h, ch);
}

void vsockd_tx_run(struct vsockd *d, struct lbx_virtq *q)
{
	bool pushed = false;

	for (;;) {
		int rc = lbx_virtq_pop(q, d->chain);

		if (rc <= 0)
			break;
		vsockd_tx_chain(d, d->chain);
		lbx_virtq_push(q, d->chain->head, 0);
		pushed = true;
	}
	if (pushed)
		lbx_vu_dev_notify(d->dev, VSOCKD_TX);
	/* Responses, credit updates and resets may now be owed. */
	vsockd_rx_run(d);
}
