/* SPDX-License-Identifier: MIT */
#include "pattern.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

static bool same(char a, char b, bool icase)
{
	if (icase)
		return tolower((unsigned char)a) == tolower((unsigned char)b);
	return a == b;
}

/*
 * Greedy matching with one backtrack point: on a mismatch, let the last
 * '*' swallow one more character. O(len(pat) * len(s)), no recursion, so a
 * hostile pattern cannot blow up.
 */
bool sshp_glob(const char *pat, const char *s, bool icase)
{
	const char *star = NULL, *resume = NULL;

	while (*s) {
		if (*pat == '*') {
			star = pat++;
			resume = s;
		} else if (*pat && (*pat == '?' || same(*pat, *s, icase))) {
			pat++;
			s++;
		} else if (star) {
			pat = star + 1;
			s = ++resume;
		} else {
			return false;
		}
	}
	while (*pat == '*')
		pat++;
	return *pat == '\0';
}

static bool printable(const char *s)
{
	for (; *s; s++)
		if (*s <= ' ' || *s > '~')
			return false;
	return true;
}

static int copy_part(char *dst, const char *src, size_t n)
{
	if (n == 0 || n >= SSHP_NAME_MAX)
		return -EINVAL;
	memcpy(dst, src, n);
	dst[n] = '\0';
	return 0;
}

/* "[host]:port" or "host". */
static int parse_host(const char *s, struct sshp_dest *d)
{
	const char *close;
	char *end;
	long port;

	d->port = 0;
	if (*s != '[')
		return strpbrk(s, "[]") ? -EINVAL : copy_part(d->host, s, strlen(s));
	close = strchr(s, ']');
	if (!close || close[1] != ':' || !isdigit((unsigned char)close[2]))
		return -EINVAL;
	port = strtol(close + 2, &end, 10);
	if (*end || port < 1 || port > 65535)
		return -EINVAL;
	d->port = (unsigned)port;
	return copy_part(d->host, s + 1, (size_t)(close - s - 1));
}

int sshp_dest_parse(const char *s, struct sshp_dest *d)
{
	const char *at = strrchr(s, '@');
	int err;

	memset(d, 0, sizeof(*d));
	if (!printable(s))
		return -EINVAL;
	if (!at) {
		strcpy(d->user, "*");
		return parse_host(s, d);
	}
	err = copy_part(d->user, s, (size_t)(at - s));
	return err ? err : parse_host(at + 1, d);
}

bool sshp_dest_host_is_literal(const struct sshp_dest *d)
{
	return !strpbrk(d->host, "*?");
}

bool sshp_dest_match_user(const struct sshp_dest *d, const char *user)
{
	return sshp_glob(d->user, user, false);
}

bool sshp_dest_match_host(const struct sshp_dest *d, const char *host, unsigned port)
{
	if (d->port && d->port != port)
		return false;
	return sshp_glob(d->host, host, true);
}
