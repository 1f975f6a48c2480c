/* SPDX-License-Identifier: MIT */
/* The frames lbx-netd answers with (reply.h) and the flow counters (flows.h). */
#include <errno.h>
#include <string.h>

#include "dns.h"
#include "flows.h"
#include "pkt.h"
#include "reply.h"
#include "tap.h"

static uint8_t in[2048], out[2048];

static bool parse_spec(struct net_pkt_spec *s, struct net_frame *fr)
{
	size_t len = pkt_build(s, in, sizeof(in));

	return net_frame_parse(in, len, fr) == NET_FRAME_OK;
}

static bool reply_parses(int rc, struct lbx_writer *w, struct net_frame *back)
{
	return rc == 0 && net_frame_parse(lbx_writer_data(w), lbx_writer_len(w), back) == NET_FRAME_OK;
}

static void test_resets(void)
{
	struct net_pkt_spec s = pkt_spec(NET_PROTO_TCP, "10.0.2.15", "169.254.169.254", 40000, 80);
	struct net_frame fr, back;
	struct lbx_writer w;
	const uint8_t guest_mac[6] = GUEST_MAC;

	s.seq = 0x11223344;
	ok(parse_spec(&s, &fr), "a SYN parses");
	lbx_writer_init_fixed(&w, out, sizeof(out));
	ok(reply_parses(net_reply_tcp_reset(&fr, &w), &w, &back), "the reset to it parses");
	ok(net_addr_eq(&back.src, &fr.dst) && net_addr_eq(&back.dst, &fr.src) &&
		   back.sport == 80 && back.dport == 40000 && !memcmp(back.dst_mac, guest_mac, 6),
	   "it goes back to the guest from the address it tried");
	ok(back.tcp_flags == (NET_TCP_RST | NET_TCP_ACK) && back.tcp_ack == 0x11223345 &&
		   back.tcp_seq == 0,
	   "RST+ACK acknowledging the SYN (RFC 9293 §3.10.7.1)");

	s.tcp_flags = NET_TCP_ACK;
	s.ack = 777;
	ok(parse_spec(&s, &fr), "an ACK segment parses");
	lbx_writer_init_fixed(&w, out, sizeof(out));
	ok(reply_parses(net_reply_tcp_reset(&fr, &w), &w, &back) && back.tcp_flags == NET_TCP_RST &&
		   back.tcp_seq == 777,
	   "its reset takes the sequence number from its ACK");

	s.tcp_flags = NET_TCP_RST;
	ok(parse_spec(&s, &fr), "a RST parses");
	lbx_writer_init_fixed(&w, out, sizeof(out));
	is_int(net_reply_tcp_reset(&fr, &w), -EINVAL, "a reset is never answered with a reset");

	s = pkt_spec(NET_PROTO_TCP, "fec0::15", "fe80::1", 40000, 22);
	ok(parse_spec(&s, &fr), "an IPv6 SYN parses");
	lbx_writer_init_fixed(&w, out, sizeof(out));
	ok(reply_parses(net_reply_tcp_reset(&fr, &w), &w, &back) && back.ip_version == 6 &&
		   back.dport == 40000,
	   "and gets an IPv6 reset");
}

static void test_nxdomain(void)
{
	static const uint8_t query[] = { 0xab, 0xcd, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0,
					 5, 'O', 't', 'h', 'e', 'r', 4, 't', 'e', 's', 't', 0,
					 0, 1, 0, 1 };
	struct net_pkt_spec s = pkt_spec(NET_PROTO_UDP, "10.0.2.15", "10.0.2.3", 33333, 53);
	struct net_frame fr, back;
	struct net_dns_msg q, a;
	struct lbx_writer w;

	s.payload = query;
	s.payload_len = sizeof(query);
	ok(parse_spec(&s, &fr) && net_dns_parse(fr.payload, fr.payload_len, &q) == 0,
	   "a DNS query parses");
	lbx_writer_init_fixed(&w, out, sizeof(out));
	ok(reply_parses(net_reply_dns_nxdomain(&fr, &q, &w), &w, &back) && back.sport == 53 &&
		   back.dport == 33333,
	   "the NXDOMAIN comes from port 53 to the asking port");
	ok(net_dns_parse(back.payload, back.payload_len, &a) == 0 && a.response &&
		   a.id == 0xabcd && a.rcode == NET_DNS_RCODE_NXDOMAIN &&
		   !strcmp(a.qname, "other.test") && (a.flags & 0x0100),
	   "as a response with the query's id, question and RD, rcode 3");
}

static void test_flows(void)
{
	struct netd_flows *t = netd_flows_new();
	struct net_flow f = { .ip_version = 4, .proto = NET_PROTO_UDP, .has_ports = true,
			      .sport = 5000, .dport = 53 };
	struct net_decision allow = { .allow = true, .reason = NET_ALLOW_PUBLIC };
	struct net_decision deny = { .allow = false, .reason = NET_DENY_RANGE };
	uint64_t a, d;

	f.dst = pkt_addr("8.8.8.8");
	ok(netd_flows_record(t, &f, &allow, "dns.google", 0), "a first datagram starts a flow");
	ok(!netd_flows_record(t, &f, &allow, NULL, 10), "the second belongs to it");
	netd_flows_udp_state(t, &f, 20);
	ok(f.udp_established && !f.udp_reply, "the flow is known as allowed");
	netd_flows_udp_state(t, &f, 20 + NETD_FLOW_IDLE_MS);
	ok(!f.udp_established, "until it has been idle for the timeout");
	f.dst = pkt_addr("10.0.2.2");
	f.sport = 8080;
	f.dport = 41000;
	netd_flows_udp_state(t, &f, 30);
	ok(!f.udp_reply, "a datagram to the host is no reply by itself");
	netd_flows_inbound(t, 8080, &f.dst, 41000, 30);
	netd_flows_udp_state(t, &f, 40);
	ok(f.udp_reply && !f.udp_established, "but is once slirp delivered one from there");
	f.dst = pkt_addr("169.254.169.254");
	ok(netd_flows_record(t, &f, &deny, NULL, 50), "a denied flow is counted");
	netd_flows_totals(t, &a, &d);
	ok(a == 1 && d == 1, "totals: one allowed flow, one denied");
	ok(netd_flows_ndest(t) == 2 && !strcmp(netd_flows_dest(t, 0)->name, "dns.google") &&
		   netd_flows_dest(t, 1)->denied == 1,
	   "two destinations, the first by name");
	for (unsigned i = 0; i < NETD_DEST_MAX + 10; i++) {
		f.dport = (uint16_t)(1 + i);
		if (!netd_flows_record(t, &f, &deny, NULL, 100)) {
			ok(0, "each port is a new flow");
			break;
		}
	}
	is_int(netd_flows_ndest(t), NETD_DEST_MAX + 1, "destinations stop at the limit plus one");
	/* 2 destinations before, NETD_DEST_MAX + 10 new ones: 12 do not fit. */
	ok(netd_flows_dest(t, NETD_DEST_MAX)->denied == 12, "the overflow entry adds up the rest");
	netd_flows_free(t);
}

int main(void)
{
	test_resets();
	test_nxdomain();
	test_flows();
	return tap_done();
}
