/* SPDX-License-Identifier: MIT */
/*
 * The guest half's view of a client's dmabuf: which virtio-gpu resource it
 * is (linux uapi drm/drm.h PRIME_FD_TO_HANDLE, drm/virtgpu_drm.h
 * RESOURCE_INFO and WAIT), on the box's render node (/dev/dri/renderD128,
 * else card0). A dmabuf of any other device fails the import. GEM handles
 * are per file and not counted by the kernel (the same dmabuf imported
 * twice gives the same handle), so they are counted here.
 */
#ifndef WLP_VGPU_H
#define WLP_VGPU_H

#include <stddef.h>
#include <stdint.h>

#include "compiler.h"

/* 0, or -errno with why (what failed) filled in. */
LBX_MUST_CHECK int wlp_vgpu_import(int dmabuf, uint32_t *gem, uint32_t *resource, char *why,
				   size_t whylen);
/* Wait until the GPU has finished with the buffer (before the host reads it back). */
int wlp_vgpu_wait(uint32_t gem);
void wlp_vgpu_release(uint32_t gem);
/* The node's device number (dev_t), as zwp_linux_dmabuf_feedback_v1 names it; 0 or -errno. */
LBX_MUST_CHECK int wlp_vgpu_device(uint64_t *dev);

#endif
