/* SPDX-License-Identifier: MIT */
/*
 * The agent's exec service on a unix socket, driven by lbx's exec client:
 * output, exit codes, signals, stdin and flow control, cwd and env, ptys,
 * identity, and hostile clients.
 */
#include <errno.h>
#include <pwd.h>
#include <stddef.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "agent.h"
#include "exec_client.h"
#include "exec_proto.h"
#include "exec_service.h"
#include "sandbox.h"
#include "tap.h"
#include "unixsock.h"

static char sock_path[100], sock_noroot[100];

/* An exec service with cfg on a unix socket at path, in a child process. */
static pid_t serve_in_child(const char *path, const struct exec_service_config *cfg)
{
	int fd = lbx_unix_listen(path, 16, LBX_UNIX_NONBLOCK);
	pid_t pid;

	if (fd < 0)
		return -1;
	pid = fork();
	if (pid == 0) {
		sigset_t chld;

		sigemptyset(&chld);
		sigaddset(&chld, SIGCHLD);
		sigprocmask(SIG_BLOCK, &chld, NULL);
		_exit(agent_serve(fd, cfg, 0, NULL) < 0 ? 1 : 0);
	}
	close(fd);
	return pid;
}

static pid_t start_service(const char *path, bool allow_root)
{
	struct exec_service_config cfg = {
		.uid = getuid(), .gid = getgid(), .user = "tester", .home = "/",
		.allow_root = allow_root,
	};

	return serve_in_child(path, &cfg);
}

static int connect_to(const char *path)
{
	return lbx_unix_connect(path, 0);
}

static int memfd_with(const void *p, size_t n)
{
	int fd = memfd_create("in", MFD_CLOEXEC);

	if (n && write(fd, p, n) != (ssize_t)n)
		return -1;
	lseek(fd, 0, SEEK_SET);
	return fd;
}

/* Read a memfd back as a NUL-terminated heap string (its length in *n). */
static char *slurp(int fd, size_t *n)
{
	off_t len = lseek(fd, 0, SEEK_END);
	char *buf = malloc((size_t)len + 1);

	if (pread(fd, buf, (size_t)len, 0) != len)
		len = 0;
	buf[len] = '\0';
	if (n)
		*n = (size_t)len;
	return buf;
}

struct run {
	struct lbx_exec_result res;
	int rc;
	char *out, *err;
	size_t out_len;
};

static void run_free(struct run *r)
{
	free(r->out);
	free(r->err);
}

static struct run run_opts(const char *path, struct lbx_exec_opts o, const void *in, size_t in_len)
{
	struct run r = { 0 };
	int fd = connect_to(path);
	int out = memfd_create("out", MFD_CLOEXEC), err = memfd_create("err", MFD_CLOEXEC);

	o.in_fd = in ? memfd_with(in, in_len) : -1;
	o.out_fd = out;
	o.err_fd = err;
	if (!o.tty) {
		o.winch_fd = -1;
		o.tty_fd = -1;
	}
	r.rc = fd < 0 ? -ECONNREFUSED : lbx_exec_run(fd, &o, &r.res);
	r.out = slurp(out, &r.out_len);
	r.err = slurp(err, NULL);
	close(out);
	close(err);
	if (o.in_fd >= 0)
		close(o.in_fd);
	if (fd >= 0)
		close(fd);
	return r;
}

static struct run run_cmd(char *const *argv)
{
	struct lbx_exec_opts o = { .argv = argv, .winch_fd = -1, .signal_fd = -1 };

	return run_opts(sock_path, o, NULL, 0);
}

#define ARGV(...) ((char *const[]){ __VA_ARGS__, NULL })

static void test_basics(void)
{
	struct run r = run_cmd(ARGV("echo", "hello", "world"));

	ok(r.rc == 0 && r.res.exited && !r.res.signaled && r.res.status == 0, "echo exits 0");
	ok(!strcmp(r.out, "hello world\n"), "stdout arrives: '%s'", r.out);
	ok(r.res.pid > 0, "STARTED carried a pid");
	run_free(&r);

	r = run_cmd(ARGV("sh", "-c", "echo oops >&2; exit 3"));
	ok(r.rc == 0 && r.res.status == 3 && !r.res.signaled, "exit code 3");
	ok(!strcmp(r.err, "oops\n") && r.out_len == 0, "stderr is separate from stdout");
	run_free(&r);

	r = run_cmd(ARGV("sh", "-c", "kill -TERM $$"));
	ok(r.res.exited && r.res.signaled && r.res.status == SIGTERM, "death by SIGTERM reported");
	is_int(lbx_exec_exit_code(&r.res), 128 + SIGTERM, "shell-style code 143");
	run_free(&r);

	r = run_cmd(ARGV("/no/such/program", "x"));
	is_int(r.res.status, 127, "missing program exits 127");
	ok(strstr(r.res.error, "cannot run /no/such/program: No such file") != NULL,
	   "error names the program: %s", r.res.error);
	run_free(&r);
}

static void test_cwd_env(void)
{
	struct lbx_exec_opts o = { .argv = ARGV("sh", "-c", "pwd; echo $FOO; echo $USER; echo $HOME"),
				   .env = ARGV("FOO=bar baz", "HOME=/elsewhere"),
				   .cwd = "/tmp", .winch_fd = -1, .signal_fd = -1 };
	struct run r = run_opts(sock_path, o, NULL, 0);

	ok(!strcmp(r.out, "/tmp\nbar baz\ntester\n/elsewhere\n"),
	   "cwd, env, default USER, overridden HOME: '%s'", r.out);
	run_free(&r);

	o.cwd = "/nonexistent-dir";
	o.argv = ARGV("true");
	r = run_opts(sock_path, o, NULL, 0);
	is_int(r.res.status, 126, "bad cwd exits 126");
	ok(strstr(r.res.error, "working directory /nonexistent-dir") != NULL,
	   "error names the directory: %s", r.res.error);
	run_free(&r);
}

/* SHELL is the session user's login shell from /etc/passwd, as login(1) would set it. */
static void test_login_shell(void)
{
	struct passwd *pw = getpwuid(getuid());
	struct run r = run_cmd(ARGV("sh", "-c", "echo $SHELL"));
	char want[300];

	if (!pw || !pw->pw_shell[0] || access(pw->pw_shell, X_OK) < 0) {
		tap_skip("this user has no usable login shell in /etc/passwd");
		run_free(&r);
		return;
	}
	snprintf(want, sizeof(want), "%s\n", pw->pw_shell);
	ok(!strcmp(r.out, want), "SHELL is the login shell from /etc/passwd: '%s'", r.out);
	run_free(&r);
}

static void test_stdin_flow(void)
{
	size_t n = 3 * 1024 * 1024 + 17;
	char *in = malloc(n);
	struct lbx_exec_opts o = { .argv = ARGV("cat"), .winch_fd = -1, .signal_fd = -1 };
	struct run r;

	for (size_t i = 0; i < n; i++)
		in[i] = (char)(i * 7 + i / 4096);
	r = run_opts(sock_path, o, in, n);
	ok(r.res.status == 0 && r.out_len == n && !memcmp(r.out, in, n),
	   "3 MiB through cat arrive intact (%zu bytes)", r.out_len);
	run_free(&r);
	free(in);

	r = run_cmd(ARGV("head", "-c", "6000000", "/dev/zero"));
	ok(r.res.status == 0 && r.out_len == 6000000, "6 MB of output arrive (%zu)", r.out_len);
	run_free(&r);

	o.argv = ARGV("sh", "-c", "head -c 1 >/dev/null; echo closed");
	in = calloc(1, 1 << 20);
	r = run_opts(sock_path, o, in, 1 << 20);
	ok(r.res.exited && !strcmp(r.out, "closed\n"),
	   "a command that stops reading stdin still finishes (rc %d, %s, '%s')", r.rc,
	   r.res.error, r.out);
	run_free(&r);
	free(in);

	r = run_cmd(ARGV("sh", "-c", "sleep 3 & echo bg"));
	ok(r.res.exited && r.res.status == 0 && !strcmp(r.out, "bg\n"),
	   "a background child holding stdout does not hold the session");
	run_free(&r);
}

static void test_tty(void)
{
	struct lbx_exec_opts o = { .argv = ARGV("sh", "-c", "stty size; tty; test -t 0 && echo T"),
				   .tty = true, .rows = 33, .cols = 101, .winch_fd = -1,
				   .tty_fd = -1, .signal_fd = -1 };
	struct run r = run_opts(sock_path, o, NULL, 0);

	ok(r.res.status == 0, "tty session ran (%s)", r.res.error);
	ok(!strncmp(r.out, "33 101\r\n/dev/pts/", 17), "pty with the requested size: '%s'", r.out);
	ok(strstr(r.out, "T\r\n") != NULL, "stdin is a terminal");
	run_free(&r);
}

static void test_signals(void)
{
	int p[2];
	int sig = SIGTERM;
	struct lbx_exec_opts o = { .argv = ARGV("sleep", "30"), .winch_fd = -1 };
	struct run r;

	if (pipe2(p, O_NONBLOCK) < 0 || write(p[1], &sig, sizeof(sig)) != sizeof(sig))
		return;
	o.signal_fd = p[0];
	r = run_opts(sock_path, o, NULL, 0);
	ok(r.res.signaled && r.res.status == SIGTERM, "SIGTERM forwarded to the command");
	run_free(&r);
	sig = SIGSEGV;
	if (write(p[1], &sig, sizeof(sig)) != sizeof(sig))
		return;
	r = run_opts(sock_path, o, NULL, 0);
	ok(!r.res.exited && strstr(r.res.error, "protocol error") != NULL,
	   "a signal outside the allowlist ends the session: %s", r.res.error);
	run_free(&r);
	close(p[0]);
	close(p[1]);
}

static bool wait_gone(pid_t pid)
{
	struct timespec t = { 0, 20 * 1000000L };

	for (int i = 0; i < 500; i++) {
		if (kill(pid, 0) < 0 && errno == ESRCH)
			return true;
		nanosleep(&t, NULL);
	}
	return false;
}

static void test_hostile(void)
{
	static const uint8_t garbage[] = { 0xff, 0xff, 0xff, 0xff, 1, 2, 3 };
	uint8_t buf[256];
	struct lbx_writer w;
	struct run r;
	int fd = connect_to(sock_path);
	ssize_t n;

	ok(fd >= 0 && write(fd, garbage, sizeof(garbage)) == sizeof(garbage), "send a 4 GiB length");
	n = read(fd, buf, sizeof(buf));
	ok(n >= 0, "the agent answers or closes (read %zd)", n);
	close(fd);

	fd = connect_to(sock_path);
	lbx_writer_init_fixed(&w, buf, sizeof(buf));
	ok(exec_write_u32(&w, EXEC_MSG_STDIN, 1) == 0 &&
		   write(fd, buf, lbx_writer_len(&w)) == (ssize_t)lbx_writer_len(&w),
	   "send STDIN before EXEC");
	n = read(fd, buf, sizeof(buf));
	while (n > 0)
		n = read(fd, buf, sizeof(buf));
	is_int(n, 0, "the agent closes that session");
	close(fd);

	r = run_cmd(ARGV("echo", "still here"));
	ok(!strcmp(r.out, "still here\n"), "the service keeps serving after hostile sessions");
	run_free(&r);

	/* A client that disconnects takes its command with it. */
	fd = connect_to(sock_path);
	lbx_writer_init_fixed(&w, buf, sizeof(buf));
	if (exec_request_encode(&w, 0, 0, 0, "", ARGV("sleep", "1000"), NULL) == 0 &&
	    write(fd, buf, lbx_writer_len(&w)) == (ssize_t)lbx_writer_len(&w)) {
		struct lbx_reader pl;
		uint8_t type;
		size_t used;
		uint32_t pid = 0;

		n = read(fd, buf, sizeof(buf));
		if (n > 0 && exec_frame_next(buf, (size_t)n, &type, &pl, &used) == 1 &&
		    type == EXEC_MSG_STARTED && exec_decode_started(&pl, &pid) == 0) {
			close(fd);
			ok(pid > 0 && wait_gone((pid_t)pid), "disconnect kills the command (pid %u)",
			   pid);
		} else {
			ok(0, "STARTED expected");
			close(fd);
		}
	}
}

static void test_identity(void)
{
	struct lbx_exec_opts o = { .argv = ARGV("id", "-u"), .root = true, .winch_fd = -1,
				   .signal_fd = -1 };
	struct run r = run_opts(sock_noroot, o, NULL, 0);

	ok(!r.res.exited && strstr(r.res.error, "root sessions are disabled") != NULL,
	   "root session refused when the box denies it: %s", r.res.error);
	run_free(&r);
	if (getuid() != 0) {
		tap_skip("running as a user other than the agent's needs root");
		return;
	}
	r = run_opts(sock_path, o, NULL, 0);
	ok(!strcmp(r.out, "0\n"), "root session is uid 0");
	run_free(&r);
}

static void test_user_switch(void)
{
	char path[160];
	pid_t svc;
	struct exec_service_config cfg = { .uid = 65534, .gid = 65534, .user = "nobody",
					   .home = "/", .allow_root = false };

	if (getuid() != 0) {
		tap_skip("switching to the box user needs root");
		return;
	}
	snprintf(path, sizeof(path), "%s.user", sock_path);
	svc = serve_in_child(path, &cfg);
	struct lbx_exec_opts o = { .argv = ARGV("sh", "-c", "id -u; id -g; id -G"),
				   .winch_fd = -1, .signal_fd = -1 };
	struct run r = run_opts(path, o, NULL, 0);

	ok(!strcmp(r.out, "65534\n65534\n65534\n"),
	   "sessions run as the box user with no supplementary groups: '%s'", r.out);
	run_free(&r);
	kill(svc, SIGTERM);
	waitpid(svc, NULL, 0);
	unlink(path);
}

/*
 * A session without --root holds no capability, even as uid 0 (lbx run as
 * root makes the box user uid 0): no mknod, no_new_privs. --root keeps them.
 */
static void test_session_caps(const char *dir)
{
	char cmd[300];
	struct lbx_exec_opts o = {
		.argv = ARGV("grep", "-E",
			     "^(Cap(Inh|Prm|Eff|Bnd|Amb)|NoNewPrivs):", "/proc/self/status"),
		.winch_fd = -1,
		.signal_fd = -1,
	};
	struct run r;

	if (getuid() != 0) {
		tap_skip("a uid-0 session needs the test to run as root");
		tap_skip("mknod as a uid-0 session needs root");
		tap_skip("root sessions keep capabilities: needs root");
		return;
	}
	r = run_opts(sock_path, o, NULL, 0);
	ok(r.res.status == 0 && strstr(r.out, "CapInh:\t0000000000000000\n") &&
	       strstr(r.out, "CapPrm:\t0000000000000000\n") &&
	       strstr(r.out, "CapEff:\t0000000000000000\n") &&
	       strstr(r.out, "CapBnd:\t0000000000000000\n") &&
	       strstr(r.out, "CapAmb:\t0000000000000000\n") && strstr(r.out, "NoNewPrivs:\t1\n"),
	   "a uid-0 session without --root: every capability set empty, no_new_privs:\n%s", r.out);
	run_free(&r);
	snprintf(cmd, sizeof(cmd), "mknod %s/null c 1 3", dir);
	o.argv = ARGV("sh", "-c", cmd);
	r = run_opts(sock_path, o, NULL, 0);
	snprintf(cmd, sizeof(cmd), "%s/null", dir);
	ok(r.res.status != 0 && access(cmd, F_OK) < 0,
	   "and its mknod of a device fails (status %d: %s)", r.res.status, r.err);
	run_free(&r);
	unlink(cmd);
	o.argv = ARGV("grep", "^CapEff:", "/proc/self/status");
	o.root = true;
	r = run_opts(sock_path, o, NULL, 0);
	ok(r.res.status == 0 && !strstr(r.out, "0000000000000000"),
	   "a --root session keeps the agent's capabilities: %s", r.out);
	run_free(&r);
}

/*
 * The light engine's file-system guard: each operation in the directory
 * argv[1], printed as "name=errno" (0: it worked). Checked from Python,
 * which calls each one directly.
 */
static const char fs_probe[] =
    "import ctypes,errno,os,stat,sys\n"
    "d=sys.argv[1]\n"
    "def t(name,f):\n"
    "  try:\n"
    "    f(); print(name+'=0')\n"
    "  except OSError as e: print(name+'='+str(e.errno))\n"
    "open(d+'/f','w').close()\n"
    "t('chmod4755',lambda: os.chmod(d+'/f',0o4755))\n"
    "t('chmod2755',lambda: os.chmod(d+'/f',0o2755))\n"
    "t('chmod755',lambda: os.chmod(d+'/f',0o755))\n"
    "t('chmod1777',lambda: os.chmod(d+'/f',0o1777))\n"
    "fd=os.open(d+'/f',os.O_RDONLY)\n"
    "t('fchmod4755',lambda: os.fchmod(fd,0o4755))\n"
    "t('opencreat4755',lambda: os.close(os.open(d+'/suid',os.O_CREAT|os.O_WRONLY,0o4755)))\n"
    "t('opencreat644',lambda: os.close(os.open(d+'/plain',os.O_CREAT|os.O_WRONLY,0o644)))\n"
    "t('mkdir2755',lambda: os.mkdir(d+'/sgid',0o2755))\n"
    "t('mknodchr',lambda: os.mknod(d+'/null',stat.S_IFCHR|0o666,os.makedev(1,3)))\n"
    "t('mknodfifo',lambda: os.mknod(d+'/fifo',stat.S_IFIFO|0o644))\n"
    "t('setxattr',lambda: os.setxattr(d+'/f','user.containers.override_stat',b'0:0:0104755'))\n"
    "t('chown',lambda: os.chown(d+'/f',4242,4242))\n"
    "t('chownnoop',lambda: os.chown(d+'/f',-1,-1))\n"
    "libc=ctypes.CDLL(None,use_errno=True)\n"
    "def sc(name,nr,*a):\n"
    "  r=libc.syscall(ctypes.c_long(nr),*[ctypes.c_long(x) if isinstance(x,int) else x for x in "
    "a]); print(name+'='+str(0 if r>=0 else ctypes.get_errno()))\n"
    "p=ctypes.create_string_buffer(24)\n"
    "sc('openat2',437,-100,d.encode()+b'/o2',p,24)\n"
    "sc('io_uring_setup',425,1,ctypes.create_string_buffer(120))\n"
    "sc('fchmodat2',452,-100,(d+'/f').encode(),0o4755,0)\n"
    "v=ctypes.create_string_buffer(b'1')\n"
    "a=ctypes.create_string_buffer(24)\n"
    "ctypes.memmove(a,ctypes.byref(ctypes.c_void_p(ctypes.addressof(v))),8)\n"
    "ctypes.memmove(ctypes.addressof(a)+8,ctypes.byref(ctypes.c_uint64(1)),8)\n"
    "sc('setxattrat',463,-100,(d+'/f').encode(),0,b'user.x',a,16)\n";

/* The probe's verdict on one operation: its errno (0 worked, -1 missing). */
static int probe_result(const char *out, const char *name)
{
	char key[64];
	const char *p;

	snprintf(key, sizeof(key), "\n%s=", name);
	p = strstr(out, key);
	if (!p && !strncmp(out, key + 1, strlen(key + 1)))
		p = out - 1;
	return p ? atoi(p + strlen(key)) : -1;
}

static struct run fs_probe_run(const char *sock, bool root, const char *dir)
{
	struct lbx_exec_opts o = { .argv = ARGV("python3", "-c", (char *)fs_probe, (char *)dir),
				   .root = root,
				   .winch_fd = -1,
				   .signal_fd = -1 };
	char cmd[300];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'; mkdir -p '%s'", dir, dir);
	if (system(cmd) != 0)
		fprintf(stderr, "# cannot make %s\n", dir);
	return run_opts(sock, o, NULL, 0);
}

static void test_fs_guard(const char *sockdir)
{
	char path[160], dir[] = "/var/tmp/lbx-fsg-XXXXXX", sub[200], cmd[300];
	struct exec_service_config cfg = {
		.uid = getuid(),
		.gid = getgid(),
		.user = "tester",
		.home = "/",
		.allow_root = true,
		.fs_guard = true,
	};
	bool root = getuid() == 0;
	struct run r;
	pid_t svc;

	if (!mkdtemp(dir)) {
		tap_skip("cannot create a directory under /var/tmp");
		return;
	}
	snprintf(sub, sizeof(sub), "%s/t", dir);
	snprintf(path, sizeof(path), "%s/fsg.sock", sockdir);
	svc = serve_in_child(path, &cfg);
	/* Root where it can be: the guard holds for --root sessions too. */
	r = fs_probe_run(path, root, sub);
	ok(r.res.status == 0, "guarded session ran the probe (%s %s)", r.res.error, r.err);
	is_int(probe_result(r.out, "chmod4755"), EPERM, "guard: chmod 4755 fails EPERM");
	is_int(probe_result(r.out, "chmod2755"), EPERM, "guard: chmod 2755 fails EPERM");
	is_int(probe_result(r.out, "fchmod4755"), EPERM, "guard: fchmod 4755 fails EPERM");
	is_int(probe_result(r.out, "chmod755"), 0, "guard: chmod 755 works");
	is_int(probe_result(r.out, "chmod1777"), 0, "guard: the sticky bit is allowed");
	is_int(probe_result(r.out, "opencreat4755"), EPERM,
	       "guard: open(O_CREAT, 04755) fails EPERM");
	is_int(probe_result(r.out, "opencreat644"), 0, "guard: open(O_CREAT, 0644) works");
	is_int(probe_result(r.out, "mkdir2755"), EPERM, "guard: mkdir 02755 fails EPERM");
	is_int(probe_result(r.out, "mknodchr"), EPERM, "guard: mknod of a character device: EPERM");
	is_int(probe_result(r.out, "mknodfifo"), 0, "guard: mknod of a FIFO works");
	is_int(probe_result(r.out, "setxattr"), EOPNOTSUPP,
	       "guard: setxattr user.containers.override_stat fails EOPNOTSUPP");
	is_int(probe_result(r.out, "chown"), EPERM, "guard: chown to another owner fails EPERM");
	is_int(probe_result(r.out, "chownnoop"), 0, "guard: chown -1 -1 (no change) works");
	is_int(probe_result(r.out, "openat2"), ENOSYS, "guard: openat2 is ENOSYS");
	is_int(probe_result(r.out, "io_uring_setup"), ENOSYS, "guard: io_uring_setup is ENOSYS");
	is_int(probe_result(r.out, "fchmodat2"), ENOSYS,
	       "guard: fchmodat2 is ENOSYS (libc falls back to fchmodat)");
	is_int(probe_result(r.out, "setxattrat"), EOPNOTSUPP,
	       "guard: setxattrat (by number, newer than libseccomp) fails EOPNOTSUPP");
	snprintf(cmd, sizeof(cmd), "%s/suid", sub);
	ok(access(cmd, F_OK) < 0, "guard: no set-id file was left behind");
	run_free(&r);
	{
		struct stat st;
		struct lbx_exec_opts o = {
			.argv = ARGV("sh", "-c", "cp /bin/sh ./rootsh && chmod 4755 ./rootsh"),
			.root = root,
			.cwd = sub,
			.winch_fd = -1,
			.signal_fd = -1
		};

		r = run_opts(path, o, NULL, 0);
		snprintf(cmd, sizeof(cmd), "%s/rootsh", sub);
		ok(r.res.status != 0 && stat(cmd, &st) == 0 && !(st.st_mode & (S_ISUID | S_ISGID)),
		   "guard: 'cp /bin/sh ./rootsh && chmod 4755 rootsh' leaves no set-id file (%s)",
		   r.err);
		run_free(&r);
	}
	if (root) {
		r = fs_probe_run(path, false, sub);
		ok(probe_result(r.out, "chmod4755") == EPERM &&
		       probe_result(r.out, "setxattr") == EOPNOTSUPP,
		   "guard: a session without --root is guarded too");
		run_free(&r);
	} else {
		tap_skip("a --root session beside the ordinary one needs root");
	}

	/* The same probe without the guard: each of those works (as root where it must). */
	r = fs_probe_run(sock_path, root, sub);
	is_int(probe_result(r.out, "chmod4755"), 0, "no guard: chmod 4755 works");
	is_int(probe_result(r.out, "fchmod4755"), 0, "no guard: fchmod 4755 works");
	is_int(probe_result(r.out, "opencreat4755"), 0, "no guard: open(O_CREAT, 04755) works");
	is_int(probe_result(r.out, "setxattr"), 0, "no guard: setxattr works");
	ok(probe_result(r.out, "setxattrat") == 0 || probe_result(r.out, "setxattrat") == ENOSYS,
	   "no guard: setxattrat works where the kernel has it (%d)",
	   probe_result(r.out, "setxattrat"));
	if (root) {
		is_int(probe_result(r.out, "mknodchr"), 0, "no guard: root mknods a device");
		is_int(probe_result(r.out, "chown"), 0, "no guard: root chowns");
	} else {
		tap_skip("mknod of a device without the guard needs root");
		tap_skip("chown without the guard needs root");
	}
	run_free(&r);
	kill(svc, SIGTERM);
	waitpid(svc, NULL, 0);
	unlink(path);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "# cannot remove %s\n", dir);
}

/* Sessions under Landlock: written where granted, nowhere else, and scoped. */
static void test_landlock(const char *dir)
{
	char path[160], rw[160], other[160], cmd[600];
	const char *rw_paths[1] = { rw };
	struct exec_service_config cfg = {
		.uid = getuid(), .gid = getgid(), .user = "tester", .home = rw, .allow_root = true,
		.landlock = true, .rw_paths = rw_paths, .nrw = 1, .elsewhere_readable = true,
	};
	struct sockaddr_un abs = { .sun_family = AF_UNIX };
	int lfd;
	pid_t svc;

	/* Outside /tmp, which every session may write. */
	char vdir[] = "/var/tmp/lbx-ll-XXXXXX";

	if (!mkdtemp(vdir)) {
		tap_skip("cannot create a directory under /var/tmp");
		return;
	}
	snprintf(rw, sizeof(rw), "%s/rw", vdir);
	snprintf(other, sizeof(other), "%s/world-writable", vdir);
	snprintf(path, sizeof(path), "%s/ll.sock", dir);
	mkdir(rw, 0755);
	mkdir(other, 01777);
	chmod(other, 01777);
	if (lbx_sandbox_landlock_abi() < 6) {
		tap_skip("the host kernel's Landlock is older than ABI 6");
		return;
	}
	svc = serve_in_child(path, &cfg);

	struct lbx_exec_opts o = { .argv = ARGV("sh", "-c", "echo data > f && cat f"),
				   .winch_fd = -1, .signal_fd = -1 };
	struct run r = run_opts(path, o, NULL, 0);
	ok(r.res.status == 0 && !strcmp(r.out, "data\n"), "a session writes in its granted tree");
	run_free(&r);

	snprintf(cmd, sizeof(cmd), "echo x > %s/f", other);
	o.argv = ARGV("sh", "-c", cmd);
	r = run_opts(path, o, NULL, 0);
	ok(r.res.status != 0 && strstr(r.err, "Permission denied"),
	   "but not into a world-writable directory elsewhere: status %d, '%s' %s", r.res.status,
	   r.err, r.res.error);
	run_free(&r);

	o.root = true;
	r = run_opts(path, o, NULL, 0);
	ok(r.res.status == 0, "a --root session may (the VM is its boundary)");
	run_free(&r);
	o.root = false;

	snprintf(cmd, sizeof(cmd), "cat %s/f", other);
	o.argv = ARGV("sh", "-c", cmd);
	r = run_opts(path, o, NULL, 0);
	ok(r.res.status == 0 && !strcmp(r.out, "x\n"), "and reads elsewhere are allowed");
	run_free(&r);

	snprintf(cmd, sizeof(cmd), "kill -0 %d", (int)svc);
	o.argv = ARGV("sh", "-c", cmd);
	r = run_opts(path, o, NULL, 0);
	ok(r.res.status != 0 && strstr(r.err, "not permitted"),
	   "a session cannot signal the agent (Landlock scope): '%s'", r.err);
	run_free(&r);

	/* An abstract socket outside the session's domain, as an agent forwarder would hold. */
	lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	memcpy(abs.sun_path, "\0lbx-test-abstract", 18);
	if (bind(lfd, (struct sockaddr *)&abs, offsetof(struct sockaddr_un, sun_path) + 18) == 0 &&
	    listen(lfd, 1) == 0) {
		o.argv = ARGV("python3", "-c",
			      "import socket,sys\ns=socket.socket(socket.AF_UNIX)\n"
			      "try:\n s.connect('\\0lbx-test-abstract')\nexcept OSError as e:\n"
			      " print(e.errno); sys.exit(1)\nprint('connected')");
		r = run_opts(path, o, NULL, 0);
		ok(r.res.status == 1 && atoi(r.out) == EPERM,
		   "nor reach an abstract unix socket outside it (EPERM): '%s'", r.out);
		run_free(&r);
	}
	close(lfd);
	kill(svc, SIGTERM);
	waitpid(svc, NULL, 0);
	unlink(path);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", vdir);
	if (system(cmd) != 0)
		fprintf(stderr, "# cannot remove %s\n", vdir);
}

/*
 * outside_peers_only (engine light): the service runs as PID 1 of a new
 * PID namespace; a process inside it (pid 2 there) is refused, the test
 * process outside it is served. Needs CAP_SYS_ADMIN for CLONE_NEWPID.
 */
static void test_outside_peers(const char *dir)
{
	struct exec_service_config cfg = {
		.uid = getuid(), .gid = getgid(), .user = "tester", .home = "/",
		.allow_root = true, .outside_peers_only = true,
	};
	char path[128];
	int fd, report[2], inside_rc = -1, status;
	pid_t a;
	struct run r;

	snprintf(path, sizeof(path), "%s/outside.sock", dir);
	fd = lbx_unix_listen(path, 16, LBX_UNIX_NONBLOCK);
	if (fd < 0 || pipe(report) < 0) {
		ok(0, "outside-only service: socket");
		return;
	}
	a = fork();
	if (a == 0) {
		pid_t server, inside;
		int st = 0;

		close(report[0]);
		if (unshare(CLONE_NEWPID) < 0)
			_exit(77);
		server = fork(); /* PID 1 of the new namespace */
		if (server == 0) {
			sigset_t chld;

			sigemptyset(&chld);
			sigaddset(&chld, SIGCHLD);
			sigprocmask(SIG_BLOCK, &chld, NULL);
			_exit(agent_serve(fd, &cfg, 0, NULL) < 0 ? 1 : 0);
		}
		close(fd);
		inside = fork(); /* PID 2 there: a session's process, say */
		if (inside == 0) {
			struct run in = run_opts(path, (struct lbx_exec_opts){ .argv = ARGV("true"),
									  .winch_fd = -1,
									  .signal_fd = -1 },
						 NULL, 0);

			_exit(in.rc < 0 ? 10 : (in.res.exited && in.res.status == 0 ? 20 : 30));
		}
		waitpid(inside, &st, 0);
		st = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
		if (write(report[1], &st, sizeof(st)) != sizeof(st))
			_exit(1);
		waitpid(server, &st, 0);
		_exit(WIFEXITED(st) ? WEXITSTATUS(st) : 1);
	}
	close(fd);
	close(report[1]);
	if (read(report[0], &inside_rc, sizeof(inside_rc)) != sizeof(inside_rc)) {
		close(report[0]);
		waitpid(a, &status, 0);
		if (WIFEXITED(status) && WEXITSTATUS(status) == 77) {
			tap_skip("outside-only service: cannot make a PID namespace (needs root)");
			tap_skip("outside-only service: the host side");
		} else {
			ok(0, "outside-only service: the namespace child reported nothing");
		}
		unlink(path);
		return;
	}
	close(report[0]);
	is_int(inside_rc, 10, "a peer inside the box's PID namespace is refused (no session runs)");
	r = run_opts(path, (struct lbx_exec_opts){ .argv = ARGV("echo", "from-host"), .winch_fd = -1,
						   .signal_fd = -1 },
		     NULL, 0);
	ok(r.rc == 0 && r.res.exited && r.res.status == 0 && !strcmp(r.out, "from-host\n"),
	   "a peer outside it (the host) is served: '%s'", r.out);
	run_free(&r);
	{
		uint8_t frame[EXEC_HEADER_SIZE] = { 1, 0, 0, 0, EXEC_MSG_POWEROFF };
		int c = connect_to(path);

		if (c < 0 || write(c, frame, sizeof(frame)) != sizeof(frame))
			kill(a, SIGKILL);
		waitpid(a, &status, 0);
		if (c >= 0)
			close(c);
	}
	unlink(path);
}

int main(void)
{
	char dir[] = "/tmp/lbx-exec-XXXXXX";
	pid_t svc, svc2;
	int status;

	signal(SIGPIPE, SIG_IGN);
	if (!mkdtemp(dir))
		return 1;
	snprintf(sock_path, sizeof(sock_path), "%s/exec.sock", dir);
	snprintf(sock_noroot, sizeof(sock_noroot), "%s/noroot.sock", dir);
	svc = start_service(sock_path, true);
	svc2 = start_service(sock_noroot, false);
	ok(svc > 0 && svc2 > 0, "exec services started");

	test_basics();
	test_cwd_env();
	test_login_shell();
	test_stdin_flow();
	test_tty();
	test_signals();
	test_hostile();
	test_identity();
	test_user_switch();
	test_session_caps(dir);
	test_fs_guard(dir);
	test_landlock(dir);
	test_outside_peers(dir);

	kill(svc, SIGTERM);
	ok(waitpid(svc, &status, 0) == svc && WIFEXITED(status) && WEXITSTATUS(status) == 0,
	   "service stops cleanly on SIGTERM");
	{
		uint8_t frame[EXEC_HEADER_SIZE] = { 1, 0, 0, 0, EXEC_MSG_POWEROFF };
		int fd = connect_to(sock_noroot);

		ok(fd >= 0 && write(fd, frame, sizeof(frame)) == sizeof(frame), "send POWEROFF");
		ok(waitpid(svc2, &status, 0) == svc2 && WIFEXITED(status) &&
			   WEXITSTATUS(status) == 0,
		   "POWEROFF stops the service");
		if (fd >= 0)
			close(fd);
	}
	unlink(sock_path);
	unlink(sock_noroot);
	{
		char cmd[200];

		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
		if (system(cmd) != 0)
			fprintf(stderr, "# cannot remove %s\n", dir);
	}
	return tap_done();
}
