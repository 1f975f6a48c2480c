/* SPDX-License-Identifier: MIT */
/*
 * known_hosts lookup (sshd(8), "SSH_KNOWN_HOSTS FILE FORMAT"): which host
 * names does the user's known_hosts give a server host key? The proxy only
 * learns the host key of the server a box talks to (session-bind), so a
 * destination pattern "user@host" is allowed when some known_hosts line
 * lists that exact key under a name the pattern matches.
 *
 * Plain names match the pattern's host part by wildcard; a pattern without
 * a port matches a name at any port. Hashed names (|1|salt|hash, HMAC-SHA1)
 * cannot be listed, only tested: a pattern with a literal host is hashed as
 * "host" (or "[host]:port" when it names a port other than 22) and
 * compared. Lines marked @revoked veto the key; @cert-authority lines are
 * skipped (host certificates are not supported).
 */
#ifndef SSHP_KNOWN_HOSTS_H
#define SSHP_KNOWN_HOSTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "compiler.h"
#include "pattern.h"

/* Largest known_hosts file read. */
#define SSHP_KH_FILE_MAX (16u << 20)

/*
 * Is hostkey listed in text under a name that d matches? If so and name is
 * not NULL, the matching name ("host", "[host]:port", or d's host for a
 * hashed entry) is copied there.
 */
bool sshp_kh_match(const char *text, size_t len, const uint8_t *hostkey, size_t keylen,
		   const struct sshp_dest *d, char *name, size_t namesz);
/* The first plain name text lists for hostkey (for the audit log), or false. */
bool sshp_kh_first_name(const char *text, size_t len, const uint8_t *hostkey, size_t keylen,
			char *name, size_t namesz);

/* Read a whole file (at most SSHP_KH_FILE_MAX bytes); *text is malloc'd. */
LBX_MUST_CHECK int sshp_kh_read_file(const char *path, char **text, size_t *len);

#endif
