/* SPDX-License-Identifier: MIT */
#include "known_hosts.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent_proto.h"
#include "fingerprint.h"
#include "reader.h"

struct kh_line {
	bool revoked;
	bool ca;
	const uint8_t *names;
	size_t names_len;
	uint8_t key[SSHP_KEYBLOB_MAX];
	size_t key_len;
};

/* Bytes up to (not including) stop or the end; a stop byte is consumed too. */
static int take_until(struct lbx_reader *r, uint8_t stop, const uint8_t **p, size_t *n)
{
	struct lbx_reader probe = *r;
	uint8_t c;
	int err;

	*n = 0;
	while (lbx_read_u8(&probe, &c) == 0 && c != stop)
		(*n)++;
	err = lbx_read_bytes(r, *n, p);
	if (!err && lbx_reader_left(r))
		err = lbx_read_skip(r, 1);
	return err;
}

/* The next line of r (without its newline) as a reader of its own. */
static bool next_line(struct lbx_reader *r, struct lbx_reader *line)
{
	const uint8_t *p;
	size_t n;

	if (lbx_reader_left(r) == 0 || take_until(r, '\n', &p, &n))
		return false;
	lbx_reader_init(line, p, n);
	return true;
}

static bool is_space(uint8_t c)
{
	return c == ' ' || c == '\t' || c == '\r';
}

/* The next run of non-blank bytes; false at the end of the line. */
static bool next_field(struct lbx_reader *line, const uint8_t **p, size_t *n)
{
	struct lbx_reader probe;
	uint8_t c;

	for (;;) {
		probe = *line;
		if (lbx_read_u8(&probe, &c))
			return false;
		if (!is_space(c))
			break;
		*line = probe;
	}
	probe = *line;
	*n = 0;
	while (lbx_read_u8(&probe, &c) == 0 && !is_space(c))
		(*n)++;
	return lbx_read_bytes(line, *n, p) == 0;
}

static bool field_is(const uint8_t *p, size_t n, const char *s)
{
	return n == strlen(s) && memcmp(p, s, n) == 0;
}

/* [marker] names keytype base64key [comment]; false for blank, comment, junk. */
static bool parse_line(struct lbx_reader *line, struct kh_line *out)
{
	const uint8_t *p;
	size_t n;
	long len;

	out->revoked = out->ca = false;
	if (!next_field(line, &p, &n) || p[0] == '#')
		return false;
	if (p[0] == '@') {
		out->revoked = field_is(p, n, "@revoked");
		out->ca = field_is(p, n, "@cert-authority");
		if (!out->revoked && !out->ca)
			return false;
		if (!next_field(line, &p, &n))
			return false;
	}
	out->names = p;
	out->names_len = n;
	if (!next_field(line, &p, &n) || !next_field(line, &p, &n))
		return false;
	len = sshp_b64_decode((const char *)p, n, out->key, sizeof(out->key));
	if (len <= 0)
		return false;
	out->key_len = (size_t)len;
	return true;
}

/* "|1|salt|hash": is name's HMAC-SHA1 under salt equal to hash? */
static bool hashed_match(const uint8_t *p, size_t n, const char *name)
{
	uint8_t salt[64], hash[64], md[EVP_MAX_MD_SIZE];
	const uint8_t *magic, *s64, *h64;
	size_t s64n, h64n;
	unsigned int mdlen = 0;
	struct lbx_reader r;
	long slen, hlen;

	lbx_reader_init(&r, p, n);
	if (lbx_read_bytes(&r, 3, &magic) || memcmp(magic, "|1|", 3) != 0)
		return false;
	if (take_until(&r, '|', &s64, &s64n) || lbx_read_rest(&r, &h64, &h64n))
		return false;
	slen = sshp_b64_decode((const char *)s64, s64n, salt, sizeof(salt));
	hlen = sshp_b64_decode((const char *)h64, h64n, hash, sizeof(hash));
	if (slen <= 0 || hlen != 20)
		return false;
	if (!HMAC(EVP_sha1(), salt, (int)slen, (const unsigned char *)name, strlen(name), md,
		  &mdlen))
		return false;
	return mdlen == 20 && memcmp(md, hash, 20) == 0;
}

/* Split "[host]:port" or "host" into host and port (22 if absent). */
static bool split_name(const uint8_t *p, size_t n, char *host, size_t hostsz, unsigned *port)
{
	char buf[SSHP_NAME_MAX], *close, *end;
	long v;

	if (n == 0 || n >= sizeof(buf))
		return false;
	memcpy(buf, p, n);
	buf[n] = '\0';
	*port = 22;
	if (buf[0] != '[')
		return (size_t)snprintf(host, hostsz, "%s", buf) < hostsz;
	close = strchr(buf, ']');
	if (!close || close[1] != ':')
		return false;
	v = strtol(close + 2, &end, 10);
	if (*end || v < 1 || v > 65535)
		return false;
	*port = (unsigned)v;
	*close = '\0';
	return (size_t)snprintf(host, hostsz, "%s", buf + 1) < hostsz;
}

/*
 * The name a hashed entry would hold for d, or false if d is a wildcard.
 * ssh hashes the lower-cased host name, as "[host]:port" off port 22.
 */
static bool hashed_name(const struct sshp_dest *d, char *buf, size_t bufsz)
{
	int n;

	if (!sshp_dest_host_is_literal(d))
		return false;
	if (d->port == 0 || d->port == 22)
		n = snprintf(buf, bufsz, "%s", d->host);
	else
		n = snprintf(buf, bufsz, "[%s]:%u", d->host, d->port);
	if (n < 0 || (size_t)n >= bufsz)
		return false;
	for (char *p = buf; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	return true;
}

/* Does one name of a line (plain or hashed) match d? */
static bool name_matches(const uint8_t *p, size_t n, const struct sshp_dest *d, char *name,
			 size_t namesz)
{
	char host[SSHP_NAME_MAX], hn[2 * SSHP_NAME_MAX];
	unsigned port;

	if (n && p[0] == '|') {
		if (!hashed_name(d, hn, sizeof(hn)) || !hashed_match(p, n, hn))
			return false;
		if (name)
			snprintf(name, namesz, "%s", hn);
		return true;
	}
	/* "!name" only excludes a name from a wildcard entry; never grants. */
	if (n && p[0] == '!')
		return false;
	if (!split_name(p, n, host, sizeof(host), &port) || !sshp_dest_match_host(d, host, port))
		return false;
	if (name)
		snprintf(name, namesz, "%.*s", (int)n, (const char *)p);
	return true;
}

typedef bool (*name_fn)(const uint8_t *p, size_t n, void *ctx);

/* Call fn for each comma-separated name of a line until it returns true. */
static bool each_name(const struct kh_line *l, name_fn fn, void *ctx)
{
	struct lbx_reader r;
	const uint8_t *p;
	size_t n;

	lbx_reader_init(&r, l->names, l->names_len);
	while (lbx_reader_left(&r)) {
		if (take_until(&r, ',', &p, &n))
			return false;
		if (fn(p, n, ctx))
			return true;
	}
	return false;
}

struct match_ctx {
	const struct sshp_dest *d;
	char *name;
	size_t namesz;
};

static bool match_one(const uint8_t *p, size_t n, void *ctx)
{
	struct match_ctx *m = ctx;

	if (!m->d)
		return n && p[0] != '|' && p[0] != '!' && n < m->namesz &&
		       snprintf(m->name, m->namesz, "%.*s", (int)n, (const char *)p) > 0;
	return name_matches(p, n, m->d, m->name, m->namesz);
}

/* Scan text for lines holding hostkey; d NULL: any plain name will do. */
static bool scan(const char *text, size_t len, const uint8_t *key, size_t keylen,
		 struct match_ctx *m)
{
	struct lbx_reader r, line;
	struct kh_line *l = malloc(sizeof(*l));
	bool found = false, revoked = false;

	if (!l)
		return false;
	lbx_reader_init(&r, text, len);
	while (!revoked && next_line(&r, &line)) {
		if (!parse_line(&line, l) || l->key_len != keylen || memcmp(l->key, key, keylen))
			continue;
		if (l->revoked)
			revoked = true;
		else if (!l->ca && !found)
			found = each_name(l, match_one, m);
	}
	free(l);
	return found && !revoked;
}

bool sshp_kh_match(const char *text, size_t len, const uint8_t *hostkey, size_t keylen,
		   const struct sshp_dest *d, char *name, size_t namesz)
{
	struct match_ctx m = { .d = d, .name = name, .namesz = namesz };

	return scan(text, len, hostkey, keylen, &m);
}

bool sshp_kh_first_name(const char *text, size_t len, const uint8_t *hostkey, size_t keylen,
			char *name, size_t namesz)
{
	struct match_ctx m = { .d = NULL, .name = name, .namesz = namesz };

	return namesz > 0 && scan(text, len, hostkey, keylen, &m);
}

int sshp_kh_read_file(const char *path, char **text, size_t *len)
{
	size_t cap = 64 * 1024, n = 0;
	char *buf = malloc(cap), *grown;
	int fd = open(path, O_RDONLY | O_CLOEXEC), err = 0;

	if (fd < 0 || !buf) {
		err = fd < 0 ? -errno : -ENOMEM;
		goto fail;
	}
	for (;;) {
		ssize_t got;

		if (n == cap) {
			if (cap >= SSHP_KH_FILE_MAX) {
				err = -EFBIG;
				goto fail;
			}
			cap *= 2;
			grown = realloc(buf, cap);
			if (!grown) {
				err = -ENOMEM;
				goto fail;
			}
			buf = grown;
		}
		got = read(fd, buf + n, cap - n);
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0) {
			err = -errno;
			goto fail;
		}
		if (got == 0)
			break;
		n += (size_t)got;
	}
	close(fd);
	*text = buf;
	*len = n;
	return 0;
fail:
	if (fd >= 0)
		close(fd);
	free(buf);
	return err;
}
