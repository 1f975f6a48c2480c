/* SPDX-License-Identifier: MIT */
#include "assets.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "box.h"

/* The build directory lbx runs from, if it runs from one. */
static int build_root(char *buf, size_t sz)
{
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	char *slash;

	if (n <= 0)
		return -ENOENT;
	exe[n] = '\0';
	for (int i = 0; i < 2; i++) { /* BUILD/lbx/lbx -> BUILD */
		slash = strrchr(exe, '/');
		if (!slash)
			return -ENOENT;
		*slash = '\0';
	}
	if (snprintf(buf, sz, "%s", exe) >= (int)sz)
		return -ENAMETOOLONG;
	return 0;
}

static const struct {
	const char *build_rel; /* inside the build tree */
	const char *installed; /* inside LBX_LIBEXEC_DIR */
	const char *what;
} assets[] = {
	[ASSET_VSOCKD] = { "backends/vsock/lbx-vsockd", "lbx-vsockd", "lbx-vsockd" },
	[ASSET_FSD] = { "backends/fsd/lbx-fsd", "lbx-fsd", "lbx-fsd" },
	[ASSET_VMM] = { "vmm/lbx-vmm", "lbx-vmm", "lbx-vmm" },
	[ASSET_SSH_PROXY] = { "vsock-ssh/lbx-ssh-proxy", "lbx-ssh-proxy", "lbx-ssh-proxy" },
	[ASSET_NETD] = { "backends/net/lbx-netd", "lbx-netd", "lbx-netd" },
	[ASSET_KERNEL] = { NULL, "vmlinux", "the guest kernel" },
	[ASSET_INITRAMFS] = { "images/initramfs.cpio", "initramfs.cpio", "the initramfs" },
	[ASSET_BUSYBOX_IMAGE] = { "images/busybox.cpio", "busybox.cpio", "the busybox image" },
	[ASSET_AGENT] = { "guest-agent/lbx-agent", "lbx-agent", "lbx-agent" },
	[ASSET_OWN_TREE] = { "images/lbx-own-tree", "lbx-own-tree", "lbx-own-tree" },
	[ASSET_DEBIAN_BASE] = { "images/debian-base.sh", "debian-base.sh",
				"the Debian base image's recipe" },
	[ASSET_WAYLAND_PROXY] = { "wayland-proxy/lbx-wayland-proxy", "lbx-wayland-proxy",
				  "lbx-wayland-proxy" },
};

static int kernel_path(const char *root, char *buf, size_t sz)
{
	const char *env = getenv("LBX_KERNEL_DIR");
	char file[PATH_MAX + 16], dir[PATH_MAX];

	if (env && env[0]) {
		snprintf(dir, sizeof(dir), "%s", env);
	} else {
		if (box_path(root, "kernel-dir", file, sizeof(file)) ||
		    box_read_file(file, dir, sizeof(dir)) <= 0)
			return -ENOENT;
		dir[strcspn(dir, "\n")] = '\0';
	}
	return box_path(dir, "vmlinux", buf, sz);
}

int lbx_asset(enum lbx_asset a, char *buf, size_t sz, char *err, size_t errsz)
{
	const char *libexec = getenv("LBX_LIBEXEC_DIR");
	char root[PATH_MAX];
	int rc;

	if (libexec && libexec[0])
		rc = box_path(libexec, assets[a].installed, buf, sz);
	else if ((rc = build_root(root, sizeof(root))) == 0)
		rc = a == ASSET_KERNEL ? kernel_path(root, buf, sz)
				       : box_path(root, assets[a].build_rel, buf, sz);
	if (rc == 0 && access(buf, R_OK) == 0)
		return 0;
	if (a == ASSET_KERNEL)
		snprintf(err, errsz, "the guest kernel is not built: run 'make kernel' (or set "
				     "LBX_KERNEL_DIR)");
	else
		snprintf(err, errsz, "%s not found%s%s: build it with 'make'", assets[a].what,
			 rc == 0 ? " at " : "", rc == 0 ? buf : "");
	return -ENOENT;
}
