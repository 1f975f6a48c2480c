/* SPDX-License-Identifier: MIT */
#include "cmdline.h"

#include <errno.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "reader.h"

static int hexval(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

char *agent_percent_decode(const char *src, size_t n)
{
	struct lbx_reader r;
	char *out = malloc(n + 1);
	size_t o = 0;
	uint8_t c, h, l;

	if (!out)
		return NULL;
	lbx_reader_init(&r, src, n);
	while (lbx_reader_left(&r) > 0) {
		if (lbx_read_u8(&r, &c))
			goto bad;
		if (c == '%') {
			if (lbx_read_u8(&r, &h) || lbx_read_u8(&r, &l))
				goto bad;
			if (hexval(h) < 0 || hexval(l) < 0)
				goto bad;
			c = (uint8_t)(hexval(h) << 4 | hexval(l));
			/* A NUL would silently cut the argument short. */
			if (c == 0)
				goto bad;
		}
		out[o++] = (char)c;
	}
	out[o] = '\0';
	return out;
bad:
	free(out);
	return NULL;
}

/*
 * Next parameter: words separated by spaces (or newlines); double quotes
 * group spaces into a word, as the kernel's own parser does.
 */
static int next_param(struct lbx_reader *r, const char **p, size_t *n)
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

/* Copy a parameter value with the quotes the kernel syntax allows removed. */
static size_t unquote(const char *v, size_t n, char *dst)
{
	size_t o = 0;

	for (size_t i = 0; i < n; i++)
		if (v[i] != '"')
			dst[o++] = v[i];
	return o;
}

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

static int parse_uint(const char *s, size_t n, unsigned long *v)
{
	*v = 0;
	if (n == 0 || n > 10)
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -EINVAL;
		*v = *v * 10 + (unsigned long)(s[i] - '0');
	}
	return 0;
}

static bool valid_username(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
		      (s[i] >= '0' && s[i] <= '9') || s[i] == '_' || s[i] == '.' ||
		      (s[i] == '-' && i > 0)))
			return false;
	return true;
}

/* TAG:PATH[:ro], PATH percent-encoded like lbx.argv values. */
static int parse_mount(struct agent_config *cfg, const char *val, size_t vlen, char *err,
		       size_t errsz)
{
	const char *colon = memchr(val, ':', vlen), *path, *end = val + vlen;
	struct agent_mount *m;
	bool ro = false;

	if (cfg->nmounts >= AGENT_MAX_MOUNTS) {
		snprintf(err, errsz, "more than %d lbx.mount parameters", AGENT_MAX_MOUNTS);
		return -E2BIG;
	}
	if (!colon || colon == val || (size_t)(colon - val) >= sizeof(m->tag)) {
		snprintf(err, errsz, "lbx.mount: expected TAG:PATH[:ro] with a tag of 1-36 bytes");
		return -EINVAL;
	}
	path = colon + 1;
	if (end - path > 3 && !memcmp(end - 3, ":ro", 3)) {
		ro = true;
		end -= 3;
	} else if (end - path > 3 && !memcmp(end - 3, ":rw", 3)) {
		end -= 3;
	}
	m = &cfg->mounts[cfg->nmounts];
	m->path = agent_percent_decode(path, (size_t)(end - path));
	if (!m->path || m->path[0] != '/' || strstr(m->path, "/../") || strchr(m->path, ':')) {
		free(m->path);
		m->path = NULL;
		snprintf(err, errsz, "lbx.mount: the path must be absolute, without '..' or ':'");
		return -EINVAL;
	}
	memcpy(m->tag, val, (size_t)(colon - val));
	m->tag[colon - val] = '\0';
	m->read_only = ro;
	cfg->nmounts++;
	return 0;
}

/* CIDR,GATEWAY,DNS; each checked again by agent_net_configure when it is used. */
int agent_parse_net(struct agent_config *cfg, const char *val, size_t vlen, char *err,
		    size_t errsz)
{
	char buf[128], *save = NULL, *cidr, *gw, *dns;

	if (vlen >= sizeof(buf)) {
		snprintf(err, errsz, "lbx.net: too long");
		return -EINVAL;
	}
	memcpy(buf, val, vlen);
	buf[vlen] = '\0';
	cidr = strtok_r(buf, ",", &save);
	gw = strtok_r(NULL, ",", &save);
	dns = strtok_r(NULL, ",", &save);
	if (!cidr || !gw || !dns || strtok_r(NULL, ",", &save) || strlen(cidr) >= sizeof(cfg->net_cidr) ||
	    strlen(gw) >= sizeof(cfg->net_gw) || strlen(dns) >= sizeof(cfg->net_dns) ||
	    !strchr(cidr, '/')) {
		snprintf(err, errsz, "lbx.net: expected ADDRESS/PREFIX,GATEWAY,DNS");
		return -EINVAL;
	}
	strcpy(cfg->net_cidr, cidr);
	strcpy(cfg->net_gw, gw);
	strcpy(cfg->net_dns, dns);
	return 0;
}

static int apply(struct agent_config *cfg, const char *key, size_t klen, const char *val,
		 size_t vlen, char *err, size_t errsz)
{
#define KEY_IS(k) (klen == sizeof(k) - 1 && !memcmp(key, k, klen))
	char *dec;

	if (KEY_IS("lbx.hostname")) {
		if (vlen > AGENT_HOSTNAME_MAX) {
			snprintf(err, errsz, "lbx.hostname is longer than %d bytes",
				 AGENT_HOSTNAME_MAX);
			return -EINVAL;
		}
		memcpy(cfg->hostname, val, vlen);
		cfg->hostname[vlen] = '\0';
		if (!valid_hostname(cfg->hostname)) {
			snprintf(err, errsz, "lbx.hostname has characters other than A-Z a-z 0-9 - .");
			return -EINVAL;
		}
		return 0;
	}
	if (KEY_IS("lbx.tty")) {
		cfg->tty = vlen == 1 && val[0] == '1';
		return 0;
	}
	if (KEY_IS("lbx.root")) {
		cfg->allow_root = !(vlen == 1 && val[0] == '0');
		return 0;
	}
	if (KEY_IS("lbx.serve") || KEY_IS("lbx.notify") || KEY_IS("lbx.ssh") ||
	    KEY_IS("lbx.uid") || KEY_IS("lbx.gid")) {
		unsigned long v;

		if (parse_uint(val, vlen, &v) < 0 || v > UINT32_MAX - 1 ||
		    ((KEY_IS("lbx.serve") || KEY_IS("lbx.notify") || KEY_IS("lbx.ssh")) &&
		     (v == 0 || v > UINT32_MAX - 2))) {
			snprintf(err, errsz, "%.*s: expected a number", (int)klen, key);
			return -EINVAL;
		}
		if (KEY_IS("lbx.serve"))
			cfg->serve_port = (unsigned)v;
		else if (KEY_IS("lbx.notify"))
			cfg->notify_port = (unsigned)v;
		else if (KEY_IS("lbx.ssh"))
			cfg->ssh_port = (unsigned)v;
		else if (KEY_IS("lbx.uid"))
			cfg->uid = (unsigned)v;
		else
			cfg->gid = (unsigned)v;
		return 0;
	}
	if (KEY_IS("lbx.user")) {
		if (vlen == 0 || vlen >= sizeof(cfg->user) || !valid_username(val, vlen)) {
			snprintf(err, errsz, "lbx.user: expected 1-32 of a-z A-Z 0-9 _ . -");
			return -EINVAL;
		}
		memcpy(cfg->user, val, vlen);
		cfg->user[vlen] = '\0';
		return 0;
	}
	if (KEY_IS("lbx.mount"))
		return parse_mount(cfg, val, vlen, err, errsz);
	if (KEY_IS("lbx.net"))
		return agent_parse_net(cfg, val, vlen, err, errsz);
	if (KEY_IS("lbx.rootfs")) {
		if (vlen == 0 || vlen >= sizeof(cfg->rootfs) || memchr(val, '%', vlen)) {
			snprintf(err, errsz, "lbx.rootfs: expected a virtio-fs tag of 1-36 bytes");
			return -EINVAL;
		}
		memcpy(cfg->rootfs, val, vlen);
		cfg->rootfs[vlen] = '\0';
		return 0;
	}
	if (KEY_IS("lbx.elsewhere")) {
		if (vlen == 2 && !memcmp(val, "ro", 2)) {
			cfg->elsewhere_readable = true;
		} else if (vlen == 4 && !memcmp(val, "none", 4)) {
			cfg->elsewhere_readable = false;
		} else {
			snprintf(err, errsz, "lbx.elsewhere: expected ro or none");
			return -EINVAL;
		}
		return 0;
	}
	if (KEY_IS("lbx.rw") || KEY_IS("lbx.ro")) {
		bool rw = KEY_IS("lbx.rw");
		unsigned *n = rw ? &cfg->nrw : &cfg->nro;
		char *path = agent_percent_decode(val, vlen);

		if (!path || path[0] != '/' || *n >= AGENT_MAX_PATHS) {
			free(path);
			snprintf(err, errsz, "%.*s: expected an absolute path (at most %d)", (int)klen,
				 key, AGENT_MAX_PATHS);
			return -EINVAL;
		}
		(rw ? cfg->rw_paths : cfg->ro_paths)[(*n)++] = path;
		return 0;
	}
	if (!KEY_IS("lbx.argv") && !KEY_IS("lbx.env") && !KEY_IS("lbx.cwd") &&
	    !KEY_IS("lbx.home")) {
		snprintf(err, errsz, "unknown parameter %.*s", (int)LBX_MIN(klen, 64), key);
		return -EINVAL;
	}
	dec = agent_percent_decode(val, vlen);
	if (!dec) {
		snprintf(err, errsz, "%.*s has a bad %%XX escape", (int)klen, key);
		return -EINVAL;
	}
	if (KEY_IS("lbx.cwd") || KEY_IS("lbx.home")) {
		char **slot = KEY_IS("lbx.cwd") ? &cfg->cwd : &cfg->home;

		if (dec[0] != '/') {
			snprintf(err, errsz, "%.*s: expected an absolute path", (int)klen, key);
			free(dec);
			return -EINVAL;
		}
		free(*slot);
		*slot = dec;
	} else if (KEY_IS("lbx.argv")) {
		if (cfg->argc >= AGENT_MAX_ARGS) {
			free(dec);
			snprintf(err, errsz, "more than %d lbx.argv parameters", AGENT_MAX_ARGS);
			return -E2BIG;
		}
		cfg->argv[cfg->argc++] = dec;
	} else {
		if (cfg->envc >= AGENT_MAX_ENV || !strchr(dec, '=') || dec[0] == '=') {
			snprintf(err, errsz, "lbx.env: too many or not of the form KEY=VALUE");
			free(dec);
			return -EINVAL;
		}
		cfg->env[cfg->envc++] = dec;
	}
	return 0;
#undef KEY_IS
}

int agent_cmdline_parse(const char *buf, size_t len, struct agent_config *cfg, char *err,
			size_t errsz)
{
	struct lbx_reader r;
	const char *p;
	size_t n;

	memset(cfg, 0, sizeof(*cfg));
	snprintf(cfg->hostname, sizeof(cfg->hostname), "lbx");
	snprintf(cfg->user, sizeof(cfg->user), "root");
	cfg->allow_root = true;
	cfg->elsewhere_readable = true;
	err[0] = '\0';
	lbx_reader_init(&r, buf, len);
	while (next_param(&r, &p, &n) == 0) {
		char *param = malloc(n + 1);
		size_t plen, klen;
		const char *eq;
		int rc;

		if (!param)
			return -ENOMEM;
		plen = unquote(p, n, param);
		param[plen] = '\0';
		if (plen < 4 || memcmp(param, "lbx.", 4) != 0) {
			free(param);
			continue;
		}
		eq = memchr(param, '=', plen);
		if (!eq) {
			snprintf(err, errsz, "parameter %.*s has no value", (int)LBX_MIN(plen, 64),
				 param);
			free(param);
			return -EINVAL;
		}
		klen = (size_t)(eq - param);
		rc = apply(cfg, param, klen, eq + 1, plen - klen - 1, err, errsz);
		free(param);
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
