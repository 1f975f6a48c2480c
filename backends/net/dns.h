/* SPDX-License-Identifier: MIT */
/*
 * DNS messages (RFC 1035 §4.1), read through common/reader.h: the
 * guest's queries to slirp's resolver (the `allowlist` mode refuses names
 * it does not list) and the answers slirp relays back (which addresses
 * each name resolved to). Both are hostile: a query comes from the guest,
 * an answer from whatever the host's resolver talked to.
 *
 * Names: compression pointers (§4.1.4) must point strictly backwards, so
 * a name always ends; a name is at most 255 bytes on the wire (§3.1) and
 * its labels may only hold letters, digits, '-' and '_' (a label holding a
 * '.' would let "a.b" in one label pass for two labels). Names come out in
 * lower case, dotted, without the final dot.
 */
#ifndef LBX_NET_DNS_H
#define LBX_NET_DNS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "addr.h"
#include "compiler.h"

#define NET_DNS_NAME_MAX 254 /* 253 characters and the NUL */
#define NET_DNS_MAX_ADDRS 32 /* addresses kept per answer; the rest are ignored */
#define NET_DNS_MAX_CNAME 8  /* CNAME hops followed from the question */

#define NET_DNS_TYPE_A 1
#define NET_DNS_TYPE_CNAME 5
#define NET_DNS_TYPE_AAAA 28
#define NET_DNS_CLASS_IN 1
#define NET_DNS_RCODE_NXDOMAIN 3

struct net_dns_msg {
	uint16_t id;
	uint16_t flags;	    /* QR, opcode, AA, TC, RD, RA, Z, rcode as on the wire */
	bool response;	    /* QR */
	uint8_t opcode;
	uint8_t rcode;
	char qname[NET_DNS_NAME_MAX];
	uint16_t qtype, qclass;
	/* Responses: the A and AAAA answers for qname, following CNAMEs from it. */
	unsigned naddrs;
	struct net_addr addrs[NET_DNS_MAX_ADDRS];
	uint32_t ttls[NET_DNS_MAX_ADDRS];
};

/*
 * Parse a message with exactly one question (what resolvers send). For a
 * response with rcode 0 the answer section is read too. A query must be
 * the question and nothing else, but for one EDNS OPT record carrying no
 * option other than zero PADDING: no answer or authority records, no
 * bytes after its sections (-EBADMSG otherwise), so that a query the
 * policy passed carries nothing to the resolver beyond its checked name.
 * 0, or -EBADMSG (malformed, or a name we would not match), -ENODATA
 * (truncated).
 */
LBX_MUST_CHECK int net_dns_parse(const uint8_t *msg, size_t len, struct net_dns_msg *out);

#endif
