/* SPDX-License-Identifier: MIT */
#include "box.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"

static int xdg_dir(const char *env, const char *fallback, char *buf, size_t sz)
{
	const char *v = getenv(env), *home = getenv("HOME");
	int n;

	if (v && v[0] == '/')
		n = snprintf(buf, sz, "%s", v);
	else if (home && home[0] == '/')
		n = snprintf(buf, sz, "%s/%s", home, fallback);
	else
		return -ENOENT;
	return n < 0 || (size_t)n >= sz ? -ENAMETOOLONG : 0;
}

int box_path(const char *dir, const char *file, char *buf, size_t sz)
{
	int n = snprintf(buf, sz, "%s/%s", dir, file);

	return n < 0 || (size_t)n >= sz ? -ENAMETOOLONG : 0;
}

int box_data_root(char *buf, size_t sz)
{
	char base[PATH_MAX];
	int rc = xdg_dir("XDG_DATA_HOME", ".local/share", base, sizeof(base));

	return rc ? rc : box_path(base, "lbx/boxes", buf, sz);
}

int box_config_path(const char *name, char *buf, size_t sz)
{
	char base[PATH_MAX];
	int rc = xdg_dir("XDG_CONFIG_HOME", ".config", base, sizeof(base)), n;

	if (rc)
		return rc;
	n = snprintf(buf, sz, "%s/lbx/boxes/%s.json", base, name);
	return n < 0 || (size_t)n >= sz ? -ENAMETOOLONG : 0;
}

int box_paths_init(struct box_paths *p, const char *name)
{
	char root[PATH_MAX], rt[PATH_MAX];
	int rc;

	if (!lbx_valid_box_name(name))
		return -EINVAL;
	snprintf(p->name, sizeof(p->name), "%s", name);
	rc = lbx_runtime_path(name, "", rt, sizeof(rt));
	if (rc)
		return rc;
	rt[strlen(rt) - 1] = '\0'; /* drop the trailing slash */
	snprintf(p->runtime, sizeof(p->runtime), "%s", rt);
	rc = box_data_root(root, sizeof(root));
	return rc ? rc : box_path(root, name, p->data, sizeof(p->data));
}

pid_t box_running(const struct box_paths *p)
{
	char lock[PATH_MAX + 8], pidbuf[32];
	int fd;
	pid_t pid = 0;

	if (box_path(p->runtime, "lock", lock, sizeof(lock)))
		return 0;
	fd = open(lock, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	/* The supervisor holds an exclusive lock for as long as the box runs. */
	if (flock(fd, LOCK_SH | LOCK_NB) < 0 && errno == EWOULDBLOCK) {
		ssize_t n = pread(fd, pidbuf, sizeof(pidbuf) - 1, 0);

		pidbuf[n > 0 ? n : 0] = '\0';
		pid = (pid_t)strtol(pidbuf, NULL, 10);
		if (pid <= 0)
			pid = -1; /* running, pid not written yet */
	}
	close(fd);
	return pid;
}

int box_mkdirs(const char *path, mode_t mode)
{
	char buf[PATH_MAX];

	if (snprintf(buf, sizeof(buf), "%s", path) >= (int)sizeof(buf))
		return -ENAMETOOLONG;
	for (char *s = buf + 1; *s; s++) {
		if (*s != '/')
			continue;
		*s = '\0';
		if (mkdir(buf, 0700) < 0 && errno != EEXIST)
			return -errno;
		*s = '/';
	}
	if (mkdir(buf, mode) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

int box_write_file(const char *path, const char *text)
{
	char tmp[PATH_MAX + 8];
	size_t n = strlen(text);
	int fd, rc = 0;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp))
		return -ENAMETOOLONG;
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	if (write(fd, text, n) != (ssize_t)n)
		rc = -EIO;
	close(fd);
	if (!rc && rename(tmp, path) < 0)
		rc = -errno;
	if (rc)
		unlink(tmp);
	return rc;
}

ssize_t box_read_file(const char *path, char *buf, size_t sz)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = read(fd, buf, sz - 1);
	close(fd);
	if (n < 0)
		return -errno;
	buf[n] = '\0';
	return n;
}

static int remove_one(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	return (type == FTW_DP ? rmdir(path) : unlink(path)) < 0 ? -1 : 0;
}

int box_remove_tree(const char *path)
{
	if (access(path, F_OK) < 0 && errno == ENOENT)
		return 0;
	/* Depth first, never following links, never leaving the file system. */
	return nftw(path, remove_one, 64, FTW_DEPTH | FTW_PHYS | FTW_MOUNT);
}
