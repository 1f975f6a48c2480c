/* SPDX-License-Identifier: MIT */
/*
 * The approval store, the name's owner, and the gate of `lbx up` and
 * `lbx build` (trust.h). The widening diff is trust_diff.c, the recipe's
 * hash trust_recipe.c.
 *
 * DATA/approved.json:
 *   { "version": 1, "project": DIR, "definition": FILE or "",
 *     "box": { ...the resolved definition, in lbx.json's own keys... },
 *     "recipe": { "sha256": HEX, "files": N, "bytes": N } }
 * "box" is read back with the same strict parser as lbx.json, so an
 * approval says exactly what a definition can say.
 */
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <termios.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "cli.h"
#include "json.h"
#include "resolve.h"
#include "trust.h"

#define STORE_FILE "approved.json"

/* ---- canonical form ---- */

/* A path inside the project as lbx.json writes it ("." for the project itself). */
static void project_rel(const struct box_config *c, const char *path, char *out, size_t sz)
{
	char np[PATH_MAX], nf[PATH_MAX];
	size_t n;

	trust_norm_path(c->project, np, sizeof(np));
	trust_norm_path(path, nf, sizeof(nf));
	n = strlen(np);
	if (!strcmp(nf, np))
		snprintf(out, sz, ".");
	else if (!strncmp(nf, np, n) && nf[n] == '/')
		snprintf(out, sz, "%s", nf + n + 1);
	else
		snprintf(out, sz, "%s", nf); /* not inside: the parser refuses it on reading */
}

static cJSON *str_array(char *const *v, unsigned n)
{
	cJSON *a = cJSON_CreateArray();

	for (unsigned i = 0; a && i < n; i++)
		cJSON_AddItemToArray(a, cJSON_CreateString(v[i]));
	return a;
}

static cJSON *canonical_box(const struct box_config *c)
{
	cJSON *box = cJSON_CreateObject(), *mounts, *ll, *img;
	char rel[PATH_MAX];

	if (!box)
		return NULL;
	cJSON_AddStringToObject(box, "name", c->name);
	cJSON_AddStringToObject(box, "workdir", c->workdir);
	cJSON_AddStringToObject(box, "engine", box_engine_name(c->engine));
	if (!strcmp(c->image, "containerfile") && c->containerfile && c->build_context) {
		img = cJSON_AddObjectToObject(box, "image");
		project_rel(c, c->containerfile, rel, sizeof(rel));
		cJSON_AddStringToObject(img, "containerfile", rel);
		project_rel(c, c->build_context, rel, sizeof(rel));
		cJSON_AddStringToObject(img, "context", rel);
	} else {
		cJSON_AddStringToObject(box, "image", c->image);
	}
	cJSON_AddNumberToObject(box, "cpus", c->cpus);
	cJSON_AddNumberToObject(box, "memory", c->memory_mib);
	mounts = cJSON_AddArrayToObject(box, "mounts");
	for (unsigned i = 0; mounts && i < c->nmounts; i++) {
		cJSON *m = cJSON_CreateObject();

		cJSON_AddStringToObject(m, "host", c->mounts[i].host);
		cJSON_AddStringToObject(m, "guest", c->mounts[i].guest);
		cJSON_AddStringToObject(m, "mode", c->mounts[i].read_only ? "ro" : "rw");
		cJSON_AddItemToArray(mounts, m);
	}
	cJSON_AddItemToObject(box, "env", str_array(c->env, c->nenv));
	ll = cJSON_AddObjectToObject(box, "landlock");
	cJSON_AddItemToObject(ll, "read_write", str_array(c->rw_paths, c->nrw));
	cJSON_AddItemToObject(ll, "read_only", str_array(c->ro_paths, c->nro));
	cJSON_AddStringToObject(ll, "elsewhere", c->elsewhere_readable ? "read-only" : "none");
	cJSON_AddBoolToObject(ll, "root_sessions", c->root_sessions);
	cJSON_AddItemToObject(box, "protect", str_array(c->protect, c->nprotect));
	if (c->quota_bytes)
		cJSON_AddNumberToObject(box, "quota", (double)c->quota_bytes);
	if (c->ssh_policy)
		cJSON_AddItemToObject(box, "ssh", cJSON_Parse(c->ssh_policy));
	if (c->net_policy)
		cJSON_AddItemToObject(box, "network", cJSON_Parse(c->net_policy));
	if (c->usb_rules || c->nserial) {
		cJSON *dev = cJSON_AddObjectToObject(box, "devices");

		if (c->usb_rules)
			cJSON_AddItemToObject(dev, "usb", cJSON_Parse(c->usb_rules));
		if (c->nserial)
			cJSON_AddItemToObject(dev, "serial", str_array(c->serial_ports, c->nserial));
	}
	if (c->wayland_policy)
		cJSON_AddItemToObject(box, "wayland", cJSON_Parse(c->wayland_policy));
	/* Only when on: approvals made before the key existed stay the same text. */
	if (c->gpu)
		cJSON_AddTrueToObject(box, "gpu");
	return box;
}

char *trust_canonical(const struct box_config *c, const struct trust_recipe *r)
{
	cJSON *doc = cJSON_CreateObject(), *rec;
	char *text;

	if (!doc)
		return NULL;
	cJSON_AddNumberToObject(doc, "version", 1);
	cJSON_AddStringToObject(doc, "project", c->project);
	cJSON_AddStringToObject(doc, "definition", c->file ? c->file : "");
	cJSON_AddItemToObject(doc, "box", canonical_box(c));
	if (r && r->known) {
		rec = cJSON_AddObjectToObject(doc, "recipe");
		cJSON_AddStringToObject(rec, "sha256", r->sha256);
		cJSON_AddNumberToObject(rec, "files", (double)r->files);
		cJSON_AddNumberToObject(rec, "bytes", (double)r->bytes);
	}
	text = cJSON_Print(doc);
	cJSON_Delete(doc);
	return text;
}

static int parse_recipe(const struct lbx_json_val *v, struct trust_recipe *r)
{
	static const char *const keys[] = { "sha256", "files", "bytes", NULL };
	struct lbx_json_val f;
	const char *s;
	long long n;

	if (lbx_json_object(v, keys) || lbx_json_require(v, "sha256", &f) ||
	    lbx_json_string(&f, &s))
		return -EINVAL;
	if (strlen(s) != 64 || strspn(s, "0123456789abcdef") != 64)
		return lbx_json_fail(&f, "expected 64 hex digits");
	snprintf(r->sha256, sizeof(r->sha256), "%s", s);
	if (lbx_json_require(v, "files", &f) || lbx_json_int(&f, 0, 1ll << 50, &n))
		return -EINVAL;
	r->files = (unsigned long long)n;
	if (lbx_json_require(v, "bytes", &f) || lbx_json_int(&f, 0, 1ll << 50, &n))
		return -EINVAL;
	r->bytes = (unsigned long long)n;
	r->known = true;
	return 0;
}

int trust_parse(const char *text, size_t len, struct box_config *c, struct trust_recipe *r,
		char *err, size_t errsz)
{
	static const char *const keys[] = { "version", "project", "definition",
					    "box",     "recipe",  NULL };
	struct lbx_json_doc doc;
	struct lbx_json_val root, v;
	const char *project, *def;
	char *box = NULL;
	long long version;
	int rc;

	memset(r, 0, sizeof(*r));
	memset(c, 0, sizeof(*c));
	rc = lbx_json_parse(&doc, STORE_FILE, text, len);
	if (rc == 0) {
		lbx_json_root(&doc, "", &root);
		if (lbx_json_object(&root, keys) || lbx_json_require(&root, "version", &v) ||
		    lbx_json_int(&v, 1, 1, &version) || lbx_json_require(&root, "project", &v) ||
		    lbx_json_string(&v, &project) || lbx_json_require(&root, "definition", &v) ||
		    lbx_json_string(&v, &def) || lbx_json_require(&root, "box", &v))
			rc = -EINVAL;
	}
	if (rc == 0 && project[0] != '/')
		rc = lbx_json_fail(&v, "project: expected an absolute path");
	if (rc == 0 && !(box = cJSON_PrintUnformatted(v.node)))
		rc = -ENOMEM;
	if (rc == 0 && lbx_json_member(&root, "recipe", &v) == 0)
		rc = parse_recipe(&v, r);
	if (rc) {
		snprintf(err, errsz, "%s",
			 lbx_json_error(&doc)[0] ? lbx_json_error(&doc) : strerror(-rc));
	} else {
		rc = box_config_parse(c, STORE_FILE, box, strlen(box), project, err, errsz);
		if (rc == 0) {
			free(c->file);
			c->file = strdup(def);
		}
	}
	free(box);
	lbx_json_doc_free(&doc);
	return rc;
}

/* ---- the store ---- */

int trust_load(const struct box_paths *p, const char *project, struct box_config *c,
	       struct trust_recipe *r)
{
	char file[PATH_MAX + 32], err[LBX_JSON_ERROR_MAX];
	char *text = malloc(LBX_JSON_FILE_MAX + 1);
	ssize_t n;
	int rc;

	if (!text)
		return -ENOMEM;
	box_path(p->data, STORE_FILE, file, sizeof(file));
	n = box_read_file(file, text, LBX_JSON_FILE_MAX + 1);
	if (n < 0) {
		free(text);
		return (int)n;
	}
	rc = trust_parse(text, (size_t)n, c, r, err, sizeof(err));
	free(text);
	/* An approval lbx cannot read (damaged, another version) approves nothing. */
	if (rc || (project && strcmp(c->project, project))) {
		box_config_free(c);
		return -ENOENT;
	}
	return 0;
}

int trust_store(const struct box_paths *p, const struct box_config *c, const struct trust_recipe *r)
{
	char file[PATH_MAX + 32], *text = trust_canonical(c, r);
	int rc;

	if (!text)
		return -ENOMEM;
	rc = box_mkdirs(p->data, 0700);
	if (rc == 0)
		rc = box_path(p->data, STORE_FILE, file, sizeof(file));
	if (rc == 0)
		rc = box_write_file(file, text);
	free(text);
	return rc;
}

/* ---- who owns a name, and where lbx keeps its state ---- */

bool trust_definition_is_own(const struct box_config *c)
{
	char own[PATH_MAX];

	return c->file && c->file[0] && box_config_path(c->name, own, sizeof(own)) == 0 &&
	       !strcmp(c->file, own);
}

static bool same_dir(const char *x, const char *y)
{
	char rx[PATH_MAX], ry[PATH_MAX];

	if (!strcmp(x, y))
		return true;
	return realpath(x, rx) && realpath(y, ry) && !strcmp(rx, ry);
}

/* The project some record of the name claims, with where it says so. */
static bool claimed_by(const struct box_config *c, const struct box_paths *p, char *project,
		       size_t sz, char *where, size_t wsz)
{
	char file[PATH_MAX + 32], err[LBX_JSON_ERROR_MAX];
	struct trust_recipe r;
	struct box_config other;

	if (box_config_path(c->name, file, sizeof(file)) == 0 && access(file, F_OK) == 0 &&
	    !trust_definition_is_own(c)) {
		snprintf(where, wsz, "%s", file);
		if (box_config_load(&other, file, NULL, err, sizeof(err)) < 0) {
			snprintf(project, sz, "(unreadable)");
			return true;
		}
		snprintf(project, sz, "%s", other.project);
		box_config_free(&other);
		return !same_dir(project, c->project);
	}
	if (trust_definition_is_own(c))
		return false; /* the user's own definition may move its box */
	box_path(p->data, "box.json", where, wsz);
	if (box_recorded_project(p, project, sz) == 0 && project[0])
		return !same_dir(project, c->project);
	box_path(p->data, STORE_FILE, where, wsz);
	if (trust_load(p, NULL, &other, &r) == 0) {
		snprintf(project, sz, "%s", other.project);
		box_config_free(&other);
		return !same_dir(project, c->project);
	}
	return false;
}

int trust_check_owner(const struct box_config *c, const struct box_paths *p, char *err,
		      size_t errsz)
{
	char project[PATH_MAX], where[PATH_MAX + 32], a[PATH_MAX], b[PATH_MAX];

	if (!claimed_by(c, p, project, sizeof(project), where, sizeof(where)))
		return 0;
	trust_escape(project, a, sizeof(a));
	trust_escape(c->project, b, sizeof(b));
	snprintf(err, errsz,
		 "box %s belongs to the project %s (%s), not %s; give this project another "
		 "\"name\" in its lbx.json, or 'lbx rm %s' to forget the old box",
		 c->name, a, where, b, c->name);
	return -EEXIST;
}

static bool overlaps(const char *x, const char *y)
{
	char rx[PATH_MAX], ry[PATH_MAX];
	size_t nx, ny;

	if (!realpath(x, rx))
		snprintf(rx, sizeof(rx), "%s", x);
	if (!realpath(y, ry))
		snprintf(ry, sizeof(ry), "%s", y);
	nx = strlen(rx);
	ny = strlen(ry);
	if (!strcmp(rx, "/") || !strcmp(ry, "/"))
		return true;
	return (!strncmp(rx, ry, ny) && (rx[ny] == '/' || rx[ny] == '\0')) ||
	       (!strncmp(ry, rx, nx) && (ry[nx] == '/' || ry[nx] == '\0'));
}

/* lbx's own directories: data, config, runtime, cache. */
static unsigned state_dirs(const struct box_config *c, char dirs[][PATH_MAX])
{
	const char *cache = getenv("LBX_CACHE_DIR"), *xc = getenv("XDG_CACHE_HOME"),
		   *home = getenv("HOME");
	char buf[PATH_MAX];
	unsigned n = 0;

	if (box_data_root(buf, sizeof(buf)) == 0)
		snprintf(dirs[n++], PATH_MAX, "%s", dirname(buf)); /* .../lbx */
	if (box_config_path(c->name, buf, sizeof(buf)) == 0)
		snprintf(dirs[n++], PATH_MAX, "%s", dirname(dirname(buf)));
	if (lbx_runtime_path(c->name, "", buf, sizeof(buf)) == 0) {
		buf[strlen(buf) - 1] = '\0';
		snprintf(dirs[n++], PATH_MAX, "%s", dirname(buf));
	}
	if (cache && cache[0] == '/')
		snprintf(dirs[n++], PATH_MAX, "%s", cache);
	else if (xc && xc[0] == '/')
		snprintf(dirs[n++], PATH_MAX, "%s/lbx", xc);
	else if (home && home[0] == '/')
		snprintf(dirs[n++], PATH_MAX, "%s/.cache/lbx", home);
	return n;
}

int trust_check_state_hidden(const struct box_config *c, char *err, size_t errsz)
{
	char dirs[4][PATH_MAX], a[PATH_MAX], b[PATH_MAX];
	unsigned n = state_dirs(c, dirs);

	for (unsigned i = 0; i < n; i++) {
		const char *hit = overlaps(c->project, dirs[i]) ? c->project : NULL;

		for (unsigned m = 0; !hit && m < c->nmounts; m++)
			if (!c->mounts[m].read_only && overlaps(c->mounts[m].host, dirs[i]))
				hit = c->mounts[m].host;
		if (!hit)
			continue;
		trust_escape(hit, a, sizeof(a));
		trust_escape(dirs[i], b, sizeof(b));
		snprintf(err, errsz,
			 "box %s: it would write %s, which holds lbx's own state %s (so the box "
			 "could approve itself); use a project directory or mount that does not "
			 "contain it",
			 c->name, a, b);
		return -EPERM;
	}
	return 0;
}

/* ---- the definition as it reaches the host ---- */

int trust_view_init(const struct box_config *c, struct box_config *v)
{
	char real[PATH_MAX];

	*v = *c;
	for (unsigned i = 0; i < c->nmounts; i++) {
		v->mounts[i].host =
		    strdup(realpath(c->mounts[i].host, real) ? real : c->mounts[i].host);
		if (!v->mounts[i].host) {
			v->nmounts = i;
			trust_view_free(v);
			return -ENOMEM;
		}
	}
	return 0;
}

void trust_view_free(struct box_config *v)
{
	for (unsigned i = 0; i < v->nmounts; i++)
		free(v->mounts[i].host);
	memset(v, 0, sizeof(*v));
}

/* ---- the gate ---- */

static bool on_terminal(void)
{
	return isatty(STDIN_FILENO) && isatty(STDERR_FILENO);
}

static void print_diff(const struct box_config *c, const struct trust_diff *d)
{
	char def[PATH_MAX];

	trust_escape(c->file && c->file[0] ? c->file : "(defaults)", def, sizeof(def));
	fprintf(stderr, "lbx: box %s: %s asks for more than you approved:\n", c->name, def);
	for (unsigned i = 0; i < d->n; i++)
		fprintf(stderr, "  + %s: %s\n", d->items[i].key, d->items[i].what);
	if (d->truncated)
		fprintf(stderr, "  + ... and more\n");
}

static bool ask(void)
{
	char line[64];

	/* Only an answer typed after the question counts, not keys typed ahead. */
	tcflush(STDIN_FILENO, TCIFLUSH);
	fprintf(stderr, "Approve it? [y/N] ");
	fflush(stderr);
	if (!fgets(line, sizeof(line), stdin))
		return false;
	line[strcspn(line, "\n")] = '\0';
	return !strcasecmp(line, "y") || !strcasecmp(line, "yes");
}

/* The recipe now: hashed when it is about to be built, else the approved one (if the same). */
static int recipe_now(const struct box_config *c, const struct box_config *a,
		      const struct trust_recipe *ar, bool builds, struct trust_recipe *nr,
		      char *err, size_t errsz)
{
	memset(nr, 0, sizeof(*nr));
	if (strcmp(c->image, "containerfile"))
		return 0;
	if (builds)
		return trust_hash_recipe(c, nr, err, errsz);
	if (trust_same_recipe_spec(a, c))
		*nr = *ar;
	return 0;
}

static int gate(const struct box_config *c, const struct box_paths *p, bool builds, char *err,
		size_t errsz)
{
	struct trust_recipe ar, nr;
	struct box_config a;
	struct trust_diff *d;
	char keys[400];
	int rc;

	if (trust_load(p, c->project, &a, &ar) < 0) {
		memset(&ar, 0, sizeof(ar));
		if (box_config_defaults(&a, c->project) < 0)
			return -ENOMEM;
	}
	rc = recipe_now(c, &a, &ar, builds, &nr, err, errsz);
	d = rc ? NULL : malloc(sizeof(*d));
	if (!d) {
		box_config_free(&a);
		return rc ? rc : -ENOMEM;
	}
	trust_diff(&a, &ar, c, &nr, trust_definition_is_own(c), d);
	box_config_free(&a);
	if (d->n && !on_terminal()) {
		trust_diff_keys(d, keys, sizeof(keys));
		snprintf(err, errsz,
			 "box %s: %s asks for more than you approved (%s); see it with 'lbx allow "
			 "--show %s', approve it with 'lbx allow %s'",
			 c->name, c->file && c->file[0] ? c->file : "its definition", keys, c->name,
			 c->name);
		free(d);
		return -EPERM;
	}
	if (d->n) {
		print_diff(c, d);
		if (!ask()) {
			snprintf(err, errsz, "box %s: not approved; nothing was started", c->name);
			free(d);
			return -EPERM;
		}
	}
	free(d);
	/* Approved, or nothing widened: this version is the one to compare with next time. */
	rc = trust_store(p, c, &nr);
	if (rc < 0)
		snprintf(err, errsz, "box %s: cannot record its approval in %s: %s", c->name,
			 p->data, strerror(-rc));
	return rc;
}

int trust_gate(const struct box_config *c, enum trust_op op, char *err, size_t errsz)
{
	char root[PATH_MAX + 16];
	struct box_config view;
	struct box_paths p;
	int rc;

	if (box_paths_init(&p, c->name) < 0) {
		snprintf(err, errsz, "box %s: cannot work out its directories (is HOME set?)",
			 c->name);
		return -EINVAL;
	}
	if (box_running(&p))
		return 0; /* up says it is up, build refuses: nothing starts */
	rc = trust_check_owner(c, &p, err, errsz);
	if (rc == 0)
		rc = trust_check_state_hidden(c, err, errsz);
	if (rc)
		return rc;
	if (trust_view_init(c, &view) < 0)
		return -ENOMEM;
	box_path(p.data, "root", root, sizeof(root));
	rc = gate(&view, &p, op == TRUST_BUILD || access(root, F_OK) < 0, err, errsz);
	trust_view_free(&view);
	return rc;
}
