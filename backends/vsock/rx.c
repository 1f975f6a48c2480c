/* SPDX-License-Identifier: MIT */
/*
 * The rx queue: packets from the host side to the guest. Control packets
 * go first, then data, round-robin over connections; a chain is popped
 * only once we know what goes into it, so nothing is ever taken from the
 * guest and returned empty.
 */
#include <string.h>

#include "log.h"
#include "vsockd.h"

static void fill_hdr(const struct vsockd *d, struct vsock_conn *c, struct vsock_hdr *h,
		     uint16_t op)
{
	*h = (struct vsock_hdr){
		.src_cid = VSOCK_HOST_CID,
		.dst_cid = d->guest_cid,
		.src_port = c->local_port,
		.dst_port = c->peer_port,
		.type = VSOCK_TYPE_STREAM,
		.op = op,
		.buf_alloc = VSOCKD_BUF_ALLOC,
		.fwd_cnt = c->fwd_cnt,
	};
}

/* What connection c would send next: an op (0: nothing) and its payload length. */
static uint16_t next_packet(struct vsock_conn *c, size_t room, uint32_t *len, uint32_t *flags)
{
	*len = 0;
	*flags = 0;
	if (c->ctrl & CTRL_RST)
		return VSOCK_OP_RST;
	if (c->ctrl & CTRL_REQUEST)
		return VSOCK_OP_REQUEST;
	if (c->ctrl & CTRL_RESPONSE)
		return VSOCK_OP_RESPONSE;
	if (c->state != CONN_OPEN)
		return 0;
	if (lbx_bq_len(&c->to_guest) > 0 && !(c->peer_shutdown & VSOCK_SHUTDOWN_RCV)) {
		uint32_t credit = vsockd_conn_peer_credit(c);
		size_t n = lbx_bq_len(&c->to_guest);

		if (n > room)
			n = room;
		if (n > credit)
			n = credit;
		if (n > VSOCK_MAX_PAYLOAD)
			n = VSOCK_MAX_PAYLOAD;
		if (n > 0) {
			*len = (uint32_t)n;
			return VSOCK_OP_RW;
		}
		/* Ask once; the guest's next packet carries its credit anyway. */
		if (credit == 0 && !c->credit_requested)
			c->ctrl |= CTRL_CREDIT_REQUEST;
	}
	if (c->ctrl & CTRL_CREDIT_UPDATE)
		return VSOCK_OP_CREDIT_UPDATE;
	if (c->ctrl & CTRL_CREDIT_REQUEST)
		return VSOCK_OP_CREDIT_REQUEST;
	if (c->host_eof && lbx_bq_len(&c->to_guest) == 0 && !c->shutdown_sent) {
		*flags = VSOCK_SHUTDOWN_SEND;
		return VSOCK_OP_SHUTDOWN;
	}
	return 0;
}

static void mark_sent(struct vsock_conn *c, uint16_t op, uint32_t len)
{
	c->reported_fwd_cnt = c->fwd_cnt;
	c->ctrl &= ~CTRL_CREDIT_UPDATE; /* every packet carries fwd_cnt */
	switch (op) {
	case VSOCK_OP_RST: c->ctrl = 0; break;
	case VSOCK_OP_REQUEST: c->ctrl &= ~CTRL_REQUEST; break;
	case VSOCK_OP_RESPONSE: c->ctrl &= ~CTRL_RESPONSE; break;
	case VSOCK_OP_CREDIT_REQUEST:
		c->ctrl &= ~CTRL_CREDIT_REQUEST;
		c->credit_requested = true;
		break;
	case VSOCK_OP_SHUTDOWN: c->shutdown_sent = true; break;
	case VSOCK_OP_RW:
		lbx_bq_consume(&c->to_guest, len);
		c->tx_cnt += len;
		break;
	default: break;
	}
}

/* Copy header and payload into the chain's device-writable buffers. */
static uint32_t write_packet(struct lbx_virtq_chain *ch, const struct vsock_hdr *h,
			     const uint8_t *payload)
{
	uint8_t hdr[VSOCK_HDR_SIZE];

	vsock_hdr_encode(h, hdr);
	lbx_iov_from_buf(ch->wr, ch->nwr, 0, hdr, sizeof(hdr));
	if (h->len)
		lbx_iov_from_buf(ch->wr, ch->nwr, VSOCK_HDR_SIZE, payload, h->len);
	return VSOCK_HDR_SIZE + h->len;
}

/* Pop a chain that can hold at least a header; 0 when the guest has none. */
static int pop_chain(struct vsockd *d, struct lbx_virtq *q)
{
	for (;;) {
		int rc = lbx_virtq_pop(q, d->chain);

		if (rc <= 0)
			return rc;
		if (d->chain->wr_len >= VSOCK_HDR_SIZE && d->chain->nrd == 0)
			return 1;
		/* A driver bug, not ours to crash on: give it back unused. */
		d->bad_pkts++;
		lbx_virtq_push(q, d->chain->head, 0);
	}
}

static bool send_reset(struct vsockd *d, struct lbx_virtq *q)
{
	struct vsock_reset r = d->resets[0];
	struct vsock_hdr h = {
		.src_cid = VSOCK_HOST_CID, .dst_cid = d->guest_cid,
		.src_port = r.src_port, .dst_port = r.dst_port,
		.type = VSOCK_TYPE_STREAM, .op = VSOCK_OP_RST,
	};

	if (pop_chain(d, q) <= 0)
		return false;
	lbx_virtq_push(q, d->chain->head, write_packet(d->chain, &h, NULL));
	memmove(d->resets, d->resets + 1, --d->nresets * sizeof(d->resets[0]));
	return true;
}

/* Send one packet for c if it has one; false when the queue ran dry. */
static bool send_for(struct vsockd *d, struct lbx_virtq *q, struct vsock_conn *c, bool *sent)
{
	uint32_t len, flags;
	struct vsock_hdr h;
	uint16_t op = next_packet(c, VSOCK_MAX_PAYLOAD, &len, &flags);
	uint8_t *payload = NULL;

	*sent = false;
	if (!op)
		return true;
	if (pop_chain(d, q) <= 0)
		return false;
	/* Recompute with the chain's real size. */
	op = next_packet(c, d->chain->wr_len - VSOCK_HDR_SIZE, &len, &flags);
	if (!op) {
		/*
		 * Only data is owed and the buffer holds a header alone (a driver
		 * bug): give it back unused rather than send a packet with no op.
		 */
		d->bad_pkts++;
		lbx_virtq_push(q, d->chain->head, 0);
		*sent = true; /* a chain went back: notify, and try the next one */
		return true;
	}
	fill_hdr(d, c, &h, op);
	h.len = len;
	h.flags = flags;
	if (op == VSOCK_OP_RW)
		payload = (uint8_t *)lbx_bq_head(&c->to_guest);
	lbx_virtq_push(q, d->chain->head, write_packet(d->chain, &h, payload));
	mark_sent(c, op, len);
	*sent = true;
	if (op == VSOCK_OP_RST)
		vsockd_conn_free(c);
	else
		vsockd_conn_update_interest(c);
	return true;
}

void vsockd_rx_run(struct vsockd *d)
{
	struct lbx_virtq *q = lbx_vu_dev_queue(d->dev, VSOCKD_RX);
	bool pushed = false, progress = true;

	if (!q)
		return;
	while (d->nresets > 0 && send_reset(d, q))
		pushed = true;
	while (progress && d->nresets == 0) {
		progress = false;
		for (unsigned i = 0; i < d->nconns; i++) {
			unsigned idx = (d->rr + i) % d->nconns;
			struct vsock_conn *c = d->conns[idx];
			bool sent;

			if (!send_for(d, q, c, &sent)) {
				if (pushed)
					lbx_vu_dev_notify(d->dev, VSOCKD_RX);
				return;
			}
			if (sent) {
				pushed = progress = true;
				d->rr = idx + 1;
				break; /* the list may have changed */
			}
		}
	}
	if (pushed)
		lbx_vu_dev_notify(d->dev, VSOCKD_RX);
}
