/* SPDX-License-Identifier: MIT */
/*
 * The stream between lbx-wayland-guest and lbx-wayland-proxy, one per
 * Wayland client (a vsock stream in a box, a unix socket standalone).
 * vsock carries no fds, so what a client's fds hold travels as frames:
 *
 *   u32le type, u32le payload length, payload
 *
 *   MSG        one Wayland message, exactly as on the wire
 *   FD_SHM     u32 handle: the next fd argument is a shm pool; the host
 *              makes a memfd of its own for it, the guest sends contents
 *   FD_DATA    bytes: the next fd argument is a file with these contents
 *              (keymaps); the receiver makes a sealed memfd of them
 *   FD_PIPE    u32 handle: the next fd argument is where data is to be
 *              written (clipboard, drag and drop); the receiver makes a
 *              pipe and sends what is written into it as PIPE_DATA
 *   SHM_RECT   u32 handle, u32 offset, u32 stride, u32 row bytes,
 *              u32 rows, rows * row bytes: damaged rows of a pool
 *   PIPE_DATA  u32 handle, bytes: for the sender of FD_PIPE handle
 *   PIPE_CLOSE u32 handle: end of that pipe's data
 *   FD_VGPU    u32 resource: the next fd argument (a
 *              zwp_linux_buffer_params_v1.add) is a dmabuf of this
 *              virtio-gpu resource; the host reads it back from lbx-gpud
 *
 * FD_* frames come right before the MSG that carries the fds, in order.
 */
#ifndef WLP_LINK_H
#define WLP_LINK_H

enum wlp_frame_type {
	WLP_F_MSG = 1,
	WLP_F_FD_SHM = 2,
	WLP_F_FD_DATA = 3,
	WLP_F_FD_PIPE = 4,
	WLP_F_SHM_RECT = 5,
	WLP_F_PIPE_DATA = 6,
	WLP_F_PIPE_CLOSE = 7,
	WLP_F_FD_VGPU = 8,
};

#define WLP_FRAME_HDR 8
/* Largest payload: SHM_RECT splits bigger updates. */
#define WLP_FRAME_MAX (1u << 20)
/* Largest keymap (or other FD_DATA file) either side carries. */
#define WLP_DATA_MAX (1u << 20)

#endif
