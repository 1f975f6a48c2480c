/* SPDX-License-Identifier: MIT */
/*
 * The box's SSH policy: the "ssh" section of a box definition, or a file
 * holding just that object (lbx-ssh-proxy --policy):
 *
 *   { "keys": [ { "key": "SHA256:...",            fingerprint, or a comment
 *                 "destinations": ["git@github.com", "*@*.example.org"],
 *                 "namespaces": ["git"],
 *                 "confirm": true } ],
 *     "rate": "10/min" }
 *
 * A key not listed is invisible and unusable. "destinations" limits SSH
 * logins (absent: any server; []: none), "namespaces" limits SSHSIG
 * signatures (absent: any namespace; []: none). "confirm" asks through
 * SSH_ASKPASS. "rate" limits signatures per key (absent: no limit).
 * Unknown keys and bad values are errors naming the file and JSON path.
 */
#ifndef SSHP_POLICY_H
#define SSHP_POLICY_H

#include <stdbool.h>
#include <stddef.h>

#include "agent_msg.h"
#include "compiler.h"
#include "fingerprint.h"
#include "pattern.h"
#include "rate.h"

struct sshp_key_rule {
	char fp[SSHP_FP_LEN]; /* "" when matched by comment */
	char *comment;	      /* NULL when matched by fingerprint */
	bool any_destination;
	struct sshp_dest *dests;
	size_t ndests;
	bool any_namespace;
	char **namespaces;
	size_t nnamespaces;
	bool confirm;
};

struct sshp_policy {
	struct sshp_key_rule *keys;
	size_t nkeys;
	struct sshp_rate rate;
};

/* Parse policy JSON; on error, err holds "FILE: ssh.PATH: message". */
LBX_MUST_CHECK int sshp_policy_parse(const char *text, size_t len, const char *file,
				     struct sshp_policy *p, char *err, size_t errsz);
LBX_MUST_CHECK int sshp_policy_load(const char *path, struct sshp_policy *p, char *err,
				    size_t errsz);
void sshp_policy_free(struct sshp_policy *p);

/*
 * The first rule for a key with fingerprint fp and (if known) comment;
 * NULL if the box is not given this key.
 */
const struct sshp_key_rule *sshp_policy_find(const struct sshp_policy *p, const char *fp,
					     const struct sshp_blob *comment);
/* Does any rule name its key by comment (so comments must be looked up)? */
bool sshp_policy_by_comment(const struct sshp_policy *p);
bool sshp_rule_allows_namespace(const struct sshp_key_rule *r, const char *ns);
/* Does rule r name its key by comment, and is that comment this one? */
bool sshp_rule_names_comment(const struct sshp_key_rule *r, const struct sshp_blob *comment);

#endif
