/* SPDX-License-Identifier: MIT */
#include "engine_args.h"

#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void argv_add(struct argv_buf *a, const char *fmt, ...)
{
	va_list ap;
	char *s;

	if (a->oom)
		return;
	if (a->n + 2 > a->cap) {
		size_t cap = a->cap ? a->cap * 2 : 32;
		char **v = realloc(a->v, cap * sizeof(*v));

		if (!v) {
			a->oom = true;
			return;
		}
		a->v = v;
		a->cap = cap;
	}
	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0) {
		a->oom = true;
		s = NULL;
	}
	va_end(ap);
	a->v[a->n++] = s;
	a->v[a->n] = NULL;
}

char **argv_finish(struct argv_buf *a, char *cmdline, char *err, size_t errsz)
{
	free(cmdline);
	if (!a->oom)
		return a->v;
	engine_argv_free(a->v);
	snprintf(err, errsz, "out of memory");
	return NULL;
}

void engine_argv_free(char **argv)
{
	for (size_t i = 0; argv && argv[i]; i++)
		free(argv[i]);
	free(argv);
}

/* %XX-escape what the agent's command line parser decodes (cmdline.h). */
static void quote(const char *s, char *out, size_t sz)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t o = 0;

	for (; *s && o + 4 < sz; s++) {
		unsigned char c = (unsigned char)*s;

		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		    strchr("/_.,=+@-", c)) {
			out[o++] = (char)c;
		} else {
			out[o++] = '%';
			out[o++] = hex[c >> 4];
			out[o++] = hex[c & 15];
		}
	}
	out[o] = '\0';
}

char *engine_kernel_cmdline(const struct supervisor_opts *o, const char *reboot)
{
	const struct box_config *c = o->cfg;
	struct passwd *pw = getpwuid(getuid());
	const char *user = pw ? pw->pw_name : "user";
	const char *home = getuid() == 0 ? "/root" : (pw ? pw->pw_dir : "/home/user");
	char q[8192], *line = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&line, &len);

	if (!f)
		return NULL;
	fprintf(f, "console=ttyS0 reboot=%s panic=-1 quiet lbx.hostname=%s", reboot, c->name);
	fprintf(f, " lbx.serve=%d lbx.notify=%d", LBX_AGENT_EXEC_PORT, LBX_AGENT_READY_PORT);
	quote(home, q, sizeof(q));
	fprintf(f, " lbx.uid=%u lbx.gid=%u lbx.user=%s lbx.home=%s", (unsigned)getuid(),
		(unsigned)getgid(), user, q);
	if (!c->root_sessions)
		fprintf(f, " lbx.root=0");
	if (c->ssh_policy)
		fprintf(f, " lbx.ssh=%d", LBX_SSH_PORT);
	if (!c->net_none)
		fprintf(f, " lbx.net=%s", LBX_GUEST_NET);
	if (!c->elsewhere_readable)
		fprintf(f, " lbx.elsewhere=none");
	for (unsigned i = 0; i < c->nrw; i++) {
		quote(c->rw_paths[i], q, sizeof(q));
		fprintf(f, " lbx.rw=%s", q);
	}
	for (unsigned i = 0; i < c->nro; i++) {
		quote(c->ro_paths[i], q, sizeof(q));
		fprintf(f, " lbx.ro=%s", q);
	}
	fprintf(f, " lbx.rootfs=root");
	quote(c->workdir, q, sizeof(q));
	fprintf(f, " lbx.mount=project:%s", q);
	for (unsigned i = 0; i < c->nmounts; i++) {
		quote(c->mounts[i].guest, q, sizeof(q));
		fprintf(f, " lbx.mount=mount%u:%s%s", i, q, c->mounts[i].read_only ? ":ro" : "");
	}
	for (unsigned i = 0; i < c->nenv; i++) {
		quote(c->env[i], q, sizeof(q));
		fprintf(f, " lbx.env=%s", q);
	}
	fclose(f);
	return line;
}
