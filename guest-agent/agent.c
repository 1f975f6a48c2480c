/* SPDX-License-Identifier: MIT */
/*
 * lbx-agent: the guest's init. This first version mounts the basics, sets
 * the hostname, reports readiness, runs the command from the kernel
 * command line, reports its exit status and powers the box off.
 */
#include <errno.h>
#include <signal.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <grp.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <linux/capability.h>

#include "agent.h"
#include "exec_service.h"
#include "log.h"
#include "netrelay.h"
#include "endpoint.h"

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

/*
 * The exec service's part of the agent's configuration. Sessions may
 * write where the box's rw mounts are, and read its ro ones.
 */
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
		.ssh_port = cfg->ssh.kind == LBX_EP_VSOCK ? cfg->ssh.port : 0,
		.ssh_unix = cfg->ssh.kind == LBX_EP_UNIX ? cfg->ssh.path : NULL,
		.env = cfg->env,
		.nenv = (unsigned)cfg->envc,
		.fs_guard = cfg->fs_guard,
	};
}

/* The exec service's socket; "" or a reason in err. */
static int listen_service(const struct agent_config *cfg, char *err, size_t errsz)
{
	char where[LBX_EP_PATH_MAX + 8];
	int fd = lbx_endpoint_listen(&cfg->serve, 16);

	if (fd < 0) {
		if (lbx_endpoint_format(&cfg->serve, where, sizeof(where)) < 0)
			snprintf(where, sizeof(where), "?");
		snprintf(err, errsz, "cannot listen on %s: %s", where, strerror(-fd));
	}
	return fd;
}

static void notify_host(const struct agent_config *cfg)
{
	char where[LBX_EP_PATH_MAX + 8];
	int rc;

	if (cfg->notify.kind == LBX_EP_NONE)
		return;
	rc = agent_notify_ready(&cfg->notify, uptime_ms());
	if (rc < 0) {
		if (lbx_endpoint_format(&cfg->notify, where, sizeof(where)) < 0)
			snprintf(where, sizeof(where), "?");
		lbx_warn("cannot tell the host we are ready (%s): %s", where, strerror(-rc));
	}
}

/*
 * lbx.wayland: lbx-wayland-guest (opened in the initramfs as exe, before
 * the root moved) runs as the box user on $XDG_RUNTIME_DIR/wayland-0, and
 * every session gets XDG_RUNTIME_DIR and WAYLAND_DISPLAY for it.
 */
static void start_wayland(struct agent_config *cfg, int exe)
{
	char dir[48], sock[64], conn[LBX_EP_PATH_MAX + 8];
	pid_t pid;

	if (cfg->wayland.kind == LBX_EP_NONE)
		return;
	if (exe < 0 || lbx_endpoint_format(&cfg->wayland, conn, sizeof(conn)) < 0) {
		lbx_warn("no Wayland in this box: /lbx-wayland-guest is not in the initramfs");
		return;
	}
	snprintf(dir, sizeof(dir), "/run/user/%u", cfg->uid);
	snprintf(sock, sizeof(sock), "%s/wayland-0", dir);
	mkdir("/run/user", 0755);
	if ((mkdir(dir, 0700) < 0 && errno != EEXIST) || chown(dir, cfg->uid, cfg->gid) < 0) {
		lbx_warn("no Wayland in this box: %s: %s", dir, strerror(errno));
		close(exe);
		return;
	}
	pid = fork();
	if (pid == 0) {
		char *argv[] = { "lbx-wayland-guest", "--listen", sock, "--connect", conn, NULL };
		char *envp[] = { NULL };

		if (setgroups(0, NULL) < 0 || setgid(cfg->gid) < 0 || setuid(cfg->uid) < 0)
			_exit(126);
		fexecve(exe, argv, envp);
		_exit(127);
	}
	close(exe);
	if (pid < 0) {
		lbx_warn("no Wayland in this box: fork: %s", strerror(errno));
		return;
	}
	for (int i = 0; i < 2 && cfg->envc < AGENT_MAX_ENV; i++) {
		char *kv = NULL;
		if (asprintf(&kv, i ? "WAYLAND_DISPLAY=wayland-0" : "XDG_RUNTIME_DIR=%s", dir) >= 0)
			cfg->env[cfg->envc++] = kv;
	}
}

/*
 * A box with "gpu" (lbx-gpud): the virtio-gpu driver probed before init, and
 * devtmpfs made its render nodes root's, 0600 (no udev here). Render nodes
 * are for unprivileged rendering: give them to the box user, as udev's
 * "render" group does; card0 (mode setting) stays root's.
 */
static void own_render_nodes(const struct agent_config *cfg)
{
	char path[32];
	struct stat st;

	for (int i = 128; i < 136 && cfg->uid != 0; i++) {
		snprintf(path, sizeof(path), "/dev/dri/renderD%d", i);
		if (lstat(path, &st) < 0 || !S_ISCHR(st.st_mode))
			continue;
		if (chown(path, cfg->uid, cfg->gid) < 0 || chmod(path, 0660) < 0)
			lbx_warn("gpu: cannot give %s to the box user: %s", path, strerror(errno));
	}
}

/* PID 1 of a box. Never returns: the box powers off at the end. */
static void run_init(void) __attribute__((noreturn));
static void run_init(void)
{
	struct exec_service_config svc;
	struct agent_config cfg;
	int listen_fd = -1, status = 0, wayland_exe;
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
	/* Opened before the initramfs goes away with the root switch. */
	wayland_exe =
	    cfg.wayland.kind != LBX_EP_NONE ? open("/lbx-wayland-guest", O_RDONLY | O_CLOEXEC) : -1;
	if (cfg.rootfs[0] && agent_switch_root(cfg.rootfs, err, sizeof(err)) < 0)
		fatal(err);
	if (cfg.net_cidr[0] &&
	    agent_net_configure("eth0", cfg.net_cidr, cfg.net_gw, cfg.net_dns, err, sizeof(err)) < 0)
		fatal(err);
	if (agent_mount_shares(&cfg, err, sizeof(err)) < 0 ||
	    agent_setup_user(&cfg, err, sizeof(err)) < 0)
		fatal(err);
	start_wayland(&cfg, wayland_exe);
	own_render_nodes(&cfg);
	if (cfg.serve.kind != LBX_EP_NONE && (listen_fd = listen_service(&cfg, err, sizeof(err))) < 0)
		fatal(err);
	agent_report("ready uptime_ms=%lu", uptime_ms());
	notify_host(&cfg);
	agent_usb_start(&cfg);
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
	fprintf(f, "usage: lbx-agent                       (PID 1 of a VM: parameters from /proc/cmdline)\n"
		   "       lbx-agent lbx.KEY=VALUE...      (the init of a container, or a test)\n"
		   "The parameters are the same in both cases (common/agent_params.h), e.g.\n"
		   "lbx.serve=unix:/run/lbx/host/agent.sock lbx.notify=unix:/run/lbx/host/ready.sock\n"
		   "lbx.uid=1000 lbx.gid=1000 lbx.user=dev lbx.home=/home/dev lbx.root=0\n"
		   "lbx.rw=/project lbx.ro=/data lbx.elsewhere=none lbx.env=K=V\n"
		   "lbx.ssh=unix:PATH lbx.net-stream=unix:PATH lbx.net=CIDR,GATEWAY,DNS\n"
		   "Out of a VM the agent serves exec sessions on lbx.serve, confining user\n"
		   "sessions with Landlock as in a VM; as PID 1 of a container it also adds\n"
		   "the box user to /etc/passwd and makes its home, and with lbx.net-stream\n"
		   "makes the tap interface eth0, relays its frames to lbx-netd there and\n"
		   "configures it as lbx.net says (needs CAP_NET_ADMIN, which it then drops\n"
		   "from the bounding set so no session can have it).\n");
}

/*
 * A container's eth0: a tap relayed to lbx-netd, configured like a VM's.
 * Then CAP_NET_ADMIN leaves the bounding set: the container had it for
 * this alone, and no session, root or not, may reconfigure the network.
 */
static int setup_net(const struct agent_config *cfg, struct exec_service_config *svc)
{
	char err[256];

	if (cfg->net_stream.kind != LBX_EP_UNIX || !cfg->net_cidr[0]) {
		lbx_err("lbx.net-stream takes a unix:PATH and goes with lbx.net");
		return -EINVAL;
	}
	svc->net = tap_relay_new(TAP_IFNAME, AGENT_NET_MAC, cfg->net_stream.path, err, sizeof(err));
	if (!svc->net) {
		lbx_err("network: %s", err);
		return -EIO;
	}
	if (agent_net_configure(TAP_IFNAME, cfg->net_cidr, cfg->net_gw, cfg->net_dns, err,
				sizeof(err)) < 0) {
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

/* Not PID 1 of a VM: serve exec sessions until SIGTERM or POWEROFF. */
static int run_service(int argc, char **argv)
{
	struct exec_service_config svc = { 0 };
	struct agent_config cfg;
	bool container = getpid() == 1;
	char err[256];
	sigset_t chld;
	int fd = -1, rc = 1;

	if (argc == 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
		usage(stdout);
		return 0;
	}
	if (agent_params_parse_argv(argc - 1, argv + 1, &cfg, err, sizeof(err)) < 0) {
		lbx_err("%s", err);
		usage(stderr);
		agent_config_free(&cfg);
		return 2;
	}
	if (cfg.serve.kind == LBX_EP_NONE) {
		lbx_err("out of a VM the agent needs lbx.serve=ENDPOINT");
		agent_config_free(&cfg);
		return 2;
	}
	if (container && agent_setup_user(&cfg, err, sizeof(err)) < 0) {
		lbx_err("%s", err);
		goto out;
	}
	service_config(&cfg, &svc);
	if (cfg.net_stream.kind != LBX_EP_NONE && setup_net(&cfg, &svc) < 0)
		goto out;
	/* The init of a container: only the host, outside our PID namespace, may connect. */
	svc.outside_peers_only = container;
	fd = listen_service(&cfg, err, sizeof(err));
	if (fd < 0) {
		lbx_err("%s", err);
		goto out;
	}
	/*
	 * The socket is the host user's to connect to: in a rootless container
	 * (--userns=keep-id) our root is a subordinate uid on the host, and an
	 * owner-only socket of that uid would shut the host user out.
	 */
	if (cfg.serve.kind == LBX_EP_UNIX && geteuid() == 0 &&
	    chown(cfg.serve.path, svc.uid, svc.gid) < 0) {
		lbx_err("cannot give %s to uid %u: %s", cfg.serve.path, (unsigned)svc.uid,
			strerror(errno));
		goto out;
	}
	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	sigprocmask(SIG_BLOCK, &chld, NULL);
	notify_host(&cfg);
	rc = agent_serve(fd, &svc, 0, NULL);
	if (cfg.serve.kind == LBX_EP_UNIX)
		unlink(cfg.serve.path);
	if (rc < 0)
		lbx_err("exec service failed: %s", strerror(-rc));
	rc = rc < 0;
out:
	tap_relay_free(svc.net);
	if (fd >= 0)
		close(fd);
	agent_config_free(&cfg);
	return rc;
}

int main(int argc, char **argv)
{
	lbx_log_init("lbx-agent");
	/* PID 1 with parameters: the init of a container (engine light), not of a VM. */
	if (getpid() == 1 && argc < 2)
		run_init();
	return run_service(argc, argv);
}
