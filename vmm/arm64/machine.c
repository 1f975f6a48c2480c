/* SPDX-License-Identifier: MIT */
/*
 * The arm64 machine: the VM and its RAM (one memfd at LBX_A64_RAM_BASE,
 * layout.h). The interrupt controller is the vGICv3 (gic.c), created once
 * the vCPUs exist, so vmm_machine_create makes none. Interrupt numbers
 * given to vmm_machine_irq_line and vmm_machine_irqfd are SPI numbers:
 * KVM's default routing on arm64 takes an irqfd GSI as SPI index (INTID -
 * 32). The rest of struct vmm_machine is vmm/machine.c's.
 */
#include "machine.h"

#include <errno.h>
#include <sys/ioctl.h>

#include "arm64/layout.h"

/* All of RAM is one region at memfd offset 0. */
uint64_t vmm_ram_low_bytes(uint64_t ram_bytes)
{
	return ram_bytes;
}

int vmm_machine_create(struct vmm_machine *m, uint64_t ram_bytes, char *err, size_t errsz)
{
	int rc = vmm_machine_open(m, err, errsz);

	if (rc == 0)
		rc = vmm_machine_ram(m, ram_bytes, err, errsz);
	if (rc == 0 && (rc = vmm_machine_add_ram(m, 0, LBX_A64_RAM_BASE, ram_bytes, 0))) {
		errno = -rc;
		return vmm_machine_fail(err, errsz, "registering guest RAM");
	}
	return rc;
}

int vmm_machine_irq_line(struct vmm_machine *m, unsigned spi, int level)
{
	/* Documentation/virt/kvm/api.rst KVM_IRQ_LINE, arm64: type, vcpu index, INTID. */
	struct kvm_irq_level irq = {
		.irq = KVM_ARM_IRQ_TYPE_SPI << KVM_ARM_IRQ_TYPE_SHIFT | (spi + 32),
		.level = (uint32_t)level,
	};

	return ioctl(m->vm_fd, KVM_IRQ_LINE, &irq) < 0 ? -errno : 0;
}
