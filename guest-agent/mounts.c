/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent.h"

struct basic_mount {
	const char *source, *target, *type;
	unsigned long flags;
	const char *data;
	mode_t mode;
};

/* What every box has before anything else runs. */
static const struct basic_mount basics[] = {
	{ "proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL, 0555 },
	{ "sysfs", "/sys", "sysfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL, 0555 },
	{ "devtmpfs", "/dev", "devtmpfs", MS_NOSUID, "mode=0755", 0755 },
	{ "devpts", "/dev/pts", "devpts", MS_NOSUID | MS_NOEXEC, "gid=5,mode=620,ptmxmode=666",
	  0755 },
	{ "tmpfs", "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777", 01777 },
	{ "tmpfs", "/run", "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755", 0755 },
	{ "tmpfs", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777", 01777 },
};

int agent_mount_basics(char *err, size_t errsz)
{
	for (size_t i = 0; i < LBX_ARRAY_SIZE(basics); i++) {
		const struct basic_mount *m = &basics[i];

		if (mkdir(m->target, m->mode) < 0 && errno != EEXIST) {
			snprintf(err, errsz, "mkdir %s: %s", m->target, strerror(errno));
			return -errno;
		}
		if (mount(m->source, m->target, m->type, m->flags, m->data) < 0 &&
		    errno != EBUSY) {
			snprintf(err, errsz, "mount %s on %s: %s", m->type, m->target,
				 strerror(errno));
			return -errno;
		}
	}
	return 0;
}

/* Mount points the initramfs gave us that carry over into the root tree. */
static const char *const moved[] = { "/dev", "/proc", "/sys", "/run", "/tmp" };

int agent_switch_root(const char *tag, char *err, size_t errsz)
{
	char path[64];

	if (mkdir("/sysroot", 0755) < 0 && errno != EEXIST) {
		snprintf(err, errsz, "mkdir /sysroot: %s", strerror(errno));
		return -errno;
	}
	/*
	 * nosuid: set-id lives in lbx-fsd's ownership xattr, which another
	 * engine could have forged; nodev: a device stand-in in the tree is
	 * no device (the real /dev is devtmpfs, moved in below).
	 */
	if (mount(tag, "/sysroot", "virtiofs", MS_NOSUID | MS_NODEV, NULL) < 0) {
		snprintf(err, errsz, "mount the root tree (virtio-fs '%s'): %s", tag, strerror(errno));
		return -errno;
	}
	/* /dev carries /dev/pts and /dev/shm along. */
	for (size_t i = 0; i < LBX_ARRAY_SIZE(moved); i++) {
		snprintf(path, sizeof(path), "/sysroot%s", moved[i]);
		mkdir(path, 0755);
		if (mount(moved[i], path, NULL, MS_MOVE, NULL) < 0) {
			snprintf(err, errsz, "move %s into the root tree: %s", moved[i],
				 strerror(errno));
			return -errno;
		}
	}
	if (chdir("/sysroot") < 0 || mount(".", "/", NULL, MS_MOVE, NULL) < 0 || chroot(".") < 0 ||
	    chdir("/") < 0) {
		snprintf(err, errsz, "switch into the root tree: %s", strerror(errno));
		return -errno;
	}
	return 0;
}
