/* SPDX-License-Identifier: MIT */
/* lbx-vmm's command line (docs/lbx-vmm.1 describes the same options). */
#ifndef VMM_CLI_H
#define VMM_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "boot_protocol.h"

/* A box: vsock, net, its root, the project and up to 16 mounts (lbx/config.h). */
#define VMM_MAX_VHOST 24
#define VMM_TAG_MAX 36 /* virtio-fs tag: 36 bytes (virtio 1.2 §5.11.4) */

enum vmm_vhost_type { VMM_VHOST_FS, VMM_VHOST_VSOCK, VMM_VHOST_NET, VMM_VHOST_BLK, VMM_VHOST_GPU };

struct vmm_vhost_spec {
	enum vmm_vhost_type type;
	const char *socket;
	char tag[VMM_TAG_MAX + 1];
};

struct vmm_config {
	const char *kernel;
	const char *initrd;
	const char *cmdline;
	uint64_t mem_mib;
	unsigned cpus;
	const char *console; /* a file path, or "stdio" */
	bool rng;
	bool virtio_console;
	enum vmm_boot_protocol protocol;
	const char *dump_boot_info;
	bool seccomp;
	struct vmm_vhost_spec vhost[VMM_MAX_VHOST];
	unsigned nvhost;
};

/*
 * 0: run with c. 1: --help or --version was printed, exit 0.
 * -EINVAL: err holds one line saying what is wrong.
 */
int vmm_cli_parse(int argc, char **argv, struct vmm_config *c, char *err, size_t errsz);
const char *vmm_cli_usage(void);
const char *vmm_vhost_type_name(enum vmm_vhost_type t);

#endif
