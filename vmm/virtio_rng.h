/* SPDX-License-Identifier: MIT */
/*
 * virtio entropy device (virtio 1.2 §5.4): one request queue; the device
 * fills each device-writable buffer with random bytes from getrandom(2).
 */
#ifndef VMM_VIRTIO_RNG_H
#define VMM_VIRTIO_RNG_H

#include "virtio_mmio.h"

#define VIRTIO_ID_RNG 4

struct vmm_virtio_rng {
	struct vmm_virtio_mmio t;
	struct lbx_virtq_chain chain;
};

void vmm_virtio_rng_init(struct vmm_virtio_rng *r, const struct lbx_guest_mem *mem);

#endif
