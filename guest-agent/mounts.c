/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>

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
