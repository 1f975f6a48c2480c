/* SPDX-License-Identifier: MIT */
/* The egress decision (policy.h). */
#include "policy.h"

#include <stdlib.h>
#include <string.h>

#include "frame.h"

#define ICMP_ECHO_REQUEST 8
#define ICMPV6_ECHO_REQUEST 128
#define ICMPV6_RS 133 /* router solicitation .. redirect: RFC 4861 §4 */
#define ICMPV6_REDIRECT 137
#define NDP_HOP_LIMIT 255 /* RFC 4861 §6.1.1, §7.1.1: anything else is forged or forwarded */
#define PORT_DNS 53
#define PORT_DHCP_SERVER 67
#define PORT_DHCP_CLIENT 68

void net_policy_init(struct net_policy *p)
{
	memset(p, 0, sizeof(*p));
	p->mode = NET_MODE_NAT;
	/* slirp's defaults (libslirp.h SlirpConfig; QEMU's -netdev user). */
	net_addr_from_v4(&p->gateway4, 0x0a000202u);
	net_addr_from_v4(&p->dns4, 0x0a000203u);
	p->vnet4.len = 96 + 24;
	net_addr_from_v4(&p->vnet4.addr, 0x0a000200u);
	memset(&p->vnet6, 0, sizeof(p->vnet6));
	p->vnet6.addr.b[0] = 0xfe;
	p->vnet6.addr.b[1] = 0xc0;
	p->vnet6.len = 64;
	p->gateway6 = p->vnet6.addr;
	p->gateway6.b[15] = 2;
	p->dns6 = p->vnet6.addr;
	p->dns6.b[15] = 3;
}

void net_policy_free(struct net_policy *p)
{
	free(p->allow);
	free(p->host);
	free(p->forward);
	free(p->host_addrs);
	p->allow = NULL;
	p->host = NULL;
	p->forward = NULL;
	p->host_addrs = NULL;
	p->nallow = p->nhost = p->nforward = p->nhost_addrs = 0;
}

void net_flow_from_frame(const struct net_frame *fr, struct net_flow *f)
{
	bool ports = fr->has_l4 && (fr->proto == NET_PROTO_TCP || fr->proto == NET_PROTO_UDP);

	*f = (struct net_flow){
		.ip_version = fr->ip_version,
		.proto = fr->proto,
		.src = fr->src,
		.dst = fr->dst,
		.has_ports = ports,
		.sport = ports ? fr->sport : 0,
		.dport = ports ? fr->dport : 0,
		.tcp_flags = fr->tcp_flags,
		.has_icmp = fr->has_l4 && (fr->proto == NET_PROTO_ICMP || fr->proto == NET_PROTO_ICMPV6),
		.icmp_type = fr->icmp_type,
		.ttl = fr->ttl,
		.fragment = fr->fragment,
		.ipv6_ext = fr->ipv6_ext,
	};
}

bool net_rule_matches_name(const struct net_rule *r, const char *name)
{
	size_t n = strlen(name), m = strlen(r->name);

	if (r->kind != NET_RULE_NAME)
		return false;
	if (!r->wildcard)
		return !strcmp(name, r->name);
	/* "*.example.com": a.example.com and deeper, not example.com itself. */
	return n > m + 1 && name[n - m - 1] == '.' && !strcmp(name + n - m, r->name);
}

static bool rule_name_pred(const char *name, const void *ctx)
{
	return net_rule_matches_name(ctx, name);
}

static bool is_dst(const struct net_flow *f, const struct net_addr *v4, const struct net_addr *v6)
{
	return net_addr_eq(&f->dst, f->ip_version == 4 ? v4 : v6);
}

static bool rule_ports_match(const struct net_rule *r, const struct net_flow *f)
{
	bool any_port = r->port_lo <= 1 && r->port_hi == 65535;

	if (r->proto && r->proto != f->proto)
		return false;
	if (any_port)
		return true;
	return f->has_ports && f->dport >= r->port_lo && f->dport <= r->port_hi;
}

static bool service_match(const struct net_policy *p, const struct net_flow *f)
{
	if (!f->has_ports)
		return false;
	for (size_t i = 0; i < p->nhost; i++)
		if (p->host[i].proto == f->proto && f->dport >= p->host[i].port_lo &&
		    f->dport <= p->host[i].port_hi)
			return true;
	return false;
}

static bool is_host_addr(const struct net_policy *p, const struct net_addr *a)
{
	for (size_t i = 0; i < p->nhost_addrs; i++)
		if (net_addr_eq(&p->host_addrs[i], a))
			return true;
	return false;
}

static void verdict(struct net_decision *d, bool allow, enum net_reason why)
{
	d->allow = allow;
	d->reason = why;
}

/* Frames that never leave slirp or cannot start anything: true if decided. */
static bool decide_local(const struct net_policy *p, const struct net_flow *f,
			 struct net_decision *d)
{
	bool tcp_opens = (f->tcp_flags & (NET_TCP_SYN | NET_TCP_FIN | NET_TCP_RST | NET_TCP_URG |
					  NET_TCP_ACK)) == NET_TCP_SYN;

	/*
	 * slirp opens a host socket only for a bare SYN (libslirp tcp_input.c,
	 * "TH_SYN flag is the only flag set"); any other segment belongs to a
	 * connection that was allowed (or forwarded in) or is answered by a
	 * reset from slirp. So only the SYN needs the policy.
	 */
	if (f->proto == NET_PROTO_TCP && !tcp_opens) {
		verdict(d, true, NET_ALLOW_ESTABLISHED);
		return true;
	}
	if (f->proto == NET_PROTO_UDP && (f->udp_established || f->udp_reply)) {
		verdict(d, true, NET_ALLOW_ESTABLISHED);
		return true;
	}
	if (f->proto == NET_PROTO_ICMP && f->icmp_type != ICMP_ECHO_REQUEST) {
		/* Errors and replies: slirp's ip_icmp.c consumes them, sends nothing out. */
		verdict(d, true, NET_ALLOW_LOCAL);
		return true;
	}
	if (f->proto == NET_PROTO_ICMPV6 && f->icmp_type != ICMPV6_ECHO_REQUEST) {
		bool ndp = f->icmp_type >= ICMPV6_RS && f->icmp_type <= ICMPV6_REDIRECT;

		verdict(d, !ndp || f->ttl == NDP_HOP_LIMIT,
			ndp && f->ttl != NDP_HOP_LIMIT ? NET_DENY_PROTOCOL : NET_ALLOW_LOCAL);
		return true;
	}
	if (f->has_icmp && (is_dst(f, &p->gateway4, &p->gateway6) || is_dst(f, &p->dns4, &p->dns6))) {
		verdict(d, true, NET_ALLOW_LOCAL); /* slirp answers pings of itself */
		return true;
	}
	return false;
}

/* slirp's own addresses: its resolver, DHCP, and the host behind the gateway. */
static bool decide_slirp(const struct net_policy *p, const struct net_flow *f,
			 struct net_decision *d)
{
	bool inside = f->ip_version == 4 ? net_cidr_contains(&p->vnet4, &f->dst)
					 : net_cidr_contains(&p->vnet6, &f->dst);

	if (f->proto == NET_PROTO_UDP && f->sport == PORT_DHCP_CLIENT &&
	    f->dport == PORT_DHCP_SERVER && f->ip_version == 4 &&
	    (net_addr_v4(&f->dst) == 0xffffffffu || net_addr_eq(&f->dst, &p->gateway4))) {
		verdict(d, true, NET_ALLOW_DHCP);
		return true;
	}
	if (is_dst(f, &p->dns4, &p->dns6)) {
		if (f->has_ports && f->dport == PORT_DNS) {
			/* allowlist inspects UDP queries (netd); a TCP stream it cannot. */
			if (p->mode == NET_MODE_ALLOWLIST && f->proto == NET_PROTO_TCP)
				verdict(d, false, NET_DENY_DNS_NAME);
			else
				verdict(d, true, NET_ALLOW_DNS);
		} else {
			verdict(d, false, NET_DENY_SLIRP);
		}
		return true;
	}
	if (is_dst(f, &p->gateway4, &p->gateway6)) {
		bool ok = service_match(p, f);

		verdict(d, ok, ok ? NET_ALLOW_HOST : NET_DENY_HOST);
		return true;
	}
	if (inside) {
		/* Every other address of slirp's network is the host's loopback too. */
		verdict(d, false, NET_DENY_SLIRP);
		return true;
	}
	return false;
}

static bool decide_rules(const struct net_policy *p, const struct net_names *names,
			 const struct net_flow *f, uint64_t now_ms, struct net_decision *d)
{
	bool public_dst = d->range == NET_RANGE_PUBLIC && !is_host_addr(p, &f->dst);

	for (size_t i = 0; i < p->nallow; i++) {
		const struct net_rule *r = &p->allow[i];
		const char *name = NULL;

		if (!rule_ports_match(r, f))
			continue;
		switch (r->kind) {
		case NET_RULE_CIDR:
			if (!net_cidr_contains(&r->cidr, &f->dst))
				continue;
			break;
		case NET_RULE_ANY:
			if (!public_dst)
				continue;
			break;
		case NET_RULE_NAME:
			/* Names never open special ranges: DNS rebinding stays harmless. */
			if (!public_dst)
				continue;
			name = net_names_find(names, &f->dst, now_ms, rule_name_pred, r);
			if (!name)
				continue;
			break;
		}
		d->rule = (int)i;
		d->name = name;
		verdict(d, true, name ? NET_ALLOW_NAME : NET_ALLOW_RULE);
		return true;
	}
	return false;
}

/* The address-level verdict once nothing more specific decided. */
static void decide_default(const struct net_policy *p, const struct net_flow *f,
			   struct net_decision *d)
{
	if (is_host_addr(p, &f->dst))
		verdict(d, false, NET_DENY_HOST);
	else if (p->mode == NET_MODE_NAT)
		verdict(d, d->range == NET_RANGE_PUBLIC,
			d->range == NET_RANGE_PUBLIC ? NET_ALLOW_PUBLIC : NET_DENY_RANGE);
	else
		verdict(d, false, NET_DENY_NOT_LISTED);
}

void net_policy_decide(const struct net_policy *p, const struct net_names *names,
		       const struct net_flow *f, uint64_t now_ms, struct net_decision *d)
{
	bool icmp_ok = f->ip_version == 4 ? f->proto == NET_PROTO_ICMP
					  : f->proto == NET_PROTO_ICMPV6;

	memset(d, 0, sizeof(*d));
	d->rule = -1;
	d->range = net_addr_range(&f->dst);
	if (p->mode == NET_MODE_NONE)
		verdict(d, false, NET_DENY_MODE_NONE);
	else if (f->ipv6_ext ||
		 (f->proto != NET_PROTO_TCP && f->proto != NET_PROTO_UDP && !icmp_ok))
		verdict(d, false, NET_DENY_PROTOCOL);
	else if (f->fragment) /* overlapping fragments can rewrite ports after the check (RFC 1858) */
		verdict(d, false, NET_DENY_FRAGMENT);
	else if (!decide_local(p, f, d) && !decide_slirp(p, f, d) &&
		 !decide_rules(p, names, f, now_ms, d))
		decide_default(p, f, d);
}

bool net_policy_name_allowed(const struct net_policy *p, const char *name)
{
	if (p->mode != NET_MODE_ALLOWLIST)
		return true;
	for (size_t i = 0; i < p->nallow; i++)
		if (net_rule_matches_name(&p->allow[i], name))
			return true;
	return false;
}

const char *net_reason_name(enum net_reason r)
{
	static const char *const names[NET_REASON_COUNT] = {
		[NET_ALLOW_PUBLIC] = "public",
		[NET_ALLOW_RULE] = "rule",
		[NET_ALLOW_NAME] = "name",
		[NET_ALLOW_DNS] = "dns",
		[NET_ALLOW_DHCP] = "dhcp",
		[NET_ALLOW_HOST] = "host-service",
		[NET_ALLOW_LOCAL] = "local",
		[NET_ALLOW_ESTABLISHED] = "established",
		[NET_DENY_RANGE] = "denied-range",
		[NET_DENY_NOT_LISTED] = "not-listed",
		[NET_DENY_HOST] = "host",
		[NET_DENY_SLIRP] = "slirp-network",
		[NET_DENY_PROTOCOL] = "protocol",
		[NET_DENY_FRAGMENT] = "fragment",
		[NET_DENY_DNS_NAME] = "dns-name",
		[NET_DENY_MODE_NONE] = "mode-none",
	};

	return (unsigned)r < NET_REASON_COUNT ? names[r] : "?";
}

const char *net_mode_name(enum net_mode m)
{
	switch (m) {
	case NET_MODE_NONE: return "none";
	case NET_MODE_NAT: return "nat";
	case NET_MODE_ALLOWLIST: return "allowlist";
	}
	return "?";
}
