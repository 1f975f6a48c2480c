/* SPDX-License-Identifier: MIT */
/*
 * The virtio-mmio devices of one machine: which exist (from the command
 * line), where each sits (layout.h: 4 KiB windows from 0xd0000000,
 * interrupts from 5), how the guest learns of them (a
 * virtio_mmio.device=4K@ADDR:IRQ entry each on the kernel command line,
 * Documentation/admin-guide/kernel-parameters.txt), and the eventfds that
 * connect them to KVM (ioeventfd per queue, irqfd per device) with the
 * fallbacks when KVM lacks either.
 */
#ifndef VMM_DEVICES_H
#define VMM_DEVICES_H

#include <stddef.h>

#include "cli.h"
#include "evloop.h"
#include "iobus.h"
#include "layout.h"
#include "machine.h"
#include "virtio_mmio.h"

struct vmm_virtio_console;
struct vmm_vhost_dev;

struct vmm_devices {
	struct vmm_machine *m;
	struct vmm_virtio_mmio *t[LBX_VIRTIO_MMIO_MAX];
	int irq_fd[LBX_VIRTIO_MMIO_MAX]; /* irqfd eventfd, or -1: KVM_IRQ_LINE */
	unsigned n;
	void *owned[LBX_VIRTIO_MMIO_MAX]; /* device structures to free */
	struct vmm_virtio_console *console;
	struct vmm_vhost_dev *vhost[VMM_MAX_VHOST];
	unsigned nvhost;
};

int vmm_devices_create(struct vmm_devices *d, const struct vmm_config *cfg,
		       struct vmm_machine *m, struct vmm_iobus *mmio, int console_fd);
/* The IOAPIC pin (= GSI) of device i: from 5, shared past pin 23. */
unsigned vmm_devices_irq(unsigned i);
size_t vmm_devices_cmdline_len(const struct vmm_devices *d);
/* Append " virtio_mmio.device=..." for each device to buf (NUL-terminated). */
void vmm_devices_cmdline(const struct vmm_devices *d, char *buf, size_t len);
/* Watch kick fds (built-in devices) and backend sockets and call fds. */
int vmm_devices_watch(struct vmm_devices *d, struct lbx_loop *loop);
void vmm_devices_destroy(struct vmm_devices *d);

#endif
