/* SPDX-License-Identifier: MIT */
/*
 * virtio console (virtio 1.2 §5.3), a single port without the multiport
 * feature: receiveq 0 carries host input to the guest, transmitq 1 the
 * guest's output, which goes where COM1 output goes. Host input that
 * arrives while the guest has posted no receive buffer waits in a small
 * buffer (kept across a driver reset: typed input belongs to the host,
 * not to the driver); beyond that it is dropped, like a serial line with
 * no reader.
 */
#ifndef VMM_VIRTIO_CONSOLE_H
#define VMM_VIRTIO_CONSOLE_H

#include <stddef.h>
#include <stdint.h>

#include "virtio_mmio.h"

#define VIRTIO_ID_CONSOLE 3
#define VMM_VCON_PENDING 4096

struct vmm_virtio_console {
	struct vmm_virtio_mmio t;
	int out_fd;
	uint8_t pending[VMM_VCON_PENDING];
	size_t npending;
	struct lbx_virtq_chain chain;
};

void vmm_virtio_console_init(struct vmm_virtio_console *c, const struct lbx_guest_mem *mem,
			     int out_fd);
/* Host input for the guest; returns bytes accepted (taken or buffered). */
size_t vmm_virtio_console_input(struct vmm_virtio_console *c, const uint8_t *buf, size_t len);

#endif
