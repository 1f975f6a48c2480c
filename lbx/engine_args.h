/* SPDX-License-Identifier: MIT */
/* What every engine's command line is made of. */
#ifndef LBX_ENGINE_ARGS_H
#define LBX_ENGINE_ARGS_H

/*
 * slirp's network as every engine configures it: the guest is .15, the
 * gateway (and host) .2, DNS .3 (lbx.net= in a VM, --net in a container).
 */
#define LBX_GUEST_NET "10.0.2.15/24,10.0.2.2,10.0.2.3"

#include <stdbool.h>
#include <stddef.h>

#include "compiler.h"
#include "supervisor.h"

/* A growing NULL-terminated argv; an allocation failure is remembered, not lost. */
struct argv_buf {
	char **v;
	size_t n, cap;
	bool oom;
};

void argv_add(struct argv_buf *a, const char *fmt, ...) LBX_PRINTF(2, 3);
/* The argv, or NULL ("out of memory" in err) if an allocation failed; frees cmdline. */
char **argv_finish(struct argv_buf *a, char *cmdline, char *err, size_t errsz);

/*
 * The kernel command line for a box: console, how power-off ends the
 * machine (reboot= "t" for QEMU's microvm, which has no i8042; "k" for
 * lbx-vmm), and what the agent needs (guest-agent/cmdline.h).
 */
char *engine_kernel_cmdline(const struct supervisor_opts *o, const char *reboot);

/* engine_vm.c: lbx-vmm's command line for a box. */
char **engine_vm_argv(const struct supervisor_opts *o, const char *vmm, const char *kernel,
		      const char *initrd, const char *console_log, char *err, size_t errsz);

#endif
