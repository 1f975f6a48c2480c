/* SPDX-License-Identifier: MIT */
/*
 * PVH direct boot (include/xen/interface/hvm/start_info.h, version 1, and
 * the "HVM direct boot ABI" in Xen's docs): the kernel is entered at the
 * 32-bit address in its XEN_ELFNOTE_PHYS32_ENTRY note, in flat protected
 * mode without paging, with %ebx = the physical address of hvm_start_info.
 * The initrd is passed as module 0; the memory map replaces e820.
 */
#ifndef VMM_PVH_H
#define VMM_PVH_H

#include <stddef.h>
#include <stdint.h>

#include "e820.h"

#define LBX_PVH_MAGIC 0x336ec578U
#define LBX_PVH_VERSION 1
/* Field offsets in struct hvm_start_info. */
#define LBX_PVH_OFF_MAGIC 0
#define LBX_PVH_OFF_VERSION 4
#define LBX_PVH_OFF_FLAGS 8
#define LBX_PVH_OFF_NR_MODULES 12
#define LBX_PVH_OFF_MODLIST 16
#define LBX_PVH_OFF_CMDLINE 24
#define LBX_PVH_OFF_RSDP 32
#define LBX_PVH_OFF_MEMMAP 40
#define LBX_PVH_OFF_MEMMAP_ENTRIES 48
#define LBX_PVH_INFO_SIZE 56
#define LBX_PVH_MEMMAP_ENTRY_SIZE 24 /* u64 addr, u64 size, u32 type, u32 0 */
#define LBX_PVH_MODLIST_ENTRY_SIZE 32 /* u64 paddr, size, cmdline, reserved */

struct vmm_pvh_params {
	uint64_t cmdline_addr;
	uint64_t initrd_addr, initrd_size; /* size 0: no module */
	const struct vmm_e820 *e820;
};

/*
 * Writes start_info, memmap and modlist into buf, which holds guest
 * memory [LBX_PVH_INFO_ADDR, LBX_PVH_INFO_ADDR + len). -EINVAL if they
 * do not fit.
 */
int vmm_pvh_write(uint8_t *buf, size_t len, const struct vmm_pvh_params *p);

#endif
