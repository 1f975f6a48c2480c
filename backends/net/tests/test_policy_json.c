/* SPDX-License-Identifier: MIT */
/* The `network` section parser and the entry grammars (policy_json.c, policy_rule.c). */
#include <string.h>

#include "policy.h"
#include "tap.h"

static struct net_policy pol;
static char msg[512];

static int parse(const char *json)
{
	return net_policy_parse(json, strlen(json), "box.json", &pol, msg, sizeof(msg));
}

static void refused(const char *json, const char *want, const char *what)
{
	int rc = parse(json);

	ok(rc < 0 && strstr(msg, want), "%s: \"%s\"", what, want);
	if (rc == 0 || !strstr(msg, want))
		printf("#   message: %s\n", rc ? msg : "(accepted)");
	if (rc == 0)
		net_policy_free(&pol);
}

static void test_docs(void)
{
	ok(parse("{}") == 0 && pol.mode == NET_MODE_NAT && pol.nallow == 0 && pol.nhost == 0 &&
		   pol.nforward == 0,
	   "{} is the default: nat, nothing else");
	net_policy_free(&pol);
	ok(parse("{\"mode\": \"allowlist\", \"allow\": [\"github.com:443\", \"10.0.0.0/8\"],"
		 " \"host\": [\"tcp:5432\"], \"forward\": [\"127.0.0.1:8080:80\"]}") == 0,
	   "a full section parses");
	ok(pol.mode == NET_MODE_ALLOWLIST && pol.nallow == 2 && pol.nhost == 1 &&
		   pol.nforward == 1,
	   "with every list");
	ok(pol.allow[0].kind == NET_RULE_NAME && !strcmp(pol.allow[0].name, "github.com") &&
		   pol.allow[0].port_lo == 443 && !strcmp(pol.allow[0].text, "github.com:443"),
	   "the name rule keeps its name, port and text");
	ok(pol.forward[0].host_port == 8080 && pol.forward[0].guest_port == 80,
	   "the forward keeps its ports");
	net_policy_free(&pol);
	ok(parse("{\"mode\": \"none\"}") == 0 && pol.mode == NET_MODE_NONE, "mode none parses");
	net_policy_free(&pol);

	refused("{\"mode\": \"nat\", \"proxy\": 1}", "box.json: network.proxy: unknown key",
		"an unknown key is named");
	refused("{\"mode\": \"open\"}", "box.json: network.mode: expected \"nat\"",
		"a bad mode is named");
	refused("{\"mode\": 1}", "box.json: network.mode:", "a mode that is not a string");
	refused("{\"allow\": [\"github.com\", \"bad host!\"]}", "box.json: network.allow[1]:",
		"a bad allow entry is named by index");
	refused("{\"allow\": \"github.com\"}", "box.json: network.allow:", "allow must be a list");
	refused("{\"allow\": [42]}", "box.json: network.allow[0]:", "entries must be strings");
	refused("{\"host\": [\"tcp:99999\"]}", "box.json: network.host[0]: expected [tcp:|udp:]PORT",
		"a bad host port is named");
	refused("{\"forward\": [\"8080\"]}", "box.json: network.forward[0]: expected",
		"a bad forward is named");
	refused("{\"mode\": \"nat\",}", "box.json:1:", "invalid JSON names line and column");
	refused("[]", "box.json: network: expected an object", "the section must be an object");
	refused("{\"mode\": \"nat\", \"mode\": \"nat\"}", "network.mode: repeated key",
		"a repeated key is refused");
}

static void test_rules(void)
{
	static const struct {
		const char *s;
		enum net_rule_kind kind;
		uint8_t proto;
		uint16_t lo, hi;
	} good[] = {
		{ "github.com", NET_RULE_NAME, 0, 0, 65535 },
		{ "GitHub.COM:443", NET_RULE_NAME, 0, 443, 443 },
		{ "tcp:registry.npmjs.org:443", NET_RULE_NAME, NET_PROTO_TCP, 443, 443 },
		{ "*.example.org", NET_RULE_NAME, 0, 0, 65535 },
		{ "_srv.example.org:8000-8100", NET_RULE_NAME, 0, 8000, 8100 },
		{ "*", NET_RULE_ANY, 0, 0, 65535 },
		{ "udp:*:123", NET_RULE_ANY, NET_PROTO_UDP, 123, 123 },
		{ "10.0.0.0/8", NET_RULE_CIDR, 0, 0, 65535 },
		{ "192.168.1.10:5432", NET_RULE_CIDR, 0, 5432, 5432 },
		{ "2001:db8::/32", NET_RULE_CIDR, 0, 0, 65535 },
		{ "[2001:db8::1]:22", NET_RULE_CIDR, 0, 22, 22 },
		{ "[2001:db8::/48]:1-1024", NET_RULE_CIDR, 0, 1, 1024 },
	};
	static const char *const bad[] = {
		"", "tcp:", "github.com:", "github.com:0", "github.com:65536", "github.com:443x",
		"github.com:10-5", "git hub.com", "-github.com", "github-.com", "a..b", ".a",
		"1.2.3", "10.0.0.0/33", "[10.0.0.1]:80", "[2001:db8::1]22", "[2001:db8::1",
		"**.example.org", "*example.org", "icmp:1.2.3.4", "github.com:443:1",
		"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.com",
	};
	struct net_rule r;
	const char *why;

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		int rc = net_rule_parse(good[i].s, &r, &why);

		ok(rc == 0 && r.kind == good[i].kind && r.proto == good[i].proto &&
			   r.port_lo == good[i].lo && r.port_hi == good[i].hi,
		   "allow \"%s\" parses", good[i].s);
	}
	ok(!net_rule_parse("GitHub.COM:443", &r, &why) && !strcmp(r.name, "github.com"),
	   "names are kept in lower case");
	ok(!net_rule_parse("*.Example.org", &r, &why) && r.wildcard &&
		   !strcmp(r.name, "example.org"),
	   "a wildcard keeps its domain");
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ok(net_rule_parse(bad[i], &r, &why) < 0 && why && *why, "allow \"%s\" is refused",
		   bad[i]);
}

static void test_services_forwards(void)
{
	struct net_service sv;
	struct net_forward fw;
	struct net_addr want;
	const char *why;

	ok(!net_service_parse("tcp:5432", &sv, &why) && sv.proto == NET_PROTO_TCP &&
		   sv.port_lo == 5432,
	   "host tcp:5432");
	ok(!net_service_parse("5432", &sv, &why) && sv.proto == NET_PROTO_TCP, "host 5432 is TCP");
	ok(!net_service_parse("udp:8000-8010", &sv, &why) && sv.proto == NET_PROTO_UDP &&
		   sv.port_lo == 8000 && sv.port_hi == 8010,
	   "host udp:8000-8010");
	ok(net_service_parse("tcp:", &sv, &why) < 0, "host tcp: is refused");
	ok(net_service_parse("tcp:0", &sv, &why) < 0, "port 0 is refused");
	ok(net_service_parse("sctp:1", &sv, &why) < 0, "sctp is refused");

	ok(!net_forward_parse("127.0.0.1:8080:80", &fw, &why) && fw.proto == NET_PROTO_TCP &&
		   fw.host_port == 8080 && fw.guest_port == 80,
	   "forward 127.0.0.1:8080:80");
	ok(!net_forward_parse("8080:80", &fw, &why) && !net_addr_parse("127.0.0.1", &want) &&
		   net_addr_eq(&fw.host, &want),
	   "forward 8080:80 listens on 127.0.0.1, not every interface");
	ok(!net_forward_parse("udp:0.0.0.0:5353:53", &fw, &why) && fw.proto == NET_PROTO_UDP,
	   "forward udp:0.0.0.0:5353:53");
	ok(!net_forward_parse("[::1]:8080:80", &fw, &why) && !net_addr_parse("::1", &want) &&
		   net_addr_eq(&fw.host, &want),
	   "forward [::1]:8080:80");
	ok(net_forward_parse("8080", &fw, &why) < 0, "forward 8080 is refused");
	ok(net_forward_parse("1.2.3.4:0:80", &fw, &why) < 0, "host port 0 is refused");
	ok(net_forward_parse("localhost:8080:80", &fw, &why) < 0, "a host name is refused");
	ok(net_forward_parse("[::1]8080:80", &fw, &why) < 0, "[::1]8080:80 is refused");
	ok(net_forward_parse("1.2.3.4:8080:80:1", &fw, &why) < 0, "four fields are refused");
	ok(net_forward_parse("::1:8080:80", &fw, &why) < 0, "IPv6 without brackets is refused");
}

int main(void)
{
	test_docs();
	test_rules();
	test_services_forwards();
	return tap_done();
}
