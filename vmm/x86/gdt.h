/* SPDX-License-Identifier: MIT */
/*
 * The boot GDT (layout.h, LBX_GDT_ADDR) and the segment registers the
 * vCPU starts with. boot.rst "64-bit Boot Protocol" asks for __BOOT_CS =
 * 0x10 (64-bit code) and __BOOT_DS = 0x18, both 4 GiB flat; the PVH ABI
 * asks for a flat 32-bit code segment (0x08 here) and a 32-bit busy TSS.
 */
#ifndef VMM_GDT_H
#define VMM_GDT_H

#include <stdint.h>

#include <linux/kvm.h>

#define LBX_SEL_CODE32 0x08
#define LBX_SEL_CODE64 0x10
#define LBX_SEL_DATA 0x18
#define LBX_SEL_TSS 0x20
#define LBX_GDT_ENTRIES 6 /* the TSS descriptor takes two slots in long mode */

/* Descriptor for base/limit/access byte/flags nibble (G, D/B, L, AVL). */
uint64_t vmm_gdt_entry(uint32_t base, uint32_t limit, uint8_t access, uint8_t flags);
/* The table as written to guest memory. */
void vmm_gdt_build(uint64_t gdt[LBX_GDT_ENTRIES]);
/* What the CPU caches when it loads selector sel from gdt. */
struct kvm_segment vmm_gdt_segment(const uint64_t gdt[LBX_GDT_ENTRIES], uint16_t sel);

#endif
