/* SPDX-License-Identifier: MIT */
#include "build.h"

#include <errno.h>
#include <string.h>

#include "frame.h"

#define L4_MAX 65535

static size_t l4_header_len(const struct net_pkt_spec *s)
{
	if (s->no_l4)
		return 0;
	switch (s->proto) {
	case NET_PROTO_TCP: return 20;
	case NET_PROTO_UDP: return 8;
	case NET_PROTO_ICMP:
	case NET_PROTO_ICMPV6: return 8;
	default: return 0;
	}
}

/* The upper-layer header and payload, with checksum csum. */
static int write_l4(struct lbx_writer *w, const struct net_pkt_spec *s, uint16_t csum)
{
	size_t len = l4_header_len(s) + s->payload_len;
	int err = 0;

	if (s->no_l4) {
		/* nothing but the payload */
	} else if (s->proto == NET_PROTO_TCP) {
		err = lbx_write_u16be(w, s->sport) || lbx_write_u16be(w, s->dport) ||
		      lbx_write_u32be(w, s->seq) || lbx_write_u32be(w, s->ack) ||
		      lbx_write_u8(w, 5 << 4) || lbx_write_u8(w, s->tcp_flags) ||
		      lbx_write_u16be(w, s->window) || lbx_write_u16be(w, csum) ||
		      lbx_write_u16be(w, 0);
	} else if (s->proto == NET_PROTO_UDP) {
		err = lbx_write_u16be(w, s->sport) || lbx_write_u16be(w, s->dport) ||
		      lbx_write_u16be(w, (uint16_t)len) || lbx_write_u16be(w, csum);
	} else if (s->proto == NET_PROTO_ICMP || s->proto == NET_PROTO_ICMPV6) {
		err = lbx_write_u8(w, s->icmp_type) || lbx_write_u8(w, s->icmp_code) ||
		      lbx_write_u16be(w, csum) || lbx_write_u16be(w, s->icmp_id) ||
		      lbx_write_u16be(w, s->icmp_seq);
	}
	if (!err && s->payload_len)
		err = lbx_write_bytes(w, s->payload, s->payload_len);
	return err ? lbx_writer_error(w) : 0;
}

/* The pseudo-header sum (RFC 9293 §3.1 for IPv4, RFC 8200 §8.1 for IPv6). */
static uint32_t pseudo_sum(const struct net_pkt_spec *s, size_t len)
{
	uint32_t sum = 0;

	if (s->ip_version == 4) {
		sum = net_csum_add(sum, s->src.b + 12, 4);
		sum = net_csum_add(sum, s->dst.b + 12, 4);
		sum += s->proto + (uint32_t)len;
	} else {
		sum = net_csum_add(sum, s->src.b, 16);
		sum = net_csum_add(sum, s->dst.b, 16);
		sum += (uint32_t)(len >> 16) + (uint32_t)(len & 0xffff) + s->proto;
	}
	return sum;
}

static int l4_checksum(const struct net_pkt_spec *s, uint16_t *csum)
{
	uint8_t buf[L4_MAX];
	struct lbx_writer w;
	uint32_t sum;
	uint16_t c;
	int err;

	*csum = 0;
	if (s->no_l4 || l4_header_len(s) == 0)
		return 0;
	lbx_writer_init_fixed(&w, buf, sizeof(buf));
	err = write_l4(&w, s, 0);
	if (err)
		return err;
	sum = net_csum_add(s->proto == NET_PROTO_ICMP ? 0 : pseudo_sum(s, lbx_writer_len(&w)),
			   buf, lbx_writer_len(&w));
	c = net_csum_fold(sum);
	/* RFC 768: a computed zero is sent as all ones (zero means "none" for UDP). */
	*csum = c == 0 && s->proto == NET_PROTO_UDP ? 0xffff : c;
	return 0;
}

static int write_ipv4(struct lbx_writer *w, const struct net_pkt_spec *s, size_t l4len,
		      uint16_t csum)
{
	size_t hlen = 20 + s->ip_opts_len;
	uint16_t frag = (uint16_t)((s->frag_offset / 8) | (s->more_frags ? 0x2000 : 0));

	if (lbx_write_u8(w, (uint8_t)(0x40 | (hlen / 4))) || lbx_write_u8(w, 0) ||
	    lbx_write_u16be(w, (uint16_t)(hlen + l4len)) || lbx_write_u16be(w, 0) ||
	    lbx_write_u16be(w, frag) || lbx_write_u8(w, s->ttl ? s->ttl : 64) ||
	    lbx_write_u8(w, s->proto) || lbx_write_u16be(w, csum) ||
	    lbx_write_bytes(w, s->src.b + 12, 4) || lbx_write_bytes(w, s->dst.b + 12, 4) ||
	    (s->ip_opts_len && lbx_write_bytes(w, s->ip_opts, s->ip_opts_len)))
		return lbx_writer_error(w);
	return 0;
}

static int write_ip(struct lbx_writer *w, const struct net_pkt_spec *s, size_t l4len)
{
	uint8_t hdr[60];
	struct lbx_writer hw;
	int err;

	if (s->ip_version == 6) {
		uint8_t next = s->v6_ext_len ? s->v6_ext_first : s->proto;

		if (lbx_write_u32be(w, 6u << 28) ||
		    lbx_write_u16be(w, (uint16_t)(l4len + s->v6_ext_len)) ||
		    lbx_write_u8(w, next) || lbx_write_u8(w, s->ttl ? s->ttl : 64) ||
		    lbx_write_bytes(w, s->src.b, 16) || lbx_write_bytes(w, s->dst.b, 16) ||
		    (s->v6_ext_len && lbx_write_bytes(w, s->v6_ext, s->v6_ext_len)))
			return lbx_writer_error(w);
		return 0;
	}
	if (s->ip_opts_len > 40 || s->ip_opts_len % 4)
		return -EINVAL;
	lbx_writer_init_fixed(&hw, hdr, sizeof(hdr));
	err = write_ipv4(&hw, s, l4len, 0);
	if (err)
		return err;
	return write_ipv4(w, s, l4len, net_csum_fold(net_csum_add(0, hdr, lbx_writer_len(&hw))));
}

int net_build_frame(struct lbx_writer *w, const struct net_pkt_spec *s)
{
	size_t l4len = l4_header_len(s) + s->payload_len;
	uint16_t csum;
	int err;

	if (l4len > L4_MAX - 60)
		return -EMSGSIZE;
	err = l4_checksum(s, &csum);
	if (err)
		return err;
	if (lbx_write_bytes(w, s->dst_mac, 6) || lbx_write_bytes(w, s->src_mac, 6) ||
	    lbx_write_u16be(w, s->ip_version == 6 ? NET_ETHERTYPE_IPV6 : NET_ETHERTYPE_IPV4))
		return lbx_writer_error(w);
	err = write_ip(w, s, l4len);
	if (!err)
		err = write_l4(w, s, csum);
	return err;
}
