/* SPDX-License-Identifier: MIT */
#include "supervisor.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "assets.h"
#include "cli.h"
#include "connect.h"
#include "engine_args.h"
#include "engine_light.h"
#include "evloop.h"
#include "image.h"
#include "exec_proto.h"
#include "log.h"
#include "unixsock.h"

#define SUP_MAX_CHILDREN 24
#define SUP_POWEROFF_WAIT_MS 20000
#define SUP_TERM_WAIT_MS 5000

struct child {
	pid_t pid;
	char role[64];
	char log[PATH_MAX]; /* where its output goes */
	bool exited;
	int status;
};

struct sup {
	const struct supervisor_opts *o;
	struct lbx_loop *loop;
	struct child kids[SUP_MAX_CHILDREN];
	int nkids;
	int engine; /* index in kids, -1 before it starts */
	int notify_fd;
	int ready_fd;
	bool ready;
	char reason[512];
	struct timespec t0;
};

static unsigned elapsed_ms(const struct sup *s)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (unsigned)((now.tv_sec - s->t0.tv_sec) * 1000 +
			  (now.tv_nsec - s->t0.tv_nsec) / 1000000);
}

static void tell_parent(struct sup *s, const char *fmt, ...) LBX_PRINTF(2, 3);
static void tell_parent(struct sup *s, const char *fmt, ...)
{
	char line[600];
	va_list ap;
	int n;

	if (s->notify_fd < 0)
		return;
	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line) - 1, fmt, ap);
	va_end(ap);
	if (n > (int)sizeof(line) - 2)
		n = (int)sizeof(line) - 2;
	line[n++] = '\n';
	if (write(s->notify_fd, line, (size_t)n) < 0) {
		/* `lbx up` went away; the box runs on. */
	}
	close(s->notify_fd);
	s->notify_fd = -1;
}

/* The first failure is the reason the box stopped. */
static void fail(struct sup *s, const char *fmt, ...) LBX_PRINTF(2, 3);
static void fail(struct sup *s, const char *fmt, ...)
{
	va_list ap;

	if (!s->reason[0]) {
		va_start(ap, fmt);
		vsnprintf(s->reason, sizeof(s->reason), fmt, ap);
		va_end(ap);
		lbx_err("box %s: %s", s->o->paths->name, s->reason);
	}
	lbx_loop_stop(s->loop, 1);
}

static int spawn(struct sup *s, const char *role, char *const argv[], const char *log)
{
	struct child *k;
	pid_t pid;

	if (s->nkids >= SUP_MAX_CHILDREN)
		return -ENOSPC;
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		int devnull = open("/dev/null", O_RDONLY);
		int out = open(log, O_WRONLY | O_CREAT | O_APPEND, 0600);
		sigset_t none;

		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		if (devnull < 0 || out < 0 || dup2(devnull, 0) < 0 || dup2(out, 1) < 0 ||
		    dup2(out, 2) < 0)
			_exit(127);
		execvp(argv[0], argv);
		dprintf(2, "lbx: cannot run %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	k = &s->kids[s->nkids++];
	*k = (struct child){ .pid = pid };
	snprintf(k->role, sizeof(k->role), "%s", role);
	snprintf(k->log, sizeof(k->log), "%s", log);
	return s->nkids - 1;
}

/*
 * The last line a child wrote to its log that says "error" (in any case:
 * podman says "Error:"), printable and short, so that an engine failing
 * before the box is ready says why on the user's terminal (the agent's own
 * line, in a container). "" if none.
 */
static void last_error_line(const char *log, char *buf, size_t sz)
{
	char tail[4096];
	int fd = open(log, O_RDONLY | O_CLOEXEC);
	off_t end = fd >= 0 ? lseek(fd, 0, SEEK_END) : -1;
	ssize_t n = -1;
	size_t o = 0;

	buf[0] = '\0';
	if (end >= 0)
		n = pread(fd, tail, sizeof(tail) - 1, end > (off_t)sizeof(tail) - 1
							   ? end - (off_t)sizeof(tail) + 1
							   : 0);
	if (fd >= 0)
		close(fd);
	if (n <= 0)
		return;
	tail[n] = '\0';
	for (char *line = strtok(tail, "\r\n"); line; line = strtok(NULL, "\r\n"))
		if (strcasestr(line, "error")) {
			o = 0;
			for (const char *c = line; *c && o + 1 < sz && o < 240; c++)
				buf[o++] = (*c >= 0x20 && *c < 0x7f) ? *c : '?';
			buf[o] = '\0';
		}
}

static void describe_exit(const struct child *k, char *buf, size_t sz)
{
	if (WIFSIGNALED(k->status))
		snprintf(buf, sz, "%s was killed by signal %d", k->role, WTERMSIG(k->status));
	else
		snprintf(buf, sz, "%s exited with status %d", k->role, WEXITSTATUS(k->status));
}

static void reap(struct sup *s, bool report)
{
	int status;
	pid_t pid;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		for (int i = 0; i < s->nkids; i++) {
			struct child *k = &s->kids[i];
			char what[160];

			if (k->pid != pid)
				continue;
			k->exited = true;
			k->status = status;
			if (!report)
				break;
			describe_exit(k, what, sizeof(what));
			if (i == s->engine && s->ready) {
				fail(s, "the guest stopped (%s)", what);
			} else if (i == s->engine) {
				char line[256];

				last_error_line(k->log, line, sizeof(line));
				fail(s, "%s%s%s", what, line[0] ? ": " : "", line);
			} else {
				fail(s, "%s", what);
			}
		}
	}
}

/* Wait until path exists (a backend's socket), as long as its process lives. */
static int wait_socket(struct sup *s, int idx, const char *path)
{
	struct timespec step = { 0, 10 * 1000000L };

	for (int i = 0; i < 1000; i++) {
		if (access(path, F_OK) == 0)
			return 0;
		reap(s, false);
		if (s->kids[idx].exited) {
			char what[160];

			describe_exit(&s->kids[idx], what, sizeof(what));
			fail(s, "%s before it was ready (see %s/backends.log)", what,
			     s->o->paths->data);
			return -ECHILD;
		}
		nanosleep(&step, NULL);
	}
	fail(s, "%s did not create %s within 10 s", s->kids[idx].role, path);
	return -ETIMEDOUT;
}

static int start_vsockd(struct sup *s, const char *log, char *err, size_t errsz)
{
	char exe[PATH_MAX], vu[PATH_MAX + 32], uds[PATH_MAX + 32];
	int idx;

	if (lbx_asset(ASSET_VSOCKD, exe, sizeof(exe), err, errsz) < 0)
		return -ENOENT;
	box_path(s->o->paths->runtime, "vsock-vu.sock", vu, sizeof(vu));
	box_path(s->o->paths->runtime, "vsock.sock", uds, sizeof(uds));
	char *argv[] = { exe, "--socket", vu, "--uds-path", uds, "--guest-cid", "3", NULL };
	idx = spawn(s, "lbx-vsockd", argv, log);
	return idx < 0 ? idx : wait_socket(s, idx, vu);
}

static int start_fsd(struct sup *s, const char *tag, const char *dir, bool ro,
		     const char *ownership, const char *log, char *err, size_t errsz)
{
	char exe[PATH_MAX], sock[PATH_MAX + 32], file[64], role[64];
	int idx;

	if (lbx_asset(ASSET_FSD, exe, sizeof(exe), err, errsz) < 0)
		return -ENOENT;
	snprintf(file, sizeof(file), "fs-%s.sock", tag);
	box_path(s->o->paths->runtime, file, sock, sizeof(sock));
	snprintf(role, sizeof(role), "lbx-fsd (%s)", tag);
	char *argv[] = { exe,	     "--socket",  sock, "--tag",	 (char *)tag, "--shared-dir",
			 (char *)dir, "--ownership", (char *)ownership, ro ? "--read-only" : NULL, NULL };
	idx = spawn(s, role, argv, log);
	return idx < 0 ? idx : wait_socket(s, idx, sock);
}

/* lbx-netd with the box's network policy (the default one: nat). */
static int start_netd(struct sup *s, const char *log, char *err, size_t errsz)
{
	char exe[PATH_MAX], vu[PATH_MAX + 32], policy[PATH_MAX + 32], control[PATH_MAX + 32];
	int idx, rc;

	if (lbx_asset(ASSET_NETD, exe, sizeof(exe), err, errsz) < 0)
		return -ENOENT;
	bool light = s->o->engine == ENGINE_LIGHT;

	/* A VM's virtio-net device over vhost-user; a container's tap relay over a stream. */
	box_path(s->o->paths->runtime, light ? LIGHT_NET_SOCK : "net-vu.sock", vu, sizeof(vu));
	box_path(s->o->paths->runtime, "netd-control.sock", control, sizeof(control));
	box_path(s->o->paths->data, "net-policy.json", policy, sizeof(policy));
	rc = box_write_file(policy, s->o->cfg->net_policy ? s->o->cfg->net_policy : "{}");
	if (rc < 0) {
		snprintf(err, errsz, "cannot write %s: %s", policy, strerror(-rc));
		return rc;
	}
	char *argv[] = { exe,	 light ? "--stream" : "--socket", vu, "--policy", policy,
			 "--control", control,			    NULL };
	idx = spawn(s, "lbx-netd", argv, log);
	return idx < 0 ? idx : wait_socket(s, idx, vu);
}

/* lbx-ssh-proxy between the box and the user's agent, when the box has an ssh section. */
static int start_ssh_proxy(struct sup *s, const char *log, char *err, size_t errsz)
{
	char exe[PATH_MAX], listen[PATH_MAX + 32], policy[PATH_MAX + 32], audit[PATH_MAX + 32];
	const char *upstream = getenv("SSH_AUTH_SOCK");
	char port[32];
	int idx, rc;

	if (!s->o->cfg->ssh_policy)
		return 0;
	if (!upstream || !upstream[0]) {
		snprintf(err, errsz, "the box's ssh section needs an SSH agent on the host, and "
				     "SSH_AUTH_SOCK is not set");
		return -ENOENT;
	}
	if (lbx_asset(ASSET_SSH_PROXY, exe, sizeof(exe), err, errsz) < 0)
		return -ENOENT;
	snprintf(port, sizeof(port), "vsock.sock_%d", LBX_SSH_PORT);
	box_path(s->o->paths->runtime, s->o->engine == ENGINE_LIGHT ? LIGHT_SSH_SOCK : port, listen,
		 sizeof(listen));
	box_path(s->o->paths->data, "ssh-policy.json", policy, sizeof(policy));
	box_path(s->o->paths->data, "ssh-audit.log", audit, sizeof(audit));
	rc = box_write_file(policy, s->o->cfg->ssh_policy);
	if (rc < 0) {
		snprintf(err, errsz, "cannot write %s: %s", policy, strerror(-rc));
		return rc;
	}
	char *argv[] = { exe,	  "--listen", listen, "--upstream", (char *)upstream, "--policy",
			 policy, "--box",    (char *)s->o->paths->name, "--audit-log", audit, NULL };
	idx = spawn(s, "lbx-ssh-proxy", argv, log);
	return idx < 0 ? idx : wait_socket(s, idx, listen);
}

/*
 * The box's root tree, DATA/root, made from its image the first time the
 * box starts (image.h; `lbx up` has normally made it already, with its
 * progress on the terminal). lbx-fsd serves it with owners kept in
 * xattrs, so files unpacked by this user show as root's in the guest, as
 * in a rootless container.
 */
static int prepare_root(struct sup *s, char *root, size_t sz, char *err, size_t errsz)
{
	box_path(s->o->paths->data, "root", root, sz);
	return image_make_root(s->o->cfg, s->o->paths, false, err, errsz);
}

/* Engine light: podman runs the root tree with lbx-agent as its init (engine_light.h). */
static int start_light(struct sup *s, char *err, size_t errsz)
{
	char agent[PATH_MAX], root[PATH_MAX + 16], console[PATH_MAX + 32];
	char **argv;
	int idx;

	if (lbx_asset(ASSET_AGENT, agent, sizeof(agent), err, errsz) < 0)
		return -ENOENT;
	box_path(s->o->paths->data, "root", root, sizeof(root));
	box_path(s->o->paths->data, "console.log", console, sizeof(console));
	unlink(console);
	argv = engine_light_argv(s->o, agent, root, err, errsz);
	if (!argv)
		return -EINVAL;
	idx = spawn(s, "the engine (podman)", argv, console);
	engine_argv_free(argv);
	if (idx < 0) {
		snprintf(err, errsz, "cannot start podman: %s", strerror(-idx));
		return idx;
	}
	s->engine = idx;
	return 0;
}

static int start_engine(struct sup *s, char *err, size_t errsz)
{
	char kernel[PATH_MAX], initrd[PATH_MAX + 32], console[PATH_MAX + 32], log[PATH_MAX + 32];
	char **argv;
	int idx;

	char vmm[PATH_MAX];
	bool vm = s->o->engine == ENGINE_VM;

	if (s->o->engine == ENGINE_LIGHT)
		return start_light(s, err, errsz);
	if (s->o->engine != ENGINE_QEMU && !vm) {
		snprintf(err, errsz, "engine %s is not available in this version",
			 box_engine_name(s->o->engine));
		return -ENOTSUP;
	}
	if (lbx_asset(ASSET_KERNEL, kernel, sizeof(kernel), err, errsz) < 0 ||
	    (vm && lbx_asset(ASSET_VMM, vmm, sizeof(vmm), err, errsz) < 0) ||
	    lbx_asset(ASSET_INITRAMFS, initrd, sizeof(initrd), err, errsz) < 0)
		return -ENOENT;
	box_path(s->o->paths->data, "console.log", console, sizeof(console));
	box_path(s->o->paths->data, "engine.log", log, sizeof(log));
	unlink(console);
	argv = vm ? engine_vm_argv(s->o, vmm, kernel, initrd, console, err, errsz)
		  : engine_qemu_argv(s->o, kernel, initrd, console, err, errsz);
	if (!argv)
		return -ENOMEM;
	idx = spawn(s, vm ? "the engine (lbx-vmm)" : "the engine (qemu)", argv, log);
	engine_argv_free(argv);
	if (idx < 0) {
		snprintf(err, errsz, "cannot start qemu: %s", strerror(-idx));
		return idx;
	}
	s->engine = idx;
	return 0;
}


static void write_state(struct sup *s)
{
	char path[PATH_MAX + 32], *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	if (!f)
		return;
	fprintf(f, "{\n  \"name\": \"%s\",\n  \"engine\": \"%s\",\n  \"supervisor\": %d,\n",
		s->o->paths->name, box_engine_name(s->o->engine), (int)getpid());
	fprintf(f, "  \"ready_ms\": %u,\n  \"processes\": [", elapsed_ms(s));
	for (int i = 0; i < s->nkids; i++)
		fprintf(f, "%s\n    { \"role\": \"%s\", \"pid\": %d }", i ? "," : "", s->kids[i].role,
			(int)s->kids[i].pid);
	fprintf(f, "\n  ]\n}\n");
	fclose(f);
	box_path(s->o->paths->runtime, "state.json", path, sizeof(path));
	box_write_file(path, text);
	free(text);
}

/* The agent says "READY uptime_ms=N" on host port 1025 once it serves. */
static void on_ready_conn(struct lbx_loop *loop, int fd, uint32_t events, void *data)
{
	struct sup *s = data;
	char line[64];
	ssize_t n = read(fd, line, sizeof(line) - 1);

	lbx_loop_del(loop, fd);
	close(fd);
	if (n <= 0 || strncmp(line, "READY", 5) != 0 || s->ready)
		return;
	s->ready = true;
	write_state(s);
	lbx_info("box %s is ready after %u ms", s->o->paths->name, elapsed_ms(s));
	tell_parent(s, "OK %u", elapsed_ms(s));
}

static void on_ready_accept(struct lbx_loop *loop, int fd, uint32_t events, void *data)
{
	int c = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

	if (c >= 0 && lbx_loop_add(loop, c, EPOLLIN, on_ready_conn, data) < 0)
		close(c);
}

static void on_ready_timeout(struct lbx_loop *loop, int fd, uint32_t events, void *data)
{
	struct sup *s = data;

	lbx_loop_del(loop, fd);
	if (!s->ready)
		fail(s, "the guest did not report ready within %u s; see 'lbx logs %s'",
		     s->o->ready_timeout_s, s->o->paths->name);
}

static bool stop_requested;

static void on_signal(struct lbx_loop *loop, int signo, void *data)
{
	struct sup *s = data;

	if (signo == SIGCHLD) {
		reap(s, true);
		return;
	}
	stop_requested = true;
	lbx_loop_stop(loop, 0);
}

static bool wait_exit(struct sup *s, int idx, unsigned ms)
{
	struct timespec step = { 0, 20 * 1000000L };

	for (unsigned waited = 0; waited < ms; waited += 20) {
		reap(s, false);
		if (s->kids[idx].exited)
			return true;
		nanosleep(&step, NULL);
	}
	return false;
}

/* Ask the agent to power the guest off; give it a while, then force. */
static void stop_engine(struct sup *s)
{
	char uds[PATH_MAX + 32], err[256];
	struct child *k;
	int fd;

	if (s->engine < 0)
		return;
	k = &s->kids[s->engine];
	/*
	 * Only a healthy box is asked to power off: with a backend gone the
	 * guest may block on it (a sync on a dead virtio-fs) until we give up.
	 */
	if (!k->exited && s->ready && stop_requested && !s->reason[0]) {
		box_path(s->o->paths->runtime,
			 s->o->engine == ENGINE_LIGHT ? LIGHT_AGENT_SOCK : "vsock.sock", uds,
			 sizeof(uds));
		fd = s->o->engine == ENGINE_LIGHT
			     ? lbx_unix_connect(uds, 0)
			     : lbx_connect_vsock(uds, LBX_AGENT_EXEC_PORT, err, sizeof(err));
		if (fd >= 0) {
			uint8_t frame[EXEC_HEADER_SIZE] = { 1, 0, 0, 0, EXEC_MSG_POWEROFF };

			if (write(fd, frame, sizeof(frame)) != sizeof(frame))
				lbx_warn("box %s: cannot ask the guest to power off",
					 s->o->paths->name);
			close(fd);
		}
		if (wait_exit(s, s->engine, SUP_POWEROFF_WAIT_MS))
			return;
		lbx_warn("box %s: the guest did not power off in time; stopping it",
			 s->o->paths->name);
	}
	if (!k->exited) {
		kill(k->pid, SIGTERM);
		if (!wait_exit(s, s->engine, SUP_TERM_WAIT_MS)) {
			kill(k->pid, SIGKILL);
			wait_exit(s, s->engine, SUP_TERM_WAIT_MS);
		}
	}
}

static void stop_backends(struct sup *s)
{
	for (int i = 0; i < s->nkids; i++)
		if (i != s->engine && !s->kids[i].exited)
			kill(s->kids[i].pid, SIGTERM);
	for (int i = 0; i < s->nkids; i++) {
		if (i == s->engine || s->kids[i].exited)
			continue;
		if (!wait_exit(s, i, SUP_TERM_WAIT_MS)) {
			kill(s->kids[i].pid, SIGKILL);
			wait_exit(s, i, SUP_TERM_WAIT_MS);
		}
	}
}

/* Remove what the box left in its runtime directory, then the directory. */
static void clean_runtime(const char *dir)
{
	static const char *const files[] = {
		"vsock-vu.sock", "vsock.sock", "vsock.sock_1025", "vsock.sock_1026", "state.json",
		"fs-project.sock", "fs-root.sock", "net-vu.sock", "netd-control.sock",
		LIGHT_AGENT_SOCK, LIGHT_READY_SOCK, LIGHT_SSH_SOCK, LIGHT_NET_SOCK, LIGHT_DIR,
	};
	char path[PATH_MAX + 32];

	for (size_t i = 0; i < LBX_ARRAY_SIZE(files); i++) {
		box_path(dir, files[i], path, sizeof(path));
		if (unlink(path) < 0 && errno == EISDIR)
			rmdir(path);
	}
	for (unsigned i = 0; i < BOX_MAX_MOUNTS; i++) {
		char f[32];

		snprintf(f, sizeof(f), "fs-mount%u.sock", i);
		box_path(dir, f, path, sizeof(path));
		unlink(path);
	}
	box_path(dir, "lock", path, sizeof(path));
	unlink(path);
	rmdir(dir);
}

static int start_all(struct sup *s, char *err, size_t errsz)
{
	const struct box_config *c = s->o->cfg;
	char log[PATH_MAX + 32], ready[PATH_MAX + 32], root[PATH_MAX + 16];
	int rc;

	bool light = s->o->engine == ENGINE_LIGHT;

	box_path(s->o->paths->data, "backends.log", log, sizeof(log));
	box_path(s->o->paths->runtime, light ? LIGHT_DIR : "vsock.sock_1025", ready, sizeof(ready));
	if (light && mkdir(ready, 0700) < 0 && errno != EEXIST) {
		snprintf(err, errsz, "cannot create %s: %s", ready, strerror(errno));
		return -EIO;
	}
	if (light)
		box_path(s->o->paths->runtime, LIGHT_READY_SOCK, ready, sizeof(ready));
	s->ready_fd = lbx_unix_listen(ready, 4, LBX_UNIX_NONBLOCK);
	if (s->ready_fd < 0 || lbx_loop_add(s->loop, s->ready_fd, EPOLLIN, on_ready_accept, s) < 0) {
		snprintf(err, errsz, "cannot listen on %s", ready);
		return -EIO;
	}
	rc = prepare_root(s, root, sizeof(root), err, errsz);
	if (rc == 0 && !light)
		rc = start_vsockd(s, log, err, errsz);
	if (rc == 0 && !light)
		rc = start_fsd(s, "root", root, false, "xattr", log, err, errsz);
	if (rc == 0)
		rc = start_ssh_proxy(s, log, err, errsz);
	if (rc == 0 && !c->net_none)
		rc = start_netd(s, log, err, errsz);
	if (rc == 0 && !light)
		rc = start_fsd(s, "project", c->project, false, "identity", log, err, errsz);
	for (unsigned i = 0; rc == 0 && !light && i < c->nmounts; i++) {
		char tag[16];

		snprintf(tag, sizeof(tag), "mount%u", i);
		rc = start_fsd(s, tag, c->mounts[i].host, c->mounts[i].read_only, "identity", log, err,
			       errsz);
	}
	if (rc == 0)
		rc = start_engine(s, err, errsz);
	if (rc < 0 && !err[0] && s->reason[0])
		snprintf(err, errsz, "%s", s->reason);
	return rc;
}

/* The supervisor proper; runs in the detached grandchild. Never returns. */
static void supervise(const struct supervisor_opts *o, int notify_fd, int lock_fd)
{
	static const int sigs[] = { SIGCHLD, SIGTERM, SIGINT, SIGHUP };
	struct sup s = { .o = o, .engine = -1, .notify_fd = notify_fd, .ready_fd = -1 };
	char err[512] = "", path[PATH_MAX + 32], pid[32];
	int rc;

	clock_gettime(CLOCK_MONOTONIC, &s.t0);
	snprintf(pid, sizeof(pid), "%d\n", (int)getpid());
	if (ftruncate(lock_fd, 0) < 0 || pwrite(lock_fd, pid, strlen(pid), 0) < 0)
		lbx_warn("cannot record the supervisor's pid");
	s.loop = lbx_loop_new();
	if (!s.loop || lbx_loop_add_signals(s.loop, sigs, 4, on_signal, &s) < 0)
		_exit(1);
	rc = start_all(&s, err, sizeof(err));
	if (rc == 0) {
		int t = lbx_loop_add_timer(s.loop, (uint64_t)o->ready_timeout_s * 1000, false,
					   on_ready_timeout, &s);

		if (t < 0)
			fail(&s, "cannot arm the ready timer");
		else
			lbx_loop_run(s.loop);
	} else if (!s.reason[0]) {
		snprintf(s.reason, sizeof(s.reason), "%s", err);
	}
	stop_engine(&s);
	if (o->engine == ENGINE_LIGHT)
		engine_light_remove(o->paths->name);
	stop_backends(&s);
	box_path(o->paths->data, "last-exit", path, sizeof(path));
	snprintf(err, sizeof(err), "%s\n", stop_requested ? "stopped by lbx down" : s.reason);
	box_write_file(path, err);
	tell_parent(&s, "ERR %s", s.reason[0] ? s.reason : "stopped before it was ready");
	clean_runtime(o->paths->runtime);
	_exit(s.reason[0] ? 1 : 0);
}

static int take_lock(const struct box_paths *p, char *err, size_t errsz)
{
	char path[PATH_MAX + 32];
	int fd, rc = box_mkdirs(p->runtime, 0700);

	if (rc == 0)
		rc = box_mkdirs(p->data, 0700);
	if (rc < 0) {
		snprintf(err, errsz, "cannot create the box's directories: %s", strerror(-rc));
		return rc;
	}
	box_path(p->runtime, "lock", path, sizeof(path));
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0) {
		snprintf(err, errsz, "cannot open %s: %s", path, strerror(errno));
		return -errno;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		close(fd);
		snprintf(err, errsz, "box %s is already running", p->name);
		return -EEXIST;
	}
	return fd;
}

int supervisor_start(const struct supervisor_opts *o, unsigned *ready_ms, char *err,
		     size_t errsz)
{
	char line[600], log[PATH_MAX + 32];
	int pipefd[2], lock_fd, status;
	ssize_t n = 0, got;
	pid_t pid;

	lock_fd = take_lock(o->paths, err, errsz);
	if (lock_fd < 0)
		return lock_fd;
	if (pipe2(pipefd, O_CLOEXEC) < 0) {
		close(lock_fd);
		return -errno;
	}
	pid = fork();
	if (pid == 0) {
		/* Detach: a session of its own, then a grandchild nobody waits for. */
		close(pipefd[0]);
		setsid();
		if (fork() != 0)
			_exit(0);
		box_path(o->paths->data, "supervisor.log", log, sizeof(log));
		int out = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
		int in = open("/dev/null", O_RDONLY | O_CLOEXEC);

		if (out >= 0 && in >= 0) {
			dup2(in, 0);
			dup2(out, 1);
			dup2(out, 2);
		}
		lbx_log_init("lbx-supervisor");
		supervise(o, pipefd[1], lock_fd);
	}
	close(pipefd[1]);
	close(lock_fd);
	if (pid < 0) {
		close(pipefd[0]);
		return -errno;
	}
	waitpid(pid, &status, 0);
	while (n < (ssize_t)sizeof(line) - 1 &&
	       (got = read(pipefd[0], line + n, sizeof(line) - 1 - (size_t)n)) > 0)
		n += got;
	close(pipefd[0]);
	line[n] = '\0';
	line[strcspn(line, "\n")] = '\0';
	if (!strncmp(line, "OK ", 3)) {
		*ready_ms = (unsigned)strtoul(line + 3, NULL, 10);
		return 0;
	}
	snprintf(err, errsz, "%s", !strncmp(line, "ERR ", 4) ? line + 4
							     : "the supervisor died during start-up");
	return -EIO;
}
