/* SPDX-License-Identifier: MIT */
/*
 * The tx queue: frames from the guest. Each is copied out of guest memory
 * once, its virtio_net_hdr read through the reader, the frame parsed
 * (frame.h) and decided (policy.h); only an allowed, well-formed frame
 * reaches slirp. A denied TCP connection gets a reset, a denied DNS name
 * an NXDOMAIN; everything else denied is dropped. All of it is counted.
 */
#include <stdlib.h>
#include <string.h>

#include "dns.h"
#include "log.h"
#include "netd.h"
#include "reader.h"
#include "reply.h"
#include "writer.h"

#define PORT_DNS 53
#define VIRTIO_NET_HDR_GSO_NONE 0

static void send_reply(struct netd *d, int (*build)(const struct net_frame *, const void *,
						     struct lbx_writer *),
		       const struct net_frame *fr, const void *arg)
{
	uint8_t buf[NETD_FRAME_MAX + 64];
	struct lbx_writer w;

	lbx_writer_init_fixed(&w, buf, sizeof(buf));
	if (build(fr, arg, &w) == 0)
		netd_to_guest(d, lbx_writer_data(&w), lbx_writer_len(&w));
}

static int build_reset(const struct net_frame *fr, const void *arg, struct lbx_writer *w)
{
	return net_reply_tcp_reset(fr, w);
}

static int build_nxdomain(const struct net_frame *fr, const void *arg, struct lbx_writer *w)
{
	return net_reply_dns_nxdomain(fr, arg, w);
}

/*
 * allowlist: a query to slirp's resolver goes on only for a listed name,
 * so that DNS cannot carry data out under names nobody allowed.
 */
static bool dns_query_passes(struct netd *d, const struct net_frame *fr)
{
	struct net_dns_msg *q;
	bool pass = false;

	if (d->policy.mode != NET_MODE_ALLOWLIST)
		return true;
	q = malloc(sizeof(*q));
	if (!q)
		return false;
	if (net_dns_parse(fr->payload, fr->payload_len, q) || q->response) {
		d->st.malformed[NETD_BAD_DNS]++;
	} else if (net_policy_name_allowed(&d->policy, q->qname)) {
		pass = true;
	} else {
		lbx_info("net: DNS query for %s refused (not in the allowlist)", q->qname);
		d->st.dns_refused++;
		send_reply(d, build_nxdomain, fr, q);
	}
	free(q);
	return pass;
}

static void log_denied(const struct net_flow *f, const struct net_decision *d)
{
	char addr[NET_ADDR_STRLEN];

	net_addr_format(&f->dst, addr, sizeof(addr));
	lbx_info("net: denied %s %s%s%s port %u (%s%s%s)",
		 f->proto == NET_PROTO_TCP ? "tcp" : f->proto == NET_PROTO_UDP ? "udp" : "ip",
		 f->ip_version == 6 ? "[" : "", addr, f->ip_version == 6 ? "]" : "", f->dport,
		 net_reason_name(d->reason), d->reason == NET_DENY_RANGE ? ": " : "",
		 d->reason == NET_DENY_RANGE ? net_range_name(d->range) : "");
}

void netd_egress(struct netd *d, const uint8_t *frame, size_t len)
{
	uint64_t now = netd_now_ms();
	struct net_decision dec;
	struct net_frame fr;
	struct net_flow f;
	enum net_frame_err e = net_frame_parse(frame, len, &fr);
	const char *name;

	if (e != NET_FRAME_OK) {
		d->st.malformed[e]++;
		lbx_debug("net: malformed frame from the guest dropped (%s)", net_frame_err_name(e));
		return;
	}
	if (fr.ethertype == NET_ETHERTYPE_ARP) {
		netd_slirp_input(d, frame, len); /* slirp answers for its own addresses only */
		return;
	}
	net_flow_from_frame(&fr, &f);
	netd_flows_udp_state(d->flows, &f, now);
	net_policy_decide(&d->policy, d->names, &f, now, &dec);
	if (dec.allow && dec.reason == NET_ALLOW_DNS && f.proto == NET_PROTO_UDP &&
	    !dns_query_passes(d, &fr))
		return;
	name = dec.name ? dec.name : net_names_find(d->names, &f.dst, now, NULL, NULL);
	/* Connection attempts are worth a line; stray multicast and the like are not. */
	if (netd_flows_record(d->flows, &f, &dec, name, now) && !dec.allow && f.has_ports)
		log_denied(&f, &dec);
	if (dec.allow) {
		netd_slirp_input(d, frame, len);
		return;
	}
	d->st.frames_denied++;
	if (f.proto == NET_PROTO_TCP) {
		send_reply(d, build_reset, &fr, NULL);
		d->st.resets_sent++;
	}
}

/* Copy one chain out, check its virtio_net_hdr (§5.1.6), hand the frame on. */
static void tx_chain(struct netd *d, const struct lbx_virtq_chain *ch)
{
	size_t hlen = lbx_vu_dev_features(d->dev) & (1ull << LBX_VIRTIO_F_VERSION_1)
			      ? NETD_VNET_HDR_LEN
			      : NETD_VNET_HDR_LEN_LEGACY;
	struct lbx_reader r;
	const uint8_t *frame;
	uint8_t flags, gso;
	size_t n, flen;

	d->st.frames_from_guest++;
	if (ch->rd_len < hlen + NET_ETH_HLEN || ch->rd_len > sizeof(d->txbuf) - 1) {
		d->st.malformed[NETD_BAD_SIZE]++;
		return;
	}
	n = lbx_iov_to_buf(ch->rd, ch->nrd, 0, d->txbuf, ch->rd_len);
	lbx_reader_init(&r, d->txbuf, n);
	/* We offered no offloads: the driver must ask for none (§5.1.6.2). */
	if (lbx_read_u8(&r, &flags) || lbx_read_u8(&r, &gso) || lbx_read_skip(&r, hlen - 2) ||
	    flags != 0 || gso != VIRTIO_NET_HDR_GSO_NONE || lbx_read_rest(&r, &frame, &flen)) {
		d->st.malformed[NETD_BAD_VNET_HDR]++;
		return;
	}
	netd_egress(d, frame, flen);
}

void netd_tx_run(struct netd *d, struct lbx_virtq *q)
{
	bool pushed = false;

	for (;;) {
		int rc = lbx_virtq_pop(q, d->tx_chain);

		if (rc <= 0)
			break;
		tx_chain(d, d->tx_chain);
		lbx_virtq_push(q, d->tx_chain->head, 0);
		pushed = true;
	}
	if (pushed)
		lbx_vu_dev_notify(d->dev, NETD_TX);
	netd_slirp_repoll(d);
}
