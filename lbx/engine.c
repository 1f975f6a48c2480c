/* SPDX-License-Identifier: MIT */
/* Engine choice: what `auto` means on this host, and why. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "assets.h"
#include "engine.h"

static bool cpu_has_virt(void)
{
	char line[4096];
	FILE *f = fopen("/proc/cpuinfo", "re");
	bool found = false;

	if (!f)
		return false;
	while (!found && fgets(line, sizeof(line), f))
		if (!strncmp(line, "flags", 5) && (strstr(line, " vmx") || strstr(line, " svm")))
			found = true;
	fclose(f);
	return found;
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
	if (!cpu_has_virt()) {
		snprintf(why, sz, "this CPU has no vmx/svm, so KVM cannot run a Linux guest");
		return false;
	}
	return true;
}
