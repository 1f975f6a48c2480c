/* SPDX-License-Identifier: MIT */
/*
 * One client connection and its own upstream connection.
 *
 * One upstream connection per client connection keeps session-bind
 * meaningful for the upstream agent too (its destination constraints are
 * per connection). The agent protocol is request/response (RFC 9987
 * "Protocol Overview"), so a connection has at most one request in
 * flight: the proxy stops reading a client while it holds a complete
 * request it cannot start yet, and each direction buffers at most one
 * message of at most SSHP_MSG_MAX bytes.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "agent_msg.h"
#include "confirm.h"
#include "known_hosts.h"
#include "log.h"
#include "msgbuf.h"
#include "proxy.h"
#include "sig_verify.h"
#include "unixsock.h"

enum conn_wait {
	WAIT_NONE,
	WAIT_IDENTITIES, /* client's REQUEST_IDENTITIES forwarded */
	WAIT_LOOKUP,	 /* our own REQUEST_IDENTITIES, to learn key comments */
	WAIT_SIGN,
	WAIT_BIND,
	WAIT_CONFIRM, /* askpass running */
};

struct id_entry {
	char fp[SSHP_FP_LEN];
	struct sshp_blob comment; /* owned copy */
};

struct sshp_conn {
	struct sshp_conn *next;
	struct sshp_proxy *px;
	unsigned id;
	int cfd, ufd;
	uint32_t cev, uev;
	struct sshp_inbuf cin, uin;
	struct lbx_writer cout, uout;
	size_t cout_off, uout_off;
	enum conn_wait wait;
	/* The SIGN_REQUEST being decided, copied out of cin. */
	uint8_t *held;
	size_t held_len;
	struct sshp_blob held_key, held_data;
	bool looked_up;
	struct sshp_verdict verdict;
	struct sshp_confirm *confirm;
	struct sshp_binding binds[SSHP_BINDS_MAX];
	size_t nbinds;
	/* Comments of the upstream's keys, from its last IDENTITIES_ANSWER. */
	struct id_entry *ids;
	size_t nids;
	uint64_t last_ms; /* the client's last request or reply: for the idle timeout */
};

/* ---- lifetime ---------------------------------------------------------- */

static void free_ids(struct sshp_conn *c)
{
	for (size_t i = 0; i < c->nids; i++)
		free((void *)c->ids[i].comment.p);
	free(c->ids);
	c->ids = NULL;
	c->nids = 0;
}

static void free_held(struct sshp_conn *c)
{
	free(c->held);
	c->held = NULL;
	c->held_len = 0;
	c->looked_up = false;
}

static void unlink_conn(struct sshp_conn *c)
{
	for (struct sshp_conn **pp = &c->px->conns; *pp; pp = &(*pp)->next) {
		if (*pp == c) {
			*pp = c->next;
			return;
		}
	}
}

static void conn_close(struct sshp_conn *c)
{
	sshp_confirm_cancel(c->confirm);
	lbx_loop_del(c->px->loop, c->cfd);
	lbx_loop_del(c->px->loop, c->ufd);
	close(c->cfd);
	close(c->ufd);
	sshp_inbuf_free(&c->cin);
	sshp_inbuf_free(&c->uin);
	lbx_writer_free(&c->cout);
	lbx_writer_free(&c->uout);
	free_held(c);
	free_ids(c);
	for (size_t i = 0; i < c->nbinds; i++) {
		free(c->binds[i].hostkey);
		free(c->binds[i].sid);
	}
	unlink_conn(c);
	c->px->nconns--;
	lbx_debug("connection %u closed", c->id);
	free(c);
}

void sshp_conn_close_all(struct sshp_proxy *px)
{
	while (px->conns)
		conn_close(px->conns);
}

static void conn_fail(struct sshp_conn *c, const char *why);

/*
 * A client with nothing in flight (no upstream reply or confirmation
 * awaited) that sent nothing for the idle timeout holds a slot for
 * nothing: close it, so idle clients cannot lock the box out of its agent.
 */
void sshp_conn_close_idle(struct sshp_proxy *px, uint64_t now_ms)
{
	uint64_t idle_ms = (uint64_t)px->opt.idle_timeout_s * 1000;
	struct sshp_conn *c = px->conns, *next;
	char why[64];

	if (!idle_ms)
		return;
	snprintf(why, sizeof(why), "idle for %u s (--idle-timeout)", px->opt.idle_timeout_s);
	for (; c; c = next) {
		next = c->next;
		if (c->wait == WAIT_NONE && now_ms - c->last_ms >= idle_ms)
			conn_fail(c, why);
	}
}

/* Close a connection for a protocol error, with an audit line. */
static void conn_fail(struct sshp_conn *c, const char *why)
{
	struct sshp_audit_event e = sshp_audit_event(c->id, "close", "close");

	e.reason = why;
	sshp_audit_log(&c->px->audit, &e);
	lbx_warn("connection %u closed: %s", c->id, why);
	conn_close(c);
}

/* ---- output ------------------------------------------------------------ */

static bool out_pending(const struct lbx_writer *w, size_t off)
{
	return off < lbx_writer_len(w);
}

/* Write what the socket takes: 0 (done or would block) or -errno. */
static int flush(int fd, struct lbx_writer *w, size_t *off)
{
	while (out_pending(w, *off)) {
		ssize_t n = send(fd, lbx_writer_data(w) + *off, lbx_writer_len(w) - *off,
				 MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return errno == EAGAIN ? 0 : -errno;
		*off += (size_t)n;
	}
	lbx_writer_reset(w);
	*off = 0;
	return 0;
}

/* A whole message, length prefix added, to the upstream. */
static int send_upstream(struct sshp_conn *c, const uint8_t *body, size_t len)
{
	int err = lbx_write_u32be(&c->uout, (uint32_t)len);

	return err ? err : lbx_write_bytes(&c->uout, body, len);
}

static int send_client(struct sshp_conn *c, const uint8_t *body, size_t len)
{
	int err = lbx_write_u32be(&c->cout, (uint32_t)len);

	return err ? err : lbx_write_bytes(&c->cout, body, len);
}

static int reply_status(struct sshp_conn *c, uint8_t type)
{
	return sshp_msg_write_status(&c->cout, type);
}

/* ---- requests we answer ourselves -------------------------------------- */

static int refuse(struct sshp_conn *c, const struct sshp_request *req)
{
	struct sshp_audit_event e = sshp_audit_event(c->id, "refused", "deny");
	char why[SSHP_NAME_MAX + 64];

	if (req->kind == SSHP_REQ_EXTENSION)
		snprintf(why, sizeof(why), "extension %s is not supported", req->ext_name);
	else if (req->kind == SSHP_REQ_UNKNOWN)
		snprintf(why, sizeof(why), "unknown message type %u", req->type);
	else if (req->kind == SSHP_REQ_SSH1)
		snprintf(why, sizeof(why), "SSH protocol 1 is not supported");
	else
		snprintf(why, sizeof(why), "a box may not manage the agent's keys or lock it");
	e.request = req->what;
	e.reason = why;
	sshp_audit_log(&c->px->audit, &e);
	lbx_info("connection %u: refused %s: %s", c->id, req->what, why);
	return reply_status(c, SSH_AGENT_FAILURE);
}

/* ---- identities -------------------------------------------------------- */

struct filter_ctx {
	struct sshp_conn *c;
	struct sshp_ids_builder b;
	struct id_entry *ids;
	size_t nids;
	int held;
	int given;
};

static int filter_one(void *ctx, const struct sshp_blob *key, const struct sshp_blob *comment)
{
	struct filter_ctx *f = ctx;
	struct id_entry *e;
	uint8_t *copy = malloc(comment->n ? comment->n : 1);
	struct id_entry *grown = realloc(f->ids, (f->nids + 1) * sizeof(*f->ids));

	if (grown)
		f->ids = grown;
	if (!copy || !grown) {
		free(copy);
		return -ENOMEM;
	}
	e = &f->ids[f->nids++];
	memcpy(copy, comment->p, comment->n);
	e->comment = (struct sshp_blob){ copy, comment->n };
	sshp_fp_sha256(key->p, key->n, e->fp);
	f->held++;
	if (!f->b.w || !sshp_policy_find(&f->c->px->policy, e->fp, comment))
		return 0;
	f->given++;
	return sshp_msg_ids_add(&f->b, key, comment);
}

static void keep_ids(struct sshp_conn *c, struct filter_ctx *f)
{
	free_ids(c);
	c->ids = f->ids;
	c->nids = f->nids;
}

static void drop_ids(struct filter_ctx *f)
{
	for (size_t i = 0; i < f->nids; i++)
		free((void *)f->ids[i].comment.p);
	free(f->ids);
}

/*
 * Decode an upstream IDENTITIES_ANSWER, remember every key's comment, and
 * (build) write the filtered answer to the client. 0, 1 for an upstream
 * FAILURE, or -errno.
 */
static int read_identities(struct sshp_conn *c, const uint8_t *body, size_t len, bool build)
{
	struct filter_ctx f = { .c = c };
	int err = build ? sshp_msg_ids_begin(&f.b, &c->cout) : 0;

	if (!err)
		err = sshp_msg_decode_identities(body, len, filter_one, &f);
	if (!err && build)
		err = sshp_msg_ids_finish(&f.b);
	if (err < 0) {
		drop_ids(&f);
		return err;
	}
	keep_ids(c, &f);
	if (build && err == 0) {
		struct sshp_audit_event e = sshp_audit_event(c->id, "identities", "allow");

		e.given = f.given;
		e.held = f.held;
		sshp_audit_log(&c->px->audit, &e);
	}
	return err;
}

/*
 * How many of the upstream's keys (c->ids, from its last answer) a rule by
 * comment names; their fingerprints are listed in list.
 */
static size_t comment_matches(const struct sshp_conn *c, const struct sshp_key_rule *r, char *list,
			      size_t listsz)
{
	size_t n = 0, pos = 0;

	list[0] = '\0';
	for (size_t i = 0; i < c->nids; i++) {
		if (!sshp_rule_names_comment(r, &c->ids[i].comment))
			continue;
		if (pos < listsz)
			pos += (size_t)snprintf(list + pos, listsz - pos, "%s%s", n ? ", " : "",
						c->ids[i].fp);
		n++;
	}
	return n;
}

/*
 * A rule by comment grants one key: the upstream's only key with that
 * comment. If it holds several, which one the user meant is unknown, so
 * nothing is granted by that rule: why says so. False if none is ambiguous.
 */
static bool comment_ambiguous(const struct sshp_conn *c, const struct sshp_key_rule *only,
			      char *why, size_t whysz)
{
	const struct sshp_policy *p = &c->px->policy;
	char list[4 * SSHP_FP_LEN];

	for (size_t i = 0; i < p->nkeys; i++) {
		const struct sshp_key_rule *r = &p->keys[i];
		size_t n;

		if (!r->comment || (only && r != only))
			continue;
		n = comment_matches(c, r, list, sizeof(list));
		if (n > 1) {
			snprintf(why, whysz,
				 "key rule \"%s\" is ambiguous: the upstream agent holds %zu keys "
				 "with that comment (%s); name the key by its fingerprint",
				 r->comment, n, list);
			return true;
		}
	}
	return false;
}

static int reply_identities(struct sshp_conn *c, const uint8_t *body, size_t len)
{
	int rc = read_identities(c, body, len, true);
	char why[8 * SSHP_FP_LEN];

	if (rc == 1) {
		lbx_writer_reset(&c->cout);
		return reply_status(c, SSH_AGENT_FAILURE);
	}
	if (rc == 0 && comment_ambiguous(c, NULL, why, sizeof(why))) {
		struct sshp_audit_event e = sshp_audit_event(c->id, "identities", "deny");

		lbx_writer_reset(&c->cout); /* the filtered list written so far */
		e.reason = why;
		sshp_audit_log(&c->px->audit, &e);
		lbx_warn("connection %u: refused the key list: %s", c->id, why);
		return reply_status(c, SSH_AGENT_FAILURE);
	}
	return rc;
}

/* ---- signatures -------------------------------------------------------- */

static void audit_sign(struct sshp_conn *c, const char *decision, const char *reason)
{
	const struct sshp_verdict *v = &c->verdict;
	struct sshp_audit_event e = sshp_audit_event(c->id, "sign", decision);
	char comment[SSHP_NAME_MAX] = "";

	for (size_t i = 0; i < c->nids; i++)
		if (!strcmp(c->ids[i].fp, v->fp))
			snprintf(comment, sizeof(comment), "%.*s", (int)c->ids[i].comment.n,
				 (const char *)c->ids[i].comment.p);
	e.key = v->fp;
	e.comment = comment;
	e.user = v->user;
	e.host = v->host;
	e.hostkey = v->hostkey_fp;
	e.ns = v->ns;
	e.reason = reason;
	sshp_audit_log(&c->px->audit, &e);
}

static int sign_deny(struct sshp_conn *c, const char *reason)
{
	audit_sign(c, "deny", reason);
	lbx_info("connection %u: signature with %s denied: %s", c->id, c->verdict.fp, reason);
	free_held(c);
	c->wait = WAIT_NONE;
	return reply_status(c, SSH_AGENT_FAILURE);
}

static int sign_forward(struct sshp_conn *c, const char *reason)
{
	struct sshp_bucket *b = sshp_proxy_bucket(c->px, c->verdict.fp);

	if (!b || !sshp_rate_take(&c->px->policy.rate, b, sshp_now_ms()))
		return sign_deny(c, "rate limit reached");
	audit_sign(c, "allow", reason);
	c->wait = WAIT_SIGN;
	return send_upstream(c, c->held, c->held_len);
}

static void pump(struct sshp_conn *c);

static void on_confirmed(void *ctx, bool allowed, const char *why)
{
	struct sshp_conn *c = ctx;
	int err;

	c->confirm = NULL;
	if (allowed)
		sshp_proxy_window_add(c->px, c->verdict.fp, c->verdict.purpose);
	err = allowed ? sign_forward(c, "confirmed by the user") : sign_deny(c, why);
	if (err)
		conn_fail(c, "out of buffer space");
	else
		pump(c);
}

static int ask_user(struct sshp_conn *c)
{
	const struct sshp_verdict *v = &c->verdict;
	char prompt[2048], esc[2048];
	int err;

	if (!c->px->opt.askpass)
		return sign_deny(c, "confirmation required but no SSH_ASKPASS program is set");
	snprintf(prompt, sizeof(prompt), "lbx box \"%s\" wants to use key %s to %s. Allow?",
		 c->px->audit.box[0] ? c->px->audit.box : "(unnamed)", v->fp, v->purpose);
	lbx_log_escape(esc, sizeof(esc), prompt, strlen(prompt));
	err = sshp_confirm_start(c->px->loop, c->px->opt.askpass, esc, c->px->opt.confirm_timeout_s,
				 on_confirmed, c, &c->confirm);
	if (err) {
		lbx_warn("cannot run %s: %s", c->px->opt.askpass, strerror(-err));
		return sign_deny(c, "confirmation program could not be started");
	}
	c->wait = WAIT_CONFIRM;
	return 0;
}

static const struct sshp_blob *cached_comment(struct sshp_conn *c, const char *fp)
{
	for (size_t i = 0; i < c->nids; i++)
		if (!strcmp(c->ids[i].fp, fp))
			return &c->ids[i].comment;
	return NULL;
}

static int sign_decide(struct sshp_conn *c)
{
	static const uint8_t lookup[] = { SSH_AGENTC_REQUEST_IDENTITIES };
	struct sshp_verdict *v = &c->verdict;
	struct sshp_decide_in in = { .policy = &c->px->policy,
				     .binds = c->binds,
				     .nbinds = c->nbinds,
				     .key = c->held_key,
				     .data = c->held_data };
	char fp[SSHP_FP_LEN];
	struct sshp_bucket *b;

	sshp_fp_sha256(c->held_key.p, c->held_key.n, fp);
	in.comment = cached_comment(c, fp);
	in.comment_known = in.comment || c->looked_up;
	in.known_hosts = sshp_proxy_known_hosts(c->px, &in.nknown_hosts);
	sshp_decide_sign(&in, v);
	if (v->kind == SSHP_NEED_COMMENT) {
		c->looked_up = true;
		c->wait = WAIT_LOOKUP;
		return send_upstream(c, lookup, sizeof(lookup));
	}
	if (v->kind == SSHP_DENY)
		return sign_deny(c, v->reason);
	if (v->rule->comment) {
		char why[8 * SSHP_FP_LEN];

		/* Whether the comment names one key only the upstream's list of now tells. */
		if (!c->looked_up) {
			c->looked_up = true;
			c->wait = WAIT_LOOKUP;
			return send_upstream(c, lookup, sizeof(lookup));
		}
		if (comment_ambiguous(c, v->rule, why, sizeof(why))) {
			lbx_warn("connection %u: %s", c->id, why);
			return sign_deny(c, why);
		}
	}
	b = sshp_proxy_bucket(c->px, v->fp);
	if (!b || !sshp_rate_peek(&c->px->policy.rate, b, sshp_now_ms()))
		return sign_deny(c, "rate limit reached");
	if (v->rule->confirm && !sshp_proxy_window_open(c->px, v->fp, v->purpose))
		return ask_user(c);
	return sign_forward(c, v->rule->confirm ? "confirmed earlier (allow window)" : "policy");
}

static int sign_start(struct sshp_conn *c, const uint8_t *body, size_t len,
		      const struct sshp_request *req)
{
	c->held = malloc(len);
	if (!c->held)
		return -ENOMEM;
	memcpy(c->held, body, len);
	c->held_len = len;
	/* The decoded blobs point into body; rebase them onto the copy. */
	c->held_key = (struct sshp_blob){ c->held + (req->key.p - body), req->key.n };
	c->held_data = (struct sshp_blob){ c->held + (req->data.p - body), req->data.n };
	c->looked_up = false;
	return sign_decide(c);
}

/* ---- session-bind@openssh.com (PROTOCOL.agent section 1) ---------------- */

static bool blob_eq(const uint8_t *a, size_t an, const struct sshp_blob *b)
{
	return an == b->n && memcmp(a, b->p, an) == 0;
}

/* ssh-agent's consistency rules; NULL if the binding may be recorded. */
static const char *bind_refusal(struct sshp_conn *c, const struct sshp_bind_msg *b, bool *dup)
{
	int err =
	    sshp_sig_verify(b->hostkey.p, b->hostkey.n, b->sig.p, b->sig.n, b->sid.p, b->sid.n);

	*dup = false;
	if (err == -ENOTSUP)
		return "unsupported host key type";
	if (err)
		return "host key signature over the session identifier does not verify";
	for (size_t i = 0; i < c->nbinds; i++) {
		if (!blob_eq(c->binds[i].sid, c->binds[i].sid_len, &b->sid))
			continue;
		if (!blob_eq(c->binds[i].hostkey, c->binds[i].hostkey_len, &b->hostkey) ||
		    c->binds[i].forwarding != b->forwarding)
			return "session identifier already bound to another host key";
		*dup = true;
		return NULL;
	}
	if (c->nbinds == SSHP_BINDS_MAX)
		return "too many session bindings on one connection";
	if (c->nbinds && !c->binds[c->nbinds - 1].forwarding)
		return "connection already bound for authentication";
	return NULL;
}

static int record_bind(struct sshp_conn *c, const struct sshp_bind_msg *b)
{
	struct sshp_binding *r = &c->binds[c->nbinds];

	r->hostkey = malloc(b->hostkey.n);
	r->sid = malloc(b->sid.n);
	if (!r->hostkey || !r->sid) {
		free(r->hostkey);
		free(r->sid);
		return -ENOMEM;
	}
	memcpy(r->hostkey, b->hostkey.p, b->hostkey.n);
	memcpy(r->sid, b->sid.p, b->sid.n);
	r->hostkey_len = b->hostkey.n;
	r->sid_len = b->sid.n;
	r->forwarding = b->forwarding;
	c->nbinds++;
	return 0;
}

static void audit_bind(struct sshp_conn *c, const struct sshp_bind_msg *b, const char *decision,
		       const char *reason)
{
	struct sshp_audit_event e = sshp_audit_event(c->id, "session-bind", decision);
	char fp[SSHP_FP_LEN], host[2 * SSHP_NAME_MAX] = "";
	size_t nkh;
	const struct sshp_kh_text *kh = sshp_proxy_known_hosts(c->px, &nkh);

	sshp_fp_sha256(b->hostkey.p, b->hostkey.n, fp);
	for (size_t i = 0; i < nkh && !host[0]; i++)
		if (!sshp_kh_first_name(kh[i].text, kh[i].len, b->hostkey.p, b->hostkey.n, host,
					sizeof(host)))
			host[0] = '\0';
	e.hostkey = fp;
	e.host = host;
	e.request = b->forwarding ? "bind for forwarding" : "bind for authentication";
	e.reason = reason;
	sshp_audit_log(&c->px->audit, &e);
}

static int handle_bind(struct sshp_conn *c, const uint8_t *body, size_t len,
		       const struct sshp_bind_msg *b)
{
	bool dup;
	const char *why = bind_refusal(c, b, &dup);
	int err;

	if (why) {
		audit_bind(c, b, "deny", why);
		return reply_status(c, SSH_AGENT_FAILURE);
	}
	if (!dup) {
		err = record_bind(c, b);
		if (err)
			return err;
	}
	audit_bind(c, b, "allow", dup ? "already bound" : "host key signature verified");
	/* The upstream records it too, for its own per-connection constraints. */
	c->wait = WAIT_BIND;
	return send_upstream(c, body, len);
}

/* ---- dispatch ---------------------------------------------------------- */

/* 0, or -errno: the connection must be closed (malformed or no memory). */
static int handle_request(struct sshp_conn *c, const uint8_t *body, size_t len)
{
	struct sshp_request req;
	int err = sshp_msg_decode_request(body, len, &req);

	if (err)
		return err;
	switch (req.kind) {
	case SSHP_REQ_IDENTITIES: c->wait = WAIT_IDENTITIES; return send_upstream(c, body, len);
	case SSHP_REQ_SIGN: return sign_start(c, body, len, &req);
	case SSHP_REQ_SESSION_BIND: return handle_bind(c, body, len, &req.bind);
	default: return refuse(c, &req);
	}
}

static int handle_reply(struct sshp_conn *c, const uint8_t *body, size_t len)
{
	enum conn_wait w = c->wait;
	int err;

	c->wait = WAIT_NONE;
	switch (w) {
	case WAIT_IDENTITIES: return reply_identities(c, body, len);
	case WAIT_LOOKUP:
		err = read_identities(c, body, len, false);
		return err < 0 ? err : sign_decide(c);
	case WAIT_SIGN:
		err = sshp_msg_check_reply(SSH_AGENTC_SIGN_REQUEST, body, len);
		free_held(c);
		return err ? err : send_client(c, body, len);
	case WAIT_BIND:
		err = sshp_msg_check_reply(SSH_AGENTC_EXTENSION, body, len);
		return err ? err : send_client(c, body, len);
	default: return -EPROTO;
	}
}

/* ---- event handling ---------------------------------------------------- */

static void update_events(struct sshp_conn *c)
{
	uint32_t cev = 0, uev = EPOLLIN;

	/* Hold off reading while a complete request waits its turn. */
	if (!sshp_inbuf_has_message(&c->cin))
		cev |= EPOLLIN;
	if (out_pending(&c->cout, c->cout_off))
		cev |= EPOLLOUT;
	if (out_pending(&c->uout, c->uout_off))
		uev |= EPOLLOUT;
	if (cev != c->cev && lbx_loop_mod(c->px->loop, c->cfd, cev) == 0)
		c->cev = cev;
	if (uev != c->uev && lbx_loop_mod(c->px->loop, c->ufd, uev) == 0)
		c->uev = uev;
}

/* Flush both directions; false if the connection was closed. */
static bool flush_all(struct sshp_conn *c)
{
	int err = flush(c->cfd, &c->cout, &c->cout_off);

	if (!err)
		err = flush(c->ufd, &c->uout, &c->uout_off);
	if (err) {
		lbx_debug("connection %u: write: %s", c->id, strerror(-err));
		conn_close(c);
		return false;
	}
	return true;
}

static const char *request_error(int err)
{
	if (err == -ENOMEM || err == -ENOSPC)
		return "out of memory or buffer space";
	return "malformed request";
}

/* Serve buffered requests while nothing is in flight. */
static void pump(struct sshp_conn *c)
{
	const uint8_t *body;
	size_t len;
	int rc, err;

	if (!flush_all(c))
		return;
	while (c->wait == WAIT_NONE && !out_pending(&c->cout, c->cout_off)) {
		rc = sshp_inbuf_message(&c->cin, &body, &len);
		if (rc < 0) {
			conn_fail(c, "message length is zero or over 256 KiB");
			return;
		}
		if (rc == 0)
			break;
		err = handle_request(c, body, len);
		if (err) {
			conn_fail(c, request_error(err));
			return;
		}
		sshp_inbuf_consume(&c->cin);
		if (!flush_all(c))
			return;
	}
	update_events(c);
}

static void on_client(struct lbx_loop *loop, int fd, uint32_t events, void *data)
{
	struct sshp_conn *c = data;
	ssize_t n = 0;

	c->last_ms = sshp_now_ms();
	if (events & (EPOLLHUP | EPOLLERR)) {
		conn_close(c); /* nobody left to answer */
		return;
	}
	if (events & EPOLLIN) {
		n = sshp_inbuf_read(&c->cin, fd);
		if (n == 0 || (n < 0 && n != -EAGAIN && n != -ENOSPC && n != -EINTR)) {
			conn_close(c);
			return;
		}
	}
	pump(c);
}

static void take_reply(struct sshp_conn *c)
{
	const uint8_t *body;
	size_t len;
	int rc = sshp_inbuf_message(&c->uin, &body, &len), err;

	if (rc < 0) {
		conn_fail(c, "upstream agent sent a message over 256 KiB");
		return;
	}
	if (rc == 0) {
		pump(c);
		return;
	}
	if (c->wait == WAIT_NONE || c->wait == WAIT_CONFIRM) {
		conn_fail(c, "upstream agent sent an unexpected message");
		return;
	}
	err = handle_reply(c, body, len);
	if (err) {
		conn_fail(c, err == -ENOMEM || err == -ENOSPC ? "out of memory"
							      : "malformed upstream reply");
		return;
	}
	sshp_inbuf_consume(&c->uin);
	c->last_ms = sshp_now_ms();
	pump(c);
}

static void on_upstream(struct lbx_loop *loop, int fd, uint32_t events, void *data)
{
	struct sshp_conn *c = data;
	ssize_t n;

	if (events & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
		n = sshp_inbuf_read(&c->uin, fd);
		if (n == 0) {
			conn_fail(c, "upstream agent closed the connection");
			return;
		}
		if (n < 0 && n != -EAGAIN && n != -ENOSPC && n != -EINTR) {
			conn_fail(c, "upstream agent connection failed");
			return;
		}
	}
	take_reply(c);
}

/* ---- start ------------------------------------------------------------- */


static int watch(struct sshp_conn *c)
{
	int err = lbx_loop_add(c->px->loop, c->cfd, EPOLLIN, on_client, c);

	if (err)
		return err;
	err = lbx_loop_add(c->px->loop, c->ufd, EPOLLIN, on_upstream, c);
	if (err)
		lbx_loop_del(c->px->loop, c->cfd);
	return err;
}

void sshp_conn_start(struct sshp_proxy *px, int cfd)
{
	struct sshp_conn *c = calloc(1, sizeof(*c));
	int ufd = lbx_unix_connect(px->opt.upstream_path, LBX_UNIX_NONBLOCK), err;

	if (ufd < 0 || !c) {
		lbx_warn("%s: cannot connect to the upstream agent: %s", px->opt.upstream_path,
			 strerror(ufd < 0 ? -ufd : ENOMEM));
		if (ufd >= 0)
			close(ufd);
		free(c);
		close(cfd);
		return;
	}
	*c = (struct sshp_conn){ .px = px,
				 .id = ++px->next_conn,
				 .cfd = cfd,
				 .ufd = ufd,
				 .cev = EPOLLIN,
				 .uev = EPOLLIN,
				 .last_ms = sshp_now_ms() };
	sshp_inbuf_init(&c->cin, SSHP_MSG_MAX);
	sshp_inbuf_init(&c->uin, SSHP_MSG_MAX);
	lbx_writer_init_dynamic(&c->cout, 4 + SSHP_MSG_MAX);
	lbx_writer_init_dynamic(&c->uout, 4 + SSHP_MSG_MAX);
	err = watch(c);
	if (err) {
		lbx_warn("cannot watch a connection: %s", strerror(-err));
		close(cfd);
		close(ufd);
		free(c);
		return;
	}
	c->next = px->conns;
	px->conns = c;
	px->nconns++;
	lbx_debug("connection %u opened", c->id);
}
