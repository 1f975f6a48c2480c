/* SPDX-License-Identifier: MIT */
#include "iobus.h"

#include <errno.h>
#include <string.h>

int vmm_iobus_add(struct vmm_iobus *bus, uint64_t base, uint64_t len, vmm_io_fn fn, void *dev)
{
	for (unsigned i = 0; i < bus->n; i++)
		if (base < bus->r[i].base + bus->r[i].len && bus->r[i].base < base + len)
			return -EEXIST;
	if (bus->n == VMM_IOBUS_MAX)
		return -ENOSPC;
	bus->r[bus->n++] = (struct vmm_io_range){ base, len, fn, dev };
	return 0;
}

bool vmm_iobus_access(const struct vmm_iobus *bus, uint64_t addr, uint8_t *data, unsigned len,
		      bool is_write)
{
	for (unsigned i = 0; i < bus->n; i++) {
		const struct vmm_io_range *r = &bus->r[i];

		if (addr >= r->base && addr - r->base < r->len && len <= r->len - (addr - r->base)) {
			r->fn(r->dev, addr - r->base, data, len, is_write);
			return true;
		}
	}
	if (!is_write)
		memset(data, 0xff, len);
	return false;
}
