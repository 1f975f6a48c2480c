/* SPDX-License-Identifier: MIT */
/*
 * The `network` section of a box config, read strictly with common/json.h:
 *
 *   {
 *     "mode": "nat" | "allowlist" | "none",     default "nat"
 *     "allow": [ "github.com:443", "10.1.2.0/24", "*:22", ... ],
 *     "host": [ "tcp:5432" ],                    host loopback ports, default none
 *     "forward": [ "127.0.0.1:8080:80" ]         host -> guest, default none
 *   }
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "policy.h"

/* Far more than any box needs; a hostile file costs little memory. */
#define NET_LIST_MAX 1024

static const char *const top_keys[] = { "mode", "allow", "host", "forward", NULL };

static int parse_mode(const struct lbx_json_val *root, struct net_policy *p)
{
	struct lbx_json_val m;
	const char *s;
	int err = lbx_json_member(root, "mode", &m);

	if (err == -ENOENT)
		return 0;
	if (!err)
		err = lbx_json_string(&m, &s);
	if (err)
		return err;
	if (!strcmp(s, "nat"))
		p->mode = NET_MODE_NAT;
	else if (!strcmp(s, "allowlist"))
		p->mode = NET_MODE_ALLOWLIST;
	else if (!strcmp(s, "none"))
		p->mode = NET_MODE_NONE;
	else
		return lbx_json_fail(&m, "expected \"nat\", \"allowlist\" or \"none\"");
	return 0;
}

/* One list of strings, each parsed into elem_size bytes of *out by parse. */
static int parse_list(const struct lbx_json_val *root, const char *key, size_t elem_size,
		      void **out, size_t *n,
		      int (*parse)(const char *s, void *elem, const char **why))
{
	struct lbx_json_val v, e;
	struct lbx_json_iter it;
	const char *s, *why;
	int err = lbx_json_member(root, key, &v);

	if (err == -ENOENT)
		return 0;
	if (!err)
		err = lbx_json_array(&v, n);
	if (!err && *n > NET_LIST_MAX)
		err = lbx_json_fail(&v, "more than %d entries", NET_LIST_MAX);
	if (err)
		return err;
	*out = calloc(*n ? *n : 1, elem_size);
	if (!*out)
		return -ENOMEM;
	lbx_json_iter_init(&it, &v);
	for (size_t i = 0; lbx_json_iter_next(&it, &e); i++) {
		err = lbx_json_string(&e, &s);
		if (err)
			return err;
		if (parse(s, (char *)*out + i * elem_size, &why))
			return lbx_json_fail(&e, "%s", why);
	}
	return 0;
}

static int rule_cb(const char *s, void *elem, const char **why)
{
	return net_rule_parse(s, elem, why);
}

static int service_cb(const char *s, void *elem, const char **why)
{
	return net_service_parse(s, elem, why);
}

static int forward_cb(const char *s, void *elem, const char **why)
{
	return net_forward_parse(s, elem, why);
}

static int parse_doc(struct lbx_json_doc *doc, struct net_policy *p)
{
	struct lbx_json_val root;
	int err;

	lbx_json_root(doc, "network", &root);
	err = lbx_json_object(&root, top_keys);
	if (!err)
		err = parse_mode(&root, p);
	if (!err)
		err = parse_list(&root, "allow", sizeof(*p->allow), (void **)&p->allow, &p->nallow,
				 rule_cb);
	if (!err)
		err = parse_list(&root, "host", sizeof(*p->host), (void **)&p->host, &p->nhost,
				 service_cb);
	if (!err)
		err = parse_list(&root, "forward", sizeof(*p->forward), (void **)&p->forward,
				 &p->nforward, forward_cb);
	return err;
}

static int finish(struct lbx_json_doc *doc, int err, struct net_policy *p, char *msg,
		  size_t msgsz)
{
	if (err) {
		if (!lbx_json_error(doc)[0])
			snprintf(msg, msgsz, "%s: %s", doc->file, strerror(-err));
		else
			snprintf(msg, msgsz, "%s", lbx_json_error(doc));
		net_policy_free(p);
	}
	lbx_json_doc_free(doc);
	return err ? -EINVAL : 0;
}

int net_policy_parse(const char *text, size_t len, const char *file, struct net_policy *p,
		     char *msg, size_t msgsz)
{
	struct lbx_json_doc doc;
	int err;

	net_policy_init(p);
	err = lbx_json_parse(&doc, file, text, len);
	if (!err)
		err = parse_doc(&doc, p);
	return finish(&doc, err, p, msg, msgsz);
}

int net_policy_load(const char *path, struct net_policy *p, char *msg, size_t msgsz)
{
	struct lbx_json_doc doc;
	int err;

	net_policy_init(p);
	err = lbx_json_load(&doc, path);
	if (!err)
		err = parse_doc(&doc, p);
	return finish(&doc, err, p, msg, msgsz);
}
