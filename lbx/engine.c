/* SPDX-License-Identifier: MIT */
/* Engine choice: what `auto` means on this host, and why. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "arch.h"
#include "assets.h"
#include "engine.h"

/* The CPU flag that gives KVM hardware virtualisation: "svm", "vmx" or NULL. */
static const char *cpu_virt_flag(void)
{
	char line[4096];
	FILE *f = fopen("/proc/cpuinfo", "re");
	const char *found = NULL;

	if (!f)
		return NULL;
	while (!found && fgets(line, sizeof(line), f)) {
		if (strncmp(line, "flags", 5))
			continue;
		line[strcspn(line, "\n")] = ' ';
		if (strstr(line, " svm "))
			found = "svm";
		else if (strstr(line, " vmx "))
			found = "vmx";
	}
	fclose(f);
	return found;
}

static bool cpu_has_virt(void)
{
	return cpu_virt_flag() != NULL;
}

/* Whether a kernel module is loaded (its /sys/module directory exists). */
static bool module_loaded(const char *name)
{
	char path[128];

	snprintf(path, sizeof(path), "/sys/module/%s", name);
	return access(path, F_OK) == 0;
}

/*
 * arm64 KVM runs at EL2 of the CPU itself (no vmx/svm flag to look for):
 * /dev/kvm opening is the test there. A box of another architecture than
 * the machine's (lbx engine-argv --arch) never runs on KVM.
 */
static bool arm64_kvm(void)
{
	int fd;

	if (lbx_arch() != LBX_ARCH_ARM64 || !lbx_arch_native())
		return false;
	fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return false;
	close(fd);
	return true;
}

bool engine_kvm_runs_linux(void)
{
	const char *flag = cpu_virt_flag();
	int fd;

	if (lbx_arch() == LBX_ARCH_ARM64)
		return arm64_kvm();
	if (!flag || !lbx_arch_native())
		return false;
	fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return false;
	close(fd);
	/* KVM on the CPU's own extension: not a software hypervisor behind /dev/kvm. */
	return module_loaded(!strcmp(flag, "svm") ? "kvm_amd" : "kvm_intel");
}

bool engine_vm_proven(void)
{
	const char *flag = cpu_virt_flag();

	/*
	 * tests/nested boots Linux on lbx-vmm over kvm_amd (nothing here
	 * emulates VMX); tests/nested-arm64 over arm64 KVM in VHE mode.
	 */
	if (lbx_arch() == LBX_ARCH_ARM64)
		return true;
	return flag && !strcmp(flag, "svm");
}

enum box_engine engine_resolve(enum box_engine want, char *why, size_t sz)
{
	char path[4096], err[256];

	why[0] = '\0';
	if (want != ENGINE_AUTO)
		return want;
	if (!engine_host_has_kvm(why, sz))
		return ENGINE_QEMU;
	if (lbx_asset(ASSET_VMM, path, sizeof(path), err, sizeof(err)) < 0) {
		snprintf(why, sz, "lbx-vmm is not built");
		return ENGINE_QEMU;
	}
	return ENGINE_VM;
}

bool engine_host_has_kvm(char *why, size_t sz)
{
	int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);

	if (fd < 0) {
		int e = errno;

		/* The one line lbx up prints names the fix (ordinary users: the kvm group). */
		snprintf(why, sz, "/dev/kvm cannot be opened (%s)%s", strerror(e),
			 e == EACCES ? "; 'sudo usermod -aG kvm $USER', then log in again, "
					   "lets you use it"
					 : "");
		return false;
	}
	close(fd);
	if (!lbx_arch_native()) {
		snprintf(why, sz, "boxes here are %s, not this machine's architecture: no KVM",
			 lbx_arch_name(lbx_arch()));
		return false;
	}
	if (lbx_arch() != LBX_ARCH_ARM64 && !cpu_has_virt()) {
		snprintf(why, sz, "this CPU has no vmx/svm, so KVM cannot run a Linux guest");
		return false;
	}
	return true;
}
