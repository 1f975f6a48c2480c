/* SPDX-License-Identifier: MIT */
/*
 * The frontend side of one vhost-user session (QEMU
 * docs/interop/vhost-user.rst): the unix socket to a backend and the
 * requests lbx-vmm makes on it. Requests are synchronous; with
 * REPLY_ACK negotiated every setting request asks for an acknowledgement,
 * so a backend that refuses something is caught at the request that
 * failed. A receive timeout keeps a stuck backend from hanging a vCPU.
 */
#ifndef VMM_VHOST_FRONTEND_H
#define VMM_VHOST_FRONTEND_H

#include <stdbool.h>
#include <stdint.h>

#include "guest_mem.h"
#include "vhost_user.h"

#define VMM_VU_TIMEOUT_MS 5000

struct vmm_vu {
	int sock;
	const char *name;     /* "vhost-user blk backend /run/x.sock", for messages */
	uint64_t features;    /* the backend's GET_FEATURES */
	uint64_t protocol;    /* protocol features both sides use */
	bool reply_ack;
};

struct vmm_vu_ring {
	unsigned index;
	uint16_t num;
	void *desc, *avail, *used; /* our mapping of the rings = their "user address" */
	int kick_fd, call_fd;
	int err_fd; /* the backend signals it when the driver broke the ring (-1: none) */
};

/* Connect, GET_FEATURES, protocol features, SET_OWNER. -errno, logged. */
int vmm_vu_connect(struct vmm_vu *vu, const char *path, const char *name);
void vmm_vu_close(struct vmm_vu *vu);
int vmm_vu_get_config(struct vmm_vu *vu, uint8_t *buf, uint32_t len);
int vmm_vu_set_features(struct vmm_vu *vu, uint64_t features);
/* Every region of mem, each backed by fd at the given offset. */
int vmm_vu_set_mem_table(struct vmm_vu *vu, const struct lbx_guest_mem *mem, int fd,
			 const uint64_t *fd_offsets);
int vmm_vu_start_ring(struct vmm_vu *vu, const struct vmm_vu_ring *r);
/* GET_VRING_BASE: the backend stops the ring. */
int vmm_vu_stop_ring(struct vmm_vu *vu, unsigned index);

#endif
