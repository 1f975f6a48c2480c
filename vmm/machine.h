/* SPDX-License-Identifier: MIT */
/*
 * The virtual machine: /dev/kvm, the VM, guest RAM and the in-kernel
 * interrupt controller (x86: PIC, IOAPIC, per-vCPU LAPIC and PIT; arm64:
 * the vGICv3 once the vCPUs exist). Also the one place that decides how
 * the machine stops: the first vmm_machine_stop wins, records why and
 * wakes the main loop. machine.c holds what every architecture shares;
 * vmm_machine_create, vmm_machine_irq_line and vmm_ram_low_bytes are each
 * architecture's (x86/machine.c, arm64/machine.c).
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
	struct kvm_cpuid2 *cpuid; /* x86: KVM_GET_SUPPORTED_CPUID; NULL elsewhere */
	/* stopping */
	atomic_int stopping;
	int exit_code;
	char stop_reason[160];
	int stop_fd;		/* eventfd the main loop watches */
};

/* The architecture's machine with ram_bytes of RAM. One line on failure in err. */
int vmm_machine_create(struct vmm_machine *m, uint64_t ram_bytes, char *err, size_t errsz);
void vmm_machine_destroy(struct vmm_machine *m);
/* Assert (1) or deassert (0) an interrupt line (x86: GSI; arm64: SPI). */
int vmm_machine_irq_line(struct vmm_machine *m, unsigned gsi, int level);
/*
 * Bytes of RAM at memfd offset 0 that form the first guest-physical region
 * (x86: below the MMIO gap, the rest is a second region after it; arm64:
 * all of it).
 */
uint64_t vmm_ram_low_bytes(uint64_t ram_bytes);

/* For vmm_machine_create: */
/* /dev/kvm, the VM, the vCPU mmap size and the irqfd/ioeventfd capabilities. */
int vmm_machine_open(struct vmm_machine *m, char *err, size_t errsz);
/* The memfd of ram_bytes of RAM, sealed, mapped (no memory slot yet). */
int vmm_machine_ram(struct vmm_machine *m, uint64_t ram_bytes, char *err, size_t errsz);
/* Memory slot slot: guest-physical [gpa, gpa + size) is memfd [offset, offset + size). */
int vmm_machine_add_ram(struct vmm_machine *m, unsigned slot, uint64_t gpa, uint64_t size,
			uint64_t offset);
/* "what: strerror(errno)" in err; -errno. */
int vmm_machine_fail(char *err, size_t errsz, const char *what);
/* Attach eventfd fd to gsi (KVM_IRQFD). */
int vmm_machine_irqfd(struct vmm_machine *m, int fd, unsigned gsi);
/* Have KVM signal fd on a 4-byte write of value to MMIO address addr. */
int vmm_machine_ioeventfd(struct vmm_machine *m, int fd, uint64_t addr, uint32_t value);
/* Stop the machine; the first caller's code and reason win. */
void vmm_machine_stop(struct vmm_machine *m, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
bool vmm_machine_stopping(struct vmm_machine *m);

#endif
