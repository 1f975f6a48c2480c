/* SPDX-License-Identifier: MIT */
#include "flows.h"

#include <stdlib.h>
#include <string.h>

#include "frame.h"

#define FLOW_PROBE 8 /* slots looked at per key; the oldest of them is replaced */

struct flow_key {
	uint8_t proto;
	uint16_t guest_port, remote_port;
	struct net_addr remote;
};

struct flow {
	struct flow_key key;
	uint64_t last_ms;
	bool used;
	bool allowed;  /* an outbound frame of it was allowed */
	bool inbound;  /* slirp delivered a datagram of it */
};

struct netd_flows {
	struct flow slots[NETD_FLOW_SLOTS];
	struct netd_dest dests[NETD_DEST_MAX + 1]; /* + the overflow entry */
	unsigned ndest;
	bool overflow_used;
	uint64_t allowed, denied;
};

struct netd_flows *netd_flows_new(void)
{
	return calloc(1, sizeof(struct netd_flows));
}

void netd_flows_free(struct netd_flows *t)
{
	free(t);
}

static bool key_eq(const struct flow_key *a, const struct flow_key *b)
{
	return a->proto == b->proto && a->guest_port == b->guest_port &&
	       a->remote_port == b->remote_port && net_addr_eq(&a->remote, &b->remote);
}

static unsigned key_hash(const struct flow_key *k)
{
	uint32_t h = 2166136261u;

	h = (h ^ k->proto) * 16777619u;
	h = (h ^ k->guest_port) * 16777619u;
	h = (h ^ k->remote_port) * 16777619u;
	for (unsigned i = 0; i < 16; i++)
		h = (h ^ k->remote.b[i]) * 16777619u;
	return h;
}

/* The live slot for k, or a slot to (re)use for it with *fresh set. */
static struct flow *lookup(struct netd_flows *t, const struct flow_key *k, uint64_t now_ms,
			   bool *fresh)
{
	unsigned h = key_hash(k);
	struct flow *victim = NULL;
	bool victim_live = true;

	for (unsigned i = 0; i < FLOW_PROBE; i++) {
		struct flow *f = &t->slots[(h + i) & (NETD_FLOW_SLOTS - 1)];
		bool live = f->used && now_ms - f->last_ms < NETD_FLOW_IDLE_MS;

		if (live && key_eq(&f->key, k)) {
			*fresh = false;
			return f;
		}
		/* A free or idle slot first, else the live one idle longest. */
		if (!victim || (victim_live && (!live || f->last_ms < victim->last_ms))) {
			victim = f;
			victim_live = live;
		}
	}
	*fresh = true;
	*victim = (struct flow){ .key = *k, .used = true, .last_ms = now_ms };
	return victim;
}

static struct netd_dest *dest_for(struct netd_flows *t, const struct flow_key *k,
				  const char *name)
{
	struct netd_dest *d;

	for (unsigned i = 0; i < t->ndest; i++) {
		d = &t->dests[i];
		if (d->proto == k->proto && d->port == k->remote_port &&
		    net_addr_eq(&d->addr, &k->remote))
			return d;
	}
	if (t->ndest == NETD_DEST_MAX) {
		t->overflow_used = true;
		return &t->dests[NETD_DEST_MAX];
	}
	d = &t->dests[t->ndest++];
	*d = (struct netd_dest){ .proto = k->proto, .port = k->remote_port, .addr = k->remote };
	if (name)
		strncpy(d->name, name, sizeof(d->name) - 1);
	return d;
}

static void outbound_key(const struct net_flow *f, struct flow_key *k)
{
	*k = (struct flow_key){ .proto = f->proto, .guest_port = f->sport,
				.remote_port = f->dport, .remote = f->dst };
}

bool netd_flows_record(struct netd_flows *t, const struct net_flow *f,
		       const struct net_decision *d, const char *name, uint64_t now_ms)
{
	struct flow_key k;
	struct flow *fl;
	struct netd_dest *dest;
	bool fresh;

	outbound_key(f, &k);
	fl = lookup(t, &k, now_ms, &fresh);
	fl->last_ms = now_ms;
	if (d->allow)
		fl->allowed = true;
	if (!fresh)
		return false;
	dest = dest_for(t, &k, name);
	dest->last = d->reason;
	if (d->allow) {
		dest->allowed++;
		t->allowed++;
	} else {
		dest->denied++;
		t->denied++;
	}
	return true;
}

void netd_flows_inbound(struct netd_flows *t, uint16_t guest_port, const struct net_addr *remote,
			uint16_t remote_port, uint64_t now_ms)
{
	struct flow_key k = { .proto = NET_PROTO_UDP, .guest_port = guest_port,
			      .remote_port = remote_port, .remote = *remote };
	bool fresh;
	struct flow *fl = lookup(t, &k, now_ms, &fresh);

	fl->last_ms = now_ms;
	fl->inbound = true;
}

void netd_flows_udp_state(struct netd_flows *t, struct net_flow *f, uint64_t now_ms)
{
	struct flow_key k;
	unsigned h;

	f->udp_established = f->udp_reply = false;
	if (f->proto != NET_PROTO_UDP || !f->has_ports)
		return;
	outbound_key(f, &k);
	h = key_hash(&k);
	for (unsigned i = 0; i < FLOW_PROBE; i++) {
		const struct flow *fl = &t->slots[(h + i) & (NETD_FLOW_SLOTS - 1)];

		if (fl->used && now_ms - fl->last_ms < NETD_FLOW_IDLE_MS && key_eq(&fl->key, &k)) {
			f->udp_established = fl->allowed;
			f->udp_reply = fl->inbound;
			return;
		}
	}
}

unsigned netd_flows_ndest(const struct netd_flows *t)
{
	return t->ndest + (t->overflow_used ? 1u : 0u);
}

const struct netd_dest *netd_flows_dest(const struct netd_flows *t, unsigned i)
{
	if (i < t->ndest)
		return &t->dests[i];
	return i == t->ndest && t->overflow_used ? &t->dests[NETD_DEST_MAX] : NULL;
}

void netd_flows_totals(const struct netd_flows *t, uint64_t *allowed, uint64_t *denied)
{
	*allowed = t->allowed;
	*denied = t->denied;
}
