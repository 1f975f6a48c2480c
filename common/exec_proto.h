/* SPDX-License-Identifier: MIT */
/*
 * The exec protocol between lbx (host) and lbx-agent (guest), one session
 * per stream connection (vsock in a VM, a unix socket in a container).
 *
 * Every frame is
 *
 *     u32le len     bytes that follow (type + payload), 1..EXEC_FRAME_MAX
 *     u8    type
 *     payload
 *
 * Strings are u32le length + bytes, no NUL inside. Host to agent:
 *
 *   EXEC      u32 version, u32 flags (EXEC_F_*), u16 rows, u16 cols,
 *             string cwd (may be empty: the agent's default),
 *             u32 argc, argc strings, u32 envc, envc strings ("K=V")
 *   STDIN     bytes for the command's stdin
 *   STDIN_EOF close the command's stdin
 *   RESIZE    u16 rows, u16 cols (tty sessions)
 *   SIGNAL    u32 signal number (see exec_proto_signal_allowed)
 *   POWEROFF  (empty; instead of EXEC) stop every process and power the
 *             box off; the agent closes the stream when it starts to
 *
 * Agent to host:
 *
 *   STARTED   u32 pid (in the guest)
 *   STDOUT    bytes
 *   STDERR    bytes
 *   ERROR     string: why the command could not be started or run
 *   EXITED    u8 kind (EXEC_EXIT_CODE or EXEC_EXIT_SIGNAL), u32 value;
 *             sent after all output, then the agent closes the stream
 *
 * A session is EXEC first, then any of STDIN, STDIN_EOF, RESIZE, SIGNAL.
 * Both sides treat the peer's bytes as hostile: a malformed frame ends the
 * session (the command is killed) and nothing else.
 */
#ifndef LBX_EXEC_PROTO_H
#define LBX_EXEC_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "compiler.h"
#include "reader.h"
#include "writer.h"

#define EXEC_PROTO_VERSION 1
#define EXEC_FRAME_MAX (64 * 1024)
#define EXEC_HEADER_SIZE 5
#define EXEC_MAX_ARGS 4096
#define EXEC_MAX_ENV 4096
#define EXEC_MAX_STRING 65536
/* The default vsock port of the agent's exec service. */
#define EXEC_VSOCK_PORT 1024

enum exec_type {
	EXEC_MSG_EXEC = 1,
	EXEC_MSG_STDIN = 2,
	EXEC_MSG_STDIN_EOF = 3,
	EXEC_MSG_RESIZE = 4,
	EXEC_MSG_SIGNAL = 5,
	EXEC_MSG_POWEROFF = 6,

	EXEC_MSG_STARTED = 0x81,
	EXEC_MSG_STDOUT = 0x82,
	EXEC_MSG_STDERR = 0x83,
	EXEC_MSG_ERROR = 0x84,
	EXEC_MSG_EXITED = 0x85,
};

#define EXEC_F_TTY 0x1u	 /* run on a pty: stdout carries both streams */
#define EXEC_F_ROOT 0x2u /* run as root instead of the box user */
#define EXEC_F_ALL (EXEC_F_TTY | EXEC_F_ROOT)

enum exec_exit_kind {
	EXEC_EXIT_CODE = 0,
	EXEC_EXIT_SIGNAL = 1,
};

/* A decoded EXEC request; strings point into the frame buffer. */
struct exec_request {
	uint32_t version;
	uint32_t flags;
	uint16_t rows, cols;
	const char *cwd;
	uint32_t argc, envc;
	char **argv; /* argc + 1 entries, NULL-terminated, heap */
	char **env;  /* envc + 1 entries, NULL-terminated, heap */
};

/*
 * Frame assembly from a byte stream: returns 1 and the frame's type and
 * payload when buf holds a whole frame (*used: bytes it took), 0 when more
 * bytes are needed, -EBADMSG for a length of 0 or above EXEC_FRAME_MAX.
 */
LBX_MUST_CHECK int exec_frame_next(const uint8_t *buf, size_t len, uint8_t *type,
				   struct lbx_reader *payload, size_t *used);

/* EXEC payload; on success release with exec_request_free. */
LBX_MUST_CHECK int exec_request_decode(struct lbx_reader *r, struct exec_request *req);
void exec_request_free(struct exec_request *req);
LBX_MUST_CHECK int exec_request_encode(struct lbx_writer *w, uint32_t flags, uint16_t rows,
				       uint16_t cols, const char *cwd, char *const *argv,
				       char *const *env);

LBX_MUST_CHECK int exec_decode_resize(struct lbx_reader *r, uint16_t *rows, uint16_t *cols);
LBX_MUST_CHECK int exec_decode_signal(struct lbx_reader *r, uint32_t *signo);
LBX_MUST_CHECK int exec_decode_started(struct lbx_reader *r, uint32_t *pid);
LBX_MUST_CHECK int exec_decode_exited(struct lbx_reader *r, uint8_t *kind, uint32_t *value);
/* ERROR payload into dst (escaped of nothing; the caller escapes on output). */
LBX_MUST_CHECK int exec_decode_error(struct lbx_reader *r, char *dst, size_t dstsz);

/* Append one frame of type with payload p[0..n) (n may be 0). */
LBX_MUST_CHECK int exec_frame_write(struct lbx_writer *w, uint8_t type, const void *p, size_t n);
LBX_MUST_CHECK int exec_write_u16_pair(struct lbx_writer *w, uint8_t type, uint16_t a,
				       uint16_t b);
LBX_MUST_CHECK int exec_write_u32(struct lbx_writer *w, uint8_t type, uint32_t v);
LBX_MUST_CHECK int exec_write_exited(struct lbx_writer *w, uint8_t kind, uint32_t value);
LBX_MUST_CHECK int exec_write_error(struct lbx_writer *w, const char *msg);

/* Signals a host may deliver to a session's command. */
bool exec_proto_signal_allowed(uint32_t signo);

#endif
