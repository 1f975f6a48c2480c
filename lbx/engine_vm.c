/* SPDX-License-Identifier: MIT */
/*
 * Engine vm: lbx-vmm on /dev/kvm, with the same kernel, initramfs and
 * backends as engine qemu. lbx-vmm ends the machine on the i8042 reset,
 * hence reboot=k; it appends the virtio_mmio.device= entries itself.
 */
#include <stdio.h>
#include <stdlib.h>

#include "engine_args.h"
#include "supervisor.h"

char **engine_vm_argv(const struct supervisor_opts *o, const char *vmm, const char *kernel,
		      const char *initrd, const char *console_log, char *err, size_t errsz)
{
	const struct box_config *c = o->cfg;
	const char *rt = o->paths->runtime;
	struct argv_buf a = { 0 };
	char *cmdline = engine_kernel_cmdline(o, "k");

	if (!cmdline) {
		snprintf(err, errsz, "out of memory");
		return NULL;
	}
	argv_add(&a, "%s", vmm);
	argv_add(&a, "--kernel");
	argv_add(&a, "%s", kernel);
	argv_add(&a, "--initrd");
	argv_add(&a, "%s", initrd);
	argv_add(&a, "--cmdline");
	argv_add(&a, "%s", cmdline);
	argv_add(&a, "--mem");
	argv_add(&a, "%u", c->memory_mib);
	argv_add(&a, "--cpus");
	argv_add(&a, "%u", c->cpus);
	argv_add(&a, "--console");
	argv_add(&a, "%s", console_log);
	argv_add(&a, "--rng");
	argv_add(&a, "--vhost-user");
	argv_add(&a, "vsock,%s/vsock-vu.sock", rt);
	if (!c->net_none) {
		argv_add(&a, "--vhost-user");
		argv_add(&a, "net,%s/net-vu.sock", rt);
	}
	argv_add(&a, "--vhost-user");
	argv_add(&a, "fs,%s/fs-root.sock,tag=root", rt);
	argv_add(&a, "--vhost-user");
	argv_add(&a, "fs,%s/fs-project.sock,tag=project", rt);
	for (unsigned i = 0; i < c->nmounts; i++) {
		argv_add(&a, "--vhost-user");
		argv_add(&a, "fs,%s/fs-mount%u.sock,tag=mount%u", rt, i, i);
	}
	return argv_finish(&a, cmdline, err, errsz);
}
