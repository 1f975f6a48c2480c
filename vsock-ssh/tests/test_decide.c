/* SPDX-License-Identifier: MIT */
/* The signing decision: keys, namespaces, destinations, session bindings. */
#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>

#include "builders.h"
#include "decide.h"
#include "tap.h"

static uint8_t ukey[64], okey[64], hkey[64], hkey2[64];
static size_t ulen, olen, hlen, h2len;
static char ufp[SSHP_FP_LEN], kh[1024];
static struct sshp_policy pol;

static void setup(void)
{
	static const uint8_t u[32] = "user", o[32] = "other", h[32] = "host", h2[32] = "jump";
	char h64[128], h264[128], text[1024], err[256];

	ulen = build_ed25519_key(ukey, sizeof(ukey), u);
	olen = build_ed25519_key(okey, sizeof(okey), o);
	hlen = build_ed25519_key(hkey, sizeof(hkey), h);
	h2len = build_ed25519_key(hkey2, sizeof(hkey2), h2);
	sshp_fp_sha256(ukey, ulen, ufp);
	EVP_EncodeBlock((unsigned char *)h64, hkey, (int)hlen);
	EVP_EncodeBlock((unsigned char *)h264, hkey2, (int)h2len);
	snprintf(kh, sizeof(kh), "github.com ssh-ed25519 %s\njump.example.org ssh-ed25519 %s\n",
		 h64, h264);
	snprintf(text, sizeof(text),
		 "{\"keys\":[{\"key\":\"%s\",\"destinations\":[\"git@github.com\","
		 "\"*@jump.example.org\"],\"namespaces\":[\"git\"]}]}",
		 ufp);
	if (sshp_policy_parse(text, strlen(text), "t.json", &pol, err, sizeof(err)))
		printf("# policy: %s\n", err);
}

struct req {
	const uint8_t *key;
	size_t keylen;
	uint8_t data[1024];
	size_t datalen;
	struct sshp_binding binds[4];
	size_t nbinds;
	const struct sshp_policy *policy;
};

static void decide(struct req *r, struct sshp_verdict *v)
{
	struct sshp_kh_text k = { kh, strlen(kh) };
	struct sshp_decide_in in = {
		.policy = r->policy ? r->policy : &pol,
		.binds = r->binds,
		.nbinds = r->nbinds,
		.known_hosts = &k,
		.nknown_hosts = 1,
		.key = { r->key ? r->key : ukey, r->key ? r->keylen : ulen },
		.data = { r->data, r->datalen },
		.comment_known = true,
	};

	sshp_decide_sign(&in, v);
}

static void bind_to(struct req *r, uint8_t *hk, size_t hkl, const char *sid, bool fwd)
{
	r->binds[r->nbinds++] = (struct sshp_binding){ hk, hkl, (uint8_t *)sid, strlen(sid), fwd };
}

static void userauth(struct req *r, const char *sid, const char *user, const uint8_t *hostkey,
		     size_t hklen)
{
	r->datalen = build_userauth(r->data, sizeof(r->data), sid, user, "ssh-connection",
				    hostkey ? SSHP_METHOD_HOSTBOUND : SSHP_METHOD_PUBLICKEY, 1,
				    ukey, ulen, hostkey, hklen);
}

static void test_sshsig(void)
{
	struct req r = { 0 };
	struct sshp_verdict v;

	r.datalen = build_sshsig(r.data, sizeof(r.data), "SSHSIG", "git");
	decide(&r, &v);
	ok(v.kind == SSHP_ALLOW && !strcmp(v.ns, "git"), "SSHSIG with an allowed namespace");
	r.datalen = build_sshsig(r.data, sizeof(r.data), "SSHSIG", "file");
	decide(&r, &v);
	ok(v.kind == SSHP_DENY && strstr(v.reason, "namespace"), "another namespace is denied");
	r.key = okey;
	r.keylen = olen;
	r.datalen = build_sshsig(r.data, sizeof(r.data), "SSHSIG", "git");
	decide(&r, &v);
	ok(v.kind == SSHP_DENY && strstr(v.reason, "not given"), "a key not given is denied");
	r = (struct req){ 0 };
	memcpy(r.data, "raw challenge bytes", 19);
	r.datalen = 19;
	decide(&r, &v);
	ok(v.kind == SSHP_DENY && strstr(v.reason, "neither"), "unrecognised data is denied");
}

static void test_userauth(void)
{
	struct req r = { 0 };
	struct sshp_verdict v;

	userauth(&r, "sid1", "git", NULL, 0);
	decide(&r, &v);
	ok(v.kind == SSHP_DENY && strstr(v.reason, "not bound"),
	   "unbound connection: destination cannot be checked");
	bind_to(&r, hkey, hlen, "sid1", false);
	decide(&r, &v);
	ok(v.kind == SSHP_ALLOW && !strcmp(v.host, "github.com") && !strcmp(v.user, "git"),
	   "bound to github.com's key: git@github.com allowed");
	userauth(&r, "sid1", "root", NULL, 0);
	decide(&r, &v);
	ok(v.kind == SSHP_DENY && strstr(v.reason, "root@github.com"), "root@github.com is not");
	userauth(&r, "sid2", "git", NULL, 0);
	decide(&r, &v);
	ok(v.kind == SSHP_DENY && strstr(v.reason, "session identifier"),
	   "a session id other than the bound one is denied");
	userauth(&r, "sid1", "git", hkey, hlen);
	decide(&r, &v);
	ok(v.kind == SSHP_ALLOW, "hostbound request naming the bound host key");
	userauth(&r, "sid1", "git", hkey2, h2len);
	decide(&r, &v);
	ok(v.kind == SSHP_DENY && strstr(v.reason, "host key"),
	   "hostbound request naming another host key is denied");

	r.nbinds = 0;
	bind_to(&r, hkey2, h2len, "sid1", false);
	userauth(&r, "sid1", "git", NULL, 0);
	decide(&r, &v);
	ok(v.kind == SSHP_ALLOW && !strcmp(v.host, "jump.example.org"),
	   "*@jump.example.org allows any user there");

	r.nbinds = 0;
	bind_to(&r, okey, olen, "sid1", false);
	decide(&r, &v);
	ok(v.kind == SSHP_DENY && strstr(v.reason, "SHA256:"),
	   "a host key missing from known_hosts matches nothing (named by fingerprint)");

	r.datalen = build_userauth(r.data, sizeof(r.data), "sid1", "git", "ssh-connection",
				   "publickey", 1, okey, olen, NULL, 0);
	decide(&r, &v);
	ok(v.kind == SSHP_DENY && strstr(v.reason, "another key"),
	   "a userauth request for another key than the signing key");
}

static void test_forwarding(void)
{
	struct req r = { 0 };
	struct sshp_verdict v;

	bind_to(&r, hkey2, h2len, "hop1", true);
	bind_to(&r, hkey, hlen, "sid1", false);
	userauth(&r, "sid1", "git", NULL, 0);
	decide(&r, &v);
	ok(v.kind == SSHP_ALLOW, "forwarded through an allowed host to an allowed destination");

	r = (struct req){ 0 };
	bind_to(&r, okey, olen, "hop1", true);
	bind_to(&r, hkey, hlen, "sid1", false);
	userauth(&r, "sid1", "git", NULL, 0);
	decide(&r, &v);
	ok(v.kind == SSHP_DENY && strstr(v.reason, "forwarded"),
	   "forwarded through an unknown host is denied");

	r = (struct req){ 0 };
	bind_to(&r, hkey, hlen, "sid1", true);
	userauth(&r, "sid1", "git", NULL, 0);
	decide(&r, &v);
	ok(v.kind == SSHP_DENY && strstr(v.reason, "forwarding"),
	   "signing on a connection whose last binding is for forwarding");
}

static void test_any_destination_and_comments(void)
{
	struct sshp_policy p;
	char text[256], err[256];
	struct req r = { 0 };
	struct sshp_verdict v;
	struct sshp_blob c = { (const uint8_t *)"laptop", 6 };
	struct sshp_kh_text k = { kh, strlen(kh) };
	struct sshp_decide_in in = {
		.policy = &p, .known_hosts = &k, .nknown_hosts = 1, .key = { ukey, ulen }
	};

	snprintf(text, sizeof(text), "{\"keys\":[{\"key\":\"laptop\",\"namespaces\":[]}]}");
	ok(!sshp_policy_parse(text, strlen(text), "t.json", &p, err, sizeof(err)), "policy");
	userauth(&r, "sid", "anyone", NULL, 0);
	in.data = (struct sshp_blob){ r.data, r.datalen };
	sshp_decide_sign(&in, &v);
	ok(v.kind == SSHP_NEED_COMMENT, "a comment rule needs the key's comment first");
	in.comment_known = true;
	in.comment = &c;
	sshp_decide_sign(&in, &v);
	ok(v.kind == SSHP_ALLOW, "no destinations listed: any server, even unbound");
	r.datalen = build_sshsig(r.data, sizeof(r.data), "SSHSIG", "git");
	in.data = (struct sshp_blob){ r.data, r.datalen };
	sshp_decide_sign(&in, &v);
	ok(v.kind == SSHP_DENY, "namespaces [] allows no SSHSIG signature");
	in.comment = NULL;
	sshp_decide_sign(&in, &v);
	ok(v.kind == SSHP_DENY && strstr(v.reason, "not given"),
	   "a key the upstream does not hold matches no comment rule");
	sshp_policy_free(&p);
}

int main(void)
{
	setup();
	test_sshsig();
	test_userauth();
	test_forwarding();
	test_any_destination_and_comments();
	sshp_policy_free(&pol);
	return tap_done();
}
