/* SPDX-License-Identifier: MIT */
#include "sig_verify.h"

#include <errno.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <string.h>

#include "agent_proto.h"
#include "reader.h"

struct pubkey {
	char type[SSHP_NAME_MAX];
	EVP_PKEY *pkey;
	const EVP_MD *md; /* ECDSA: fixed by the curve (RFC 5656 section 6.2.1) */
	int rsa_bytes;
};

struct curve {
	const char *keytype;
	const char *id;
	const char *ossl_group;
	const EVP_MD *(*md)(void);
};

static const struct curve curves[] = {
	{ "ecdsa-sha2-nistp256", "nistp256", "prime256v1", EVP_sha256 },
	{ "ecdsa-sha2-nistp384", "nistp384", "secp384r1", EVP_sha384 },
	{ "ecdsa-sha2-nistp521", "nistp521", "secp521r1", EVP_sha512 },
};

static int read_str(struct lbx_reader *r, size_t max, const uint8_t **p, size_t *n)
{
	return lbx_read_blob(r, LBX_LEN_U32BE, max, p, n);
}

/* RFC 4251 section 5 mpint; only non-negative values are meaningful here. */
static int read_mpint(struct lbx_reader *r, BIGNUM **bn)
{
	const uint8_t *p;
	size_t n;
	int err = read_str(r, 2048, &p, &n);

	if (err)
		return err;
	if (n > 0 && (p[0] & 0x80))
		return -EBADMSG;
	*bn = BN_bin2bn(p, (int)n, NULL);
	return *bn ? 0 : -ENOMEM;
}

static int from_params(const char *alg, OSSL_PARAM *params, EVP_PKEY **pkey)
{
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, alg, NULL);
	int ok = ctx && EVP_PKEY_fromdata_init(ctx) > 0 &&
		 EVP_PKEY_fromdata(ctx, pkey, EVP_PKEY_PUBLIC_KEY, params) > 0;

	EVP_PKEY_CTX_free(ctx);
	return ok ? 0 : -EBADMSG;
}

static int parse_ed25519(struct lbx_reader *r, struct pubkey *k)
{
	const uint8_t *pk;
	size_t n;
	int err = read_str(r, 64, &pk, &n);

	if (err)
		return err;
	if (n != 32)
		return -EBADMSG;
	k->pkey = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, pk, n);
	return k->pkey ? 0 : -EBADMSG;
}

static int parse_ecdsa(struct lbx_reader *r, const struct curve *c, struct pubkey *k)
{
	char id[32];
	const uint8_t *q;
	size_t qn;
	OSSL_PARAM params[3];
	int err = lbx_read_string(r, LBX_LEN_U32BE, id, sizeof(id));

	if (!err)
		err = read_str(r, 256, &q, &qn);
	if (err)
		return err;
	if (strcmp(id, c->id) != 0)
		return -EBADMSG;
	params[0] =
	    OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, (char *)c->ossl_group, 0);
	params[1] = OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, (void *)q, qn);
	params[2] = OSSL_PARAM_construct_end();
	k->md = c->md();
	return from_params("EC", params, &k->pkey);
}

static int rsa_from_bn(BIGNUM *e, BIGNUM *n, EVP_PKEY **pkey)
{
	OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
	OSSL_PARAM *params = NULL;
	int err = -ENOMEM;

	if (bld && OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n) &&
	    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, e))
		params = OSSL_PARAM_BLD_to_param(bld);
	if (params)
		err = from_params("RSA", params, pkey);
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	return err;
}

/* RFC 4253 section 6.6: mpint e, mpint n. OpenSSH's bounds on the modulus. */
static int parse_rsa(struct lbx_reader *r, struct pubkey *k)
{
	BIGNUM *e = NULL, *n = NULL;
	int err = read_mpint(r, &e);

	if (!err)
		err = read_mpint(r, &n);
	if (!err && (BN_num_bits(n) < 1024 || BN_num_bits(n) > 16384 || BN_is_zero(e)))
		err = -EBADMSG;
	if (!err) {
		k->rsa_bytes = BN_num_bytes(n);
		err = rsa_from_bn(e, n, &k->pkey);
	}
	BN_free(e);
	BN_free(n);
	return err;
}

static int parse_key(const uint8_t *blob, size_t len, struct pubkey *k)
{
	struct lbx_reader r;
	int err;

	memset(k, 0, sizeof(*k));
	lbx_reader_init(&r, blob, len);
	err = lbx_read_string(&r, LBX_LEN_U32BE, k->type, sizeof(k->type));
	if (err)
		return err;
	if (!strcmp(k->type, "ssh-ed25519")) {
		err = parse_ed25519(&r, k);
	} else if (!strcmp(k->type, "ssh-rsa")) {
		err = parse_rsa(&r, k);
	} else {
		err = -ENOTSUP;
		for (size_t i = 0; i < LBX_ARRAY_SIZE(curves); i++)
			if (!strcmp(k->type, curves[i].keytype))
				err = parse_ecdsa(&r, &curves[i], k);
	}
	if (!err && lbx_read_end(&r))
		err = -EBADMSG;
	return err;
}

static int digest_verify(EVP_PKEY *pkey, const EVP_MD *md, const uint8_t *sig, size_t siglen,
			 const uint8_t *data, size_t datalen)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	int rc = -ENOMEM;

	if (ctx && EVP_DigestVerifyInit(ctx, NULL, md, NULL, pkey) > 0)
		rc = EVP_DigestVerify(ctx, sig, siglen, data, datalen) == 1 ? 0 : -EPERM;
	EVP_MD_CTX_free(ctx);
	return rc;
}

/* RFC 5656 section 3.1.2: the signature blob holds mpint r, mpint s. */
static int verify_ecdsa(const struct pubkey *k, const uint8_t *p, size_t n, const uint8_t *data,
			size_t datalen)
{
	struct lbx_reader r;
	BIGNUM *br = NULL, *bs = NULL;
	ECDSA_SIG *esig = ECDSA_SIG_new();
	unsigned char *der = NULL;
	int derlen, err;

	lbx_reader_init(&r, p, n);
	err = esig ? read_mpint(&r, &br) : -ENOMEM;
	if (!err)
		err = read_mpint(&r, &bs);
	if (!err)
		err = lbx_read_end(&r);
	if (!err && !ECDSA_SIG_set0(esig, br, bs))
		err = -ENOMEM;
	if (err) {
		BN_free(br);
		BN_free(bs);
		ECDSA_SIG_free(esig);
		return err;
	}
	derlen = i2d_ECDSA_SIG(esig, &der);
	err = derlen > 0 ? digest_verify(k->pkey, k->md, der, (size_t)derlen, data, datalen)
			 : -ENOMEM;
	OPENSSL_free(der);
	ECDSA_SIG_free(esig);
	return err;
}

/* RFC 8332 section 3: a shorter signature is left-padded to the modulus size. */
static int verify_rsa(const struct pubkey *k, const EVP_MD *md, const uint8_t *p, size_t n,
		      const uint8_t *data, size_t datalen)
{
	uint8_t padded[2048];
	size_t len = (size_t)k->rsa_bytes;

	if (n > len || len > sizeof(padded))
		return -EBADMSG;
	memset(padded, 0, len - n);
	memcpy(padded + len - n, p, n);
	return digest_verify(k->pkey, md, padded, len, data, datalen);
}

static int verify_with(const struct pubkey *k, const char *sigtype, const uint8_t *p, size_t n,
		       const uint8_t *data, size_t datalen)
{
	if (!strcmp(k->type, "ssh-ed25519")) {
		if (strcmp(sigtype, "ssh-ed25519") || n != 64)
			return -EBADMSG;
		return digest_verify(k->pkey, NULL, p, n, data, datalen);
	}
	if (!strcmp(k->type, "ssh-rsa")) {
		if (!strcmp(sigtype, "rsa-sha2-256"))
			return verify_rsa(k, EVP_sha256(), p, n, data, datalen);
		if (!strcmp(sigtype, "rsa-sha2-512"))
			return verify_rsa(k, EVP_sha512(), p, n, data, datalen);
		return -EBADMSG;
	}
	if (strcmp(sigtype, k->type) != 0)
		return -EBADMSG;
	return verify_ecdsa(k, p, n, data, datalen);
}

int sshp_sig_verify(const uint8_t *key, size_t keylen, const uint8_t *sig, size_t siglen,
		    const uint8_t *data, size_t datalen)
{
	char sigtype[SSHP_NAME_MAX];
	struct pubkey k;
	struct lbx_reader r;
	const uint8_t *p;
	size_t n;
	int err = parse_key(key, keylen, &k);

	lbx_reader_init(&r, sig, siglen);
	if (!err)
		err = lbx_read_string(&r, LBX_LEN_U32BE, sigtype, sizeof(sigtype));
	if (!err)
		err = read_str(&r, 4096, &p, &n);
	if (!err)
		err = lbx_read_end(&r);
	if (!err)
		err = verify_with(&k, sigtype, p, n, data, datalen);
	EVP_PKEY_free(k.pkey);
	/* Callers only need: verified, forged, unsupported, or malformed. */
	return err < 0 && err != -EPERM && err != -ENOTSUP && err != -ENOMEM ? -EBADMSG : err;
}
