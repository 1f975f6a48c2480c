/* SPDX-License-Identifier: MIT */
/*
 * The Wayland wire format (wayland docs, "Wire Format"): a message is a
 * 32-bit object id, then a 32-bit word with the size in bytes (high 16
 * bits, header included) and the opcode (low 16), then the arguments,
 * each padded to 32 bits. fds travel beside the bytes (SCM_RIGHTS), in
 * message order. Decoding goes through common/reader.h.
 */
#ifndef WLP_WIRE_H
#define WLP_WIRE_H

#include <stddef.h>
#include <stdint.h>

#include "compiler.h"
#include "wl_proto.h"
#include "writer.h"

#define WLP_HEADER 8
/* libwayland's connection buffer: no message is larger. */
#define WLP_MSG_MAX  4096
#define WLP_MAX_ARGS 24
/* First id a server allocates (wayland docs: "Object IDs"). */
#define WLP_SERVER_ID_MIN 0xff000000u

struct wlp_val {
	uint32_t u;	  /* i u f o n: the value; h: unused */
	uint32_t version; /* n without interface: the version */
	const char *str;  /* s, n without interface: the string (NULL: null) */
	size_t len;	  /* s: strlen; a: bytes */
	const uint8_t *p; /* a: the bytes */
};

struct wlp_header {
	uint32_t id;
	uint16_t opcode;
	uint16_t size;
};

/*
 * The header at the start of buf: 0, -EAGAIN if fewer than a whole
 * message's bytes are there yet, -EBADMSG for a size below 8, not a
 * multiple of 4 or above WLP_MSG_MAX.
 */
LBX_MUST_CHECK int wlp_header(const uint8_t *buf, size_t len, struct wlp_header *h);

/*
 * The arguments of m in body (len bytes, after the header) into vals
 * (WLP_MAX_ARGS). Checks sizes, string terminators, nulls where the
 * protocol allows none, and that nothing trails. *nfds: how many fds
 * the message carries. 0 or -EBADMSG.
 */
LBX_MUST_CHECK int wlp_decode(const struct wlp_msg *m, const uint8_t *body, size_t len,
			      struct wlp_val *vals, unsigned *nfds);

/* The message id/opcode with vals as m describes them (fds not included). */
LBX_MUST_CHECK int wlp_encode(struct lbx_writer *w, uint32_t id, uint16_t opcode,
			      const struct wlp_msg *m, const struct wlp_val *vals);

#endif
