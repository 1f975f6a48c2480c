/* SPDX-License-Identifier: MIT */
#include "virtio_rng.h"

#include <sys/random.h>

/* At most this much entropy per request: a driver may post huge buffers. */
#define RNG_MAX_PER_REQUEST 65536

static size_t fill(const struct iovec *iov, unsigned n, size_t max)
{
	size_t done = 0;

	for (unsigned i = 0; i < n && done < max; i++) {
		size_t want = iov[i].iov_len < max - done ? iov[i].iov_len : max - done;
		ssize_t got = getrandom(iov[i].iov_base, want, 0);

		if (got <= 0)
			break;
		done += (size_t)got;
		if ((size_t)got < want)
			break;
	}
	return done;
}

static void rng_notify(struct vmm_virtio_mmio *t, unsigned qi)
{
	struct vmm_virtio_rng *r = t->dev;
	struct lbx_virtq *q = &t->q[qi].vq;
	bool pushed = false;
	int rc;

	while ((rc = lbx_virtq_pop(q, &r->chain)) == 1) {
		size_t n = fill(r->chain.wr, r->chain.nwr, RNG_MAX_PER_REQUEST);

		lbx_virtq_push(q, r->chain.head, (uint32_t)n);
		pushed = true;
	}
	if (rc < 0)
		vmm_virtio_mmio_needs_reset(t);
	if (pushed && lbx_virtq_should_notify(q))
		vmm_virtio_mmio_signal(t, VIRTIO_MMIO_INT_VRING);
}

static const struct vmm_virtio_ops rng_ops = {
	.device_id = VIRTIO_ID_RNG,
	.queue_notify = rng_notify,
};

void vmm_virtio_rng_init(struct vmm_virtio_rng *r, const struct lbx_guest_mem *mem)
{
	vmm_virtio_mmio_init(&r->t, &rng_ops, r, "virtio-rng", mem, 1, 256,
			     1ULL << LBX_VIRTIO_F_INDIRECT_DESC);
}
