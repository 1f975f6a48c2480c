/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for common/termsafe.c: any guest bytes, fed in pieces
 * whose sizes come from the input. The output must stay within its bound
 * and hold no byte a terminal acts on: no C0 control but \t and \n, no
 * DEL, no C1 (as a byte outside UTF-8, or as U+0080..U+009F).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "termsafe.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(const char *out, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		uint8_t b = (uint8_t)out[i];

		if ((b < 0x20 && b != '\t' && b != '\n') || b == 0x7f)
			abort();
		if (b == 0xc2 && i + 1 < n && (uint8_t)out[i + 1] >= 0x80 &&
		    (uint8_t)out[i + 1] <= 0x9f)
			abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct lbx_termsafe t = { 0 };
	static char out[4 * (256 + 4)];
	size_t pos = 0, n;

	while (pos < size) {
		size_t piece = 1 + data[pos] % 256;

		if (piece > size - pos)
			piece = size - pos;
		n = lbx_termsafe(&t, data + pos, piece, out);
		if (n > 4 * (piece + 4))
			abort();
		check(out, n);
		pos += piece;
	}
	n = lbx_termsafe_flush(&t, out);
	if (n > 16)
		abort();
	check(out, n);
	return 0;
}
