/* SPDX-License-Identifier: MIT */
/*
 * The virtio-mmio transport, version 2 (virtio 1.2 §4.2.2): the register
 * window the guest driver programs, the device status state machine
 * (§2.1, §3.1.1), feature negotiation, queue setup, the interrupt status
 * and its acknowledgement, and the configuration generation counter.
 *
 * Every register value comes from the guest and is checked here: only
 * 32-bit aligned accesses to registers, queue sizes bounded by QueueNumMax
 * and powers of two, ring addresses validated through lbx_guest_mem before
 * a queue becomes ready, feature bits limited to what the device offers.
 * A driver that breaks the rules gets DEVICE_NEEDS_RESET, never a crash.
 *
 * Queue notifications go to an eventfd per queue: KVM signals it directly
 * (ioeventfd) or, without ioeventfd, the QueueNotify write handler does.
 * Either way the device (built-in, in the main loop) or the vhost-user
 * backend picks the kick up from that fd.
 */
#ifndef VMM_VIRTIO_MMIO_H
#define VMM_VIRTIO_MMIO_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "guest_mem.h"
#include "virtq.h"

#define VMM_VIRTIO_MAX_QUEUES 8

/* §4.2.2 register offsets. */
#define VIRTIO_MMIO_MAGIC_VALUE 0x000
#define VIRTIO_MMIO_VERSION 0x004
#define VIRTIO_MMIO_DEVICE_ID 0x008
#define VIRTIO_MMIO_VENDOR_ID 0x00c
#define VIRTIO_MMIO_DEVICE_FEATURES 0x010
#define VIRTIO_MMIO_DEVICE_FEATURES_SEL 0x014
#define VIRTIO_MMIO_DRIVER_FEATURES 0x020
#define VIRTIO_MMIO_DRIVER_FEATURES_SEL 0x024
#define VIRTIO_MMIO_QUEUE_SEL 0x030
#define VIRTIO_MMIO_QUEUE_NUM_MAX 0x034
#define VIRTIO_MMIO_QUEUE_NUM 0x038
#define VIRTIO_MMIO_QUEUE_READY 0x044
#define VIRTIO_MMIO_QUEUE_NOTIFY 0x050
#define VIRTIO_MMIO_INTERRUPT_STATUS 0x060
#define VIRTIO_MMIO_INTERRUPT_ACK 0x064
#define VIRTIO_MMIO_STATUS 0x070
#define VIRTIO_MMIO_QUEUE_DESC_LOW 0x080
#define VIRTIO_MMIO_QUEUE_DESC_HIGH 0x084
#define VIRTIO_MMIO_QUEUE_DRIVER_LOW 0x090
#define VIRTIO_MMIO_QUEUE_DRIVER_HIGH 0x094
#define VIRTIO_MMIO_QUEUE_DEVICE_LOW 0x0a0
#define VIRTIO_MMIO_QUEUE_DEVICE_HIGH 0x0a4
#define VIRTIO_MMIO_SHM_SEL 0x0ac
#define VIRTIO_MMIO_SHM_LEN_LOW 0x0b0
#define VIRTIO_MMIO_SHM_LEN_HIGH 0x0b4
#define VIRTIO_MMIO_SHM_BASE_LOW 0x0b8
#define VIRTIO_MMIO_SHM_BASE_HIGH 0x0bc
#define VIRTIO_MMIO_QUEUE_RESET 0x0c0
#define VIRTIO_MMIO_CONFIG_GENERATION 0x0fc
#define VIRTIO_MMIO_CONFIG 0x100

#define VIRTIO_MMIO_MAGIC 0x74726976 /* "virt" */
#define VIRTIO_MMIO_VENDOR 0x0058424c /* "LBX\0": any value, drivers ignore it */
#define VIRTIO_MMIO_INT_VRING 0x1
#define VIRTIO_MMIO_INT_CONFIG 0x2

/* §2.1 device status bits. */
#define VIRTIO_STATUS_ACKNOWLEDGE 1
#define VIRTIO_STATUS_DRIVER 2
#define VIRTIO_STATUS_DRIVER_OK 4
#define VIRTIO_STATUS_FEATURES_OK 8
#define VIRTIO_STATUS_NEEDS_RESET 64
#define VIRTIO_STATUS_FAILED 128

struct vmm_virtio_mmio;

struct vmm_virtio_queue {
	uint16_t num_max;
	uint16_t num;
	bool ready;
	uint64_t desc, driver, device; /* guest-physical ring addresses */
	int kick_fd;		       /* eventfd, or -1 */
	struct lbx_virtq vq;	       /* set up when ready */
};

/* What a device plugs into the transport; called with the transport lock held. */
struct vmm_virtio_ops {
	uint32_t device_id;
	uint32_t config_len;
	void (*config_read)(struct vmm_virtio_mmio *t, uint32_t off, uint8_t *data, unsigned len);
	void (*config_write)(struct vmm_virtio_mmio *t, uint32_t off, const uint8_t *data,
			     unsigned len);
	/* DRIVER_OK was set. Nonzero: the device cannot run (NEEDS_RESET). */
	int (*activate)(struct vmm_virtio_mmio *t);
	/* The driver wrote 0 to Status: drop all queue state. */
	void (*reset)(struct vmm_virtio_mmio *t);
	/* Queue q was kicked (main loop, from its kick fd). May be NULL. */
	void (*queue_notify)(struct vmm_virtio_mmio *t, unsigned q);
};

struct vmm_virtio_mmio {
	pthread_mutex_t lock;
	const struct vmm_virtio_ops *ops;
	void *dev;
	const char *name;
	const struct lbx_guest_mem *mem;
	uint64_t base;
	unsigned irq;
	uint64_t device_features;
	uint64_t driver_features;
	uint32_t status;
	uint32_t dev_features_sel, drv_features_sel, queue_sel, shm_sel;
	uint32_t isr;
	uint32_t config_generation;
	unsigned nqueues;
	struct vmm_virtio_queue q[VMM_VIRTIO_MAX_QUEUES];
	/* Raise the interrupt line (irqfd write or KVM_IRQ_LINE pulse). */
	void (*raise_irq)(void *ctx, struct vmm_virtio_mmio *t);
	void *irq_ctx;
};

void vmm_virtio_mmio_init(struct vmm_virtio_mmio *t, const struct vmm_virtio_ops *ops,
			  void *dev, const char *name, const struct lbx_guest_mem *mem,
			  unsigned nqueues, uint16_t queue_max, uint64_t features);
/* iobus handler for the 4 KiB window. */
void vmm_virtio_mmio_io(void *t, uint64_t offset, uint8_t *data, unsigned len, bool is_write);
/* Set interrupt status bits and raise the interrupt (lock held by caller). */
void vmm_virtio_mmio_signal(struct vmm_virtio_mmio *t, uint32_t bits);
/* The main loop saw queue q's kick fd: drain it and run the device. */
void vmm_virtio_mmio_kick(struct vmm_virtio_mmio *t, unsigned q);
/* Device config changed: bump the generation and interrupt (lock held). */
void vmm_virtio_mmio_config_changed(struct vmm_virtio_mmio *t);
/* The device found the driver broke a queue: DEVICE_NEEDS_RESET (lock held). */
void vmm_virtio_mmio_needs_reset(struct vmm_virtio_mmio *t);

#endif
