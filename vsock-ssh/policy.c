/* SPDX-License-Identifier: MIT */
#include "policy.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"

/* Far more than any box needs; keeps a hostile file from costing much memory. */
#define SSHP_LIST_MAX 1024

static const char *const top_keys[] = { "keys", "rate", NULL };
static const char *const rule_keys[] = { "key", "destinations", "namespaces", "confirm", NULL };

static bool printable(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < ' ' || *s == 0x7f)
			return false;
	return true;
}

static int parse_key_name(const struct lbx_json_val *v, struct sshp_key_rule *r)
{
	const char *s;
	int err = lbx_json_string(v, &s);

	if (err)
		return err;
	if (!strncmp(s, "SHA256:", 7)) {
		if (!sshp_fp_valid(s))
			return lbx_json_fail(v, "expected SHA256: and 43 base64 characters, "
						"as ssh-keygen -l prints");
		memcpy(r->fp, s, SSHP_FP_LEN);
		return 0;
	}
	if (!*s || strlen(s) >= SSHP_NAME_MAX * 4 || !printable(s))
		return lbx_json_fail(v, "expected a key fingerprint (SHA256:...) or comment");
	r->comment = strdup(s);
	return r->comment ? 0 : -ENOMEM;
}

static int check_list(const struct lbx_json_val *v, size_t *n)
{
	int err = lbx_json_array(v, n);

	if (!err && *n > SSHP_LIST_MAX)
		err = lbx_json_fail(v, "more than %d entries", SSHP_LIST_MAX);
	return err;
}

static int parse_dests(const struct lbx_json_val *v, struct sshp_key_rule *r)
{
	struct lbx_json_iter it;
	struct lbx_json_val e;
	const char *s;
	int err = check_list(v, &r->ndests);

	if (err)
		return err;
	r->dests = calloc(r->ndests ? r->ndests : 1, sizeof(*r->dests));
	if (!r->dests)
		return -ENOMEM;
	lbx_json_iter_init(&it, v);
	for (size_t i = 0; lbx_json_iter_next(&it, &e); i++) {
		err = lbx_json_string(&e, &s);
		if (err)
			return err;
		if (sshp_dest_parse(s, &r->dests[i]))
			return lbx_json_fail(&e, "expected user@host, user@[host]:port or host "
						 "(wildcards * and ?)");
	}
	return 0;
}

static int parse_namespaces(const struct lbx_json_val *v, struct sshp_key_rule *r)
{
	struct lbx_json_iter it;
	struct lbx_json_val e;
	const char *s;
	int err = check_list(v, &r->nnamespaces);

	if (err)
		return err;
	r->namespaces = calloc(r->nnamespaces ? r->nnamespaces : 1, sizeof(char *));
	if (!r->namespaces)
		return -ENOMEM;
	lbx_json_iter_init(&it, v);
	for (size_t i = 0; lbx_json_iter_next(&it, &e); i++) {
		err = lbx_json_string(&e, &s);
		if (err)
			return err;
		if (!*s || strlen(s) >= SSHP_NAME_MAX || strpbrk(s, " \t") || !printable(s))
			return lbx_json_fail(&e, "expected a signature namespace such as git or "
						 "file");
		r->namespaces[i] = strdup(s);
		if (!r->namespaces[i])
			return -ENOMEM;
	}
	return 0;
}

static int parse_rule(const struct lbx_json_val *v, struct sshp_key_rule *r)
{
	struct lbx_json_val m;
	int err = lbx_json_object(v, rule_keys);

	if (!err)
		err = lbx_json_require(v, "key", &m);
	if (!err)
		err = parse_key_name(&m, r);
	if (!err) {
		err = lbx_json_member(v, "destinations", &m);
		r->any_destination = err == -ENOENT;
		err = err == -ENOENT ? 0 : err ? err : parse_dests(&m, r);
	}
	if (!err) {
		err = lbx_json_member(v, "namespaces", &m);
		r->any_namespace = err == -ENOENT;
		err = err == -ENOENT ? 0 : err ? err : parse_namespaces(&m, r);
	}
	if (!err) {
		err = lbx_json_member(v, "confirm", &m);
		err = err == -ENOENT ? 0 : err ? err : lbx_json_bool(&m, &r->confirm);
	}
	return err;
}

static int parse_rate(const struct lbx_json_val *root, struct sshp_rate *rate)
{
	struct lbx_json_val m;
	const char *s;
	int err = lbx_json_member(root, "rate", &m);

	if (err == -ENOENT)
		return 0;
	if (!err)
		err = lbx_json_string(&m, &s);
	if (!err && sshp_rate_parse(s, rate))
		err = lbx_json_fail(&m, "expected N/s, N/min or N/hour, e.g. \"10/min\"");
	return err;
}

static int parse_doc(struct lbx_json_doc *doc, struct sshp_policy *p)
{
	struct lbx_json_val root, keys, e;
	struct lbx_json_iter it;
	int err;

	lbx_json_root(doc, "ssh", &root);
	err = lbx_json_object(&root, top_keys);
	if (!err)
		err = lbx_json_require(&root, "keys", &keys);
	if (!err)
		err = check_list(&keys, &p->nkeys);
	if (!err)
		err = parse_rate(&root, &p->rate);
	if (err)
		return err;
	p->keys = calloc(p->nkeys ? p->nkeys : 1, sizeof(*p->keys));
	if (!p->keys)
		return -ENOMEM;
	lbx_json_iter_init(&it, &keys);
	for (size_t i = 0; !err && lbx_json_iter_next(&it, &e); i++)
		err = parse_rule(&e, &p->keys[i]);
	return err;
}

static int finish(struct lbx_json_doc *doc, int err, struct sshp_policy *p, char *msg, size_t msgsz)
{
	if (err) {
		if (err == -ENOMEM && !lbx_json_error(doc)[0])
			snprintf(msg, msgsz, "%s: out of memory", doc->file);
		else
			snprintf(msg, msgsz, "%s", lbx_json_error(doc));
		sshp_policy_free(p);
	}
	lbx_json_doc_free(doc);
	return err ? -EINVAL : 0;
}

int sshp_policy_parse(const char *text, size_t len, const char *file, struct sshp_policy *p,
		      char *msg, size_t msgsz)
{
	struct lbx_json_doc doc;
	int err;

	memset(p, 0, sizeof(*p));
	err = lbx_json_parse(&doc, file, text, len);
	if (!err)
		err = parse_doc(&doc, p);
	return finish(&doc, err, p, msg, msgsz);
}

int sshp_policy_load(const char *path, struct sshp_policy *p, char *msg, size_t msgsz)
{
	struct lbx_json_doc doc;
	int err;

	memset(p, 0, sizeof(*p));
	err = lbx_json_load(&doc, path);
	if (!err)
		err = parse_doc(&doc, p);
	return finish(&doc, err, p, msg, msgsz);
}

void sshp_policy_free(struct sshp_policy *p)
{
	for (size_t i = 0; p->keys && i < p->nkeys; i++) {
		struct sshp_key_rule *r = &p->keys[i];

		free(r->comment);
		free(r->dests);
		for (size_t j = 0; r->namespaces && j < r->nnamespaces; j++)
			free(r->namespaces[j]);
		free(r->namespaces);
	}
	free(p->keys);
	memset(p, 0, sizeof(*p));
}

static bool comment_is(const struct sshp_blob *c, const char *s)
{
	return c && c->n == strlen(s) && memcmp(c->p, s, c->n) == 0;
}

const struct sshp_key_rule *sshp_policy_find(const struct sshp_policy *p, const char *fp,
					     const struct sshp_blob *comment)
{
	for (size_t i = 0; i < p->nkeys; i++) {
		const struct sshp_key_rule *r = &p->keys[i];

		if (r->comment ? comment_is(comment, r->comment) : !strcmp(r->fp, fp))
			return r;
	}
	return NULL;
}

bool sshp_policy_by_comment(const struct sshp_policy *p)
{
	for (size_t i = 0; i < p->nkeys; i++)
		if (p->keys[i].comment)
			return true;
	return false;
}

bool sshp_rule_allows_namespace(const struct sshp_key_rule *r, const char *ns)
{
	if (r->any_namespace)
		return true;
	for (size_t i = 0; i < r->nnamespaces; i++)
		if (!strcmp(r->namespaces[i], ns))
			return true;
	return false;
}

bool sshp_rule_names_comment(const struct sshp_key_rule *r, const struct sshp_blob *comment)
{
	return r->comment && comment_is(comment, r->comment);
}
