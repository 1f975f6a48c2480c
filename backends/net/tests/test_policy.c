/* SPDX-License-Identifier: MIT */
/*
 * The egress decision (policy.h) as a pure function, over hand-built
 * frames run through the real parser: every denied range in IPv4 and
 * IPv6, slirp's services, the host's loopback, allow rules by CIDR, port
 * and name (names learned from DNS), fragments, options, extension headers.
 */
#include <string.h>

#include "pkt.h"
#include "policy.h"
#include "tap.h"

static struct net_policy pol;
static struct net_names *names;
static uint64_t now = 1000000;
static uint8_t buf[2048];

static struct net_decision decide_spec(const struct net_pkt_spec *s)
{
	struct net_decision d = { .reason = NET_REASON_COUNT };
	struct net_frame fr;
	struct net_flow f;
	size_t len = pkt_build(s, buf, sizeof(buf));

	if (net_frame_parse(buf, len, &fr) != NET_FRAME_OK) {
		ok(0, "test frame parses");
		return d;
	}
	net_flow_from_frame(&fr, &f);
	net_policy_decide(&pol, names, &f, now, &d);
	return d;
}

static struct net_decision decide(uint8_t proto, const char *dst, uint16_t dport)
{
	struct net_addr a = pkt_addr(dst);
	struct net_pkt_spec s = pkt_spec(proto, net_addr_is_v4(&a) ? "10.0.2.15" : "fec0::15", dst,
					 proto == NET_PROTO_ICMP || proto == NET_PROTO_ICMPV6
						 ? (uint16_t)dport : 40000,
					 dport);

	return decide_spec(&s);
}

static void expect(uint8_t proto, const char *dst, uint16_t port, bool allow, enum net_reason why)
{
	struct net_decision d = decide(proto, dst, port);
	const char *p = proto == NET_PROTO_TCP ? "tcp" : proto == NET_PROTO_UDP ? "udp" : "icmp";

	ok(d.allow == allow && d.reason == why, "%s %s port/type %u: %s (%s)", p, dst, port,
	   allow ? "allowed" : "denied", net_reason_name(why));
	if (d.allow != allow || d.reason != why)
		printf("#   got %s (%s)\n", d.allow ? "allowed" : "denied", net_reason_name(d.reason));
}

static void test_nat_ranges(void)
{
	static const char *const denied[] = {
		"0.0.0.1", "127.0.0.1", "127.1.2.3", "10.1.2.3", "172.16.0.1", "172.31.9.9",
		"192.168.1.1", "100.64.0.1", "100.127.0.1", "169.254.169.254", "169.254.1.1",
		"224.0.0.251", "239.1.1.1", "240.0.0.1", "255.255.255.255",
		"::", "::1", "::10.0.0.1", "fc00::1", "fd00:1234::1", "fe80::1", "fe80::a:b",
		"fec0:1::1", "ff02::1", "ff0e::1", "64:ff9b::7f00:1", "64:ff9b::a9fe:a9fe",
		"2002:a00:1::1",
	};

	net_policy_init(&pol);
	expect(NET_PROTO_TCP, "93.184.216.34", 443, true, NET_ALLOW_PUBLIC);
	expect(NET_PROTO_UDP, "1.1.1.1", 443, true, NET_ALLOW_PUBLIC);
	expect(NET_PROTO_TCP, "2606:4700::1111", 443, true, NET_ALLOW_PUBLIC);
	expect(NET_PROTO_ICMP, "8.8.8.8", 8, true, NET_ALLOW_PUBLIC);
	expect(NET_PROTO_ICMPV6, "2001:4860::8888", 128, true, NET_ALLOW_PUBLIC);
	for (size_t i = 0; i < sizeof(denied) / sizeof(denied[0]); i++) {
		expect(NET_PROTO_TCP, denied[i], 80, false, NET_DENY_RANGE);
		expect(NET_PROTO_UDP, denied[i], 53, false, NET_DENY_RANGE);
	}
	expect(NET_PROTO_ICMP, "192.168.1.1", 8, false, NET_DENY_RANGE);
	expect(NET_PROTO_ICMPV6, "fe80::1", 128, false, NET_DENY_RANGE);
}

static void test_mapped_v6(void)
{
	struct net_flow f = { .ip_version = 6, .proto = NET_PROTO_TCP, .has_ports = true,
			      .sport = 1, .dport = 80, .tcp_flags = NET_TCP_SYN };
	struct net_decision d;

	/* An IPv6 packet to ::ffff:169.254.169.254 would reach IPv4 through a dual-stack socket. */
	f.dst = pkt_addr("169.254.169.254");
	net_policy_decide(&pol, names, &f, now, &d);
	ok(!d.allow && d.range == NET_RANGE_LINK_LOCAL, "IPv6 ::ffff:169.254.169.254 is denied");
}

static void test_slirp_services(void)
{
	struct net_pkt_spec s = pkt_spec(NET_PROTO_UDP, "0.0.0.0", "255.255.255.255", 68, 67);
	struct net_service pg = { NET_PROTO_TCP, 5432, 5432 };
	struct net_decision d = decide_spec(&s);

	ok(d.allow && d.reason == NET_ALLOW_DHCP, "DHCP discover to the broadcast address");
	s = pkt_spec(NET_PROTO_UDP, "10.0.2.15", "10.0.2.2", 68, 67);
	d = decide_spec(&s);
	ok(d.allow && d.reason == NET_ALLOW_DHCP, "DHCP renewal to the server");
	s = pkt_spec(NET_PROTO_UDP, "10.0.2.15", "255.255.255.255", 68, 68);
	d = decide_spec(&s);
	ok(!d.allow, "other broadcast UDP is denied");
	expect(NET_PROTO_UDP, "10.0.2.3", 53, true, NET_ALLOW_DNS);
	expect(NET_PROTO_TCP, "10.0.2.3", 53, true, NET_ALLOW_DNS);
	expect(NET_PROTO_UDP, "fec0::3", 53, true, NET_ALLOW_DNS);
	expect(NET_PROTO_TCP, "10.0.2.3", 80, false, NET_DENY_SLIRP);
	expect(NET_PROTO_ICMP, "10.0.2.2", 8, true, NET_ALLOW_LOCAL);
	expect(NET_PROTO_ICMPV6, "fec0::2", 128, true, NET_ALLOW_LOCAL);
	/* The host's loopback: nothing unless `host` lists the port. */
	expect(NET_PROTO_TCP, "10.0.2.2", 5432, false, NET_DENY_HOST);
	expect(NET_PROTO_TCP, "fec0::2", 5432, false, NET_DENY_HOST);
	expect(NET_PROTO_TCP, "10.0.2.77", 5432, false, NET_DENY_SLIRP);
	expect(NET_PROTO_TCP, "fec0::77", 5432, false, NET_DENY_SLIRP);
	pol.host = &pg;
	pol.nhost = 1;
	expect(NET_PROTO_TCP, "10.0.2.2", 5432, true, NET_ALLOW_HOST);
	expect(NET_PROTO_TCP, "fec0::2", 5432, true, NET_ALLOW_HOST);
	expect(NET_PROTO_TCP, "10.0.2.2", 5433, false, NET_DENY_HOST);
	expect(NET_PROTO_UDP, "10.0.2.2", 5432, false, NET_DENY_HOST);
	expect(NET_PROTO_TCP, "127.0.0.1", 5432, false, NET_DENY_RANGE);
	pol.host = NULL;
	pol.nhost = 0;
}

static void test_host_addrs(void)
{
	struct net_addr mine = pkt_addr("203.0.113.5");

	pol.host_addrs = &mine;
	pol.nhost_addrs = 1;
	expect(NET_PROTO_TCP, "203.0.113.5", 22, false, NET_DENY_HOST);
	expect(NET_PROTO_TCP, "203.0.113.6", 22, true, NET_ALLOW_PUBLIC);
	pol.host_addrs = NULL;
	pol.nhost_addrs = 0;
}

static void test_tcp_flags(void)
{
	struct net_pkt_spec s = pkt_spec(NET_PROTO_TCP, "10.0.2.15", "10.0.0.1", 80, 40000);
	struct net_decision d;

	s.tcp_flags = NET_TCP_SYN | NET_TCP_ACK; /* a forwarded connection answering */
	d = decide_spec(&s);
	ok(d.allow && d.reason == NET_ALLOW_ESTABLISHED, "SYN+ACK cannot open a connection: passes");
	s.tcp_flags = NET_TCP_ACK | NET_TCP_PSH;
	d = decide_spec(&s);
	ok(d.allow && d.reason == NET_ALLOW_ESTABLISHED, "so does data on a connection");
	s.tcp_flags = NET_TCP_SYN | NET_TCP_FIN;
	d = decide_spec(&s);
	ok(d.allow && d.reason == NET_ALLOW_ESTABLISHED, "SYN+FIN is no opening either (slirp resets)");
	s.tcp_flags = NET_TCP_SYN;
	d = decide_spec(&s);
	ok(!d.allow && d.reason == NET_DENY_RANGE, "the bare SYN is what is decided");
}

static void test_udp_state(void)
{
	struct net_flow f = { .ip_version = 4, .proto = NET_PROTO_UDP, .has_ports = true,
			      .sport = 5353, .dport = 40000 };
	struct net_decision d;

	f.dst = pkt_addr("10.0.2.2");
	net_policy_decide(&pol, names, &f, now, &d);
	ok(!d.allow, "UDP to the host is denied");
	f.udp_reply = true;
	net_policy_decide(&pol, names, &f, now, &d);
	ok(d.allow && d.reason == NET_ALLOW_ESTABLISHED, "unless it answers a forwarded datagram");
}

static void test_shapes(void)
{
	static const uint8_t lsrr_free[4] = { 148, 4, 0, 0 };
	static const uint8_t frag_ext[8] = { NET_PROTO_UDP, 0, 0, 1, 0, 0, 0, 1 };
	struct net_pkt_spec s = pkt_spec(NET_PROTO_UDP, "10.0.2.15", "1.1.1.1", 1000, 53);
	struct net_decision d;

	s.more_frags = true;
	d = decide_spec(&s);
	ok(!d.allow && d.reason == NET_DENY_FRAGMENT, "a first fragment to a public address is denied");
	s.more_frags = false;
	s.ip_opts = lsrr_free;
	s.ip_opts_len = 4;
	d = decide_spec(&s);
	ok(d.allow, "a packet with a harmless option is decided like any other");
	s = pkt_spec(NET_PROTO_UDP, "fec0::15", "2606:4700::1111", 1000, 53);
	s.v6_ext = frag_ext;
	s.v6_ext_len = 8;
	s.v6_ext_first = 44;
	d = decide_spec(&s);
	ok(!d.allow && d.reason == NET_DENY_PROTOCOL,
	   "IPv6 with extension headers is denied (slirp handles none)");
	s = pkt_spec(47, "10.0.2.15", "1.1.1.1", 0, 0);
	d = decide_spec(&s);
	ok(!d.allow && d.reason == NET_DENY_PROTOCOL, "GRE is denied");
	s = pkt_spec(NET_PROTO_ICMP, "fec0::15", "2606:4700::1111", 8, 0);
	d = decide_spec(&s);
	ok(!d.allow && d.reason == NET_DENY_PROTOCOL, "ICMPv4 inside IPv6 is denied");
	expect(NET_PROTO_ICMP, "10.9.9.9", 3, true, NET_ALLOW_LOCAL); /* an ICMP error */
	s = pkt_spec(NET_PROTO_ICMPV6, "fe80::15", "ff02::1:ff00:2", 135, 0);
	s.ttl = 255;
	d = decide_spec(&s);
	ok(d.allow && d.reason == NET_ALLOW_LOCAL, "neighbour solicitation with hop limit 255");
	s.ttl = 64;
	d = decide_spec(&s);
	ok(!d.allow, "neighbour solicitation with hop limit 64 is forged: denied");
}

static void test_nat_rules(void)
{
	struct net_rule r[2];
	const char *why;

	ok(!net_rule_parse("tcp:192.168.1.0/24:5432", &r[0], &why) &&
		   !net_rule_parse("udp:224.0.0.251:5353", &r[1], &why),
	   "nat rules parse");
	pol.allow = r;
	pol.nallow = 2;
	expect(NET_PROTO_TCP, "192.168.1.7", 5432, true, NET_ALLOW_RULE);
	expect(NET_PROTO_TCP, "192.168.1.7", 22, false, NET_DENY_RANGE);
	expect(NET_PROTO_UDP, "192.168.1.7", 5432, false, NET_DENY_RANGE);
	expect(NET_PROTO_UDP, "224.0.0.251", 5353, true, NET_ALLOW_RULE);
	expect(NET_PROTO_UDP, "224.0.0.252", 5353, false, NET_DENY_RANGE);
	pol.allow = NULL;
	pol.nallow = 0;
	pol.mode = NET_MODE_NONE;
	expect(NET_PROTO_TCP, "93.184.216.34", 443, false, NET_DENY_MODE_NONE);
	pol.mode = NET_MODE_NAT;
}

static void test_allowlist(void)
{
	static const char *const texts[] = {
		"github.com:443", "*.example.org", "10.9.0.0/16", "[2001:db8::/32]:22",
		"udp:*:123",
	};
	struct net_rule r[5];
	struct net_addr a;
	const char *why;

	for (size_t i = 0; i < 5; i++)
		if (net_rule_parse(texts[i], &r[i], &why))
			ok(0, "rule %s parses: %s", texts[i], why);
	pol.allow = r;
	pol.nallow = 5;
	pol.mode = NET_MODE_ALLOWLIST;
	a = pkt_addr("140.82.112.3");
	net_names_learn(names, "github.com", &a, 0, now);
	a = pkt_addr("1.2.3.4");
	net_names_learn(names, "evil.github.com", &a, 300, now);
	a = pkt_addr("93.184.216.34");
	net_names_learn(names, "a.example.org", &a, 300, now);
	a = pkt_addr("127.0.0.1");
	net_names_learn(names, "github.com", &a, 300, now); /* rebinding */
	a = pkt_addr("169.254.169.254");
	net_names_learn(names, "meta.example.org", &a, 300, now);

	struct net_decision d = decide(NET_PROTO_TCP, "140.82.112.3", 443);
	ok(d.allow && d.reason == NET_ALLOW_NAME && d.name && !strcmp(d.name, "github.com") &&
		   d.rule == 0,
	   "github.com's address on 443 is allowed by name");
	expect(NET_PROTO_TCP, "140.82.112.3", 80, false, NET_DENY_NOT_LISTED);
	expect(NET_PROTO_TCP, "1.2.3.4", 443, false, NET_DENY_NOT_LISTED);
	expect(NET_PROTO_TCP, "93.184.216.34", 8080, true, NET_ALLOW_NAME);
	expect(NET_PROTO_TCP, "127.0.0.1", 443, false, NET_DENY_NOT_LISTED);
	expect(NET_PROTO_TCP, "169.254.169.254", 80, false, NET_DENY_NOT_LISTED);
	expect(NET_PROTO_TCP, "10.9.3.4", 5000, true, NET_ALLOW_RULE);
	expect(NET_PROTO_TCP, "10.10.3.4", 5000, false, NET_DENY_NOT_LISTED);
	expect(NET_PROTO_TCP, "2001:db8::5", 22, true, NET_ALLOW_RULE);
	expect(NET_PROTO_TCP, "2001:db8::5", 23, false, NET_DENY_NOT_LISTED);
	expect(NET_PROTO_UDP, "8.8.8.8", 123, true, NET_ALLOW_RULE);
	expect(NET_PROTO_TCP, "8.8.8.8", 123, false, NET_DENY_NOT_LISTED);
	expect(NET_PROTO_TCP, "8.8.8.8", 443, false, NET_DENY_NOT_LISTED);
	expect(NET_PROTO_UDP, "10.0.2.3", 53, true, NET_ALLOW_DNS);
	expect(NET_PROTO_TCP, "10.0.2.3", 53, false, NET_DENY_DNS_NAME);
	now += (NET_NAMES_TTL_MIN + 1) * 1000ull;
	expect(NET_PROTO_TCP, "140.82.112.3", 443, false, NET_DENY_NOT_LISTED);
	expect(NET_PROTO_TCP, "93.184.216.34", 443, true, NET_ALLOW_NAME);
	ok(net_policy_name_allowed(&pol, "github.com"), "a query for github.com may go out");
	ok(net_policy_name_allowed(&pol, "x.y.example.org"), "and for x.y.example.org");
	ok(!net_policy_name_allowed(&pol, "example.org"), "not for example.org (wildcard only)");
	ok(!net_policy_name_allowed(&pol, "gitlab.com"), "nor gitlab.com");
	ok(!net_policy_name_allowed(&pol, "xgithub.com"), "nor xgithub.com");
	pol.mode = NET_MODE_NAT;
	ok(net_policy_name_allowed(&pol, "gitlab.com"), "nat lets every name be resolved");
	pol.allow = NULL;
	pol.nallow = 0;
}

static void test_names_table(void)
{
	struct net_names *t = net_names_new(2);
	struct net_addr a = pkt_addr("1.1.1.1"), b = pkt_addr("2.2.2.2"), c = pkt_addr("3.3.3.3");

	net_names_learn(t, "one.test", &a, 1000, 0);
	net_names_learn(t, "two.test", &b, 100, 0);
	net_names_learn(t, "three.test", &c, 500, 0);
	is_int(net_names_count(t), 2, "a full table stays at its capacity");
	ok(!net_names_find(t, &b, 1, NULL, NULL), "the entry expiring first made room");
	ok(net_names_find(t, &a, 1, NULL, NULL) && net_names_find(t, &c, 1, NULL, NULL),
	   "the others stay");
	net_names_learn(t, "one.test", &a, 1000, 0);
	is_int(net_names_count(t), 2, "learning a pair again does not add it twice");
	ok(!net_names_find(t, &a, (NET_NAMES_TTL_MAX + 1) * 1000ull, NULL, NULL),
	   "TTLs are clamped to a day");
	net_names_free(t);
}

int main(void)
{
	names = net_names_new(NET_NAMES_DEFAULT_CAP);
	test_nat_ranges();
	test_mapped_v6();
	test_slirp_services();
	test_host_addrs();
	test_tcp_flags();
	test_udp_state();
	test_shapes();
	test_nat_rules();
	test_allowlist();
	test_names_table();
	net_names_free(names);
	return tap_done();
}
