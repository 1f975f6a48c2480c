/* SPDX-License-Identifier: MIT */
/*
 * Verify an SSH signature by a public key, both in SSH wire format, with
 * libcrypto. The proxy checks the host key's signature of the session
 * identifier in session-bind@openssh.com (PROTOCOL.agent section 1), as
 * ssh-agent does, so a box cannot claim a binding to a server it is not
 * talking to.
 *
 * Key and signature formats: RFC 8709 (ssh-ed25519), RFC 5656 section 3
 * (ecdsa-sha2-nistp256/384/521), RFC 4253 section 6.6 and RFC 8332
 * (ssh-rsa keys with rsa-sha2-256, rsa-sha2-512 signatures; SHA-1 "ssh-rsa"
 * signatures are refused).
 */
#ifndef SSHP_SIG_VERIFY_H
#define SSHP_SIG_VERIFY_H

#include <stddef.h>
#include <stdint.h>

#include "compiler.h"

/*
 * 0 if sig is a valid signature of data by key; -EBADMSG for malformed
 * key or signature blobs, -ENOTSUP for unsupported key types, -EPERM for a
 * well-formed signature that does not verify.
 */
LBX_MUST_CHECK int sshp_sig_verify(const uint8_t *key, size_t keylen, const uint8_t *sig,
				   size_t siglen, const uint8_t *data, size_t datalen);

#endif
