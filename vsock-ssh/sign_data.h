/* SPDX-License-Identifier: MIT */
/*
 * What a SIGN_REQUEST asks the key to sign. Two forms are recognised; the
 * proxy refuses anything else, because a signature over unknown bytes can
 * be replayed for any purpose.
 *
 * - An SSH user authentication request (RFC 4252 section 7), with method
 *   "publickey" or OpenSSH's "publickey-hostbound-v00@openssh.com"
 *   (PROTOCOL section 2.5), which appends the server's host key.
 * - An SSHSIG blob (OpenSSH PROTOCOL.sshsig), as `ssh-keygen -Y sign` and
 *   git make; its namespace says what the signature is for.
 */
#ifndef SSHP_SIGN_DATA_H
#define SSHP_SIGN_DATA_H

#include "agent_msg.h"

enum sshp_sigdata_kind {
	SSHP_SIGDATA_OTHER,
	SSHP_SIGDATA_USERAUTH,
	SSHP_SIGDATA_SSHSIG,
};

struct sshp_userauth {
	struct sshp_blob sid;
	char user[SSHP_NAME_MAX];
	bool hostbound;
	char alg[SSHP_NAME_MAX];
	struct sshp_blob key;
	struct sshp_blob hostkey; /* hostbound only */
};

struct sshp_sshsig {
	char ns[SSHP_NAME_MAX];
	char hash_alg[SSHP_NAME_MAX];
};

struct sshp_sigdata {
	enum sshp_sigdata_kind kind;
	struct sshp_userauth auth;
	struct sshp_sshsig sig;
};

/* Classify and decode data; never fails, kind OTHER if neither form fits. */
void sshp_sigdata_decode(const uint8_t *data, size_t len, struct sshp_sigdata *out);

#endif
