/* SPDX-License-Identifier: MIT */
/*
 * Guest bytes made safe for a terminal. A box's console and logs are the
 * guest's to write, and a terminal obeys what it is sent: OSC 52 sets the
 * host clipboard, other sequences retitle windows, move the cursor over
 * what was printed, or (on some terminals) answer back as if typed. Every
 * echo of guest bytes goes through this filter: printable ASCII, tab,
 * newline and well-formed UTF-8 pass; "\r\n" becomes "\n"; every other
 * control character (C0, DEL, and the C1 range U+0080..U+009F, of which
 * U+009B is a CSI on its own) and every byte of malformed UTF-8 is shown
 * as \xNN. Streaming: a sequence split across calls is still recognised.
 */
#ifndef LBX_TERMSAFE_H
#define LBX_TERMSAFE_H

#include <stddef.h>
#include <stdint.h>

struct lbx_termsafe {
	uint8_t pend[4]; /* an incomplete UTF-8 sequence or a lone \r */
	size_t npend;
};

/*
 * Filter in[0..n) into out, which must hold 4 * (n + 4) bytes; returns the
 * bytes written. Call lbx_termsafe_flush at the end of the stream.
 */
size_t lbx_termsafe(struct lbx_termsafe *t, const void *in, size_t n, char *out);
size_t lbx_termsafe_flush(struct lbx_termsafe *t, char *out);

#endif
