/* SPDX-License-Identifier: MIT */
#include "vcpu.h"

#include <errno.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "log.h"

/* A core register's id for KVM_SET_ONE_REG (api.rst, "ARM64 core registers"). */
#define CORE_REG(field)                                                                            \
	(KVM_REG_ARM64 | KVM_REG_SIZE_U64 | KVM_REG_ARM_CORE |                                     \
	 (offsetof(struct kvm_regs, field) / sizeof(uint32_t)))

/* PSTATE at entry: EL1h, D, A, I and F masked. */
#define PSTATE_EL1H_MASKED 0x3c5ULL

static int fail(char *err, size_t errsz, unsigned index, const char *what)
{
	int e = errno;

	snprintf(err, errsz, "vCPU %u: %s: %s", index, what, strerror(e));
	return -e;
}

int vmm_a64_vcpu_create(struct vmm_a64_vcpu *v, struct vmm_machine *m, unsigned index, char *err,
			size_t errsz)
{
	struct kvm_vcpu_init init;

	v->index = index;
	v->m = m;
	v->fd = ioctl(m->vm_fd, KVM_CREATE_VCPU, (unsigned long)index);
	if (v->fd < 0)
		return fail(err, errsz, index, "KVM_CREATE_VCPU");
	v->run = mmap(NULL, m->run_size, PROT_READ | PROT_WRITE, MAP_SHARED, v->fd, 0);
	if (v->run == MAP_FAILED) {
		v->run = NULL;
		return fail(err, errsz, index, "mapping kvm_run");
	}
	memset(&init, 0, sizeof(init));
	if (ioctl(m->vm_fd, KVM_ARM_PREFERRED_TARGET, &init) < 0)
		return fail(err, errsz, index, "KVM_ARM_PREFERRED_TARGET");
	init.features[0] |= 1u << KVM_ARM_VCPU_PSCI_0_2;
	if (index > 0)
		init.features[0] |= 1u << KVM_ARM_VCPU_POWER_OFF;
	if (ioctl(v->fd, KVM_ARM_VCPU_INIT, &init) < 0)
		return fail(err, errsz, index, "KVM_ARM_VCPU_INIT");
	return 0;
}

static int set_reg(int fd, uint64_t id, uint64_t value)
{
	struct kvm_one_reg r = { .id = id, .addr = (uint64_t)(uintptr_t)&value };

	return ioctl(fd, KVM_SET_ONE_REG, &r) < 0 ? -errno : 0;
}

int vmm_a64_vcpu_set_boot_regs(struct vmm_a64_vcpu *v, uint64_t entry, uint64_t fdt, char *err,
			       size_t errsz)
{
	if (set_reg(v->fd, CORE_REG(regs.pstate), PSTATE_EL1H_MASKED) ||
	    set_reg(v->fd, CORE_REG(regs.regs[0]), fdt) ||
	    set_reg(v->fd, CORE_REG(regs.regs[1]), 0) ||
	    set_reg(v->fd, CORE_REG(regs.regs[2]), 0) ||
	    set_reg(v->fd, CORE_REG(regs.regs[3]), 0) || set_reg(v->fd, CORE_REG(regs.pc), entry))
		return fail(err, errsz, v->index, "setting the boot registers");
	return 0;
}

static void system_event(struct vmm_a64_vcpu *v)
{
	switch (v->run->system_event.type) {
	case KVM_SYSTEM_EVENT_SHUTDOWN:
		vmm_machine_stop(v->m, 0, "guest powered off (PSCI SYSTEM_OFF)");
		break;
	case KVM_SYSTEM_EVENT_RESET:
		vmm_machine_stop(v->m, 0, "guest reset (PSCI SYSTEM_RESET)");
		break;
	case KVM_SYSTEM_EVENT_CRASH:
		vmm_machine_stop(v->m, 1, "guest crashed (PSCI, vCPU %u)", v->index);
		break;
	default:
		vmm_machine_stop(v->m, 1, "vCPU %u: unknown system event %u", v->index,
				 v->run->system_event.type);
	}
}

static void handle_exit(struct vmm_a64_vcpu *v)
{
	struct kvm_run *r = v->run;

	switch (r->exit_reason) {
	case KVM_EXIT_MMIO:
		if (!vmm_iobus_access(v->mmio, r->mmio.phys_addr, r->mmio.data, r->mmio.len,
				      r->mmio.is_write))
			lbx_debug("vCPU %u: unclaimed MMIO %s at 0x%llx", v->index,
				  r->mmio.is_write ? "write" : "read",
				  (unsigned long long)r->mmio.phys_addr);
		break;
	case KVM_EXIT_SYSTEM_EVENT: system_event(v); break;
	case KVM_EXIT_INTR: break;
	case KVM_EXIT_FAIL_ENTRY:
		vmm_machine_stop(v->m, 1, "vCPU %u: entry failed (reason 0x%llx)", v->index,
				 (unsigned long long)r->fail_entry.hardware_entry_failure_reason);
		break;
	case KVM_EXIT_INTERNAL_ERROR:
		vmm_machine_stop(v->m, 1, "vCPU %u: KVM internal error %u", v->index,
				 r->internal.suberror);
		break;
	default: vmm_machine_stop(v->m, 1, "vCPU %u: unexpected exit %u", v->index, r->exit_reason);
	}
}

static void *vcpu_thread(void *arg)
{
	struct vmm_a64_vcpu *v = arg;

	if (v->before_run && v->before_run(v, v->ctx) < 0) {
		vmm_machine_stop(v->m, 1, "vCPU %u could not start", v->index);
		return NULL;
	}
	while (!vmm_machine_stopping(v->m)) {
		if (ioctl(v->fd, KVM_RUN, 0) < 0) {
			/* A kick: the stop is seen at the top of the loop. */
			if (errno == EINTR || errno == EAGAIN) {
				v->run->immediate_exit = 0;
				continue;
			}
			vmm_machine_stop(v->m, 1, "vCPU %u: KVM_RUN: %s", v->index,
					 strerror(errno));
			break;
		}
		handle_exit(v);
	}
	return NULL;
}

static void kick_signal(int sig)
{
}

int vmm_a64_vcpu_start(struct vmm_a64_vcpu *v)
{
	struct sigaction sa;
	int rc;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = kick_signal; /* no SA_RESTART: KVM_RUN returns EINTR */
	sigaction(SIGUSR1, &sa, NULL);
	rc = pthread_create(&v->thread, NULL, vcpu_thread, v);
	v->started = rc == 0;
	return -rc;
}

void vmm_a64_vcpu_kick(struct vmm_a64_vcpu *v)
{
	if (!v->started)
		return;
	v->run->immediate_exit = 1;
	pthread_kill(v->thread, SIGUSR1);
}

void vmm_a64_vcpu_destroy(struct vmm_a64_vcpu *v)
{
	if (v->started) {
		vmm_a64_vcpu_kick(v);
		pthread_join(v->thread, NULL);
		v->started = false;
	}
	if (v->run)
		munmap(v->run, v->m->run_size);
	if (v->fd >= 0)
		close(v->fd);
	v->fd = -1;
	v->run = NULL;
}
