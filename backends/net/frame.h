/* SPDX-License-Identifier: MIT */
/*
 * The Ethernet frame parser: every frame the guest sends, and the DNS
 * answers slirp sends back, are read here through common/reader.h and
 * summarised in a struct net_frame; nothing else looks at raw bytes.
 *
 * Headers understood: Ethernet II (IEEE 802.3), ARP (RFC 826), IPv4
 * (RFC 791, header checksum RFC 1071, options), IPv6 (RFC 8200 with the
 * hop-by-hop, routing, fragment and destination-options extension
 * headers), TCP (RFC 9293), UDP (RFC 768), ICMP (RFC 792) and ICMPv6
 * (RFC 4443). Anything inconsistent (lengths that do not add up, a bad
 * IPv4 header checksum, a source-route option, an unknown EtherType) is
 * an error with a reason, so that it can be counted and dropped before it
 * reaches slirp.
 */
#ifndef LBX_NET_FRAME_H
#define LBX_NET_FRAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "addr.h"
#include "compiler.h"

#define NET_ETH_HLEN 14
#define NET_ETHERTYPE_IPV4 0x0800
#define NET_ETHERTYPE_ARP 0x0806
#define NET_ETHERTYPE_IPV6 0x86dd

#define NET_PROTO_ICMP 1
#define NET_PROTO_TCP 6
#define NET_PROTO_UDP 17
#define NET_PROTO_ICMPV6 58

/* TCP flags (RFC 9293 §3.1) */
#define NET_TCP_FIN 0x01
#define NET_TCP_SYN 0x02
#define NET_TCP_RST 0x04
#define NET_TCP_PSH 0x08
#define NET_TCP_ACK 0x10
#define NET_TCP_URG 0x20

/* Why a frame was refused; also the index of the malformed counters. */
enum net_frame_err {
	NET_FRAME_OK,
	NET_FRAME_TRUNCATED,	/* shorter than a header says */
	NET_FRAME_ETHERTYPE,	/* not IPv4, IPv6 or ARP (VLAN tags included) */
	NET_FRAME_ARP,		/* not Ethernet/IPv4 ARP, or an unknown op */
	NET_FRAME_IP_HEADER,	/* version, header or total length inconsistent */
	NET_FRAME_IP_CHECKSUM,	/* IPv4 header checksum wrong */
	NET_FRAME_IP_OPTIONS,	/* malformed IPv4 options, or source routing */
	NET_FRAME_IPV6_EXT,	/* malformed or unsupported IPv6 extension headers */
	NET_FRAME_L4_HEADER,	/* TCP, UDP or ICMP header inconsistent */
	NET_FRAME_ERR_COUNT
};

struct net_frame {
	uint8_t dst_mac[6], src_mac[6];
	uint16_t ethertype;

	/* ARP */
	uint16_t arp_op;
	struct net_addr arp_spa, arp_tpa;

	/* IP */
	uint8_t ip_version; /* 4 or 6, 0 for ARP */
	struct net_addr src, dst;
	uint8_t proto;	    /* the upper-layer protocol (after IPv6 extension headers) */
	uint8_t ttl;	    /* TTL or hop limit */
	bool ipv6_ext;	    /* IPv6 extension headers were present */
	bool fragment;	    /* part of a fragmented datagram */
	uint16_t frag_offset; /* in bytes */

	/* Upper layer: set when the frame carries its start (not a later fragment). */
	bool has_l4;
	uint16_t sport, dport;	   /* TCP/UDP */
	uint8_t tcp_flags;
	uint32_t tcp_seq, tcp_ack;
	uint8_t icmp_type, icmp_code;
	uint16_t icmp_id;	   /* echo identifier */
	const uint8_t *payload;	   /* TCP/UDP payload inside the caller's buffer */
	size_t payload_len;
	size_t tcp_seg_len;	   /* payload bytes plus SYN and FIN (sequence space) */
};

/* Parse a whole Ethernet frame (no virtio header). NET_FRAME_OK or the reason. */
LBX_MUST_CHECK enum net_frame_err net_frame_parse(const void *buf, size_t len, struct net_frame *f);
const char *net_frame_err_name(enum net_frame_err e);

/* RFC 1071 one's-complement sum over p, added to sum (not folded, not inverted). */
uint32_t net_csum_add(uint32_t sum, const void *p, size_t len);
uint16_t net_csum_fold(uint32_t sum);

#endif
