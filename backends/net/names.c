/* SPDX-License-Identifier: MIT */
#include "names.h"

#include <stdlib.h>
#include <string.h>

#define NAMES_BUCKETS 1024 /* power of two */

struct name_entry {
	struct net_addr addr;
	char name[NET_DNS_NAME_MAX];
	uint64_t expires_ms;
	int next; /* next entry in the bucket, -1 at the end */
	bool used;
};

struct net_names {
	struct name_entry *e;
	size_t cap, n;
	int heads[NAMES_BUCKETS];
};

static unsigned bucket_of(const struct net_addr *a)
{
	uint32_t h = 2166136261u; /* FNV-1a */

	for (unsigned i = 0; i < 16; i++)
		h = (h ^ a->b[i]) * 16777619u;
	return h & (NAMES_BUCKETS - 1);
}

struct net_names *net_names_new(size_t cap)
{
	struct net_names *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	t->cap = cap ? cap : 1;
	t->e = calloc(t->cap, sizeof(*t->e));
	if (!t->e) {
		free(t);
		return NULL;
	}
	for (unsigned i = 0; i < NAMES_BUCKETS; i++)
		t->heads[i] = -1;
	return t;
}

void net_names_free(struct net_names *t)
{
	if (!t)
		return;
	free(t->e);
	free(t);
}

size_t net_names_count(const struct net_names *t)
{
	return t->n;
}

static void unlink_entry(struct net_names *t, int idx)
{
	int *pp = &t->heads[bucket_of(&t->e[idx].addr)];

	while (*pp != -1 && *pp != idx)
		pp = &t->e[*pp].next;
	if (*pp == idx)
		*pp = t->e[idx].next;
	t->e[idx].used = false;
	t->n--;
}

/* A free slot, evicting the entry that expires first when the table is full. */
static int free_slot(struct net_names *t)
{
	int victim = -1;

	for (size_t i = 0; i < t->cap; i++) {
		if (!t->e[i].used)
			return (int)i;
		if (victim < 0 || t->e[i].expires_ms < t->e[victim].expires_ms)
			victim = (int)i;
	}
	unlink_entry(t, victim);
	return victim;
}

void net_names_learn(struct net_names *t, const char *name, const struct net_addr *a,
		     uint32_t ttl_s, uint64_t now_ms)
{
	unsigned b = bucket_of(a);
	uint64_t expires;
	int idx;

	if (ttl_s < NET_NAMES_TTL_MIN)
		ttl_s = NET_NAMES_TTL_MIN;
	if (ttl_s > NET_NAMES_TTL_MAX)
		ttl_s = NET_NAMES_TTL_MAX;
	expires = now_ms + (uint64_t)ttl_s * 1000;
	for (idx = t->heads[b]; idx != -1; idx = t->e[idx].next) {
		if (net_addr_eq(&t->e[idx].addr, a) && !strcmp(t->e[idx].name, name)) {
			if (expires > t->e[idx].expires_ms)
				t->e[idx].expires_ms = expires;
			return;
		}
	}
	idx = free_slot(t);
	b = bucket_of(a); /* unchanged, but eviction may have edited this bucket */
	t->e[idx] = (struct name_entry){ .addr = *a, .expires_ms = expires, .next = t->heads[b],
					 .used = true };
	strncpy(t->e[idx].name, name, sizeof(t->e[idx].name) - 1);
	t->heads[b] = idx;
	t->n++;
}

const char *net_names_find(const struct net_names *t, const struct net_addr *a, uint64_t now_ms,
			   bool (*pred)(const char *name, const void *ctx), const void *ctx)
{
	if (!t)
		return NULL;
	for (int idx = t->heads[bucket_of(a)]; idx != -1; idx = t->e[idx].next) {
		const struct name_entry *e = &t->e[idx];

		if (e->expires_ms > now_ms && net_addr_eq(&e->addr, a) && (!pred || pred(e->name, ctx)))
			return e->name;
	}
	return NULL;
}
