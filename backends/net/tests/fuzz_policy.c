/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target: the `network` section parser (and common/json under
 * it). Invariants: every refusal names the file; every accepted rule has
 * sane ports and a name only when it is a name rule.
 */
#include <stdlib.h>
#include <string.h>

#include "policy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct net_policy p;
	char msg[600];

	if (net_policy_parse((const char *)data, size, "fuzz.json", &p, msg, sizeof(msg))) {
		if (strncmp(msg, "fuzz.json", 9) != 0)
			abort();
		return 0;
	}
	for (size_t i = 0; i < p.nallow; i++) {
		const struct net_rule *r = &p.allow[i];

		if (r->port_lo > r->port_hi || (r->kind == NET_RULE_NAME) != (r->name[0] != 0))
			abort();
		if (r->kind == NET_RULE_NAME && !net_rule_matches_name(r, r->name) && !r->wildcard)
			abort();
	}
	for (size_t i = 0; i < p.nhost; i++)
		if (p.host[i].port_lo == 0 || p.host[i].port_lo > p.host[i].port_hi)
			abort();
	for (size_t i = 0; i < p.nforward; i++)
		if (p.forward[i].host_port == 0 || p.forward[i].guest_port == 0)
			abort();
	net_policy_free(&p);
	return 0;
}
