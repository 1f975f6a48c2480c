/* SPDX-License-Identifier: MIT */
/* Starting a session's command: identity, cwd, environment, pipes or pty. */
#ifndef LBX_AGENT_SPAWN_H
#define LBX_AGENT_SPAWN_H

#include <stddef.h>
#include <sys/types.h>

#include "exec_proto.h"
#include "exec_service.h"

struct spawn_result {
	pid_t pid;
	int in_fd;  /* our end of the command's stdin (the pty master for a tty) */
	int out_fd; /* stdout (a second descriptor of the master for a tty) */
	int err_fd; /* stderr, -1 for a tty */
};

/*
 * Fork and exec req's command. On success the command runs in a new
 * session and process group (pid is its id), our ends are non-blocking
 * and close-on-exec. If the command could not be executed (not found,
 * bad cwd, identity), *err says why and the child has exited with 127 or
 * 126, which the caller reaps like any exit. Returns -errno only when
 * nothing was started.
 */
int spawn_command(const struct exec_request *req, const struct exec_service_config *cfg,
		  struct spawn_result *res, char *err, size_t errsz);

#endif
