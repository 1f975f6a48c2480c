/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for lbx-gpud's command decoder (gpu_cmd.c): the input
 * is one request as a guest would place it on the control queue. Beyond
 * "no crash", a decoded command must keep the decoder's promises: memory
 * entries non-empty, not wrapping and not overlapping; a command stream a
 * whole number of dwords inside the input.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gpu_cmd.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_entries(const struct gpu_cmd *c)
{
	for (uint32_t i = 0; i < c->nentries; i++) {
		const struct virtio_gpu_mem_entry *a = &c->entries[i];

		if (!a->length || a->addr + a->length < a->addr)
			abort();
		for (uint32_t j = i + 1; j < c->nentries && j < i + 64; j++) {
			const struct virtio_gpu_mem_entry *b = &c->entries[j];

			if (a->addr < b->addr + b->length && b->addr < a->addr + a->length)
				abort();
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct gpu_cmd_error err;
	struct gpu_cmd c;

	if (gpu_cmd_decode(data, size, &c, &err)) {
		if (!err.why || err.resp < VIRTIO_GPU_RESP_ERR_UNSPEC ||
		    err.resp > VIRTIO_GPU_RESP_ERR_INVALID_PARAMETER)
			abort();
		return 0;
	}
	check_entries(&c);
	if (c.stream &&
	    (c.stream < data || c.stream + c.stream_len > data + size || c.stream_len % 4))
		abort();
	gpu_cmd_release(&c);
	return 0;
}
