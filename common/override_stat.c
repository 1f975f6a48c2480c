/* SPDX-License-Identifier: MIT */
/* Ownership records of a box root tree (override_stat.h). */
#include "override_stat.h"

#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "reader.h"

static bool take_num(const char **p, const char *end, unsigned base, uint32_t *v)
{
	uint64_t n = 0;
	const char *s = *p;

	while (s < end && *s >= '0' && *s < (char)('0' + base)) {
		n = n * base + (uint64_t)(*s - '0');
		if (n > UINT32_MAX)
			return false;
		s++;
	}
	if (s == *p)
		return false;
	*v = (uint32_t)n;
	*p = s;
	return true;
}

static bool take_char(const char **p, const char *end, char c)
{
	if (*p >= end || **p != c)
		return false;
	(*p)++;
	return true;
}

static bool take_word(const char **p, const char *end, const char *w)
{
	size_t n = strlen(w);

	if ((size_t)(end - *p) < n || memcmp(*p, w, n))
		return false;
	*p += n;
	return true;
}

static bool take_dev(const char **p, const char *end, dev_t *rdev)
{
	uint32_t ma, mi;

	if (!take_num(p, end, 10, &ma) || !take_char(p, end, '-') || !take_num(p, end, 10, &mi))
		return false;
	*rdev = makedev(ma, mi);
	return true;
}

static const struct {
	const char *word;
	mode_t type;
} kinds[] = {
	{ "file", S_IFREG }, { "dir", S_IFDIR },     { "symlink", S_IFLNK },
	{ "pipe", S_IFIFO }, { "socket", S_IFSOCK },
};

static bool take_type(const char **p, const char *end, mode_t *type, dev_t *rdev)
{
	if (take_word(p, end, "char-")) {
		*type = S_IFCHR;
		return take_dev(p, end, rdev);
	}
	if (take_word(p, end, "block-")) {
		*type = S_IFBLK;
		return take_dev(p, end, rdev);
	}
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
		if (take_word(p, end, kinds[i].word)) {
			*type = kinds[i].type;
			return true;
		}
	return false;
}

int lbx_override_parse(const char *s, size_t n, struct lbx_override *ov)
{
	const char *p = s, *end = s + n;
	uint32_t mode;
	mode_t type = 0;

	memset(ov, 0, sizeof(*ov));
	if (!take_num(&p, end, 10, &ov->uid) || !take_char(&p, end, ':') ||
	    !take_num(&p, end, 10, &ov->gid) || !take_char(&p, end, ':') ||
	    !take_num(&p, end, 8, &mode) || mode > 0177777)
		return -EINVAL;
	if (take_char(&p, end, ':') && !take_type(&p, end, &type, &ov->rdev))
		return -EINVAL;
	if (p != end)
		return -EINVAL;
	ov->mode = type | (mode & 07777);
	return 0;
}

int lbx_override_format(const struct lbx_override *ov, char *buf, size_t size)
{
	unsigned perm = (unsigned)(ov->mode & 07777);
	int n;

	switch (ov->mode & S_IFMT) {
	case S_IFCHR:
	case S_IFBLK:
		n = snprintf(buf, size, "%u:%u:0%o:%s-%u-%u", ov->uid, ov->gid, perm,
			     S_ISCHR(ov->mode) ? "char" : "block", major(ov->rdev),
			     minor(ov->rdev));
		break;
	case S_IFIFO:
	case S_IFSOCK:
		n = snprintf(buf, size, "%u:%u:0%o:%s", ov->uid, ov->gid, perm,
			     S_ISFIFO(ov->mode) ? "pipe" : "socket");
		break;
	default: n = snprintf(buf, size, "%u:%u:0%o", ov->uid, ov->gid, perm);
	}
	return n < 0 || (size_t)n >= size ? -ENOSPC : n;
}

/* One record of a names value: where it starts, its name and its value. */
struct names_rec {
	size_t start, end;
	const char *name, *val;
	size_t vlen;
};

/* The next record, 1; 0 at the end; -EINVAL if malformed. */
static int names_next(struct lbx_reader *r, struct names_rec *rec)
{
	size_t nlen;

	if (!lbx_reader_left(r))
		return 0;
	rec->start = lbx_reader_pos(r);
	if (lbx_read_cstr(r, NAME_MAX, &rec->name, &nlen) ||
	    lbx_read_cstr(r, LBX_OVERRIDE_VALUE_MAX, &rec->val, &rec->vlen) || nlen == 0 ||
	    memchr(rec->name, '/', nlen))
		return -EINVAL;
	rec->end = lbx_reader_pos(r);
	return 1;
}

/* Where name's record is: 1 and *rec, 0 if none, -EINVAL. */
static int names_locate(const char *val, size_t n, const char *name, struct names_rec *rec)
{
	struct lbx_reader r;
	int k;

	lbx_reader_init(&r, val, n);
	while ((k = names_next(&r, rec)) > 0)
		if (!strcmp(rec->name, name))
			return 1;
	return k;
}

int lbx_override_names_find(const char *val, size_t n, const char *name, struct lbx_override *ov)
{
	struct names_rec rec;
	int k = names_locate(val, n, name, &rec);

	if (k <= 0)
		return k ? k : -ENOENT;
	return lbx_override_parse(rec.val, rec.vlen, ov);
}

int lbx_override_names_set(char *val, size_t n, size_t cap, const char *name,
			   const struct lbx_override *ov)
{
	char rec_val[LBX_OVERRIDE_VALUE_MAX];
	struct lbx_override plain;
	struct names_rec rec;
	size_t nlen = strlen(name);
	int k = names_locate(val, n, name, &rec), vlen;

	if (k < 0)
		return k;
	if (nlen == 0 || nlen > NAME_MAX || strchr(name, '/'))
		return -EINVAL;
	if (k) {
		memmove(val + rec.start, val + rec.end, n - rec.end);
		n -= rec.end - rec.start;
	}
	if (!ov)
		return (int)n;
	plain = *ov;
	plain.mode &= 07777; /* the object on disk is of its own type */
	vlen = lbx_override_format(&plain, rec_val, sizeof(rec_val));
	if (vlen < 0 || n + nlen + 1 + (size_t)vlen + 1 > cap)
		return -ENOSPC;
	memcpy(val + n, name, nlen + 1);
	memcpy(val + n + nlen + 1, rec_val, (size_t)vlen + 1);
	return (int)(n + nlen + 1 + (size_t)vlen + 1);
}
