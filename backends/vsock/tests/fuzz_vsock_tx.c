/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for lbx-vsockd's tx path: the input is a series of
 * packets as a guest would place them on the tx queue, each
 *   u16le length, u8 split (header and payload in one or two buffers), bytes
 * and each goes through the same decoding and connection state machine as
 * a real chain. Guest connects go to a directory that does not exist, so
 * they are refused and answered with RSTs, as on a host with no listeners.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "reader.h"
#include "vsockd.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct lbx_virtq_chain ch;
	struct lbx_loop *loop = lbx_loop_new();
	struct vsockd *d = vsockd_new(loop, 3, "/nonexistent-lbx-fuzz/vsock");
	struct lbx_reader r;

	lbx_log_set_level(LBX_LOG_ERROR);
	lbx_reader_init(&r, data, size);
	while (lbx_reader_left(&r) > 0) {
		const uint8_t *p;
		uint16_t len;
		uint8_t split;
		size_t n;

		if (lbx_read_u16le(&r, &len) || lbx_read_u8(&r, &split))
			break;
		n = len < lbx_reader_left(&r) ? len : lbx_reader_left(&r);
		if (lbx_read_bytes(&r, n, &p))
			break;
		memset(&ch, 0, sizeof(ch));
		if ((split & 1) && n > VSOCK_HDR_SIZE) {
			ch.rd[0] = (struct iovec){ (void *)p, VSOCK_HDR_SIZE };
			ch.rd[1] = (struct iovec){ (void *)(p + VSOCK_HDR_SIZE), n - VSOCK_HDR_SIZE };
			ch.nrd = 2;
		} else {
			ch.rd[0] = (struct iovec){ (void *)p, n };
			ch.nrd = 1;
		}
		ch.rd_len = n;
		vsockd_tx_chain(d, &ch);
		if (d->nconns > VSOCKD_MAX_CONNS || d->nresets > VSOCKD_MAX_RESETS)
			abort();
	}
	vsockd_free(d);
	lbx_loop_free(loop);
	return 0;
}
