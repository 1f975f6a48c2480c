/* SPDX-License-Identifier: MIT */
/*
 * What each architecture (x86/arch.c, arm64/arch.c) gives the shared
 * start-up and event loop of main.c. struct vmm is the machine main.c
 * builds; each architecture keeps its own parts (vCPUs, boot tables,
 * interrupt controller, legacy devices) in its arch.c.
 */
#ifndef VMM_ARCH_H
#define VMM_ARCH_H

#include <pthread.h>
#include <stdbool.h>

#include "cli.h"
#include "devices.h"
#include "evloop.h"
#include "iobus.h"
#include "machine.h"
#include "uart.h"

struct vmm {
	struct vmm_config cfg;
	struct vmm_machine m;
	struct vmm_iobus mmio;
	struct vmm_uart uart; /* x86: COM1 on ports; arm64: on MMIO */
	struct vmm_devices devs;
	struct lbx_loop *loop;
	pthread_mutex_t gate_lock;
	pthread_cond_t gate_cond;
	bool go;
	int console_fd;
};

/* What to refuse before anything is made (x86: a kernel it cannot boot). */
int vmm_arch_check(struct vmm *v);
/*
 * With the machine created and the console open: the devices (the UART
 * and vmm_devices_create), the kernel, initrd and boot tables, and the
 * vCPUs, in the order the architecture needs them.
 */
int vmm_arch_build(struct vmm *v);
/* Add the architecture's own watches to v->loop (x86: the halt watch). */
int vmm_arch_watch(struct vmm *v);
/* Start every vCPU thread; each calls vmm_vcpu_gate before its first run. */
int vmm_arch_start_vcpus(struct vmm *v);
/* Kick, join and free the vCPUs and what vmm_arch_build made besides devices. */
void vmm_arch_teardown(struct vmm *v);

/*
 * In a vCPU thread before its first KVM_RUN: wait until the main thread
 * has its own filter, then load the vCPU's. 0 to run, -1 to leave.
 */
int vmm_vcpu_gate(struct vmm *v, unsigned index);

#endif
