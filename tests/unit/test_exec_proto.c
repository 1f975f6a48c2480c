/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <signal.h>
#include <string.h>

#include "exec_proto.h"
#include "tap.h"

#define ARGV(...) ((char *const[]){ __VA_ARGS__, NULL })

static void test_roundtrip(void)
{
	struct lbx_writer w;
	struct lbx_reader pl;
	struct exec_request req;
	uint8_t type;
	size_t used;

	lbx_writer_init_dynamic(&w, 1 << 20);
	ok(exec_request_encode(&w, EXEC_F_TTY, 24, 80, "/src", ARGV("make", "-j", "4"),
			       ARGV("A=1", "B=x y")) == 0,
	   "encode EXEC");
	ok(exec_frame_next(lbx_writer_data(&w), lbx_writer_len(&w) - 1, &type, &pl, &used) == 0,
	   "a frame missing its last byte needs more");
	ok(exec_frame_next(lbx_writer_data(&w), lbx_writer_len(&w), &type, &pl, &used) == 1 &&
		   type == EXEC_MSG_EXEC && used == lbx_writer_len(&w),
	   "whole frame found");
	ok(exec_request_decode(&pl, &req) == 0, "decode EXEC");
	ok(req.flags == EXEC_F_TTY && req.rows == 24 && req.cols == 80 && !strcmp(req.cwd, "/src"),
	   "flags, size, cwd");
	ok(req.argc == 3 && !strcmp(req.argv[2], "4") && req.argv[3] == NULL, "argv");
	ok(req.envc == 2 && !strcmp(req.env[1], "B=x y") && req.env[2] == NULL, "env");
	exec_request_free(&req);
	lbx_writer_free(&w);
}

/* Build an EXEC payload by hand to forge fields the encoder would not. */
static int decode_forged(uint32_t version, uint32_t flags, uint32_t argc, const char *arg,
			 uint32_t envc, const char *env, bool trailing)
{
	struct lbx_writer w;
	struct lbx_reader r;
	struct exec_request req;
	int rc;

	lbx_writer_init_dynamic(&w, 4096);
	if (lbx_write_u32le(&w, version) || lbx_write_u32le(&w, flags) ||
	    lbx_write_u16le(&w, 0) || lbx_write_u16le(&w, 0) ||
	    lbx_write_blob(&w, LBX_LEN_U32LE, "", 0) || lbx_write_u32le(&w, argc))
		return -999;
	if (arg && lbx_write_blob(&w, LBX_LEN_U32LE, arg, strlen(arg) + (arg[0] == 'N')))
		return -999;
	if (lbx_write_u32le(&w, envc) ||
	    (env && lbx_write_blob(&w, LBX_LEN_U32LE, env, strlen(env))) ||
	    (trailing && lbx_write_u8(&w, 0)))
		return -999;
	lbx_reader_init(&r, lbx_writer_data(&w), lbx_writer_len(&w));
	rc = exec_request_decode(&r, &req);
	if (rc == 0)
		exec_request_free(&req);
	lbx_writer_free(&w);
	return rc;
}

static void test_forged(void)
{
	static const uint8_t zero_len[] = { 0, 0, 0, 0, 1 };
	static const uint8_t huge[] = { 0xff, 0xff, 0xff, 0x7f, 1 };
	struct lbx_reader pl;
	uint8_t type;
	size_t used;

	is_int(decode_forged(1, 0, 1, "ls", 0, NULL, false), 0, "well-formed forged EXEC");
	is_int(decode_forged(2, 0, 1, "ls", 0, NULL, false), -EPROTO, "unknown version refused");
	is_int(decode_forged(1, 0x80, 1, "ls", 0, NULL, false), -EPROTO, "unknown flag refused");
	is_int(decode_forged(1, 0, 0, NULL, 0, NULL, false), -EBADMSG, "empty argv refused");
	is_int(decode_forged(1, 0, 1000000, "ls", 0, NULL, false), -EBADMSG,
	       "argc larger than the frame can hold refused");
	is_int(decode_forged(1, 0, 1, "N", 0, NULL, false), -EBADMSG, "NUL inside an argument refused");
	is_int(decode_forged(1, 0, 1, "ls", 1, "NOEQUALS", false), -EBADMSG,
	       "env entry without = refused");
	is_int(decode_forged(1, 0, 1, "ls", 1, "=x", false), -EBADMSG, "env entry with empty name refused");
	is_int(decode_forged(1, 0, 1, "ls", 0, NULL, true), -EBADMSG, "trailing byte refused");
	is_int(decode_forged(1, 0, 2, "ls", 0, NULL, false), -ENODATA, "missing argument refused");
	is_int(exec_frame_next(zero_len, sizeof(zero_len), &type, &pl, &used), -EBADMSG,
	       "zero-length frame refused");
	is_int(exec_frame_next(huge, sizeof(huge), &type, &pl, &used), -EBADMSG,
	       "frame over 64 KiB refused before any allocation");
}

static void test_small_messages(void)
{
	uint8_t buf[64], kind;
	struct lbx_writer w;
	struct lbx_reader pl;
	uint16_t rows, cols;
	uint32_t v;
	uint8_t type;
	size_t used;
	char msg[32];

	lbx_writer_init_fixed(&w, buf, sizeof(buf));
	ok(exec_write_u16_pair(&w, EXEC_MSG_RESIZE, 50, 132) == 0, "RESIZE");
	ok(exec_frame_next(buf, lbx_writer_len(&w), &type, &pl, &used) == 1 &&
		   exec_decode_resize(&pl, &rows, &cols) == 0 && rows == 50 && cols == 132,
	   "RESIZE round trip");
	lbx_writer_reset(&w);
	ok(exec_write_exited(&w, EXEC_EXIT_SIGNAL, 9) == 0 &&
		   exec_frame_next(buf, lbx_writer_len(&w), &type, &pl, &used) == 1 &&
		   exec_decode_exited(&pl, &kind, &v) == 0 && kind == EXEC_EXIT_SIGNAL && v == 9,
	   "EXITED round trip");
	buf[5] = 7; /* forge the kind */
	ok(exec_frame_next(buf, lbx_writer_len(&w), &type, &pl, &used) == 1 &&
		   exec_decode_exited(&pl, &kind, &v) == -EBADMSG,
	   "EXITED with an unknown kind refused");
	lbx_writer_reset(&w);
	ok(exec_write_error(&w, "no such thing") == 0 &&
		   exec_frame_next(buf, lbx_writer_len(&w), &type, &pl, &used) == 1 &&
		   type == EXEC_MSG_ERROR && exec_decode_error(&pl, msg, sizeof(msg)) == 0 &&
		   !strcmp(msg, "no such thing"),
	   "ERROR round trip");
	ok(exec_proto_signal_allowed(SIGINT) && exec_proto_signal_allowed(SIGKILL) &&
		   !exec_proto_signal_allowed(SIGSEGV) && !exec_proto_signal_allowed(0) &&
		   !exec_proto_signal_allowed(1000),
	   "signal allowlist");
	lbx_writer_init_fixed(&w, buf, sizeof(buf));
	ok(exec_frame_write(&w, EXEC_MSG_STDOUT, buf, EXEC_FRAME_MAX) == -EMSGSIZE,
	   "a frame over the maximum is not written");
}

int main(void)
{
	test_roundtrip();
	test_forged();
	test_small_messages();
	return tap_done();
}
