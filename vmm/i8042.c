/* SPDX-License-Identifier: MIT */
#include "i8042.h"

#include <string.h>

void vmm_i8042_io(void *dev, uint64_t offset, uint8_t *data, unsigned len, bool is_write)
{
	struct vmm_i8042 *k = dev;

	if (!is_write) {
		/* Data and status both read 0: no byte waiting, ready for commands. */
		memset(data, offset == 0 || offset == 4 ? 0 : 0xff, len);
		return;
	}
	if (offset == 4 && len == 1 && data[0] == LBX_I8042_CMD_RESET && k->reset)
		k->reset(k->ctx);
}
