/* SPDX-License-Identifier: MIT */
#include "e820.h"

#include "bootparam.h"
#include "layout.h"
#include "machine.h"

uint64_t vmm_ram_low_bytes(uint64_t ram_bytes)
{
	return ram_bytes < LBX_MMIO_GAP_START ? ram_bytes : LBX_MMIO_GAP_START;
}

static void add(struct vmm_e820 *map, uint64_t addr, uint64_t end, uint32_t type)
{
	if (end <= addr || map->n >= VMM_E820_MAX)
		return;
	map->e[map->n++] = (struct vmm_e820_entry){ addr, end - addr, type };
}

void vmm_e820_build(struct vmm_e820 *map, uint64_t ram_bytes)
{
	uint64_t low = vmm_ram_low_bytes(ram_bytes);

	map->n = 0;
	/* Base memory, with the traditional EBDA kilobyte kept out of it. */
	add(map, 0, LBX_EBDA_START, LBX_E820_RAM);
	add(map, LBX_EBDA_START, LBX_EBDA_END, LBX_E820_RESERVED);
	/* The MP table lives in the BIOS ROM window; say so. */
	add(map, LBX_MPTABLE_ADDR, LBX_MPTABLE_ADDR + LBX_MPTABLE_MAX, LBX_E820_RESERVED);
	add(map, LBX_HIMEM_START, low, LBX_E820_RAM);
	if (ram_bytes > low)
		add(map, LBX_MMIO_GAP_END, LBX_MMIO_GAP_END + (ram_bytes - low), LBX_E820_RAM);
}

int vmm_e820_is_ram(const struct vmm_e820 *map, uint64_t addr, uint64_t len)
{
	for (unsigned i = 0; i < map->n; i++) {
		const struct vmm_e820_entry *e = &map->e[i];

		if (e->type == LBX_E820_RAM && addr >= e->addr && len <= e->size &&
		    addr - e->addr <= e->size - len)
			return 1;
	}
	return 0;
}
