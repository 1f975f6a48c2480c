/* SPDX-License-Identifier: MIT */
#include "termsafe.h"

#include <stdbool.h>

static size_t hex(uint8_t b, char *out)
{
	static const char digits[] = "0123456789abcdef";

	out[0] = '\\';
	out[1] = 'x';
	out[2] = digits[b >> 4];
	out[3] = digits[b & 15];
	return 4;
}

/* How long a UTF-8 sequence starting with b is (0: b cannot start one). */
static size_t seq_len(uint8_t b)
{
	if (b >= 0xc2 && b <= 0xdf)
		return 2;
	if (b >= 0xe0 && b <= 0xef)
		return 3;
	if (b >= 0xf0 && b <= 0xf4)
		return 4;
	return 0;
}

/* Whether s[0..n) is a whole, shortest-form sequence of a printable code point. */
static bool good_seq(const uint8_t *s, size_t n)
{
	uint32_t cp;

	for (size_t i = 1; i < n; i++)
		if ((s[i] & 0xc0) != 0x80)
			return false;
	if (n == 2)
		cp = (uint32_t)(s[0] & 0x1f) << 6 | (s[1] & 0x3f);
	else if (n == 3)
		cp = (uint32_t)(s[0] & 0x0f) << 12 | (uint32_t)(s[1] & 0x3f) << 6 | (s[2] & 0x3f);
	else
		cp = (uint32_t)(s[0] & 0x07) << 18 | (uint32_t)(s[1] & 0x3f) << 12 |
		     (uint32_t)(s[2] & 0x3f) << 6 | (s[3] & 0x3f);
	if (cp < 0xa0 || (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
		return false; /* C1 controls, overlong forms, surrogates */
	return (n == 3 && cp >= 0x800) || (n == 4 && cp >= 0x10000) || n == 2;
}

/* Emit what is pending as escapes (a sequence that will not be completed). */
static size_t spill(struct lbx_termsafe *t, char *out)
{
	size_t o = 0;

	for (size_t i = 0; i < t->npend; i++)
		o += hex(t->pend[i], out + o);
	t->npend = 0;
	return o;
}

static size_t one(struct lbx_termsafe *t, uint8_t b, char *out)
{
	size_t o = 0;

	if (t->npend && t->pend[0] == '\r') {
		t->npend = 0;
		if (b == '\n') {
			out[0] = '\n';
			return 1;
		}
		o += hex('\r', out);
	}
	if (t->npend) {
		size_t want = seq_len(t->pend[0]);

		if ((b & 0xc0) != 0x80) {
			o += spill(t, out + o);
		} else {
			t->pend[t->npend++] = b;
			if (t->npend < want)
				return o;
			if (good_seq(t->pend, want)) {
				for (size_t i = 0; i < want; i++)
					out[o++] = (char)t->pend[i];
				t->npend = 0;
			} else {
				o += spill(t, out + o);
			}
			return o;
		}
	}
	if (b == '\r') {
		t->pend[t->npend++] = b;
		return o;
	}
	if (b == '\n' || b == '\t' || (b >= 0x20 && b < 0x7f)) {
		out[o++] = (char)b;
		return o;
	}
	if (seq_len(b)) {
		t->pend[t->npend++] = b;
		return o;
	}
	return o + hex(b, out + o);
}

size_t lbx_termsafe(struct lbx_termsafe *t, const void *in, size_t n, char *out)
{
	const uint8_t *p = in;
	size_t o = 0;

	for (size_t i = 0; i < n; i++)
		o += one(t, p[i], out + o);
	return o;
}

size_t lbx_termsafe_flush(struct lbx_termsafe *t, char *out)
{
	return spill(t, out);
}
