/* SPDX-License-Identifier: MIT */
#include "agent_msg.h"

#include <errno.h>
#include <string.h>

static int read_blob(struct lbx_reader *r, size_t max, struct sshp_blob *b)
{
	return lbx_read_blob(r, LBX_LEN_U32BE, max, &b->p, &b->n);
}

/* RFC 4251 section 5: a boolean is one byte; we accept only 0 and 1. */
static int read_bool(struct lbx_reader *r, bool *v)
{
	uint8_t b;
	int err = lbx_read_u8(r, &b);

	if (err)
		return err;
	if (b > 1)
		return -EBADMSG;
	*v = b;
	return 0;
}

/* RFC 9987 "Private key operations": string key, string data, uint32 flags. */
static int decode_sign(struct lbx_reader *r, struct sshp_request *req)
{
	int err = read_blob(r, SSHP_KEYBLOB_MAX, &req->key);

	if (!err)
		err = read_blob(r, SSHP_MSG_MAX, &req->data);
	if (!err)
		err = lbx_read_u32be(r, &req->flags);
	if (!err)
		err = lbx_read_end(r);
	if (!err && req->key.n == 0)
		err = -EBADMSG;
	return err;
}

/* PROTOCOL.agent section 1: hostkey, session id, signature, is_forwarding. */
static int decode_bind(struct lbx_reader *r, struct sshp_bind_msg *b)
{
	int err = read_blob(r, SSHP_KEYBLOB_MAX, &b->hostkey);

	if (!err)
		err = read_blob(r, SSHP_SID_MAX, &b->sid);
	if (!err)
		err = read_blob(r, SSHP_KEYBLOB_MAX, &b->sig);
	if (!err)
		err = read_bool(r, &b->forwarding);
	if (!err)
		err = lbx_read_end(r);
	if (!err && (b->hostkey.n == 0 || b->sid.n == 0 || b->sig.n == 0))
		err = -EBADMSG;
	return err;
}

/* RFC 9987 "Extension mechanism": string extension type, then its contents. */
static int decode_extension(struct lbx_reader *r, struct sshp_request *req)
{
	int err = lbx_read_string(r, LBX_LEN_U32BE, req->ext_name, sizeof(req->ext_name));

	if (err)
		return err;
	if (strcmp(req->ext_name, SSHP_EXT_SESSION_BIND) != 0) {
		req->kind = SSHP_REQ_EXTENSION;
		req->what = "extension";
		return 0;
	}
	req->kind = SSHP_REQ_SESSION_BIND;
	req->what = "session-bind";
	return decode_bind(r, &req->bind);
}

struct req_class {
	uint8_t type;
	enum sshp_req_kind kind;
	const char *what;
};

static const struct req_class refused[] = {
	{ SSH_AGENTC_ADD_IDENTITY, SSHP_REQ_KEY_ADMIN, "add identity" },
	{ SSH_AGENTC_ADD_ID_CONSTRAINED, SSHP_REQ_KEY_ADMIN, "add constrained identity" },
	{ SSH_AGENTC_REMOVE_IDENTITY, SSHP_REQ_KEY_ADMIN, "remove identity" },
	{ SSH_AGENTC_REMOVE_ALL_IDENTITIES, SSHP_REQ_KEY_ADMIN, "remove all identities" },
	{ SSH_AGENTC_ADD_SMARTCARD_KEY, SSHP_REQ_KEY_ADMIN, "add smartcard key" },
	{ SSH_AGENTC_ADD_SMARTCARD_KEY_CONSTRAINED, SSHP_REQ_KEY_ADMIN,
	  "add constrained smartcard key" },
	{ SSH_AGENTC_REMOVE_SMARTCARD_KEY, SSHP_REQ_KEY_ADMIN, "remove smartcard key" },
	{ SSH_AGENTC_LOCK, SSHP_REQ_KEY_ADMIN, "lock" },
	{ SSH_AGENTC_UNLOCK, SSHP_REQ_KEY_ADMIN, "unlock" },
	{ SSH1_AGENTC_REQUEST_RSA_IDENTITIES, SSHP_REQ_SSH1, "SSH-1 request identities" },
	{ SSH1_AGENTC_RSA_CHALLENGE, SSHP_REQ_SSH1, "SSH-1 RSA challenge" },
	{ SSH1_AGENTC_ADD_RSA_IDENTITY, SSHP_REQ_SSH1, "SSH-1 add identity" },
	{ SSH1_AGENTC_REMOVE_RSA_IDENTITY, SSHP_REQ_SSH1, "SSH-1 remove identity" },
	{ SSH1_AGENTC_REMOVE_ALL_RSA_IDENTITIES, SSHP_REQ_SSH1, "SSH-1 remove all identities" },
	{ SSH1_AGENTC_ADD_RSA_ID_CONSTRAINED, SSHP_REQ_SSH1, "SSH-1 add constrained identity" },
};

int sshp_msg_decode_request(const uint8_t *body, size_t len, struct sshp_request *req)
{
	struct lbx_reader r;
	int err;

	memset(req, 0, sizeof(*req));
	lbx_reader_init(&r, body, len);
	err = lbx_read_u8(&r, &req->type);
	if (err)
		return err;
	switch (req->type) {
	case SSH_AGENTC_REQUEST_IDENTITIES:
		req->kind = SSHP_REQ_IDENTITIES;
		req->what = "request identities";
		return lbx_read_end(&r);
	case SSH_AGENTC_SIGN_REQUEST:
		req->kind = SSHP_REQ_SIGN;
		req->what = "sign";
		return decode_sign(&r, req);
	case SSH_AGENTC_EXTENSION: return decode_extension(&r, req);
	}
	for (size_t i = 0; i < LBX_ARRAY_SIZE(refused); i++) {
		if (refused[i].type == req->type) {
			req->kind = refused[i].kind;
			req->what = refused[i].what;
			return 0;
		}
	}
	req->kind = SSHP_REQ_UNKNOWN;
	req->what = "unknown request";
	return 0;
}

int sshp_msg_decode_identities(const uint8_t *body, size_t len, sshp_identity_fn fn, void *ctx)
{
	struct sshp_blob key, comment;
	struct lbx_reader r;
	uint32_t nkeys;
	uint8_t type;
	int err;

	lbx_reader_init(&r, body, len);
	err = lbx_read_u8(&r, &type);
	if (err)
		return err;
	if (type == SSH_AGENT_FAILURE)
		return lbx_read_end(&r) ? -EBADMSG : 1;
	if (type != SSH_AGENT_IDENTITIES_ANSWER)
		return -EBADMSG;
	err = lbx_read_u32be(&r, &nkeys);
	/* Each key takes at least 8 bytes, so a bogus count fails on length. */
	for (uint32_t i = 0; !err && i < nkeys; i++) {
		err = read_blob(&r, SSHP_KEYBLOB_MAX, &key);
		if (!err)
			err = read_blob(&r, SSHP_MSG_MAX, &comment);
		if (!err && key.n == 0)
			err = -EBADMSG;
		if (!err)
			err = fn(ctx, &key, &comment);
	}
	return err ? err : lbx_read_end(&r);
}

static int check_sign_response(struct lbx_reader *r)
{
	struct sshp_blob sig;
	int err = read_blob(r, SSHP_MSG_MAX, &sig);

	return err ? err : lbx_read_end(r);
}

int sshp_msg_check_reply(uint8_t request_type, const uint8_t *body, size_t len)
{
	struct lbx_reader r;
	uint8_t type;
	int err;

	lbx_reader_init(&r, body, len);
	err = lbx_read_u8(&r, &type);
	if (err)
		return err;
	if (type == SSH_AGENT_FAILURE)
		return lbx_read_end(&r);
	if (request_type == SSH_AGENTC_SIGN_REQUEST)
		return type == SSH_AGENT_SIGN_RESPONSE ? check_sign_response(&r) : -EBADMSG;
	if (request_type == SSH_AGENTC_EXTENSION) {
		if (type == SSH_AGENT_SUCCESS || type == SSH_AGENT_EXTENSION_FAILURE ||
		    type == SSH_AGENT_EXTENSION_RESPONSE)
			return 0;
	}
	return -EBADMSG;
}

int sshp_msg_write_status(struct lbx_writer *w, uint8_t type)
{
	int err = lbx_write_u32be(w, 1);

	return err ? err : lbx_write_u8(w, type);
}

int sshp_msg_ids_begin(struct sshp_ids_builder *b, struct lbx_writer *w)
{
	int err;

	b->w = w;
	b->count = 0;
	err = lbx_write_reserve(w, 4, &b->start);
	if (!err)
		err = lbx_write_u8(w, SSH_AGENT_IDENTITIES_ANSWER);
	if (!err)
		err = lbx_write_reserve(w, 4, &b->count_off);
	return err;
}

int sshp_msg_ids_add(struct sshp_ids_builder *b, const struct sshp_blob *key,
		     const struct sshp_blob *comment)
{
	int err = lbx_write_blob(b->w, LBX_LEN_U32BE, key->p, key->n);

	if (!err)
		err = lbx_write_blob(b->w, LBX_LEN_U32BE, comment->p, comment->n);
	if (!err)
		b->count++;
	return err;
}

int sshp_msg_ids_finish(struct sshp_ids_builder *b)
{
	size_t body = lbx_writer_len(b->w) - b->start - 4;
	int err = lbx_write_patch_u32be(b->w, b->count_off, b->count);

	if (!err)
		err = lbx_write_patch_u32be(b->w, b->start, (uint32_t)body);
	return err;
}

int sshp_msg_write_sign_request(struct lbx_writer *w, const struct sshp_blob *key,
				const struct sshp_blob *data, uint32_t flags)
{
	size_t start;
	int err = lbx_write_reserve(w, 4, &start);

	if (!err)
		err = lbx_write_u8(w, SSH_AGENTC_SIGN_REQUEST);
	if (!err)
		err = lbx_write_blob(w, LBX_LEN_U32BE, key->p, key->n);
	if (!err)
		err = lbx_write_blob(w, LBX_LEN_U32BE, data->p, data->n);
	if (!err)
		err = lbx_write_u32be(w, flags);
	if (!err)
		err = lbx_write_patch_u32be(w, start, (uint32_t)(lbx_writer_len(w) - start - 4));
	return err;
}
