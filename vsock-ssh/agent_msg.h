/* SPDX-License-Identifier: MIT */
/*
 * Decoding and encoding of SSH agent messages (RFC 9987, "Protocol
 * Messages"; OpenSSH PROTOCOL.agent for session-bind@openssh.com).
 *
 * A message body is what follows the uint32 length: the type byte and the
 * contents. Every decoder reads through common/reader.h and returns 0 or a
 * negative errno (-EBADMSG, -ENODATA, -EMSGSIZE) for malformed input, on
 * which the proxy closes the connection. Decoded blobs point into the body.
 */
#ifndef SSHP_AGENT_MSG_H
#define SSHP_AGENT_MSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "agent_proto.h"
#include "compiler.h"
#include "reader.h"
#include "writer.h"

struct sshp_blob {
	const uint8_t *p;
	size_t n;
};

enum sshp_req_kind {
	SSHP_REQ_IDENTITIES,   /* REQUEST_IDENTITIES */
	SSHP_REQ_SIGN,	       /* SIGN_REQUEST */
	SSHP_REQ_SESSION_BIND, /* EXTENSION session-bind@openssh.com */
	SSHP_REQ_EXTENSION,    /* any other extension: refused */
	SSHP_REQ_KEY_ADMIN,    /* add/remove keys, smartcards, lock/unlock: refused */
	SSHP_REQ_SSH1,	       /* SSH protocol 1: refused */
	SSHP_REQ_UNKNOWN,      /* unassigned type: refused */
};

struct sshp_bind_msg {
	struct sshp_blob hostkey;
	struct sshp_blob sid;
	struct sshp_blob sig;
	bool forwarding;
};

struct sshp_request {
	uint8_t type;
	enum sshp_req_kind kind;
	const char *what; /* short name for logs, e.g. "remove all identities" */
	/* SSHP_REQ_SIGN */
	struct sshp_blob key;
	struct sshp_blob data;
	uint32_t flags;
	/* SSHP_REQ_SESSION_BIND and SSHP_REQ_EXTENSION */
	char ext_name[SSHP_NAME_MAX];
	struct sshp_bind_msg bind;
};

/*
 * Decode a client request. Requests we refuse are classified but their
 * contents are not parsed (they are never forwarded).
 */
LBX_MUST_CHECK int sshp_msg_decode_request(const uint8_t *body, size_t len,
					   struct sshp_request *req);

/* Called for each key of an IDENTITIES_ANSWER; a non-zero return stops. */
typedef int (*sshp_identity_fn)(void *ctx, const struct sshp_blob *key,
				const struct sshp_blob *comment);
/*
 * Decode an upstream IDENTITIES_ANSWER, calling fn per key. Returns 0,
 * 1 if the upstream answered SSH_AGENT_FAILURE, or -errno if malformed
 * (the callback may already have seen some keys then).
 */
LBX_MUST_CHECK int sshp_msg_decode_identities(const uint8_t *body, size_t len, sshp_identity_fn fn,
					      void *ctx);
/*
 * Check an upstream reply to a request of the given type: SIGN_REQUEST
 * expects SIGN_RESPONSE (one signature string) or FAILURE; EXTENSION
 * expects SUCCESS, FAILURE, EXTENSION_FAILURE or EXTENSION_RESPONSE.
 */
LBX_MUST_CHECK int sshp_msg_check_reply(uint8_t request_type, const uint8_t *body, size_t len);

/* A whole message (length prefix included) of one byte: FAILURE or SUCCESS. */
LBX_MUST_CHECK int sshp_msg_write_status(struct lbx_writer *w, uint8_t type);

/* Build an IDENTITIES_ANSWER: begin, add per key, finish. */
struct sshp_ids_builder {
	struct lbx_writer *w;
	size_t start;
	size_t count_off;
	uint32_t count;
};
LBX_MUST_CHECK int sshp_msg_ids_begin(struct sshp_ids_builder *b, struct lbx_writer *w);
LBX_MUST_CHECK int sshp_msg_ids_add(struct sshp_ids_builder *b, const struct sshp_blob *key,
				    const struct sshp_blob *comment);
LBX_MUST_CHECK int sshp_msg_ids_finish(struct sshp_ids_builder *b);

/* Encode a request (tests, benchmark): SIGN_REQUEST for key over data. */
LBX_MUST_CHECK int sshp_msg_write_sign_request(struct lbx_writer *w, const struct sshp_blob *key,
					       const struct sshp_blob *data, uint32_t flags);

#endif
