/* SPDX-License-Identifier: MIT */
#include "assets.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "arch.h"
#include "box.h"
#include "log.h"

/* Relative to the prefix; meson passes the configured ones. */
#ifndef LBX_BINDIR
#define LBX_BINDIR "bin"
#endif
#ifndef LBX_LIBEXECDIR
#define LBX_LIBEXECDIR "libexec/lbx"
#endif
#ifndef LBX_DATADIR
#define LBX_DATADIR "share/lbx"
#endif

enum layout { LAYOUT_NONE, LAYOUT_BUILD, LAYOUT_INSTALLED, LAYOUT_FLAT };

enum where { PROGRAM, DATA };

static const struct {
	const char *build_rel; /* inside the build tree */
	const char *installed; /* inside the libexec or data directory */
	enum where where;
	const char *what;
} assets[] = {
	[ASSET_VSOCKD] = { "backends/vsock/lbx-vsockd", "lbx-vsockd", PROGRAM, "lbx-vsockd" },
	[ASSET_FSD] = { "backends/fsd/lbx-fsd", "lbx-fsd", PROGRAM, "lbx-fsd" },
	[ASSET_VMM] = { "vmm/lbx-vmm", "lbx-vmm", PROGRAM, "lbx-vmm" },
	[ASSET_SSH_PROXY] = { "vsock-ssh/lbx-ssh-proxy", "lbx-ssh-proxy", PROGRAM,
			      "lbx-ssh-proxy" },
	[ASSET_NETD] = { "backends/net/lbx-netd", "lbx-netd", PROGRAM, "lbx-netd" },
	[ASSET_KERNEL] = { NULL, NULL, DATA, "the guest kernel" },
	[ASSET_INITRAMFS] = { "images/initramfs.cpio", "initramfs.cpio", DATA, "the initramfs" },
	[ASSET_BUSYBOX_IMAGE] = { "images/busybox.cpio", "busybox.cpio", DATA,
				  "the busybox image" },
	[ASSET_AGENT] = { "guest-agent/lbx-agent", "lbx-agent", PROGRAM, "lbx-agent" },
	[ASSET_OWN_TREE] = { "images/lbx-own-tree", "lbx-own-tree", PROGRAM, "lbx-own-tree" },
	[ASSET_DEBIAN_BASE] = { "images/debian-base.sh", "debian-base.sh", DATA,
				"the Debian base image's recipe" },
	[ASSET_USBIPD] = { "passthrough/lbx-usbipd", "lbx-usbipd", PROGRAM, "lbx-usbipd" },
	[ASSET_WAYLAND_PROXY] = { "wayland-proxy/lbx-wayland-proxy", "lbx-wayland-proxy", PROGRAM,
				  "lbx-wayland-proxy" },
	[ASSET_GPUD] = { "backends/gpu/lbx-gpud", "lbx-gpud", PROGRAM, "lbx-gpud" },
	[ASSET_DEBIAN_GPU] = { "images/debian-gpu.sh", "debian-gpu.sh", DATA,
			       "the Debian gpu image's recipe" },
	[ASSET_BUILD_KERNEL] = { "lbx/build-kernel.sh", "build-kernel.sh", DATA,
				 "the guest kernel's recipe (build-kernel.sh)" },
};

/* The arm64 guest kernel's recipe, for ASSET_BUILD_KERNEL on arm64 (arch.h). */
static const char build_kernel_arm64_rel[] = "lbx/build-kernel-arm64.sh";

/* Strip the last n components of path, in place: 0, or -ENOENT. */
static int strip_components(char *path, int n)
{
	for (int i = 0; i < n; i++) {
		char *slash = strrchr(path, '/');

		if (!slash || slash == path)
			return -ENOENT;
		*slash = '\0';
	}
	return 0;
}

static bool ends_with_dir(const char *path, const char *suffix)
{
	size_t n = strlen(path), m = strlen(suffix);

	return n > m && path[n - m - 1] == '/' && !strcmp(path + n - m, suffix);
}

/*
 * Which layout lbx runs from, and its base: the build tree, the prefix, or
 * the flat LBX_LIBEXEC_DIR.
 */
static enum layout find_layout(char *base, size_t sz)
{
	const char *flat = getenv("LBX_LIBEXEC_DIR");
	char exe[PATH_MAX], probe[PATH_MAX + 32];
	ssize_t n;

	if (flat && flat[0]) {
		snprintf(base, sz, "%s", flat);
		return LAYOUT_FLAT;
	}
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n <= 0)
		return LAYOUT_NONE;
	exe[n] = '\0';
	if (strip_components(exe, 1) < 0) /* the directory lbx is in */
		return LAYOUT_NONE;
	if (ends_with_dir(exe, "lbx")) { /* BUILD/lbx/lbx */
		snprintf(probe, sizeof(probe), "%s/../meson-private", exe);
		if (access(probe, F_OK) == 0 && strip_components(exe, 1) == 0) {
			snprintf(base, sz, "%s", exe);
			return LAYOUT_BUILD;
		}
	}
	if (ends_with_dir(exe, LBX_BINDIR)) { /* PREFIX/bin/lbx */
		int depth = 1;

		for (const char *s = LBX_BINDIR; *s; s++)
			depth += *s == '/';
		if (strip_components(exe, depth) == 0) {
			snprintf(base, sz, "%s", exe);
			return LAYOUT_INSTALLED;
		}
	}
	return LAYOUT_NONE;
}

const char *lbx_asset_layout(char *dir, size_t sz)
{
	switch (find_layout(dir, sz)) {
	case LAYOUT_BUILD: return "build tree";
	case LAYOUT_INSTALLED: return "installed";
	case LAYOUT_FLAT: return "LBX_LIBEXEC_DIR";
	default: snprintf(dir, sz, "?"); return "unknown";
	}
}

static int asset_path(enum lbx_asset a, char *buf, size_t sz)
{
	char base[PATH_MAX];
	int n;

	const char *build_rel = assets[a].build_rel, *installed = assets[a].installed;

	if (a == ASSET_BUILD_KERNEL && lbx_arch() == LBX_ARCH_ARM64) {
		build_rel = build_kernel_arm64_rel;
		installed = lbx_arch_kernel_script(LBX_ARCH_ARM64);
	}
	switch (find_layout(base, sizeof(base))) {
	case LAYOUT_BUILD: n = snprintf(buf, sz, "%s/%s", base, build_rel); break;
	case LAYOUT_INSTALLED:
		n = snprintf(buf, sz, "%s/%s/%s", base,
			     assets[a].where == PROGRAM ? LBX_LIBEXECDIR : LBX_DATADIR, installed);
		break;
	case LAYOUT_FLAT: n = snprintf(buf, sz, "%s/%s", base, installed); break;
	default: return -ENOENT;
	}
	return n < 0 || (size_t)n >= sz ? -ENAMETOOLONG : 0;
}

/* The user's cache: $LBX_CACHE_DIR, else $XDG_CACHE_HOME/lbx, else ~/.cache/lbx. */
static int cache_dir(char *buf, size_t sz)
{
	const char *env = getenv("LBX_CACHE_DIR"), *xdg = getenv("XDG_CACHE_HOME");
	const char *home = getenv("HOME");
	int n;

	if (env && env[0])
		n = snprintf(buf, sz, "%s", env);
	else if (xdg && xdg[0])
		n = snprintf(buf, sz, "%s/lbx", xdg);
	else if (home && home[0])
		n = snprintf(buf, sz, "%s/.cache/lbx", home);
	else
		return -ENOENT;
	return n < 0 || (size_t)n >= sz ? -ENAMETOOLONG : 0;
}

/*
 * Run `sh script ARG` and keep the last line of its stdout; its stderr is
 * ours (progress) or /dev/null. Exit status, or -errno.
 */
static int run_script(const char *script, const char *arg, bool quiet, char *line, size_t sz)
{
	char buf[4096];
	size_t n = 0;
	ssize_t got;
	int fds[2], status;
	pid_t pid;

	if (pipe2(fds, O_CLOEXEC) < 0)
		return -errno;
	pid = fork();
	if (pid < 0) {
		close(fds[0]);
		close(fds[1]);
		return -errno;
	}
	if (pid == 0) {
		int devnull = open("/dev/null", O_RDWR);

		if (devnull < 0 || dup2(devnull, 0) < 0 || dup2(fds[1], 1) < 0 ||
		    (quiet && dup2(devnull, 2) < 0))
			_exit(127);
		execlp("sh", "sh", script, arg, (char *)NULL);
		_exit(127);
	}
	close(fds[1]);
	while ((got = read(fds[0], buf + n, sizeof(buf) - 1 - n)) > 0 ||
	       (got < 0 && errno == EINTR)) {
		n += got > 0 ? (size_t)got : 0;
		if (n == sizeof(buf) - 1) { /* keep the tail: the last line is the answer */
			memmove(buf, buf + n / 2, n - n / 2);
			n -= n / 2;
		}
	}
	close(fds[0]);
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -errno;
	while (n > 0 && buf[n - 1] == '\n')
		n--;
	buf[n] = '\0';
	const char *last = strrchr(buf, '\n');
	snprintf(line, sz, "%s", last ? last + 1 : buf);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* <cache>/kernel/<key>, the key from build-kernel.sh --print-key. */
static int kernel_cache_dir(char *dir, size_t sz, char *err, size_t errsz)
{
	char script[PATH_MAX], cache[PATH_MAX], key[128];
	int rc;

	if (lbx_asset(ASSET_BUILD_KERNEL, script, sizeof(script), err, errsz) < 0)
		return -ENOENT;
	if (cache_dir(cache, sizeof(cache)) < 0) {
		snprintf(err, errsz,
			 "no cache directory for the guest kernel: set HOME or "
			 "LBX_CACHE_DIR");
		return -ENOENT;
	}
	rc = run_script(script, "--print-key", true, key, sizeof(key));
	/* A hash, after "arm64-" for the arm64 kernel: a plain directory name. */
	if (rc != 0 || !key[0] || key[0] == '-' ||
	    strspn(key, "0123456789abcdefghijklmnopqrstuvwxyz-") != strlen(key)) {
		snprintf(err, errsz,
			 "cannot work out the guest kernel's cache key (%s --print-key "
			 "exited with status %d; is linux-source-6.12 installed? 'make "
			 "setup' installs it)",
			 script, rc);
		return -EIO;
	}
	if (snprintf(dir, sz, "%s/kernel/%s", cache, key) >= (int)sz)
		return -ENAMETOOLONG;
	return 0;
}

static int kernel_path(char *buf, size_t sz, char *err, size_t errsz)
{
	const char *env = getenv("LBX_KERNEL_DIR");
	char dir[PATH_MAX];
	int rc;

	if (env && env[0]) {
		snprintf(dir, sizeof(dir), "%s", env);
	} else if ((rc = kernel_cache_dir(dir, sizeof(dir), err, errsz)) < 0) {
		return rc;
	}
	if (box_path(dir, lbx_arch_kernel_file(lbx_arch()), buf, sz) == 0 && access(buf, R_OK) == 0)
		return 0;
	snprintf(err, errsz,
		 "the guest kernel is not built (no %s): 'lbx up' builds it on first "
		 "use, or run 'make %s'%s",
		 buf, lbx_arch() == LBX_ARCH_ARM64 ? "kernel-arm64" : "kernel",
		 env && env[0] ? " (or fix LBX_KERNEL_DIR)" : "");
	return -ENOENT;
}

int lbx_asset(enum lbx_asset a, char *buf, size_t sz, char *err, size_t errsz)
{
	char base[PATH_MAX];
	int rc;

	if (a == ASSET_KERNEL)
		return kernel_path(buf, sz, err, errsz);
	rc = asset_path(a, buf, sz);
	if (rc == 0 && access(buf, R_OK) == 0)
		return 0;
	if (rc == 0)
		snprintf(err, errsz,
			 "%s not found at %s (lbx runs from: %s): build it with 'make'%s",
			 assets[a].what, buf, lbx_asset_layout(base, sizeof(base)),
			 find_layout(base, sizeof(base)) == LAYOUT_INSTALLED ? " and 'make install'"
									     : "");
	else
		snprintf(err, errsz,
			 "%s not found: lbx runs neither from a build tree nor from an "
			 "installed prefix (set LBX_LIBEXEC_DIR)",
			 assets[a].what);
	return -ENOENT;
}

int lbx_asset_ensure_kernel(char *err, size_t errsz)
{
	char vmlinux[PATH_MAX], script[PATH_MAX], dir[PATH_MAX];
	int rc;

	if (kernel_path(vmlinux, sizeof(vmlinux), err, errsz) == 0) {
		if (!getenv("LBX_KERNEL_DIR")) {
			char *slash = strrchr(vmlinux, '/');

			*slash = '\0';
			setenv("LBX_KERNEL_DIR", vmlinux, 1);
		}
		return 0;
	}
	if (getenv("LBX_KERNEL_DIR") && getenv("LBX_KERNEL_DIR")[0])
		return -ENOENT; /* the user named one; do not build another behind their back */
	if (lbx_asset(ASSET_BUILD_KERNEL, script, sizeof(script), err, errsz) < 0)
		return -ENOENT;
	fprintf(stderr, "lbx: building the guest kernel into your cache (once; about 3 minutes on "
			"2 cores; progress below)\n");
	rc = run_script(script, NULL, false, dir, sizeof(dir));
	if (rc != 0 || dir[0] != '/') {
		snprintf(err, errsz,
			 "the guest kernel could not be built (%s exited with status %d; "
			 "see the lines above)",
			 script, rc);
		return -EIO;
	}
	if (box_path(dir, lbx_arch_kernel_file(lbx_arch()), vmlinux, sizeof(vmlinux)) < 0 ||
	    access(vmlinux, R_OK) < 0) {
		snprintf(err, errsz, "the guest kernel build reported %s, which has no %s", dir,
			 lbx_arch_kernel_file(lbx_arch()));
		return -EIO;
	}
	setenv("LBX_KERNEL_DIR", dir, 1);
	return 0;
}
