/* SPDX-License-Identifier: MIT */
#include "reply.h"

#include <errno.h>
#include <string.h>

#include "build.h"

#define DNS_FLAG_QR 0x8000
#define DNS_FLAG_RD 0x0100
#define DNS_FLAG_RA 0x0080

/* The answer goes back the way the frame came: addresses and ports swapped. */
static void reverse(const struct net_frame *fr, struct net_pkt_spec *s)
{
	memcpy(s->dst_mac, fr->src_mac, 6);
	memcpy(s->src_mac, fr->dst_mac, 6);
	s->ip_version = fr->ip_version;
	s->src = fr->dst;
	s->dst = fr->src;
	s->proto = fr->proto;
	s->sport = fr->dport;
	s->dport = fr->sport;
	s->ttl = 64;
}

int net_reply_tcp_reset(const struct net_frame *fr, struct lbx_writer *w)
{
	struct net_pkt_spec s = { 0 };

	if (fr->proto != NET_PROTO_TCP || !fr->has_l4 || (fr->tcp_flags & NET_TCP_RST))
		return -EINVAL; /* never answer a reset with a reset */
	reverse(fr, &s);
	if (fr->tcp_flags & NET_TCP_ACK) {
		s.seq = fr->tcp_ack;
		s.tcp_flags = NET_TCP_RST;
	} else {
		s.ack = fr->tcp_seq + (uint32_t)fr->tcp_seg_len;
		s.tcp_flags = NET_TCP_RST | NET_TCP_ACK;
	}
	return net_build_frame(w, &s);
}

/* RFC 1035 §4.1.2: the question again, from the parsed (validated) name. */
static int write_question(struct lbx_writer *w, const struct net_dns_msg *q)
{
	const char *s = q->qname;

	while (*s) {
		const char *dot = strchr(s, '.');
		size_t n = dot ? (size_t)(dot - s) : strlen(s);

		if (lbx_write_blob(w, LBX_LEN_U8, s, n))
			return lbx_writer_error(w);
		s += n + (dot ? 1 : 0);
	}
	if (lbx_write_u8(w, 0) || lbx_write_u16be(w, q->qtype) || lbx_write_u16be(w, q->qclass))
		return lbx_writer_error(w);
	return 0;
}

int net_reply_dns_nxdomain(const struct net_frame *fr, const struct net_dns_msg *q,
			   struct lbx_writer *w)
{
	uint8_t msg[2 * NET_DNS_NAME_MAX + 32];
	struct net_pkt_spec s = { 0 };
	struct lbx_writer mw;
	uint16_t flags = (uint16_t)(DNS_FLAG_QR | (q->opcode << 11) | (q->flags & DNS_FLAG_RD) |
				    DNS_FLAG_RA | NET_DNS_RCODE_NXDOMAIN);
	int err;

	if (fr->proto != NET_PROTO_UDP || q->response)
		return -EINVAL;
	lbx_writer_init_fixed(&mw, msg, sizeof(msg));
	if (lbx_write_u16be(&mw, q->id) || lbx_write_u16be(&mw, flags) ||
	    lbx_write_u16be(&mw, 1) || lbx_write_zeros(&mw, 6))
		return lbx_writer_error(&mw);
	err = write_question(&mw, q);
	if (err)
		return err;
	reverse(fr, &s);
	s.payload = msg;
	s.payload_len = lbx_writer_len(&mw);
	return net_build_frame(w, &s);
}
