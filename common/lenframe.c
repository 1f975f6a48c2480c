/* SPDX-License-Identifier: MIT */
#include "lenframe.h"

#include <errno.h>

#include "reader.h"
#include "writer.h"

int lbx_lenframe_peek(const struct lbx_bq *q, uint32_t max, const uint8_t **frame, size_t *len)
{
	struct lbx_reader r;
	uint32_t n;

	lbx_reader_init(&r, lbx_bq_head(q), lbx_bq_len(q));
	if (lbx_read_u32be(&r, &n) < 0)
		return 0;
	if (n == 0 || n > max) {
		*len = n;
		return -EBADMSG;
	}
	if (lbx_read_bytes(&r, n, frame) < 0)
		return 0;
	*len = n;
	return 1;
}

void lbx_lenframe_consume(struct lbx_bq *q, size_t len)
{
	lbx_bq_consume(q, LBX_LENFRAME_HDR + len);
}

void lbx_lenframe_header(uint8_t hdr[LBX_LENFRAME_HDR], uint32_t len)
{
	lbx_put_u32be(hdr, len);
}

int lbx_lenframe_put(struct lbx_bq *q, const void *frame, size_t len)
{
	uint8_t hdr[LBX_LENFRAME_HDR];

	if (len > UINT32_MAX || lbx_bq_room(q) < LBX_LENFRAME_HDR + len)
		return -ENOSPC;
	lbx_lenframe_header(hdr, (uint32_t)len);
	if (lbx_bq_append(q, hdr, sizeof(hdr)) < 0 || lbx_bq_append(q, frame, len) < 0)
		return -ENOSPC; /* not reached: the room was checked */
	return 0;
}
