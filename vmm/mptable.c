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
 * ISA interrupts as KVM's default routing wires them: IRQ 0 (the PIT)
 * arrives on IOAPIC pin 2, pin 0 carries the 8259's ExtINT, every other
 * IRQ n on pin n. The virtio-mmio devices use pins 5 and up.
 */
static uint8_t *put_irqs(uint8_t *p, uint8_t ioapic)
{
	for (unsigned pin = 0; pin < MP_IOINTS; pin++) {
		uint8_t type = pin == 0 ? 3 /* ExtINT */ : 0 /* INT */;
		uint8_t src = pin == 2 ? 0 : (uint8_t)pin;

		p = put_entry(p, LBX_MPC_IOINT, type, 0, 0, 0 /* bus */, src, ioapic);
		p[-1] = (uint8_t)pin;
	}
	/* LINT0 ExtINT and LINT1 NMI on every processor (virtual wire mode). */
	p = put_entry(p, LBX_MPC_LINT, 3, 0, 0, 0, 0, 0xff);
	p[-1] = 0;
	p = put_entry(p, LBX_MPC_LINT, 1, 0, 0, 0, 0, 0xff);
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
