/* SPDX-License-Identifier: MIT */
/*
 * Engine vm: lbx-vmm on /dev/kvm, with the same kernel, initramfs and
 * backends as engine qemu. lbx-vmm ends the machine on the i8042 reset,
 * hence reboot=k; it appends the virtio_mmio.device= entries itself. The
 * devices are the manifest's (manifest.c).
 */
#include <stdio.h>
#include <stdlib.h>

#include "engine_args.h"
#include "manifest.h"

char **engine_vm_argv(const struct box_manifest *m, const char *vmm, const char *kernel,
		      const char *initrd, const char *console_log, char *err, size_t errsz)
{
	const struct box_config *c = m->cfg;
	struct argv_buf a = { 0 };
	char *cmdline = manifest_kernel_cmdline(m, "k");

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
	for (unsigned i = 0; i < m->ndev; i++)
		manifest_vmm_device(&m->dev[i], &a);
	return argv_finish(&a, cmdline, err, errsz);
}
