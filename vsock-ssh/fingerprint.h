/* SPDX-License-Identifier: MIT */
/*
 * Key fingerprints as OpenSSH prints them ("SHA256:" and the unpadded
 * base64 of the SHA-256 of the public key blob, ssh-keygen -l), and the
 * base64 coding that known_hosts uses. SHA-256 and base64 come from
 * libcrypto.
 */
#ifndef SSHP_FINGERPRINT_H
#define SSHP_FINGERPRINT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "compiler.h"

/* "SHA256:" + 43 characters + NUL. */
#define SSHP_FP_LEN 51

void sshp_fp_sha256(const uint8_t *blob, size_t len, char out[SSHP_FP_LEN]);
/* Is s a well-formed "SHA256:<43 base64 characters>"? */
bool sshp_fp_valid(const char *s);
/*
 * Decode standard base64 (padding optional) of n characters into dst.
 * Returns the decoded length, or -EBADMSG / -EMSGSIZE.
 */
LBX_MUST_CHECK long sshp_b64_decode(const char *s, size_t n, uint8_t *dst, size_t dstsz);

#endif
