/* SPDX-License-Identifier: MIT */
/*
 * Asking the user through SSH_ASKPASS, as ssh-agent does for keys added
 * with "ssh-add -c": the program runs with the prompt as its argument and
 * SSH_ASKPASS_PROMPT=confirm; it confirms by exiting 0 and printing
 * nothing or "yes". Anything else, or no answer within the timeout, is a
 * no. The program runs asynchronously: the proxy keeps serving other
 * connections while the user decides.
 */
#ifndef SSHP_CONFIRM_H
#define SSHP_CONFIRM_H

#include <stdbool.h>

#include "compiler.h"
#include "evloop.h"

struct sshp_confirm;

/* Called once with the answer; the sshp_confirm is already gone by then. */
typedef void (*sshp_confirm_fn)(void *ctx, bool allowed, const char *why);

LBX_MUST_CHECK int sshp_confirm_start(struct lbx_loop *loop, const char *askpass,
				      const char *prompt, unsigned timeout_s, sshp_confirm_fn fn,
				      void *ctx, struct sshp_confirm **out);
/* Stop asking (the connection went away): kills the program, no callback. */
void sshp_confirm_cancel(struct sshp_confirm *c);

#endif
