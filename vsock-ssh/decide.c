/* SPDX-License-Identifier: MIT */
#include "decide.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "known_hosts.h"

static void deny(struct sshp_verdict *v, const char *fmt, ...) LBX_PRINTF(2, 3);

static void deny(struct sshp_verdict *v, const char *fmt, ...)
{
	va_list ap;

	v->kind = SSHP_DENY;
	va_start(ap, fmt);
	vsnprintf(v->reason, sizeof(v->reason), fmt, ap);
	va_end(ap);
}

static bool blob_eq(const uint8_t *a, size_t an, const uint8_t *b, size_t bn)
{
	return an == bn && memcmp(a, b, an) == 0;
}

/* Is hostkey listed in some known_hosts under a name d matches? */
static bool host_allowed(const struct sshp_decide_in *in, const struct sshp_dest *d,
			 const uint8_t *hostkey, size_t len, char *name, size_t namesz)
{
	for (size_t i = 0; i < in->nknown_hosts; i++)
		if (sshp_kh_match(in->known_hosts[i].text, in->known_hosts[i].len, hostkey, len, d,
				  name, namesz))
			return true;
	return false;
}

static void describe_host(const struct sshp_decide_in *in, const struct sshp_binding *b,
			  struct sshp_verdict *v)
{
	sshp_fp_sha256(b->hostkey, b->hostkey_len, v->hostkey_fp);
	for (size_t i = 0; i < in->nknown_hosts && !v->host[0]; i++)
		if (!sshp_kh_first_name(in->known_hosts[i].text, in->known_hosts[i].len, b->hostkey,
					b->hostkey_len, v->host, sizeof(v->host)))
			v->host[0] = '\0';
}

/* A forwarding hop must be a host some destination pattern names. */
static bool hop_allowed(const struct sshp_decide_in *in, const struct sshp_key_rule *r,
			const struct sshp_binding *b)
{
	for (size_t i = 0; i < r->ndests; i++)
		if (host_allowed(in, &r->dests[i], b->hostkey, b->hostkey_len, NULL, 0))
			return true;
	return false;
}

static void check_destination(const struct sshp_decide_in *in, const struct sshp_key_rule *r,
			      const struct sshp_binding *last, struct sshp_verdict *v)
{
	for (size_t i = 0; i + 1 < in->nbinds; i++) {
		if (!hop_allowed(in, r, &in->binds[i])) {
			deny(v, "agent forwarded through a host not in destinations");
			return;
		}
	}
	for (size_t i = 0; i < r->ndests; i++) {
		if (sshp_dest_match_user(&r->dests[i], v->user) &&
		    host_allowed(in, &r->dests[i], last->hostkey, last->hostkey_len, v->host,
				 sizeof(v->host))) {
			v->kind = SSHP_ALLOW;
			return;
		}
	}
	deny(v, "%s@%s is not in destinations", v->user, v->host[0] ? v->host : v->hostkey_fp);
}

static void decide_userauth(const struct sshp_decide_in *in, const struct sshp_userauth *a,
			    struct sshp_verdict *v)
{
	const struct sshp_binding *last = in->nbinds ? &in->binds[in->nbinds - 1] : NULL;

	snprintf(v->user, sizeof(v->user), "%s", a->user);
	if (!blob_eq(a->key.p, a->key.n, in->key.p, in->key.n)) {
		deny(v, "user authentication request names another key");
		return;
	}
	if (last) {
		describe_host(in, last, v);
		if (!blob_eq(a->sid.p, a->sid.n, last->sid, last->sid_len)) {
			deny(v, "session identifier is not the one bound last");
			return;
		}
		if (last->forwarding) {
			deny(v, "last session binding is for forwarding, not authentication");
			return;
		}
		if (a->hostbound &&
		    !blob_eq(a->hostkey.p, a->hostkey.n, last->hostkey, last->hostkey_len)) {
			deny(v, "hostbound request names another host key than bound");
			return;
		}
	}
	snprintf(v->purpose, sizeof(v->purpose), "log in as %s to %s", v->user,
		 v->host[0]	    ? v->host
		 : v->hostkey_fp[0] ? v->hostkey_fp
				    : "an unknown server");
	if (v->rule->any_destination) {
		v->kind = SSHP_ALLOW;
		return;
	}
	if (!last) {
		deny(v, "connection is not bound to a server (no session-bind)");
		return;
	}
	check_destination(in, v->rule, last, v);
}

static void decide_sshsig(const struct sshp_sshsig *s, struct sshp_verdict *v)
{
	snprintf(v->ns, sizeof(v->ns), "%s", s->ns);
	snprintf(v->purpose, sizeof(v->purpose), "sign data with namespace \"%s\"", s->ns);
	if (!sshp_rule_allows_namespace(v->rule, s->ns)) {
		deny(v, "namespace \"%s\" is not allowed", s->ns);
		return;
	}
	v->kind = SSHP_ALLOW;
}

void sshp_decide_sign(const struct sshp_decide_in *in, struct sshp_verdict *v)
{
	struct sshp_sigdata sd;

	memset(v, 0, sizeof(*v));
	sshp_fp_sha256(in->key.p, in->key.n, v->fp);
	if (!in->comment_known && sshp_policy_by_comment(in->policy)) {
		v->kind = SSHP_NEED_COMMENT;
		return;
	}
	v->rule = sshp_policy_find(in->policy, v->fp, in->comment);
	if (!v->rule) {
		deny(v, "key is not given to this box");
		return;
	}
	sshp_sigdata_decode(in->data.p, in->data.n, &sd);
	v->data_kind = sd.kind;
	if (sd.kind == SSHP_SIGDATA_USERAUTH) {
		decide_userauth(in, &sd.auth, v);
	} else if (sd.kind == SSHP_SIGDATA_SSHSIG) {
		decide_sshsig(&sd.sig, v);
	} else {
		snprintf(v->purpose, sizeof(v->purpose), "sign unrecognised data");
		deny(v, "data is neither an SSH user authentication request nor an SSHSIG blob");
	}
}
