/* SPDX-License-Identifier: MIT */
/*
 * Just enough of the i8042 keyboard controller for a guest to reset the
 * machine: command 0xfe on port 0x64 pulses the CPU reset line, which is
 * how Linux reboots with reboot=k and how lbx boxes power off. The status
 * port reads as "both buffers empty" so the kernel's wait loops end.
 */
#ifndef VMM_I8042_H
#define VMM_I8042_H

#include <stdbool.h>
#include <stdint.h>

#define LBX_I8042_CMD_RESET 0xfe

struct vmm_i8042 {
	void (*reset)(void *ctx);
	void *ctx;
};

/* iobus handler for ports 0x60..0x64 (offset 0 = data, 4 = command/status). */
void vmm_i8042_io(void *dev, uint64_t offset, uint8_t *data, unsigned len, bool is_write);

#endif
