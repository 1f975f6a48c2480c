/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target: the agent message decoders on hostile bytes — client
 * requests, the signed-data decoder (userauth, SSHSIG), upstream replies,
 * session-bind signature verification — with their invariants checked.
 */
#include <stdlib.h>
#include <string.h>

#include "agent_msg.h"
#include "sig_verify.h"
#include "sign_data.h"

struct rebuild {
	struct sshp_ids_builder b;
	int n;
};

static void must(int cond)
{
	if (!cond)
		abort();
}

static int inside(const struct sshp_blob *b, const uint8_t *data, size_t size)
{
	return b->n == 0 || (b->p >= data && b->n <= size && b->p + b->n <= data + size);
}

static int add_key(void *ctx, const struct sshp_blob *key, const struct sshp_blob *comment)
{
	struct rebuild *r = ctx;

	r->n++;
	return sshp_msg_ids_add(&r->b, key, comment);
}

static void check_sigdata(const uint8_t *data, size_t size)
{
	struct sshp_sigdata sd;

	sshp_sigdata_decode(data, size, &sd);
	if (sd.kind == SSHP_SIGDATA_USERAUTH) {
		must(inside(&sd.auth.sid, data, size) && inside(&sd.auth.key, data, size));
		must(sd.auth.user[0] && strlen(sd.auth.user) < sizeof(sd.auth.user));
		must(!sd.auth.hostbound || sd.auth.hostkey.n > 0);
	} else if (sd.kind == SSHP_SIGDATA_SSHSIG) {
		must(sd.sig.ns[0] != '\0');
	}
}

/* An identities answer that decodes re-encodes to the very same bytes. */
static void check_identities(const uint8_t *data, size_t size)
{
	struct rebuild r = { .n = 0 };
	struct lbx_writer w;
	int rc;

	lbx_writer_init_dynamic(&w, 4 + SSHP_MSG_MAX + 64);
	if (sshp_msg_ids_begin(&r.b, &w) == 0) {
		rc = sshp_msg_decode_identities(data, size, add_key, &r);
		if (rc == 0) {
			must(sshp_msg_ids_finish(&r.b) == 0);
			must(lbx_writer_len(&w) == size + 4 &&
			     !memcmp(lbx_writer_data(&w) + 4, data, size));
		}
	}
	lbx_writer_free(&w);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sshp_request req;

	if (sshp_msg_decode_request(data, size, &req) == 0) {
		if (req.kind == SSHP_REQ_SIGN) {
			must(req.key.n > 0 && inside(&req.key, data, size));
			must(inside(&req.data, data, size));
			check_sigdata(req.data.p, req.data.n);
		} else if (req.kind == SSHP_REQ_SESSION_BIND) {
			must(inside(&req.bind.hostkey, data, size) &&
			     inside(&req.bind.sig, data, size));
			/* Random bytes never make a valid signature. */
			must(sshp_sig_verify(req.bind.hostkey.p, req.bind.hostkey.n, req.bind.sig.p,
					     req.bind.sig.n, req.bind.sid.p, req.bind.sid.n) != 0);
		}
	}
	check_sigdata(data, size);
	check_identities(data, size);
	(void)!sshp_msg_check_reply(SSH_AGENTC_SIGN_REQUEST, data, size);
	(void)!sshp_msg_check_reply(SSH_AGENTC_EXTENSION, data, size);
	return 0;
}
