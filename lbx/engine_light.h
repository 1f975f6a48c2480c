/* SPDX-License-Identifier: MIT */
/*
 * Engine light: the box's root tree run as a podman container (runc),
 * sharing the host kernel. lbx-agent is the container's init and serves
 * exec sessions on a unix socket in RUNTIME/light/, which is bind-mounted
 * into the container at /run/lbx/host; the supervisor listens there for
 * the agent's READY, lbx-ssh-proxy serves the box's SSH agent there, and
 * lbx-netd the box's network: the agent makes a tap interface eth0 in the
 * container's own network namespace (podman --network none, plus
 * /dev/net/tun and CAP_NET_ADMIN, which the agent drops once eth0 is up)
 * and relays its frames to lbx-netd's stream socket, so the same egress
 * policy holds as in a VM. No host socket (SSH agent, Wayland) is mounted
 * in directly. The socket names are the manifest's (manifest.h).
 */
#ifndef LBX_ENGINE_LIGHT_H
#define LBX_ENGINE_LIGHT_H

#include <stddef.h>
#include <sys/types.h>

/* The container's name: lbx-NAME. */
void engine_light_name(const char *box, char *buf, size_t sz);
/* Remove the box's container if it is still there (podman rm --force); waits. */
void engine_light_remove(const char *box);
/*
 * Connect to the agent's exec socket and check that the peer is the
 * agent: the process that reported READY (agent_pid, from state.json),
 * not something a session put in its place. fd or -errno, err says why.
 */
int engine_light_connect_agent(const char *sock, pid_t agent_pid, char *err, size_t errsz);

#endif
