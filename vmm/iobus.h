/* SPDX-License-Identifier: MIT */
/*
 * Dispatch of port I/O and MMIO exits to device models. Ranges are
 * registered before the vCPUs start and never change afterwards, so the
 * vCPU threads look them up without a lock; each device locks itself.
 */
#ifndef VMM_IOBUS_H
#define VMM_IOBUS_H

#include <stdbool.h>
#include <stdint.h>

#define VMM_IOBUS_MAX 40

/* data: len bytes, little-endian; filled by the device on a read. */
typedef void (*vmm_io_fn)(void *dev, uint64_t offset, uint8_t *data, unsigned len,
			  bool is_write);

struct vmm_io_range {
	uint64_t base, len;
	vmm_io_fn fn;
	void *dev;
};

struct vmm_iobus {
	struct vmm_io_range r[VMM_IOBUS_MAX];
	unsigned n;
};

/* -EEXIST on overlap, -ENOSPC when full. */
int vmm_iobus_add(struct vmm_iobus *bus, uint64_t base, uint64_t len, vmm_io_fn fn, void *dev);
/*
 * Hand an access to the device owning addr. Returns false if none does;
 * an unclaimed read then reads as all ones (an open bus).
 */
bool vmm_iobus_access(const struct vmm_iobus *bus, uint64_t addr, uint8_t *data, unsigned len,
		      bool is_write);

#endif
