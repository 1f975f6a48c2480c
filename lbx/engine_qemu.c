/* SPDX-License-Identifier: MIT */
/*
 * Engine qemu: QEMU's microvm with the box kernel and initramfs, wired to
 * our vhost-user backends. The flags are the ones TESTING.md found to
 * work: modern virtio-mmio (vhost-user backends refuse legacy), no ACPI
 * (the kernel has none, and microvm then lists devices on the command
 * line), guest RAM in a shared memfd the backends can map, and reboot=t
 * with -no-reboot so the agent's power-off ends QEMU (microvm has no
 * i8042 for reboot=k). The devices are the manifest's (manifest.c).
 */
#include <stdio.h>
#include <stdlib.h>

#include "engine_args.h"
#include "manifest.h"

char **engine_qemu_argv(const struct box_manifest *m, const char *kernel, const char *initrd,
			const char *console_log, char *err, size_t errsz)
{
	const struct box_config *c = m->cfg;
	struct argv_buf a = { 0 };
	char *cmdline = manifest_kernel_cmdline(m, "t");

	if (!cmdline) {
		snprintf(err, errsz, "out of memory");
		return NULL;
	}
	argv_add(&a, "qemu-system-x86_64");
	argv_add(&a, "-M");
	argv_add(&a, "microvm,acpi=off,isa-serial=on,rtc=on,memory-backend=mem");
	/* KVM where it can run Linux (hardware virtualisation), else TCG: engine.h. */
	argv_add(&a, "-accel");
	argv_add(&a, m->kvm ? "kvm" : "tcg");
	argv_add(&a, "-cpu");
	argv_add(&a, m->kvm ? "host" : "max");
	argv_add(&a, "-smp");
	argv_add(&a, "%u", c->cpus);
	argv_add(&a, "-m");
	argv_add(&a, "%uM", c->memory_mib);
	argv_add(&a, "-object");
	argv_add(&a, "memory-backend-memfd,id=mem,size=%uM,share=on", c->memory_mib);
	argv_add(&a, "-global");
	argv_add(&a, "virtio-mmio.force-legacy=false");
	argv_add(&a, "-nodefaults");
	argv_add(&a, "-no-user-config");
	argv_add(&a, "-display");
	argv_add(&a, "none");
	argv_add(&a, "-no-reboot");
	argv_add(&a, "-chardev");
	argv_add(&a, "file,id=con,path=%s", console_log);
	argv_add(&a, "-serial");
	argv_add(&a, "chardev:con");
	argv_add(&a, "-kernel");
	argv_add(&a, "%s", kernel);
	argv_add(&a, "-initrd");
	argv_add(&a, "%s", initrd);
	argv_add(&a, "-append");
	argv_add(&a, "%s", cmdline);
	argv_add(&a, "-device");
	argv_add(&a, "virtio-rng-device");
	for (unsigned i = 0; i < m->ndev; i++)
		manifest_qemu_device(&m->dev[i], i, &a);
	return argv_finish(&a, cmdline, err, errsz);
}
