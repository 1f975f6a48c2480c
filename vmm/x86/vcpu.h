/* SPDX-License-Identifier: MIT */
/*
 * vCPUs: one thread each. Creation sets CPUID, MSRs, FPU and LAPIC for
 * every vCPU and the boot registers for the first; the application
 * processors wait in KVM for INIT/SIPI from the guest (in-kernel LAPIC).
 * The run loop hands port and MMIO exits to the buses and turns a reset or
 * a triple fault into a machine stop.
 */
#ifndef VMM_VCPU_H
#define VMM_VCPU_H

#include <pthread.h>
#include <stdatomic.h>

#include "boot.h"
#include "haltwatch.h"
#include "iobus.h"
#include "machine.h"

/*
 * Parking: the main thread asks every vCPU to leave KVM_RUN and wait, so
 * that it sees all of them stopped at one moment (the halt watch).
 */
struct vmm_park {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	atomic_bool requested;
	unsigned parked;
};
#define VMM_PARK_INIT { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, false, 0 }

struct vmm_vcpu {
	unsigned index;
	int fd;
	struct kvm_run *run;
	pthread_t thread;
	bool started;
	struct vmm_machine *m;
	const struct vmm_iobus *pio, *mmio;
	/* Called in the thread before its first KVM_RUN (seccomp, barrier). */
	int (*before_run)(struct vmm_vcpu *v, void *ctx);
	void *ctx;
	atomic_bool first_run; /* set just before the first KVM_RUN */
	struct vmm_park *park;	/* NULL: never parked */
	struct vmm_vcpu_sample sample; /* taken by the thread when it parks */
};

int vmm_vcpu_create(struct vmm_vcpu *v, struct vmm_machine *m, unsigned index, unsigned ncpus,
		    char *err, size_t errsz);
/* Registers for entering the kernel as b says (the boot vCPU only). */
int vmm_vcpu_set_boot_regs(struct vmm_vcpu *v, const struct vmm_boot *b, char *err,
			   size_t errsz);
int vmm_vcpu_start(struct vmm_vcpu *v);
/* Make the thread leave KVM_RUN and end (after vmm_machine_stop). */
void vmm_vcpu_kick(struct vmm_vcpu *v);
void vmm_vcpu_destroy(struct vmm_vcpu *v);
/*
 * Park the n vCPUs that run (each samples its state into ->sample first);
 * true when all of them parked within timeout_ms. Always follow with
 * vmm_vcpus_unpark, whatever it returned.
 */
bool vmm_vcpus_park(struct vmm_vcpu *v, unsigned n, struct vmm_park *p, int timeout_ms);
void vmm_vcpus_unpark(struct vmm_park *p);
/* CPUID.1 EAX and EDX as this vCPU sees them (for the MP table). */
void vmm_vcpu_signature(const struct vmm_machine *m, uint32_t *eax, uint32_t *edx);

#endif
