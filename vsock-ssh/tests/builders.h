/* SPDX-License-Identifier: MIT */
/* Builders of SSH wire structures for the unit tests (written with writer.h). */
#ifndef SSHP_TEST_BUILDERS_H
#define SSHP_TEST_BUILDERS_H

#include <string.h>

#include "agent_proto.h"
#include "writer.h"

static inline int put_str(struct lbx_writer *w, const char *s)
{
	return lbx_write_blob(w, LBX_LEN_U32BE, s, strlen(s));
}

static inline int put_blob(struct lbx_writer *w, const void *p, size_t n)
{
	return lbx_write_blob(w, LBX_LEN_U32BE, p, n);
}

/* RFC 4252 section 7 signed data; hostkey NULL for plain "publickey". */
static inline size_t build_userauth(uint8_t *buf, size_t cap, const char *sid, const char *user,
				    const char *service, const char *method, uint8_t has_sig,
				    const void *key, size_t keylen, const void *hostkey,
				    size_t hklen)
{
	struct lbx_writer w;
	int err;

	lbx_writer_init_fixed(&w, buf, cap);
	err = put_str(&w, sid);
	err = err ?: lbx_write_u8(&w, SSH2_MSG_USERAUTH_REQUEST);
	err = err ?: put_str(&w, user);
	err = err ?: put_str(&w, service);
	err = err ?: put_str(&w, method);
	err = err ?: lbx_write_u8(&w, has_sig);
	err = err ?: put_str(&w, "ssh-ed25519");
	err = err ?: put_blob(&w, key, keylen);
	if (hostkey)
		err = err ?: put_blob(&w, hostkey, hklen);
	return err ? 0 : lbx_writer_len(&w);
}

/* PROTOCOL.sshsig signed data. */
static inline size_t build_sshsig(uint8_t *buf, size_t cap, const char *magic, const char *ns)
{
	struct lbx_writer w;
	int err;

	lbx_writer_init_fixed(&w, buf, cap);
	err = lbx_write_bytes(&w, magic, 6);
	err = err ?: put_str(&w, ns);
	err = err ?: put_str(&w, "");
	err = err ?: put_str(&w, "sha512");
	err =
	    err
		?: put_blob(&w, "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
			    64);
	return err ? 0 : lbx_writer_len(&w);
}

/* An ed25519 public key blob (RFC 8709) with the given 32 bytes. */
static inline size_t build_ed25519_key(uint8_t *buf, size_t cap, const uint8_t pk[32])
{
	struct lbx_writer w;
	int err;

	lbx_writer_init_fixed(&w, buf, cap);
	err = put_str(&w, "ssh-ed25519");
	err = err ?: put_blob(&w, pk, 32);
	return err ? 0 : lbx_writer_len(&w);
}

#endif
