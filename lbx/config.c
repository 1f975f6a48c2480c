/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <errno.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "json.h"
/* Two components each call their policy header policy.h: name them by path. */
#include "../backends/net/policy.h"
#include "../vsock-ssh/policy.h"
#include "../passthrough/rules.h"
#include "../wayland-proxy/policy_json.h"

#include <cjson/cJSON.h>

static const char *const engine_names[] = {
	[ENGINE_AUTO] = "auto",	  [ENGINE_VM] = "vm",		[ENGINE_QEMU] = "qemu",
	[ENGINE_LIGHT] = "light", [ENGINE_LIBVIRT] = "libvirt",
};

const char *box_engine_name(enum box_engine e)
{
	return (unsigned)e < ENGINE_COUNT ? engine_names[e] : "?";
}

/* A box name from a directory's base name: invalid characters become '-'. */
static void name_from_dir(const char *dir, char *out, size_t sz)
{
	char *copy = strdup(dir);
	const char *base = copy ? basename(copy) : "box";
	size_t n = 0;

	for (const char *p = base; *p && n + 1 < sz; p++) {
		char ch = *p;
		bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
			  (ch >= '0' && ch <= '9') || ch == '_' || (n > 0 && (ch == '.' || ch == '-'));

		out[n++] = ok ? ch : '-';
	}
	out[n] = '\0';
	if (n == 0 || !lbx_valid_box_name(out))
		snprintf(out, sz, "box");
	free(copy);
}

int box_config_defaults(struct box_config *c, const char *project)
{
	memset(c, 0, sizeof(*c));
	c->file = strdup("");
	c->project = strdup(project);
	c->workdir = strdup(project);
	c->image = strdup("debian");
	c->engine = ENGINE_AUTO;
	c->cpus = 2;
	c->memory_mib = 1024;
	c->elsewhere_readable = true;
	c->root_sessions = true;
	/* Host git runs hooks and core.fsmonitor the box could write (README, "Threat model"). */
	c->protect[0] = strdup(".git/config");
	c->protect[1] = strdup(".git/hooks");
	c->nprotect = 2;
	name_from_dir(project, c->name, sizeof(c->name));
	return c->file && c->project && c->workdir && c->image && c->protect[0] && c->protect[1]
		       ? 0
		       : -ENOMEM;
}

void box_config_free(struct box_config *c)
{
	free(c->file);
	free(c->project);
	free(c->workdir);
	free(c->image);
	free(c->containerfile);
	free(c->build_context);
	for (unsigned i = 0; i < c->nmounts; i++) {
		free(c->mounts[i].host);
		free(c->mounts[i].guest);
	}
	for (unsigned i = 0; i < c->nenv; i++)
		free(c->env[i]);
	for (unsigned i = 0; i < c->nrw; i++)
		free(c->rw_paths[i]);
	for (unsigned i = 0; i < c->nro; i++)
		free(c->ro_paths[i]);
	for (unsigned i = 0; i < c->nprotect; i++)
		free(c->protect[i]);
	free(c->ssh_policy);
	free(c->wayland_policy);
	free(c->net_policy);
	free(c->usb_rules);
	for (unsigned i = 0; i < c->nserial; i++)
		free(c->serial_ports[i]);
	memset(c, 0, sizeof(*c));
}

static int set_str(char **slot, const char *v)
{
	char *s = strdup(v);

	if (!s)
		return -ENOMEM;
	free(*slot);
	*slot = s;
	return 0;
}

/* An absolute, normalised-enough path: no "..", no empty or "." parts, no newline. */
static int abs_path(const struct lbx_json_val *v, const char **out)
{
	const char *s;

	if (lbx_json_string(v, &s))
		return -EINVAL;
	if (s[0] != '/' || strstr(s, "/../") || strstr(s, "/./") || strstr(s, "//") ||
	    strchr(s, '\n') || (strlen(s) >= 3 && !strcmp(s + strlen(s) - 3, "/..")) ||
	    strlen(s) > 4000)
		return lbx_json_fail(v, "expected an absolute path without '.' or '..' parts");
	*out = s;
	return 0;
}

static int parse_mounts(struct box_config *c, const struct lbx_json_val *arr)
{
	static const char *const keys[] = { "host", "guest", "mode", NULL };
	struct lbx_json_iter it;
	struct lbx_json_val m, v;
	size_t n;

	if (lbx_json_array(arr, &n))
		return -EINVAL;
	if (n > BOX_MAX_MOUNTS)
		return lbx_json_fail(arr, "at most %d mounts", BOX_MAX_MOUNTS);
	lbx_json_iter_init(&it, arr);
	while (lbx_json_iter_next(&it, &m)) {
		struct box_mount *bm = &c->mounts[c->nmounts];
		const char *host, *guest, *mode = "rw";

		if (lbx_json_object(&m, keys) || lbx_json_require(&m, "host", &v) ||
		    abs_path(&v, &host) || lbx_json_require(&m, "guest", &v) ||
		    abs_path(&v, &guest))
			return -EINVAL;
		if (lbx_json_member(&m, "mode", &v) == 0) {
			if (lbx_json_string(&v, &mode))
				return -EINVAL;
			if (strcmp(mode, "ro") && strcmp(mode, "rw"))
				return lbx_json_fail(&v, "expected \"ro\" or \"rw\"");
		}
		bm->host = strdup(host);
		bm->guest = strdup(guest);
		bm->read_only = !strcmp(mode, "ro");
		c->nmounts++;
		if (!bm->host || !bm->guest)
			return -ENOMEM;
	}
	return 0;
}

static int parse_env(struct box_config *c, const struct lbx_json_val *arr)
{
	struct lbx_json_iter it;
	struct lbx_json_val v;
	const char *kv;
	size_t n;

	if (lbx_json_array(arr, &n))
		return -EINVAL;
	if (n > BOX_MAX_ENV)
		return lbx_json_fail(arr, "at most %d variables", BOX_MAX_ENV);
	lbx_json_iter_init(&it, arr);
	while (lbx_json_iter_next(&it, &v)) {
		if (lbx_json_string(&v, &kv))
			return -EINVAL;
		if (kv[0] == '=' || !strchr(kv, '=') || strchr(kv, '\n'))
			return lbx_json_fail(&v, "expected \"NAME=value\"");
		c->env[c->nenv] = strdup(kv);
		if (!c->env[c->nenv++])
			return -ENOMEM;
	}
	return 0;
}

static int parse_paths(char **slots, unsigned *n, const struct lbx_json_val *arr)
{
	struct lbx_json_iter it;
	struct lbx_json_val v;
	size_t len;
	const char *p;

	if (lbx_json_array(arr, &len))
		return -EINVAL;
	if (len > BOX_MAX_PATHS)
		return lbx_json_fail(arr, "at most %d paths", BOX_MAX_PATHS);
	lbx_json_iter_init(&it, arr);
	while (lbx_json_iter_next(&it, &v)) {
		if (abs_path(&v, &p))
			return -EINVAL;
		slots[*n] = strdup(p);
		if (!slots[(*n)++])
			return -ENOMEM;
	}
	return 0;
}

static int parse_landlock(struct box_config *c, const struct lbx_json_val *obj)
{
	static const char *const keys[] = { "read_write", "read_only", "elsewhere", "root_sessions",
					    NULL };
	struct lbx_json_val v;
	const char *s;

	if (lbx_json_object(obj, keys))
		return -EINVAL;
	if (lbx_json_member(obj, "read_write", &v) == 0 && parse_paths(c->rw_paths, &c->nrw, &v))
		return -EINVAL;
	if (lbx_json_member(obj, "read_only", &v) == 0 && parse_paths(c->ro_paths, &c->nro, &v))
		return -EINVAL;
	if (lbx_json_member(obj, "elsewhere", &v) == 0) {
		if (lbx_json_string(&v, &s))
			return -EINVAL;
		if (strcmp(s, "read-only") && strcmp(s, "none"))
			return lbx_json_fail(&v, "expected \"read-only\" or \"none\"");
		c->elsewhere_readable = !strcmp(s, "read-only");
	}
	if (lbx_json_member(obj, "root_sessions", &v) == 0 && lbx_json_bool(&v, &c->root_sessions))
		return -EINVAL;
	return 0;
}

/*
 * Sections that are a backend's own policy (ssh: lbx-ssh-proxy, network:
 * lbx-netd) are checked here with that backend's parser, so a mistake is
 * reported by `lbx up` with this file's name, and handed over as text.
 * check returns 0 or -errno with a message that names the file and path.
 */
typedef int (*section_check_fn)(struct box_config *c, const char *text, char *err, size_t errsz);

static int parse_section(struct box_config *c, const struct lbx_json_val *v, section_check_fn check,
			 char **slot)
{
	char err[LBX_JSON_ERROR_MAX];
	char *text = cJSON_PrintUnformatted(v->node);

	if (!text)
		return -ENOMEM;
	if (check(c, text, err, sizeof(err)) < 0) {
		free(text);
		return lbx_json_fail_as_is(v, err);
	}
	free(*slot);
	*slot = text;
	return 0;
}

static int check_ssh(struct box_config *c, const char *text, char *err, size_t errsz)
{
	struct sshp_policy policy;
	int rc = sshp_policy_parse(text, strlen(text), c->file, &policy, err, errsz);

	if (rc == 0)
		sshp_policy_free(&policy);
	return rc;
}

/* lbx-wayland-proxy's own reader: errors name "wayland.KEY" in this file. */
static int check_wayland(struct box_config *c, const char *text, char *err, size_t errsz)
{
	struct wlp_policy policy;

	return wlp_policy_parse(text, strlen(text), c->file, &policy, err, errsz);
}

static int check_network(struct box_config *c, const char *text, char *err, size_t errsz)
{
	struct net_policy policy;
	int rc;

	net_policy_init(&policy);
	rc = net_policy_parse(text, strlen(text), c->file, &policy, err, errsz);
	if (rc == 0)
		c->net_none = policy.mode == NET_MODE_NONE;
	net_policy_free(&policy);
	return rc;
}

/* "devices": {"usb": RULES} (passthrough/rules.h); "usb" is kept as text for lbx-usbipd. */
static int check_usb(struct box_config *c, const char *text, char *err, size_t errsz)
{
	static struct usb_rules rules;

	return usb_rules_parse(text, strlen(text), c->file, &rules, err, errsz);
}

static int parse_devices(struct box_config *c, const struct lbx_json_val *v)
{
	static const char *const keys[] = { "usb", "serial", NULL };
	struct lbx_json_val usb, ser, e;
	struct lbx_json_iter it;
	const char *s;
	size_t n;

	if (lbx_json_object(v, keys))
		return -EINVAL;
	if (lbx_json_member(v, "usb", &usb) == 0 && parse_section(c, &usb, check_usb, &c->usb_rules))
		return -EINVAL;
	if (lbx_json_member(v, "serial", &ser) != 0)
		return 0;
	if (lbx_json_array(&ser, &n))
		return -EINVAL;
	if (n > BOX_MAX_SERIAL)
		return lbx_json_fail(&ser, "at most %d serial ports", BOX_MAX_SERIAL);
	lbx_json_iter_init(&it, &ser);
	while (lbx_json_iter_next(&it, &e)) {
		if (lbx_json_string(&e, &s))
			return -EINVAL;
		if (strncmp(s, "/dev/", 5) || strstr(s, "/..") || strlen(s) >= 64 || strchr(s, ','))
			return lbx_json_fail(&e, "expected a tty under /dev, like \"/dev/ttyS0\"");
		c->serial_ports[c->nserial] = strdup(s);
		if (!c->serial_ports[c->nserial++])
			return -ENOMEM;
	}
	return 0;
}

/* A path inside the project: relative, no "." or ".." parts, joined to the project's path. */
static int project_path(const struct box_config *c, const struct lbx_json_val *v, char **out)
{
	const char *s;
	size_t n;

	if (lbx_json_string(v, &s))
		return -EINVAL;
	n = strlen(s);
	if (!n || s[0] == '/' || !strcmp(s, "..") || !strncmp(s, "../", 3) || strstr(s, "/../") ||
	    (n >= 3 && !strcmp(s + n - 3, "/..")) || strstr(s, "//") || strchr(s, '\n') ||
	    n > 1000)
		return lbx_json_fail(v, "expected a path relative to the project, without '..'");
	if (asprintf(out, "%s/%s", c->project, s) < 0) {
		*out = NULL;
		return -ENOMEM;
	}
	return 0;
}

/* "debian", "busybox", or {"containerfile": FILE, "context": DIR} inside the project. */
static int parse_image(struct box_config *c, const struct lbx_json_val *v)
{
	static const char *const keys[] = { "containerfile", "context", NULL };
	struct lbx_json_val f;
	const char *s;
	char *slash;

	if (!cJSON_IsString(v->node) && !cJSON_IsObject(v->node))
		return lbx_json_fail(v, "expected \"debian\", \"busybox\" or "
					"{\"containerfile\": FILE}");
	if (cJSON_IsString(v->node)) {
		if (lbx_json_string(v, &s))
			return -EINVAL;
		if (strcmp(s, "debian") && strcmp(s, "busybox"))
			return lbx_json_fail(v, "expected \"debian\", \"busybox\" or "
						"{\"containerfile\": FILE}");
		return set_str(&c->image, s);
	}
	if (lbx_json_object(v, keys) || lbx_json_require(v, "containerfile", &f) ||
	    project_path(c, &f, &c->containerfile))
		return -EINVAL;
	if (lbx_json_member(v, "context", &f) == 0) {
		if (project_path(c, &f, &c->build_context))
			return -EINVAL;
	} else {
		/* The Containerfile's directory, as `podman build -f` users expect. */
		c->build_context = strdup(c->containerfile);
		if (!c->build_context)
			return -ENOMEM;
		slash = strrchr(c->build_context, '/');
		*slash = '\0';
	}
	return set_str(&c->image, "containerfile");
}

/* "protect": ["RELPATH", ...] inside the project; replaces the default list. */
static int parse_protect(struct box_config *c, const struct lbx_json_val *arr)
{
	struct lbx_json_iter it;
	struct lbx_json_val v;
	size_t len;

	if (lbx_json_array(arr, &len))
		return -EINVAL;
	if (len > BOX_MAX_PROTECT)
		return lbx_json_fail(arr, "at most %d paths", BOX_MAX_PROTECT);
	for (unsigned i = 0; i < c->nprotect; i++)
		free(c->protect[i]);
	c->nprotect = 0;
	lbx_json_iter_init(&it, arr);
	while (lbx_json_iter_next(&it, &v)) {
		char *full;

		if (project_path(c, &v, &full))
			return -EINVAL;
		c->protect[c->nprotect] = strdup(full + strlen(c->project) + 1);
		free(full);
		if (!c->protect[c->nprotect++])
			return -ENOMEM;
	}
	return 0;
}

/* "quota": a number of bytes, or "N", "NK", "NM", "NG", "NT" (powers of 1024). */
static int parse_quota(struct box_config *c, const struct lbx_json_val *v)
{
	unsigned long long n = 0, unit = 1;
	const char *s;
	long long i;
	char *end;

	if (cJSON_IsNumber(v->node)) {
		if (lbx_json_int(v, 1 << 20, (long long)1 << 50, &i))
			return -EINVAL;
		c->quota_bytes = (unsigned long long)i;
		return 0;
	}
	if (lbx_json_string(v, &s))
		return -EINVAL;
	errno = 0;
	n = strtoull(s, &end, 10);
	if (end != s && end[0] && !end[1])
		unit = end[0] == 'K' ? 1ull << 10 : end[0] == 'M' ? 1ull << 20 :
		       end[0] == 'G' ? 1ull << 30 : end[0] == 'T' ? 1ull << 40 : 0;
	else if (end == s || end[0])
		unit = 0;
	if (errno || !unit || n == 0 || n > (1ull << 50) / unit || n * unit < (1ull << 20))
		return lbx_json_fail(v, "expected a size of at least 1M, like \"20G\"");
	c->quota_bytes = n * unit;
	return 0;
}

static int parse_engine(struct box_config *c, const struct lbx_json_val *v)
{
	const char *s;

	if (lbx_json_string(v, &s))
		return -EINVAL;
	for (unsigned i = 0; i < ENGINE_COUNT; i++) {
		if (!strcmp(s, engine_names[i])) {
			c->engine = (enum box_engine)i;
			return 0;
		}
	}
	return lbx_json_fail(v, "expected \"auto\", \"vm\", \"qemu\", \"light\" or \"libvirt\"");
}

static int parse_top(struct box_config *c, const struct lbx_json_val *root, const char *project_dir)
{
	static const char *const keys[] = { "name",   "project", "workdir", "image",  "engine",
					    "cpus",   "memory",  "mounts",	"env",	  "landlock",
					    "ssh",    "network", "wayland", "devices", "protect",
					    "quota",  "gpu",	 NULL };
	struct lbx_json_val v;
	const char *s;
	long long n;

	if (lbx_json_object(root, keys))
		return -EINVAL;
	if (lbx_json_member(root, "name", &v) == 0) {
		if (lbx_json_string(&v, &s))
			return -EINVAL;
		if (!lbx_valid_box_name(s))
			return lbx_json_fail(&v, "expected 1-63 of a-z A-Z 0-9 . _ -, not "
						 "starting with . or -");
		snprintf(c->name, sizeof(c->name), "%s", s);
	}
	if (lbx_json_member(root, "project", &v) == 0) {
		if (project_dir)
			return lbx_json_fail(&v, "only for definitions outside the project "
						 "(the project is where lbx.json is)");
		if (abs_path(&v, &s) || set_str(&c->project, s) || set_str(&c->workdir, s))
			return -EINVAL;
	} else if (!project_dir) {
		return lbx_json_fail(root, "\"project\" is required outside a project directory");
	}
	if (lbx_json_member(root, "workdir", &v) == 0 && (abs_path(&v, &s) || set_str(&c->workdir, s)))
		return -EINVAL;
	if (lbx_json_member(root, "image", &v) == 0 && parse_image(c, &v))
		return -EINVAL;
	if (lbx_json_member(root, "engine", &v) == 0 && parse_engine(c, &v))
		return -EINVAL;
	if (lbx_json_member(root, "cpus", &v) == 0) {
		if (lbx_json_int(&v, 1, 64, &n))
			return -EINVAL;
		c->cpus = (unsigned)n;
	}
	if (lbx_json_member(root, "memory", &v) == 0) {
		if (lbx_json_int(&v, 128, 1 << 20, &n))
			return -EINVAL;
		c->memory_mib = (unsigned)n;
	}
	if (lbx_json_member(root, "mounts", &v) == 0 && parse_mounts(c, &v))
		return -EINVAL;
	if (lbx_json_member(root, "env", &v) == 0 && parse_env(c, &v))
		return -EINVAL;
	if (lbx_json_member(root, "landlock", &v) == 0 && parse_landlock(c, &v))
		return -EINVAL;
	if (lbx_json_member(root, "ssh", &v) == 0 && parse_section(c, &v, check_ssh, &c->ssh_policy))
		return -EINVAL;
	if (lbx_json_member(root, "network", &v) == 0 &&
	    parse_section(c, &v, check_network, &c->net_policy))
		return -EINVAL;
	if (lbx_json_member(root, "wayland", &v) == 0 &&
	    parse_section(c, &v, check_wayland, &c->wayland_policy))
		return -EINVAL;
	if (lbx_json_member(root, "protect", &v) == 0 && parse_protect(c, &v))
		return -EINVAL;
	if (lbx_json_member(root, "quota", &v) == 0 && parse_quota(c, &v))
		return -EINVAL;
	if (lbx_json_member(root, "devices", &v) == 0 && parse_devices(c, &v))
		return -EINVAL;
	if (lbx_json_member(root, "gpu", &v) == 0 && lbx_json_bool(&v, &c->gpu))
		return -EINVAL;
	return 0;
}

/* Parse text (path NULL) or the file at path over the defaults. */
static int load_or_parse(struct box_config *c, const char *file, const char *path,
			 const char *text, size_t len, const char *project_dir, char *err,
			 size_t errsz)
{
	struct lbx_json_doc doc;
	struct lbx_json_val root;
	int rc;

	rc = box_config_defaults(c, project_dir ? project_dir : "/");
	if (rc)
		return rc;
	if (set_str(&c->file, file))
		return -ENOMEM;
	rc = path ? lbx_json_load(&doc, path) : lbx_json_parse(&doc, file, text, len);
	if (rc == 0) {
		lbx_json_root(&doc, "", &root);
		rc = parse_top(c, &root, project_dir);
	}
	if (rc)
		snprintf(err, errsz, "%s", lbx_json_error(&doc)[0] ? lbx_json_error(&doc)
								  : strerror(-rc));
	lbx_json_doc_free(&doc);
	return rc;
}

int box_config_parse(struct box_config *c, const char *file, const char *text, size_t len,
		     const char *project_dir, char *err, size_t errsz)
{
	return load_or_parse(c, file, NULL, text, len, project_dir, err, errsz);
}

int box_config_load(struct box_config *c, const char *path, const char *project_dir, char *err,
		    size_t errsz)
{
	return load_or_parse(c, path, path, NULL, 0, project_dir, err, errsz);
}
