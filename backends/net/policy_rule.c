/* SPDX-License-Identifier: MIT */
/*
 * The grammars of the `allow`, `host` and `forward` entries (policy.h):
 *
 *   allow    [tcp:|udp:]TARGET[:PORT[-PORT]]
 *            TARGET = * | host.name | *.domain | a.b.c.d[/n] | [v6[/n]]
 *            (an IPv6 target without a port may go without brackets)
 *   host     [tcp:|udp:]PORT[-PORT]
 *   forward  [tcp:|udp:][HOSTADDR:]HOSTPORT:GUESTPORT   (HOSTADDR a.b.c.d or [v6])
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frame.h"
#include "policy.h"

static const char *take_proto(const char *s, uint8_t *proto)
{
	*proto = 0;
	if (!strncmp(s, "tcp:", 4)) {
		*proto = NET_PROTO_TCP;
		return s + 4;
	}
	if (!strncmp(s, "udp:", 4)) {
		*proto = NET_PROTO_UDP;
		return s + 4;
	}
	return s;
}

/* A decimal port 1..65535 spanning exactly s[0..n). */
static int parse_port(const char *s, size_t n, uint16_t *port)
{
	unsigned long v = 0;

	if (n == 0 || n > 5 || s[0] == '0')
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -EINVAL;
		v = v * 10 + (unsigned long)(s[i] - '0');
	}
	if (v > 65535)
		return -EINVAL;
	*port = (uint16_t)v;
	return 0;
}

static int parse_ports(const char *s, uint16_t *lo, uint16_t *hi)
{
	const char *dash = strchr(s, '-');

	if (!dash) {
		if (parse_port(s, strlen(s), lo))
			return -EINVAL;
		*hi = *lo;
		return 0;
	}
	if (parse_port(s, (size_t)(dash - s), lo) || parse_port(dash + 1, strlen(dash + 1), hi) ||
	    *lo > *hi)
		return -EINVAL;
	return 0;
}

/* RFC 1123 §2.1 host names (plus '_', seen in service names); stored lower case. */
static int parse_hostname(const char *s, char *out)
{
	size_t n = strlen(s), label = 0;
	bool alpha = false;

	if (n == 0 || n >= NET_DNS_NAME_MAX)
		return -EINVAL;
	for (size_t i = 0; i <= n; i++) {
		char c = s[i];

		if (c == '.' || c == 0) {
			if (label == 0 || label > 63 || s[i - 1] == '-')
				return -EINVAL;
			label = 0;
		} else if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_') {
			alpha = true;
			label++;
		} else if ((c >= '0' && c <= '9') || (c == '-' && label > 0)) {
			label++;
		} else {
			return -EINVAL;
		}
		out[i] = (char)(c >= 'A' && c <= 'Z' ? c + 32 : c);
	}
	/* All digits and dots is a mistyped address, not a name. */
	return alpha ? 0 : -EINVAL;
}

static int parse_target(const char *t, struct net_rule *r, const char **why)
{
	if (!strcmp(t, "*")) {
		r->kind = NET_RULE_ANY;
		return 0;
	}
	if (!net_cidr_parse(t, &r->cidr)) {
		r->kind = NET_RULE_CIDR;
		return 0;
	}
	r->kind = NET_RULE_NAME;
	if (!strncmp(t, "*.", 2)) {
		r->wildcard = true;
		t += 2;
	}
	if (parse_hostname(t, r->name)) {
		*why = "expected *, a host name, *.domain, an address or a CIDR block";
		return -EINVAL;
	}
	return 0;
}

int net_rule_parse(const char *s, struct net_rule *r, const char **why)
{
	char target[NET_RULE_TEXT_MAX];
	const char *rest, *ports = NULL, *colon;
	size_t tlen;

	memset(r, 0, sizeof(*r));
	r->port_hi = 65535;
	*why = "expected [tcp:|udp:]TARGET[:PORT[-PORT]]";
	if (strlen(s) >= NET_RULE_TEXT_MAX)
		return -EINVAL;
	strcpy(r->text, s);
	rest = take_proto(s, &r->proto);
	if (rest[0] == '[') {
		const char *close = strchr(rest, ']');

		if (!close || (close[1] && close[1] != ':'))
			return -EINVAL;
		tlen = (size_t)(close - rest - 1);
		memcpy(target, rest + 1, tlen);
		target[tlen] = 0;
		if (close[1] == ':')
			ports = close + 2;
		if (!strchr(target, ':'))
			return -EINVAL; /* brackets are for IPv6 */
	} else {
		colon = strchr(rest, ':');
		if (colon && strchr(colon + 1, ':'))
			colon = NULL; /* a bare IPv6 address or block */
		tlen = colon ? (size_t)(colon - rest) : strlen(rest);
		memcpy(target, rest, tlen);
		target[tlen] = 0;
		if (colon)
			ports = colon + 1;
	}
	if (ports && parse_ports(ports, &r->port_lo, &r->port_hi)) {
		*why = "expected a port 1-65535 or a range such as 8000-8100";
		return -EINVAL;
	}
	return parse_target(target, r, why);
}

int net_service_parse(const char *s, struct net_service *sv, const char **why)
{
	const char *rest = take_proto(s, &sv->proto);

	if (!sv->proto)
		sv->proto = NET_PROTO_TCP;
	*why = "expected [tcp:|udp:]PORT[-PORT], e.g. tcp:5432";
	return parse_ports(rest, &sv->port_lo, &sv->port_hi);
}

int net_forward_parse(const char *s, struct net_forward *fw, const char **why)
{
	char addr[NET_ADDR_STRLEN];
	const char *rest = take_proto(s, &fw->proto), *ports;
	const char *c1, *c2;

	*why = "expected [tcp:|udp:][HOSTADDR:]HOSTPORT:GUESTPORT, e.g. 127.0.0.1:8080:80";
	if (!fw->proto)
		fw->proto = NET_PROTO_TCP;
	net_addr_from_v4(&fw->host, 0x7f000001u); /* loopback unless asked: not the LAN */
	ports = rest;
	if (rest[0] == '[') {
		const char *close = strchr(rest, ']');
		size_t n = close ? (size_t)(close - rest - 1) : 0;

		if (!close || close[1] != ':' || n == 0 || n >= sizeof(addr))
			return -EINVAL;
		memcpy(addr, rest + 1, n);
		addr[n] = 0;
		if (!strchr(addr, ':') || net_addr_parse(addr, &fw->host))
			return -EINVAL;
		ports = close + 2;
	} else if ((c1 = strchr(rest, ':')) && strchr(c1 + 1, ':')) {
		size_t n = (size_t)(c1 - rest);

		if (n == 0 || n >= sizeof(addr))
			return -EINVAL;
		memcpy(addr, rest, n);
		addr[n] = 0;
		if (net_addr_parse(addr, &fw->host) || !net_addr_is_v4(&fw->host))
			return -EINVAL;
		ports = c1 + 1;
	}
	c2 = strchr(ports, ':');
	if (!c2 || parse_port(ports, (size_t)(c2 - ports), &fw->host_port) ||
	    parse_port(c2 + 1, strlen(c2 + 1), &fw->guest_port))
		return -EINVAL;
	return 0;
}
