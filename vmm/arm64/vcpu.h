/* SPDX-License-Identifier: MIT */
/*
 * arm64 vCPUs: one thread each. KVM_ARM_VCPU_INIT with the host's
 * preferred target and PSCI 0.2; every vCPU but the first starts powered
 * off and waits in KVM for the guest's PSCI CPU_ON (handled in the
 * kernel). The boot vCPU enters the Image at its load address with x0 =
 * the DTB (booting.rst: x1..x3 zero, EL1h, interrupts masked, MMU off).
 * The run loop hands MMIO exits to the bus and turns PSCI SYSTEM_OFF and
 * SYSTEM_RESET (KVM_EXIT_SYSTEM_EVENT) into a machine stop.
 */
#ifndef VMM_ARM64_VCPU_H
#define VMM_ARM64_VCPU_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "iobus.h"
#include "machine.h"

struct vmm_a64_vcpu {
	unsigned index;
	int fd;
	struct kvm_run *run;
	pthread_t thread;
	bool started;
	struct vmm_machine *m;
	const struct vmm_iobus *mmio;
	/* Called in the thread before its first KVM_RUN (start gate, seccomp). */
	int (*before_run)(struct vmm_a64_vcpu *v, void *ctx);
	void *ctx;
};

int vmm_a64_vcpu_create(struct vmm_a64_vcpu *v, struct vmm_machine *m, unsigned index, char *err,
			size_t errsz);
int vmm_a64_vcpu_set_boot_regs(struct vmm_a64_vcpu *v, uint64_t entry, uint64_t fdt, char *err,
			       size_t errsz);
int vmm_a64_vcpu_start(struct vmm_a64_vcpu *v);
/* Make the thread leave KVM_RUN (after vmm_machine_stop). */
void vmm_a64_vcpu_kick(struct vmm_a64_vcpu *v);
void vmm_a64_vcpu_destroy(struct vmm_a64_vcpu *v);

#endif
