/* SPDX-License-Identifier: MIT */
#include "pagetables.h"

#include <errno.h>

#include "layout.h"
#include "writer.h"

int vmm_pagetables_write(const struct lbx_guest_mem *mem)
{
	uint8_t *pml4 = lbx_guest_mem_ptr(mem, LBX_PML4_ADDR, 4096);
	uint8_t *pdpt = lbx_guest_mem_ptr(mem, LBX_PDPT_ADDR, 4096);
	uint8_t *pd = lbx_guest_mem_ptr(mem, LBX_PD_ADDR, 4096 * LBX_PD_COUNT);
	const uint64_t rw = LBX_PTE_PRESENT | LBX_PTE_WRITE;

	if (!pml4 || !pdpt || !pd)
		return -EFAULT;
	lbx_put_u64le(pml4, LBX_PDPT_ADDR | rw);
	for (unsigned i = 0; i < LBX_PD_COUNT; i++)
		lbx_put_u64le(pdpt + 8 * i, (LBX_PD_ADDR + 4096ULL * i) | rw);
	for (unsigned i = 0; i < 512 * LBX_PD_COUNT; i++)
		lbx_put_u64le(pd + 8 * i, ((uint64_t)i << 21) | rw | LBX_PTE_LARGE);
	return 0;
}
