/* SPDX-License-Identifier: MIT */
#include "vcpu.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <sys/mman.h>
#include <unistd.h>

#include "cpuid.h"
#include "gdt.h"
#include "layout.h"
#include "log.h"

#define MSR_IA32_TSC 0x10
#define MSR_IA32_SYSENTER_CS 0x174
#define MSR_IA32_SYSENTER_ESP 0x175
#define MSR_IA32_SYSENTER_EIP 0x176
#define MSR_IA32_MISC_ENABLE 0x1a0
#define MSR_MTRR_DEF_TYPE 0x2ff
#define MSR_STAR 0xc0000081
#define MSR_LSTAR 0xc0000082
#define MSR_CSTAR 0xc0000083
#define MSR_SYSCALL_MASK 0xc0000084
#define MSR_KERNEL_GS_BASE 0xc0000102

#define CR0_PE 0x1ULL
#define CR0_ET 0x10ULL
#define CR0_NE 0x20ULL
#define CR0_PG 0x80000000ULL
#define CR4_PAE 0x20ULL
#define EFER_LME 0x100ULL
#define EFER_LMA 0x400ULL

#define APIC_LVT0 0x350
#define APIC_LVT1 0x360
#define APIC_MODE_NMI 0x4
#define APIC_MODE_EXTINT 0x7

static int fail(char *err, size_t errsz, const char *what, unsigned index)
{
	int e = errno;

	snprintf(err, errsz, "vCPU %u: %s: %s", index, what, strerror(e));
	return -e;
}

static int set_cpuid(struct vmm_vcpu *v, unsigned ncpus)
{
	const struct kvm_cpuid2 *sup = v->m->cpuid;
	size_t size = sizeof(*sup) + sup->nent * sizeof(sup->entries[0]);
	struct kvm_cpuid2 *c = malloc(size);
	int rc;

	if (!c)
		return -ENOMEM;
	memcpy(c, sup, size);
	vmm_cpuid_patch(c->entries, c->nent, v->index, ncpus);
	rc = ioctl(v->fd, KVM_SET_CPUID2, c) < 0 ? -errno : 0;
	free(c);
	return rc;
}

/*
 * The MSR values a just-reset CPU or firmware leaves behind that Linux
 * relies on: fast strings on, MTRRs enabled with write-back default.
 */
static void set_msrs(struct vmm_vcpu *v)
{
	static const struct { uint32_t index; uint64_t data; } init[] = {
		{ MSR_IA32_SYSENTER_CS, 0 }, { MSR_IA32_SYSENTER_ESP, 0 },
		{ MSR_IA32_SYSENTER_EIP, 0 }, { MSR_STAR, 0 }, { MSR_CSTAR, 0 },
		{ MSR_KERNEL_GS_BASE, 0 }, { MSR_SYSCALL_MASK, 0 }, { MSR_LSTAR, 0 },
		{ MSR_IA32_TSC, 0 }, { MSR_IA32_MISC_ENABLE, 1 },
		{ MSR_MTRR_DEF_TYPE, (1 << 11) | 6 },
	};
	struct kvm_msrs *msrs = calloc(1, sizeof(*msrs) + sizeof(init) / sizeof(init[0]) *
						       sizeof(msrs->entries[0]));
	int n;

	if (!msrs)
		return;
	msrs->nmsrs = LBX_ARRAY_SIZE(init);
	for (size_t i = 0; i < LBX_ARRAY_SIZE(init); i++) {
		msrs->entries[i].index = init[i].index;
		msrs->entries[i].data = init[i].data;
	}
	n = ioctl(v->fd, KVM_SET_MSRS, msrs);
	free(msrs);
	/* KVM stops at the first MSR it refuses; the rest are best effort. */
	if (n >= 0 && (size_t)n < LBX_ARRAY_SIZE(init))
		lbx_debug("vCPU %u: KVM refused MSR 0x%x", v->index, init[n].index);
}

static int set_fpu(struct vmm_vcpu *v)
{
	struct kvm_fpu fpu;

	memset(&fpu, 0, sizeof(fpu));
	fpu.fcw = 0x37f;    /* FNINIT default */
	fpu.mxcsr = 0x1f80; /* all SSE exceptions masked */
	return ioctl(v->fd, KVM_SET_FPU, &fpu) < 0 ? -errno : 0;
}

static void set_lvt_mode(struct kvm_lapic_state *l, unsigned reg, uint32_t mode)
{
	uint32_t val;

	memcpy(&val, &l->regs[reg], 4);
	val = (val & ~0x700U) | mode << 8;
	memcpy(&l->regs[reg], &val, 4);
}

/* Virtual wire mode (MP spec 1.4 §3.6.2.2): LINT0 ExtINT, LINT1 NMI. */
static int set_lapic(struct vmm_vcpu *v)
{
	struct kvm_lapic_state l;

	if (ioctl(v->fd, KVM_GET_LAPIC, &l) < 0)
		return -errno;
	set_lvt_mode(&l, APIC_LVT0, APIC_MODE_EXTINT);
	set_lvt_mode(&l, APIC_LVT1, APIC_MODE_NMI);
	return ioctl(v->fd, KVM_SET_LAPIC, &l) < 0 ? -errno : 0;
}

int vmm_vcpu_create(struct vmm_vcpu *v, struct vmm_machine *m, unsigned index, unsigned ncpus,
		    char *err, size_t errsz)
{
	v->index = index;
	v->m = m;
	v->run = NULL;
	v->fd = ioctl(m->vm_fd, KVM_CREATE_VCPU, (unsigned long)index);
	if (v->fd < 0)
		return fail(err, errsz, "KVM_CREATE_VCPU", index);
	v->run = mmap(NULL, m->run_size, PROT_READ | PROT_WRITE, MAP_SHARED, v->fd, 0);
	if (v->run == MAP_FAILED) {
		v->run = NULL;
		return fail(err, errsz, "mapping kvm_run", index);
	}
	if ((errno = -set_cpuid(v, ncpus)) != 0)
		return fail(err, errsz, "KVM_SET_CPUID2", index);
	set_msrs(v);
	if ((errno = -set_fpu(v)) != 0)
		return fail(err, errsz, "KVM_SET_FPU", index);
	if ((errno = -set_lapic(v)) != 0)
		return fail(err, errsz, "LAPIC", index);
	return 0;
}

/* boot.rst 64-bit protocol: long mode, paging on, CS 0x10, DS/ES/SS 0x18. */
static void long_mode_sregs(struct kvm_sregs *s, const uint64_t gdt[LBX_GDT_ENTRIES])
{
	s->cs = vmm_gdt_segment(gdt, LBX_SEL_CODE64);
	s->ds = s->es = s->fs = s->gs = s->ss = vmm_gdt_segment(gdt, LBX_SEL_DATA);
	s->cr3 = LBX_PML4_ADDR;
	s->cr4 = CR4_PAE;
	s->cr0 = CR0_PE | CR0_ET | CR0_NE | CR0_PG;
	s->efer = EFER_LME | EFER_LMA;
}

/* PVH ABI: 32-bit flat protected mode, paging off, CR4 = 0, EFER = 0. */
static void pvh_sregs(struct kvm_sregs *s, const uint64_t gdt[LBX_GDT_ENTRIES])
{
	s->cs = vmm_gdt_segment(gdt, LBX_SEL_CODE32);
	s->ds = s->es = s->fs = s->gs = s->ss = vmm_gdt_segment(gdt, LBX_SEL_DATA);
	s->cr0 = CR0_PE | CR0_ET;
	s->cr3 = 0;
	s->cr4 = 0;
	s->efer = 0;
}

int vmm_vcpu_set_boot_regs(struct vmm_vcpu *v, const struct vmm_boot *b, char *err, size_t errsz)
{
	uint64_t gdt[LBX_GDT_ENTRIES];
	struct kvm_sregs s;
	struct kvm_regs r;

	if (ioctl(v->fd, KVM_GET_SREGS, &s) < 0)
		return fail(err, errsz, "KVM_GET_SREGS", v->index);
	vmm_gdt_build(gdt);
	s.gdt.base = LBX_GDT_ADDR;
	s.gdt.limit = sizeof(gdt) - 1;
	s.idt.base = LBX_IDT_ADDR;
	s.idt.limit = 0;
	s.tr = vmm_gdt_segment(gdt, LBX_SEL_TSS);
	if (b->protocol == VMM_BOOT_PVH)
		pvh_sregs(&s, gdt);
	else
		long_mode_sregs(&s, gdt);
	if (ioctl(v->fd, KVM_SET_SREGS, &s) < 0)
		return fail(err, errsz, "KVM_SET_SREGS", v->index);

	memset(&r, 0, sizeof(r));
	r.rflags = 0x2; /* reserved bit 1; IF clear */
	r.rip = b->entry;
	if (b->protocol == VMM_BOOT_PVH)
		r.rbx = b->info_addr;
	else
		r.rsi = b->info_addr;
	if (ioctl(v->fd, KVM_SET_REGS, &r) < 0)
		return fail(err, errsz, "KVM_SET_REGS", v->index);
	return 0;
}

void vmm_vcpu_signature(const struct vmm_machine *m, uint32_t *eax, uint32_t *edx)
{
	*eax = *edx = 0;
	for (unsigned i = 0; i < m->cpuid->nent; i++)
		if (m->cpuid->entries[i].function == 1) {
			*eax = m->cpuid->entries[i].eax;
			*edx = m->cpuid->entries[i].edx;
		}
}

static void handle_io(struct vmm_vcpu *v)
{
	struct kvm_run *run = v->run;
	uint8_t *data = (uint8_t *)run + run->io.data_offset;
	bool is_write = run->io.direction == KVM_EXIT_IO_OUT;

	/* String I/O (rep outsb) arrives as count back-to-back items. */
	for (uint32_t i = 0; i < run->io.count; i++, data += run->io.size)
		if (!vmm_iobus_access(v->pio, run->io.port, data, run->io.size, is_write))
			lbx_debug("unclaimed port %s 0x%x", is_write ? "write" : "read",
				  run->io.port);
}

static void handle_mmio(struct vmm_vcpu *v)
{
	struct kvm_run *run = v->run;
	unsigned len = run->mmio.len <= 8 ? run->mmio.len : 8;

	if (!vmm_iobus_access(v->mmio, run->mmio.phys_addr, run->mmio.data, len,
			      run->mmio.is_write))
		lbx_debug("unclaimed MMIO %s 0x%llx", run->mmio.is_write ? "write" : "read",
			  (unsigned long long)run->mmio.phys_addr);
}

static void handle_exit(struct vmm_vcpu *v)
{
	struct kvm_run *run = v->run;

	switch (run->exit_reason) {
	case KVM_EXIT_IO:
		handle_io(v);
		break;
	case KVM_EXIT_MMIO:
		handle_mmio(v);
		break;
	case KVM_EXIT_SHUTDOWN:
		vmm_machine_stop(v->m, 0, "guest shut down (triple fault) on vCPU %u", v->index);
		break;
	case KVM_EXIT_SYSTEM_EVENT:
		vmm_machine_stop(v->m, 0, "guest system event %u on vCPU %u",
				 run->system_event.type, v->index);
		break;
	case KVM_EXIT_HLT:
		vmm_machine_stop(v->m, 0, "vCPU %u halted", v->index);
		break;
	case KVM_EXIT_INTR:
		break;
	case KVM_EXIT_FAIL_ENTRY:
		vmm_machine_stop(v->m, 1, "vCPU %u: KVM could not enter the guest (reason 0x%llx)",
				 v->index,
				 (unsigned long long)run->fail_entry.hardware_entry_failure_reason);
		break;
	case KVM_EXIT_INTERNAL_ERROR:
		vmm_machine_stop(v->m, 1, "vCPU %u: KVM internal error %u", v->index,
				 run->internal.suberror);
		break;
	default:
		vmm_machine_stop(v->m, 1, "vCPU %u: unexpected KVM exit %u", v->index,
				 run->exit_reason);
		break;
	}
}

static void take_sample(struct vmm_vcpu *v)
{
	struct kvm_mp_state mp;
	struct kvm_regs r;
	struct kvm_vcpu_events ev;

	v->sample.valid = ioctl(v->fd, KVM_GET_MP_STATE, &mp) == 0 &&
			  ioctl(v->fd, KVM_GET_REGS, &r) == 0 &&
			  ioctl(v->fd, KVM_GET_VCPU_EVENTS, &ev) == 0;
	if (!v->sample.valid)
		return;
	v->sample.mp_state = mp.mp_state;
	v->sample.irq_on = (r.rflags & 0x200) != 0;
	v->sample.nmi_pending = ev.nmi.pending || ev.nmi.injected;
}

/* In the vCPU thread, out of KVM_RUN: sample, then wait to be let go. */
static void park_here(struct vmm_vcpu *v)
{
	struct vmm_park *p = v->park;

	take_sample(v);
	pthread_mutex_lock(&p->lock);
	p->parked++;
	pthread_cond_broadcast(&p->cond);
	while (atomic_load(&p->requested) && !vmm_machine_stopping(v->m))
		pthread_cond_wait(&p->cond, &p->lock);
	p->parked--;
	pthread_mutex_unlock(&p->lock);
}

static void *vcpu_thread(void *arg)
{
	struct vmm_vcpu *v = arg;

	if (v->before_run && v->before_run(v, v->ctx) < 0) {
		vmm_machine_stop(v->m, 1, "vCPU %u could not start", v->index);
		return NULL;
	}
	atomic_store(&v->first_run, true);
	while (!vmm_machine_stopping(v->m)) {
		if (v->park && atomic_load(&v->park->requested)) {
			park_here(v);
			continue;
		}
		if (ioctl(v->fd, KVM_RUN, 0) < 0) {
			/*
			 * A kick: clear immediate_exit so the next KVM_RUN enters
			 * the guest (a stop is seen at the top of the loop).
			 */
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
	(void)sig;
}

int vmm_vcpu_start(struct vmm_vcpu *v)
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

void vmm_vcpu_kick(struct vmm_vcpu *v)
{
	if (!v->started)
		return;
	v->run->immediate_exit = 1;
	pthread_kill(v->thread, SIGUSR1);
}

bool vmm_vcpus_park(struct vmm_vcpu *v, unsigned n, struct vmm_park *p, int timeout_ms)
{
	unsigned want = 0;
	struct timespec until;
	int rc = 0;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
	until.tv_sec += timeout_ms / 1000 + until.tv_nsec / 1000000000L;
	until.tv_nsec %= 1000000000L;
	atomic_store(&p->requested, true);
	for (unsigned i = 0; i < n; i++)
		if (v[i].started && atomic_load(&v[i].first_run)) {
			want++;
			vmm_vcpu_kick(&v[i]);
		}
	pthread_mutex_lock(&p->lock);
	while (p->parked < want && rc == 0)
		rc = pthread_cond_timedwait(&p->cond, &p->lock, &until);
	rc = want > 0 && want == n && p->parked == want;
	pthread_mutex_unlock(&p->lock);
	return rc;
}

void vmm_vcpus_unpark(struct vmm_park *p)
{
	pthread_mutex_lock(&p->lock);
	atomic_store(&p->requested, false);
	pthread_cond_broadcast(&p->cond);
	pthread_mutex_unlock(&p->lock);
}

void vmm_vcpu_destroy(struct vmm_vcpu *v)
{
	if (v->started) {
		vmm_vcpu_kick(v);
		pthread_join(v->thread, NULL);
		v->started = false;
	}
	if (v->run)
		munmap(v->run, v->m->run_size);
	if (v->fd >= 0)
		close(v->fd);
}
