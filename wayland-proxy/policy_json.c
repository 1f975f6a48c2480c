/* SPDX-License-Identifier: MIT */
#include "policy_json.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <cjson/cJSON.h>

static int parse_globals(const struct lbx_json_val *v, struct wlp_policy *p)
{
	if (!cJSON_IsObject(v->node))
		return lbx_json_fail(v, "expected an object of interface names and version caps");
	p->nglobals = 0;
	for (const cJSON *k = v->node->child; k; k = k->next) {
		struct lbx_json_val e;
		long long ver;

		if (lbx_json_member(v, k->string, &e) < 0 || lbx_json_int(&e, 1, 1000, &ver) < 0)
			return -EINVAL;
		if (strcmp(k->string, "zwp_linux_dmabuf_v1") == 0)
			return lbx_json_fail(&e, "needs a GPU path, which boxes do not have yet");
		int rc = wlp_policy_allow(p, k->string, (uint32_t)ver);
		if (rc == -ENOENT)
			return lbx_json_fail(&e, "not an interface lbx-wayland-proxy carries "
						 "(privileged and compositor-private globals are "
						 "hidden always)");
		if (rc < 0)
			return lbx_json_fail(&e, "too many globals");
	}
	return 0;
}

static int parse_clip(const struct lbx_json_val *v, const char *key, enum wlp_clip *c)
{
	struct lbx_json_val m;
	const char *s;
	int rc = lbx_json_member(v, key, &m);

	if (rc == -ENOENT)
		return 0;
	if (rc < 0 || lbx_json_string(&m, &s) < 0)
		return -EINVAL;
	if (wlp_clip_parse(s, c) < 0)
		return lbx_json_fail(&m, "expected \"deny\", \"ask\" or \"allow\"");
	return 0;
}

int wlp_policy_from_json(const struct lbx_json_val *v, struct wlp_policy *p)
{
	static const char *const top[] = { "globals", "clipboard", "shm_max_mib", NULL };
	static const char *const clip[] = { "to_host", "from_host", NULL };
	struct lbx_json_val m;
	long long mib;
	int rc;

	if (lbx_json_object(v, top) < 0)
		return -EINVAL;
	rc = lbx_json_member(v, "globals", &m);
	if (rc == 0 && parse_globals(&m, p) < 0)
		return -EINVAL;
	rc = lbx_json_member(v, "clipboard", &m);
	if (rc == 0 &&
	    (lbx_json_object(&m, clip) < 0 || parse_clip(&m, "to_host", &p->to_host) < 0 ||
	     parse_clip(&m, "from_host", &p->from_host) < 0))
		return -EINVAL;
	rc = lbx_json_member(v, "shm_max_mib", &m);
	if (rc == 0) {
		if (lbx_json_int(&m, 1, 4096, &mib) < 0)
			return -EINVAL;
		p->shm_max = (uint64_t)mib << 20;
	}
	return 0;
}

int wlp_policy_parse(const char *text, size_t len, const char *file, struct wlp_policy *p,
		     char *err, size_t errsz)
{
	struct lbx_json_doc doc;
	struct lbx_json_val root;
	int rc = lbx_json_parse(&doc, file, text, len);

	wlp_policy_default(p);
	if (rc == 0) {
		lbx_json_root(&doc, "wayland", &root);
		rc = wlp_policy_from_json(&root, p);
	}
	if (rc < 0)
		snprintf(err, errsz, "%s", lbx_json_error(&doc));
	lbx_json_doc_free(&doc);
	return rc;
}

int wlp_policy_load(const char *path, struct wlp_policy *p, char *msg, size_t msgsz)
{
	struct lbx_json_doc doc;
	struct lbx_json_val root;
	int rc;

	wlp_policy_default(p);
	rc = lbx_json_load(&doc, path);
	if (rc == 0) {
		lbx_json_root(&doc, "wayland", &root);
		rc = wlp_policy_from_json(&root, p);
	}
	if (rc < 0)
		snprintf(msg, msgsz, "%s",
			 lbx_json_error(&doc)[0] ? lbx_json_error(&doc) : strerror(-rc));
	lbx_json_doc_free(&doc);
	return rc;
}
