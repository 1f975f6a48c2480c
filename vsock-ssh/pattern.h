/* SPDX-License-Identifier: MIT */
/*
 * Destination patterns of the box policy: "user@host", with '*' and '?'
 * wildcards in either part (as ssh_config(5) PATTERNS), a bare "host"
 * meaning any user, and "[host]:port" to name one port (known_hosts
 * notation, sshd(8) SSH_KNOWN_HOSTS FILE FORMAT). Host names compare
 * case-insensitively, user names exactly.
 */
#ifndef SSHP_PATTERN_H
#define SSHP_PATTERN_H

#include <stdbool.h>

#include "agent_proto.h"
#include "compiler.h"

struct sshp_dest {
	char user[SSHP_NAME_MAX];
	char host[SSHP_NAME_MAX];
	unsigned port; /* 0: any port */
};

/* Does s match pat ('*' any run, '?' one character)? */
bool sshp_glob(const char *pat, const char *s, bool icase);
/* Parse a destination pattern; -EINVAL if empty, malformed or not printable. */
LBX_MUST_CHECK int sshp_dest_parse(const char *s, struct sshp_dest *d);
bool sshp_dest_host_is_literal(const struct sshp_dest *d);
bool sshp_dest_match_user(const struct sshp_dest *d, const char *user);
/*
 * Does the pattern's host part match a known host name at port (22 when
 * the known_hosts entry has no port)?
 */
bool sshp_dest_match_host(const struct sshp_dest *d, const char *host, unsigned port);

#endif
