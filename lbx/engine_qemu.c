/* SPDX-License-Identifier: MIT */
/*
 * Engine qemu: QEMU with the box kernel and initramfs, wired to our
 * vhost-user backends, for the host's architecture (arch.h).
 *
 * x86_64: QEMU's microvm. The flags are the ones TESTING.md found to
 * work: modern virtio-mmio (vhost-user backends refuse legacy), no ACPI
 * (the kernel has none, and microvm then lists devices on the command
 * line), guest RAM in a shared memfd the backends can map, and reboot=t
 * with -no-reboot so the agent's power-off ends QEMU (microvm has no
 * i8042 for reboot=k).
 *
 * arm64: QEMU's virt machine with a GICv3 (the only one our arm64 kernel
 * drives), described to the guest by QEMU's device tree, no ACPI; the
 * console is its PL011 (ttyAMA0); the agent's reset is a PSCI
 * SYSTEM_RESET, which -no-reboot turns into QEMU's exit. virt has
 * virtio-mmio transports, so the devices are the same -device
 * virtio-*-device and vhost-user-*-device as on microvm, found by the
 * guest in the device tree. KVM (-cpu host) where it runs Linux, else TCG
 * (-cpu max).
 *
 * The devices are the manifest's (manifest.c).
 */
#include <stdio.h>
#include <stdlib.h>

#include "arch.h"
#include "engine_args.h"
#include "manifest.h"

static void add_machine(struct argv_buf *a, enum lbx_arch arch, bool kvm)
{
	argv_add(a, "%s", lbx_arch_qemu(arch));
	argv_add(a, "-M");
	if (arch == LBX_ARCH_ARM64)
		argv_add(a, "virt,gic-version=3,acpi=off,memory-backend=mem");
	else
		argv_add(a, "microvm,acpi=off,isa-serial=on,rtc=on,memory-backend=mem");
	/* KVM where it can run Linux (hardware virtualisation), else TCG: engine.h. */
	argv_add(a, "-accel");
	argv_add(a, kvm ? "kvm" : "tcg");
	argv_add(a, "-cpu");
	argv_add(a, kvm ? "host" : "max");
}

char **engine_qemu_argv(const struct box_manifest *m, const char *kernel, const char *initrd,
			const char *console_log, char *err, size_t errsz)
{
	const struct box_config *c = m->cfg;
	enum lbx_arch arch = lbx_arch();
	struct argv_buf a = { 0 };
	char *cmdline =
	    manifest_kernel_cmdline_on(m, arch == LBX_ARCH_ARM64 ? "ttyAMA0" : "ttyS0", "t");

	if (!cmdline) {
		snprintf(err, errsz, "out of memory");
		return NULL;
	}
	add_machine(&a, arch, m->kvm);
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
