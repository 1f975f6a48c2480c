/* SPDX-License-Identifier: MIT */
/* The probes' polling virtio-mmio driver (probe_virtio.c). */
#ifndef PROBE_VIRTIO_H
#define PROBE_VIRTIO_H

#include "probe.h"

#define PV_QSIZE 8

struct pv_desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags, next;
};

/* virtio 1.2 §2.7: descriptor table, driver area, device area. */
struct pv_queue {
	struct pv_desc desc[PV_QSIZE];
	struct {
		uint16_t flags, idx, ring[PV_QSIZE], used_event;
	} avail;
	uint8_t pad[4096 - 16 * PV_QSIZE - 2 * (PV_QSIZE + 3)];
	struct {
		uint16_t flags, idx;
		struct {
			uint32_t id, len;
		} ring[PV_QSIZE];
		uint16_t avail_event;
	} used __attribute__((aligned(4)));
	uint64_t base;
	unsigned index;
	uint16_t next_desc, last_used;
};

struct pv_buf {
	void *addr;
	uint32_t len;
	int writable;
};

int pv_find_devices(const char *cmdline, uint64_t *addr, int max);
int pv_init(uint64_t base);
int pv_queue(uint64_t base, unsigned index, struct pv_queue *q);
void pv_driver_ok(uint64_t base);
void pv_post(struct pv_queue *q, const struct pv_buf *bufs, unsigned n);
long pv_wait(struct pv_queue *q);
uint32_t pv_isr_ack(uint64_t base);

#endif
