/* SPDX-License-Identifier: MIT */
/*
 * Guest-side forwarders: a unix socket in the guest whose every connection
 * is relayed to a host vsock port (the SSH agent today; Wayland later), or,
 * in a container (engine light), to a host unix socket bind-mounted in.
 * The bytes are not interpreted here: the host proxy at the other end
 * parses and filters them. Each direction has a bounded queue; a full
 * queue stops reading from the side that fills it.
 */
#ifndef LBX_AGENT_FORWARD_H
#define LBX_AGENT_FORWARD_H

#include <sys/types.h>

#include "evloop.h"

struct forwarder;

/*
 * Listen on path (mode 0600, owned by uid:gid) and relay connections to
 * host vsock port `port`, or to the unix socket host_unix when that is not
 * NULL. NULL with *err set on failure.
 */
struct forwarder *forwarder_new(struct lbx_loop *loop, const char *path, unsigned port,
				const char *host_unix, uid_t uid, gid_t gid, int *err);
void forwarder_free(struct forwarder *f);

#endif
