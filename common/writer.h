/* SPDX-License-Identifier: MIT */
/*
 * Bounds-checked writer: the counterpart of reader.h for building replies.
 *
 * A writer either wraps a fixed buffer or owns a growable one with a hard
 * ceiling, so a peer can never make us allocate without limit. Failures are
 * sticky, like the reader's: after the first failure nothing more is
 * written and every call returns that error.
 *
 * Errors: -ENOSPC (fixed buffer or ceiling reached), -ENOMEM, -EINVAL.
 */
#ifndef LBX_WRITER_H
#define LBX_WRITER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "compiler.h"
#include "reader.h"

struct lbx_writer {
	uint8_t *buf;
	size_t len;
	size_t cap;
	size_t max;
	bool owned;
	int err;
};

void lbx_writer_init_fixed(struct lbx_writer *w, void *buf, size_t cap);
/* Growable, never larger than max bytes. */
void lbx_writer_init_dynamic(struct lbx_writer *w, size_t max);
void lbx_writer_free(struct lbx_writer *w);
/* Forget the contents, keep the buffer (and clear a sticky error). */
void lbx_writer_reset(struct lbx_writer *w);
int lbx_writer_error(const struct lbx_writer *w);
const uint8_t *lbx_writer_data(const struct lbx_writer *w);
size_t lbx_writer_len(const struct lbx_writer *w);

LBX_MUST_CHECK int lbx_write_u8(struct lbx_writer *w, uint8_t v);
LBX_MUST_CHECK int lbx_write_u16le(struct lbx_writer *w, uint16_t v);
LBX_MUST_CHECK int lbx_write_u16be(struct lbx_writer *w, uint16_t v);
LBX_MUST_CHECK int lbx_write_u32le(struct lbx_writer *w, uint32_t v);
LBX_MUST_CHECK int lbx_write_u32be(struct lbx_writer *w, uint32_t v);
LBX_MUST_CHECK int lbx_write_u64le(struct lbx_writer *w, uint64_t v);
LBX_MUST_CHECK int lbx_write_u64be(struct lbx_writer *w, uint64_t v);
LBX_MUST_CHECK int lbx_write_bytes(struct lbx_writer *w, const void *p, size_t n);
LBX_MUST_CHECK int lbx_write_zeros(struct lbx_writer *w, size_t n);
/* A length prefix in fmt followed by the bytes. -EMSGSIZE if n does not fit fmt. */
LBX_MUST_CHECK int lbx_write_blob(struct lbx_writer *w, enum lbx_lenfmt fmt, const void *p,
				  size_t n);
/* A C string with its terminating NUL. */
LBX_MUST_CHECK int lbx_write_cstr(struct lbx_writer *w, const char *s);
/* Reserve n bytes to fill in later (e.g. a length field); *off is their offset. */
LBX_MUST_CHECK int lbx_write_reserve(struct lbx_writer *w, size_t n, size_t *off);
/* Overwrite a reserved little/big-endian u32 at off. */
LBX_MUST_CHECK int lbx_write_patch_u32le(struct lbx_writer *w, size_t off, uint32_t v);
LBX_MUST_CHECK int lbx_write_patch_u32be(struct lbx_writer *w, size_t off, uint32_t v);

/* Store helpers for fixed-layout structures that are not streamed. */
void lbx_put_u16le(void *p, uint16_t v);
void lbx_put_u32le(void *p, uint32_t v);
void lbx_put_u64le(void *p, uint64_t v);
void lbx_put_u32be(void *p, uint32_t v);

#endif
