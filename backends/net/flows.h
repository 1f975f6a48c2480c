/* SPDX-License-Identifier: MIT */
/*
 * Flows and counters: what `lbx net NAME` shows.
 *
 * A flow is a (protocol, guest port, remote address, remote port) seen
 * within NETD_FLOW_IDLE_MS; the first frame of a flow is counted, once,
 * against its destination (protocol, address, port) as allowed or denied.
 * The same table answers two questions for UDP, which has no handshake:
 * was this flow allowed before (it keeps going after the name that
 * allowed it expires), and did slirp deliver a datagram on it (an answer
 * to a forwarded port goes back to where it came from).
 *
 * Both tables are bounded: the oldest flow makes room for a new one, and
 * destinations past NETD_DEST_MAX are added up in one "other" entry.
 */
#ifndef LBX_NET_FLOWS_H
#define LBX_NET_FLOWS_H

#include <stdbool.h>
#include <stdint.h>

#include "addr.h"
#include "dns.h"
#include "policy.h"

#define NETD_FLOW_SLOTS 4096	 /* power of two */
#define NETD_FLOW_IDLE_MS 120000 /* like a NAT's UDP timeout (RFC 4787 REQ-5: >= 2 min) */
#define NETD_DEST_MAX 1024

struct netd_dest {
	uint8_t proto;
	uint16_t port;
	struct net_addr addr;
	char name[NET_DNS_NAME_MAX]; /* as learned when first seen, or "" */
	uint64_t allowed, denied;    /* flows */
	enum net_reason last;	     /* the latest decision's reason */
};

struct netd_flows;

struct netd_flows *netd_flows_new(void);
void netd_flows_free(struct netd_flows *t);

/* Count the decision for f if it starts a flow. Returns true if it did. */
bool netd_flows_record(struct netd_flows *t, const struct net_flow *f,
		       const struct net_decision *d, const char *name, uint64_t now_ms);
/* A UDP datagram from slirp to the guest: remember that the guest may answer it. */
void netd_flows_inbound(struct netd_flows *t, uint16_t guest_port, const struct net_addr *remote,
			uint16_t remote_port, uint64_t now_ms);
/* For an outbound UDP flow: fill f->udp_established and f->udp_reply. */
void netd_flows_udp_state(struct netd_flows *t, struct net_flow *f, uint64_t now_ms);

/* Destinations in first-seen order; the overflow entry last (its addr is ::). */
unsigned netd_flows_ndest(const struct netd_flows *t);
const struct netd_dest *netd_flows_dest(const struct netd_flows *t, unsigned i);
void netd_flows_totals(const struct netd_flows *t, uint64_t *allowed, uint64_t *denied);

#endif
