/* SPDX-License-Identifier: MIT */
/* The ssh policy parser: every field, and errors that name file and path. */
#include <stdio.h>
#include <string.h>

#include "policy.h"
#include "tap.h"

#define FP1 "SHA256:yUvkfX+uJLB+dsXlKO/3ky2BZSVAm8l3GP0rh+EWBvU"
#define FP2 "SHA256:HrmUN5DZHWhTwMNUmS62Xt7o+odu09uUeQ4CnsDtY+E"

static int parse(const char *text, struct sshp_policy *p, char *err, size_t errsz)
{
	err[0] = '\0';
	return sshp_policy_parse(text, strlen(text), "box.json", p, err, errsz);
}

static void test_valid(void)
{
	static const char text[] =
	    "{\"keys\":[{\"key\":\"" FP1 "\",\"destinations\":[\"git@github.com\","
	    "\"*@*.example.org\"],\"namespaces\":[\"git\"],\"confirm\":true},"
	    "{\"key\":\"work laptop\"},"
	    "{\"key\":\"" FP2 "\",\"destinations\":[],\"namespaces\":[]}],"
	    "\"rate\":\"10/min\"}";
	struct sshp_policy p;
	struct sshp_blob c = { (const uint8_t *)"work laptop", 11 };
	char err[512];

	ok(parse(text, &p, err, sizeof(err)) == 0, "full policy parses (%s)", err);
	is_int(p.nkeys, 3, "three rules");
	ok(!strcmp(p.keys[0].fp, FP1) && !p.keys[0].comment && p.keys[0].confirm &&
	       p.keys[0].ndests == 2 && !p.keys[0].any_destination &&
	       !strcmp(p.keys[0].dests[1].host, "*.example.org") && p.keys[0].nnamespaces == 1,
	   "rule 0: fingerprint, destinations, namespaces, confirm");
	ok(p.keys[1].comment && !strcmp(p.keys[1].comment, "work laptop") &&
	       p.keys[1].any_destination && p.keys[1].any_namespace && !p.keys[1].confirm,
	   "rule 1: by comment; absent lists mean any");
	ok(!p.keys[2].any_destination && p.keys[2].ndests == 0 && !p.keys[2].any_namespace &&
	       !sshp_rule_allows_namespace(&p.keys[2], "git"),
	   "rule 2: empty lists mean none");
	ok(p.rate.count == 10 && p.rate.period_ms == 60000, "rate");
	ok(sshp_policy_find(&p, FP1, NULL) == &p.keys[0], "find by fingerprint");
	ok(sshp_policy_find(&p, FP2, &c) == &p.keys[1], "the first matching rule wins");
	ok(sshp_policy_find(&p, "SHA256:other", NULL) == NULL, "unknown key: no rule");
	ok(sshp_policy_by_comment(&p), "has comment rules");
	ok(sshp_rule_allows_namespace(&p.keys[0], "git") &&
	       !sshp_rule_allows_namespace(&p.keys[0], "file"),
	   "namespace list");
	sshp_policy_free(&p);
}

static void expect_error(const char *text, const char *want)
{
	struct sshp_policy p;
	char err[512];
	int rc = parse(text, &p, err, sizeof(err));

	if (!ok(rc != 0 && strstr(err, want) && !strncmp(err, "box.json", 8), "error: %s", want))
		printf("#   got: %s\n", err);
}

static void test_errors(void)
{
	expect_error("{\"keys\":[{\"key\":\"a\"},{\"key\":\"b\",\"confirm\":\"yes\"}]}",
		     "box.json: ssh.keys[1].confirm: expected true or false");
	expect_error("{\"keys\":[],\"colour\":1}", "ssh.colour: unknown key (known: keys, rate)");
	expect_error("{\"keys\":[{\"key\":\"a\",\"key\":\"b\"}]}", "ssh.keys[0].key: repeated key");
	expect_error("{}", "ssh.keys: missing");
	expect_error("{\"keys\":{}}", "ssh.keys: expected an array");
	expect_error("[]", "ssh: expected an object");
	expect_error("{\"keys\":[{}]}", "ssh.keys[0].key: missing");
	expect_error("{\"keys\":[{\"key\":7}]}", "ssh.keys[0].key: expected a string");
	expect_error("{\"keys\":[{\"key\":\"SHA256:abc\"}]}", "ssh.keys[0].key: expected SHA256:");
	expect_error("{\"keys\":[{\"key\":\"\"}]}", "ssh.keys[0].key: expected a key");
	expect_error("{\"keys\":[{\"key\":\"a\",\"destinations\":[\"ok@host\",\"bad@\"]}]}",
		     "ssh.keys[0].destinations[1]: expected user@host");
	expect_error("{\"keys\":[{\"key\":\"a\",\"destinations\":\"git@github.com\"}]}",
		     "ssh.keys[0].destinations: expected an array");
	expect_error("{\"keys\":[{\"key\":\"a\",\"namespaces\":[\"g it\"]}]}",
		     "ssh.keys[0].namespaces[0]: expected a signature namespace");
	expect_error("{\"keys\":[],\"rate\":\"10/fortnight\"}", "ssh.rate: expected N/s");
	expect_error("{\"keys\":[],\"rate\":10}", "ssh.rate: expected a string");
	expect_error("{\n\"keys\": [\n  {\"key\": }\n]}", "box.json:3:11: invalid JSON");
	expect_error("{\"keys\":[]} trailing", "invalid JSON");
}

int main(void)
{
	test_valid();
	test_errors();
	return tap_done();
}
