/* SPDX-License-Identifier: MIT */
/*
 * The network of a container box (engine light): the agent, as the
 * container's init with CAP_NET_ADMIN in the container's own network
 * namespace, makes a tap interface and relays its Ethernet frames to
 * lbx-netd over a unix socket the host bind-mounted in, as length-prefixed
 * frames (lenframe.h). lbx-netd applies the box's egress policy and slirp,
 * exactly as for a VM's virtio-net device, so both engines see the same
 * network (10.0.2.15/24, gateway 10.0.2.2, DNS 10.0.2.3) under the same
 * policy.
 *
 * Frames from lbx-netd are hostile input; a length that breaks the framing
 * ends the relay (the interface stays, without a peer). A slow socket
 * stops reading the tap (the kernel's tap queue then drops, as a NIC
 * would); a frame the tap cannot take is dropped and counted.
 */
#ifndef LBX_AGENT_NETRELAY_H
#define LBX_AGENT_NETRELAY_H

#include <stddef.h>

#include "evloop.h"

#define TAP_IFNAME "eth0"
/* The MAC a VM's virtio-net device has too (lbx-netd's default, QEMU's). */
#define AGENT_NET_MAC "52:54:00:12:34:56"

struct tap_relay;

/*
 * Make the tap interface ifname with the given MAC ("52:54:00:12:34:56")
 * and connect to the stream socket at path. NULL with a one-line reason in
 * err. The interface is left down: configure it, then attach.
 */
struct tap_relay *tap_relay_new(const char *ifname, const char *mac, const char *path, char *err,
				size_t errsz);
/* Relay in loop until either side ends; detach before the loop goes. */
void tap_relay_attach(struct tap_relay *t, struct lbx_loop *loop);
void tap_relay_detach(struct tap_relay *t);
void tap_relay_free(struct tap_relay *t);

#endif
