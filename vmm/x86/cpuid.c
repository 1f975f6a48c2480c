/* SPDX-License-Identifier: MIT */
#include "cpuid.h"

#include <string.h>

/* Bits needed to number ncpus cores (x2APIC ID shift of the core level). */
static unsigned core_shift(unsigned ncpus)
{
	unsigned s = 0;

	while ((1U << s) < ncpus)
		s++;
	return s;
}

/*
 * Intel SDM vol. 2A CPUID leaf 0BH/1FH: subleaf 0 is the SMT level (one
 * thread per core here), subleaf 1 the core level, later subleafs invalid.
 */
static void topology(struct kvm_cpuid_entry2 *e, unsigned index, unsigned ncpus)
{
	e->edx = index;
	switch (e->index) {
	case 0:
		e->eax = 0;
		e->ebx = 1;
		e->ecx = 0 | 1U << 8;
		break;
	case 1:
		e->eax = core_shift(ncpus);
		e->ebx = ncpus;
		e->ecx = 1 | 2U << 8;
		break;
	default:
		e->eax = e->ebx = 0;
		e->ecx = e->index;
		break;
	}
}

void vmm_cpuid_patch(struct kvm_cpuid_entry2 *e, unsigned n, unsigned index, unsigned ncpus)
{
	for (unsigned i = 0; i < n; i++, e++) {
		switch (e->function) {
		case 1:
			e->ebx = (e->ebx & 0x0000ffffU) | index << 24 | (ncpus & 0xff) << 16;
			e->ecx |= LBX_CPUID_HYPERVISOR_BIT;
			if (ncpus > 1)
				e->edx |= LBX_CPUID_HTT_BIT;
			break;
		case 4:
			/* EAX[31:26]: cores per package - 1; EAX[25:14]: threads sharing - 1. */
			if (e->eax & 0x1f)
				e->eax = (e->eax & 0x3fff) | (ncpus - 1) << 26;
			break;
		case 0xb:
		case 0x1f:
			topology(e, index, ncpus);
			break;
		case 0x40000000:
			e->eax = e->eax < 0x40000001 ? 0x40000001 : e->eax;
			memcpy(&e->ebx, "KVMK", 4);
			memcpy(&e->ecx, "VMKV", 4);
			memcpy(&e->edx, "M\0\0\0", 4);
			break;
		}
	}
}

void vmm_cpuid_add_kvm_features(struct kvm_cpuid_entry2 *e, unsigned n, bool tsc_deadline)
{
	/*
	 * With a TSC-deadline LAPIC timer Linux takes the timer's rate from the
	 * TSC and skips calibrating it against the PIT's jiffies, which under
	 * nested KVM drift apart enough that the check fails ("APIC timer
	 * disabled due to verification failure", no high-resolution timers).
	 * QEMU and Firecracker set the bit too.
	 */
	for (unsigned i = 0; i < n; i++, e++)
		if (e->function == 1 && tsc_deadline)
			e->ecx |= LBX_CPUID_TSC_DEADLINE_BIT;
}
