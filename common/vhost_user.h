/* SPDX-License-Identifier: MIT */
/*
 * The vhost-user protocol (QEMU docs/interop/vhost-user.rst): messages on
 * a unix stream socket, each a 12-byte header (u32 request, u32 flags, u32
 * size, little-endian on every host we run on: the spec says "native
 * endian", and x86 is little-endian) followed by size bytes of payload,
 * with file descriptors passed as SCM_RIGHTS ancillary data on the header.
 *
 * Both ends use this file: lbx's backends (through vhost_user_backend.h)
 * decode requests and encode replies; lbx-vmm's frontend encodes requests
 * and decodes replies. Every payload is parsed with the bounds-checked
 * reader and built with the writer; decoders insist on the exact payload
 * size the spec gives, so a short or padded message is refused (-EBADMSG)
 * rather than half-read.
 */
#ifndef LBX_VHOST_USER_H
#define LBX_VHOST_USER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "compiler.h"

/* Header flags ("Message types" in the spec). */
#define LBX_VU_VERSION	       0x1u
#define LBX_VU_VERSION_MASK    0x3u
#define LBX_VU_FLAG_REPLY      (1u << 2)
#define LBX_VU_FLAG_NEED_REPLY (1u << 3)

#define LBX_VU_HDR_SIZE 12
/* Largest payload accepted: the biggest message we speak is GET/SET_CONFIG. */
#define LBX_VU_MAX_PAYLOAD 512
/* Most fds one message may carry: SET_MEM_TABLE's one per region. */
#define LBX_VU_MAX_FDS	       8
#define LBX_VU_MAX_MEM_REGIONS 8
/* VHOST_USER_MAX_CONFIG_SIZE in the spec's "device config space". */
#define LBX_VU_MAX_CONFIG_SIZE 256
#define LBX_VU_CONFIG_HDR_SIZE 12

/* Front-end requests (spec "Front-end message types"). */
enum lbx_vu_request {
	LBX_VU_GET_FEATURES = 1,
	LBX_VU_SET_FEATURES = 2,
	LBX_VU_SET_OWNER = 3,
	LBX_VU_RESET_OWNER = 4,
	LBX_VU_SET_MEM_TABLE = 5,
	LBX_VU_SET_LOG_BASE = 6,
	LBX_VU_SET_LOG_FD = 7,
	LBX_VU_SET_VRING_NUM = 8,
	LBX_VU_SET_VRING_ADDR = 9,
	LBX_VU_SET_VRING_BASE = 10,
	LBX_VU_GET_VRING_BASE = 11,
	LBX_VU_SET_VRING_KICK = 12,
	LBX_VU_SET_VRING_CALL = 13,
	LBX_VU_SET_VRING_ERR = 14,
	LBX_VU_GET_PROTOCOL_FEATURES = 15,
	LBX_VU_SET_PROTOCOL_FEATURES = 16,
	LBX_VU_GET_QUEUE_NUM = 17,
	LBX_VU_SET_VRING_ENABLE = 18,
	LBX_VU_SEND_RARP = 19,
	LBX_VU_NET_SET_MTU = 20,
	LBX_VU_SET_BACKEND_REQ_FD = 21,
	LBX_VU_IOTLB_MSG = 22,
	LBX_VU_SET_VRING_ENDIAN = 23,
	LBX_VU_GET_CONFIG = 24,
	LBX_VU_SET_CONFIG = 25,
	LBX_VU_GET_INFLIGHT_FD = 31,
	LBX_VU_SET_INFLIGHT_FD = 32,
	LBX_VU_RESET_DEVICE = 34,
	LBX_VU_GET_MAX_MEM_SLOTS = 36,
	LBX_VU_ADD_MEM_REG = 37,
	LBX_VU_REM_MEM_REG = 38,
	LBX_VU_SET_STATUS = 39,
	LBX_VU_GET_STATUS = 40,
};

/* Virtio feature bit that says GET/SET_PROTOCOL_FEATURES exist. */
#define LBX_VU_F_PROTOCOL_FEATURES 30
/* VHOST_F_LOG_ALL: dirty logging for migration (we never offer it). */
#define LBX_VU_F_LOG_ALL 26

/* Protocol feature bits (spec "Protocol features"). */
#define LBX_VU_PROTOCOL_F_MQ		      0
#define LBX_VU_PROTOCOL_F_LOG_SHMFD	      1
#define LBX_VU_PROTOCOL_F_REPLY_ACK	      3
#define LBX_VU_PROTOCOL_F_BACKEND_REQ	      5
#define LBX_VU_PROTOCOL_F_CONFIG	      9
#define LBX_VU_PROTOCOL_F_RESET_DEVICE	      13
#define LBX_VU_PROTOCOL_F_CONFIGURE_MEM_SLOTS 15
#define LBX_VU_PROTOCOL_F_STATUS	      16

/* SET_VRING_KICK/CALL/ERR payload: index in bits 0-7, bit 8 "no fd". */
#define LBX_VU_VRING_IDX_MASK 0xffu
#define LBX_VU_VRING_NOFD     (1u << 8)
/* SET_VRING_ADDR flags: VHOST_VRING_F_LOG. */
#define LBX_VU_VRING_F_LOG 1u

/* One message with its fds; owned fds are closed by lbx_vu_msg_close_fds. */
struct lbx_vu_msg {
	uint32_t request;
	uint32_t flags;
	uint32_t size; /* payload bytes used */
	uint8_t payload[LBX_VU_MAX_PAYLOAD];
	int fds[LBX_VU_MAX_FDS];
	unsigned nfds;
};

/* Payload layouts ("Message specification" in the spec). */
struct lbx_vu_vring_state {
	uint32_t index;
	uint32_t num;
};

struct lbx_vu_vring_addr {
	uint32_t index;
	uint32_t flags;
	uint64_t desc_uva; /* front-end virtual addresses of the three parts */
	uint64_t used_uva;
	uint64_t avail_uva;
	uint64_t log_gpa;
};

struct lbx_vu_mem_region {
	uint64_t gpa;
	uint64_t size;
	uint64_t uva;
	uint64_t mmap_offset;
};

struct lbx_vu_mem_table {
	uint32_t nregions;
	struct lbx_vu_mem_region regions[LBX_VU_MAX_MEM_REGIONS];
};

/* SET_VRING_KICK/CALL/ERR: the fd travels in lbx_vu_msg.fds. */
struct lbx_vu_vring_file {
	uint32_t index;
	bool nofd;
};

struct lbx_vu_config {
	uint32_t offset;
	uint32_t size;
	uint32_t flags;
	uint8_t data[LBX_VU_MAX_CONFIG_SIZE];
};

struct lbx_vu_log {
	uint64_t size;
	uint64_t offset;
};

/* Name of a request for log lines ("request 99" style for unknown ones is the caller's). */
const char *lbx_vu_request_name(uint32_t request);

/*
 * Parse a 12-byte header. -ENODATA if short, -EPROTO for a version other
 * than 1, -EMSGSIZE if size exceeds LBX_VU_MAX_PAYLOAD.
 */
LBX_MUST_CHECK int lbx_vu_decode_hdr(const void *buf, size_t len, struct lbx_vu_msg *msg);

/*
 * Read one message from a blocking stream socket, with at most
 * LBX_VU_MAX_FDS fds (received close-on-exec). Returns 0, -ECONNRESET
 * when the peer closed between messages, -EPIPE if it closed inside one,
 * -E2BIG if it sent more fds than allowed (none are kept), or the
 * lbx_vu_decode_hdr errors. On error no fd is left open and the stream
 * cannot be trusted to be at a message boundary: close it.
 */
LBX_MUST_CHECK int lbx_vu_recv(int sock, struct lbx_vu_msg *msg);
/* Send header, payload and fds in one sendmsg (MSG_NOSIGNAL). 0 or -errno. */
LBX_MUST_CHECK int lbx_vu_send(int sock, const struct lbx_vu_msg *msg);
/* Close every fd still held by msg and forget them. */
void lbx_vu_msg_close_fds(struct lbx_vu_msg *msg);

/* ---- decoding payloads (-EBADMSG if the size or content is wrong) ---- */

LBX_MUST_CHECK int lbx_vu_decode_u64(const struct lbx_vu_msg *msg, uint64_t *v);
LBX_MUST_CHECK int lbx_vu_decode_vring_state(const struct lbx_vu_msg *msg,
					     struct lbx_vu_vring_state *s);
LBX_MUST_CHECK int lbx_vu_decode_vring_addr(const struct lbx_vu_msg *msg,
					    struct lbx_vu_vring_addr *a);
/* Also checks 1 <= nregions <= 8 and that exactly nregions fds came with it. */
LBX_MUST_CHECK int lbx_vu_decode_mem_table(const struct lbx_vu_msg *msg,
					   struct lbx_vu_mem_table *t);
/* Checks that an fd came with it unless the NOFD bit is set, and no other bits. */
LBX_MUST_CHECK int lbx_vu_decode_vring_file(const struct lbx_vu_msg *msg,
					    struct lbx_vu_vring_file *f);
/* Checks size <= LBX_VU_MAX_CONFIG_SIZE and that the payload holds exactly size bytes. */
LBX_MUST_CHECK int lbx_vu_decode_config(const struct lbx_vu_msg *msg, struct lbx_vu_config *c);
LBX_MUST_CHECK int lbx_vu_decode_log(const struct lbx_vu_msg *msg, struct lbx_vu_log *l);

/* ---- encoding (requests: flags 0 or NEED_REPLY; replies: LBX_VU_FLAG_REPLY) ---- */

/* Header only, no payload, no fds (GET_FEATURES, SET_OWNER, ...). */
void lbx_vu_encode_empty(struct lbx_vu_msg *msg, uint32_t request, uint32_t flags);
LBX_MUST_CHECK int lbx_vu_encode_u64(struct lbx_vu_msg *msg, uint32_t request, uint32_t flags,
				     uint64_t v);
LBX_MUST_CHECK int lbx_vu_encode_vring_state(struct lbx_vu_msg *msg, uint32_t request,
					     uint32_t flags, const struct lbx_vu_vring_state *s);
LBX_MUST_CHECK int lbx_vu_encode_vring_addr(struct lbx_vu_msg *msg, uint32_t flags,
					    const struct lbx_vu_vring_addr *a);
/* fds[i] backs regions[i]; the message borrows them (send, do not close). */
LBX_MUST_CHECK int lbx_vu_encode_mem_table(struct lbx_vu_msg *msg, uint32_t flags,
					   const struct lbx_vu_mem_table *t, const int *fds);
/* fd < 0 sends the NOFD flag instead of a descriptor. */
LBX_MUST_CHECK int lbx_vu_encode_vring_file(struct lbx_vu_msg *msg, uint32_t request,
					    uint32_t flags, uint32_t index, int fd);
LBX_MUST_CHECK int lbx_vu_encode_config(struct lbx_vu_msg *msg, uint32_t request, uint32_t flags,
					const struct lbx_vu_config *c);

/*
 * For a front-end: check that reply answers request (REPLY flag, version,
 * same request code). -EPROTO otherwise.
 */
LBX_MUST_CHECK int lbx_vu_check_reply(const struct lbx_vu_msg *reply, uint32_t request);

#endif
