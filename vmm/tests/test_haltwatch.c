/* SPDX-License-Identifier: MIT */
/* The halt watch's verdict: when a set of parked vCPUs has powered off. */
#include <linux/kvm.h>

#include "haltwatch.h"
#include "tap.h"

#define HALTED_OFF                                                                                 \
	{                                                                                          \
		true, KVM_MP_STATE_HALTED, false, false                                            \
	}
#define HALTED_ON                                                                                  \
	{                                                                                          \
		true, KVM_MP_STATE_HALTED, true, false                                             \
	}
#define HALTED_NMI                                                                                 \
	{                                                                                          \
		true, KVM_MP_STATE_HALTED, false, true                                             \
	}
#define RUNNABLE                                                                                   \
	{                                                                                          \
		true, KVM_MP_STATE_RUNNABLE, false, false                                          \
	}
#define NOT_STARTED                                                                                \
	{                                                                                          \
		true, KVM_MP_STATE_UNINITIALIZED, false, false                                     \
	}
#define INIT_WAIT                                                                                  \
	{                                                                                          \
		true, KVM_MP_STATE_INIT_RECEIVED, false, false                                     \
	}
#define SIPI_RECEIVED                                                                              \
	{                                                                                          \
		true, KVM_MP_STATE_SIPI_RECEIVED, false, false                                     \
	}
#define FAILED                                                                                     \
	{                                                                                          \
		false, KVM_MP_STATE_HALTED, false, false                                           \
	}

int main(void)
{
	{
		struct vmm_vcpu_sample s[] = { HALTED_OFF };
		is_int(vmm_halt_verdict(s, 1), VMM_HALT_FOR_GOOD,
		       "one vCPU, cli; hlt: powered off");
	}
	{
		struct vmm_vcpu_sample s[] = { HALTED_OFF, HALTED_OFF, NOT_STARTED, INIT_WAIT };
		is_int(vmm_halt_verdict(s, 4), VMM_HALT_FOR_GOOD,
		       "halted and never-started application processors: powered off");
	}
	{
		struct vmm_vcpu_sample s[] = { HALTED_ON };
		is_int(vmm_halt_verdict(s, 1), VMM_HALT_IDLE, "sti; hlt: idle, not off");
	}
	{
		struct vmm_vcpu_sample s[] = { HALTED_OFF, HALTED_ON };
		is_int(vmm_halt_verdict(s, 2), VMM_HALT_IDLE,
		       "one vCPU can still be woken (and can wake the others): idle");
	}
	{
		struct vmm_vcpu_sample s[] = { HALTED_NMI };
		is_int(vmm_halt_verdict(s, 1), VMM_HALT_IDLE,
		       "an NMI pending wakes a cli; hlt: idle");
	}
	{
		struct vmm_vcpu_sample s[] = { HALTED_OFF, RUNNABLE };
		is_int(vmm_halt_verdict(s, 2), VMM_HALT_RUNNING, "one vCPU runs: running");
	}
	{
		struct vmm_vcpu_sample s[] = { HALTED_OFF, SIPI_RECEIVED };
		is_int(vmm_halt_verdict(s, 2), VMM_HALT_RUNNING,
		       "an application processor being started: running");
	}
	{
		struct vmm_vcpu_sample s[] = { HALTED_OFF, FAILED };
		is_int(vmm_halt_verdict(s, 2), VMM_HALT_RUNNING,
		       "a sample that failed never counts as halted");
	}
	{
		struct vmm_vcpu_sample s[] = { NOT_STARTED };
		is_int(vmm_halt_verdict(s, 1), VMM_HALT_RUNNING,
		       "no vCPU halted at all (nothing sampled as off): running");
	}
	is_int(vmm_halt_verdict(NULL, 0), VMM_HALT_RUNNING, "no vCPUs: running");
	return tap_done();
}
