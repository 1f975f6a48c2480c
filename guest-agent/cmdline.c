/* SPDX-License-Identifier: MIT */
/*
 * The agent's one parameter parser (cmdline.h). Each key of
 * common/agent_params.h has one handler in handlers[], which gets the
 * decoded value and checks it; the table, not an if-chain, is the list of
 * what the agent accepts.
 */
#include "cmdline.h"

#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "agent_params.h"
#include "reader.h"

struct param_ctx {
	struct agent_config *cfg;
	const char *key; /* "lbx.KEY", for messages */
	char *err;
	size_t errsz;
};

typedef int (*param_fn)(struct param_ctx *p, char *val, size_t off);

LBX_PRINTF(2, 3) static int bad(struct param_ctx *p, const char *fmt, ...)
{
	char why[200];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	snprintf(p->err, p->errsz, "%s: %s", p->key, why);
	return -EINVAL;
}

#define FIELD(p, off, type) ((type *)((char *)(p)->cfg + (off)))

static bool valid_hostname(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9') || *s == '-' || *s == '.'))
			return false;
	return true;
}

static bool valid_username(const char *s)
{
	for (size_t i = 0; s[i]; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
		      (s[i] >= '0' && s[i] <= '9') || s[i] == '_' || s[i] == '.' ||
		      (s[i] == '-' && i > 0)))
			return false;
	return true;
}

/* virtio-fs tags are at most 36 bytes (virtio 1.2 §5.11.4); ours are plain words. */
static bool valid_tag(const char *s, size_t n)
{
	if (n == 0 || n > 36)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
		      (s[i] >= '0' && s[i] <= '9') || s[i] == '-' || s[i] == '_' || s[i] == '.'))
			return false;
	return true;
}

static bool valid_abs_path(const char *s)
{
	return s[0] == '/' && !strstr(s, "/../") &&
	       !(strlen(s) >= 3 && !strcmp(s + strlen(s) - 3, "/.."));
}

static int p_hostname(struct param_ctx *p, char *val, size_t off)
{
	(void)off;
	if (strlen(val) > AGENT_HOSTNAME_MAX)
		return bad(p, "longer than %d bytes", AGENT_HOSTNAME_MAX);
	if (!valid_hostname(val))
		return bad(p, "has characters other than A-Z a-z 0-9 - .");
	strcpy(p->cfg->hostname, val);
	return 0;
}

/* tty=1 turns it on; root=0 turns root sessions off. Anything else keeps the default. */
static int p_flag_on(struct param_ctx *p, char *val, size_t off)
{
	*FIELD(p, off, bool) = !strcmp(val, "1");
	return 0;
}

static int p_flag_off(struct param_ctx *p, char *val, size_t off)
{
	*FIELD(p, off, bool) = strcmp(val, "0") != 0;
	return 0;
}

static int p_endpoint(struct param_ctx *p, char *val, size_t off)
{
	if (lbx_endpoint_parse(val, strlen(val), FIELD(p, off, struct lbx_endpoint)) < 0)
		return bad(p, "expected vsock:PORT, unix:/PATH or a port number");
	return 0;
}

static int p_usb(struct param_ctx *p, char *val, size_t off)
{
	(void)off;
	if (p->cfg->nusb >= AGENT_MAX_USB)
		return bad(p, "more than %d USB slots", AGENT_MAX_USB);
	if (lbx_endpoint_parse(val, strlen(val), &p->cfg->usb[p->cfg->nusb]) < 0)
		return bad(p, "expected vsock:PORT, unix:/PATH or a port number");
	p->cfg->nusb++;
	return 0;
}

static int p_id(struct param_ctx *p, char *val, size_t off)
{
	uint64_t v = 0;
	size_t n = strlen(val);

	if (n == 0 || n > 10)
		return bad(p, "expected a number");
	for (size_t i = 0; i < n; i++) {
		if (val[i] < '0' || val[i] > '9')
			return bad(p, "expected a number");
		v = v * 10 + (uint64_t)(val[i] - '0');
	}
	if (v >= UINT32_MAX)
		return bad(p, "expected a number below 4294967295");
	*FIELD(p, off, unsigned) = (unsigned)v;
	return 0;
}

static int p_user(struct param_ctx *p, char *val, size_t off)
{
	(void)off;
	if (!val[0] || strlen(val) >= sizeof(p->cfg->user) || !valid_username(val))
		return bad(p, "expected 1-32 of a-z A-Z 0-9 _ . -");
	strcpy(p->cfg->user, val);
	return 0;
}

/* An absolute path that replaces the default (cwd, home); takes val. */
static int p_path(struct param_ctx *p, char *val, size_t off)
{
	char **slot = FIELD(p, off, char *);

	if (val[0] != '/')
		return bad(p, "expected an absolute path");
	free(*slot);
	*slot = val;
	return 1;
}

static int p_argv(struct param_ctx *p, char *val, size_t off)
{
	(void)off;
	if (p->cfg->argc >= AGENT_MAX_ARGS) {
		snprintf(p->err, p->errsz, "more than %d %s parameters", AGENT_MAX_ARGS, p->key);
		return -E2BIG;
	}
	p->cfg->argv[p->cfg->argc++] = val;
	return 1;
}

static int p_env(struct param_ctx *p, char *val, size_t off)
{
	(void)off;
	if (p->cfg->envc >= AGENT_MAX_ENV || !strchr(val, '=') || val[0] == '=')
		return bad(p, "too many or not of the form KEY=VALUE");
	p->cfg->env[p->cfg->envc++] = val;
	return 1;
}

static int p_rootfs(struct param_ctx *p, char *val, size_t off)
{
	(void)off;
	if (!valid_tag(val, strlen(val)))
		return bad(p, "expected a virtio-fs tag of 1-36 bytes");
	strcpy(p->cfg->rootfs, val);
	return 0;
}

/* TAG:PATH[:ro|:rw]; a path holding ':' cannot be told from the flag and is refused. */
static int p_mount(struct param_ctx *p, char *val, size_t off)
{
	struct agent_config *cfg = p->cfg;
	char *colon = strchr(val, ':'), *path, *flag;
	struct agent_mount *m;

	(void)off;
	if (cfg->nmounts >= AGENT_MAX_MOUNTS) {
		snprintf(p->err, p->errsz, "more than %d %s parameters", AGENT_MAX_MOUNTS, p->key);
		return -E2BIG;
	}
	if (!colon || !valid_tag(val, (size_t)(colon - val)))
		return bad(p, "expected TAG:PATH[:ro] with a tag of 1-36 bytes");
	path = colon + 1;
	flag = strchr(path, ':');
	if (flag && strcmp(flag, ":ro") && strcmp(flag, ":rw"))
		return bad(p, "the path must be absolute, without '..' or ':'");
	m = &cfg->mounts[cfg->nmounts];
	m->read_only = flag && !strcmp(flag, ":ro");
	if (flag)
		*flag = '\0';
	if (!valid_abs_path(path))
		return bad(p, "the path must be absolute, without '..' or ':'");
	m->path = strdup(path);
	if (!m->path)
		return -ENOMEM;
	memcpy(m->tag, val, (size_t)(colon - val));
	m->tag[colon - val] = '\0';
	cfg->nmounts++;
	return 0;
}

static int p_landlock_path(struct param_ctx *p, char *val, size_t off)
{
	bool rw = off == offsetof(struct agent_config, rw_paths);
	unsigned *n = rw ? &p->cfg->nrw : &p->cfg->nro;

	if (val[0] != '/' || *n >= AGENT_MAX_PATHS)
		return bad(p, "expected an absolute path (at most %d)", AGENT_MAX_PATHS);
	(rw ? p->cfg->rw_paths : p->cfg->ro_paths)[(*n)++] = val;
	return 1;
}

static int p_elsewhere(struct param_ctx *p, char *val, size_t off)
{
	(void)off;
	if (strcmp(val, "ro") && strcmp(val, "none"))
		return bad(p, "expected ro or none");
	p->cfg->elsewhere_readable = !strcmp(val, "ro");
	return 0;
}

/* CIDR,GATEWAY,DNS; each checked again by agent_net_configure when it is used. */
static int p_net(struct param_ctx *p, char *val, size_t off)
{
	struct agent_config *cfg = p->cfg;
	char *save = NULL, *cidr, *gw, *dns;

	(void)off;
	cidr = strtok_r(val, ",", &save);
	gw = strtok_r(NULL, ",", &save);
	dns = strtok_r(NULL, ",", &save);
	if (!cidr || !gw || !dns || strtok_r(NULL, ",", &save) ||
	    strlen(cidr) >= sizeof(cfg->net_cidr) || strlen(gw) >= sizeof(cfg->net_gw) ||
	    strlen(dns) >= sizeof(cfg->net_dns) || !strchr(cidr, '/'))
		return bad(p, "expected ADDRESS/PREFIX,GATEWAY,DNS");
	strcpy(cfg->net_cidr, cidr);
	strcpy(cfg->net_gw, gw);
	strcpy(cfg->net_dns, dns);
	return 0;
}

/* A handler returns 1 when it kept the decoded value, 0 when it copied it, or -errno. */
static const struct {
	param_fn fn;
	size_t off;
} handlers[AP_COUNT] = {
	[AP_HOSTNAME] = { p_hostname, 0 },
	[AP_ARGV] = { p_argv, 0 },
	[AP_ENV] = { p_env, 0 },
	[AP_CWD] = { p_path, offsetof(struct agent_config, cwd) },
	[AP_TTY] = { p_flag_on, offsetof(struct agent_config, tty) },
	[AP_SERVE] = { p_endpoint, offsetof(struct agent_config, serve) },
	[AP_NOTIFY] = { p_endpoint, offsetof(struct agent_config, notify) },
	[AP_SSH] = { p_endpoint, offsetof(struct agent_config, ssh) },
	[AP_UID] = { p_id, offsetof(struct agent_config, uid) },
	[AP_GID] = { p_id, offsetof(struct agent_config, gid) },
	[AP_USER] = { p_user, 0 },
	[AP_HOME] = { p_path, offsetof(struct agent_config, home) },
	[AP_ROOT] = { p_flag_off, offsetof(struct agent_config, allow_root) },
	[AP_ROOTFS] = { p_rootfs, 0 },
	[AP_MOUNT] = { p_mount, 0 },
	[AP_RW] = { p_landlock_path, offsetof(struct agent_config, rw_paths) },
	[AP_RO] = { p_landlock_path, offsetof(struct agent_config, ro_paths) },
	[AP_ELSEWHERE] = { p_elsewhere, 0 },
	[AP_NET] = { p_net, 0 },
	[AP_NET_STREAM] = { p_endpoint, offsetof(struct agent_config, net_stream) },
	[AP_FS_GUARD] = { p_flag_on, offsetof(struct agent_config, fs_guard) },
	[AP_USB] = { p_usb, 0 },
	[AP_WAYLAND] = { p_endpoint, offsetof(struct agent_config, wayland) },
};

/* One word "lbx.KEY=VALUE" (already unquoted), n bytes. */
static int apply_word(struct agent_config *cfg, const char *word, size_t n, char *err,
		      size_t errsz)
{
	const size_t plen = strlen(AGENT_PARAM_PREFIX);
	const char *eq = memchr(word, '=', n);
	char key[80];
	char *val;
	int k, rc;

	if (!eq) {
		snprintf(err, errsz, "parameter %.*s has no value", (int)LBX_MIN(n, 64), word);
		return -EINVAL;
	}
	snprintf(key, sizeof(key), "%.*s", (int)LBX_MIN((size_t)(eq - word), 64), word);
	k = agent_param_lookup(word + plen, (size_t)(eq - word) - plen);
	if (k < 0) {
		snprintf(err, errsz, "unknown parameter %s", key);
		return -EINVAL;
	}
	val = agent_param_decode(eq + 1, n - (size_t)(eq + 1 - word));
	if (!val) {
		snprintf(err, errsz, "%s has a bad %%XX escape", key);
		return -EINVAL;
	}
	rc = handlers[k].fn(&(struct param_ctx){ cfg, key, err, errsz }, val, handlers[k].off);
	if (rc <= 0)
		free(val);
	return rc < 0 ? rc : 0;
}

static void defaults(struct agent_config *cfg, char *err)
{
	memset(cfg, 0, sizeof(*cfg));
	snprintf(cfg->hostname, sizeof(cfg->hostname), "lbx");
	snprintf(cfg->user, sizeof(cfg->user), "root");
	cfg->allow_root = true;
	cfg->elsewhere_readable = true;
	err[0] = '\0';
}

static bool is_agent_word(const char *w, size_t n)
{
	size_t plen = strlen(AGENT_PARAM_PREFIX);

	return n >= plen && !memcmp(w, AGENT_PARAM_PREFIX, plen);
}

/*
 * Next word: separated by spaces (or newlines); double quotes group
 * spaces into a word, as the kernel's own parser does.
 */
static int next_word(struct lbx_reader *r, const char **p, size_t *n)
{
	const uint8_t *start = NULL, *b;
	bool quoted = false;

	*n = 0;
	while (lbx_reader_left(r) > 0) {
		if (lbx_read_bytes(r, 1, &b))
			return -EBADMSG;
		if (!quoted && (*b == ' ' || *b == '\n' || *b == '\t')) {
			if (start)
				break;
			continue;
		}
		if (!start)
			start = b;
		if (*b == '"')
			quoted = !quoted;
		*n = (size_t)(b + 1 - start);
	}
	*p = (const char *)start;
	return start ? 0 : -ENOENT;
}

int agent_cmdline_parse(const char *buf, size_t len, struct agent_config *cfg, char *err,
			size_t errsz)
{
	struct lbx_reader r;
	const char *p;
	size_t n;

	defaults(cfg, err);
	lbx_reader_init(&r, buf, len);
	while (next_word(&r, &p, &n) == 0) {
		char *word = malloc(n + 1);
		size_t wlen = 0;
		int rc = 0;

		if (!word)
			return -ENOMEM;
		for (size_t i = 0; i < n; i++)
			if (p[i] != '"')
				word[wlen++] = p[i];
		word[wlen] = '\0';
		if (is_agent_word(word, wlen))
			rc = apply_word(cfg, word, wlen, err, errsz);
		free(word);
		if (rc)
			return rc;
	}
	return 0;
}

int agent_params_parse_argv(int argc, char *const argv[], struct agent_config *cfg, char *err,
			    size_t errsz)
{
	defaults(cfg, err);
	for (int i = 0; i < argc; i++) {
		size_t n = strlen(argv[i]);
		int rc;

		if (!is_agent_word(argv[i], n)) {
			snprintf(err, errsz, "argument %.64s is not an lbx.KEY=VALUE parameter",
				 argv[i]);
			return -EINVAL;
		}
		rc = apply_word(cfg, argv[i], n, err, errsz);
		if (rc)
			return rc;
	}
	return 0;
}

void agent_config_free(struct agent_config *cfg)
{
	for (int i = 0; i < cfg->argc; i++)
		free(cfg->argv[i]);
	for (int i = 0; i < cfg->envc; i++)
		free(cfg->env[i]);
	free(cfg->cwd);
	free(cfg->home);
	for (int i = 0; i < cfg->nmounts; i++)
		free(cfg->mounts[i].path);
	for (unsigned i = 0; i < cfg->nrw; i++)
		free(cfg->rw_paths[i]);
	for (unsigned i = 0; i < cfg->nro; i++)
		free(cfg->ro_paths[i]);
	memset(cfg, 0, sizeof(*cfg));
}
