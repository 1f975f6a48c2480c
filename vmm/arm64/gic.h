/* SPDX-License-Identifier: MIT */
/*
 * The in-kernel GICv3 (KVM_DEV_TYPE_ARM_VGIC_V3, Documentation/virt/kvm/
 * devices/arm-vgic-v3.rst): distributor and redistributors at layout.h's
 * addresses, LBX_A64_GIC_NR_IRQS interrupts. Created after every vCPU
 * (the redistributors are per vCPU) and initialised before any interrupt
 * is wired, so irqfds and KVM_IRQ_LINE find it ready.
 */
#ifndef VMM_ARM64_GIC_H
#define VMM_ARM64_GIC_H

#include <stddef.h>

#include "machine.h"

/* The device fd in *fd; -errno with one line in err. */
int vmm_a64_gic_create(struct vmm_machine *m, unsigned ncpus, int *fd, char *err, size_t errsz);

#endif
