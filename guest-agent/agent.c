/* SPDX-License-Identifier: MIT */
/*
 * lbx-agent: the guest's init. This first version mounts the basics, sets
 * the hostname, reports readiness, runs the command from the kernel
 * command line, reports its exit status and powers the box off.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <linux/capability.h>

#include "agent.h"
#include "exec_service.h"
#include "log.h"
#include "netrelay.h"
#include "unixsock.h"

static void fatal(const char *msg) __attribute__((noreturn));
static void fatal(const char *msg)
{
	agent_report("error %s", msg);
	agent_poweroff();
}

/* stdin, stdout and stderr on the console; the kernel may not have opened it. */
static void open_console(void)
{
	int fd = open("/dev/console", O_RDWR | O_NOCTTY | O_CLOEXEC);

	if (fd < 0)
		return;
	for (int i = 0; i < 3; i++)
		dup2(fd, i);
	if (fd > 2)
		close(fd);
}

static char *read_cmdline(size_t *len)
{
	static char buf[16384];
	int fd = open("/proc/cmdline", O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return NULL;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n < 0)
		return NULL;
	*len = (size_t)n;
	buf[n] = '\0';
	return buf;
}

static unsigned long uptime_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_BOOTTIME, &ts);
	return (unsigned long)ts.tv_sec * 1000UL + (unsigned long)ts.tv_nsec / 1000000UL;
}

static void report_status(int status)
{
	if (status < 0)
		agent_report("error waiting for the command: %s", strerror(-status));
	else if (WIFEXITED(status))
		agent_report("exit code=%d", WEXITSTATUS(status));
	else
		agent_report("exit signal=%d", WTERMSIG(status));
}

/* Sessions may write where the box's rw mounts are, and read its ro ones. */
static void service_config(struct agent_config *cfg, struct exec_service_config *svc)
{
	for (int i = 0; i < cfg->nmounts; i++) {
		const struct agent_mount *m = &cfg->mounts[i];
		char *p = strdup(m->path);

		if (!p)
			continue;
		if (m->read_only)
			cfg->ro_paths[cfg->nro++] = p;
		else
			cfg->rw_paths[cfg->nrw++] = p;
	}
	*svc = (struct exec_service_config){
		.uid = cfg->uid,
		.gid = cfg->gid,
		.user = cfg->user,
		.home = cfg->home ? cfg->home : (cfg->uid == 0 ? "/root" : "/"),
		.allow_root = cfg->allow_root,
		.landlock = true,
		.rw_paths = (const char *const *)cfg->rw_paths,
		.nrw = cfg->nrw,
		.ro_paths = (const char *const *)cfg->ro_paths,
		.nro = cfg->nro,
		.elsewhere_readable = cfg->elsewhere_readable,
		.ssh_port = cfg->ssh_port,
		.env = cfg->env,
		.nenv = (unsigned)cfg->envc,
	};
}

/* PID 1 of a box. Never returns: the box powers off at the end. */
static void run_init(void) __attribute__((noreturn));
static void run_init(void)
{
	struct exec_service_config svc;
	struct agent_config cfg;
	int listen_fd = -1, status = 0;
	sigset_t chld;
	char err[256];
	size_t len = 0;
	char *cmdline;
	pid_t pid = 0;

	if (agent_mount_basics(err, sizeof(err)) < 0) {
		open_console();
		fatal(err);
	}
	open_console();
	cmdline = read_cmdline(&len);
	if (!cmdline)
		fatal("cannot read /proc/cmdline");
	if (agent_cmdline_parse(cmdline, len, &cfg, err, sizeof(err)) < 0)
		fatal(err);
	if (sethostname(cfg.hostname, strlen(cfg.hostname)) < 0)
		lbx_warn("sethostname %s: %s", cfg.hostname, strerror(errno));
	if (cfg.rootfs[0] && agent_switch_root(cfg.rootfs, err, sizeof(err)) < 0)
		fatal(err);
	if (cfg.net_cidr[0] &&
	    agent_net_configure("eth0", cfg.net_cidr, cfg.net_gw, cfg.net_dns, err, sizeof(err)) < 0)
		fatal(err);
	if (agent_mount_shares(&cfg, err, sizeof(err)) < 0 ||
	    agent_setup_user(&cfg, err, sizeof(err)) < 0)
		fatal(err);
	if (cfg.serve_port) {
		listen_fd = agent_listen_vsock(cfg.serve_port);
		if (listen_fd < 0) {
			snprintf(err, sizeof(err), "cannot listen on vsock port %u: %s",
				 cfg.serve_port, strerror(-listen_fd));
			fatal(err);
		}
	}
	agent_report("ready uptime_ms=%lu", uptime_ms());
	if (cfg.notify_port) {
		int rc = agent_notify_ready(cfg.notify_port, uptime_ms());

		if (rc < 0)
			lbx_warn("cannot tell the host we are ready (vsock port %u): %s",
				 cfg.notify_port, strerror(-rc));
	}
	if (cfg.argc == 0 && listen_fd < 0)
		fatal("nothing to do: give lbx.argv= or lbx.serve= on the kernel command line");

	/* Blocked before the fork, so an early exit is not lost to the service. */
	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	sigprocmask(SIG_BLOCK, &chld, NULL);
	if (cfg.argc > 0) {
		pid = agent_run_start(&cfg);
		if (pid < 0) {
			snprintf(err, sizeof(err), "cannot start %s: %s", cfg.argv[0],
				 strerror(-pid));
			fatal(err);
		}
	}
	if (listen_fd >= 0) {
		service_config(&cfg, &svc);
		if (agent_serve(listen_fd, &svc, pid, &status) == 1)
			report_status(status);
		/* Otherwise: POWEROFF from the host, or a signal. Either way, off. */
	} else {
		report_status(agent_run_wait(pid));
	}
	agent_config_free(&cfg);
	agent_poweroff();
}

static void usage(FILE *f)
{
	fprintf(f, "usage: lbx-agent                       (as PID 1 of a box)\n"
		   "       lbx-agent --serve-unix PATH [--uid N] [--gid N] [--user NAME]\n"
		   "                 [--home DIR] [--no-root] [--setup-user] [--landlock]\n"
		   "                 [--rw DIR]... [--ro DIR]... [--elsewhere ro|none]\n"
		   "                 [--ssh-unix PATH] [--notify-unix PATH] [--env K=V]...\n"
		   "                 [--net-stream PATH --net CIDR,GATEWAY,DNS]\n"
		   "Serves exec sessions on a unix socket when not PID 1 of a VM: as the init\n"
		   "of a container (engine light) or in tests. --landlock confines user\n"
		   "sessions as in a VM (read-write: --rw trees, home, /tmp); --ssh-unix\n"
		   "offers the SSH agent proxy at that socket to sessions; --notify-unix says\n"
		   "READY to that socket once serving; --setup-user adds the user to\n"
		   "/etc/passwd and makes its home, as in a VM; --env sets the box's\n"
		   "environment under each session's own; --net-stream makes the tap\n"
		   "interface eth0, relays its frames to lbx-netd at PATH and configures\n"
		   "it as --net says (needs CAP_NET_ADMIN, which it then drops from the\n"
		   "bounding set so no session can have it).\n");
}

/* Tell the host we serve: "READY uptime_ms=N\n" to a unix socket (engine light). */
static int notify_ready_unix(const char *path, unsigned long ms)
{
	char line[64];
	int fd = lbx_unix_connect(path, 0), n, rc = 0;

	if (fd < 0)
		return fd;
	n = snprintf(line, sizeof(line), "READY uptime_ms=%lu\n", ms);
	if (write(fd, line, (size_t)n) != n)
		rc = -EIO;
	close(fd);
	return rc;
}

struct service_opts {
	struct exec_service_config svc;
	struct agent_config user; /* for --setup-user */
	const char *path, *notify, *net_stream;
	bool setup_user, net;
	const char *rw[AGENT_MAX_PATHS], *ro[AGENT_MAX_PATHS];
	char *env[AGENT_MAX_ENV];
};

static int add_path(const char **slots, unsigned *n, const char *opt, const char *p)
{
	if (p[0] != '/' || *n >= AGENT_MAX_PATHS) {
		lbx_err("%s %s: expected an absolute path (at most %d)", opt, p, AGENT_MAX_PATHS);
		return -EINVAL;
	}
	slots[(*n)++] = p;
	return 0;
}

static int parse_id(const char *opt, const char *s, unsigned *out)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (!s[0] || *end || errno || v >= UINT32_MAX) {
		lbx_err("%s %s: expected a number", opt, s);
		return -EINVAL;
	}
	*out = (unsigned)v;
	return 0;
}

/* 0, 1 for --help, or -EINVAL (a message is printed). */
static int parse_service(int argc, char **argv, struct service_opts *so)
{
	static const struct option opts[] = {
		{ "serve-unix", required_argument, NULL, 's' },
		{ "uid", required_argument, NULL, 'u' },
		{ "gid", required_argument, NULL, 'g' },
		{ "user", required_argument, NULL, 'n' },
		{ "home", required_argument, NULL, 'H' },
		{ "no-root", no_argument, NULL, 'R' },
		{ "setup-user", no_argument, NULL, 'U' },
		{ "landlock", no_argument, NULL, 'L' },
		{ "rw", required_argument, NULL, 'w' },
		{ "ro", required_argument, NULL, 'r' },
		{ "elsewhere", required_argument, NULL, 'e' },
		{ "ssh-unix", required_argument, NULL, 'S' },
		{ "notify-unix", required_argument, NULL, 'N' },
		{ "env", required_argument, NULL, 'E' },
		{ "net-stream", required_argument, NULL, 'T' },
		{ "net", required_argument, NULL, 'A' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct exec_service_config *svc = &so->svc;
	unsigned id;
	int opt;

	*svc = (struct exec_service_config){
		.uid = getuid(), .gid = getgid(), .user = "root", .home = "/", .allow_root = true,
		.elsewhere_readable = true, .rw_paths = so->rw, .ro_paths = so->ro, .env = so->env,
	};
	while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (opt) {
		case 's': so->path = optarg; break;
		case 'u':
		case 'g':
			if (parse_id(opt == 'u' ? "--uid" : "--gid", optarg, &id) < 0)
				return -EINVAL;
			if (opt == 'u')
				svc->uid = id;
			else
				svc->gid = id;
			break;
		case 'n': svc->user = optarg; break;
		case 'H': svc->home = optarg; break;
		case 'R': svc->allow_root = false; break;
		case 'U': so->setup_user = true; break;
		case 'L': svc->landlock = true; break;
		case 'w':
			if (add_path(so->rw, &svc->nrw, "--rw", optarg) < 0)
				return -EINVAL;
			break;
		case 'r':
			if (add_path(so->ro, &svc->nro, "--ro", optarg) < 0)
				return -EINVAL;
			break;
		case 'e':
			if (strcmp(optarg, "ro") && strcmp(optarg, "none")) {
				lbx_err("--elsewhere %s: expected ro or none", optarg);
				return -EINVAL;
			}
			svc->elsewhere_readable = !strcmp(optarg, "ro");
			break;
		case 'S': svc->ssh_unix = optarg; break;
		case 'N': so->notify = optarg; break;
		case 'E':
			if (svc->nenv >= AGENT_MAX_ENV || !strchr(optarg, '=') || optarg[0] == '=') {
				lbx_err("--env %s: expected KEY=VALUE (at most %d)", optarg,
					AGENT_MAX_ENV);
				return -EINVAL;
			}
			so->env[svc->nenv++] = optarg;
			break;
		case 'T': so->net_stream = optarg; break;
		case 'A': {
			char msg[160];

			if (agent_parse_net(&so->user, optarg, strlen(optarg), msg, sizeof(msg)) < 0) {
				lbx_err("--net %s: %s", optarg, msg);
				return -EINVAL;
			}
			so->net = true;
			break;
		}
		case 'h': usage(stdout); return 1;
		default: usage(stderr); return -EINVAL;
		}
	}
	if (!so->path || optind != argc) {
		fprintf(stderr, "lbx-agent: must run as PID 1 of a box, or with --serve-unix PATH\n");
		usage(stderr);
		return -EINVAL;
	}
	if (!so->net_stream != !so->net) {
		lbx_err("--net-stream and --net go together");
		return -EINVAL;
	}
	if (svc->home[0] != '/' || strlen(svc->user) >= sizeof(so->user.user)) {
		lbx_err("--home must be absolute and --user at most %zu bytes",
			sizeof(so->user.user) - 1);
		return -EINVAL;
	}
	return 0;
}

/* --setup-user: the box user in /etc/passwd and /etc/group, and its home, as in a VM. */
static int setup_user(struct service_opts *so)
{
	char err[256];

	so->user.uid = so->svc.uid;
	so->user.gid = so->svc.gid;
	snprintf(so->user.user, sizeof(so->user.user), "%s", so->svc.user);
	so->user.home = (char *)so->svc.home;
	if (agent_setup_user(&so->user, err, sizeof(err)) < 0) {
		lbx_err("%s", err);
		return -EIO;
	}
	return 0;
}

/*
 * --net-stream: eth0 as a tap relayed to lbx-netd, configured like a VM's.
 * Then CAP_NET_ADMIN leaves the bounding set: the container had it for
 * this alone, and no session, root or not, may reconfigure the network.
 */
static int setup_net(struct service_opts *so)
{
	char err[256];

	so->svc.net = tap_relay_new(TAP_IFNAME, AGENT_NET_MAC, so->net_stream, err, sizeof(err));
	if (!so->svc.net) {
		lbx_err("network: %s", err);
		return -EIO;
	}
	if (agent_net_configure(TAP_IFNAME, so->user.net_cidr, so->user.net_gw, so->user.net_dns,
				err, sizeof(err)) < 0) {
		lbx_err("network: %s", err);
		return -EIO;
	}
	if (prctl(PR_CAPBSET_DROP, CAP_NET_ADMIN, 0, 0, 0) < 0) {
		lbx_err("network: cannot drop CAP_NET_ADMIN from the bounding set: %s",
			strerror(errno));
		return -EIO;
	}
	return 0;
}

/* Not PID 1 of a VM: serve exec sessions on a unix socket until SIGTERM or POWEROFF. */
static int run_service(int argc, char **argv)
{
	struct service_opts so = { 0 };
	sigset_t chld;
	int fd, rc;

	rc = parse_service(argc, argv, &so);
	if (rc)
		return rc > 0 ? 0 : 2;
	if (so.setup_user && setup_user(&so) < 0)
		return 1;
	if (so.net_stream && setup_net(&so) < 0) {
		tap_relay_free(so.svc.net);
		return 1;
	}
	/* The init of a container: only the host, outside our PID namespace, may connect. */
	so.svc.outside_peers_only = getpid() == 1;
	fd = lbx_unix_listen(so.path, 16, LBX_UNIX_NONBLOCK);
	if (fd < 0) {
		lbx_err("cannot listen on %s: %s", so.path, strerror(-fd));
		return 1;
	}
	/*
	 * The socket is the host user's to connect to: in a rootless container
	 * (--userns=keep-id) our root is a subordinate uid on the host, and an
	 * owner-only socket of that uid would shut the host user out.
	 */
	if (geteuid() == 0 && chown(so.path, so.svc.uid, so.svc.gid) < 0) {
		lbx_err("cannot give %s to uid %u: %s", so.path, (unsigned)so.svc.uid,
			strerror(errno));
		close(fd);
		return 1;
	}
	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	sigprocmask(SIG_BLOCK, &chld, NULL);
	if (so.notify && (rc = notify_ready_unix(so.notify, uptime_ms())) < 0)
		lbx_warn("cannot tell the host we are ready (%s): %s", so.notify, strerror(-rc));
	rc = agent_serve(fd, &so.svc, 0, NULL);
	tap_relay_free(so.svc.net);
	close(fd);
	unlink(so.path);
	if (rc < 0) {
		lbx_err("exec service failed: %s", strerror(-rc));
		return 1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	lbx_log_init("lbx-agent");
	/* PID 1 with options: the init of a container (engine light), not of a VM. */
	if (getpid() == 1 && argc < 2)
		run_init();
	return run_service(argc, argv);
}
