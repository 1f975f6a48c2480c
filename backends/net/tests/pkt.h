/* SPDX-License-Identifier: MIT */
/* Hand-built frames for the lbx-netd tests (through build.h). */
#ifndef LBX_NET_TEST_PKT_H
#define LBX_NET_TEST_PKT_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "build.h"
#include "frame.h"

#define GUEST_MAC { 0x52, 0x54, 0x00, 0x12, 0x34, 0x56 }
#define SLIRP_MAC { 0x52, 0x55, 0x0a, 0x00, 0x02, 0x02 }

static inline struct net_addr pkt_addr(const char *s)
{
	struct net_addr a;

	if (net_addr_parse(s, &a)) {
		fprintf(stderr, "bad test address %s\n", s);
		abort();
	}
	return a;
}

/* A guest -> outside packet: proto, addresses, ports (or ICMP type in sport). */
static inline struct net_pkt_spec pkt_spec(uint8_t proto, const char *src, const char *dst,
					   uint16_t sport, uint16_t dport)
{
	struct net_pkt_spec s = {
		.dst_mac = SLIRP_MAC, .src_mac = GUEST_MAC,
		.proto = proto, .sport = sport, .dport = dport,
		.tcp_flags = NET_TCP_SYN, .window = 65535, .seq = 1000,
	};

	s.src = pkt_addr(src);
	s.dst = pkt_addr(dst);
	s.ip_version = net_addr_is_v4(&s.src) ? 4 : 6;
	if (proto == NET_PROTO_ICMP || proto == NET_PROTO_ICMPV6) {
		s.icmp_type = (uint8_t)sport;
		s.icmp_id = 7;
		s.icmp_seq = 1;
	}
	return s;
}

/* Build into buf; returns the length (aborts on a builder error: a test bug). */
static inline size_t pkt_build(const struct net_pkt_spec *s, uint8_t *buf, size_t cap)
{
	struct lbx_writer w;

	lbx_writer_init_fixed(&w, buf, cap);
	if (net_build_frame(&w, s)) {
		fprintf(stderr, "test frame does not build\n");
		abort();
	}
	return lbx_writer_len(&w);
}

#endif
