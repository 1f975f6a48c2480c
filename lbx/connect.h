/* SPDX-License-Identifier: MIT */
/* Reaching a box's agent from the host. */
#ifndef LBX_CONNECT_H
#define LBX_CONNECT_H

#include <stddef.h>
#include <stdint.h>

/*
 * Connect to guest port `port` through lbx-vsockd's host socket: send
 * "CONNECT <port>\n" and read "OK <n>\n" (Firecracker's convention).
 * fd or -errno; -ECONNREFUSED when nothing listens on the port in the
 * guest. err gets a one-line reason.
 */
int lbx_connect_vsock(const char *uds_path, uint32_t port, char *err, size_t errsz);

#endif
