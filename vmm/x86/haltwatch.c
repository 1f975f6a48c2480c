/* SPDX-License-Identifier: MIT */
#include "haltwatch.h"

#include <linux/kvm.h>

enum vmm_halt_verdict vmm_halt_verdict(const struct vmm_vcpu_sample *s, unsigned n)
{
	bool any_halted = false, any_wakeable = false;

	for (unsigned i = 0; i < n; i++) {
		if (!s[i].valid)
			return VMM_HALT_RUNNING;
		switch (s[i].mp_state) {
		case KVM_MP_STATE_UNINITIALIZED:
		case KVM_MP_STATE_INIT_RECEIVED:
			/* Only another vCPU's INIT/SIPI starts it. */
			break;
		case KVM_MP_STATE_HALTED:
			any_halted = true;
			if (s[i].irq_on || s[i].nmi_pending)
				any_wakeable = true;
			break;
		default: return VMM_HALT_RUNNING;
		}
	}
	if (!any_halted)
		return VMM_HALT_RUNNING;
	return any_wakeable ? VMM_HALT_IDLE : VMM_HALT_FOR_GOOD;
}
