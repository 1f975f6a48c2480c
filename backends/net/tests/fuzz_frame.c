/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target: a frame as the guest would send it, through the same
 * path as lbx-netd's tx queue minus slirp: the parser, the flow, the
 * decision under three policies, and the replies built from the parsed
 * frame (which must themselves parse). Invariants: a frame that parses
 * has an IP version or is ARP; a denied decision has a deny reason; a
 * reset is never built for a reset.
 */
#include <stdlib.h>
#include <string.h>

#include "dns.h"
#include "policy.h"
#include "reply.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct net_policy nat, allowlist;
static struct net_names *names;
static struct net_rule rules[2];

static void setup(void)
{
	const char *why;
	struct net_addr a;

	net_policy_init(&nat);
	net_policy_init(&allowlist);
	allowlist.mode = NET_MODE_ALLOWLIST;
	if (net_rule_parse("example.com:443", &rules[0], &why) ||
	    net_rule_parse("10.9.0.0/16", &rules[1], &why))
		abort();
	allowlist.allow = rules;
	allowlist.nallow = 2;
	names = net_names_new(64);
	if (net_addr_parse("93.184.216.34", &a))
		abort();
	net_names_learn(names, "example.com", &a, 300, 0);
}

static void check_reply(int rc, const struct lbx_writer *w)
{
	struct net_frame back;

	if (rc == 0 && net_frame_parse(lbx_writer_data(w), lbx_writer_len(w), &back) != NET_FRAME_OK)
		abort();
}

static void decide(const struct net_policy *p, const struct net_flow *f)
{
	struct net_decision d;

	net_policy_decide(p, names, f, 1000, &d);
	if (d.allow != (d.reason < NET_DENY_RANGE) || d.reason >= NET_REASON_COUNT)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool ready;
	static uint8_t out[70000];
	struct net_dns_msg q;
	struct lbx_writer w;
	struct net_frame fr;
	struct net_flow f;
	int rc;

	if (!ready) {
		setup();
		ready = true;
	}
	if (net_frame_parse(data, size, &fr) != NET_FRAME_OK)
		return 0;
	if (fr.ethertype != NET_ETHERTYPE_ARP && fr.ip_version != 4 && fr.ip_version != 6)
		abort();
	if (fr.ip_version == 0)
		return 0;
	net_flow_from_frame(&fr, &f);
	decide(&nat, &f);
	decide(&allowlist, &f);
	lbx_writer_init_fixed(&w, out, sizeof(out));
	rc = net_reply_tcp_reset(&fr, &w);
	if (rc == 0 && (fr.tcp_flags & NET_TCP_RST))
		abort();
	check_reply(rc, &w);
	if (fr.has_l4 && fr.proto == NET_PROTO_UDP &&
	    net_dns_parse(fr.payload, fr.payload_len, &q) == 0 && !q.response) {
		lbx_writer_init_fixed(&w, out, sizeof(out));
		check_reply(net_reply_dns_nxdomain(&fr, &q, &w), &w);
	}
	return 0;
}
