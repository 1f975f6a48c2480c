/* SPDX-License-Identifier: MIT */
/*
 * lbx-vmm's side of vhost-user-gpu (QEMU docs/interop/vhost-user-gpu.rst),
 * for a virtio-gpu (device id 16) served by lbx-gpud: at DRIVER_OK the
 * frontend hands the backend a display socket (VHOST_USER_GPU_SET_SOCKET,
 * request 33) and answers what the backend asks on it. lbx-vmm has no
 * display, like QEMU's -display none: it answers GET_PROTOCOL_FEATURES
 * (none) and GET_DISPLAY_INFO (one 1280x800 scanout) and drops SCANOUT,
 * UPDATE and cursor messages, reading every byte of them with the
 * bounds-checked reader.
 */
#ifndef VMM_VHOST_GPU_H
#define VMM_VHOST_GPU_H

#include <stddef.h>
#include <stdint.h>

#include "evloop.h"
#include "vhost_frontend.h"

struct vmm_vhost_gpu {
	int ours, peer; /* the display socketpair; peer is what the backend gets */
	uint8_t hdr[12];
	size_t hdr_len;
	uint32_t request, left; /* the message being read: bytes of payload still to come */
};

/* At connect (before the syscall filter): make the socketpair. 0 or -errno. */
int vmm_vhost_gpu_init(struct vmm_vhost_gpu *g);
/* Serve our end on the main loop. */
int vmm_vhost_gpu_watch(struct vmm_vhost_gpu *g, struct lbx_loop *loop);
/* DRIVER_OK: VHOST_USER_GPU_SET_SOCKET with (a copy of) the peer end. */
int vmm_vhost_gpu_activate(struct vmm_vhost_gpu *g, struct vmm_vu *vu);
void vmm_vhost_gpu_free(struct vmm_vhost_gpu *g);

#endif
