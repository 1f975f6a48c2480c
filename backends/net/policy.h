/* SPDX-License-Identifier: MIT */
/*
 * The egress policy of a box: the `network` section of its config, and
 * the decision taken on every frame the guest sends, before slirp sees it.
 *
 * Modes:
 *   none       no NIC at all. The supervisor adds no network device;
 *              lbx-netd refuses to start with such a policy.
 *   nat        (default) the internet, yes; every special-purpose range
 *              (addr.h: the host's loopback, RFC 1918, link-local and so
 *              169.254.169.254, CGNAT, ULA, IPv6 link-local, multicast,
 *              reserved) no, unless an `allow` rule names it.
 *   allowlist  only what `allow` lists: names (matched through the box's
 *              own DNS, names.h), CIDR blocks, ports.
 *
 * In every mode the box may use slirp's own services: DHCP, its DNS
 * resolver (port 53 of 10.0.2.3 / fec0::3), ARP and IPv6 neighbour
 * discovery, ping of the gateway. The host itself is 10.0.2.2 / fec0::2,
 * which slirp connects to the host's loopback: denied except for the
 * ports `host` lists.
 *
 * The decision (net_policy_decide) is a pure function of the policy, the
 * learned names and the flow, so that it can be tested exhaustively.
 */
#ifndef LBX_NET_POLICY_H
#define LBX_NET_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "addr.h"
#include "compiler.h"
#include "dns.h"
#include "frame.h"
#include "names.h"

enum net_mode { NET_MODE_NONE, NET_MODE_NAT, NET_MODE_ALLOWLIST };

#define NET_RULE_TEXT_MAX 300

/* An `allow` entry: [tcp:|udp:]TARGET[:PORT[-PORT]] */
enum net_rule_kind {
	NET_RULE_ANY,  /* "*": any public address */
	NET_RULE_CIDR, /* an address or block; may open a special-purpose range */
	NET_RULE_NAME, /* "host.example" or "*.example" (subdomains only) */
};

struct net_rule {
	enum net_rule_kind kind;
	uint8_t proto; /* 0 any, NET_PROTO_TCP, NET_PROTO_UDP */
	uint16_t port_lo, port_hi;
	struct net_cidr cidr;
	char name[NET_DNS_NAME_MAX]; /* without the "*." of a wildcard */
	bool wildcard;
	char text[NET_RULE_TEXT_MAX]; /* as written, for `lbx net` */
};

/* A `host` entry: [tcp:|udp:]PORT[-PORT] on the host's loopback. */
struct net_service {
	uint8_t proto;
	uint16_t port_lo, port_hi;
};

/* A `forward` entry: [tcp:|udp:][HOSTADDR:]HOSTPORT:GUESTPORT, host 127.0.0.1 by default. */
struct net_forward {
	uint8_t proto;
	struct net_addr host;
	uint16_t host_port, guest_port;
};

struct net_policy {
	enum net_mode mode;
	struct net_rule *allow;
	size_t nallow;
	struct net_service *host;
	size_t nhost;
	struct net_forward *forward;
	size_t nforward;
	/* slirp's virtual network (its defaults; see netd.h) */
	struct net_cidr vnet4, vnet6;
	struct net_addr gateway4, dns4, gateway6, dns6;
	/* The host's own interface addresses: reaching them is reaching the host. */
	struct net_addr *host_addrs;
	size_t nhost_addrs;
};

/* What the decision looks at, taken from a parsed frame by the caller. */
struct net_flow {
	uint8_t ip_version;
	uint8_t proto;
	struct net_addr src, dst;
	bool has_ports; /* TCP or UDP with its header in this frame */
	uint16_t sport, dport;
	uint8_t tcp_flags;
	bool has_icmp;
	uint8_t icmp_type;
	uint8_t ttl;
	bool fragment;
	bool ipv6_ext;
	/* Set by the caller: this UDP datagram answers one slirp delivered (forwards). */
	bool udp_reply;
	/* Set by the caller: this UDP flow was allowed before and is still active. */
	bool udp_established;
};

enum net_reason {
	/* allowed */
	NET_ALLOW_PUBLIC,      /* nat: a public address */
	NET_ALLOW_RULE,	       /* an allow rule with an address or "*" */
	NET_ALLOW_NAME,	       /* an allow rule naming a host the box resolved */
	NET_ALLOW_DNS,	       /* slirp's resolver */
	NET_ALLOW_DHCP,
	NET_ALLOW_HOST,	       /* a `host` port on the host's loopback */
	NET_ALLOW_LOCAL,       /* neighbour discovery, ping of slirp, ICMP errors */
	NET_ALLOW_ESTABLISHED, /* TCP that cannot open a connection; a known UDP flow */
	/* denied */
	NET_DENY_RANGE,	       /* a special-purpose range (see net_decision.range) */
	NET_DENY_NOT_LISTED,   /* allowlist: no rule matches */
	NET_DENY_HOST,	       /* the host's loopback or own address, port not in `host` */
	NET_DENY_SLIRP,	       /* an address or port of slirp's network that serves nothing */
	NET_DENY_PROTOCOL,     /* not TCP, UDP or ICMP; IPv6 extension headers */
	NET_DENY_FRAGMENT,     /* IP fragments (RFC 1858) */
	NET_DENY_DNS_NAME,     /* allowlist: a DNS query for a name not listed */
	NET_DENY_MODE_NONE,
	NET_REASON_COUNT
};

struct net_decision {
	bool allow;
	enum net_reason reason;
	enum net_range range; /* of the destination */
	int rule;	      /* index of the allow rule that matched, or -1 */
	const char *name;     /* learned name that matched, or NULL */
};

void net_policy_init(struct net_policy *p);
void net_policy_free(struct net_policy *p);

/* The flow of a parsed IP frame (the caller adds udp_reply and udp_established). */
void net_flow_from_frame(const struct net_frame *fr, struct net_flow *f);
void net_policy_decide(const struct net_policy *p, const struct net_names *names,
		       const struct net_flow *f, uint64_t now_ms, struct net_decision *d);
/* Whether a DNS query for name may go to slirp's resolver (allowlist: listed names only). */
bool net_policy_name_allowed(const struct net_policy *p, const char *name);
/* Whether an allow rule names this host (exactly, or as a subdomain of a wildcard). */
bool net_rule_matches_name(const struct net_rule *r, const char *name);

const char *net_reason_name(enum net_reason r);
const char *net_mode_name(enum net_mode m);

/* Entry grammars (policy_rule.c); 0 or -EINVAL with a reason in why. */
LBX_MUST_CHECK int net_rule_parse(const char *s, struct net_rule *r, const char **why);
LBX_MUST_CHECK int net_service_parse(const char *s, struct net_service *sv, const char **why);
LBX_MUST_CHECK int net_forward_parse(const char *s, struct net_forward *fw, const char **why);

/*
 * The `network` section of a box config, strictly (policy_json.c): unknown
 * keys and bad values are errors naming the file and the key, in msg.
 */
LBX_MUST_CHECK int net_policy_parse(const char *text, size_t len, const char *file,
				    struct net_policy *p, char *msg, size_t msgsz);
LBX_MUST_CHECK int net_policy_load(const char *path, struct net_policy *p, char *msg,
				   size_t msgsz);

#endif
