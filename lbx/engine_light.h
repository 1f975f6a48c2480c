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
 * in directly.
 */
#ifndef LBX_ENGINE_LIGHT_H
#define LBX_ENGINE_LIGHT_H

#include <stddef.h>

#include "supervisor.h"

#define LIGHT_DIR "light"		     /* in the runtime directory */
#define LIGHT_AGENT_SOCK "light/agent.sock"  /* the agent's exec service */
#define LIGHT_READY_SOCK "light/ready.sock"  /* the supervisor's, for READY */
#define LIGHT_SSH_SOCK "light/ssh.sock"	     /* lbx-ssh-proxy's */
#define LIGHT_NET_SOCK "light/net.sock"	     /* lbx-netd's frame stream */
#define LIGHT_GUEST_DIR "/run/lbx/host"	     /* RUNTIME/light in the container */

/* podman's command line for the box (NULL-terminated, heap), or NULL with err. */
char **engine_light_argv(const struct supervisor_opts *o, const char *agent, const char *root,
			 char *err, size_t errsz);
/* The container's name: lbx-NAME. */
void engine_light_name(const char *box, char *buf, size_t sz);
/* Remove the box's container if it is still there (podman rm --force); waits. */
void engine_light_remove(const char *box);

#endif
