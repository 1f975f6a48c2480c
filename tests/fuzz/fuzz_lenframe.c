/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for common/lenframe.c: the input is a byte stream from a
 * hostile peer (lbx-netd's stream socket, the agent's side of it), fed in
 * pieces whose sizes come from the input itself. Every frame cut must lie
 * inside the queue and within the maximum; a refused length ends the stream.
 */
#include <stdint.h>
#include <stdlib.h>

#include "lenframe.h"

#define MAX 1518

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct lbx_bq q;
	size_t pos = 0;

	if (lbx_bq_init(&q, 2 * (MAX + LBX_LENFRAME_HDR)) < 0)
		return 0;
	while (pos < size) {
		size_t piece = 1 + data[pos] % 64, room;
		uint8_t *tail = lbx_bq_tail_space(&q, &room);
		const uint8_t *f;
		size_t len;
		int rc;

		pos++;
		if (piece > size - pos)
			piece = size - pos;
		if (piece > room)
			piece = room;
		for (size_t i = 0; i < piece; i++)
			tail[i] = data[pos + i];
		lbx_bq_commit(&q, piece);
		pos += piece;
		while ((rc = lbx_lenframe_peek(&q, MAX, &f, &len)) == 1) {
			const uint8_t *head = lbx_bq_head(&q);

			if (len == 0 || len > MAX || f != head + LBX_LENFRAME_HDR ||
			    LBX_LENFRAME_HDR + len > lbx_bq_len(&q))
				abort();
			lbx_lenframe_consume(&q, len);
		}
		if (rc < 0 || (piece == 0 && room == 0))
			break;
	}
	lbx_bq_free(&q);
	return 0;
}
