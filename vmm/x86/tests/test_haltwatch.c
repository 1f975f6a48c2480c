/* SPDX-License-Identifier: MIT */
/* The halt watch's verdict: when a set of parked vCPUs has powered off. */
#include <linux/kvm.h>

#include "haltwatch.h"
#include "tap.h"

/* A sample: whether it answered, the MP state, RFLAGS.IF, an NMI pending. */
#define SAMPLE(ok, mp, irq, nmi) { ok, KVM_MP_STATE_##mp, irq, nmi }
/* clang-format off */
#define HALTED_OFF SAMPLE(true, HALTED, false, false)
#define HALTED_ON SAMPLE(true, HALTED, true, false)
#define HALTED_NMI SAMPLE(true, HALTED, false, true)
#define RUNNABLE SAMPLE(true, RUNNABLE, false, false)
#define NOT_STARTED SAMPLE(true, UNINITIALIZED, false, false)
#define INIT_WAIT SAMPLE(true, INIT_RECEIVED, false, false)
#define SIPI_RECEIVED SAMPLE(true, SIPI_RECEIVED, false, false)
#define FAILED SAMPLE(false, HALTED, false, false)
/* clang-format on */

#define MAXV 4

static const struct {
	struct vmm_vcpu_sample s[MAXV];
	unsigned n;
	enum vmm_halt_verdict want;
	const char *what;
} cases[] = {
	{ { HALTED_OFF }, 1, VMM_HALT_FOR_GOOD, "one vCPU, cli; hlt: powered off" },
	{ { HALTED_OFF, HALTED_OFF, NOT_STARTED, INIT_WAIT },
	  4,
	  VMM_HALT_FOR_GOOD,
	  "halted and never-started application processors: powered off" },
	{ { HALTED_ON }, 1, VMM_HALT_IDLE, "sti; hlt: idle, not off" },
	{ { HALTED_OFF, HALTED_ON },
	  2,
	  VMM_HALT_IDLE,
	  "one vCPU can still be woken (and can wake the others): idle" },
	{ { HALTED_NMI }, 1, VMM_HALT_IDLE, "an NMI pending wakes a cli; hlt: idle" },
	{ { HALTED_OFF, RUNNABLE }, 2, VMM_HALT_RUNNING, "one vCPU runs: running" },
	{ { HALTED_OFF, SIPI_RECEIVED },
	  2,
	  VMM_HALT_RUNNING,
	  "an application processor being started: running" },
	{ { HALTED_OFF, FAILED }, 2, VMM_HALT_RUNNING, "a sample that failed never counts as halted" },
	{ { NOT_STARTED }, 1, VMM_HALT_RUNNING, "no vCPU halted at all: running" },
	{ { HALTED_OFF }, 0, VMM_HALT_RUNNING, "no vCPUs: running" },
};

int main(void)
{
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		is_int(vmm_halt_verdict(cases[i].s, cases[i].n), cases[i].want, "%s", cases[i].what);
	return tap_done();
}
