/* SPDX-License-Identifier: MIT */
#include "frame.h"

#include <string.h>

#include "reader.h"

#define IPV4_OPT_EOL 0
#define IPV4_OPT_NOP 1
#define IPV4_OPT_LSRR 131 /* loose source route (RFC 791 §3.1) */
#define IPV4_OPT_SSRR 137 /* strict source route */

#define IPV6_EXT_HOPOPTS 0
#define IPV6_EXT_ROUTING 43
#define IPV6_EXT_FRAGMENT 44
#define IPV6_EXT_DSTOPTS 60
#define IPV6_EXT_MAX 8 /* more in one packet is an attack, not a use */

#define ICMP_ECHO_REQUEST 8
#define ICMP_ECHO_REPLY 0
#define ICMPV6_ECHO_REQUEST 128
#define ICMPV6_ECHO_REPLY 129

uint32_t net_csum_add(uint32_t sum, const void *p, size_t len)
{
	struct lbx_reader r;
	uint16_t w;
	uint8_t last;

	lbx_reader_init(&r, p, len);
	while (lbx_reader_left(&r) >= 2 && !lbx_read_u16be(&r, &w))
		sum += w;
	if (!lbx_read_u8(&r, &last))
		sum += (uint32_t)last << 8;
	return sum;
}

uint16_t net_csum_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

static enum net_frame_err parse_arp(struct lbx_reader *r, struct net_frame *f)
{
	uint16_t htype, ptype;
	uint8_t hlen, plen;
	const uint8_t *sha, *spa, *tha, *tpa;

	if (lbx_read_u16be(r, &htype) || lbx_read_u16be(r, &ptype) || lbx_read_u8(r, &hlen) ||
	    lbx_read_u8(r, &plen) || lbx_read_u16be(r, &f->arp_op) ||
	    lbx_read_bytes(r, 6, &sha) || lbx_read_bytes(r, 4, &spa) ||
	    lbx_read_bytes(r, 6, &tha) || lbx_read_bytes(r, 4, &tpa))
		return NET_FRAME_TRUNCATED;
	(void)sha;
	(void)tha;
	/* RFC 826 with Ethernet (1) and IPv4: request (1) or reply (2) only. */
	if (htype != 1 || ptype != NET_ETHERTYPE_IPV4 || hlen != 6 || plen != 4 ||
	    (f->arp_op != 1 && f->arp_op != 2))
		return NET_FRAME_ARP;
	net_addr_from_v4_bytes(&f->arp_spa, spa);
	net_addr_from_v4_bytes(&f->arp_tpa, tpa);
	return NET_FRAME_OK;
}

static enum net_frame_err parse_tcp(struct lbx_reader *r, struct net_frame *f)
{
	uint8_t off, flags;
	uint16_t win, csum, urg;
	size_t total = lbx_reader_left(r);

	if (lbx_read_u16be(r, &f->sport) || lbx_read_u16be(r, &f->dport) ||
	    lbx_read_u32be(r, &f->tcp_seq) || lbx_read_u32be(r, &f->tcp_ack) ||
	    lbx_read_u8(r, &off) || lbx_read_u8(r, &flags) || lbx_read_u16be(r, &win) ||
	    lbx_read_u16be(r, &csum) || lbx_read_u16be(r, &urg))
		return NET_FRAME_TRUNCATED;
	off = (uint8_t)((off >> 4) * 4);
	if (off < 20 || off > total)
		return NET_FRAME_L4_HEADER;
	if (lbx_read_skip(r, off - 20u) || lbx_read_rest(r, &f->payload, &f->payload_len))
		return NET_FRAME_TRUNCATED;
	f->tcp_flags = flags;
	f->tcp_seg_len = f->payload_len + !!(flags & NET_TCP_SYN) + !!(flags & NET_TCP_FIN);
	return NET_FRAME_OK;
}

static enum net_frame_err parse_udp(struct lbx_reader *r, struct net_frame *f)
{
	uint16_t len, csum;
	size_t total = lbx_reader_left(r);
	struct lbx_reader body;

	if (lbx_read_u16be(r, &f->sport) || lbx_read_u16be(r, &f->dport) ||
	    lbx_read_u16be(r, &len) || lbx_read_u16be(r, &csum))
		return NET_FRAME_TRUNCATED;
	/* RFC 768: length covers header and data; the IP payload may not be shorter. */
	if (len < 8 || len > total)
		return NET_FRAME_L4_HEADER;
	if (lbx_read_sub(r, len - 8u, &body) || lbx_read_rest(&body, &f->payload, &f->payload_len))
		return NET_FRAME_TRUNCATED;
	return NET_FRAME_OK;
}

static enum net_frame_err parse_icmp(struct lbx_reader *r, struct net_frame *f)
{
	uint16_t csum, id, seq;
	bool echo;

	if (lbx_read_u8(r, &f->icmp_type) || lbx_read_u8(r, &f->icmp_code) ||
	    lbx_read_u16be(r, &csum))
		return NET_FRAME_TRUNCATED;
	echo = f->proto == NET_PROTO_ICMP ? f->icmp_type == ICMP_ECHO_REQUEST ||
						    f->icmp_type == ICMP_ECHO_REPLY
					  : f->icmp_type == ICMPV6_ECHO_REQUEST ||
						    f->icmp_type == ICMPV6_ECHO_REPLY;
	if (echo) {
		if (lbx_read_u16be(r, &id) || lbx_read_u16be(r, &seq))
			return NET_FRAME_TRUNCATED;
		f->icmp_id = id;
	}
	return NET_FRAME_OK;
}

/* The upper layer, from the first byte of its header to the end of the IP payload. */
static enum net_frame_err parse_l4(struct lbx_reader *r, struct net_frame *f)
{
	if (f->fragment && f->frag_offset > 0)
		return NET_FRAME_OK; /* a later fragment: no header here */
	switch (f->proto) {
	case NET_PROTO_TCP: f->has_l4 = true; return parse_tcp(r, f);
	case NET_PROTO_UDP: f->has_l4 = true; return parse_udp(r, f);
	case NET_PROTO_ICMP:
	case NET_PROTO_ICMPV6: f->has_l4 = true; return parse_icmp(r, f);
	default: return NET_FRAME_OK;
	}
}

/* RFC 791 §3.1 options: type, then (except EOL and NOP) a length covering type and length. */
static enum net_frame_err parse_ipv4_options(struct lbx_reader *r)
{
	while (lbx_reader_left(r) > 0) {
		uint8_t type, len;

		if (lbx_read_u8(r, &type))
			return NET_FRAME_TRUNCATED;
		if (type == IPV4_OPT_EOL)
			return NET_FRAME_OK; /* the rest is padding */
		if (type == IPV4_OPT_NOP)
			continue;
		if (lbx_read_u8(r, &len) || len < 2 || lbx_read_skip(r, len - 2u))
			return NET_FRAME_IP_OPTIONS;
		/* Source routing lets a packet name its own path: dropped (RFC 7126 §4.3, §4.4). */
		if (type == IPV4_OPT_LSRR || type == IPV4_OPT_SSRR)
			return NET_FRAME_IP_OPTIONS;
	}
	return NET_FRAME_OK;
}

static enum net_frame_err parse_ipv4(struct lbx_reader *r, struct net_frame *f)
{
	const uint8_t *hdr, *src, *dst;
	uint8_t vihl, tos, proto;
	uint16_t total, id, frag, csum;
	struct lbx_reader opts, l4;
	size_t hlen, avail = lbx_reader_left(r);
	enum net_frame_err e;

	if (lbx_read_bytes(r, 0, &hdr) || lbx_read_u8(r, &vihl) || lbx_read_u8(r, &tos) ||
	    lbx_read_u16be(r, &total) || lbx_read_u16be(r, &id) || lbx_read_u16be(r, &frag) ||
	    lbx_read_u8(r, &f->ttl) || lbx_read_u8(r, &proto) || lbx_read_u16be(r, &csum) ||
	    lbx_read_bytes(r, 4, &src) || lbx_read_bytes(r, 4, &dst))
		return NET_FRAME_TRUNCATED;
	hlen = (size_t)(vihl & 0x0f) * 4;
	/* The total length may be shorter than the frame (Ethernet padding), never longer. */
	if (vihl >> 4 != 4 || hlen < 20 || total < hlen || total > avail)
		return NET_FRAME_IP_HEADER;
	if (frag & 0x8000)
		return NET_FRAME_IP_HEADER; /* the reserved flag must be zero */
	if (net_csum_fold(net_csum_add(0, hdr, hlen)) != 0)
		return NET_FRAME_IP_CHECKSUM;
	if (lbx_read_sub(r, hlen - 20, &opts))
		return NET_FRAME_TRUNCATED;
	e = parse_ipv4_options(&opts);
	if (e)
		return e;
	f->ip_version = 4;
	f->proto = proto;
	net_addr_from_v4_bytes(&f->src, src);
	net_addr_from_v4_bytes(&f->dst, dst);
	f->frag_offset = (uint16_t)((frag & 0x1fff) * 8);
	f->fragment = (frag & 0x2000) || f->frag_offset;
	if (lbx_read_sub(r, total - hlen, &l4))
		return NET_FRAME_TRUNCATED;
	return parse_l4(&l4, f);
}

/* Walk the extension headers (RFC 8200 §4) up to the upper-layer header. */
static enum net_frame_err parse_ipv6_ext(struct lbx_reader *r, struct net_frame *f, uint8_t next)
{
	for (unsigned n = 0;; n++) {
		uint8_t nh, len, b2, b3;
		uint16_t fragword;
		uint32_t ident;

		if (next != IPV6_EXT_HOPOPTS && next != IPV6_EXT_ROUTING &&
		    next != IPV6_EXT_FRAGMENT && next != IPV6_EXT_DSTOPTS)
			break;
		/* Hop-by-hop options may only come first (§4.3). */
		if (n >= IPV6_EXT_MAX || (next == IPV6_EXT_HOPOPTS && n > 0))
			return NET_FRAME_IPV6_EXT;
		f->ipv6_ext = true;
		if (lbx_read_u8(r, &nh) || lbx_read_u8(r, &len))
			return NET_FRAME_TRUNCATED;
		if (next == IPV6_EXT_FRAGMENT) {
			/* §4.5: fixed 8 bytes; the length byte is reserved. */
			if (lbx_read_u16be(r, &fragword) || lbx_read_u32be(r, &ident))
				return NET_FRAME_TRUNCATED;
			f->fragment = true;
			f->frag_offset = fragword & 0xfff8;
		} else if (next == IPV6_EXT_ROUTING) {
			if (lbx_read_u8(r, &b2) || lbx_read_u8(r, &b3) ||
			    lbx_read_skip(r, (size_t)len * 8 + 4))
				return NET_FRAME_TRUNCATED;
			/* A routing header still to be processed names other hops: refused. */
			if (b3 != 0)
				return NET_FRAME_IPV6_EXT;
		} else if (lbx_read_skip(r, (size_t)len * 8 + 6)) {
			return NET_FRAME_TRUNCATED;
		}
		next = nh;
	}
	f->proto = next;
	return NET_FRAME_OK;
}

static enum net_frame_err parse_ipv6(struct lbx_reader *r, struct net_frame *f)
{
	uint32_t vtf;
	uint16_t plen;
	uint8_t next;
	struct lbx_reader payload;
	enum net_frame_err e;

	if (lbx_read_u32be(r, &vtf) || lbx_read_u16be(r, &plen) || lbx_read_u8(r, &next) ||
	    lbx_read_u8(r, &f->ttl) || lbx_read_copy(r, f->src.b, 16) ||
	    lbx_read_copy(r, f->dst.b, 16))
		return NET_FRAME_TRUNCATED;
	/* A zero payload length means a jumbogram (RFC 2675): never on our link. */
	if (vtf >> 28 != 6 || plen == 0 || plen > lbx_reader_left(r))
		return NET_FRAME_IP_HEADER;
	f->ip_version = 6;
	if (lbx_read_sub(r, plen, &payload))
		return NET_FRAME_TRUNCATED;
	e = parse_ipv6_ext(&payload, f, next);
	if (e)
		return e;
	return parse_l4(&payload, f);
}

enum net_frame_err net_frame_parse(const void *buf, size_t len, struct net_frame *f)
{
	struct lbx_reader r;

	memset(f, 0, sizeof(*f));
	lbx_reader_init(&r, buf, len);
	if (lbx_read_copy(&r, f->dst_mac, 6) || lbx_read_copy(&r, f->src_mac, 6) ||
	    lbx_read_u16be(&r, &f->ethertype))
		return NET_FRAME_TRUNCATED;
	switch (f->ethertype) {
	case NET_ETHERTYPE_ARP: return parse_arp(&r, f);
	case NET_ETHERTYPE_IPV4: return parse_ipv4(&r, f);
	case NET_ETHERTYPE_IPV6: return parse_ipv6(&r, f);
	default: return NET_FRAME_ETHERTYPE;
	}
}

const char *net_frame_err_name(enum net_frame_err e)
{
	static const char *const names[NET_FRAME_ERR_COUNT] = {
		[NET_FRAME_OK] = "ok",
		[NET_FRAME_TRUNCATED] = "truncated",
		[NET_FRAME_ETHERTYPE] = "ethertype",
		[NET_FRAME_ARP] = "arp",
		[NET_FRAME_IP_HEADER] = "ip-header",
		[NET_FRAME_IP_CHECKSUM] = "ip-checksum",
		[NET_FRAME_IP_OPTIONS] = "ip-options",
		[NET_FRAME_IPV6_EXT] = "ipv6-extension",
		[NET_FRAME_L4_HEADER] = "l4-header",
	};

	return (unsigned)e < NET_FRAME_ERR_COUNT ? names[e] : "?";
}
