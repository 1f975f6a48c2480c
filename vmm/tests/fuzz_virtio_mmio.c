/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for the virtio-mmio register handler and, behind it,
 * the virtqueue walk of a built-in device. The input is guest RAM (its
 * first 8 KiB, holding rings and descriptors) followed by a script of
 * register accesses (offset, width, direction, value); a QueueNotify is
 * followed by the kick the main loop would deliver. After every access the
 * transport's invariants must hold.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "virtio_rng.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define RAM_SIZE 0x10000
#define RAM_FROM_INPUT 0x2000

#define CHECK(c)                   \
	do {                       \
		if (!(c))          \
			abort();   \
	} while (0)

static void check(const struct vmm_virtio_mmio *t)
{
	if (t->status & VIRTIO_STATUS_DRIVER_OK)
		CHECK(t->status & VIRTIO_STATUS_FEATURES_OK);
	if (t->status & VIRTIO_STATUS_FEATURES_OK)
		CHECK(!(t->driver_features & ~t->device_features));
	for (unsigned i = 0; i < VMM_VIRTIO_MAX_QUEUES; i++)
		if (t->q[i].ready)
			CHECK(i < t->nqueues && t->q[i].num && !(t->q[i].num & (t->q[i].num - 1)) &&
			      t->q[i].num <= t->q[i].num_max);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t *ram;
	static struct lbx_guest_mem mem;
	static struct vmm_virtio_rng r;
	size_t n = size < RAM_FROM_INPUT ? size : RAM_FROM_INPUT;

	if (!ram) {
		ram = mmap(NULL, RAM_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		lbx_guest_mem_init(&mem);
		if (ram == MAP_FAILED || lbx_guest_mem_add_mapped(&mem, 0, RAM_SIZE, ram))
			abort();
	}
	memset(ram, 0, RAM_SIZE);
	memcpy(ram, data, n);
	vmm_virtio_rng_init(&r, &mem);
	data += n;
	size -= n;
	/* Each step: u16 offset, u8 (len code | write bit), u32 value. */
	while (size >= 7) {
		uint16_t off = (uint16_t)((data[0] | data[1] << 8) & 0xfff);
		unsigned len = 1u << (data[2] & 3);
		bool is_write = data[2] & 4;
		uint8_t v[8] = { data[3], data[4], data[5], data[6], 0, 0, 0, 0 };

		vmm_virtio_mmio_io(&r.t, off, v, len, is_write);
		if (is_write && off == VIRTIO_MMIO_QUEUE_NOTIFY && len == 4)
			vmm_virtio_mmio_kick(&r.t, v[0]);
		check(&r.t);
		data += 7;
		size -= 7;
	}
	pthread_mutex_destroy(&r.t.lock);
	return 0;
}
