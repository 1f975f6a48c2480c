/* SPDX-License-Identifier: MIT */
/*
 * The rx queue: frames for the guest. Each goes into one chain behind a
 * virtio_net_hdr that says "nothing to do" (no checksum or GSO work,
 * num_buffers 1: §5.1.6.3.1). Frames that find no buffer wait in a FIFO
 * bounded by NETD_RXQ_MAX_BYTES; past that they are dropped, as slirp's
 * send_packet contract allows (TCP retransmits). With the stream
 * transport the frames go to stream_peer.c instead, which has a queue
 * and a bound of its own.
 */
#include <stdlib.h>
#include <string.h>

#include "dns.h"
#include "log.h"
#include "netd.h"
#include "writer.h"

#define PORT_DNS 53

static size_t vnet_hdr_len(const struct netd *d)
{
	uint64_t f = lbx_vu_dev_features(d->dev);

	return f & ((1ull << LBX_VIRTIO_F_VERSION_1) | (1ull << VIRTIO_NET_F_MRG_RXBUF))
		       ? NETD_VNET_HDR_LEN
		       : NETD_VNET_HDR_LEN_LEGACY;
}

/* Pop a chain and fill it: 1 delivered, 0 no buffer, -1 the frame was dropped. */
static int deliver(struct netd *d, struct lbx_virtq *q, const uint8_t *frame, size_t len)
{
	uint8_t hdr[NETD_VNET_HDR_LEN] = { 0 };
	size_t hlen = vnet_hdr_len(d);
	int rc = lbx_virtq_pop(q, d->rx_chain);

	if (rc <= 0)
		return rc;
	if (d->rx_chain->nrd != 0 || d->rx_chain->wr_len < hlen + len) {
		/* A driver that posts buffers too small for a frame (§5.1.6.3.1: 1526 bytes). */
		lbx_virtq_push(q, d->rx_chain->head, 0);
		d->st.rx_dropped++;
		return -1;
	}
	if (hlen == NETD_VNET_HDR_LEN)
		lbx_put_u16le(hdr + 10, 1); /* num_buffers */
	lbx_iov_from_buf(d->rx_chain->wr, d->rx_chain->nwr, 0, hdr, hlen);
	lbx_iov_from_buf(d->rx_chain->wr, d->rx_chain->nwr, hlen, frame, len);
	lbx_virtq_push(q, d->rx_chain->head, (uint32_t)(hlen + len));
	d->st.frames_to_guest++;
	return 1;
}

static void enqueue(struct netd *d, const uint8_t *frame, size_t len)
{
	struct netd_pending *p;

	if (d->rxq_bytes + len > NETD_RXQ_MAX_BYTES || !(p = malloc(sizeof(*p) + len))) {
		d->st.rx_dropped++;
		return;
	}
	p->next = NULL;
	p->len = len;
	memcpy(p->data, frame, len);
	if (d->rxq_tail)
		d->rxq_tail->next = p;
	else
		d->rxq_head = p;
	d->rxq_tail = p;
	d->rxq_bytes += len;
}

void netd_rx_flush(struct netd *d)
{
	struct lbx_virtq *q = lbx_vu_dev_queue(d->dev, NETD_RX);
	bool pushed = false;

	if (!q)
		return;
	while (d->rxq_head) {
		struct netd_pending *p = d->rxq_head;
		int rc = deliver(d, q, p->data, p->len);

		if (rc == 0)
			break;
		pushed = true;
		d->rxq_head = p->next;
		if (!d->rxq_head)
			d->rxq_tail = NULL;
		d->rxq_bytes -= p->len;
		free(p);
	}
	if (pushed)
		lbx_vu_dev_notify(d->dev, NETD_RX);
}

void netd_to_guest(struct netd *d, const uint8_t *frame, size_t len)
{
	struct lbx_virtq *q;

	if (d->transport == NETD_STREAM) {
		netd_stream_send(d, frame, len);
		return;
	}
	q = lbx_vu_dev_queue(d->dev, NETD_RX);
	if (!d->rxq_head && q) {
		int rc = deliver(d, q, frame, len);

		if (rc != 0) {
			lbx_vu_dev_notify(d->dev, NETD_RX);
			return;
		}
	}
	enqueue(d, frame, len);
}

void netd_rx_clear(struct netd *d)
{
	while (d->rxq_head) {
		struct netd_pending *p = d->rxq_head;

		d->rxq_head = p->next;
		free(p);
	}
	d->rxq_tail = NULL;
	d->rxq_bytes = 0;
}

/* A DNS answer from slirp's resolver: remember which addresses the name had. */
static void learn_answer(struct netd *d, const struct net_frame *fr)
{
	struct net_dns_msg *m = malloc(sizeof(*m));
	uint64_t now = netd_now_ms();

	if (!m)
		return;
	if (net_dns_parse(fr->payload, fr->payload_len, m) == 0 && m->response) {
		d->st.dns_answers++;
		for (unsigned i = 0; i < m->naddrs; i++)
			net_names_learn(d->names, m->qname, &m->addrs[i], m->ttls[i], now);
		if (m->naddrs)
			lbx_debug("net: %s resolved to %u address(es)", m->qname, m->naddrs);
	}
	free(m);
}

void netd_snoop(struct netd *d, const uint8_t *frame, size_t len)
{
	struct net_frame fr;
	bool from_dns;

	/* slirp builds these frames, but their contents come from the outside. */
	if (net_frame_parse(frame, len, &fr) != NET_FRAME_OK || !fr.has_l4 ||
	    fr.proto != NET_PROTO_UDP)
		return;
	from_dns = fr.sport == PORT_DNS &&
		   (net_addr_eq(&fr.src, &d->policy.dns4) || net_addr_eq(&fr.src, &d->policy.dns6));
	if (from_dns)
		learn_answer(d, &fr);
	else
		netd_flows_inbound(d->flows, fr.dport, &fr.src, fr.sport, netd_now_ms());
}
