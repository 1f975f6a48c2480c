/* SPDX-License-Identifier: MIT */
/*
 * The device tree an arm64 guest boots with, written with libfdt's
 * sequential-write API: memory, cpus (PSCI enable-method), PSCI, the
 * GICv3, the architected timer, the UART, one virtio,mmio node per device
 * and /chosen (bootargs, initrd, stdout-path). Devices go in the tree,
 * never on the command line. Bindings followed: Documentation/devicetree/
 * bindings/ arm/psci.yaml, interrupt-controller/arm,gic-v3.yaml,
 * timer/arm,arch_timer.yaml, serial/8250.yaml, virtio/mmio.yaml,
 * chosen.yaml.
 */
#ifndef VMM_ARM64_DEVICE_TREE_H
#define VMM_ARM64_DEVICE_TREE_H

#include <stddef.h>
#include <stdint.h>

#define VMM_FDT_MAX_VIRTIO 32

struct vmm_fdt_virtio {
	uint64_t base, size;
	unsigned spi;
};

struct vmm_fdt_params {
	uint64_t ram_base, ram_size;
	unsigned ncpus;
	uint64_t gicd_base, gicd_size;
	uint64_t gicr_base, gicr_size; /* all redistributors, one region */
	uint64_t uart_base, uart_size;
	unsigned uart_spi;
	uint32_t uart_clock;
	struct vmm_fdt_virtio virtio[VMM_FDT_MAX_VIRTIO];
	unsigned nvirtio;
	const char *bootargs;
	uint64_t initrd_start, initrd_end; /* both 0: no initrd */
};

/* MPIDR affinity KVM gives vCPU index i (its reset value), the cpu node's reg. */
uint64_t vmm_fdt_cpu_mpidr(unsigned i);
/*
 * Write the blob into buf (at most size bytes). 0, or -errno with one
 * line in err saying what did not fit or which value is wrong.
 */
int vmm_fdt_build(void *buf, size_t size, const struct vmm_fdt_params *p, char *err, size_t errsz);

#endif
