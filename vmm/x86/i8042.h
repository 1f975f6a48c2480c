/* SPDX-License-Identifier: MIT */
/*
 * Just enough of the i8042 keyboard controller for a guest to reset the
 * machine: command 0xfe on port 0x64 pulses the CPU reset line, which is
 * how Linux reboots with reboot=k and how lbx boxes power off. There is
 * no keyboard: the status port says the input buffer is empty, so the
 * kernel's reset wait ends, and that a byte is always waiting on a data
 * port that reads 0xff, which Linux's i8042 driver takes for "no
 * controller".
 */
#ifndef VMM_I8042_H
#define VMM_I8042_H

#include <stdbool.h>
#include <stdint.h>

#define LBX_I8042_CMD_RESET 0xfe
#define LBX_I8042_STR_OBF 0x01 /* output buffer full */
#define LBX_I8042_STR_IBF 0x02 /* input buffer full */

struct vmm_i8042 {
	void (*reset)(void *ctx);
	void *ctx;
};

/* iobus handler for ports 0x60..0x64 (offset 0 = data, 4 = command/status). */
void vmm_i8042_io(void *dev, uint64_t offset, uint8_t *data, unsigned len, bool is_write);

#endif
