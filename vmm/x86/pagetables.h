/* SPDX-License-Identifier: MIT */
/*
 * Identity page tables for the 64-bit entry: boot.rst requires the kernel,
 * zero page and command line to be identity mapped. We map the whole low
 * 4 GiB with 2 MiB pages (PML4 -> one PDPT -> four page directories), which
 * covers those wherever they land and costs 24 KiB.
 */
#ifndef VMM_PAGETABLES_H
#define VMM_PAGETABLES_H

#include "guest_mem.h"

#define LBX_PTE_PRESENT 0x1ULL
#define LBX_PTE_WRITE 0x2ULL
#define LBX_PTE_LARGE 0x80ULL

/* Writes the tables at LBX_PML4_ADDR.. in guest memory. -EFAULT if absent. */
int vmm_pagetables_write(const struct lbx_guest_mem *mem);

#endif
