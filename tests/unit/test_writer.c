/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <string.h>

#include "reader.h"
#include "tap.h"
#include "writer.h"

static void test_fixed(void)
{
	uint8_t buf[8];
	struct lbx_writer w;

	lbx_writer_init_fixed(&w, buf, sizeof(buf));
	ok(lbx_write_u16be(&w, 0x0102) == 0 && lbx_write_u32le(&w, 0x06050403) == 0,
	   "two integers");
	ok(!memcmp(buf, "\x01\x02\x03\x04\x05\x06", 6), "big and little endian bytes");
	is_int(lbx_write_u32be(&w, 1), -ENOSPC, "overflowing a fixed buffer is -ENOSPC");
	is_int(lbx_writer_len(&w), 6, "failed write adds nothing");
	is_int(lbx_write_u8(&w, 1), -ENOSPC, "writer error is sticky");
	lbx_writer_reset(&w);
	ok(lbx_write_u64le(&w, 0x1122334455667788ULL) == 0 && buf[0] == 0x88 && buf[7] == 0x11,
	   "reset clears the error; u64le");
}

static void test_dynamic_roundtrip(void)
{
	struct lbx_writer w;
	struct lbx_reader r;
	const uint8_t *p;
	size_t n, off;
	uint32_t v;
	char s[32];

	lbx_writer_init_dynamic(&w, 4096);
	ok(lbx_write_reserve(&w, 4, &off) == 0, "reserve a length field");
	ok(lbx_write_blob(&w, LBX_LEN_U32BE, "ssh-ed25519", 11) == 0, "SSH string");
	ok(lbx_write_blob(&w, LBX_LEN_U8, "x", 1) == 0, "u8 string");
	for (int i = 0; i < 500; i++)
		if (lbx_write_u64be(&w, (uint64_t)i))
			break;
	is_int(lbx_writer_error(&w), 0, "grew past the initial allocation");
	ok(lbx_write_patch_u32be(&w, off, (uint32_t)(lbx_writer_len(&w) - 4)) == 0,
	   "patch length");

	lbx_reader_init(&r, lbx_writer_data(&w), lbx_writer_len(&w));
	ok(lbx_read_u32be(&r, &v) == 0 && v == lbx_writer_len(&w) - 4, "patched length reads back");
	ok(lbx_read_string(&r, LBX_LEN_U32BE, s, sizeof(s)) == 0 && !strcmp(s, "ssh-ed25519"),
	   "string reads back");
	ok(lbx_read_blob(&r, LBX_LEN_U8, 1, &p, &n) == 0 && n == 1 && p[0] == 'x',
	   "u8 blob reads back");
	is_int(lbx_write_patch_u32le(&w, lbx_writer_len(&w) - 2, 0), -EINVAL,
	       "patch past the end is -EINVAL");
	lbx_writer_free(&w);

	lbx_writer_init_dynamic(&w, 10);
	is_int(lbx_write_zeros(&w, 11), -ENOSPC, "dynamic writer stops at its ceiling");
	lbx_writer_free(&w);
	lbx_writer_init_dynamic(&w, 1000);
	ok(lbx_write_zeros(&w, 1000) == 0 && lbx_writer_len(&w) == 1000, "exactly the ceiling");
	lbx_writer_free(&w);
}

static void test_blob_limits(void)
{
	static uint8_t big[300];
	uint8_t buf[512];
	struct lbx_writer w;

	lbx_writer_init_fixed(&w, buf, sizeof(buf));
	is_int(lbx_write_blob(&w, LBX_LEN_U8, big, sizeof(big)), -EMSGSIZE,
	       "300 bytes do not fit a u8 length");
	lbx_writer_init_fixed(&w, buf, sizeof(buf));
	ok(lbx_write_blob(&w, LBX_LEN_U16LE, big, sizeof(big)) == 0 && buf[0] == 0x2c &&
		   buf[1] == 0x01,
	   "u16le length prefix");
	ok(lbx_write_cstr(&w, "ab") == 0 && lbx_writer_len(&w) == 305, "cstr with NUL");
}

static void test_put(void)
{
	uint8_t b[8] = { 0 };

	lbx_put_u32be(b, 0xa1b2c3d4);
	ok(b[0] == 0xa1 && b[3] == 0xd4, "put_u32be");
	lbx_put_u16le(b, 0x1234);
	ok(b[0] == 0x34 && b[1] == 0x12, "put_u16le");
	lbx_put_u64le(b, 0x0102030405060708ULL);
	ok(b[0] == 8 && b[7] == 1, "put_u64le");
	lbx_put_u32le(b, 0xdeadbeef);
	ok(b[0] == 0xef && b[3] == 0xde, "put_u32le");
}

int main(void)
{
	test_fixed();
	test_dynamic_roundtrip();
	test_blob_limits();
	test_put();
	return tap_done();
}
