/* SPDX-License-Identifier: MIT */
/*
 * common/sandbox.c: each check runs in a child that restricts itself and
 * reports through its exit status (or dies of SIGSYS, as seccomp kills).
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../../../tests/unit/tap.h"
#include "sandbox.h"

static char base[64], inside[128], outside[128];

/* Run fn in a child; returns its exit code, or 128 + signal. */
static int in_child(int (*fn)(void))
{
	pid_t pid = fork();
	int st;

	if (pid == 0)
		_exit(fn());
	waitpid(pid, &st, 0);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static int try_open(const char *dir, const char *name, int flags)
{
	char p[256];
	int fd;

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	fd = open(p, flags | O_CREAT, 0644);
	if (fd < 0)
		return -errno;
	close(fd);
	return 0;
}

static int landlock_rw(void)
{
	struct lbx_landlock_rule r = { inside, LBX_FS_READ | LBX_FS_WRITE };

	if (lbx_sandbox_landlock(&r, 1, LBX_LANDLOCK_NO_TCP) <= 0)
		return 10;
	if (try_open(inside, "f", O_RDWR))
		return 11;
	if (try_open(outside, "f", O_RDONLY) != -EACCES)
		return 12;
	if (try_open(outside, "new", O_WRONLY) != -EACCES)
		return 13;
	return 0;
}

static int landlock_ro(void)
{
	struct lbx_landlock_rule r = { inside, LBX_FS_READ };

	if (lbx_sandbox_landlock(&r, 1, 0) <= 0)
		return 10;
	if (try_open(inside, "f", O_RDONLY))
		return 11;
	if (try_open(inside, "f", O_WRONLY) != -EACCES)
		return 12;
	return 0;
}

static const char *const basic[] = { "exit_group", "exit", "write", "getpid" };

static int seccomp_kills(void)
{
	struct lbx_seccomp_policy p = { .allow = basic, .nallow = 4 };

	if (lbx_sandbox_seccomp(&p))
		return 10;
	getpid();		/* allowed */
	syscall(SYS_getppid); /* not allowed: SIGSYS */
	return 0;
}

/* What a daemon does with LBX_SECCOMP=log in its environment. */
static int seccomp_env_log(void)
{
	struct lbx_seccomp_policy p = { .allow = basic, .nallow = 4 };

	setenv("LBX_SECCOMP", "log", 1);
	p.log_only = lbx_sandbox_seccomp_log_requested();
	if (p.log_only)
		return 20;
	if (lbx_sandbox_seccomp(&p))
		return 10;
	syscall(SYS_getppid); /* not allowed: SIGSYS */
	return 0;
}

/* As lbx-fsd and lbx-netd set it straight from the environment. */
static int seccomp_log_only_field(void)
{
	struct lbx_seccomp_policy p = { .allow = basic, .nallow = 4, .log_only = true };

	if (lbx_sandbox_seccomp(&p))
		return 10;
	syscall(SYS_getppid); /* not allowed: SIGSYS */
	return 0;
}

static int seccomp_enosys(void)
{
	/* sigaltstack, munmap: sanitizer runtimes call them on the way out */
	static const char *const allow[] = { "exit_group", "sigaltstack", "munmap" };
	static const char *const en[] = { "clone3" };
	struct lbx_seccomp_policy p = { .allow = allow, .nallow = 3, .enosys = en, .nenosys = 1 };

	if (lbx_sandbox_seccomp(&p))
		return 10;
	return syscall(SYS_clone3, NULL, 0) < 0 && errno == ENOSYS ? 0 : 11;
}

static int seccomp_no_fork(void)
{
	struct lbx_seccomp_policy p = { .allow = basic, .nallow = 4, .threads = true };

	if (lbx_sandbox_seccomp(&p))
		return 10;
	syscall(SYS_clone, SIGCHLD, 0, 0, 0, 0); /* a process, not a thread: SIGSYS */
	return 0;
}

static int seccomp_no_exec_mem(void)
{
	static const char *const mem[] = { "exit_group", "munmap" };
	struct lbx_seccomp_policy p = { .allow = mem, .nallow = 2, .no_exec_mem = true };
	void *m;

	if (lbx_sandbox_seccomp(&p))
		return 10;
	m = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (m == MAP_FAILED)
		return 11;
	mmap(NULL, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0); /* SIGSYS */
	return 0;
}

static int seccomp_unknown_name(void)
{
	static const char *const bad[] = { "exit_group", "no_such_syscall" };
	struct lbx_seccomp_policy p = { .allow = bad, .nallow = 2 };

	return lbx_sandbox_seccomp(&p) == -EINVAL ? 0 : 10;
}

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(p);
}

int main(void)
{
	snprintf(base, sizeof(base), "/tmp/lbx-sandbox.XXXXXX");
	if (!mkdtemp(base))
		return 1;
	snprintf(inside, sizeof(inside), "%s/in", base);
	snprintf(outside, sizeof(outside), "%s/out", base);
	mkdir(inside, 0755);
	mkdir(outside, 0755);
	try_open(inside, "f", O_WRONLY);
	try_open(outside, "f", O_WRONLY);

	if (lbx_sandbox_landlock_abi() > 0) {
		is_int(in_child(landlock_rw), 0, "landlock: read-write inside, nothing outside");
		is_int(in_child(landlock_ro), 0, "landlock: read-only rule refuses writing");
	} else {
		tap_skip("no Landlock in this kernel");
		tap_skip("no Landlock in this kernel");
	}
	is_int(in_child(seccomp_kills), 128 + SIGSYS, "seccomp: a call not allowed kills (SIGSYS)");
#if LBX_SECCOMP_DEBUG
	tap_skip("a -Dseccomp_debug=true build honours LBX_SECCOMP=log");
	tap_skip("a -Dseccomp_debug=true build honours log_only");
#else
	is_int(in_child(seccomp_env_log), 128 + SIGSYS,
	       "LBX_SECCOMP=log in the environment: a call not allowed still kills");
	is_int(in_child(seccomp_log_only_field), 128 + SIGSYS,
	       "log_only set (as fsd and netd do from LBX_SECCOMP): still kills in this build");
#endif
	is_int(in_child(seccomp_enosys), 0, "seccomp: clone3 answered ENOSYS");
	is_int(in_child(seccomp_no_fork), 128 + SIGSYS, "seccomp threads: clone of a process kills");
	is_int(in_child(seccomp_no_exec_mem), 128 + SIGSYS,
	       "seccomp no_exec_mem: PROT_EXEC mapping kills, plain mapping works");
	is_int(in_child(seccomp_unknown_name), 0, "seccomp: an unknown name is -EINVAL");
	nftw(base, rm_one, 8, FTW_DEPTH | FTW_PHYS);
	return tap_done();
}
