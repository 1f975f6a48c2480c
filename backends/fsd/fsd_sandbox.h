/* SPDX-License-Identifier: MIT */
/* lbx-fsd's self-restriction: Landlock to the shared tree, seccomp to what serving needs. */
#ifndef LBX_FSD_SANDBOX_H
#define LBX_FSD_SANDBOX_H

#include <stdbool.h>

#include "compiler.h"

/* Call in the serving process before its first request and before starting threads. */
/* vhost: also what the vhost-user transport needs (messages with fds). */
LBX_MUST_CHECK int fsd_sandbox_apply(const char *shared_dir, bool read_only, bool vhost);

#endif
