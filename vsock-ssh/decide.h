/* SPDX-License-Identifier: MIT */
/*
 * The policy decision for one SIGN_REQUEST, as a pure function of the
 * policy, the connection's session bindings, the known_hosts contents and
 * the request, so every rule is unit-tested without sockets.
 *
 * User authentication follows ssh-agent's checks for destination-
 * constrained keys (PROTOCOL.agent section 1 and ssh-agent.c): the
 * connection must be bound, the request's session identifier must be the
 * last one bound, a hostbound request must name the bound host key, the
 * last binding must be for authentication, and every host the agent was
 * forwarded through, as well as the final user@host, must be allowed.
 */
#ifndef SSHP_DECIDE_H
#define SSHP_DECIDE_H

#include "agent_msg.h"
#include "fingerprint.h"
#include "policy.h"
#include "sign_data.h"

/* One verified session-bind@openssh.com of a connection (owned copies). */
struct sshp_binding {
	uint8_t *hostkey;
	size_t hostkey_len;
	uint8_t *sid;
	size_t sid_len;
	bool forwarding;
};

struct sshp_kh_text {
	const char *text;
	size_t len;
};

struct sshp_decide_in {
	const struct sshp_policy *policy;
	const struct sshp_binding *binds;
	size_t nbinds;
	const struct sshp_kh_text *known_hosts;
	size_t nknown_hosts;
	struct sshp_blob key;
	struct sshp_blob data;
	bool comment_known;		 /* has the upstream's comment been looked up? */
	const struct sshp_blob *comment; /* NULL: the upstream does not hold the key */
};

enum sshp_verdict_kind {
	SSHP_DENY,
	SSHP_ALLOW,
	SSHP_NEED_COMMENT, /* look up the key's comment upstream, then decide again */
};

struct sshp_verdict {
	enum sshp_verdict_kind kind;
	const struct sshp_key_rule *rule;
	char fp[SSHP_FP_LEN];
	enum sshp_sigdata_kind data_kind;
	char user[SSHP_NAME_MAX];
	char host[2 * SSHP_NAME_MAX]; /* known_hosts name, or "" */
	char hostkey_fp[SSHP_FP_LEN];
	char ns[SSHP_NAME_MAX];
	/* What the signature is for, for prompts and the confirm window. */
	char purpose[4 * SSHP_NAME_MAX];
	char reason[160];
};

void sshp_decide_sign(const struct sshp_decide_in *in, struct sshp_verdict *v);

#endif
