/* SPDX-License-Identifier: MIT */
/*
 * The CPUID a vCPU sees: what KVM supports (KVM_GET_SUPPORTED_CPUID), with
 * the fields that describe this vCPU's place in the machine filled in.
 */
#ifndef VMM_CPUID_H
#define VMM_CPUID_H

#include <linux/kvm.h>
#include <stdbool.h>

#define LBX_CPUID_HYPERVISOR_BIT (1U << 31) /* leaf 1 ECX: running under a hypervisor */
#define LBX_CPUID_HTT_BIT (1U << 28)	   /* leaf 1 EDX */
#define LBX_CPUID_TSC_DEADLINE_BIT (1U << 24) /* leaf 1 ECX: LAPIC TSC-deadline mode */

/*
 * Patch entries in place for vCPU index (its APIC ID) of ncpus, one core
 * each, one package: leaf 1 (APIC ID, logical count, HTT, hypervisor),
 * leaf 4 (cores per package), leaves 0xb and 0x1f (x2APIC topology) and
 * the KVM signature at 0x40000000.
 */
void vmm_cpuid_patch(struct kvm_cpuid_entry2 *e, unsigned n, unsigned index, unsigned ncpus);
/*
 * Add to KVM_GET_SUPPORTED_CPUID's entries what KVM offers but leaves out
 * of them (api.rst, KVM_GET_SUPPORTED_CPUID): the TSC-deadline timer, when
 * KVM_CAP_TSC_DEADLINE_TIMER says the in-kernel LAPIC has it.
 */
void vmm_cpuid_add_kvm_features(struct kvm_cpuid_entry2 *e, unsigned n, bool tsc_deadline);

#endif
