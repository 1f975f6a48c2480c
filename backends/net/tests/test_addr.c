/* SPDX-License-Identifier: MIT */
/* Addresses, CIDR blocks and the special-purpose ranges (addr.h). */
#include <string.h>

#include "addr.h"
#include "tap.h"

static enum net_range range_of(const char *s)
{
	struct net_addr a;

	if (net_addr_parse(s, &a))
		return NET_RANGE_COUNT;
	return net_addr_range(&a);
}

static void test_ranges(void)
{
	static const struct {
		const char *addr;
		enum net_range want;
	} cases[] = {
		{ "93.184.216.34", NET_RANGE_PUBLIC },
		{ "8.8.8.8", NET_RANGE_PUBLIC },
		{ "0.0.0.0", NET_RANGE_UNSPECIFIED },
		{ "0.255.1.2", NET_RANGE_UNSPECIFIED },
		{ "127.0.0.1", NET_RANGE_LOOPBACK },
		{ "127.255.255.254", NET_RANGE_LOOPBACK },
		{ "10.0.0.1", NET_RANGE_PRIVATE },
		{ "10.255.255.255", NET_RANGE_PRIVATE },
		{ "172.16.0.1", NET_RANGE_PRIVATE },
		{ "172.31.255.255", NET_RANGE_PRIVATE },
		{ "172.32.0.1", NET_RANGE_PUBLIC },
		{ "172.15.255.255", NET_RANGE_PUBLIC },
		{ "192.168.1.1", NET_RANGE_PRIVATE },
		{ "192.169.0.1", NET_RANGE_PUBLIC },
		{ "100.64.0.1", NET_RANGE_CGNAT },
		{ "100.127.255.255", NET_RANGE_CGNAT },
		{ "100.128.0.0", NET_RANGE_PUBLIC },
		{ "100.63.255.255", NET_RANGE_PUBLIC },
		{ "169.254.169.254", NET_RANGE_LINK_LOCAL },
		{ "169.254.0.1", NET_RANGE_LINK_LOCAL },
		{ "224.0.0.251", NET_RANGE_MULTICAST },
		{ "239.255.255.250", NET_RANGE_MULTICAST },
		{ "240.0.0.1", NET_RANGE_RESERVED },
		{ "255.255.255.255", NET_RANGE_RESERVED },
		{ "2606:4700::1111", NET_RANGE_PUBLIC },
		{ "::", NET_RANGE_UNSPECIFIED },
		{ "::1", NET_RANGE_LOOPBACK },
		{ "::2", NET_RANGE_RESERVED },
		{ "::10.0.0.1", NET_RANGE_RESERVED },
		{ "fc00::1", NET_RANGE_ULA },
		{ "fd12:3456::1", NET_RANGE_ULA },
		{ "fe80::1", NET_RANGE_LINK_LOCAL },
		{ "febf::1", NET_RANGE_LINK_LOCAL },
		{ "fec0::2", NET_RANGE_SITE_LOCAL },
		{ "ff02::1", NET_RANGE_MULTICAST },
		{ "ff05::2", NET_RANGE_MULTICAST },
		/* IPv6 forms that embed an IPv4 address take its class. */
		{ "64:ff9b::7f00:1", NET_RANGE_LOOPBACK },
		{ "64:ff9b::a9fe:a9fe", NET_RANGE_LINK_LOCAL },
		{ "64:ff9b::808:808", NET_RANGE_PUBLIC },
		{ "2002:c0a8:101::1", NET_RANGE_PRIVATE },
		{ "2002:0808:0808::1", NET_RANGE_PUBLIC },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		enum net_range got = range_of(cases[i].addr);

		ok(got == cases[i].want, "%s is %s (got %s)", cases[i].addr,
		   net_range_name(cases[i].want), net_range_name(got));
	}
}

static void test_mapped(void)
{
	struct net_addr a, b;
	uint8_t raw[16] = { [10] = 0xff, [11] = 0xff, [12] = 127, [13] = 0, [14] = 0, [15] = 1 };

	/* The IPv4-mapped form is how IPv4 is stored, so it is classed the same. */
	memcpy(a.b, raw, 16);
	is_int(net_addr_range(&a), NET_RANGE_LOOPBACK, "::ffff:127.0.0.1 is loopback");
	ok(net_addr_parse("::ffff:127.0.0.1", &b) < 0,
	   "IPv4-mapped text is refused in rules (write the IPv4 address)");
	ok(net_addr_parse("1.2.3", &b) < 0, "a short dotted quad is refused");
	ok(net_addr_parse("1.2.3.4 ", &b) < 0, "trailing space is refused");
}

static void test_cidr(void)
{
	struct net_cidr c;
	struct net_addr a;
	char buf[64];

	ok(!net_cidr_parse("10.1.2.0/24", &c), "10.1.2.0/24 parses");
	net_cidr_format(&c, buf, sizeof(buf));
	ok(!strcmp(buf, "10.1.2.0/24"), "and formats back (%s)", buf);
	ok(!net_addr_parse("10.1.2.77", &a) && net_cidr_contains(&c, &a), "contains 10.1.2.77");
	ok(!net_addr_parse("10.1.3.1", &a) && !net_cidr_contains(&c, &a), "not 10.1.3.1");
	ok(!net_cidr_parse("10.1.2.99/24", &c), "host bits are accepted");
	net_cidr_format(&c, buf, sizeof(buf));
	ok(!strcmp(buf, "10.1.2.0/24"), "and cleared (%s)", buf);
	ok(!net_cidr_parse("2001:db8::/32", &c), "2001:db8::/32 parses");
	ok(!net_addr_parse("2001:db8:ffff::1", &a) && net_cidr_contains(&c, &a),
	   "contains 2001:db8:ffff::1");
	ok(!net_addr_parse("2001:db9::1", &a) && !net_cidr_contains(&c, &a), "not 2001:db9::1");
	ok(!net_addr_parse("32.1.13.184", &a) && !net_cidr_contains(&c, &a),
	   "an IPv4 address never falls in an IPv6 block");
	ok(!net_cidr_parse("0.0.0.0/0", &c) && !net_addr_parse("8.8.8.8", &a) &&
		   net_cidr_contains(&c, &a),
	   "0.0.0.0/0 holds every IPv4 address");
	ok(!net_addr_parse("2001:db8::1", &a) && !net_cidr_contains(&c, &a),
	   "but no IPv6 address");
	ok(!net_cidr_parse("1.2.3.4", &c) && c.len == 128, "a bare address is a host prefix");
	ok(net_cidr_parse("10.0.0.0/33", &c) < 0, "/33 is refused for IPv4");
	ok(net_cidr_parse("::/129", &c) < 0, "/129 is refused");
	ok(net_cidr_parse("10.0.0.0/", &c) < 0, "an empty prefix length is refused");
	ok(net_cidr_parse("10.0.0.0/08", &c) < 0, "a leading zero is refused");
	ok(net_cidr_parse("/8", &c) < 0, "a missing address is refused");
	ok(net_cidr_parse("10.0.0.0/8x", &c) < 0, "trailing junk is refused");
}

int main(void)
{
	test_ranges();
	test_mapped();
	test_cidr();
	return tap_done();
}
