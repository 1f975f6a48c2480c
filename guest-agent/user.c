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

/*
 * One line of /etc/passwd or /etc/group, split at ':'. The files belong to
 * the box (root sessions may write them), so a line is walked with the
 * bounded reader; fields point into it and are not terminated.
 */
#define DB_FIELDS 7 /* name:passwd:uid:gid:gecos:home:shell */

struct db_line {
	const char *field[DB_FIELDS];
	size_t len[DB_FIELDS];
	unsigned n;
};

static void db_split(const char *line, struct db_line *l)
{
	struct lbx_reader r;
	size_t start = 0;
	uint8_t c;

	lbx_reader_init(&r, line, strcspn(line, "\n"));
	l->n = 0;
	for (;;) {
		bool end = lbx_read_u8(&r, &c) < 0;

		if (!end && c != ':')
			continue;
		if (l->n == DB_FIELDS) {
			l->n = 0; /* more fields than either file has: not an entry */
			return;
		}
		l->field[l->n] = line + start;
		l->len[l->n++] = lbx_reader_pos(&r) - start - (end ? 0 : 1);
		if (end)
			return;
		start = lbx_reader_pos(&r);
	}
}

static bool db_field_is(const struct db_line *l, unsigned i, const char *s)
{
	return i < l->n && l->len[i] == strlen(s) && !memcmp(l->field[i], s, l->len[i]);
}

/* Field i is the decimal number id. */
static bool db_field_is_id(const struct db_line *l, unsigned i, unsigned id)
{
	unsigned long v = 0;

	if (i >= l->n || l->len[i] == 0 || l->len[i] > 10)
		return false;
	for (size_t k = 0; k < l->len[i]; k++) {
		if (l->field[i][k] < '0' || l->field[i][k] > '9')
			return false;
		v = v * 10 + (unsigned long)(l->field[i][k] - '0');
	}
	return v == id;
}

/* Does FILE have a line whose first field is name or whose third is id? */
static bool has_entry(const char *file, const char *name, unsigned id)
{
	char line[1024];
	FILE *f = fopen(file, "re");
	bool found = false;
	struct db_line l;

	if (!f)
		return false;
	while (!found && fgets(line, sizeof(line), f)) {
		db_split(line, &l);
		found = db_field_is(&l, 0, name) || db_field_is_id(&l, 2, id);
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

/* The login shell /etc/passwd gives uid, if it is an executable absolute path; else /bin/sh. */
void agent_login_shell(unsigned uid, char *shell, size_t sz)
{
	char line[1024];
	FILE *f = fopen("/etc/passwd", "re");
	struct db_line l;

	snprintf(shell, sz, "/bin/sh");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		db_split(line, &l);
		if (l.n != DB_FIELDS || !db_field_is_id(&l, 2, uid) || l.len[6] == 0 ||
		    l.len[6] >= sz || l.field[6][0] != '/')
			continue;
		memcpy(shell, l.field[6], l.len[6]);
		shell[l.len[6]] = '\0';
		if (access(shell, X_OK) < 0)
			snprintf(shell, sz, "/bin/sh");
		break;
	}
	fclose(f);
}
