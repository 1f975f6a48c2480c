/* SPDX-License-Identifier: MIT */
#ifndef LBX_GPUD_SANDBOX_H
#define LBX_GPUD_SANDBOX_H

/* Restrict lbx-gpud once it serves (gpud_sandbox.c); render_node may be NULL. 0 or -errno. */
int gpud_sandbox_apply(const char *render_node);

#endif
