/* SPDX-License-Identifier: MIT */
/*
 * Host key signature verification (session-bind): keys made and signatures
 * made here with libcrypto, encoded in SSH wire format, then verified,
 * tampered with and mislabelled.
 */
#include <errno.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <string.h>

#include "builders.h"
#include "sig_verify.h"
#include "tap.h"

static const uint8_t sid[32] = "exchange-hash-exchange-hash-exc";

struct wire {
	uint8_t key[2048];
	size_t keylen;
	uint8_t sig[2048];
	size_t siglen;
};

static int put_mpint(struct lbx_writer *w, const BIGNUM *bn)
{
	uint8_t buf[1024] = { 0 };
	int n = BN_bn2bin(bn, buf + 1);

	/* RFC 4251 section 5: a leading zero keeps a high bit from meaning "negative". */
	return (buf[1] & 0x80) ? put_blob(w, buf, (size_t)n + 1) : put_blob(w, buf + 1, (size_t)n);
}

static size_t raw_sign(EVP_PKEY *k, const EVP_MD *md, uint8_t *out, size_t cap)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	size_t n = cap;

	if (EVP_DigestSignInit(ctx, NULL, md, NULL, k) <= 0 ||
	    EVP_DigestSign(ctx, out, &n, sid, sizeof(sid)) <= 0)
		n = 0;
	EVP_MD_CTX_free(ctx);
	return n;
}

static void wrap_sig(struct wire *x, const char *alg, const uint8_t *p, size_t n)
{
	struct lbx_writer w;
	int err;

	lbx_writer_init_fixed(&w, x->sig, sizeof(x->sig));
	err = put_str(&w, alg);
	err = err ?: put_blob(&w, p, n);
	x->siglen = err ? 0 : lbx_writer_len(&w);
}

static void make_ed25519(struct wire *x)
{
	EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	uint8_t pk[32], sig[64];
	size_t pklen = sizeof(pk), n;

	EVP_PKEY_get_raw_public_key(k, pk, &pklen);
	x->keylen = build_ed25519_key(x->key, sizeof(x->key), pk);
	n = raw_sign(k, NULL, sig, sizeof(sig));
	wrap_sig(x, "ssh-ed25519", sig, n);
	EVP_PKEY_free(k);
}

static void make_ecdsa(struct wire *x)
{
	EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	uint8_t q[256], der[256], inner[256];
	size_t qlen = 0, n = raw_sign(k, EVP_sha256(), der, sizeof(der));
	const unsigned char *p = der;
	ECDSA_SIG *es = d2i_ECDSA_SIG(NULL, &p, (long)n);
	struct lbx_writer w;
	int err;

	EVP_PKEY_get_octet_string_param(k, OSSL_PKEY_PARAM_PUB_KEY, q, sizeof(q), &qlen);
	lbx_writer_init_fixed(&w, x->key, sizeof(x->key));
	err = put_str(&w, "ecdsa-sha2-nistp256");
	err = err ?: put_str(&w, "nistp256");
	err = err ?: put_blob(&w, q, qlen);
	x->keylen = err ? 0 : lbx_writer_len(&w);
	lbx_writer_init_fixed(&w, inner, sizeof(inner));
	err = put_mpint(&w, ECDSA_SIG_get0_r(es));
	err = err ?: put_mpint(&w, ECDSA_SIG_get0_s(es));
	wrap_sig(x, "ecdsa-sha2-nistp256", inner, err ? 0 : lbx_writer_len(&w));
	ECDSA_SIG_free(es);
	EVP_PKEY_free(k);
}

static EVP_PKEY *make_rsa(struct wire *x)
{
	EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	BIGNUM *n = NULL, *e = NULL;
	struct lbx_writer w;
	uint8_t sig[512];
	size_t len;
	int err;

	EVP_PKEY_get_bn_param(k, OSSL_PKEY_PARAM_RSA_N, &n);
	EVP_PKEY_get_bn_param(k, OSSL_PKEY_PARAM_RSA_E, &e);
	lbx_writer_init_fixed(&w, x->key, sizeof(x->key));
	err = put_str(&w, "ssh-rsa");
	err = err ?: put_mpint(&w, e);
	err = err ?: put_mpint(&w, n);
	x->keylen = err ? 0 : lbx_writer_len(&w);
	len = raw_sign(k, EVP_sha512(), sig, sizeof(sig));
	wrap_sig(x, "rsa-sha2-512", sig, len);
	BN_free(n);
	BN_free(e);
	return k;
}

static int verify(const struct wire *x)
{
	return sshp_sig_verify(x->key, x->keylen, x->sig, x->siglen, sid, sizeof(sid));
}

static void check_type(struct wire *x, const char *name)
{
	static const uint8_t other[32] = "another-exchange-hash-another-e";

	is_int(verify(x), 0, "%s: a real signature verifies", name);
	is_int(sshp_sig_verify(x->key, x->keylen, x->sig, x->siglen, other, sizeof(other)), -EPERM,
	       "%s: over other data it does not", name);
	x->sig[x->siglen - 1] ^= 1;
	is_int(verify(x), -EPERM, "%s: a flipped signature bit is caught", name);
	x->sig[x->siglen - 1] ^= 1;
	is_int(sshp_sig_verify(x->key, x->keylen - 1, x->sig, x->siglen, sid, sizeof(sid)),
	       -EBADMSG, "%s: a truncated key is malformed", name);
	is_int(sshp_sig_verify(x->key, x->keylen, x->sig, x->siglen - 1, sid, sizeof(sid)),
	       -EBADMSG, "%s: a truncated signature is malformed", name);
}

int main(void)
{
	struct wire x;
	EVP_PKEY *rsa;
	uint8_t sig[512];
	size_t n;

	make_ed25519(&x);
	check_type(&x, "ssh-ed25519");
	memcpy(x.sig + 4, "ssh-ed25518", 11);
	is_int(verify(&x), -EBADMSG, "ssh-ed25519: a mislabelled signature is refused");

	make_ecdsa(&x);
	check_type(&x, "ecdsa-sha2-nistp256");
	memcpy(x.key + 4 + 19 + 4, "nistp384", 8);
	is_int(verify(&x), -EBADMSG, "ecdsa: a key whose curve id disagrees is refused");

	rsa = make_rsa(&x);
	check_type(&x, "ssh-rsa/rsa-sha2-512");
	n = raw_sign(rsa, EVP_sha256(), sig, sizeof(sig));
	wrap_sig(&x, "rsa-sha2-256", sig, n);
	is_int(verify(&x), 0, "ssh-rsa: rsa-sha2-256 signatures verify too");
	n = raw_sign(rsa, EVP_sha1(), sig, sizeof(sig));
	wrap_sig(&x, "ssh-rsa", sig, n);
	is_int(verify(&x), -EBADMSG, "ssh-rsa: SHA-1 signatures are refused");
	EVP_PKEY_free(rsa);

	x.keylen = 0;
	{
		struct lbx_writer w;

		lbx_writer_init_fixed(&w, x.key, sizeof(x.key));
		if (!put_str(&w, "ssh-dss"))
			x.keylen = lbx_writer_len(&w);
	}
	is_int(verify(&x), -ENOTSUP, "an unsupported key type is reported as such");
	return tap_done();
}
