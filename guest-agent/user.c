/* SPDX-License-Identifier: MIT */
/*
 * The box user: the host user's uid, gid and name, with a home directory,
 * so files the guest writes into the project belong to the host user.
 * Entries are added to the image's /etc/passwd and /etc/group only when
 * missing; the image's own accounts are left alone.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent.h"
#include "log.h"
#include "reader.h"

/* Does FILE have a line whose first field is name or whose third is id? */
static bool has_entry(const char *file, const char *name, unsigned id)
{
	char line[1024];
	FILE *f = fopen(file, "re");
	bool found = false;

	if (!f)
		return false;
	while (!found && fgets(line, sizeof(line), f)) {
		char *save = NULL, *field = strtok_r(line, ":", &save);
		char *idf;

		if (!field)
			continue;
		if (!strcmp(field, name))
			found = true;
		strtok_r(NULL, ":", &save);
		idf = strtok_r(NULL, ":", &save);
		if (idf && strtoul(idf, NULL, 10) == id)
			found = true;
	}
	fclose(f);
	return found;
}

static int append_line(const char *file, const char *line)
{
	int fd = open(file, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644), rc = 0;

	if (fd < 0)
		return -errno;
	if (write(fd, line, strlen(line)) != (ssize_t)strlen(line))
		rc = -EIO;
	close(fd);
	return rc;
}

static int ensure_dirs(const char *path, mode_t mode)
{
	char buf[4096];

	if (snprintf(buf, sizeof(buf), "%s", path) >= (int)sizeof(buf))
		return -ENAMETOOLONG;
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, 0755) < 0 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(buf, mode) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

int agent_setup_user(const struct agent_config *cfg, char *err, size_t errsz)
{
	const char *home = cfg->home ? cfg->home : "/root";
	char line[600];
	int rc;

	mkdir("/etc", 0755);
	if (!has_entry("/etc/passwd", "root", 0))
		append_line("/etc/passwd", "root:x:0:0:root:/root:/bin/sh\n");
	if (!has_entry("/etc/group", "root", 0))
		append_line("/etc/group", "root:x:0:\n");
	if (cfg->uid == 0)
		return 0;
	snprintf(line, sizeof(line), "%s:x:%u:%u:%s:%s:/bin/sh\n", cfg->user, cfg->uid, cfg->gid,
		 cfg->user, home);
	if (!has_entry("/etc/passwd", cfg->user, cfg->uid) &&
	    (rc = append_line("/etc/passwd", line)) < 0) {
		snprintf(err, errsz, "cannot add user %s to /etc/passwd: %s", cfg->user,
			 strerror(-rc));
		return rc;
	}
	snprintf(line, sizeof(line), "%s:x:%u:\n", cfg->user, cfg->gid);
	if (!has_entry("/etc/group", cfg->user, cfg->gid))
		append_line("/etc/group", line);
	rc = ensure_dirs(home, 0700);
	if (rc < 0 || chown(home, cfg->uid, cfg->gid) < 0) {
		snprintf(err, errsz, "cannot create home %s: %s", home,
			 strerror(rc < 0 ? -rc : errno));
		return rc < 0 ? rc : -errno;
	}
	return 0;
}

int agent_mount_shares(const struct agent_config *cfg, char *err, size_t errsz)
{
	for (int i = 0; i < cfg->nmounts; i++) {
		const struct agent_mount *m = &cfg->mounts[i];
		unsigned long flags = MS_NOSUID | MS_NODEV | (m->read_only ? MS_RDONLY : 0);
		int rc = ensure_dirs(m->path, 0755);

		if (rc < 0) {
			snprintf(err, errsz, "mkdir %s: %s", m->path, strerror(-rc));
			return rc;
		}
		if (mount(m->tag, m->path, "virtiofs", flags, NULL) < 0) {
			snprintf(err, errsz, "mount virtio-fs '%s' on %s: %s", m->tag, m->path,
				 strerror(errno));
			return -errno;
		}
	}
	return 0;
}

/*
 * The login shell /etc/passwd gives uid, if it is an executable absolute
 * path; else /bin/sh. The file belongs to the box (root sessions may write
 * it), so it is read through the bounded reader, a line at a time.
 */
void agent_login_shell(unsigned uid, char *shell, size_t sz)
{
	char line[1024];
	FILE *f = fopen("/etc/passwd", "re");

	snprintf(shell, sz, "/bin/sh");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		struct lbx_reader r;
		const char *field[7];
		size_t len[7], n = 0;
		const uint8_t *p;
		size_t left;

		lbx_reader_init(&r, line, strcspn(line, "\n"));
		/* name:passwd:uid:gid:gecos:home:shell */
		while (n < 7 && lbx_read_rest(&r, &p, &left) == 0) {
			const char *colon = memchr(p, ':', left);
			size_t flen = colon ? (size_t)(colon - (const char *)p) : left;

			lbx_reader_init(&r, colon ? colon + 1 : (const char *)p + left,
					colon ? left - flen - 1 : 0);
			field[n] = (const char *)p;
			len[n++] = flen;
			if (!colon)
				break;
		}
		if (n != 7 || len[2] == 0 || len[2] > 10 || strtoul(field[2], NULL, 10) != uid ||
		    len[6] == 0 || len[6] >= sz || field[6][0] != '/')
			continue;
		memcpy(shell, field[6], len[6]);
		shell[len[6]] = '\0';
		if (access(shell, X_OK) < 0)
			snprintf(shell, sz, "/bin/sh");
		break;
	}
	fclose(f);
}
