/* SPDX-License-Identifier: MIT */
/*
 * The virtio-gpu command decoder (virtio 1.2 §5.7.6): guest bytes in, one
 * checked command out. It knows nothing of resources or renderers, so it
 * can be fuzzed alone (tests/fuzz_gpu_cmd.c); gpu_exec.c acts on what it
 * returns.
 *
 * Every field is read through common/reader.h into the structs of Linux's
 * uapi <linux/virtio_gpu.h> (little-endian fields, read as such). What is
 * checked here, without state:
 *
 *   - the header's type is a command this device knows;
 *   - the body has exactly the size its type gives (SUBMIT_3D: the header,
 *     then exactly `size` bytes of a whole number of dwords; ATTACH_BACKING
 *     and CREATE_BLOB: exactly nr_entries memory entries);
 *   - a resource is named by a non-zero id where one must be; a context by
 *     a non-zero ctx_id in the header for the 3D commands;
 *   - sizes: widths, heights and depths 1..GPU_MAX_DIM, rectangles and
 *     boxes whose ends do not overflow; 2D formats are the spec's;
 *   - memory entries: 1..GPU_MAX_ENTRIES of them, each non-empty, not
 *     wrapping around, and no two overlapping (a guest could otherwise make
 *     the host see one page through two offsets of one resource).
 *
 * Whether a guest address lies in guest memory, whether an id exists and
 * whether a transfer fits its resource are the executor's to check.
 */
#ifndef LBX_GPU_CMD_H
#define LBX_GPU_CMD_H

#include <linux/virtio_gpu.h>
#include <stddef.h>
#include <stdint.h>

#include "compiler.h"

#define GPU_MAX_DIM	16384u
#define GPU_MAX_ENTRIES 16384u
/* A SUBMIT_3D command stream; Mesa's virgl flushes far below this. */
#define GPU_MAX_SUBMIT (8u << 20)
/* A whole request (header, body, trailing entries or stream). */
#define GPU_MAX_REQUEST (GPU_MAX_SUBMIT + 4096u)

struct gpu_cmd {
	struct virtio_gpu_ctrl_hdr hdr;
	union {
		struct virtio_gpu_resource_create_2d create_2d;
		struct virtio_gpu_resource_create_3d create_3d;
		struct virtio_gpu_resource_create_blob create_blob;
		struct virtio_gpu_resource_unref unref;
		struct virtio_gpu_set_scanout set_scanout;
		struct virtio_gpu_resource_flush flush;
		struct virtio_gpu_transfer_to_host_2d t2d;
		struct virtio_gpu_transfer_host_3d t3d;
		struct virtio_gpu_resource_attach_backing attach;
		struct virtio_gpu_resource_detach_backing detach;
		struct virtio_gpu_get_capset_info capset_info;
		struct virtio_gpu_get_capset capset;
		struct virtio_gpu_cmd_get_edid edid;
		struct virtio_gpu_ctx_create ctx_create;
		struct virtio_gpu_ctx_resource ctx_res;
		struct virtio_gpu_cmd_submit submit;
		struct virtio_gpu_update_cursor cursor;
	} u;
	/* ATTACH_BACKING, CREATE_BLOB: the entries, in the guest's order (malloc'd). */
	struct virtio_gpu_mem_entry *entries;
	uint32_t nentries;
	uint64_t entries_len; /* sum of their lengths */
	/* SUBMIT_3D: the command stream, pointing into the decoded buffer. */
	const uint8_t *stream;
	uint32_t stream_len;
};

/* Why a command was refused, for the log line and the response. */
struct gpu_cmd_error {
	uint32_t resp; /* VIRTIO_GPU_RESP_ERR_* */
	const char *why;
};

/*
 * Decode the request in buf. 0 with *cmd filled (release it with
 * gpu_cmd_release), or -EBADMSG with *err saying why. cmd->stream points
 * into buf, which must outlive cmd.
 */
LBX_MUST_CHECK int gpu_cmd_decode(const void *buf, size_t len, struct gpu_cmd *cmd,
				  struct gpu_cmd_error *err);
void gpu_cmd_release(struct gpu_cmd *cmd);
/* "RESOURCE_CREATE_2D", ... or "unknown". */
const char *gpu_cmd_name(uint32_t type);
/* Bytes per pixel of a 2D format (virtio 1.2 §5.7.6.8), 0 if it is not one. */
unsigned gpu_format_bpp(uint32_t format);

#endif
