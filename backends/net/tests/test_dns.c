/* SPDX-License-Identifier: MIT */
/* The DNS message parser (dns.h) over hand-built queries and answers. */
#include <errno.h>
#include <string.h>

#include "dns.h"
#include "tap.h"
#include "writer.h"

static uint8_t buf[4096];
static struct lbx_writer w;

static void must(int err)
{
	if (err) {
		fprintf(stderr, "test message does not build\n");
		abort();
	}
}

static void header(uint16_t flags, uint16_t qd, uint16_t an)
{
	lbx_writer_init_fixed(&w, buf, sizeof(buf));
	must(lbx_write_u16be(&w, 0x1234) || lbx_write_u16be(&w, flags) ||
	     lbx_write_u16be(&w, qd) || lbx_write_u16be(&w, an) || lbx_write_u16be(&w, 0) ||
	     lbx_write_u16be(&w, 0));
}

/* A dotted name as labels; "" is the root. */
static void name(const char *s)
{
	while (*s) {
		const char *dot = strchr(s, '.');
		size_t n = dot ? (size_t)(dot - s) : strlen(s);

		must(lbx_write_blob(&w, LBX_LEN_U8, s, n));
		s += n + (dot ? 1 : 0);
	}
	must(lbx_write_u8(&w, 0));
}

static void pointer(uint16_t off)
{
	must(lbx_write_u16be(&w, (uint16_t)(0xc000 | off)));
}

static void question(const char *q, uint16_t type)
{
	name(q);
	must(lbx_write_u16be(&w, type) || lbx_write_u16be(&w, NET_DNS_CLASS_IN));
}

static void rr_head(uint16_t type, uint16_t cls, uint32_t ttl, uint16_t rdlen)
{
	must(lbx_write_u16be(&w, type) || lbx_write_u16be(&w, cls) || lbx_write_u32be(&w, ttl) ||
	     lbx_write_u16be(&w, rdlen));
}

static void a_rr(const uint8_t *ip, uint32_t ttl)
{
	rr_head(NET_DNS_TYPE_A, NET_DNS_CLASS_IN, ttl, 4);
	must(lbx_write_bytes(&w, ip, 4));
}

/* A header with every section count given. */
static void header4(uint16_t flags, uint16_t qd, uint16_t an, uint16_t ns, uint16_t ar)
{
	lbx_writer_init_fixed(&w, buf, sizeof(buf));
	must(lbx_write_u16be(&w, 0x1234) || lbx_write_u16be(&w, flags) || lbx_write_u16be(&w, qd) ||
	     lbx_write_u16be(&w, an) || lbx_write_u16be(&w, ns) || lbx_write_u16be(&w, ar));
}

/* An EDNS OPT record (RFC 6891 §6.1.2) with rdlen bytes of options to follow. */
static void opt_rr(uint16_t rdlen)
{
	must(lbx_write_u8(&w, 0) || lbx_write_u16be(&w, 41) || lbx_write_u16be(&w, 1232) ||
	     lbx_write_u32be(&w, 0) || lbx_write_u16be(&w, rdlen));
}

static int parse(struct net_dns_msg *m)
{
	return net_dns_parse(buf, lbx_writer_len(&w), m);
}

static void test_query(void)
{
	struct net_dns_msg m;

	header(0x0100, 1, 0);
	question("WWW.Example.COM", NET_DNS_TYPE_AAAA);
	is_int(parse(&m), 0, "a query parses");
	ok(!m.response && m.id == 0x1234 && m.qtype == NET_DNS_TYPE_AAAA, "as a query for AAAA");
	ok(!strcmp(m.qname, "www.example.com"), "the name comes out in lower case (%s)", m.qname);

	header(0x0100, 2, 0);
	question("a.example", 1);
	question("b.example", 1);
	is_int(parse(&m), -EBADMSG, "two questions are refused");
	header(0x0100, 0, 0);
	is_int(parse(&m), -EBADMSG, "no question is refused");
	header(0x0100, 1, 0);
	must(lbx_write_blob(&w, LBX_LEN_U8, "a.b", 3));
	name("com");
	must(lbx_write_u32be(&w, 0x00010001));
	is_int(parse(&m), -EBADMSG, "a '.' inside a label is refused");
	header(0x0100, 1, 0);
	must(lbx_write_blob(&w, LBX_LEN_U8, "a b", 3));
	name("");
	must(lbx_write_u32be(&w, 0x00010001));
	is_int(parse(&m), -EBADMSG, "a space inside a label is refused");
}

/*
 * Everything in an allowed query reaches the upstream resolver: a query
 * must be its question (and at most a bare EDNS OPT), nothing more.
 */
static void test_query_smuggling(void)
{
	static const uint8_t ip[4] = { 1, 2, 3, 4 };
	struct net_dns_msg m;

	header(0x0100, 1, 0);
	question("github.com", NET_DNS_TYPE_A);
	must(lbx_write_bytes(&w, "secret-data", 11));
	is_int(parse(&m), -EBADMSG, "a query with bytes after the question is refused");
	header(0x0100, 1, 0);
	question("github.com", NET_DNS_TYPE_A);
	must(lbx_write_u8(&w, 0));
	is_int(parse(&m), -EBADMSG, "even one trailing byte");

	header4(0x0100, 1, 1, 0, 0);
	question("github.com", NET_DNS_TYPE_A);
	name("github.com");
	a_rr(ip, 60);
	is_int(parse(&m), -EBADMSG, "a query with an answer record is refused");
	header4(0x0100, 1, 0, 1, 0);
	question("github.com", NET_DNS_TYPE_A);
	name("github.com");
	a_rr(ip, 60);
	is_int(parse(&m), -EBADMSG, "a query with an authority record is refused");
	header4(0x0100, 1, 0, 0, 1);
	question("github.com", NET_DNS_TYPE_A);
	name("x.github.com");
	a_rr(ip, 60);
	is_int(parse(&m), -EBADMSG, "a query whose additional record is not OPT is refused");
	header4(0x0100, 1, 0, 0, 2);
	question("github.com", NET_DNS_TYPE_A);
	opt_rr(0);
	opt_rr(0);
	is_int(parse(&m), -EBADMSG, "two additional records are refused");

	header4(0x0100, 1, 0, 0, 1);
	question("github.com", NET_DNS_TYPE_A);
	opt_rr(0);
	is_int(parse(&m), 0, "a query with a bare EDNS OPT record passes");
	ok(!strcmp(m.qname, "github.com"), "and names its question (%s)", m.qname);
	header4(0x0100, 1, 0, 0, 1);
	question("github.com", NET_DNS_TYPE_A);
	opt_rr(8);
	must(lbx_write_u16be(&w, 12) || lbx_write_u16be(&w, 4) || lbx_write_u32be(&w, 0));
	is_int(parse(&m), 0, "OPT with zero PADDING passes");
	header4(0x0100, 1, 0, 0, 1);
	question("github.com", NET_DNS_TYPE_A);
	opt_rr(8);
	must(lbx_write_u16be(&w, 12) || lbx_write_u16be(&w, 4) || lbx_write_bytes(&w, "leak", 4));
	is_int(parse(&m), -EBADMSG, "OPT PADDING that is not zeros is refused");
	header4(0x0100, 1, 0, 0, 1);
	question("github.com", NET_DNS_TYPE_A);
	opt_rr(12);
	must(lbx_write_u16be(&w, 10) || lbx_write_u16be(&w, 8) ||
	     lbx_write_bytes(&w, "cookie!!", 8));
	is_int(parse(&m), -EBADMSG, "an OPT option of the guest's choosing (COOKIE) is refused");
	header4(0x0100, 1, 0, 0, 1);
	question("github.com", NET_DNS_TYPE_A);
	opt_rr(0);
	must(lbx_write_bytes(&w, "x", 1));
	is_int(parse(&m), -EBADMSG, "bytes after the OPT record are refused");
	header4(0x0100, 1, 0, 0, 1);
	question("github.com", NET_DNS_TYPE_A);
	opt_rr(6);
	must(lbx_write_u16be(&w, 12));
	is_int(parse(&m), -EBADMSG, "an OPT record cut short is refused");

	/* Responses are not queries: their sections are read as before. */
	header4(0x8180, 1, 1, 0, 1);
	question("github.com", NET_DNS_TYPE_A);
	name("github.com");
	a_rr(ip, 60);
	opt_rr(0);
	is_int(parse(&m), 0, "a response with an answer and OPT still parses");
	is_int(m.naddrs, 1, "with its address");
}

static void test_long_names(void)
{
	struct net_dns_msg m;
	char n[400];

	/* 4 labels of 63 = 256 bytes on the wire with the root: over 255. */
	memset(n, 'a', sizeof(n));
	n[63] = n[127] = n[191] = '.';
	n[255] = 0;
	header(0x0100, 1, 0);
	question(n, 1);
	is_int(parse(&m), -EBADMSG, "a name of 256 wire bytes is refused");
	n[253] = 0; /* labels of 63, 63, 63, 61: 255 bytes on the wire */
	header(0x0100, 1, 0);
	question(n, 1);
	ok(parse(&m) == 0 && strlen(m.qname) == 253, "255 wire bytes (253 characters) are accepted");
}

static void test_pointers(void)
{
	struct net_dns_msg m;

	header(0x0100, 1, 0);
	pointer(12); /* the question name points at itself */
	must(lbx_write_u32be(&w, 0x00010001));
	is_int(parse(&m), -EBADMSG, "a pointer to itself is refused");
	header(0x0100, 1, 0);
	pointer(20); /* forwards */
	must(lbx_write_u32be(&w, 0x00010001));
	name("x");
	is_int(parse(&m), -EBADMSG, "a forward pointer is refused");
	header(0x0100, 1, 0);
	pointer(2000);
	must(lbx_write_u32be(&w, 0x00010001));
	is_int(parse(&m), -EBADMSG, "a pointer past the message is refused");
	header(0x0100, 1, 0);
	must(lbx_write_u8(&w, 0x40));
	must(lbx_write_u32be(&w, 0x00010001));
	is_int(parse(&m), -EBADMSG, "an extended label type is refused");
}

static const uint8_t ip_cdn[4] = { 93, 184, 216, 34 }, ip_other[4] = { 6, 6, 6, 6 };

/* www.example.com CNAME cdn.example.net; cdn A; other.test A; cdn AAAA */
static size_t build_answer(void)
{
	static const uint8_t v6[16] = { 0x26, 0x06, [15] = 1 };
	size_t cdn_off;

	header(0x8180, 1, 5);
	question("www.example.com", NET_DNS_TYPE_A);
	pointer(12);
	rr_head(NET_DNS_TYPE_CNAME, NET_DNS_CLASS_IN, 300, 17);
	cdn_off = lbx_writer_len(&w);
	name("cdn.example.net");
	pointer((uint16_t)cdn_off);
	a_rr(ip_cdn, 0x80000001u);
	name("other.test");
	a_rr(ip_other, 300);
	pointer((uint16_t)cdn_off);
	rr_head(NET_DNS_TYPE_AAAA, NET_DNS_CLASS_IN, 600, 16);
	must(lbx_write_bytes(&w, v6, 16));
	pointer((uint16_t)cdn_off);
	rr_head(NET_DNS_TYPE_A, 3 /* CH */, 600, 4);
	must(lbx_write_bytes(&w, ip_other, 4));
	return lbx_writer_len(&w);
}

static void test_answers(void)
{
	struct net_dns_msg m;
	size_t len = build_answer();
	struct net_addr want;
	bool all_fail = true;

	is_int(parse(&m), 0, "an answer with a CNAME chain parses");
	ok(m.response && m.rcode == 0 && !strcmp(m.qname, "www.example.com"), "for the question");
	is_int(m.naddrs, 2, "two addresses belong to the name (A and AAAA via the CNAME)");
	net_addr_from_v4_bytes(&want, ip_cdn);
	ok(m.naddrs >= 1 && net_addr_eq(&m.addrs[0], &want), "the A record of the CNAME target");
	is_int(m.ttls[0], 0, "a TTL with the top bit set counts as 0 (RFC 2181 §8)");
	ok(m.naddrs >= 2 && !net_addr_is_v4(&m.addrs[1]) && m.ttls[1] == 600, "and the AAAA");
	net_addr_from_v4_bytes(&want, ip_other);
	for (unsigned i = 0; i < m.naddrs; i++)
		if (net_addr_eq(&m.addrs[i], &want))
			ok(0, "an unrelated name's address is not taken");
	for (size_t n = 12; n < len; n++)
		if (net_dns_parse(buf, n, &m) == 0 && m.naddrs == 2)
			all_fail = false;
	ok(all_fail, "no truncation yields the full answer");
}

static void test_answer_edges(void)
{
	struct net_dns_msg m;

	header(0x8183, 1, 1); /* NXDOMAIN */
	question("nope.example", 1);
	pointer(12);
	a_rr(ip_other, 60);
	ok(parse(&m) == 0 && m.rcode == NET_DNS_RCODE_NXDOMAIN && m.naddrs == 0,
	   "an NXDOMAIN answer yields no address");

	header(0x8180, 1, 2); /* a CNAME loop */
	question("a.example", 1);
	pointer(12);
	rr_head(NET_DNS_TYPE_CNAME, NET_DNS_CLASS_IN, 60, 11);
	name("b.example");
	name("b.example");
	rr_head(NET_DNS_TYPE_CNAME, NET_DNS_CLASS_IN, 60, 2);
	pointer(12);
	ok(parse(&m) == 0 && m.naddrs == 0, "a CNAME loop ends, with no address");

	header(0x8180, 1, 1);
	question("a.example", 1);
	pointer(12);
	rr_head(NET_DNS_TYPE_A, NET_DNS_CLASS_IN, 60, 5);
	must(lbx_write_bytes(&w, "\1\2\3\4\5", 5));
	is_int(parse(&m), -EBADMSG, "an A record of 5 bytes is refused");

	header(0x8180, 1, 1);
	question("a.example", 1);
	pointer(12);
	rr_head(NET_DNS_TYPE_CNAME, NET_DNS_CLASS_IN, 60, 4);
	name("b.example");
	ok(parse(&m) < 0, "a CNAME whose name overruns its rdata is refused");
}

int main(void)
{
	test_query();
	test_query_smuggling();
	test_long_names();
	test_pointers();
	test_answers();
	test_answer_edges();
	return tap_done();
}
