/* SPDX-License-Identifier: MIT */
/*
 * The audit log: one JSON object per line for every decision the proxy
 * takes (keys listed, signature allowed or denied and why, session
 * binding, refused request, connection closed for a malformed message).
 * Strings that came from the box or the upstream agent are escaped
 * (control and non-ASCII bytes as \xNN) before they are written.
 */
#ifndef SSHP_AUDIT_H
#define SSHP_AUDIT_H

#include "compiler.h"

struct sshp_audit {
	int fd; /* -1: no audit log */
	char box[64];
};

struct sshp_audit_event {
	unsigned conn;
	const char *event;    /* "identities", "sign", "session-bind", "refused", "close" */
	const char *decision; /* "allow", "deny", "close" */
	const char *reason;
	const char *request;
	const char *key; /* fingerprint */
	const char *comment;
	const char *user;
	const char *host;
	const char *hostkey;
	const char *ns;
	int given; /* identities: keys shown, or -1 */
	int held;  /* identities: keys the upstream holds, or -1 */
};

/* path "-" is stdout; NULL disables. */
LBX_MUST_CHECK int sshp_audit_open(struct sshp_audit *a, const char *path, const char *box);
void sshp_audit_close(struct sshp_audit *a);
void sshp_audit_log(struct sshp_audit *a, const struct sshp_audit_event *e);
/* An event with every optional field unset. */
struct sshp_audit_event sshp_audit_event(unsigned conn, const char *event, const char *decision);

#endif
