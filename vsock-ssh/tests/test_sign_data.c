/* SPDX-License-Identifier: MIT */
/* Decoding what a SIGN_REQUEST signs: userauth requests and SSHSIG blobs. */
#include <string.h>

#include "builders.h"
#include "sign_data.h"
#include "tap.h"

static const uint8_t pk[32] = "user-key-user-key-user-key-user";
static const uint8_t hpk[32] = "host-key-host-key-host-key-host";

static void test_userauth(void)
{
	uint8_t key[64], hk[64], buf[512];
	size_t kl = build_ed25519_key(key, sizeof(key), pk);
	size_t hl = build_ed25519_key(hk, sizeof(hk), hpk);
	struct sshp_sigdata sd;
	size_t n;

	n = build_userauth(buf, sizeof(buf), "session-id", "git", "ssh-connection", "publickey", 1,
			   key, kl, NULL, 0);
	sshp_sigdata_decode(buf, n, &sd);
	ok(sd.kind == SSHP_SIGDATA_USERAUTH && !strcmp(sd.auth.user, "git") && !sd.auth.hostbound &&
	       sd.auth.sid.n == 10 && sd.auth.key.n == kl && !memcmp(sd.auth.key.p, key, kl) &&
	       !strcmp(sd.auth.alg, "ssh-ed25519"),
	   "publickey userauth request: user, session id, key");

	n = build_userauth(buf, sizeof(buf), "sid", "root", "ssh-connection",
			   "publickey-hostbound-v00@openssh.com", 1, key, kl, hk, hl);
	sshp_sigdata_decode(buf, n, &sd);
	ok(sd.kind == SSHP_SIGDATA_USERAUTH && sd.auth.hostbound && sd.auth.hostkey.n == hl &&
	       !memcmp(sd.auth.hostkey.p, hk, hl),
	   "hostbound request carries the server host key");

	n = build_userauth(buf, sizeof(buf), "sid", "root", "ssh-connection",
			   "publickey-hostbound-v00@openssh.com", 1, key, kl, NULL, 0);
	sshp_sigdata_decode(buf, n, &sd);
	ok(sd.kind == SSHP_SIGDATA_OTHER, "hostbound without a host key is not userauth");

	n = build_userauth(buf, sizeof(buf), "sid", "root", "ssh-userauth", "publickey", 1, key, kl,
			   NULL, 0);
	sshp_sigdata_decode(buf, n, &sd);
	ok(sd.kind == SSHP_SIGDATA_OTHER, "another service is not userauth");

	n = build_userauth(buf, sizeof(buf), "sid", "root", "ssh-connection", "password", 1, key,
			   kl, NULL, 0);
	sshp_sigdata_decode(buf, n, &sd);
	ok(sd.kind == SSHP_SIGDATA_OTHER, "another method is not userauth");

	n = build_userauth(buf, sizeof(buf), "sid", "root", "ssh-connection", "publickey", 0, key,
			   kl, NULL, 0);
	sshp_sigdata_decode(buf, n, &sd);
	ok(sd.kind == SSHP_SIGDATA_OTHER, "a query without signature flag is not signed data");

	n = build_userauth(buf, sizeof(buf), "sid", "ro ot", "ssh-connection", "publickey", 1, key,
			   kl, NULL, 0);
	sshp_sigdata_decode(buf, n, &sd);
	ok(sd.kind == SSHP_SIGDATA_OTHER, "a user name with a space is refused");

	n = build_userauth(buf, sizeof(buf), "sid", "root", "ssh-connection", "publickey", 1, key,
			   kl, NULL, 0);
	buf[n] = 0;
	sshp_sigdata_decode(buf, n + 1, &sd);
	ok(sd.kind == SSHP_SIGDATA_OTHER, "trailing bytes make it unrecognised");
	sshp_sigdata_decode(buf, n - 1, &sd);
	ok(sd.kind == SSHP_SIGDATA_OTHER, "a truncated request is unrecognised");
}

static void test_sshsig(void)
{
	uint8_t buf[256];
	struct sshp_sigdata sd;
	size_t n = build_sshsig(buf, sizeof(buf), "SSHSIG", "git");

	sshp_sigdata_decode(buf, n, &sd);
	ok(sd.kind == SSHP_SIGDATA_SSHSIG && !strcmp(sd.sig.ns, "git") &&
	       !strcmp(sd.sig.hash_alg, "sha512"),
	   "SSHSIG blob: namespace and hash");
	n = build_sshsig(buf, sizeof(buf), "SSHSIH", "git");
	sshp_sigdata_decode(buf, n, &sd);
	ok(sd.kind == SSHP_SIGDATA_OTHER, "wrong magic is unrecognised");
	n = build_sshsig(buf, sizeof(buf), "SSHSIG", "");
	sshp_sigdata_decode(buf, n, &sd);
	ok(sd.kind == SSHP_SIGDATA_OTHER, "an empty namespace is refused");
	n = build_sshsig(buf, sizeof(buf), "SSHSIG", "file");
	sshp_sigdata_decode(buf, n - 1, &sd);
	ok(sd.kind == SSHP_SIGDATA_OTHER, "a truncated SSHSIG blob is unrecognised");
	sshp_sigdata_decode((const uint8_t *)"", 0, &sd);
	ok(sd.kind == SSHP_SIGDATA_OTHER, "empty data is unrecognised");
}

int main(void)
{
	test_userauth();
	test_sshsig();
	return tap_done();
}
