/* SPDX-License-Identifier: MIT */
/*
 * Engine qemu: QEMU's microvm with the box kernel and initramfs, wired to
 * our vhost-user backends. The flags are the ones TESTING.md found to
 * work: modern virtio-mmio (vhost-user backends refuse legacy), no ACPI
 * (the kernel has none, and microvm then lists devices on the command
 * line), guest RAM in a shared memfd the backends can map, and reboot=t
 * with -no-reboot so the agent's power-off ends QEMU.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "box.h"
#include "compiler.h"
#include "supervisor.h"

struct argv_buf {
	char **v;
	size_t n, cap;
	bool oom;
};

static void add(struct argv_buf *a, const char *fmt, ...) LBX_PRINTF(2, 3);
static void add(struct argv_buf *a, const char *fmt, ...)
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

/* The kernel command line: console, power-off, and what the agent needs. */
static char *kernel_cmdline(const struct supervisor_opts *o)
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
	fprintf(f, "console=ttyS0 reboot=t panic=-1 quiet lbx.hostname=%s", c->name);
	fprintf(f, " lbx.serve=%d lbx.notify=%d", LBX_AGENT_EXEC_PORT, LBX_AGENT_READY_PORT);
	quote(home, q, sizeof(q));
	fprintf(f, " lbx.uid=%u lbx.gid=%u lbx.user=%s lbx.home=%s", (unsigned)getuid(),
		(unsigned)getgid(), user, q);
	if (!c->root_sessions)
		fprintf(f, " lbx.root=0");
	if (c->ssh_policy)
		fprintf(f, " lbx.ssh=%d", LBX_SSH_PORT);
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

static void add_fs(struct argv_buf *a, const char *runtime, const char *tag, unsigned idx)
{
	add(a, "-chardev");
	add(a, "socket,id=fs%u,path=%s/fs-%s.sock", idx, runtime, tag);
	add(a, "-device");
	add(a, "vhost-user-fs-device,chardev=fs%u,tag=%s", idx, tag);
}

char **engine_qemu_argv(const struct supervisor_opts *o, const char *kernel, const char *initrd,
			const char *console_log, char *err, size_t errsz)
{
	const struct box_config *c = o->cfg;
	const char *rt = o->paths->runtime;
	struct argv_buf a = { 0 };
	char *cmdline = kernel_cmdline(o);

	if (!cmdline) {
		snprintf(err, errsz, "out of memory");
		return NULL;
	}
	add(&a, "qemu-system-x86_64");
	add(&a, "-M");
	add(&a, "microvm,acpi=off,isa-serial=on,rtc=on,memory-backend=mem");
	add(&a, "-accel");
	add(&a, "tcg");
	add(&a, "-cpu");
	add(&a, "max");
	add(&a, "-smp");
	add(&a, "%u", c->cpus);
	add(&a, "-m");
	add(&a, "%uM", c->memory_mib);
	add(&a, "-object");
	add(&a, "memory-backend-memfd,id=mem,size=%uM,share=on", c->memory_mib);
	add(&a, "-global");
	add(&a, "virtio-mmio.force-legacy=false");
	add(&a, "-nodefaults");
	add(&a, "-no-user-config");
	add(&a, "-display");
	add(&a, "none");
	add(&a, "-no-reboot");
	add(&a, "-chardev");
	add(&a, "file,id=con,path=%s", console_log);
	add(&a, "-serial");
	add(&a, "chardev:con");
	add(&a, "-kernel");
	add(&a, "%s", kernel);
	add(&a, "-initrd");
	add(&a, "%s", initrd);
	add(&a, "-append");
	add(&a, "%s", cmdline);
	add(&a, "-chardev");
	add(&a, "socket,id=vsk,path=%s/vsock-vu.sock", rt);
	add(&a, "-device");
	add(&a, "vhost-user-vsock-device,chardev=vsk");
	add(&a, "-device");
	add(&a, "virtio-rng-device");
	add_fs(&a, rt, "project", 0);
	for (unsigned i = 0; i < c->nmounts; i++) {
		char tag[16];

		snprintf(tag, sizeof(tag), "mount%u", i);
		add_fs(&a, rt, tag, i + 1);
	}
	free(cmdline);
	if (a.oom) {
		engine_argv_free(a.v);
		snprintf(err, errsz, "out of memory");
		return NULL;
	}
	return a.v;
}
