/* SPDX-License-Identifier: MIT */
#include "dns.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "reader.h"

#define DNS_WIRE_NAME_MAX 255 /* RFC 1035 §3.1, length octets included */
#define DNS_MAX_RECORDS 64    /* answer records looked at */
#define DNS_TYPE_OPT	  41	/* RFC 6891 §6.1.1 */
#define DNS_OPT_PADDING	  12	/* RFC 7830 */

struct dns_rr {
	char owner[NET_DNS_NAME_MAX];
	uint16_t type;
	uint32_t ttl;
	char target[NET_DNS_NAME_MAX]; /* CNAME */
	struct net_addr addr;	       /* A, AAAA */
};

static bool label_char_ok(uint8_t c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '-' || c == '_';
}

/* Append one label to out (dotted); -EBADMSG on a character we do not accept. */
static int append_label(char *out, size_t *pos, const uint8_t *label, uint8_t n)
{
	if (*pos + (*pos ? 1u : 0u) + n >= NET_DNS_NAME_MAX)
		return -EBADMSG;
	if (*pos)
		out[(*pos)++] = '.';
	for (uint8_t i = 0; i < n; i++) {
		struct lbx_reader lr;
		uint8_t c;

		lbx_reader_init(&lr, label + i, 1);
		if (lbx_read_u8(&lr, &c) || !label_char_ok(c))
			return -EBADMSG;
		out[(*pos)++] = (char)(c >= 'A' && c <= 'Z' ? c + 32 : c);
	}
	out[*pos] = 0;
	return 0;
}

/*
 * Read a name at r (RFC 1035 §4.1.4). Pointers are offsets into the whole
 * message and must point before the label that holds them.
 */
static int read_name(const uint8_t *msg, size_t len, struct lbx_reader *r, char *out)
{
	struct lbx_reader cur = *r, jump;
	size_t pos = 0, wire = 0, start;
	const uint8_t *here;
	bool jumped = false;
	int err;

	out[0] = 0;
	/* Where this name starts in the whole message (r may be an rdata sub-reader). */
	if (lbx_read_bytes(&cur, 0, &here))
		return -ENODATA;
	start = (size_t)(here - msg);
	for (;;) {
		const uint8_t *label;
		uint8_t n, lo;

		if (lbx_read_u8(&cur, &n))
			return -ENODATA;
		if ((n & 0xc0) == 0xc0) {
			size_t target;

			if (lbx_read_u8(&cur, &lo))
				return -ENODATA;
			if (!jumped && lbx_read_skip(r, lbx_reader_pos(&cur) - lbx_reader_pos(r)))
				return -ENODATA;
			jumped = true;
			target = (size_t)(n & 0x3f) << 8 | lo;
			/* Strictly before this run of labels: the runs' starts decrease, so it ends. */
			if (target >= start)
				return -EBADMSG;
			lbx_reader_init(&jump, msg, len);
			if (lbx_read_skip(&jump, target))
				return -EBADMSG;
			cur = jump;
			start = target;
			continue;
		}
		if (n & 0xc0)
			return -EBADMSG; /* 0x40 and 0x80 label types are obsolete (RFC 6891 §5) */
		wire += 1u + n;
		if (wire > DNS_WIRE_NAME_MAX)
			return -EBADMSG;
		if (n == 0)
			break;
		if (lbx_read_bytes(&cur, n, &label))
			return -ENODATA;
		err = append_label(out, &pos, label, n);
		if (err)
			return err;
	}
	if (!jumped && lbx_read_skip(r, lbx_reader_pos(&cur) - lbx_reader_pos(r)))
		return -ENODATA;
	return 0;
}

static int read_rr(const uint8_t *msg, size_t len, struct lbx_reader *r, struct dns_rr *rr,
		   bool *keep)
{
	uint16_t cls, rdlen;
	struct lbx_reader rd;
	int err = read_name(msg, len, r, rr->owner);

	*keep = false;
	if (err)
		return err;
	if (lbx_read_u16be(r, &rr->type) || lbx_read_u16be(r, &cls) ||
	    lbx_read_u32be(r, &rr->ttl) || lbx_read_u16be(r, &rdlen) ||
	    lbx_read_sub(r, rdlen, &rd))
		return -ENODATA;
	if (cls != NET_DNS_CLASS_IN)
		return 0;
	/* RFC 2181 §8: a TTL with the top bit set counts as zero. */
	if (rr->ttl & 0x80000000u)
		rr->ttl = 0;
	switch (rr->type) {
	case NET_DNS_TYPE_A: {
		const uint8_t *a;

		if (rdlen != 4 || lbx_read_bytes(&rd, 4, &a))
			return -EBADMSG;
		net_addr_from_v4_bytes(&rr->addr, a);
		break;
	}
	case NET_DNS_TYPE_AAAA:
		if (rdlen != 16 || lbx_read_copy(&rd, rr->addr.b, 16))
			return -EBADMSG;
		break;
	case NET_DNS_TYPE_CNAME:
		err = read_name(msg, len, &rd, rr->target);
		if (err)
			return err;
		if (lbx_read_end(&rd))
			return -EBADMSG;
		break;
	default: return 0;
	}
	*keep = true;
	return 0;
}

static bool in_chain(char (*chain)[NET_DNS_NAME_MAX], unsigned n, const char *name)
{
	for (unsigned i = 0; i < n; i++)
		if (!strcmp(chain[i], name))
			return true;
	return false;
}

/* The names that lead to addresses for qname: itself and its CNAME targets. */
static void collect(struct net_dns_msg *m, const struct dns_rr *rrs, unsigned nrr)
{
	char chain[NET_DNS_MAX_CNAME + 1][NET_DNS_NAME_MAX];
	unsigned nchain = 1;
	bool grew = true;

	memcpy(chain[0], m->qname, sizeof(chain[0]));
	while (grew && nchain <= NET_DNS_MAX_CNAME) {
		grew = false;
		for (unsigned i = 0; i < nrr && nchain <= NET_DNS_MAX_CNAME; i++) {
			if (rrs[i].type != NET_DNS_TYPE_CNAME ||
			    !in_chain(chain, nchain, rrs[i].owner) ||
			    in_chain(chain, nchain, rrs[i].target))
				continue;
			memcpy(chain[nchain++], rrs[i].target, sizeof(chain[0]));
			grew = true;
		}
	}
	for (unsigned i = 0; i < nrr && m->naddrs < NET_DNS_MAX_ADDRS; i++) {
		if (rrs[i].type == NET_DNS_TYPE_CNAME || !in_chain(chain, nchain, rrs[i].owner))
			continue;
		m->addrs[m->naddrs] = rrs[i].addr;
		m->ttls[m->naddrs++] = rrs[i].ttl;
	}
}

static int read_answers(const uint8_t *msg, size_t len, struct lbx_reader *r,
			struct net_dns_msg *m, uint16_t ancount)
{
	struct dns_rr *rrs = calloc(DNS_MAX_RECORDS, sizeof(*rrs));
	unsigned nrr = 0;
	int err = 0;

	if (!rrs)
		return -ENOMEM;
	for (unsigned i = 0; i < ancount && nrr < DNS_MAX_RECORDS; i++) {
		bool keep;

		err = read_rr(msg, len, r, &rrs[nrr], &keep);
		if (err)
			break;
		nrr += keep;
	}
	if (!err)
		collect(m, rrs, nrr);
	free(rrs);
	return err;
}

/*
 * An EDNS OPT pseudo-record (RFC 6891 §6.1.2): the root name, TYPE 41,
 * then the requestor's payload size, extended flags and options. Only
 * PADDING options of zeros (RFC 7830 §4) may ride along: any other option
 * (a cookie, client subnet, ...) is bytes of the guest's choosing that
 * would reach the upstream resolver.
 */
static int read_query_opt(struct lbx_reader *r)
{
	uint16_t type, udp_size, rdlen;
	uint32_t ext;
	struct lbx_reader rd;
	uint8_t root;

	if (lbx_read_u8(r, &root) || lbx_read_u16be(r, &type) || lbx_read_u16be(r, &udp_size) ||
	    lbx_read_u32be(r, &ext) || lbx_read_u16be(r, &rdlen) || lbx_read_sub(r, rdlen, &rd))
		return -ENODATA;
	if (root != 0 || type != DNS_TYPE_OPT)
		return -EBADMSG;
	while (lbx_reader_left(&rd) > 0) {
		uint16_t code, olen;
		uint8_t b;

		if (lbx_read_u16be(&rd, &code) || lbx_read_u16be(&rd, &olen))
			return -EBADMSG;
		if (code != DNS_OPT_PADDING)
			return -EBADMSG;
		for (uint16_t i = 0; i < olen; i++)
			if (lbx_read_u8(&rd, &b) || b != 0)
				return -EBADMSG;
	}
	return 0;
}

/*
 * What follows a query's question: nothing, or one EDNS OPT record, and
 * then the end of the message. A query carries no answer or authority
 * records, and no bytes after its sections: under `allowlist` everything
 * in a passed query reaches the upstream resolver, so anything but the
 * question the policy checked would be a channel out.
 */
static int check_query_rest(struct lbx_reader *r, uint16_t an, uint16_t ns, uint16_t ar)
{
	int err;

	if (an != 0 || ns != 0 || ar > 1)
		return -EBADMSG;
	if (ar == 1 && (err = read_query_opt(r)) != 0)
		return err == -ENODATA ? -EBADMSG : err;
	return lbx_reader_left(r) == 0 ? 0 : -EBADMSG;
}

int net_dns_parse(const uint8_t *msg, size_t len, struct net_dns_msg *m)
{
	struct lbx_reader r;
	uint16_t qd, an, ns, ar;
	int err;

	memset(m, 0, sizeof(*m));
	lbx_reader_init(&r, msg, len);
	if (lbx_read_u16be(&r, &m->id) || lbx_read_u16be(&r, &m->flags) ||
	    lbx_read_u16be(&r, &qd) || lbx_read_u16be(&r, &an) || lbx_read_u16be(&r, &ns) ||
	    lbx_read_u16be(&r, &ar))
		return -ENODATA;
	m->response = m->flags & 0x8000;
	m->opcode = (m->flags >> 11) & 0x0f;
	m->rcode = m->flags & 0x0f;
	if (qd != 1)
		return -EBADMSG;
	err = read_name(msg, len, &r, m->qname);
	if (err)
		return err;
	if (lbx_read_u16be(&r, &m->qtype) || lbx_read_u16be(&r, &m->qclass))
		return -ENODATA;
	if (!m->response)
		return check_query_rest(&r, an, ns, ar);
	if (m->rcode != 0 || an == 0)
		return 0;
	return read_answers(msg, len, &r, m, an);
}
