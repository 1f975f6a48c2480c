/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for common/exec_proto.c: the input is a byte stream as
 * either side of an exec session would receive it. Every frame is cut out
 * and decoded with the decoder for its type, as the agent and the client
 * do; decoded requests must satisfy the protocol's invariants.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "exec_proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_request(const struct exec_request *req)
{
	if (req->argc == 0 || req->argc > EXEC_MAX_ARGS || req->argv[req->argc])
		abort();
	if (req->envc > EXEC_MAX_ENV || req->env[req->envc] || (req->flags & ~EXEC_F_ALL))
		abort();
	for (uint32_t i = 0; i < req->envc; i++)
		if (!strchr(req->env[i], '=') || req->env[i][0] == '=')
			abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	while (size > 0) {
		struct exec_request req;
		struct lbx_reader pl;
		uint16_t a, b;
		uint32_t v;
		uint8_t type, kind;
		size_t used;
		char msg[256];

		if (exec_frame_next(data, size, &type, &pl, &used) != 1)
			break;
		if (used > size || used < 5)
			abort();
		switch (type) {
		case EXEC_MSG_EXEC:
			if (exec_request_decode(&pl, &req) == 0) {
				check_request(&req);
				exec_request_free(&req);
			}
			break;
		case EXEC_MSG_RESIZE:
			(void)!exec_decode_resize(&pl, &a, &b);
			break;
		case EXEC_MSG_SIGNAL:
			if (exec_decode_signal(&pl, &v) == 0)
				(void)exec_proto_signal_allowed(v);
			break;
		case EXEC_MSG_STARTED:
			(void)!exec_decode_started(&pl, &v);
			break;
		case EXEC_MSG_EXITED:
			if (exec_decode_exited(&pl, &kind, &v) == 0 && kind > EXEC_EXIT_SIGNAL)
				abort();
			break;
		case EXEC_MSG_ERROR:
			if (exec_decode_error(&pl, msg, sizeof(msg)) == 0 && strlen(msg) >= sizeof(msg))
				abort();
			break;
		default:
			break;
		}
		data += used;
		size -= used;
	}
	return 0;
}
