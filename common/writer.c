/* SPDX-License-Identifier: MIT */
#include "writer.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

void lbx_writer_init_fixed(struct lbx_writer *w, void *buf, size_t cap)
{
	*w = (struct lbx_writer){ .buf = buf, .cap = cap, .max = cap };
}

void lbx_writer_init_dynamic(struct lbx_writer *w, size_t max)
{
	*w = (struct lbx_writer){ .max = max, .owned = true };
}

void lbx_writer_free(struct lbx_writer *w)
{
	if (w->owned)
		free(w->buf);
	*w = (struct lbx_writer){ 0 };
}

void lbx_writer_reset(struct lbx_writer *w)
{
	w->len = 0;
	w->err = 0;
}

int lbx_writer_error(const struct lbx_writer *w)
{
	return w->err;
}

const uint8_t *lbx_writer_data(const struct lbx_writer *w)
{
	return w->buf;
}

size_t lbx_writer_len(const struct lbx_writer *w)
{
	return w->len;
}

static int fail(struct lbx_writer *w, int err)
{
	if (!w->err)
		w->err = err;
	return w->err;
}

/* Make room for n more bytes; the only place that checks capacity. */
static int room(struct lbx_writer *w, size_t n, uint8_t **p)
{
	if (w->err)
		return w->err;
	if (n > w->max - w->len)
		return fail(w, -ENOSPC);
	if (n > w->cap - w->len) {
		size_t want = w->len + n, cap = w->cap ? w->cap : 64;
		uint8_t *nb;

		if (!w->owned)
			return fail(w, -ENOSPC);
		while (cap < want)
			cap = cap > w->max / 2 ? w->max : cap * 2;
		nb = realloc(w->buf, cap);
		if (!nb)
			return fail(w, -ENOMEM);
		w->buf = nb;
		w->cap = cap;
	}
	*p = w->buf + w->len;
	w->len += n;
	return 0;
}

static void store_le(uint8_t *p, uint64_t v, size_t n)
{
	for (size_t i = 0; i < n; i++, v >>= 8)
		p[i] = (uint8_t)v;
}

static void store_be(uint8_t *p, uint64_t v, size_t n)
{
	while (n--) {
		p[n] = (uint8_t)v;
		v >>= 8;
	}
}

#define LBX_WRITE_INT(name, type, width, storer)                 \
	int name(struct lbx_writer *w, type v)                   \
	{                                                        \
		uint8_t *p;                                      \
		int err = room(w, width, &p);                    \
		if (!err)                                        \
			storer(p, v, width);                     \
		return err;                                      \
	}

LBX_WRITE_INT(lbx_write_u8, uint8_t, 1, store_le)
LBX_WRITE_INT(lbx_write_u16le, uint16_t, 2, store_le)
LBX_WRITE_INT(lbx_write_u16be, uint16_t, 2, store_be)
LBX_WRITE_INT(lbx_write_u32le, uint32_t, 4, store_le)
LBX_WRITE_INT(lbx_write_u32be, uint32_t, 4, store_be)
LBX_WRITE_INT(lbx_write_u64le, uint64_t, 8, store_le)
LBX_WRITE_INT(lbx_write_u64be, uint64_t, 8, store_be)

int lbx_write_bytes(struct lbx_writer *w, const void *src, size_t n)
{
	uint8_t *p;
	int err = room(w, n, &p);

	if (!err && n)
		memcpy(p, src, n);
	return err;
}

int lbx_write_zeros(struct lbx_writer *w, size_t n)
{
	uint8_t *p;
	int err = room(w, n, &p);

	if (!err && n)
		memset(p, 0, n);
	return err;
}

int lbx_write_blob(struct lbx_writer *w, enum lbx_lenfmt fmt, const void *src, size_t n)
{
	size_t width;
	uint64_t limit;
	uint8_t *p;
	int err;

	switch (fmt) {
	case LBX_LEN_U8: width = 1; limit = UINT8_MAX; break;
	case LBX_LEN_U16LE:
	case LBX_LEN_U16BE: width = 2; limit = UINT16_MAX; break;
	case LBX_LEN_U32LE:
	case LBX_LEN_U32BE: width = 4; limit = UINT32_MAX; break;
	default: return fail(w, -EINVAL);
	}
	if (w->err)
		return w->err;
	if (n > limit)
		return fail(w, -EMSGSIZE);
	if (n > SIZE_MAX - width)
		return fail(w, -ENOSPC);
	err = room(w, width + n, &p);
	if (err)
		return err;
	if (fmt == LBX_LEN_U16LE || fmt == LBX_LEN_U32LE)
		store_le(p, n, width);
	else
		store_be(p, n, width);
	if (n)
		memcpy(p + width, src, n);
	return 0;
}

int lbx_write_cstr(struct lbx_writer *w, const char *s)
{
	return lbx_write_bytes(w, s, strlen(s) + 1);
}

int lbx_write_reserve(struct lbx_writer *w, size_t n, size_t *off)
{
	uint8_t *p;
	int err = room(w, n, &p);

	if (!err) {
		memset(p, 0, n);
		*off = (size_t)(p - w->buf);
	}
	return err;
}

static int patch(struct lbx_writer *w, size_t off, uint32_t v, bool le)
{
	if (w->err)
		return w->err;
	if (off > w->len || w->len - off < 4)
		return fail(w, -EINVAL);
	if (le)
		store_le(w->buf + off, v, 4);
	else
		store_be(w->buf + off, v, 4);
	return 0;
}

int lbx_write_patch_u32le(struct lbx_writer *w, size_t off, uint32_t v)
{
	return patch(w, off, v, true);
}

int lbx_write_patch_u32be(struct lbx_writer *w, size_t off, uint32_t v)
{
	return patch(w, off, v, false);
}

void lbx_put_u16le(void *p, uint16_t v)
{
	store_le(p, v, 2);
}

void lbx_put_u32le(void *p, uint32_t v)
{
	store_le(p, v, 4);
}

void lbx_put_u64le(void *p, uint64_t v)
{
	store_le(p, v, 8);
}

void lbx_put_u32be(void *p, uint32_t v)
{
	store_be(p, v, 4);
}
