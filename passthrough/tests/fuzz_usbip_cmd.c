/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target: the bytes a guest's vhci-hcd sends lbx-usbipd. The
 * input is cut as the server cuts its stream: operation requests until an
 * import, then URB commands; every decoded message must satisfy the
 * codec's promises.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "usbip_proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct lbx_reader r;
	bool imported = false;

	lbx_reader_init(&r, data, size);
	while (lbx_reader_left(&r)) {
		size_t before = lbx_reader_pos(&r);
		struct usbip_hdr h;
		const uint8_t *p;
		size_t n;
		int rc;

		if (!imported) {
			char busid[USBIP_BUSID_LEN];
			uint16_t code;

			rc = usbip_op_request_read(&r, &code, busid);
			if (rc < 0)
				break;
			if (strnlen(busid, sizeof(busid)) >= sizeof(busid))
				abort();
			imported = code == USBIP_OP_REQ_IMPORT;
			continue;
		}
		rc = usbip_cmd_read(&r, &h, &p, &n);
		if (rc < 0) {
			if (lbx_reader_pos(&r) != before)
				abort(); /* a failed read consumes nothing */
			break;
		}
		if (h.command != USBIP_CMD_SUBMIT && h.command != USBIP_CMD_UNLINK)
			abort();
		if (h.ep > 15 || h.direction > 1 || n != usbip_cmd_payload_len(&h) ||
		    n > USBIP_MAX_TRANSFER)
			abort();
		if (n && (p < data || p + n > data + size))
			abort();
	}
	return 0;
}
