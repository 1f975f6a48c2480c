/* SPDX-License-Identifier: MIT */
/*
 * Poweroff by halting. With the in-kernel LAPIC a HLT never leaves KVM, so
 * a guest that stops every CPU with interrupts off (Linux's halt and its
 * poweroff without ACPI, `cli; hlt` in a probe) would hang the VMM forever.
 * The main loop parks every vCPU out of KVM_RUN twice a second, samples
 * each one's state and, when nothing can ever wake any of them again,
 * stops the machine as a poweroff (exit 0).
 */
#ifndef VMM_HALTWATCH_H
#define VMM_HALTWATCH_H

#include <stdbool.h>
#include <stdint.h>

/* Milliseconds between two samples. */
#define VMM_HALTWATCH_MS 500

/* One vCPU as seen while it was parked out of KVM_RUN. */
struct vmm_vcpu_sample {
	bool valid;	   /* the ioctls below all answered */
	uint32_t mp_state; /* KVM_GET_MP_STATE */
	bool irq_on;	   /* RFLAGS.IF */
	bool nmi_pending;  /* KVM_GET_VCPU_EVENTS: an NMI pending or injected */
};

enum vmm_halt_verdict {
	VMM_HALT_RUNNING,  /* some vCPU runs or can still be woken */
	VMM_HALT_IDLE,	   /* every vCPU waits, but an interrupt can wake it */
	VMM_HALT_FOR_GOOD, /* every vCPU halted with interrupts off: poweroff */
};

/*
 * The verdict over n samples taken while every vCPU was parked at once. An
 * application processor the guest never started (waiting for INIT/SIPI)
 * counts as halted; a sample that failed counts as running.
 */
enum vmm_halt_verdict vmm_halt_verdict(const struct vmm_vcpu_sample *s, unsigned n);

#endif
