/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target: the bytes lbx-usbipd sends a client (the guest
 * agent's import, the tests' client): an OP_REP_DEVLIST or OP_REP_IMPORT,
 * then replies to submits of either direction.
 */
#include <stdlib.h>
#include <string.h>

#include "usbip_proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Odd seqnums were IN submits, even ones OUT; 0 was never sent. */
static int dir_of(void *ctx, uint32_t seq)
{
	return seq == 0 ? -1 : (seq & 1) ? USBIP_DIR_IN : USBIP_DIR_OUT;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct usbip_device devs[4];
	struct usbip_device d;
	struct lbx_reader r;
	unsigned n = 0;
	bool okay;

	if (size < 1)
		return 0;
	lbx_reader_init(&r, data + 1, size - 1);
	if (data[0] & 1) {
		if (usbip_rep_devlist_read(&r, devs, 4, &n) == 0 && n > 4)
			abort();
		return 0;
	}
	if (usbip_rep_import_read(&r, &okay, &d) < 0)
		return 0;
	if (okay && (strnlen(d.path, sizeof(d.path)) >= sizeof(d.path) ||
		     strnlen(d.busid, sizeof(d.busid)) >= sizeof(d.busid)))
		abort();
	while (lbx_reader_left(&r)) {
		struct usbip_hdr h;
		const uint8_t *p;
		size_t len;

		if (usbip_ret_read(&r, dir_of, NULL, &h, &p, &len) < 0)
			break;
		if (h.command != USBIP_RET_SUBMIT && h.command != USBIP_RET_UNLINK)
			abort();
		if (len && (h.command != USBIP_RET_SUBMIT || len != h.u.ret_submit.actual_length ||
			    !(h.seqnum & 1)))
			abort();
	}
	return 0;
}
