/* SPDX-License-Identifier: MIT */
/*
 * Bounds-checked reader for untrusted bytes.
 *
 * Every byte lbx receives from a guest, a vsock peer, a Wayland or SSH agent
 * client, a USB device or a config file is read through this API, never by
 * indexing a buffer by hand. Each call either consumes exactly what it
 * returns or fails and consumes nothing. Failures are sticky: once a read
 * fails, every later read on the same reader fails with the same error, so a
 * parser cannot continue on a misaligned stream by accident. Results are
 * marked warn_unused_result.
 *
 * Errors (negative errno):
 *   -ENODATA   fewer bytes left than the field needs (truncated input)
 *   -EMSGSIZE  a length prefix is larger than the caller's limit
 *   -EBADMSG   malformed content (missing NUL, embedded NUL, trailing bytes)
 */
#ifndef LBX_READER_H
#define LBX_READER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "compiler.h"

struct lbx_reader {
	const uint8_t *buf;
	size_t len;
	size_t pos;
	int err;
};

/* Width and byte order of a length prefix. */
enum lbx_lenfmt {
	LBX_LEN_U8,
	LBX_LEN_U16LE,
	LBX_LEN_U16BE,
	LBX_LEN_U32LE,
	LBX_LEN_U32BE,
};

void lbx_reader_init(struct lbx_reader *r, const void *buf, size_t len);
size_t lbx_reader_left(const struct lbx_reader *r);
size_t lbx_reader_pos(const struct lbx_reader *r);
/* 0, or the first error this reader hit. */
int lbx_reader_error(const struct lbx_reader *r);

LBX_MUST_CHECK int lbx_read_u8(struct lbx_reader *r, uint8_t *v);
LBX_MUST_CHECK int lbx_read_u16le(struct lbx_reader *r, uint16_t *v);
LBX_MUST_CHECK int lbx_read_u16be(struct lbx_reader *r, uint16_t *v);
LBX_MUST_CHECK int lbx_read_u32le(struct lbx_reader *r, uint32_t *v);
LBX_MUST_CHECK int lbx_read_u32be(struct lbx_reader *r, uint32_t *v);
LBX_MUST_CHECK int lbx_read_u64le(struct lbx_reader *r, uint64_t *v);
LBX_MUST_CHECK int lbx_read_u64be(struct lbx_reader *r, uint64_t *v);

/* n bytes in place: *p points into the reader's buffer. */
LBX_MUST_CHECK int lbx_read_bytes(struct lbx_reader *r, size_t n, const uint8_t **p);
/* n bytes copied to dst. */
LBX_MUST_CHECK int lbx_read_copy(struct lbx_reader *r, void *dst, size_t n);
LBX_MUST_CHECK int lbx_read_skip(struct lbx_reader *r, size_t n);
/* Everything that is left (may be zero bytes). */
LBX_MUST_CHECK int lbx_read_rest(struct lbx_reader *r, const uint8_t **p, size_t *n);

/* A length-prefixed blob; fails with -EMSGSIZE if the length exceeds max. */
LBX_MUST_CHECK int lbx_read_blob(struct lbx_reader *r, enum lbx_lenfmt fmt, size_t max,
				 const uint8_t **p, size_t *n);
/*
 * A length-prefixed string copied into dst as a C string. Rejects embedded
 * NULs (-EBADMSG) and strings that do not fit dst with their NUL (-EMSGSIZE).
 */
LBX_MUST_CHECK int lbx_read_string(struct lbx_reader *r, enum lbx_lenfmt fmt, char *dst,
				   size_t dstsz);
/*
 * A NUL-terminated string in place, at most max bytes before the NUL.
 * *s points into the buffer and is terminated; *n excludes the NUL.
 */
LBX_MUST_CHECK int lbx_read_cstr(struct lbx_reader *r, size_t max, const char **s, size_t *n);

/* The next n bytes as a reader of their own (nested messages). */
LBX_MUST_CHECK int lbx_read_sub(struct lbx_reader *r, size_t n, struct lbx_reader *sub);
/* A length-prefixed nested message as a reader of its own. */
LBX_MUST_CHECK int lbx_read_sub_blob(struct lbx_reader *r, enum lbx_lenfmt fmt, size_t max,
				     struct lbx_reader *sub);
/* 0 if every byte was consumed, else -EBADMSG (trailing garbage). */
LBX_MUST_CHECK int lbx_read_end(struct lbx_reader *r);

#endif
