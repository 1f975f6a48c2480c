/* SPDX-License-Identifier: MIT */
#include "sign_data.h"

#include <errno.h>
#include <string.h>

/* A string that must equal want exactly. */
static int expect_string(struct lbx_reader *r, const char *want)
{
	char got[SSHP_NAME_MAX];
	int err = lbx_read_string(r, LBX_LEN_U32BE, got, sizeof(got));

	if (err)
		return err;
	return strcmp(got, want) ? -EBADMSG : 0;
}

/* Printable ASCII without spaces: what user names and namespaces may hold. */
static bool is_name(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (*s <= ' ' || *s > '~')
			return false;
	return true;
}

static int read_method(struct lbx_reader *r, bool *hostbound)
{
	char method[SSHP_NAME_MAX];
	int err = lbx_read_string(r, LBX_LEN_U32BE, method, sizeof(method));

	if (err)
		return err;
	if (!strcmp(method, SSHP_METHOD_PUBLICKEY))
		*hostbound = false;
	else if (!strcmp(method, SSHP_METHOD_HOSTBOUND))
		*hostbound = true;
	else
		return -EBADMSG;
	return 0;
}

/*
 * RFC 4252 section 7: string session id, byte SSH_MSG_USERAUTH_REQUEST,
 * string user, string "ssh-connection", string method, boolean TRUE,
 * string algorithm, string key blob [, string host key if hostbound].
 */
static int decode_userauth(struct lbx_reader *r, struct sshp_userauth *a)
{
	uint8_t type = 0, has_sig = 0;
	int err = lbx_read_blob(r, LBX_LEN_U32BE, SSHP_SID_MAX, &a->sid.p, &a->sid.n);

	if (!err)
		err = lbx_read_u8(r, &type);
	if (!err && type != SSH2_MSG_USERAUTH_REQUEST)
		err = -EBADMSG;
	if (!err)
		err = lbx_read_string(r, LBX_LEN_U32BE, a->user, sizeof(a->user));
	if (!err)
		err = expect_string(r, "ssh-connection");
	if (!err)
		err = read_method(r, &a->hostbound);
	if (!err)
		err = lbx_read_u8(r, &has_sig);
	if (!err && has_sig != 1)
		err = -EBADMSG;
	if (!err)
		err = lbx_read_string(r, LBX_LEN_U32BE, a->alg, sizeof(a->alg));
	if (!err)
		err = lbx_read_blob(r, LBX_LEN_U32BE, SSHP_KEYBLOB_MAX, &a->key.p, &a->key.n);
	if (!err && a->hostbound)
		err =
		    lbx_read_blob(r, LBX_LEN_U32BE, SSHP_KEYBLOB_MAX, &a->hostkey.p, &a->hostkey.n);
	if (!err)
		err = lbx_read_end(r);
	if (!err && (a->sid.n == 0 || !is_name(a->user) || a->key.n == 0 ||
		     (a->hostbound && a->hostkey.n == 0)))
		err = -EBADMSG;
	return err;
}

/*
 * PROTOCOL.sshsig "Signed Data": byte[6] "SSHSIG", string namespace,
 * string reserved, string hash_algorithm, string H(message).
 */
static int decode_sshsig(struct lbx_reader *r, struct sshp_sshsig *s)
{
	const uint8_t *magic, *p;
	size_t n;
	int err = lbx_read_bytes(r, 6, &magic);

	if (!err && memcmp(magic, SSHP_SSHSIG_MAGIC, 6) != 0)
		err = -EBADMSG;
	if (!err)
		err = lbx_read_string(r, LBX_LEN_U32BE, s->ns, sizeof(s->ns));
	if (!err)
		err = lbx_read_blob(r, LBX_LEN_U32BE, SSHP_MSG_MAX, &p, &n);
	if (!err)
		err = lbx_read_string(r, LBX_LEN_U32BE, s->hash_alg, sizeof(s->hash_alg));
	if (!err)
		err = lbx_read_blob(r, LBX_LEN_U32BE, SSHP_MSG_MAX, &p, &n);
	if (!err)
		err = lbx_read_end(r);
	if (!err && !is_name(s->ns))
		err = -EBADMSG;
	return err;
}

void sshp_sigdata_decode(const uint8_t *data, size_t len, struct sshp_sigdata *out)
{
	struct lbx_reader r;

	memset(out, 0, sizeof(*out));
	lbx_reader_init(&r, data, len);
	if (decode_sshsig(&r, &out->sig) == 0) {
		out->kind = SSHP_SIGDATA_SSHSIG;
		return;
	}
	memset(&out->sig, 0, sizeof(out->sig));
	lbx_reader_init(&r, data, len);
	if (decode_userauth(&r, &out->auth) == 0) {
		out->kind = SSHP_SIGDATA_USERAUTH;
		return;
	}
	memset(&out->auth, 0, sizeof(out->auth));
	out->kind = SSHP_SIGDATA_OTHER;
}
