/* SPDX-License-Identifier: MIT */
/*
 * Which names the box's own DNS resolved to which addresses: learned from
 * the answers slirp relays to the guest (dns.h), so that an `allowlist`
 * entry naming a host permits exactly the addresses the box was told, and
 * so that counters can show a destination by name.
 *
 * Bounded: at most `cap` (address, name) pairs; when full, the pair that
 * expires first makes room. TTLs are clamped (NET_NAMES_TTL_MIN/MAX) so a
 * zero TTL still lets the connection that follows the lookup through.
 */
#ifndef LBX_NET_NAMES_H
#define LBX_NET_NAMES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "addr.h"
#include "dns.h"

#define NET_NAMES_TTL_MIN 60u	 /* seconds */
#define NET_NAMES_TTL_MAX 86400u /* a day */
#define NET_NAMES_DEFAULT_CAP 4096

struct net_names;

struct net_names *net_names_new(size_t cap);
void net_names_free(struct net_names *t);
void net_names_learn(struct net_names *t, const char *name, const struct net_addr *a,
		     uint32_t ttl_s, uint64_t now_ms);
size_t net_names_count(const struct net_names *t);

/*
 * The first unexpired name for a for which pred says yes (pred NULL: any),
 * or NULL. The string lives until the table changes.
 */
const char *net_names_find(const struct net_names *t, const struct net_addr *a, uint64_t now_ms,
			   bool (*pred)(const char *name, const void *ctx), const void *ctx);

#endif
