/* SPDX-License-Identifier: MIT */
/*
 * The device side of a split virtqueue (virtio 1.2 §2.7), over guest
 * memory that the guest may change at any moment.
 *
 * The driver owns the descriptor table and the available ring; both are
 * hostile. Every descriptor is copied out of guest memory once, then
 * checked (address range through lbx_guest_mem, flags, next index, chain
 * length, indirect table size and nesting) before it is used; a chain that
 * fails a check marks the queue broken (virtio 1.2 §2.1 DEVICE_NEEDS_RESET
 * is the transport's business) and nothing of it is processed.
 *
 * Naming follows the device's point of view: "rd" buffers are
 * device-readable (the driver's "out"), "wr" buffers device-writable.
 */
#ifndef LBX_VIRTQ_H
#define LBX_VIRTQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "compiler.h"
#include "guest_mem.h"

#define LBX_VIRTQ_MAX_SIZE 32768
/* Longest chain accepted (direct plus indirect descriptors). */
#define LBX_VIRTQ_MAX_CHAIN 1024

/* Feature bits the queue code understands (virtio 1.2 §6). */
#define LBX_VIRTIO_F_INDIRECT_DESC 28
#define LBX_VIRTIO_F_EVENT_IDX 29
#define LBX_VIRTIO_F_VERSION_1 32

struct lbx_virtq {
	const struct lbx_guest_mem *mem;
	uint16_t size;		/* number of descriptors, power of 2 */
	void *desc;		/* struct virtq_desc[size] in guest memory */
	void *avail;		/* struct virtq_avail */
	void *used;		/* struct virtq_used */
	uint16_t last_avail;	/* next avail ring slot to consume */
	uint16_t used_idx;	/* our copy of used->idx */
	uint16_t signalled_used; /* used_idx at the last notification (EVENT_IDX) */
	bool signalled_valid;
	bool event_idx;		/* VIRTIO_F_EVENT_IDX negotiated */
	bool indirect;		/* VIRTIO_F_INDIRECT_DESC negotiated */
	bool broken;		/* the driver broke the ring; stop using it */
};

/* One popped request: its head index and buffers in chain order. */
struct lbx_virtq_chain {
	uint16_t head;
	unsigned nrd, nwr;
	size_t rd_len, wr_len;	/* total bytes of each kind */
	struct iovec rd[LBX_VIRTQ_MAX_CHAIN];
	struct iovec wr[LBX_VIRTQ_MAX_CHAIN];
};

/* Ring sizes in bytes for a queue of size descriptors (with event fields). */
size_t lbx_virtq_desc_bytes(uint16_t size);
size_t lbx_virtq_avail_bytes(uint16_t size);
size_t lbx_virtq_used_bytes(uint16_t size);

/*
 * Set up from guest-physical ring addresses (virtio-mmio QueueDesc/Driver/
 * Device registers). Checks size (power of 2, <= LBX_VIRTQ_MAX_SIZE),
 * alignment (desc 16, avail 2, used 4) and that each ring lies in guest
 * memory. features: the negotiated feature bits.
 */
LBX_MUST_CHECK int lbx_virtq_init(struct lbx_virtq *q, const struct lbx_guest_mem *mem,
				  uint16_t size, uint64_t desc_gpa, uint64_t avail_gpa,
				  uint64_t used_gpa, uint64_t features);
/* The same from host pointers already translated and range-checked (vhost-user). */
LBX_MUST_CHECK int lbx_virtq_init_hva(struct lbx_virtq *q, const struct lbx_guest_mem *mem,
				      uint16_t size, void *desc, void *avail, void *used,
				      uint64_t features);
/* Where to resume after a vhost-user SET_VRING_BASE. */
void lbx_virtq_set_last_avail(struct lbx_virtq *q, uint16_t idx);

/*
 * Take the next available chain. Returns 1 with *chain filled, 0 if the
 * ring is empty, or -EBADMSG if the driver broke the ring (the queue is
 * then marked broken and every later call returns -EBADMSG).
 * Finding the ring empty re-enables notifications (lbx_virtq_enable_notify)
 * and looks once more, so a device that pops until 0 never misses a kick;
 * with EVENT_IDX it must do so, or the driver stops kicking.
 */
LBX_MUST_CHECK int lbx_virtq_pop(struct lbx_virtq *q, struct lbx_virtq_chain *chain);
/*
 * Return a chain to the driver with len bytes written into its wr buffers.
 * A no-op on a broken queue; head must come from lbx_virtq_pop.
 */
void lbx_virtq_push(struct lbx_virtq *q, uint16_t head, uint32_t len);
/*
 * Whether the driver wants an interrupt now, after pushes: honours
 * VIRTQ_AVAIL_F_NO_INTERRUPT, or used_event with EVENT_IDX (§2.7.10).
 * Records that the driver was asked: call it once per batch of pushes and
 * interrupt when it says so. False when nothing was pushed since.
 */
bool lbx_virtq_should_notify(struct lbx_virtq *q);
/*
 * Ask for a kick on the next buffer: with EVENT_IDX publish avail_event,
 * else clear VIRTQ_USED_F_NO_NOTIFY. Then look at the ring again.
 */
void lbx_virtq_enable_notify(struct lbx_virtq *q);

/*
 * Copy helpers over a chain's iovecs (bounded by their total length).
 * Return bytes copied.
 */
size_t lbx_iov_to_buf(const struct iovec *iov, unsigned n, size_t offset, void *buf, size_t len);
size_t lbx_iov_from_buf(const struct iovec *iov, unsigned n, size_t offset, const void *buf,
			size_t len);

#endif
