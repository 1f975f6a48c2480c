/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for common/reader.c. The input is both a script and
 * data: each step takes one op byte from the front and applies it to the
 * reader over the rest. After every step the reader's invariants must
 * hold: the cursor never passes the end, a failed call consumes nothing,
 * errors stay sticky, and returned pointers lie inside the buffer.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "reader.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                \
	do {                       \
		if (!(cond))       \
			abort();   \
	} while (0)

static void check_span(const uint8_t *buf, size_t len, const void *p, size_t n)
{
	const uint8_t *b = p;

	CHECK(n <= len);
	CHECK(n == 0 || (b >= buf && b + n <= buf + len));
}

static int step(struct lbx_reader *r, uint8_t op, const uint8_t *buf, size_t len)
{
	const uint8_t *p = NULL;
	const char *s = NULL;
	size_t n = 0, max = (size_t)(op >> 4) * 7;
	uint64_t v64;
	uint32_t v32;
	uint16_t v16;
	uint8_t v8;
	char str[32];
	struct lbx_reader sub;
	int err;

	switch (op & 15) {
	case 0: return lbx_read_u8(r, &v8);
	case 1: return lbx_read_u16le(r, &v16);
	case 2: return lbx_read_u16be(r, &v16);
	case 3: return lbx_read_u32le(r, &v32);
	case 4: return lbx_read_u32be(r, &v32);
	case 5: return lbx_read_u64le(r, &v64);
	case 6: return lbx_read_u64be(r, &v64);
	case 7:
		err = lbx_read_bytes(r, max, &p);
		if (!err)
			check_span(buf, len, p, max);
		return err;
	case 8:
		err = lbx_read_blob(r, (enum lbx_lenfmt)(op >> 4) % 5, 4096, &p, &n);
		if (!err)
			check_span(buf, len, p, n);
		return err;
	case 9:
		err = lbx_read_string(r, (enum lbx_lenfmt)(op >> 4) % 5, str, sizeof(str));
		if (!err)
			CHECK(strlen(str) < sizeof(str));
		return err;
	case 10:
		err = lbx_read_cstr(r, max, &s, &n);
		if (!err) {
			check_span(buf, len, s, n + 1);
			CHECK(n <= max && s[n] == '\0' && strlen(s) == n);
		}
		return err;
	case 11:
		err = lbx_read_sub_blob(r, LBX_LEN_U8, 255, &sub);
		while (!err && lbx_reader_left(&sub) > 0)
			err = lbx_read_u8(&sub, &v8);
		if (!err)
			CHECK(lbx_read_end(&sub) == 0);
		return lbx_reader_error(r);
	case 12: return lbx_read_skip(r, max);
	case 13:
		err = lbx_read_rest(r, &p, &n);
		if (!err)
			check_span(buf, len, p, n);
		return err;
	case 14: return lbx_read_end(r);
	default: return lbx_read_copy(r, str, max % sizeof(str));
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* First half of the input drives, the second half is read. */
	size_t nops = size / 2;
	const uint8_t *buf = data + nops;
	size_t len = size - nops;
	struct lbx_reader r;
	int first_err = 0;

	lbx_reader_init(&r, buf, len);
	for (size_t i = 0; i < nops; i++) {
		size_t before = lbx_reader_pos(&r);
		int err = step(&r, data[i], buf, len);

		CHECK(lbx_reader_pos(&r) <= len);
		CHECK(err <= 0);
		if (err) {
			CHECK(err == -ENODATA || err == -EMSGSIZE || err == -EBADMSG ||
			      err == -EINVAL);
			/* A failed call consumes nothing. */
			CHECK(lbx_reader_pos(&r) == before);
			if (first_err)
				CHECK(err == first_err);
			else
				first_err = err;
			CHECK(lbx_reader_error(&r) == first_err);
		} else {
			CHECK(first_err == 0);
		}
	}
	return 0;
}
