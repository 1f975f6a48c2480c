/* SPDX-License-Identifier: MIT */
#include "mptable.h"

#include <errno.h>
#include <string.h>

#include "layout.h"
#include "writer.h"

/* One I/O interrupt per IOAPIC pin, two local interrupts. */
#define MP_IOINTS LBX_IOAPIC_PINS
#define MP_LINTS 2

size_t vmm_mptable_size(unsigned ncpus)
{
	return LBX_MPF_SIZE + LBX_MPC_HEADER_SIZE + (size_t)ncpus * LBX_MPC_CPU_SIZE +
	       (1 + 1 + MP_IOINTS + MP_LINTS) * LBX_MPC_ENTRY_SIZE;
}

unsigned vmm_mptable_ioapic_id(unsigned ncpus)
{
	return ncpus;
}

/* MP spec 1.4 §4.1, §4.2: all bytes of a structure sum to zero. */
static uint8_t checksum(const uint8_t *p, size_t n)
{
	uint8_t sum = 0;

	while (n--)
		sum += *p++;
	return (uint8_t)-sum;
}

static uint8_t *put_entry(uint8_t *p, uint8_t type, uint8_t a, uint8_t b, uint8_t c,
			  uint8_t d, uint8_t e, uint8_t f)
{
	p[0] = type;
	p[1] = a;
	p[2] = b;
	p[3] = c;
	p[4] = d;
	p[5] = e;
	p[6] = f;
	p[7] = 0;
	return p + LBX_MPC_ENTRY_SIZE;
}

static uint8_t *put_cpus(uint8_t *p, unsigned ncpus, uint32_t sig, uint32_t features)
{
	for (unsigned i = 0; i < ncpus; i++, p += LBX_MPC_CPU_SIZE) {
		memset(p, 0, LBX_MPC_CPU_SIZE);
		p[0] = LBX_MPC_CPU;
		p[1] = (uint8_t)i; /* LAPIC ID = vCPU index (vcpu.c sets CPUID to match) */
		p[2] = LBX_MP_LAPIC_VERSION;
		p[3] = 0x01 | (i == 0 ? 0x02 : 0); /* enabled, bootstrap processor */
		lbx_put_u32le(p + 4, sig);
		lbx_put_u32le(p + 8, features);
	}
	return p;
}

/*
 * ISA interrupts as KVM's default GSI routing wires them
 * (kvm_setup_default_irq_routing): GSI n goes to IOAPIC pin n, and to the
 * 8259 for n < 16. The in-kernel PIT raises GSI 0, so IRQ 0 is pin 0, an
 * ordinary interrupt: the PC's "IRQ 0 on pin 2, ExtINT on pin 0" is how a
 * board wires it, not how KVM does, and telling Linux that made it find no
 * ExtINT pin in the IOAPIC, no timer interrupt through pin 2, and fall back
 * (check_timer(): "..TIMER", "APIC timer disabled"). Firecracker's table
 * is the same identity map. The virtio-mmio devices use pins 5 and up.
 */
static uint8_t *put_irqs(uint8_t *p, uint8_t ioapic)
{
	for (unsigned pin = 0; pin < MP_IOINTS; pin++) {
		p = put_entry(p, LBX_MPC_IOINT, LBX_MP_INT, 0, 0, 0 /* bus */, (uint8_t)pin,
			      ioapic);
		p[-1] = (uint8_t)pin;
	}
	/* LINT0 ExtINT and LINT1 NMI on every processor (virtual wire mode). */
	p = put_entry(p, LBX_MPC_LINT, LBX_MP_EXTINT, 0, 0, 0, 0, 0xff);
	p[-1] = 0;
	p = put_entry(p, LBX_MPC_LINT, LBX_MP_NMI, 0, 0, 0, 0, 0xff);
	p[-1] = 1;
	return p;
}

int vmm_mptable_write(uint8_t *buf, size_t len, uint64_t gpa, unsigned ncpus,
		      uint32_t cpu_signature, uint32_t cpu_features)
{
	size_t size = vmm_mptable_size(ncpus);
	uint8_t *mpc = buf + LBX_MPF_SIZE, *p;
	uint8_t ioapic = (uint8_t)vmm_mptable_ioapic_id(ncpus);

	if (ncpus == 0 || ncpus > 254 || gpa + LBX_MPF_SIZE > UINT32_MAX)
		return -EINVAL;
	if (len < size)
		return -ENOSPC;
	memset(buf, 0, size);

	p = put_cpus(mpc + LBX_MPC_HEADER_SIZE, ncpus, cpu_signature, cpu_features);
	p = put_entry(p, LBX_MPC_BUS, 0, 'I', 'S', 'A', ' ', ' ');
	p[-1] = ' ';
	p = put_entry(p, LBX_MPC_IOAPIC, ioapic, LBX_MP_IOAPIC_VERSION, 0x01, 0, 0, 0);
	lbx_put_u32le(p - 4, (uint32_t)LBX_IOAPIC_ADDR);
	p = put_irqs(p, ioapic);

	memcpy(mpc, "PCMP", 4);
	lbx_put_u16le(mpc + 4, (uint16_t)(p - mpc));
	mpc[6] = LBX_MP_SPEC_REV;
	memcpy(mpc + 8, "LBX     ", 8);
	memcpy(mpc + 16, "LBX-VMM     ", 12);
	lbx_put_u16le(mpc + 34, (uint16_t)(ncpus + 2 + MP_IOINTS + MP_LINTS));
	lbx_put_u32le(mpc + 36, (uint32_t)LBX_LAPIC_ADDR);
	mpc[7] = checksum(mpc, (size_t)(p - mpc));

	memcpy(buf, "_MP_", 4);
	lbx_put_u32le(buf + 4, (uint32_t)(gpa + LBX_MPF_SIZE));
	buf[8] = 1; /* length in 16-byte paragraphs */
	buf[9] = LBX_MP_SPEC_REV;
	buf[10] = checksum(buf, LBX_MPF_SIZE);
	return 0;
}
