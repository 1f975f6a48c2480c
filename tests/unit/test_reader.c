/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <string.h>

#include "reader.h"
#include "tap.h"

static void test_integers(void)
{
	static const uint8_t buf[] = { 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09 };
	struct lbx_reader r;
	uint16_t v16;
	uint32_t v32;
	uint64_t v64;
	uint8_t v8;

	lbx_reader_init(&r, buf, sizeof(buf));
	ok(lbx_read_u16le(&r, &v16) == 0 && v16 == 0x0201, "u16le");
	ok(lbx_read_u16be(&r, &v16) == 0 && v16 == 0x0304, "u16be");
	ok(lbx_read_u32le(&r, &v32) == 0 && v32 == 0x08070605, "u32le");
	ok(lbx_read_u8(&r, &v8) == 0 && v8 == 0x09, "u8");
	is_int(lbx_reader_left(&r), 0, "all consumed");
	ok(lbx_read_end(&r) == 0, "end after exact consumption");

	lbx_reader_init(&r, buf, sizeof(buf));
	ok(lbx_read_u64be(&r, &v64) == 0 && v64 == 0x0102030405060708ULL, "u64be");
	lbx_reader_init(&r, buf, sizeof(buf));
	ok(lbx_read_u64le(&r, &v64) == 0 && v64 == 0x0807060504030201ULL, "u64le");
	lbx_reader_init(&r, buf, sizeof(buf));
	ok(lbx_read_u32be(&r, &v32) == 0 && v32 == 0x01020304, "u32be");
}

static void test_truncation_is_sticky(void)
{
	static const uint8_t buf[] = { 0xaa, 0xbb, 0xcc };
	struct lbx_reader r;
	uint32_t v32 = 0x12345678;
	uint8_t v8 = 0;

	lbx_reader_init(&r, buf, sizeof(buf));
	is_int(lbx_read_u32le(&r, &v32), -ENODATA, "u32 from 3 bytes is -ENODATA");
	ok(v32 == 0x12345678, "failed read leaves the output untouched");
	is_int(lbx_reader_pos(&r), 0, "failed read consumes nothing");
	is_int(lbx_read_u8(&r, &v8), -ENODATA, "error is sticky: later u8 fails too");
	is_int(lbx_reader_error(&r), -ENODATA, "reader remembers its first error");
	is_int(lbx_reader_left(&r), 0, "a failed reader has nothing left");
}

static void test_empty_and_null(void)
{
	struct lbx_reader r;
	const uint8_t *p = NULL;
	size_t n = 99;
	uint8_t v;

	lbx_reader_init(&r, NULL, 100);
	is_int(lbx_reader_left(&r), 0, "NULL buffer has length 0");
	is_int(lbx_read_u8(&r, &v), -ENODATA, "read from empty fails");
	lbx_reader_init(&r, "", 0);
	ok(lbx_read_rest(&r, &p, &n) == 0 && n == 0, "rest of empty buffer is 0 bytes");
	ok(lbx_read_end(&r) == 0, "empty buffer ends cleanly");
}

static void test_blobs(void)
{
	/* SSH-style string: u32be length 3, "abc", then u8 length 5 but only 2 bytes. */
	static const uint8_t buf[] = { 0, 0, 0, 3, 'a', 'b', 'c', 5, 'x', 'y' };
	struct lbx_reader r;
	const uint8_t *p;
	size_t n;

	lbx_reader_init(&r, buf, sizeof(buf));
	ok(lbx_read_blob(&r, LBX_LEN_U32BE, 16, &p, &n) == 0 && n == 3 && !memcmp(p, "abc", 3),
	   "u32be-prefixed blob");
	is_int(lbx_read_blob(&r, LBX_LEN_U8, 16, &p, &n), -ENODATA,
	       "length prefix beyond the buffer is -ENODATA");
	is_int(lbx_reader_pos(&r), 7, "truncated blob consumes neither prefix nor body");

	lbx_reader_init(&r, buf, sizeof(buf));
	is_int(lbx_read_blob(&r, LBX_LEN_U32BE, 2, &p, &n), -EMSGSIZE,
	       "blob longer than the caller's max is -EMSGSIZE");

	/* A length of 0xffffffff must not wrap any arithmetic. */
	static const uint8_t huge[] = { 0xff, 0xff, 0xff, 0xff, 1 };
	lbx_reader_init(&r, huge, sizeof(huge));
	is_int(lbx_read_blob(&r, LBX_LEN_U32LE, SIZE_MAX, &p, &n), -ENODATA,
	       "4 GiB length on a 5-byte buffer is -ENODATA");
	lbx_reader_init(&r, huge, sizeof(huge));
	is_int(lbx_read_blob(&r, (enum lbx_lenfmt)42, 10, &p, &n), -EINVAL,
	       "unknown length format is -EINVAL");

	static const uint8_t le16[] = { 2, 0, 'h', 'i' };
	lbx_reader_init(&r, le16, sizeof(le16));
	ok(lbx_read_blob(&r, LBX_LEN_U16LE, 2, &p, &n) == 0 && n == 2 && p[1] == 'i',
	   "u16le-prefixed blob at exactly max");
	static const uint8_t be16[] = { 0, 1, 'q' };
	lbx_reader_init(&r, be16, sizeof(be16));
	ok(lbx_read_blob(&r, LBX_LEN_U16BE, 9, &p, &n) == 0 && n == 1 && p[0] == 'q',
	   "u16be-prefixed blob");
}

static void test_strings(void)
{
	static const uint8_t good[] = { 4, 'r', 'o', 'o', 't' };
	static const uint8_t nul[] = { 3, 'a', 0, 'b' };
	struct lbx_reader r;
	char small[4], big[16];

	lbx_reader_init(&r, good, sizeof(good));
	ok(lbx_read_string(&r, LBX_LEN_U8, big, sizeof(big)) == 0 && !strcmp(big, "root"),
	   "string copied and terminated");
	lbx_reader_init(&r, good, sizeof(good));
	is_int(lbx_read_string(&r, LBX_LEN_U8, small, sizeof(small)), -EMSGSIZE,
	       "string that does not fit with its NUL is -EMSGSIZE");
	lbx_reader_init(&r, nul, sizeof(nul));
	is_int(lbx_read_string(&r, LBX_LEN_U8, big, sizeof(big)), -EBADMSG,
	       "embedded NUL is -EBADMSG");
	is_int(lbx_read_string(&r, LBX_LEN_U8, big, 0), -EBADMSG,
	       "sticky error reported before argument checks");
}

static void test_cstr(void)
{
	static const char buf[] = "name\0x";
	struct lbx_reader r;
	const char *s;
	size_t n;

	lbx_reader_init(&r, buf, sizeof(buf) - 1); /* "name\0x" without final NUL */
	ok(lbx_read_cstr(&r, 255, &s, &n) == 0 && n == 4 && !strcmp(s, "name"), "cstr found");
	is_int(lbx_reader_left(&r), 1, "cstr consumed its NUL");
	is_int(lbx_read_cstr(&r, 255, &s, &n), -EBADMSG, "unterminated cstr is -EBADMSG");

	lbx_reader_init(&r, buf, sizeof(buf) - 1);
	is_int(lbx_read_cstr(&r, 3, &s, &n), -EMSGSIZE, "cstr longer than max is -EMSGSIZE");
	lbx_reader_init(&r, buf, sizeof(buf) - 1);
	ok(lbx_read_cstr(&r, 4, &s, &n) == 0 && n == 4, "cstr of exactly max bytes");
}

static void test_sub_and_end(void)
{
	static const uint8_t buf[] = { 0, 3, 0xde, 0xad, 0xbe, 0xef };
	struct lbx_reader r, sub;
	uint16_t v16;
	uint8_t v8;
	const uint8_t *p;
	size_t n;

	lbx_reader_init(&r, buf, sizeof(buf));
	ok(lbx_read_sub_blob(&r, LBX_LEN_U16BE, 8, &sub) == 0, "nested message");
	ok(lbx_read_u16be(&sub, &v16) == 0 && v16 == 0xdead, "read inside nested");
	is_int(lbx_read_end(&sub), -EBADMSG, "trailing byte in nested is -EBADMSG");
	is_int(lbx_read_u16le(&sub, &v16), -EBADMSG, "nested stays failed");
	ok(lbx_read_u8(&r, &v8) == 0 && v8 == 0xef, "outer unaffected by nested failure");

	lbx_reader_init(&r, buf, sizeof(buf));
	is_int(lbx_read_sub(&r, 7, &sub), -ENODATA, "sub longer than buffer");
	lbx_reader_init(&r, buf, sizeof(buf));
	ok(lbx_read_skip(&r, 2) == 0 && lbx_read_rest(&r, &p, &n) == 0 && n == 4 && p[0] == 0xde,
	   "skip then rest");
	lbx_reader_init(&r, buf, sizeof(buf));
	is_int(lbx_read_skip(&r, SIZE_MAX), -ENODATA, "skip SIZE_MAX does not wrap");
	uint8_t copy[3];
	lbx_reader_init(&r, buf, sizeof(buf));
	ok(lbx_read_copy(&r, copy, 3) == 0 && copy[2] == 0xde, "copy");
}

int main(void)
{
	test_integers();
	test_truncation_is_sticky();
	test_empty_and_null();
	test_blobs();
	test_strings();
	test_cstr();
	test_sub_and_end();
	return tap_done();
}
