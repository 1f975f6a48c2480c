/* SPDX-License-Identifier: MIT */
#include "reader.h"

#include <errno.h>
#include <string.h>

void lbx_reader_init(struct lbx_reader *r, const void *buf, size_t len)
{
	r->buf = buf;
	r->len = buf ? len : 0;
	r->pos = 0;
	r->err = 0;
}

size_t lbx_reader_left(const struct lbx_reader *r)
{
	return r->err ? 0 : r->len - r->pos;
}

size_t lbx_reader_pos(const struct lbx_reader *r)
{
	return r->pos;
}

int lbx_reader_error(const struct lbx_reader *r)
{
	return r->err;
}

static int fail(struct lbx_reader *r, int err)
{
	if (!r->err)
		r->err = err;
	return r->err;
}

/* Reserve n bytes at the cursor; the only place that checks bounds. */
static int take(struct lbx_reader *r, size_t n, const uint8_t **p)
{
	if (r->err)
		return r->err;
	if (n > r->len - r->pos)
		return fail(r, -ENODATA);
	*p = r->buf + r->pos;
	r->pos += n;
	return 0;
}

int lbx_read_u8(struct lbx_reader *r, uint8_t *v)
{
	const uint8_t *p;
	int err = take(r, 1, &p);

	if (!err)
		*v = p[0];
	return err;
}

static uint64_t load_le(const uint8_t *p, size_t n)
{
	uint64_t v = 0;

	while (n--)
		v = (v << 8) | p[n];
	return v;
}

static uint64_t load_be(const uint8_t *p, size_t n)
{
	uint64_t v = 0;

	for (size_t i = 0; i < n; i++)
		v = (v << 8) | p[i];
	return v;
}

#define LBX_READ_INT(name, type, width, loader)                  \
	int name(struct lbx_reader *r, type *v)                  \
	{                                                        \
		const uint8_t *p;                                \
		int err = take(r, width, &p);                    \
		if (!err)                                        \
			*v = (type)loader(p, width);             \
		return err;                                      \
	}

LBX_READ_INT(lbx_read_u16le, uint16_t, 2, load_le)
LBX_READ_INT(lbx_read_u16be, uint16_t, 2, load_be)
LBX_READ_INT(lbx_read_u32le, uint32_t, 4, load_le)
LBX_READ_INT(lbx_read_u32be, uint32_t, 4, load_be)
LBX_READ_INT(lbx_read_u64le, uint64_t, 8, load_le)
LBX_READ_INT(lbx_read_u64be, uint64_t, 8, load_be)

int lbx_read_bytes(struct lbx_reader *r, size_t n, const uint8_t **p)
{
	return take(r, n, p);
}

int lbx_read_copy(struct lbx_reader *r, void *dst, size_t n)
{
	const uint8_t *p;
	int err = take(r, n, &p);

	if (!err && n)
		memcpy(dst, p, n);
	return err;
}

int lbx_read_skip(struct lbx_reader *r, size_t n)
{
	const uint8_t *p;

	return take(r, n, &p);
}

int lbx_read_rest(struct lbx_reader *r, const uint8_t **p, size_t *n)
{
	if (r->err)
		return r->err;
	*n = r->len - r->pos;
	return take(r, *n, p);
}

/* Read a length prefix without consuming anything if the body is short. */
static int read_len(struct lbx_reader *r, enum lbx_lenfmt fmt, size_t max, size_t *n)
{
	static const size_t widths[] = {
		[LBX_LEN_U8] = 1,    [LBX_LEN_U16LE] = 2, [LBX_LEN_U16BE] = 2,
		[LBX_LEN_U32LE] = 4, [LBX_LEN_U32BE] = 4,
	};
	size_t width, left;
	uint64_t len;

	if (r->err)
		return r->err;
	if ((unsigned)fmt >= LBX_ARRAY_SIZE(widths))
		return fail(r, -EINVAL);
	width = widths[fmt];
	left = r->len - r->pos;
	if (width > left)
		return fail(r, -ENODATA);
	if (fmt == LBX_LEN_U16LE || fmt == LBX_LEN_U32LE)
		len = load_le(r->buf + r->pos, width);
	else
		len = load_be(r->buf + r->pos, width);
	if (len > max)
		return fail(r, -EMSGSIZE);
	if (len > left - width)
		return fail(r, -ENODATA);
	r->pos += width;
	*n = (size_t)len;
	return 0;
}

int lbx_read_blob(struct lbx_reader *r, enum lbx_lenfmt fmt, size_t max, const uint8_t **p,
		  size_t *n)
{
	size_t len;
	int err = read_len(r, fmt, max, &len);

	if (err)
		return err;
	*n = len;
	return take(r, len, p);
}

int lbx_read_string(struct lbx_reader *r, enum lbx_lenfmt fmt, char *dst, size_t dstsz)
{
	size_t start = r->pos, len;
	const uint8_t *p;
	int err;

	if (dstsz == 0)
		return fail(r, -EINVAL);
	err = read_len(r, fmt, dstsz - 1, &len);
	if (err)
		return err;
	err = take(r, len, &p);
	if (err)
		return err;
	if (memchr(p, 0, len)) {
		r->pos = start;
		return fail(r, -EBADMSG);
	}
	memcpy(dst, p, len);
	dst[len] = '\0';
	return 0;
}

int lbx_read_cstr(struct lbx_reader *r, size_t max, const char **s, size_t *n)
{
	const uint8_t *start, *nul;
	size_t left;

	if (r->err)
		return r->err;
	start = r->buf + r->pos;
	left = r->len - r->pos;
	nul = memchr(start, 0, LBX_MIN(left, max == SIZE_MAX ? max : max + 1));
	if (!nul)
		return fail(r, left > max ? -EMSGSIZE : -EBADMSG);
	*n = (size_t)(nul - start);
	*s = (const char *)start;
	r->pos += *n + 1;
	return 0;
}

int lbx_read_sub(struct lbx_reader *r, size_t n, struct lbx_reader *sub)
{
	const uint8_t *p;
	int err = take(r, n, &p);

	if (!err)
		lbx_reader_init(sub, p, n);
	return err;
}

int lbx_read_sub_blob(struct lbx_reader *r, enum lbx_lenfmt fmt, size_t max,
		      struct lbx_reader *sub)
{
	const uint8_t *p;
	size_t n;
	int err = lbx_read_blob(r, fmt, max, &p, &n);

	if (!err)
		lbx_reader_init(sub, p, n);
	return err;
}

int lbx_read_end(struct lbx_reader *r)
{
	if (r->err)
		return r->err;
	if (r->pos != r->len)
		return fail(r, -EBADMSG);
	return 0;
}
