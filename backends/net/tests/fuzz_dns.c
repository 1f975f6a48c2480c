/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target: a DNS message as slirp relays it (or the guest sends
 * it). Invariants: names are lower-case letters, digits, '-', '_' and
 * '.', at most 253 characters; no more addresses than the limit; learning
 * them keeps the table within its capacity.
 */
#include <stdlib.h>
#include <string.h>

#include "dns.h"
#include "names.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct net_names *names;
	struct net_dns_msg m;
	size_t n;

	if (!names)
		names = net_names_new(128);
	if (net_dns_parse(data, size, &m))
		return 0;
	n = strlen(m.qname);
	if (n > 253 || m.naddrs > NET_DNS_MAX_ADDRS)
		abort();
	for (size_t i = 0; i < n; i++)
		if (!strchr("abcdefghijklmnopqrstuvwxyz0123456789-_.", m.qname[i]))
			abort();
	for (unsigned i = 0; i < m.naddrs; i++) {
		net_names_learn(names, m.qname, &m.addrs[i], m.ttls[i], 0);
		if (!net_names_find(names, &m.addrs[i], 1, NULL, NULL))
			abort();
	}
	if (net_names_count(names) > 128)
		abort();
	return 0;
}
