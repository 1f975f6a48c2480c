/* SPDX-License-Identifier: MIT */
/*
 * The per-box supervisor: started by `lbx up`, it owns the runtime
 * directory, launches the backends and then the engine, waits for the
 * agent to report ready over vsock, and stays to watch them. Any of them
 * dying ends the box, and the reason is kept for `lbx status`. SIGTERM
 * (from `lbx down`) powers the guest off cleanly, then stops the backends.
 */
#ifndef LBX_SUPERVISOR_H
#define LBX_SUPERVISOR_H

#include <stdbool.h>
#include <sys/types.h>

#include "box.h"
#include "config.h"

struct supervisor_opts {
	const struct box_config *cfg;
	const struct box_paths *paths;
	enum box_engine engine;	 /* resolved: vm, qemu, light or libvirt */
	const char *libvirt_uri; /* engine libvirt: the connection (NULL: qemu:///session) */
	unsigned ready_timeout_s;
};

/*
 * Fork the supervisor (detached, in its own session) and wait until the box
 * is ready or failed. Returns 0 when ready (*ready_ms: time from start),
 * else -errno with a one-line reason in err.
 */
int supervisor_start(const struct supervisor_opts *o, unsigned *ready_ms, char *err,
		     size_t errsz);

#endif
