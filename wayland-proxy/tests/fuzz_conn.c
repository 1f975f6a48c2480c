/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for the proxy's decoders, in one role (FUZZ_ROLE:
 * WLP_HOST or WLP_GUEST). The input is a sequence of chunks, each
 * [direction byte][u16le length][bytes]: an even direction is bytes from
 * the link (guest->host requests for the host, host->guest events for the
 * guest), an odd one bytes from the Wayland side (compositor events for
 * the host, client requests for the guest). No input may crash either
 * half; a refused stream just ends the connection.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "conn.h"
#include "policy.h"
#include "reader.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct wlp_policy pol;
	struct lbx_reader r;
	int a[2], b[2];

	wlp_policy_default(&pol);
	pol.shm_max = 1u << 20;
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, a) < 0)
		return 0;
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, b) < 0) {
		close(a[0]);
		close(a[1]);
		return 0;
	}
	struct wlp_conn *c = wlp_conn_new(NULL, FUZZ_ROLE, a[0], b[0], &pol, NULL, NULL);
	lbx_reader_init(&r, data, size);
	while (c && lbx_reader_left(&r) > 0) {
		uint8_t dir;
		uint16_t n;
		const uint8_t *p;
		if (lbx_read_u8(&r, &dir) < 0 || lbx_read_u16le(&r, &n) < 0)
			break;
		size_t len = LBX_MIN((size_t)n, lbx_reader_left(&r));
		if (lbx_read_bytes(&r, len, &p) < 0)
			break;
		int rc =
		    dir & 1 ? wlp_conn_feed_wl(c, p, len, NULL, 0) : wlp_conn_feed_link(c, p, len);
		if (rc < 0)
			break;
	}
	wlp_conn_free(c);
	close(a[1]);
	close(b[1]);
	return 0;
}
