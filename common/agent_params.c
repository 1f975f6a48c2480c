/* SPDX-License-Identifier: MIT */
#include "agent_params.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "reader.h"

static const char *const names[AP_COUNT] = {
	[AP_HOSTNAME] = "hostname", [AP_ARGV] = "argv",
	[AP_ENV] = "env",	    [AP_CWD] = "cwd",
	[AP_TTY] = "tty",	    [AP_SERVE] = "serve",
	[AP_NOTIFY] = "notify",	    [AP_SSH] = "ssh",
	[AP_UID] = "uid",	    [AP_GID] = "gid",
	[AP_USER] = "user",	    [AP_HOME] = "home",
	[AP_ROOT] = "root",	    [AP_ROOTFS] = "rootfs",
	[AP_MOUNT] = "mount",	    [AP_RW] = "rw",
	[AP_RO] = "ro",		    [AP_ELSEWHERE] = "elsewhere",
	[AP_NET] = "net",	    [AP_NET_STREAM] = "net-stream",
	[AP_FS_GUARD] = "fs-guard",
	[AP_USB] = "usb",
	[AP_WAYLAND] = "wayland",
};

const char *agent_param_name(enum agent_param k)
{
	return (unsigned)k < AP_COUNT ? names[k] : "?";
}

int agent_param_lookup(const char *key, size_t n)
{
	for (int k = 0; k < AP_COUNT; k++)
		if (strlen(names[k]) == n && !memcmp(names[k], key, n))
			return k;
	return -1;
}

static bool plain(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       (c && strchr("/_.,:=+@-", c));
}

char *agent_param_word(enum agent_param k, const char *value)
{
	static const char hex[] = "0123456789ABCDEF";
	const char *name = agent_param_name(k);
	size_t len = strlen(AGENT_PARAM_PREFIX) + strlen(name) + 1 + 3 * strlen(value) + 1;
	char *out = malloc(len), *o;

	if (!out)
		return NULL;
	o = out + sprintf(out, "%s%s=", AGENT_PARAM_PREFIX, name);
	for (const unsigned char *s = (const unsigned char *)value; *s; s++) {
		if (plain(*s)) {
			*o++ = (char)*s;
		} else {
			*o++ = '%';
			*o++ = hex[*s >> 4];
			*o++ = hex[*s & 15];
		}
	}
	*o = '\0';
	return out;
}

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

char *agent_param_decode(const char *src, size_t n)
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
			/* A NUL would silently cut the value short. */
			if (c == 0)
				goto bad;
		}
		if (c == 0)
			goto bad;
		out[o++] = (char)c;
	}
	out[o] = '\0';
	return out;
bad:
	free(out);
	return NULL;
}
