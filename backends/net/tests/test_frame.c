/* SPDX-License-Identifier: MIT */
/* The frame parser (frame.h) over hand-built frames, good and broken. */
#include <string.h>

#include "pkt.h"
#include "tap.h"

#define IP 14 /* offset of the IP header */

static uint8_t buf[2048];

static enum net_frame_err parse(size_t len, struct net_frame *f)
{
	return net_frame_parse(buf, len, f);
}

static void test_tcp4(void)
{
	struct net_pkt_spec s = pkt_spec(NET_PROTO_TCP, "10.0.2.15", "93.184.216.34", 40000, 443);
	struct net_frame f;
	size_t len;

	s.payload = "GET";
	s.payload_len = 3;
	s.tcp_flags = NET_TCP_SYN | NET_TCP_PSH;
	len = pkt_build(&s, buf, sizeof(buf));
	is_int(parse(len, &f), NET_FRAME_OK, "IPv4 TCP parses");
	ok(f.ip_version == 4 && f.proto == NET_PROTO_TCP && f.has_l4, "as IPv4 TCP with its header");
	ok(net_addr_eq(&f.src, &s.src) && net_addr_eq(&f.dst, &s.dst), "addresses");
	ok(f.sport == 40000 && f.dport == 443, "ports");
	ok(f.tcp_flags == (NET_TCP_SYN | NET_TCP_PSH) && f.tcp_seq == 1000, "flags and sequence");
	ok(f.payload_len == 3 && !memcmp(f.payload, "GET", 3), "payload");
	is_int(f.tcp_seg_len, 4, "sequence space counts the SYN");
	ok(!f.fragment, "not a fragment");

	for (size_t n = 0; n < len; n++)
		if (parse(n, &f) == NET_FRAME_OK) {
			ok(0, "a frame cut to %zu of %zu bytes is refused", n, len);
			return;
		}
	ok(1, "every truncation of the frame is refused");
}

static void test_udp4_padding(void)
{
	struct net_pkt_spec s = pkt_spec(NET_PROTO_UDP, "10.0.2.15", "10.0.2.3", 5353, 53);
	struct net_frame f;
	size_t len;

	s.payload = "q";
	s.payload_len = 1;
	len = pkt_build(&s, buf, sizeof(buf));
	memset(buf + len, 0xee, 60 - len); /* Ethernet pads short frames to 60 bytes */
	is_int(parse(60, &f), NET_FRAME_OK, "a padded UDP frame parses");
	ok(f.payload_len == 1 && f.payload[0] == 'q', "the padding is not payload");

	buf[IP + 20 + 5] = 9; /* UDP length 9 > 8 + 1? no: set 0x0009 -> 9 = header + 1 */
	is_int(parse(60, &f), NET_FRAME_OK, "UDP length 9 still fits");
	buf[IP + 20 + 4] = 0x01; /* 0x0109: longer than the IP payload */
	is_int(parse(60, &f), NET_FRAME_L4_HEADER, "a UDP length past the IP payload is refused");
	buf[IP + 20 + 4] = 0;
	buf[IP + 20 + 5] = 7;
	is_int(parse(60, &f), NET_FRAME_L4_HEADER, "a UDP length under 8 is refused");
}

static void test_ipv4_header(void)
{
	struct net_pkt_spec s = pkt_spec(NET_PROTO_UDP, "10.0.2.15", "1.1.1.1", 1000, 2000);
	struct net_frame f;
	size_t len = pkt_build(&s, buf, sizeof(buf));

	buf[IP + 10] ^= 0x40;
	is_int(parse(len, &f), NET_FRAME_IP_CHECKSUM, "a wrong header checksum is refused");
	buf[IP + 10] ^= 0x40;
	buf[IP] = 0x44;
	ok(parse(len, &f) == NET_FRAME_IP_HEADER, "IHL 4 (16 bytes) is refused");
	buf[IP] = 0x55;
	ok(parse(len, &f) == NET_FRAME_IP_HEADER, "version 5 is refused");
	buf[IP] = 0x45;
	buf[IP + 3] += 1; /* total length one past the frame */
	ok(parse(len, &f) == NET_FRAME_IP_HEADER, "a total length past the frame is refused");
	buf[IP + 3] -= 1;
	buf[IP + 6] |= 0x80; /* the reserved ("evil") bit */
	buf[IP + 10] -= 0x80; /* keep the checksum right so the flag is what fails */
	is_int(parse(len, &f), NET_FRAME_IP_HEADER, "the reserved fragment flag is refused");
}

static void test_ipv4_options(void)
{
	static const uint8_t nops[4] = { 1, 1, 1, 0 };
	static const uint8_t lsrr[8] = { 131, 7, 4, 1, 2, 3, 4, 0 };
	static const uint8_t ssrr[8] = { 137, 7, 4, 1, 2, 3, 4, 0 };
	static const uint8_t shortlen[4] = { 7, 1, 0, 0 };
	static const uint8_t overrun[4] = { 1, 7, 9, 0 };
	static const uint8_t rtralert[4] = { 148, 4, 0, 0 };
	struct net_pkt_spec s = pkt_spec(NET_PROTO_TCP, "10.0.2.15", "1.1.1.1", 1000, 80);
	struct net_frame f;
	size_t len;

	s.ip_opts = nops, s.ip_opts_len = 4;
	len = pkt_build(&s, buf, sizeof(buf));
	ok(parse(len, &f) == NET_FRAME_OK && f.dport == 80, "NOP, NOP, NOP, EOL options parse");
	s.ip_opts = rtralert;
	len = pkt_build(&s, buf, sizeof(buf));
	ok(parse(len, &f) == NET_FRAME_OK && f.dport == 80, "router alert parses");
	s.ip_opts = lsrr, s.ip_opts_len = 8;
	len = pkt_build(&s, buf, sizeof(buf));
	is_int(parse(len, &f), NET_FRAME_IP_OPTIONS, "loose source routing is refused");
	s.ip_opts = ssrr;
	len = pkt_build(&s, buf, sizeof(buf));
	is_int(parse(len, &f), NET_FRAME_IP_OPTIONS, "strict source routing is refused");
	s.ip_opts = shortlen, s.ip_opts_len = 4;
	len = pkt_build(&s, buf, sizeof(buf));
	is_int(parse(len, &f), NET_FRAME_IP_OPTIONS, "an option length under 2 is refused");
	s.ip_opts = overrun;
	len = pkt_build(&s, buf, sizeof(buf));
	is_int(parse(len, &f), NET_FRAME_IP_OPTIONS, "an option running past the header is refused");
}

static void test_fragments(void)
{
	struct net_pkt_spec s = pkt_spec(NET_PROTO_UDP, "10.0.2.15", "1.1.1.1", 1000, 53);
	struct net_frame f;
	size_t len;

	s.more_frags = true;
	len = pkt_build(&s, buf, sizeof(buf));
	ok(parse(len, &f) == NET_FRAME_OK && f.fragment && f.has_l4 && f.dport == 53,
	   "a first fragment carries its UDP header");
	s.no_l4 = true;
	s.frag_offset = 8;
	s.payload = "12345678";
	s.payload_len = 8;
	len = pkt_build(&s, buf, sizeof(buf));
	ok(parse(len, &f) == NET_FRAME_OK && f.fragment && !f.has_l4 && f.frag_offset == 8,
	   "a later fragment has no header and its offset");
	s.more_frags = false;
	len = pkt_build(&s, buf, sizeof(buf));
	ok(parse(len, &f) == NET_FRAME_OK && f.fragment, "so is the last one");
}

static void test_tcp_header(void)
{
	struct net_pkt_spec s = pkt_spec(NET_PROTO_TCP, "10.0.2.15", "1.1.1.1", 1000, 80);
	struct net_frame f;
	size_t len = pkt_build(&s, buf, sizeof(buf));

	buf[IP + 20 + 12] = 4 << 4;
	is_int(parse(len, &f), NET_FRAME_L4_HEADER, "TCP data offset 4 is refused");
	buf[IP + 20 + 12] = 6 << 4;
	is_int(parse(len, &f), NET_FRAME_L4_HEADER, "TCP options past the segment are refused");
}

static void test_v6(void)
{
	struct net_pkt_spec s = pkt_spec(NET_PROTO_TCP, "fec0::15", "2606:4700::1111", 5000, 443);
	struct net_frame f;
	size_t len = pkt_build(&s, buf, sizeof(buf));

	ok(parse(len, &f) == NET_FRAME_OK && f.ip_version == 6 && f.proto == NET_PROTO_TCP &&
		   f.dport == 443 && net_addr_eq(&f.dst, &s.dst),
	   "IPv6 TCP parses");
	for (size_t n = 0; n < len; n++)
		if (parse(n, &f) == NET_FRAME_OK) {
			ok(0, "IPv6 cut to %zu bytes is refused", n);
			break;
		}
	buf[IP + 4] = 0;
	buf[IP + 5] = 0;
	is_int(parse(len, &f), NET_FRAME_IP_HEADER, "payload length 0 (jumbogram) is refused");

	s = pkt_spec(NET_PROTO_ICMPV6, "fec0::15", "fec0::2", 128, 0);
	len = pkt_build(&s, buf, sizeof(buf));
	ok(parse(len, &f) == NET_FRAME_OK && f.has_l4 && f.icmp_type == 128 && f.icmp_id == 7,
	   "ICMPv6 echo parses with its identifier");
	s = pkt_spec(NET_PROTO_UDP, "fec0::15", "fec0::3", 3333, 53);
	len = pkt_build(&s, buf, sizeof(buf));
	ok(parse(len, &f) == NET_FRAME_OK && f.dport == 53, "IPv6 UDP parses");
}

static void test_v6_ext(void)
{
	/* hop-by-hop (0) -> fragment (44) -> UDP */
	static const uint8_t hop_frag[16] = { 44, 0, 1, 4, 0, 0, 0, 0,
					      NET_PROTO_UDP, 0, 0, 1, 0, 0, 0, 9 };
	static const uint8_t hop_hop[16] = { 0, 0, 1, 4, 0, 0, 0, 0,
					     NET_PROTO_UDP, 0, 1, 4, 0, 0, 0, 0 };
	/* routing type 0 with segments left 1 */
	static const uint8_t routing[24] = { NET_PROTO_UDP, 2, 0, 1 };
	static const uint8_t routing_done[24] = { NET_PROTO_UDP, 2, 0, 0 };
	uint8_t chain[9 * 8];
	struct net_pkt_spec s = pkt_spec(NET_PROTO_UDP, "fec0::15", "2001:db8::1", 1, 2);
	struct net_frame f;
	size_t len;

	s.v6_ext = hop_frag, s.v6_ext_len = 16, s.v6_ext_first = 0;
	len = pkt_build(&s, buf, sizeof(buf));
	ok(parse(len, &f) == NET_FRAME_OK && f.ipv6_ext && f.fragment && f.proto == NET_PROTO_UDP &&
		   f.has_l4 && f.dport == 2,
	   "hop-by-hop and fragment headers are walked to UDP");
	s.v6_ext = hop_hop;
	len = pkt_build(&s, buf, sizeof(buf));
	is_int(parse(len, &f), NET_FRAME_IPV6_EXT, "a second hop-by-hop header is refused");
	s.v6_ext = routing, s.v6_ext_len = 24, s.v6_ext_first = 43;
	len = pkt_build(&s, buf, sizeof(buf));
	is_int(parse(len, &f), NET_FRAME_IPV6_EXT, "a routing header with segments left is refused");
	s.v6_ext = routing_done;
	len = pkt_build(&s, buf, sizeof(buf));
	is_int(parse(len, &f), NET_FRAME_OK, "one with none left parses");
	memset(chain, 0, sizeof(chain));
	for (int i = 0; i < 9; i++)
		chain[i * 8] = i < 8 ? 60 : NET_PROTO_UDP;
	s.v6_ext = chain, s.v6_ext_len = sizeof(chain), s.v6_ext_first = 60;
	len = pkt_build(&s, buf, sizeof(buf));
	is_int(parse(len, &f), NET_FRAME_IPV6_EXT, "nine extension headers are refused");
	s.v6_ext_len = 8 * 8;
	chain[7 * 8] = NET_PROTO_UDP;
	len = pkt_build(&s, buf, sizeof(buf));
	is_int(parse(len, &f), NET_FRAME_OK, "eight parse");
}

static size_t arp_frame(uint16_t htype, uint8_t hlen, uint16_t op)
{
	static const uint8_t mac[6] = GUEST_MAC;
	static const uint8_t spa[4] = { 10, 0, 2, 15 }, tpa[4] = { 10, 0, 2, 2 };
	struct lbx_writer w;

	lbx_writer_init_fixed(&w, buf, sizeof(buf));
	if (lbx_write_bytes(&w, "\xff\xff\xff\xff\xff\xff", 6) || lbx_write_bytes(&w, mac, 6) ||
	    lbx_write_u16be(&w, NET_ETHERTYPE_ARP) || lbx_write_u16be(&w, htype) ||
	    lbx_write_u16be(&w, NET_ETHERTYPE_IPV4) || lbx_write_u8(&w, hlen) ||
	    lbx_write_u8(&w, 4) || lbx_write_u16be(&w, op) || lbx_write_bytes(&w, mac, 6) ||
	    lbx_write_bytes(&w, spa, 4) || lbx_write_zeros(&w, 6) || lbx_write_bytes(&w, tpa, 4))
		abort();
	return lbx_writer_len(&w);
}

static void test_arp_and_ethertype(void)
{
	struct net_frame f;
	struct net_addr gw = pkt_addr("10.0.2.2");
	size_t len = arp_frame(1, 6, 1);

	ok(parse(len, &f) == NET_FRAME_OK && f.arp_op == 1 && net_addr_eq(&f.arp_tpa, &gw),
	   "an ARP request for the gateway parses");
	ok(parse(len - 1, &f) == NET_FRAME_TRUNCATED, "a short ARP frame is refused");
	len = arp_frame(6, 6, 1);
	is_int(parse(len, &f), NET_FRAME_ARP, "ARP over another hardware type is refused");
	len = arp_frame(1, 8, 1);
	is_int(parse(len, &f), NET_FRAME_ARP, "ARP with 8-byte hardware addresses is refused");
	len = arp_frame(1, 6, 3);
	is_int(parse(len, &f), NET_FRAME_ARP, "ARP op 3 (RARP) is refused");
	buf[12] = 0x81, buf[13] = 0x00;
	is_int(parse(len, &f), NET_FRAME_ETHERTYPE, "a VLAN tag is refused");
	is_int(parse(13, &f), NET_FRAME_TRUNCATED, "13 bytes are not a frame");
}

int main(void)
{
	test_tcp4();
	test_udp4_padding();
	test_ipv4_header();
	test_ipv4_options();
	test_fragments();
	test_tcp_header();
	test_v6();
	test_v6_ext();
	test_arp_and_ethertype();
	return tap_done();
}
