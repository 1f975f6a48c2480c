/* SPDX-License-Identifier: MIT */
/*
 * IP addresses for the egress policy: one 16-byte form for both families
 * (IPv4 as the IPv4-mapped IPv6 address ::ffff:a.b.c.d, RFC 4291 §2.5.5.2),
 * CIDR blocks, and the classification of special-purpose ranges that the
 * default `nat` policy keeps a box away from.
 */
#ifndef LBX_NET_ADDR_H
#define LBX_NET_ADDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "compiler.h"

/* "ffff:ffff:...:255.255.255.255" plus NUL */
#define NET_ADDR_STRLEN 46

struct net_addr {
	uint8_t b[16];
};

/* A prefix in the 128-bit space: IPv4 /n is stored as /(96 + n). */
struct net_cidr {
	struct net_addr addr; /* host bits cleared */
	uint8_t len;
};

/*
 * Special-purpose ranges (IANA registries, RFC 6890). Everything that is
 * not NET_RANGE_PUBLIC is denied by the `nat` policy unless a rule allows it.
 */
enum net_range {
	NET_RANGE_PUBLIC,
	NET_RANGE_UNSPECIFIED, /* 0.0.0.0/8 "this network" (RFC 1122), :: */
	NET_RANGE_LOOPBACK,    /* 127.0.0.0/8, ::1 */
	NET_RANGE_PRIVATE,     /* RFC 1918: 10/8, 172.16/12, 192.168/16 */
	NET_RANGE_CGNAT,       /* RFC 6598: 100.64.0.0/10 */
	NET_RANGE_LINK_LOCAL,  /* RFC 3927: 169.254/16 (cloud metadata); fe80::/10 */
	NET_RANGE_ULA,	       /* RFC 4193: fc00::/7 */
	NET_RANGE_SITE_LOCAL,  /* fec0::/10, deprecated by RFC 3879; slirp's own prefix */
	NET_RANGE_MULTICAST,   /* 224.0.0.0/4, ff00::/8 */
	NET_RANGE_RESERVED,    /* 240.0.0.0/4 incl. broadcast; ::/96 IPv4-compatible */
	NET_RANGE_COUNT
};

void net_addr_from_v4(struct net_addr *a, uint32_t v4); /* v4 in host byte order */
/* a points to 4 bytes in network order */
void net_addr_from_v4_bytes(struct net_addr *a, const uint8_t *v4);
bool net_addr_is_v4(const struct net_addr *a);
uint32_t net_addr_v4(const struct net_addr *a); /* host byte order; a must be v4 */
bool net_addr_eq(const struct net_addr *a, const struct net_addr *b);

/* Dotted quad or RFC 5952 text; 0 or -EINVAL. IPv6 text may not be IPv4-mapped. */
LBX_MUST_CHECK int net_addr_parse(const char *s, struct net_addr *a);
void net_addr_format(const struct net_addr *a, char *buf, size_t bufsz);

/* "a.b.c.d/n", "x::/n", or a bare address (a host prefix). 0 or -EINVAL. */
LBX_MUST_CHECK int net_cidr_parse(const char *s, struct net_cidr *c);
bool net_cidr_contains(const struct net_cidr *c, const struct net_addr *a);
void net_cidr_format(const struct net_cidr *c, char *buf, size_t bufsz);

/*
 * The range a lies in. Addresses that embed an IPv4 address which the
 * network may act on (IPv4-mapped, NAT64 64:ff9b::/96 RFC 6052, 6to4
 * 2002::/16 RFC 3056) take the class of the embedded address, so
 * ::ffff:127.0.0.1 is loopback, not public.
 */
enum net_range net_addr_range(const struct net_addr *a);
const char *net_range_name(enum net_range r);

#endif
