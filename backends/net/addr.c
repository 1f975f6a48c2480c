/* SPDX-License-Identifier: MIT */
#include "addr.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const uint8_t v4_mapped_prefix[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
/* RFC 6052 §2.1: the well-known NAT64 prefix 64:ff9b::/96. */
static const uint8_t nat64_prefix[12] = { 0, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0 };

void net_addr_from_v4(struct net_addr *a, uint32_t v4)
{
	memcpy(a->b, v4_mapped_prefix, 12);
	a->b[12] = (uint8_t)(v4 >> 24);
	a->b[13] = (uint8_t)(v4 >> 16);
	a->b[14] = (uint8_t)(v4 >> 8);
	a->b[15] = (uint8_t)v4;
}

void net_addr_from_v4_bytes(struct net_addr *a, const uint8_t *v4)
{
	memcpy(a->b, v4_mapped_prefix, 12);
	memcpy(a->b + 12, v4, 4);
}

bool net_addr_is_v4(const struct net_addr *a)
{
	return !memcmp(a->b, v4_mapped_prefix, 12);
}

static uint32_t v4_at(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

uint32_t net_addr_v4(const struct net_addr *a)
{
	return v4_at(a->b + 12);
}

bool net_addr_eq(const struct net_addr *a, const struct net_addr *b)
{
	return !memcmp(a->b, b->b, 16);
}

int net_addr_parse(const char *s, struct net_addr *a)
{
	uint8_t v4[4];

	if (inet_pton(AF_INET, s, v4) == 1) {
		net_addr_from_v4_bytes(a, v4);
		return 0;
	}
	/* ::ffff:a.b.c.d would alias an IPv4 rule; write the IPv4 address instead. */
	if (inet_pton(AF_INET6, s, a->b) == 1 && !net_addr_is_v4(a))
		return 0;
	return -EINVAL;
}

void net_addr_format(const struct net_addr *a, char *buf, size_t bufsz)
{
	char tmp[INET6_ADDRSTRLEN];

	if (net_addr_is_v4(a))
		inet_ntop(AF_INET, a->b + 12, tmp, sizeof(tmp));
	else
		inet_ntop(AF_INET6, a->b, tmp, sizeof(tmp));
	snprintf(buf, bufsz, "%s", tmp);
}

static void mask_to(struct net_addr *a, unsigned len)
{
	for (unsigned i = 0; i < 16; i++) {
		unsigned bits = len > i * 8 ? len - i * 8 : 0;

		if (bits < 8)
			a->b[i] &= (uint8_t)(0xff00u >> bits);
	}
}

int net_cidr_parse(const char *s, struct net_cidr *c)
{
	char buf[NET_ADDR_STRLEN + 4];
	const char *slash = strchr(s, '/');
	size_t alen = slash ? (size_t)(slash - s) : strlen(s);
	unsigned long len;
	unsigned max;
	char *end;

	if (alen == 0 || alen >= NET_ADDR_STRLEN)
		return -EINVAL;
	memcpy(buf, s, alen);
	buf[alen] = 0;
	if (net_addr_parse(buf, &c->addr))
		return -EINVAL;
	max = net_addr_is_v4(&c->addr) ? 32 : 128;
	len = max;
	if (slash) {
		if (slash[1] < '0' || slash[1] > '9' || (slash[1] == '0' && slash[2]))
			return -EINVAL;
		errno = 0;
		len = strtoul(slash + 1, &end, 10);
		if (errno || *end || len > max)
			return -EINVAL;
	}
	c->len = (uint8_t)(len + (max == 32 ? 96 : 0));
	mask_to(&c->addr, c->len);
	return 0;
}

bool net_cidr_contains(const struct net_cidr *c, const struct net_addr *a)
{
	struct net_addr m = *a;

	mask_to(&m, c->len);
	return net_addr_eq(&m, &c->addr);
}

void net_cidr_format(const struct net_cidr *c, char *buf, size_t bufsz)
{
	char a[NET_ADDR_STRLEN];
	bool v4 = net_addr_is_v4(&c->addr) && c->len >= 96;

	net_addr_format(&c->addr, a, sizeof(a));
	snprintf(buf, bufsz, "%s/%u", a, v4 ? c->len - 96u : c->len);
}

static bool v4_in(uint32_t a, uint32_t net, unsigned len)
{
	uint32_t mask = len ? ~0u << (32 - len) : 0;

	return (a & mask) == net;
}

static enum net_range v4_range(uint32_t a)
{
	if (v4_in(a, 0x00000000u, 8))
		return NET_RANGE_UNSPECIFIED;
	if (v4_in(a, 0x7f000000u, 8))
		return NET_RANGE_LOOPBACK;
	if (v4_in(a, 0x0a000000u, 8) || v4_in(a, 0xac100000u, 12) || v4_in(a, 0xc0a80000u, 16))
		return NET_RANGE_PRIVATE;
	if (v4_in(a, 0x64400000u, 10))
		return NET_RANGE_CGNAT;
	if (v4_in(a, 0xa9fe0000u, 16))
		return NET_RANGE_LINK_LOCAL;
	if (v4_in(a, 0xe0000000u, 4))
		return NET_RANGE_MULTICAST;
	if (v4_in(a, 0xf0000000u, 4))
		return NET_RANGE_RESERVED; /* includes the limited broadcast 255.255.255.255 */
	return NET_RANGE_PUBLIC;
}

enum net_range net_addr_range(const struct net_addr *a)
{
	static const uint8_t zero[16];
	const uint8_t *b = a->b;

	if (net_addr_is_v4(a) || !memcmp(b, nat64_prefix, 12))
		return v4_range(v4_at(b + 12));
	if (b[0] == 0x20 && b[1] == 0x02)
		return v4_range(v4_at(b + 2));
	if (!memcmp(b, zero, 15))
		return b[15] == 1 ? NET_RANGE_LOOPBACK
		       : b[15] == 0 ? NET_RANGE_UNSPECIFIED : NET_RANGE_RESERVED;
	if (!memcmp(b, zero, 12))
		return NET_RANGE_RESERVED; /* IPv4-compatible, deprecated by RFC 4291 §2.5.5.1 */
	if ((b[0] & 0xfe) == 0xfc)
		return NET_RANGE_ULA;
	if (b[0] == 0xfe && (b[1] & 0xc0) == 0x80)
		return NET_RANGE_LINK_LOCAL;
	if (b[0] == 0xfe && (b[1] & 0xc0) == 0xc0)
		return NET_RANGE_SITE_LOCAL;
	if (b[0] == 0xff)
		return NET_RANGE_MULTICAST;
	return NET_RANGE_PUBLIC;
}

const char *net_range_name(enum net_range r)
{
	static const char *const names[NET_RANGE_COUNT] = {
		[NET_RANGE_PUBLIC] = "public",
		[NET_RANGE_UNSPECIFIED] = "unspecified",
		[NET_RANGE_LOOPBACK] = "loopback",
		[NET_RANGE_PRIVATE] = "private",
		[NET_RANGE_CGNAT] = "cgnat",
		[NET_RANGE_LINK_LOCAL] = "link-local",
		[NET_RANGE_ULA] = "ula",
		[NET_RANGE_SITE_LOCAL] = "site-local",
		[NET_RANGE_MULTICAST] = "multicast",
		[NET_RANGE_RESERVED] = "reserved",
	};

	return (unsigned)r < NET_RANGE_COUNT ? names[r] : "?";
}
