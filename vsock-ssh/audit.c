/* SPDX-License-Identifier: MIT */
#include "audit.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

int sshp_audit_open(struct sshp_audit *a, const char *path, const char *box)
{
	a->fd = -1;
	snprintf(a->box, sizeof(a->box), "%s", box ? box : "");
	if (!path)
		return 0;
	if (!strcmp(path, "-")) {
		a->fd = STDOUT_FILENO;
		return 0;
	}
	a->fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	return a->fd < 0 ? -errno : 0;
}

void sshp_audit_close(struct sshp_audit *a)
{
	if (a->fd > STDERR_FILENO)
		close(a->fd);
	a->fd = -1;
}

struct sshp_audit_event sshp_audit_event(unsigned conn, const char *event, const char *decision)
{
	return (struct sshp_audit_event){
		.conn = conn, .event = event, .decision = decision, .given = -1, .held = -1
	};
}

static void add(cJSON *o, const char *name, const char *value)
{
	char esc[1024];

	if (!value || !*value)
		return;
	lbx_log_escape(esc, sizeof(esc), value, strlen(value));
	cJSON_AddStringToObject(o, name, esc);
}

static void add_time(cJSON *o)
{
	struct timespec ts;
	struct tm tm;
	char buf[64];

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	snprintf(buf, sizeof(buf), "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ", tm.tm_year + 1900,
		 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000);
	cJSON_AddStringToObject(o, "time", buf);
}

static void write_line(int fd, const char *s)
{
	size_t len = strlen(s), off = 0;

	while (off < len) {
		ssize_t n = write(fd, s + off, len - off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			lbx_warn("audit log write failed: %s", strerror(errno));
			return;
		}
		off += (size_t)n;
	}
}

void sshp_audit_log(struct sshp_audit *a, const struct sshp_audit_event *e)
{
	cJSON *o;
	char *s, *line;

	if (a->fd < 0)
		return;
	o = cJSON_CreateObject();
	if (!o)
		return;
	add_time(o);
	add(o, "box", a->box);
	cJSON_AddNumberToObject(o, "conn", e->conn);
	add(o, "event", e->event);
	add(o, "decision", e->decision);
	add(o, "request", e->request);
	add(o, "key", e->key);
	add(o, "comment", e->comment);
	add(o, "user", e->user);
	add(o, "host", e->host);
	add(o, "hostkey", e->hostkey);
	add(o, "namespace", e->ns);
	if (e->given >= 0)
		cJSON_AddNumberToObject(o, "given", e->given);
	if (e->held >= 0)
		cJSON_AddNumberToObject(o, "held", e->held);
	add(o, "reason", e->reason);
	s = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	if (!s)
		return;
	/* One write per line so concurrent writers to the same file interleave whole lines. */
	line = malloc(strlen(s) + 2);
	if (line) {
		sprintf(line, "%s\n", s);
		write_line(a->fd, line);
		free(line);
	}
	cJSON_free(s);
}
