/* SPDX-License-Identifier: MIT */
/* common/termsafe: guest bytes made safe for the host's terminal. */
#include <string.h>

#include "tap.h"
#include "termsafe.h"

static char out[4096];

/* The whole filter at once, or one byte a call (split sequences). */
static const char *filter(const char *in, size_t n, int bytewise)
{
	struct lbx_termsafe t = { 0 };
	size_t o = 0;

	if (bytewise)
		for (size_t i = 0; i < n; i++)
			o += lbx_termsafe(&t, in + i, 1, out + o);
	else
		o = lbx_termsafe(&t, in, n, out);
	o += lbx_termsafe_flush(&t, out + o);
	out[o] = '\0';
	return out;
}

#define CASE(in, want, what)                                                                    \
	do {                                                                                    \
		for (int bw = 0; bw < 2; bw++)                                                  \
			ok(!strcmp(filter(in, sizeof(in) - 1, bw), want), "%s%s: %s", what,     \
			   bw ? " (one byte a call)" : "", out);                                \
	} while (0)

int main(void)
{
	CASE("hello world\n\tok", "hello world\n\tok", "printable text, tab and newline pass");
	CASE("line\r\nnext", "line\nnext", "CRLF from the serial console becomes LF");
	CASE("over\rwrite", "over\\x0dwrite", "a lone CR, which would overwrite the line, is shown");
	CASE("\x1b]52;c;ZXZpbA==\x07", "\\x1b]52;c;ZXZpbA==\\x07",
	     "OSC 52 (set the host clipboard) cannot reach the terminal");
	CASE("\x1b[2J\x1b[H", "\\x1b[2J\\x1b[H", "CSI sequences are shown, not obeyed");
	CASE("\xc2\x9b" "31m", "\\xc2\\x9b31m", "C1 CSI (U+009B) in UTF-8 is shown");
	CASE("\x9b" "31m", "\\x9b31m", "a bare C1 byte is shown");
	CASE("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x93\xa6", "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x93\xa6",
	     "well-formed UTF-8 passes");
	CASE("\xc0\xaf", "\\xc0\\xaf", "an overlong form is shown as bytes");
	CASE("\xed\xa0\x80", "\\xed\\xa0\\x80", "a surrogate is shown as bytes");
	CASE("\xe2\x82", "\\xe2\\x82", "a sequence cut off at the end is shown");
	CASE("\xe2\x82" "A", "\\xe2\\x82A", "a sequence broken by ASCII is shown, the ASCII kept");
	CASE("\x7f\x08", "\\x7f\\x08", "DEL and backspace are shown");
	CASE("a\x00" "b", "a\\x00b", "NUL is shown");
	return tap_done();
}
