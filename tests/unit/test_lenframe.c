/* SPDX-License-Identifier: MIT */
/* common/lenframe: length-prefixed frames cut from a byte queue, hostile lengths refused. */
#include <errno.h>
#include <string.h>

#include "lenframe.h"
#include "tap.h"

#define MAX 1514

static void feed(struct lbx_bq *q, const void *p, size_t n)
{
	if (lbx_bq_append(q, p, n) < 0)
		ok(0, "queue overflow in the test itself");
}

int main(void)
{
	static uint8_t big[MAX];
	struct lbx_bq q, out;
	const uint8_t *f;
	size_t len = 0;
	int rc;

	if (lbx_bq_init(&q, 4 * (MAX + 4)) < 0 || lbx_bq_init(&out, MAX + 4 + 10) < 0)
		return 1;
	for (size_t i = 0; i < sizeof(big); i++)
		big[i] = (uint8_t)(i * 13);

	/* Two frames put, cut again byte by byte. */
	ok(lbx_lenframe_put(&out, "hello", 5) == 0 && lbx_bq_len(&out) == 9, "put: header + bytes");
	ok(!memcmp(lbx_bq_head(&out), "\0\0\0\5hello", 9), "the length is big-endian");
	{
		const uint8_t *src = lbx_bq_head(&out);
		int frames = 0, early = 0;

		for (size_t i = 0; i < 9; i++) {
			feed(&q, src + i, 1);
			rc = lbx_lenframe_peek(&q, MAX, &f, &len);
			if (rc == 1 && i == 8 && len == 5 && !memcmp(f, "hello", 5)) {
				frames++;
				lbx_lenframe_consume(&q, len);
			} else if (rc != 0) {
				early++;
			}
		}
		ok(frames == 1 && early == 0 && lbx_bq_len(&q) == 0,
		   "a frame fed a byte at a time comes out once, when whole");
	}
	lbx_bq_consume(&out, lbx_bq_len(&out));

	/* Several frames in one read, then a partial header kept. */
	ok(lbx_lenframe_put(&out, "a", 1) == 0 && lbx_lenframe_put(&out, "bc", 2) == 0,
	   "two small frames put");
	feed(&q, lbx_bq_head(&out), lbx_bq_len(&out));
	feed(&q, "\0\0", 2);
	rc = lbx_lenframe_peek(&q, MAX, &f, &len);
	ok(rc == 1 && len == 1 && f[0] == 'a', "first of several frames in one read");
	lbx_lenframe_consume(&q, len);
	rc = lbx_lenframe_peek(&q, MAX, &f, &len);
	ok(rc == 1 && len == 2 && !memcmp(f, "bc", 2), "second of them");
	lbx_lenframe_consume(&q, len);
	is_int(lbx_lenframe_peek(&q, MAX, &f, &len), 0, "half a header: wait for more");
	is_int(lbx_bq_len(&q), 2, "and the half header is kept");
	lbx_bq_consume(&q, 2);

	/* Lengths the peer may not send. */
	feed(&q, "\0\0\0\0", 4);
	is_int(lbx_lenframe_peek(&q, MAX, &f, &len), -EBADMSG, "a length of 0 is out of step");
	lbx_bq_consume(&q, 4);
	feed(&q, "\0\0\x05\xeb", 4); /* 1515 */
	is_int(lbx_lenframe_peek(&q, MAX, &f, &len), -EBADMSG, "one byte over the maximum is refused");
	lbx_bq_consume(&q, 4);
	feed(&q, "\xff\xff\xff\xff", 4);
	is_int(lbx_lenframe_peek(&q, MAX, &f, &len), -EBADMSG, "4 GiB - 1 is refused before any read");
	lbx_bq_consume(&q, 4);

	/* The largest frame, exactly. */
	lbx_bq_consume(&out, lbx_bq_len(&out));
	ok(lbx_lenframe_put(&out, big, MAX) == 0, "a maximum-size frame is put");
	feed(&q, lbx_bq_head(&out), lbx_bq_len(&out));
	rc = lbx_lenframe_peek(&q, MAX, &f, &len);
	ok(rc == 1 && len == MAX && !memcmp(f, big, MAX), "and cut whole");
	lbx_lenframe_consume(&q, len);

	/* put never writes half a frame. */
	lbx_bq_consume(&out, lbx_bq_len(&out));
	ok(lbx_lenframe_put(&out, big, 8) == 0, "a small frame fits the output queue");
	is_int(lbx_lenframe_put(&out, big, MAX), -ENOSPC, "a frame that does not fit: -ENOSPC");
	is_int(lbx_bq_len(&out), 12, "and nothing of it was written");

	lbx_bq_free(&q);
	lbx_bq_free(&out);
	return tap_done();
}
