/* SPDX-License-Identifier: MIT */
/*
 * The i8042 as the guest kernel's code sees it: reboot=k's wait for an
 * empty input buffer ends at once, the i8042 driver's flush finds a
 * controller that never drains (no controller, not a probe error), and
 * command 0xfe resets the machine.
 */
#include "i8042.h"
#include "tap.h"

static int resets;

static void on_reset(void *ctx)
{
	(void)ctx;
	resets++;
}

static uint8_t in(struct vmm_i8042 *k, uint64_t offset)
{
	uint8_t b = 0x5a;

	vmm_i8042_io(k, offset, &b, 1, false);
	return b;
}

/* drivers/input/serio/i8042.c i8042_flush(): nonzero means "no controller". */
static int linux_flush(struct vmm_i8042 *k)
{
	int count = 0;

	while (in(k, 4) & LBX_I8042_STR_OBF) {
		if (count++ >= 16)
			return -1;
		(void)in(k, 0);
	}
	return 0;
}

int main(void)
{
	struct vmm_i8042 k = { on_reset, NULL };
	uint8_t cmd = LBX_I8042_CMD_RESET, other = 0x20;

	ok(!(in(&k, 4) & LBX_I8042_STR_IBF), "status: input buffer empty (reboot's kb_wait ends)");
	ok(linux_flush(&k) != 0, "Linux's i8042 flush finds no controller (probe ends quietly)");
	is_int(in(&k, 0), 0xff, "the data port reads as no device");
	vmm_i8042_io(&k, 4, &other, 1, true);
	is_int(resets, 0, "another command does not reset");
	vmm_i8042_io(&k, 4, &cmd, 1, true);
	is_int(resets, 1, "command 0xfe on port 0x64 resets the machine");
	return tap_done();
}
