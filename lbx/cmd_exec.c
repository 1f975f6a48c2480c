/* SPDX-License-Identifier: MIT */
/*
 * lbx exec [options] NAME -- CMD [ARG...]
 *
 * Runs CMD in the box and exits with its status (128 + N when killed by
 * signal N). With -t the local terminal is put in raw mode and window size
 * changes follow; without it SIGINT, SIGTERM and SIGHUP are forwarded.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include "cli.h"
#include "connect.h"
#include "engine_light.h"
#include "manifest.h"
#include "exec_client.h"
#include "exec_proto.h"
#include "resolve.h"
#include "log.h"
#include "unixsock.h"

#include <cjson/cJSON.h>

static int sig_pipe[2] = { -1, -1 };
static int winch_pipe[2] = { -1, -1 };

static void on_forward_signal(int signo)
{
	int saved = errno;

	if (write(sig_pipe[1], &signo, sizeof(signo)) < 0) {
		/* A full pipe: the agent has more signals queued than it needs. */
	}
	errno = saved;
}

static void on_winch(int signo)
{
	int saved = errno;
	char c = 1;

	if (write(winch_pipe[1], &c, 1) < 0) {
		/* Already pending: one resize carries the latest size. */
	}
	errno = saved;
}

static int install_handlers(bool tty)
{
	struct sigaction sa = { 0 };

	if (pipe2(sig_pipe, O_NONBLOCK | O_CLOEXEC) < 0 ||
	    pipe2(winch_pipe, O_NONBLOCK | O_CLOEXEC) < 0)
		return -errno;
	sa.sa_flags = SA_RESTART;
	if (tty) {
		sa.sa_handler = on_winch;
		sigaction(SIGWINCH, &sa, NULL);
	} else {
		sa.sa_handler = on_forward_signal;
		sigaction(SIGINT, &sa, NULL);
		sigaction(SIGTERM, &sa, NULL);
		sigaction(SIGHUP, &sa, NULL);
	}
	return 0;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: lbx exec [-t] [--root] [-w DIR] [-e KEY=VALUE]... NAME -- COMMAND [ARG]...\n"
		   "  -t, --tty            run on a terminal (interactive programs)\n"
		   "      --root           run as root in the box\n"
		   "  -w, --workdir DIR    working directory in the box (default: the project)\n"
		   "  -e, --env KEY=VALUE  set an environment variable (repeatable)\n"
		   "      --vsock-uds PATH talk to a box through this lbx-vsockd socket\n"
		   "      --agent-socket PATH  talk to an agent's unix socket directly\n");
}

struct exec_args {
	struct lbx_exec_opts o;
	const char *name, *vsock_uds, *agent_socket;
	char **env;
	int nenv;
};

static int parse(int argc, char **argv, struct exec_args *a)
{
	static const struct option opts[] = {
		{ "tty", no_argument, NULL, 't' },
		{ "root", no_argument, NULL, 'R' },
		{ "workdir", required_argument, NULL, 'w' },
		{ "env", required_argument, NULL, 'e' },
		{ "vsock-uds", required_argument, NULL, 'V' },
		{ "agent-socket", required_argument, NULL, 'A' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	int opt;

	int dashdash = argc;

	a->env = calloc((size_t)argc + 1, sizeof(char *));
	if (!a->env)
		return -ENOMEM;
	/* The command is everything after "--"; options and NAME come before it. */
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--")) {
			dashdash = i;
			break;
		}
	}
	optind = 1;
	while ((opt = getopt_long(dashdash, argv, "tw:e:h", opts, NULL)) != -1) {
		switch (opt) {
		case 't': a->o.tty = true; break;
		case 'R': a->o.root = true; break;
		case 'w': a->o.cwd = optarg; break;
		case 'e':
			if (!strchr(optarg, '=') || optarg[0] == '=') {
				lbx_err("exec: -e %s: expected KEY=VALUE", optarg);
				return -EINVAL;
			}
			a->env[a->nenv++] = optarg;
			break;
		case 'V': a->vsock_uds = optarg; break;
		case 'A': a->agent_socket = optarg; break;
		case 'h': usage(stdout); return 1;
		default: usage(stderr); return -EINVAL;
		}
	}
	if (optind < dashdash)
		a->name = argv[optind++];
	if (optind < dashdash) {
		lbx_err("exec: unexpected '%s' before -- (lbx exec NAME -- COMMAND)", argv[optind]);
		return -EINVAL;
	}
	if (dashdash + 1 >= argc) {
		lbx_err("exec: no command given (lbx exec NAME -- COMMAND)");
		return -EINVAL;
	}
	optind = dashdash + 1;
	a->o.argv = argv + optind;
	a->o.env = a->env;
	return 0;
}

/* The light agent's process, as the supervisor recorded it at READY (0: unknown). */
static pid_t light_agent_pid(const char *name)
{
	char path[PATH_MAX], text[8192];
	cJSON *doc, *pid;
	pid_t v = 0;

	if (lbx_runtime_path(name, MF_STATE, path, sizeof(path)) < 0 ||
	    box_read_file(path, text, sizeof(text)) <= 0)
		return 0;
	doc = cJSON_Parse(text);
	pid = cJSON_GetObjectItemCaseSensitive(doc, "agent_pid");
	if (cJSON_IsNumber(pid) && pid->valuedouble > 0 && pid->valuedouble < 1 << 30)
		v = (pid_t)pid->valuedouble;
	cJSON_Delete(doc);
	return v;
}

static int open_session(const struct exec_args *a, char *err, size_t errsz)
{
	char path[4096];

	if (a->agent_socket) {
		int fd = lbx_unix_connect(a->agent_socket, 0);

		if (fd < 0)
			snprintf(err, errsz, "cannot reach the agent at %s: %s", a->agent_socket,
				 strerror(-fd));
		return fd;
	}
	if (a->vsock_uds)
		return lbx_connect_vsock(a->vsock_uds, EXEC_VSOCK_PORT, err, errsz);
	if (!a->name) {
		snprintf(err, errsz, "which box? (lbx exec NAME -- COMMAND)");
		return -EINVAL;
	}
	if (lbx_runtime_path(a->name, MF_VSOCK_UDS, path, sizeof(path)) < 0) {
		snprintf(err, errsz, "box name '%s' is not valid", a->name);
		return -EINVAL;
	}
	/* Engine light: the agent's own unix socket, served by the agent (engine_light.h). */
	if (access(path, F_OK) < 0 &&
	    lbx_runtime_path(a->name, MF_LIGHT_AGENT_SOCK, path, sizeof(path)) == 0 &&
	    access(path, F_OK) == 0)
		return engine_light_connect_agent(path, light_agent_pid(a->name), err, errsz);
	if (access(path, F_OK) < 0) {
		snprintf(err, errsz, "box %s is not running (start it with 'lbx up %s')", a->name,
			 a->name);
		return -ENOENT;
	}
	return lbx_connect_vsock(path, EXEC_VSOCK_PORT, err, errsz);
}

/* Sessions start in the project directory unless -w says otherwise. */
static void default_cwd(struct exec_args *a, char *buf, size_t sz)
{
	struct box_paths p;

	if (a->o.cwd || !a->name || box_paths_init(&p, a->name) < 0)
		return;
	if (box_recorded_workdir(&p, buf, sz) == 0 && buf[0])
		a->o.cwd = buf;
}

static int run_session(struct exec_args *a_)
{
	struct exec_args a = *a_;
	struct lbx_exec_result res;
	struct termios saved;
	char err[512], cwd[PATH_MAX];
	bool raw = false;
	int fd, rc;

	default_cwd(&a, cwd, sizeof(cwd));
	fd = open_session(&a, err, sizeof(err));
	if (fd < 0) {
		lbx_err("exec%s%s: %s", a.name ? " in box " : "", a.name ? a.name : "", err);
		return 125;
	}
	if (install_handlers(a.o.tty) < 0)
		return 125;
	a.o.signal_fd = a.o.tty ? -1 : sig_pipe[0];
	a.o.winch_fd = a.o.tty ? winch_pipe[0] : -1;
	a.o.tty_fd = STDIN_FILENO;
	if (a.o.tty && isatty(STDIN_FILENO)) {
		struct winsize ws;
		struct termios t;

		if (ioctl(STDIN_FILENO, TIOCGWINSZ, &ws) == 0) {
			a.o.rows = ws.ws_row;
			a.o.cols = ws.ws_col;
		}
		if (tcgetattr(STDIN_FILENO, &saved) == 0) {
			t = saved;
			cfmakeraw(&t);
			raw = tcsetattr(STDIN_FILENO, TCSANOW, &t) == 0;
		}
	} else if (a.o.tty) {
		a.o.winch_fd = -1;
	}
	rc = lbx_exec_run(fd, &a.o, &res);
	if (raw)
		tcsetattr(STDIN_FILENO, TCSANOW, &saved);
	close(fd);
	if (rc == -EPIPE)
		return 128 + SIGPIPE; /* as the shell reports a pipeline cut short */
	if (res.error[0])
		lbx_err("exec%s%s: %s", a.name ? " in box " : "", a.name ? a.name : "",
			res.error);
	if (rc < 0 || !res.exited)
		return 125;
	return lbx_exec_exit_code(&res);
}

int lbx_cmd_exec(int argc, char **argv)
{
	struct exec_args a = { .o = { .in_fd = STDIN_FILENO, .out_fd = STDOUT_FILENO,
				      .err_fd = STDERR_FILENO } };
	int rc = parse(argc, argv, &a);

	if (rc == 0)
		rc = run_session(&a);
	else
		rc = rc > 0 ? 0 : 125;
	free(a.env);
	return rc;
}

static void enter_usage(FILE *f)
{
	fprintf(f, "usage: lbx enter NAME [-w DIR] [--root]\n"
		   "Open a login shell in the box (in the project directory by default).\n");
}

int lbx_cmd_enter(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "root", no_argument, NULL, 'R' },
		{ "workdir", required_argument, NULL, 'w' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	static char *shell[] = { "/bin/sh", "-c", "exec \"${SHELL:-/bin/sh}\" -l", NULL };
	struct exec_args a = { .o = { .in_fd = STDIN_FILENO, .out_fd = STDOUT_FILENO,
				      .err_fd = STDERR_FILENO, .tty = true, .argv = shell } };
	int opt;

	optind = 1;
	while ((opt = getopt_long(argc, argv, "w:h", opts, NULL)) != -1) {
		switch (opt) {
		case 'R': a.o.root = true; break;
		case 'w': a.o.cwd = optarg; break;
		case 'h': enter_usage(stdout); return 0;
		default: enter_usage(stderr); return 125;
		}
	}
	if (optind + 1 != argc) {
		enter_usage(stderr);
		return 125;
	}
	a.name = argv[optind];
	return run_session(&a);
}
