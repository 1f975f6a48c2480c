/* SPDX-License-Identifier: MIT */
/* Start lbx-fsd on a temporary mount for a test, and stop it again. */
#ifndef LBX_FSD_FUSE_MOUNT_H
#define LBX_FSD_FUSE_MOUNT_H

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

struct fm {
	pid_t pid;
	char mnt[512];
};

static bool fm_mounted(const char *mnt)
{
	char line[4096], needle[600];
	FILE *f = fopen("/proc/self/mountinfo", "r");
	bool found = false;

	if (!f)
		return false;
	snprintf(needle, sizeof(needle), " %s ", mnt);
	while (!found && fgets(line, sizeof(line), f))
		found = strstr(line, needle) && strstr(line, "fuse.lbx-fsd");
	fclose(f);
	return found;
}

/*
 * Can this machine mount FUSE at all? Root, /dev/fuse that opens
 * read-write and "fuse" in /proc/filesystems. NULL if so, else why not:
 * then a test skips. Once it can, a mount that fails is lbx-fsd's fault.
 */
static const char *fm_unusable(void)
{
	char line[256];
	bool fs = false;
	FILE *f;
	int fd;

	if (geteuid() != 0)
		return "needs root (to mount FUSE)";
	fd = open("/dev/fuse", O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return "/dev/fuse does not open read-write (no fuse module or device?)";
	close(fd);
	f = fopen("/proc/filesystems", "r");
	while (f && !fs && fgets(line, sizeof(line), f))
		fs = !strcmp(line, "nodev\tfuse\n");
	if (f)
		fclose(f);
	return fs ? NULL : "the kernel lists no fuse file system in /proc/filesystems";
}

/* argv: lbx-fsd and its options; --shared-dir/--fuse-mount are added. 0 or -1. */
static int fm_start(struct fm *m, const char *bin, const char *src, const char *mnt,
		    const char *const *extra)
{
	const char *argv[32];
	int n = 0;

	argv[n++] = bin;
	argv[n++] = "--shared-dir";
	argv[n++] = src;
	argv[n++] = "--fuse-mount";
	argv[n++] = mnt;
	for (; extra && *extra && n < 30; extra++)
		argv[n++] = *extra;
	argv[n] = NULL;
	snprintf(m->mnt, sizeof(m->mnt), "%s", mnt);
	m->pid = fork();
	if (m->pid == 0) {
		execv(bin, (char *const *)argv);
		_exit(127);
	}
	/* The mount exists once mount(2) returned; requests queue until served. */
	for (int i = 0; i < 2000 && !fm_mounted(mnt); i++) {
		int st;

		if (waitpid(m->pid, &st, WNOHANG) == m->pid)
			return -1;
		usleep(5000);
	}
	if (fm_mounted(mnt))
		return 0;
	kill(m->pid, SIGKILL); /* up but never mounted: do not leave it behind */
	waitpid(m->pid, NULL, 0);
	return -1;
}

/* SIGTERM, wait; returns lbx-fsd's exit status (0 expected) and whether it unmounted. */
static int fm_stop(struct fm *m, bool *unmounted)
{
	int st = 0;

	kill(m->pid, SIGTERM);
	waitpid(m->pid, &st, 0);
	*unmounted = !fm_mounted(m->mnt);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

#endif
