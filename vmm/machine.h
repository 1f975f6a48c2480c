/* SPDX-License-Identifier: MIT */
/*
 * The virtual machine: /dev/kvm, the VM, guest RAM and the in-kernel
 * interrupt controllers (PIC, IOAPIC, per-vCPU LAPIC) and PIT. Also the
 * one place that decides how the machine stops: the first vmm_machine_stop
 * wins, records why and wakes the main loop.
 */
#ifndef VMM_MACHINE_H
#define VMM_MACHINE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <linux/kvm.h>

#include "guest_mem.h"

struct vmm_machine {
	int kvm_fd;
	int vm_fd;
	int ram_fd;		/* memfd of all guest RAM (shared with backends) */
	uint8_t *ram;		/* its mapping, MAP_SHARED | MAP_NORESERVE */
	uint64_t ram_bytes;
	struct lbx_guest_mem mem;
	size_t run_size;	/* KVM_GET_VCPU_MMAP_SIZE */
	bool has_irqfd;
	bool has_ioeventfd;
	struct kvm_cpuid2 *cpuid; /* KVM_GET_SUPPORTED_CPUID */
	/* stopping */
	atomic_int stopping;
	int exit_code;
	char stop_reason[160];
	int stop_fd;		/* eventfd the main loop watches */
};

/* One line on failure in err. */
int vmm_machine_create(struct vmm_machine *m, uint64_t ram_bytes, char *err, size_t errsz);
void vmm_machine_destroy(struct vmm_machine *m);
/* Assert (1) or deassert (0) an interrupt line of the in-kernel irqchip. */
int vmm_machine_irq_line(struct vmm_machine *m, unsigned gsi, int level);
/* Attach eventfd fd to gsi (KVM_IRQFD). */
int vmm_machine_irqfd(struct vmm_machine *m, int fd, unsigned gsi);
/* Have KVM signal fd on a 4-byte write of value to MMIO address addr. */
int vmm_machine_ioeventfd(struct vmm_machine *m, int fd, uint64_t addr, uint32_t value);
/* Stop the machine; the first caller's code and reason win. */
void vmm_machine_stop(struct vmm_machine *m, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
bool vmm_machine_stopping(struct vmm_machine *m);

#endif
