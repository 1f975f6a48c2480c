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
#include "clock.h"
#include "connect.h"
#include "engine_args.h"
#include "engine_libvirt.h"
#include "engine_light.h"
#include "manifest.h"
#include "evloop.h"
#include "image.h"
#include "exec_proto.h"
#include "log.h"
#include "unixsock.h"

#include <cjson/cJSON.h>

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
	const struct box_manifest *m;
	struct lbx_loop *loop;
	struct child kids[SUP_MAX_CHILDREN];
	int nkids;
	int engine; /* index in kids, -1 before it starts */
	int notify_fd;
	int ready_fd;
	int ready_pending; /* accepted READY connections not yet answered */
	bool ready;
	pid_t agent_pid; /* engine light: the agent's process, from its READY connection */
	char reason[512];
	uint64_t t0; /* lbx_now_ms() at start */
};

static unsigned elapsed_ms(const struct sup *s)
{
	return (unsigned)(lbx_now_ms() - s->t0);
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

/* A child of ours (pid), watched from now on; its index in kids. */
static int adopt(struct sup *s, const char *role, pid_t pid, const char *log)
{
	struct child *k = &s->kids[s->nkids++];

	*k = (struct child){ .pid = pid };
	snprintf(k->role, sizeof(k->role), "%s", role);
	snprintf(k->log, sizeof(k->log), "%s", log);
	return s->nkids - 1;
}

static int spawn(struct sup *s, const char *role, char *const argv[], const char *log)
{
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
	return adopt(s, role, pid, log);
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

static bool wait_exit(struct sup *s, int idx, unsigned ms);

/*
 * Engine libvirt, once ready: the engine process says what libvirt
 * reported (engine_libvirt.c). A guest that goes takes its vhost-user
 * backends with it, and libvirt's event comes after their exit: a backend
 * leaving waits a moment for the engine's word, which is the reason.
 */
#define SUP_LIBVIRT_GRACE_MS 3000

static bool libvirt_stopped(struct sup *s, int i)
{
	struct child *k = &s->kids[s->engine];
	char what[160], line[256];

	if (s->engine < 0 || (i != s->engine && !wait_exit(s, s->engine, SUP_LIBVIRT_GRACE_MS)))
		return false;
	describe_exit(k, what, sizeof(what));
	last_error_line(k->log, line, sizeof(line));
	fail(s, "the guest stopped (%s%s%s)", what, line[0] ? ": " : "", line);
	return true;
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
			if (s->o->engine == ENGINE_LIBVIRT && s->ready && libvirt_stopped(s, i)) {
				/* Said there. */
			} else if (i == s->engine && s->ready) {
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

/* One backend of the manifest: its policy file, then the program, then its socket. */
static int start_device(struct sup *s, const struct mf_device *d, const char *log, char *err,
			size_t errsz)
{
	struct argv_buf a = { 0 };
	char exe[PATH_MAX], **argv;
	int idx, rc;

	if (lbx_asset(manifest_program(d), exe, sizeof(exe), err, errsz) < 0)
		return -ENOENT;
	if (d->policy_text && (rc = box_write_file(d->policy, d->policy_text)) < 0) {
		snprintf(err, errsz, "cannot write %s: %s", d->policy, strerror(-rc));
		return rc;
	}
	manifest_backend_argv(d, exe, &a);
	argv = argv_finish(&a, NULL, err, errsz);
	if (!argv)
		return -ENOMEM;
	idx = spawn(s, d->role, argv, log);
	engine_argv_free(argv);
	return idx < 0 ? idx : wait_socket(s, idx, d->socket);
}

/*
 * The box's root tree, DATA/root, made from its image the first time the
 * box starts (image.h; `lbx up` has normally made it already, with its
 * progress on the terminal). lbx-fsd serves it with owners kept in
 * xattrs, so files unpacked by this user show as root's in the guest, as
 * in a rootless container.
 */
/* Engine light: podman runs the root tree with lbx-agent as its init (engine_light.h). */
static int start_light(struct sup *s, char *err, size_t errsz)
{
	char agent[PATH_MAX], console[PATH_MAX + 32];
	char **argv;
	int idx;

	if (lbx_asset(ASSET_AGENT, agent, sizeof(agent), err, errsz) < 0)
		return -ENOENT;
	box_path(s->o->paths->data, "console.log", console, sizeof(console));
	unlink(console);
	argv = engine_light_argv(s->m, agent, err, errsz);
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

/* Engine libvirt: the domain's XML (kept in DATA/libvirt.xml), then the engine process. */
static int start_libvirt(struct sup *s, const char *kernel, const char *initrd, const char *console,
			 const char *log, char *err, size_t errsz)
{
	const char *uri = s->o->libvirt_uri ? s->o->libvirt_uri : LBX_LIBVIRT_DEFAULT_URI;
	char *xml = engine_libvirt_xml(s->m, uri, kernel, initrd, console, err, errsz);
	char domain[BOX_NAME_MAX + 8], file[PATH_MAX + 32];
	pid_t pid;

	if (!xml)
		return -ENOMEM;
	box_path(s->o->paths->data, "libvirt.xml", file, sizeof(file));
	box_write_file(file, xml);
	engine_libvirt_domain(s->o->paths->name, domain, sizeof(domain));
	pid = s->nkids < SUP_MAX_CHILDREN ? engine_libvirt_start(uri, domain, xml, log) : -ENOSPC;
	free(xml);
	if (pid < 0) {
		snprintf(err, errsz, "cannot start the engine: %s", strerror((int)-pid));
		return (int)pid;
	}
	s->engine = adopt(s, "the engine (libvirt)", pid, log);
	return 0;
}

static int start_engine(struct sup *s, char *err, size_t errsz)
{
	char kernel[PATH_MAX], initrd[PATH_MAX + 32], console[PATH_MAX + 32], log[PATH_MAX + 32];
	char vmm[PATH_MAX], **argv;
	bool vm = s->o->engine == ENGINE_VM;
	int idx;

	if (s->o->engine == ENGINE_LIGHT)
		return start_light(s, err, errsz);
	if (lbx_asset(ASSET_KERNEL, kernel, sizeof(kernel), err, errsz) < 0 ||
	    (vm && lbx_asset(ASSET_VMM, vmm, sizeof(vmm), err, errsz) < 0) ||
	    lbx_asset(ASSET_INITRAMFS, initrd, sizeof(initrd), err, errsz) < 0)
		return -ENOENT;
	box_path(s->o->paths->data, "console.log", console, sizeof(console));
	box_path(s->o->paths->data, "engine.log", log, sizeof(log));
	unlink(console);
	if (s->o->engine == ENGINE_LIBVIRT)
		return start_libvirt(s, kernel, initrd, console, log, err, errsz);
	argv = vm ? engine_vm_argv(s->m, vmm, kernel, initrd, console, err, errsz)
		  : engine_qemu_argv(s->m, kernel, initrd, console, err, errsz);
	if (!argv)
		return -ENOMEM;
	idx = spawn(s, vm ? "the engine (lbx-vmm)" : "the engine (qemu)", argv, log);
	engine_argv_free(argv);
	if (idx < 0) {
		snprintf(err, errsz, "cannot start the engine: %s", strerror(-idx));
		return idx;
	}
	s->engine = idx;
	return 0;
}

static void write_state(struct sup *s)
{
	char path[PATH_MAX + 32], *text = NULL;
	cJSON *st = cJSON_CreateObject(), *procs = cJSON_CreateArray();

	if (st && procs) {
		cJSON_AddStringToObject(st, "name", s->o->paths->name);
		cJSON_AddStringToObject(st, "engine", box_engine_name(s->o->engine));
		cJSON_AddNumberToObject(st, "supervisor", (double)getpid());
		cJSON_AddNumberToObject(st, "ready_ms", elapsed_ms(s));
		if (s->agent_pid > 0)
			cJSON_AddNumberToObject(st, "agent_pid", (double)s->agent_pid);
		if (s->o->engine == ENGINE_LIBVIRT) {
			char domain[BOX_NAME_MAX + 8];
			cJSON *lv = cJSON_AddObjectToObject(st, "libvirt");

			engine_libvirt_domain(s->o->paths->name, domain, sizeof(domain));
			cJSON_AddStringToObject(lv, "uri",
						s->o->libvirt_uri ? s->o->libvirt_uri
								  : LBX_LIBVIRT_DEFAULT_URI);
			cJSON_AddStringToObject(lv, "domain", domain);
		}
		for (int i = 0; i < s->nkids; i++) {
			cJSON *k = cJSON_CreateObject();

			cJSON_AddStringToObject(k, "role", s->kids[i].role);
			cJSON_AddNumberToObject(k, "pid", (double)s->kids[i].pid);
			cJSON_AddItemToArray(procs, k);
		}
		cJSON_AddItemToObject(st, "processes", procs);
		procs = NULL;
		text = cJSON_Print(st);
	}
	cJSON_Delete(procs);
	cJSON_Delete(st);
	if (!text) {
		lbx_warn("box %s: out of memory writing its state", s->o->paths->name);
		return;
	}
	box_path(s->o->paths->runtime, MF_STATE, path, sizeof(path));
	box_write_file(path, text);
	free(text);
}

/*
 * The ready channel takes one READY and then closes (the socket goes, so
 * lbx-vsockd refuses later guest connections at once): it cannot be used
 * to hold host resources. Before that, at most SUP_READY_PENDING
 * connections wait for their line, and at EMFILE accepting pauses for a
 * moment rather than spinning on a level-triggered listener.
 */
#define SUP_READY_PENDING 4
#define SUP_ACCEPT_BACKOFF_MS 200

static void on_ready_accept(struct lbx_loop *loop, int fd, uint32_t events, void *data);

static void close_ready_listener(struct sup *s)
{
	if (s->ready_fd < 0)
		return;
	lbx_loop_del(s->loop, s->ready_fd);
	close(s->ready_fd);
	s->ready_fd = -1;
	unlink(s->m->ready);
}

/* The peer's pid in our namespace: the agent's process, for engine light's checks. */
static pid_t peer_pid(int fd)
{
	struct ucred peer;
	socklen_t len = sizeof(peer);

	return getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &peer, &len) < 0 ? 0 : peer.pid;
}

static void on_ready_conn(struct lbx_loop *loop, int fd, uint32_t events, void *data)
{
	struct sup *s = data;
	char line[64];
	ssize_t n = read(fd, line, sizeof(line) - 1);
	pid_t pid = peer_pid(fd);

	if (n < 0 && errno == EAGAIN)
		return;
	lbx_loop_del(loop, fd);
	close(fd);
	s->ready_pending--;
	if (n <= 0 || strncmp(line, "READY", 5) != 0 || s->ready)
		return;
	s->ready = true;
	if (s->o->engine == ENGINE_LIGHT)
		s->agent_pid = pid;
	close_ready_listener(s);
	write_state(s);
	lbx_info("box %s is ready after %u ms", s->o->paths->name, elapsed_ms(s));
	tell_parent(s, "OK %u", elapsed_ms(s));
}

static void on_accept_resume(struct lbx_loop *loop, int fd, uint32_t events, void *data)
{
	struct sup *s = data;

	lbx_loop_del(loop, fd);
	if (s->ready_fd >= 0 && lbx_loop_add(loop, s->ready_fd, EPOLLIN, on_ready_accept, s) < 0)
		fail(s, "cannot listen for the guest's READY again");
}

static void on_ready_accept(struct lbx_loop *loop, int fd, uint32_t events, void *data)
{
	struct sup *s = data;
	int c = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

	if (c < 0 && (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM)) {
		lbx_warn("box %s: cannot accept on the ready channel (%s); pausing it",
			 s->o->paths->name, strerror(errno));
		lbx_loop_del(loop, fd);
		if (lbx_loop_add_timer(loop, SUP_ACCEPT_BACKOFF_MS, false, on_accept_resume, s) < 0)
			fail(s, "cannot arm the ready channel's back-off timer");
		return;
	}
	if (c < 0)
		return;
	if (s->ready_pending >= SUP_READY_PENDING ||
	    lbx_loop_add(loop, c, EPOLLIN, on_ready_conn, data) < 0) {
		close(c);
		return;
	}
	s->ready_pending++;
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
		uint8_t buf[EXEC_HEADER_SIZE];
		struct lbx_writer w;

		if (s->o->engine == ENGINE_LIGHT) {
			box_path(s->o->paths->runtime, MF_LIGHT_AGENT_SOCK, uds, sizeof(uds));
			fd = engine_light_connect_agent(uds, s->agent_pid, err, sizeof(err));
		} else {
			box_path(s->o->paths->runtime, MF_VSOCK_UDS, uds, sizeof(uds));
			fd = lbx_connect_vsock(uds, LBX_AGENT_EXEC_PORT, err, sizeof(err));
		}
		lbx_writer_init_fixed(&w, buf, sizeof(buf));
		if (fd < 0)
			lbx_warn("box %s: %s", s->o->paths->name, err);
		else if (exec_frame_write(&w, EXEC_MSG_POWEROFF, NULL, 0) < 0 ||
			 write(fd, lbx_writer_data(&w), lbx_writer_len(&w)) !=
				 (ssize_t)lbx_writer_len(&w))
			lbx_warn("box %s: cannot ask the guest to power off", s->o->paths->name);
		if (fd >= 0)
			close(fd);
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

/* Remove what the manifest says the box makes in its runtime directory, then the directory. */
static void clean_runtime(const struct box_manifest *m)
{
	char path[PATH_MAX + 64];

	for (unsigned i = 0; i < m->nfiles; i++) {
		box_path(m->paths->runtime, m->files[i], path, sizeof(path));
		if (unlink(path) < 0 && errno == EISDIR)
			rmdir(path);
	}
	box_path(m->paths->runtime, "lock", path, sizeof(path));
	unlink(path);
	rmdir(m->paths->runtime);
}

static int listen_ready(struct sup *s, char *err, size_t errsz)
{
	char dir[PATH_MAX + 16];

	if (s->o->engine == ENGINE_LIGHT) {
		box_path(s->o->paths->runtime, MF_LIGHT_DIR, dir, sizeof(dir));
		if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
			snprintf(err, errsz, "cannot create %s: %s", dir, strerror(errno));
			return -EIO;
		}
	}
	s->ready_fd = lbx_unix_listen(s->m->ready, SUP_READY_PENDING, LBX_UNIX_NONBLOCK);
	if (s->ready_fd < 0 || lbx_loop_add(s->loop, s->ready_fd, EPOLLIN, on_ready_accept, s) < 0) {
		snprintf(err, errsz, "cannot listen on %s", s->m->ready);
		return -EIO;
	}
	return 0;
}

/* The manifest's backends in its order, then the engine. */
static int start_all(struct sup *s, char *err, size_t errsz)
{
	char log[PATH_MAX + 32];
	int rc;

	box_path(s->o->paths->data, "backends.log", log, sizeof(log));
	rc = listen_ready(s, err, errsz);
	/*
	 * The box's root tree, DATA/root, made from its image the first time
	 * the box starts (image.h; `lbx up` has normally made it already, with
	 * its progress on the terminal).
	 */
	if (rc == 0)
		rc = image_make_root(s->o->cfg, s->o->paths, false, err, errsz);
	for (unsigned i = 0; rc == 0 && i < s->m->ndev; i++)
		if (s->m->dev[i].spawn)
			rc = start_device(s, &s->m->dev[i], log, err, errsz);
	if (rc == 0)
		rc = start_engine(s, err, errsz);
	if (rc < 0 && !err[0] && s->reason[0])
		snprintf(err, errsz, "%s", s->reason);
	return rc;
}

/* The supervisor proper; runs in the detached grandchild. Never returns. */
static void supervise(const struct supervisor_opts *o, const struct box_manifest *m,
		      int notify_fd, int lock_fd)
{
	static const int sigs[] = { SIGCHLD, SIGTERM, SIGINT, SIGHUP };
	struct sup s = { .o = o, .m = m, .engine = -1, .notify_fd = notify_fd, .ready_fd = -1 };
	char err[512] = "", path[PATH_MAX + 32], pid[32];
	int rc;

	s.t0 = lbx_now_ms();
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
	clean_runtime(m);
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
	int pipefd[2], lock_fd, status, rc;
	struct box_manifest m;
	ssize_t n = 0, got;
	pid_t pid;

	rc = manifest_build(&m, o->cfg, o->paths, o->engine, err, errsz);
	if (rc < 0)
		return rc;
	lock_fd = take_lock(o->paths, err, errsz);
	if (lock_fd < 0) {
		manifest_free(&m);
		return lock_fd;
	}
	if (pipe2(pipefd, O_CLOEXEC) < 0) {
		close(lock_fd);
		manifest_free(&m);
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
		supervise(o, &m, pipefd[1], lock_fd);
	}
	manifest_free(&m);
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
