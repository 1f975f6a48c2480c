/* SPDX-License-Identifier: MIT */
/*
 * Building Ethernet frames: the few lbx-netd sends the guest itself (TCP
 * resets for denied connections, DNS refusals; reply.c) and the frames the
 * tests hand-build. Lengths and checksums (RFC 1071; the pseudo-headers of
 * RFC 9293 §3.1 and RFC 8200 §8.1) are always computed here, never by the
 * caller; everything is written through common/writer.h.
 */
#ifndef LBX_NET_BUILD_H
#define LBX_NET_BUILD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "addr.h"
#include "compiler.h"
#include "writer.h"

struct net_pkt_spec {
	uint8_t dst_mac[6], src_mac[6];
	uint8_t ip_version; /* 4 or 6 (addresses must match) */
	struct net_addr src, dst;
	uint8_t proto;	    /* NET_PROTO_TCP, _UDP, _ICMP, _ICMPV6, or any other */
	uint8_t ttl;	    /* 0: 64 */
	uint16_t sport, dport;
	uint32_t seq, ack;
	uint8_t tcp_flags;
	uint16_t window;
	uint8_t icmp_type, icmp_code;
	uint16_t icmp_id, icmp_seq;
	const void *payload;
	size_t payload_len;
	/* For tests: IPv4 options (padded by the caller to 4 bytes) and fragmentation. */
	const void *ip_opts;
	size_t ip_opts_len;
	uint16_t frag_offset; /* bytes, multiple of 8 */
	bool more_frags;
	/* For tests: IPv6 extension headers (their own next-header fields set). */
	const void *v6_ext;
	size_t v6_ext_len;
	uint8_t v6_ext_first; /* next-header value naming the first extension header */
	bool no_l4;	      /* only the payload after the IP header (a later fragment) */
};

/* Append the frame s describes to w. 0 or the writer's error. */
LBX_MUST_CHECK int net_build_frame(struct lbx_writer *w, const struct net_pkt_spec *s);

#endif
