/* SPDX-License-Identifier: MIT */
/*
 * virtio-vsock packet header (virtio 1.2 §5.10.6), little-endian, 44 bytes
 * at the start of every buffer on the rx and tx queues.
 */
#ifndef LBX_VSOCK_PKT_H
#define LBX_VSOCK_PKT_H

#include <stdint.h>

#include "compiler.h"
#include "reader.h"
#include "writer.h"

#define VSOCK_HDR_SIZE 44
#define VSOCK_HOST_CID 2
/* The largest payload in one packet (Linux VIRTIO_VSOCK_MAX_PKT_BUF_SIZE). */
#define VSOCK_MAX_PAYLOAD (64 * 1024)

enum vsock_type {
	VSOCK_TYPE_STREAM = 1,
	VSOCK_TYPE_SEQPACKET = 2,
};

enum vsock_op {
	VSOCK_OP_REQUEST = 1,
	VSOCK_OP_RESPONSE = 2,
	VSOCK_OP_RST = 3,
	VSOCK_OP_SHUTDOWN = 4,
	VSOCK_OP_RW = 5,
	VSOCK_OP_CREDIT_UPDATE = 6,
	VSOCK_OP_CREDIT_REQUEST = 7,
};

#define VSOCK_SHUTDOWN_RCV 1u
#define VSOCK_SHUTDOWN_SEND 2u

struct vsock_hdr {
	uint64_t src_cid, dst_cid;
	uint32_t src_port, dst_port;
	uint32_t len;
	uint16_t type, op;
	uint32_t flags;
	uint32_t buf_alloc, fwd_cnt;
};

/* Decode a header; -EBADMSG for an unknown op or type, or a payload over the maximum. */
LBX_MUST_CHECK int vsock_hdr_decode(struct lbx_reader *r, struct vsock_hdr *h);
void vsock_hdr_encode(const struct vsock_hdr *h, uint8_t out[VSOCK_HDR_SIZE]);
const char *vsock_op_name(uint16_t op);

#endif
