/* SPDX-License-Identifier: MIT */
#include "gdt.h"

#include <string.h>

/* Intel SDM vol. 3 §3.4.5 "Segment Descriptors": the bit positions. */
uint64_t vmm_gdt_entry(uint32_t base, uint32_t limit, uint8_t access, uint8_t flags)
{
	return (uint64_t)(limit & 0xffff) | (uint64_t)(base & 0xffffff) << 16 |
	       (uint64_t)access << 40 | (uint64_t)((limit >> 16) & 0xf) << 48 |
	       (uint64_t)(flags & 0xf) << 52 | (uint64_t)(base >> 24) << 56;
}

void vmm_gdt_build(uint64_t gdt[LBX_GDT_ENTRIES])
{
	memset(gdt, 0, LBX_GDT_ENTRIES * sizeof(gdt[0]));
	gdt[LBX_SEL_CODE32 / 8] = vmm_gdt_entry(0, 0xfffff, 0x9b, 0xc); /* G, D */
	gdt[LBX_SEL_CODE64 / 8] = vmm_gdt_entry(0, 0xfffff, 0x9b, 0xa); /* G, L */
	gdt[LBX_SEL_DATA / 8] = vmm_gdt_entry(0, 0xfffff, 0x93, 0xc);
	gdt[LBX_SEL_TSS / 8] = vmm_gdt_entry(0, 0x67, 0x8b, 0x0); /* busy TSS */
}

struct kvm_segment vmm_gdt_segment(const uint64_t gdt[LBX_GDT_ENTRIES], uint16_t sel)
{
	uint64_t d = gdt[sel / 8];
	uint32_t limit = (uint32_t)((d & 0xffff) | ((d >> 32) & 0xf0000));
	struct kvm_segment s = {
		.base = (d >> 16 & 0xffffff) | (d >> 32 & 0xff000000),
		.selector = sel,
		.type = d >> 40 & 0xf,
		.s = d >> 44 & 1,
		.dpl = d >> 45 & 3,
		.present = d >> 47 & 1,
		.avl = d >> 52 & 1,
		.l = d >> 53 & 1,
		.db = d >> 54 & 1,
		.g = d >> 55 & 1,
	};

	s.limit = s.g ? limit << 12 | 0xfff : limit;
	return s;
}
