/* SPDX-License-Identifier: MIT */
#include "arch.h"

#include <string.h>
#include <sys/utsname.h>

static enum lbx_arch forced = LBX_ARCH_OTHER;
static bool is_forced;

enum lbx_arch lbx_arch_of_machine(const char *machine)
{
	if (!strcmp(machine, "x86_64"))
		return LBX_ARCH_X86_64;
	if (!strcmp(machine, "aarch64") || !strcmp(machine, "arm64"))
		return LBX_ARCH_ARM64;
	return LBX_ARCH_OTHER;
}

static enum lbx_arch machine_arch(void)
{
	struct utsname u;

	return uname(&u) == 0 ? lbx_arch_of_machine(u.machine) : LBX_ARCH_OTHER;
}

enum lbx_arch lbx_arch(void)
{
	return is_forced ? forced : machine_arch();
}

void lbx_arch_override(enum lbx_arch a)
{
	forced = a;
	is_forced = true;
}

void lbx_arch_override_end(void)
{
	is_forced = false;
}

bool lbx_arch_native(void)
{
	return !is_forced || forced == machine_arch();
}

const char *lbx_arch_name(enum lbx_arch a)
{
	switch (a) {
	case LBX_ARCH_X86_64: return "x86_64";
	case LBX_ARCH_ARM64: return "aarch64";
	default: return "unsupported";
	}
}

const char *lbx_arch_qemu(enum lbx_arch a)
{
	return a == LBX_ARCH_ARM64 ? "qemu-system-aarch64" : "qemu-system-x86_64";
}

const char *lbx_arch_qemu_package(enum lbx_arch a)
{
	return a == LBX_ARCH_ARM64 ? "qemu-system-arm" : "qemu-system-x86";
}

const char *lbx_arch_kernel_script(enum lbx_arch a)
{
	return a == LBX_ARCH_ARM64 ? "build-kernel-arm64.sh" : "build-kernel.sh";
}

/* build-kernel.sh leaves vmlinux (ELF, PVH), build-kernel-arm64.sh an Image (booting.rst). */
const char *lbx_arch_kernel_file(enum lbx_arch a)
{
	return a == LBX_ARCH_ARM64 ? "Image" : "vmlinux";
}
