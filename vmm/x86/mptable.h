/* SPDX-License-Identifier: MIT */
/*
 * The Intel MultiProcessor Specification 1.4 table that tells a kernel
 * without ACPI how many processors there are and how ISA interrupts reach
 * the IOAPIC (chapter 4, "MP Configuration Table"). Written once at boot
 * into the BIOS ROM window (layout.h), where Linux scans for "_MP_".
 */
#ifndef VMM_MPTABLE_H
#define VMM_MPTABLE_H

#include <stddef.h>
#include <stdint.h>

#define LBX_MPF_SIZE 16
#define LBX_MPC_HEADER_SIZE 44
#define LBX_MPC_CPU_SIZE 20
#define LBX_MPC_ENTRY_SIZE 8 /* bus, IOAPIC, I/O and local interrupt entries */
#define LBX_MP_SPEC_REV 4    /* version 1.4 */
#define LBX_MP_LAPIC_VERSION 0x14
#define LBX_MP_IOAPIC_VERSION 0x11

enum {
	LBX_MPC_CPU = 0,
	LBX_MPC_BUS = 1,
	LBX_MPC_IOAPIC = 2,
	LBX_MPC_IOINT = 3,
	LBX_MPC_LINT = 4,
};

/* Interrupt types of I/O and local interrupt entries (MP spec 1.4 §4.3.4). */
enum {
	LBX_MP_INT = 0,
	LBX_MP_NMI = 1,
	LBX_MP_EXTINT = 3,
};

/* Bytes the table takes for ncpus processors. */
size_t vmm_mptable_size(unsigned ncpus);
/*
 * Writes the floating pointer and the configuration table for guest
 * address gpa into buf. cpu_signature and cpu_features are CPUID leaf 1
 * EAX and EDX. -EINVAL if ncpus is 0 or above 254, -ENOSPC if buf is short.
 */
int vmm_mptable_write(uint8_t *buf, size_t len, uint64_t gpa, unsigned ncpus,
		      uint32_t cpu_signature, uint32_t cpu_features);
/* The ID the table gives the IOAPIC (one above the last LAPIC ID). */
unsigned vmm_mptable_ioapic_id(unsigned ncpus);

#endif
