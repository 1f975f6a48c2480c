/* SPDX-License-Identifier: MIT */
/* known_hosts parsing and matching: plain, lists, ports, hashed, markers. */
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <string.h>

#include "builders.h"
#include "known_hosts.h"
#include "tap.h"

static uint8_t key[64], other[64];
static size_t keylen, otherlen;
static char key64[128], other64[128];

static void b64(const uint8_t *p, size_t n, char *out)
{
	EVP_EncodeBlock((unsigned char *)out, p, (int)n);
}

static bool match(const char *text, const char *pattern, char *name, size_t namesz)
{
	struct sshp_dest d;

	if (sshp_dest_parse(pattern, &d))
		return false;
	return sshp_kh_match(text, strlen(text), key, keylen, &d, name, namesz);
}

static void test_plain(void)
{
	char text[1024], name[256] = "";

	snprintf(text, sizeof(text),
		 "# comment line\n\n"
		 "github.com,140.82.121.4 ssh-ed25519 %s\n"
		 "[gitlab.example.org]:2222 ssh-ed25519 %s comment here\n"
		 "decoy.example.org ssh-ed25519 %s\n",
		 key64, key64, other64);
	ok(match(text, "git@github.com", name, sizeof(name)) && !strcmp(name, "github.com"),
	   "first name of a list matches, and is reported");
	ok(match(text, "git@140.82.121.4", name, sizeof(name)) && !strcmp(name, "140.82.121.4"),
	   "second name of a list matches");
	ok(match(text, "*@*.example.org", name, sizeof(name)) &&
	       !strcmp(name, "[gitlab.example.org]:2222"),
	   "wildcard host matches a [host]:port entry at any port");
	ok(match(text, "git@[gitlab.example.org]:2222", NULL, 0), "explicit port matches");
	ok(!match(text, "git@[gitlab.example.org]:22", NULL, 0), "another port does not");
	ok(!match(text, "git@decoy.example.org", NULL, 0),
	   "a name listed for another key does not match this key");
	ok(!match(text, "git@gitlab.com", NULL, 0), "unlisted host");
	ok(sshp_kh_first_name(text, strlen(text), key, keylen, name, sizeof(name)) &&
	       !strcmp(name, "github.com"),
	   "first plain name for the audit log");
}

static void test_markers(void)
{
	char text[1024];

	snprintf(text, sizeof(text), "@cert-authority *.example.org ssh-ed25519 %s\n", key64);
	ok(!match(text, "*@*.example.org", NULL, 0), "@cert-authority lines are not host keys");
	snprintf(text, sizeof(text), "host.example.org ssh-ed25519 %s\n@revoked * ssh-ed25519 %s\n",
		 key64, key64);
	ok(!match(text, "*@host.example.org", NULL, 0), "@revoked vetoes the key");
	snprintf(text, sizeof(text), "!host.example.org,other.org ssh-ed25519 %s\n", key64);
	ok(!match(text, "*@host.example.org", NULL, 0), "a negated name never grants");
	ok(match(text, "*@other.org", NULL, 0), "the other name of that line still does");
	snprintf(text, sizeof(text),
		 "host.example.org ssh-ed25519 !!notbase64!!\n"
		 "host.example.org ssh-ed25519\n"
		 "@bogus host.example.org ssh-ed25519 %s\n",
		 key64);
	ok(!match(text, "*@host.example.org", NULL, 0), "junk lines are skipped");
	snprintf(text, sizeof(text), "junk\nhost.example.org\tssh-ed25519\t%s", key64);
	ok(match(text, "*@host.example.org", NULL, 0), "tabs and a last line without newline");
}

static void hashed_line(const char *host, char *out, size_t outsz)
{
	static const uint8_t salt[20] = "0123456789abcdefghij";
	uint8_t md[20];
	unsigned int mdlen = 0;
	char s64[64], h64[64];

	HMAC(EVP_sha1(), salt, sizeof(salt), (const unsigned char *)host, strlen(host), md, &mdlen);
	b64(salt, sizeof(salt), s64);
	b64(md, sizeof(md), h64);
	snprintf(out, outsz, "|1|%s|%s ssh-ed25519 %s\n", s64, h64, key64);
}

static void test_hashed(void)
{
	char text[1024], name[256] = "";

	hashed_line("github.com", text, sizeof(text));
	ok(match(text, "git@github.com", name, sizeof(name)) && !strcmp(name, "github.com"),
	   "hashed entry matches a literal host");
	ok(match(text, "git@GitHub.COM", NULL, 0),
	   "hashed names are compared lower-cased, as ssh hashes them");
	ok(!match(text, "git@*.com", NULL, 0), "a wildcard cannot match a hashed entry");
	ok(!match(text, "git@gitlab.com", NULL, 0), "another host does not match");
	hashed_line("[127.0.0.1]:2222", text, sizeof(text));
	ok(match(text, "root@[127.0.0.1]:2222", NULL, 0), "hashed [host]:port with that port");
	ok(!match(text, "root@127.0.0.1", NULL, 0),
	   "hashed [host]:port needs the port in the pattern");
	snprintf(text, sizeof(text), "|1|bad|bad ssh-ed25519 %s\n|2|x|y ssh-ed25519 %s\n", key64,
		 key64);
	ok(!match(text, "git@github.com", NULL, 0), "malformed hashes are skipped");
}

int main(void)
{
	static const uint8_t pk[32] = "known-host-key-known-host-key-k", pk2[32] = "x";

	keylen = build_ed25519_key(key, sizeof(key), pk);
	otherlen = build_ed25519_key(other, sizeof(other), pk2);
	b64(key, keylen, key64);
	b64(other, otherlen, other64);
	test_plain();
	test_markers();
	test_hashed();
	return tap_done();
}
