/* SPDX-License-Identifier: MIT */
/*
 * The guest's physical memory map, built once from the RAM size and the
 * layout in layout.h, then written both as the zero page's e820 table and
 * as the PVH memory map (the two use the same ACPI range types).
 */
#ifndef VMM_E820_H
#define VMM_E820_H

#include <stdint.h>

#define VMM_E820_MAX 8

struct vmm_e820_entry {
	uint64_t addr;
	uint64_t size;
	uint32_t type;
};

struct vmm_e820 {
	struct vmm_e820_entry e[VMM_E820_MAX];
	unsigned n;
};

/* vmm_ram_low_bytes (machine.h), RAM below the MMIO gap, is defined in e820.c. */
/* ram_bytes must be at least 2 MiB. */
void vmm_e820_build(struct vmm_e820 *map, uint64_t ram_bytes);
/* Whether [addr, addr + len) lies inside one RAM entry. */
int vmm_e820_is_ram(const struct vmm_e820 *map, uint64_t addr, uint64_t len);

#endif
