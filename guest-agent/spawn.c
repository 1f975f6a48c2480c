/* SPDX-License-Identifier: MIT */
#include "spawn.h"
#include "agent.h"

#include "sandbox.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <linux/securebits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <termios.h>
#include <unistd.h>

/* What the child reports through the status pipe when it cannot exec. */
struct spawn_failure {
	int stage;
	int err;
};

enum { STAGE_IDENTITY = 1, STAGE_CWD, STAGE_SANDBOX, STAGE_EXEC };

static void child_fail(int status_fd, int stage, int err) __attribute__((noreturn));
static bool access_ok(const char *path);

static const char *const stage_names[] = {
	[STAGE_IDENTITY] = "cannot switch to the session user or drop its privileges",
	[STAGE_CWD] = "cannot change to the working directory",
	[STAGE_SANDBOX] = "cannot apply the session's sandbox (Landlock or file-system guard)",
	[STAGE_EXEC] = "cannot run",
};

/* Read and execute, always: a session must be able to run its tools. */
static const char *const system_dirs[] = { "/bin", "/sbin", "/usr", "/lib", "/lib64", "/etc" };

static void add_rule(struct lbx_landlock_rule *r, size_t *n, size_t max, const char *path,
		     unsigned access)
{
	/* A rule for a path that does not exist in this image is simply moot. */
	if (*n < max && access_ok(path))
		r[(*n)++] = (struct lbx_landlock_rule){ path, access };
}

/*
 * The session's Landlock domain (ABI 6 where the kernel has it): files as
 * configured, and scoped so the session can neither signal processes
 * outside it (the agent) nor reach abstract unix sockets outside it.
 */
static void child_landlock(const struct exec_service_config *cfg, int status_fd)
{
	enum { MAX_RULES = 96 };
	struct lbx_landlock_rule rules[MAX_RULES];
	const unsigned rx = LBX_FS_READ | LBX_FS_EXEC, rw = rx | LBX_FS_WRITE;
	size_t n = 0;
	int rc;

	if (cfg->elsewhere_readable)
		add_rule(rules, &n, MAX_RULES, "/", rx);
	for (size_t i = 0; i < LBX_ARRAY_SIZE(system_dirs); i++)
		add_rule(rules, &n, MAX_RULES, system_dirs[i], rx);
	for (unsigned i = 0; i < cfg->nro; i++)
		add_rule(rules, &n, MAX_RULES, cfg->ro_paths[i], rx);
	/* Terminals and /dev/null need writes and ioctls; devtmpfs holds nothing else we make. */
	add_rule(rules, &n, MAX_RULES, "/dev", rw | LBX_FS_DEV);
	add_rule(rules, &n, MAX_RULES, "/proc", LBX_FS_READ);
	add_rule(rules, &n, MAX_RULES, "/tmp", rw);
	add_rule(rules, &n, MAX_RULES, "/dev/shm", rw);
	add_rule(rules, &n, MAX_RULES, cfg->home, rw);
	for (unsigned i = 0; i < cfg->nrw; i++)
		add_rule(rules, &n, MAX_RULES, cfg->rw_paths[i], rw);
	rc = lbx_sandbox_landlock(rules, n, LBX_LANDLOCK_SCOPED);
	if (rc < 0)
		child_fail(status_fd, STAGE_SANDBOX, -rc);
}

/* Set kv ("K=V") in env, replacing an entry with the same name. */
static void env_put(char **env, size_t *n, char *kv)
{
	size_t klen;

	if (!kv || !strchr(kv, '='))
		return;
	klen = (size_t)(strchr(kv, '=') - kv) + 1;
	for (size_t i = 0; i < *n; i++) {
		if (!strncmp(env[i], kv, klen)) {
			env[i] = kv;
			return;
		}
	}
	env[(*n)++] = kv;
}

/*
 * The session's environment, in layers: what login(1) would set, then the
 * box's env (its definition), then the request's. Runs in the child, just
 * before exec, so nothing here is freed.
 */
static char **session_env(const struct exec_request *req, const struct exec_service_config *cfg,
			  bool root)
{
	char **env = calloc(8 + cfg->nenv + req->envc + 1, sizeof(*env));
	char shell[256], *kv;
	size_t n = 0;

	if (!env)
		return NULL;
	env_put(env, &n, "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
	if (asprintf(&kv, "HOME=%s", root ? "/root" : cfg->home) >= 0)
		env_put(env, &n, kv);
	if (asprintf(&kv, "USER=%s", root ? "root" : cfg->user) >= 0)
		env_put(env, &n, kv);
	if (asprintf(&kv, "LOGNAME=%s", root ? "root" : cfg->user) >= 0)
		env_put(env, &n, kv);
	agent_login_shell(root ? 0 : cfg->uid, shell, sizeof(shell));
	if (asprintf(&kv, "SHELL=%s", shell) >= 0)
		env_put(env, &n, kv);
	env_put(env, &n, (req->flags & EXEC_F_TTY) ? "TERM=xterm-256color" : "TERM=dumb");
	if (cfg->ssh_port || cfg->ssh_unix)
		env_put(env, &n, "SSH_AUTH_SOCK=" AGENT_SSH_SOCK);
	for (unsigned i = 0; i < cfg->nenv; i++)
		env_put(env, &n, cfg->env[i]);
	for (uint32_t j = 0; j < req->envc; j++)
		env_put(env, &n, req->env[j]);
	return env;
}

static bool access_ok(const char *path)
{
	return path && access(path, F_OK) == 0;
}

static void child_fail(int status_fd, int stage, int err) __attribute__((noreturn));
static void child_fail(int status_fd, int stage, int err)
{
	struct spawn_failure f = { stage, err };

	if (write(status_fd, &f, sizeof(f)) < 0) {
		/* The agent sees a short read and still reaps 127. */
	}
	_exit(stage == STAGE_EXEC && err == ENOENT ? 127 : 126);
}

static void child_identity(const struct exec_request *req, const struct exec_service_config *cfg,
			   int status_fd)
{
	bool root = (req->flags & EXEC_F_ROOT) != 0;
	uid_t uid = root ? 0 : cfg->uid;
	gid_t gid = root ? 0 : cfg->gid;

	if (getuid() == uid && getgid() == gid)
		return;
	if (setgroups(0, NULL) < 0 || setgid(gid) < 0 || setuid(uid) < 0)
		child_fail(status_fd, STAGE_IDENTITY, errno);
}

/* Whether the calling thread holds capability cap in its effective set. */
static bool cap_effective(int cap)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct data[2] = { 0 };

	if (syscall(SYS_capget, &hdr, data) < 0)
		return true; /* cannot tell: assume we could have dropped it */
	return (data[cap / 32].effective >> (cap % 32)) & 1;
}

static int cap_last(void)
{
	FILE *f = fopen("/proc/sys/kernel/cap_last_cap", "re");
	int last = 63;

	if (f) {
		if (fscanf(f, "%d", &last) != 1 || last < 0 || last > 63)
			last = 63;
		fclose(f);
	}
	return last;
}

/*
 * Before the identity switch of a session that is not --root: empty the
 * capability bounding set and the ambient set, and lock root out of
 * regaining capabilities through exec (capabilities(7), "securebits").
 * With CAP_SETPCAP missing (an unprivileged agent) there is nothing a
 * session could gain back: no_new_privs and the empty sets below hold.
 */
static int child_drop_bounding(void)
{
	const unsigned long secbits = SECBIT_NOROOT | SECBIT_NOROOT_LOCKED |
				      SECBIT_NO_CAP_AMBIENT_RAISE |
				      SECBIT_NO_CAP_AMBIENT_RAISE_LOCKED | SECBIT_KEEP_CAPS_LOCKED;
	bool can = cap_effective(CAP_SETPCAP);

	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
		return -errno;
	if (!can)
		return 0;
	for (int cap = 0; cap <= cap_last(); cap++)
		if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0 && errno != EINVAL)
			return -errno;
	if (prctl(PR_SET_SECUREBITS, secbits, 0, 0, 0) < 0)
		return -errno;
	return 0;
}

/* After it: no permitted, effective or inheritable capability, whatever the uid. */
static int child_drop_caps(void)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct data[2] = { 0 };

	if (syscall(SYS_capset, &hdr, data) < 0)
		return -errno;
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return -errno;
	return 0;
}

/* In the child: never returns. */
static void child_run(const struct exec_request *req, const struct exec_service_config *cfg,
		      int fds[3], const char *pty_name, int status_fd) __attribute__((noreturn));
static void child_run(const struct exec_request *req, const struct exec_service_config *cfg,
		      int fds[3], const char *pty_name, int status_fd)
{
	bool root = (req->flags & EXEC_F_ROOT) != 0;
	const char *cwd = req->cwd[0] ? req->cwd : (root ? "/root" : cfg->home);
	char **env = session_env(req, cfg, root);
	sigset_t none;
	int rc;

	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	/* Ignored signals stay ignored across exec: give the command defaults. */
	for (int sig = 1; sig < NSIG; sig++)
		signal(sig, SIG_DFL);
	setsid();
	if (pty_name) {
		int slave = open(pty_name, O_RDWR);

		if (slave < 0)
			child_fail(status_fd, STAGE_EXEC, errno);
		ioctl(slave, TIOCSCTTY, 0);
		fds[0] = fds[1] = fds[2] = slave;
	}
	for (int i = 0; i < 3; i++) {
		/* dup2 onto itself would keep close-on-exec set. */
		if (fds[i] == i ? fcntl(i, F_SETFD, 0) < 0 : dup2(fds[i], i) < 0)
			child_fail(status_fd, STAGE_EXEC, errno);
	}
	if (pty_name && fds[0] > 2)
		close(fds[0]);
	/*
	 * A session without --root holds no capability even when the box
	 * user is uid 0 (lbx run as root): no mknod, no /dev/kmsg, no dmesg.
	 * Root sessions keep the agent's (the VM is their boundary).
	 */
	if (!root && (rc = child_drop_bounding()) < 0)
		child_fail(status_fd, STAGE_IDENTITY, -rc);
	child_identity(req, cfg, status_fd);
	if (!root && (rc = child_drop_caps()) < 0)
		child_fail(status_fd, STAGE_IDENTITY, -rc);
	if (chdir(cwd) < 0)
		child_fail(status_fd, STAGE_CWD, errno);
	/* Root sessions install packages: the VM is their boundary, not Landlock. */
	if (cfg->landlock && !root)
		child_landlock(cfg, status_fd);
	/* Last, so nothing above trips over it; seccomp needs no_new_privs or CAP_SYS_ADMIN. */
	if (cfg->fs_guard && (rc = lbx_sandbox_fs_guard(!cap_effective(CAP_SYS_ADMIN))) < 0)
		child_fail(status_fd, STAGE_SANDBOX, -rc);
	if (!env)
		child_fail(status_fd, STAGE_EXEC, ENOMEM);
	/* PATH lookup with the session's PATH, not the agent's. */
	for (char **e = env; *e; e++)
		if (!strncmp(*e, "PATH=", 5))
			setenv("PATH", *e + 5, 1);
	execvpe(req->argv[0], req->argv, env);
	child_fail(status_fd, STAGE_EXEC, errno);
}

static int open_pty(const struct exec_request *req, int *master, char *name, size_t namesz)
{
	struct winsize ws = { .ws_row = req->rows, .ws_col = req->cols };

	*master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (*master < 0)
		return -errno;
	if (grantpt(*master) < 0 || unlockpt(*master) < 0 || ptsname_r(*master, name, namesz)) {
		int e = errno;

		close(*master);
		return -e;
	}
	if (ws.ws_row && ws.ws_col)
		ioctl(*master, TIOCSWINSZ, &ws);
	return 0;
}

static void close_all(int *fds, int n)
{
	for (int i = 0; i < n; i++)
		if (fds[i] >= 0)
			close(fds[i]);
}

static void report_failure(int status_fd, const struct exec_request *req, char *err,
			   size_t errsz)
{
	struct spawn_failure f;
	ssize_t n;

	/* Blocks until exec (the pipe closes) or a failure report. */
	do
		n = read(status_fd, &f, sizeof(f));
	while (n < 0 && errno == EINTR);
	if (n == (ssize_t)sizeof(f) && f.stage >= STAGE_IDENTITY && f.stage <= STAGE_EXEC)
		snprintf(err, errsz, "%s%s%s: %s", stage_names[f.stage],
			 f.stage == STAGE_EXEC || f.stage == STAGE_CWD ? " " : "",
			 f.stage == STAGE_EXEC ? req->argv[0] : (f.stage == STAGE_CWD ? req->cwd : ""),
			 strerror(f.err));
}

int spawn_command(const struct exec_request *req, const struct exec_service_config *cfg,
		  struct spawn_result *res, char *err, size_t errsz)
{
	int in[2] = { -1, -1 }, out[2] = { -1, -1 }, errp[2] = { -1, -1 }, st[2];
	int master = -1, child_fds[3];
	char pty_name[64];
	bool tty = (req->flags & EXEC_F_TTY) != 0;
	pid_t pid;
	int rc;

	err[0] = '\0';
	if ((req->flags & EXEC_F_ROOT) && !cfg->allow_root) {
		snprintf(err, errsz, "root sessions are disabled for this box");
		return -EPERM;
	}
	if (pipe2(st, O_CLOEXEC) < 0)
		return -errno;
	if (tty) {
		rc = open_pty(req, &master, pty_name, sizeof(pty_name));
	} else {
		rc = (pipe2(in, O_CLOEXEC) < 0 || pipe2(out, O_CLOEXEC) < 0 ||
		      pipe2(errp, O_CLOEXEC) < 0)
			     ? -errno
			     : 0;
	}
	if (rc < 0) {
		int all[] = { st[0], st[1], in[0], in[1], out[0], out[1], errp[0], errp[1] };

		close_all(all, LBX_ARRAY_SIZE(all));
		return rc;
	}
	child_fds[0] = in[0];
	child_fds[1] = out[1];
	child_fds[2] = errp[1];
	pid = fork();
	if (pid == 0) {
		close(st[0]);
		child_run(req, cfg, child_fds, tty ? pty_name : NULL, st[1]);
	}
	rc = pid < 0 ? -errno : 0;
	{
		int child_ends[] = { st[1], in[0], out[1], errp[1] };

		close_all(child_ends, LBX_ARRAY_SIZE(child_ends));
	}
	if (rc < 0) {
		int ours[] = { st[0], in[1], out[0], errp[0], master };

		close_all(ours, LBX_ARRAY_SIZE(ours));
		return rc;
	}
	report_failure(st[0], req, err, errsz);
	close(st[0]);
	res->pid = pid;
	if (tty) {
		res->in_fd = master;
		res->out_fd = fcntl(master, F_DUPFD_CLOEXEC, 0);
		res->err_fd = -1;
	} else {
		res->in_fd = in[1];
		res->out_fd = out[0];
		res->err_fd = errp[0];
	}
	int ours[] = { res->in_fd, res->out_fd, res->err_fd };
	for (int i = 0; i < 3; i++)
		if (ours[i] >= 0)
			fcntl(ours[i], F_SETFL, fcntl(ours[i], F_GETFL) | O_NONBLOCK);
	return 0;
}
