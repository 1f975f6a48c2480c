/* SPDX-License-Identifier: MIT */
/* What every engine's command line is made of. */
#ifndef LBX_ENGINE_ARGS_H
#define LBX_ENGINE_ARGS_H

/*
 * slirp's network as every engine configures it: the guest is .15, the
 * gateway (and host) .2, DNS .3 (the agent's lbx.net= parameter).
 */
#define LBX_GUEST_NET "10.0.2.15/24,10.0.2.2,10.0.2.3"

#include <stdbool.h>
#include <stddef.h>

#include "compiler.h"

/* A growing NULL-terminated argv; an allocation failure is remembered, not lost. */
struct argv_buf {
	char **v;
	size_t n, cap;
	bool oom;
};

void argv_add(struct argv_buf *a, const char *fmt, ...) LBX_PRINTF(2, 3);
/* The argv, or NULL ("out of memory" in err) if an allocation failed; frees cmdline. */
char **argv_finish(struct argv_buf *a, char *cmdline, char *err, size_t errsz);
void engine_argv_free(char **argv);

struct box_manifest;

/*
 * Each engine's command line for a box, rendered from its manifest
 * (NULL-terminated, heap; NULL with a reason in err).
 */
char **engine_qemu_argv(const struct box_manifest *m, const char *kernel, const char *initrd,
			const char *console_log, char *err, size_t errsz);
char **engine_vm_argv(const struct box_manifest *m, const char *vmm, const char *kernel,
		      const char *initrd, const char *console_log, char *err, size_t errsz);
char **engine_light_argv(const struct box_manifest *m, const char *agent, char *err,
			 size_t errsz);

#endif
