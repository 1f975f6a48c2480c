/* SPDX-License-Identifier: MIT */
#include "i8042.h"

#include <string.h>

void vmm_i8042_io(void *dev, uint64_t offset, uint8_t *data, unsigned len, bool is_write)
{
	struct vmm_i8042 *k = dev;

	if (!is_write) {
		/*
		 * Status: input buffer empty (reboot.c's kb_wait() goes on at once),
		 * output buffer full for good, the data port reading 0xff as from no
		 * device. Linux's i8042_flush() then gives up after
		 * I8042_BUFFER_SIZE bytes and i8042_controller_check() says "No
		 * controller found" (-ENODEV, quietly), as on QEMU microvm, instead of
		 * failing to read a CTR that no controller here holds.
		 */
		memset(data, offset == 4 ? LBX_I8042_STR_OBF : 0xff, len);
		return;
	}
	if (offset == 4 && len == 1 && data[0] == LBX_I8042_CMD_RESET && k->reset)
		k->reset(k->ctx);
}
