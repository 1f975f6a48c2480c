/* SPDX-License-Identifier: MIT */
/*
 * Length-prefixed frames on a byte stream: each frame is a 4-byte
 * big-endian length and that many bytes. It is how Ethernet frames cross a
 * unix socket between the light engine's tap relay (lbx-agent) and
 * lbx-netd, and the format of QEMU's -netdev stream and passt.
 *
 * Frames are read in place from a byte queue the caller fills with
 * lbx_bq_read_fd. The peer is hostile: the length is checked against the
 * caller's maximum, and a length of zero or past it means the stream is out
 * of step and must be closed (there is no way to find the next frame).
 */
#ifndef LBX_LENFRAME_H
#define LBX_LENFRAME_H

#include <stddef.h>
#include <stdint.h>

#include "bytequeue.h"
#include "compiler.h"

#define LBX_LENFRAME_HDR 4

/*
 * The frame at the head of q: 1 with *frame (pointing into q) and *len set,
 * to be dropped with lbx_lenframe_consume once used; 0 when the frame is not
 * complete yet; -EBADMSG for a length of 0 or over max (that length in
 * *len, for the log). The length is judged as soon as its 4 bytes are in.
 */
LBX_MUST_CHECK int lbx_lenframe_peek(const struct lbx_bq *q, uint32_t max, const uint8_t **frame,
				     size_t *len);
void lbx_lenframe_consume(struct lbx_bq *q, size_t len);
/* The header in front of a frame of len bytes (for callers that writev). */
void lbx_lenframe_header(uint8_t hdr[LBX_LENFRAME_HDR], uint32_t len);
/* Append a whole frame (header and bytes) to q, or -ENOSPC and nothing. */
LBX_MUST_CHECK int lbx_lenframe_put(struct lbx_bq *q, const void *frame, size_t len);

#endif
