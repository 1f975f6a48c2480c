/* SPDX-License-Identifier: MIT */
/*
 * Framing of the agent byte stream (RFC 9987 "Protocol Messages": uint32
 * length, then that many bytes). An input buffer holds at most one
 * message of the proxy's cap plus its length, and grows only as far as the
 * message it is receiving needs, so a peer cannot make the proxy buffer
 * more than that per direction.
 */
#ifndef SSHP_MSGBUF_H
#define SSHP_MSGBUF_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "compiler.h"

struct sshp_inbuf {
	uint8_t *buf;
	size_t len;
	size_t cap;
	size_t max_body;
};

void sshp_inbuf_init(struct sshp_inbuf *b, size_t max_body);
void sshp_inbuf_free(struct sshp_inbuf *b);
/*
 * read(2) what fits. Returns bytes read, 0 at EOF, -EAGAIN, -ENOSPC when
 * the buffer is full, or another -errno.
 */
ssize_t sshp_inbuf_read(struct sshp_inbuf *b, int fd);
/*
 * A complete message at the head? 1 with body and len set (type byte and
 * contents), 0 if more bytes are needed, -EMSGSIZE for a zero or too-large
 * length (the stream cannot be resynchronised).
 */
LBX_MUST_CHECK int sshp_inbuf_message(struct sshp_inbuf *b, const uint8_t **body, size_t *len);
/* Drop the message at the head (after sshp_inbuf_message returned 1). */
void sshp_inbuf_consume(struct sshp_inbuf *b);
/* Does the buffer hold a complete message? (No error reported.) */
int sshp_inbuf_has_message(struct sshp_inbuf *b);

#endif
