/* SPDX-License-Identifier: MIT */
/*
 * Running the exec service: the listening socket (vsock in a VM, a unix
 * socket elsewhere), the event loop, and child reaping. PID 1 reaps every
 * orphan in the box, so SIGCHLD is handled here and each status is offered
 * to the sessions first.
 */
#include <errno.h>
#include <stdbool.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agent.h"
#include "exec_service.h"
#include "forward.h"
#include "log.h"
#include "netrelay.h"

struct serve_state {
	struct lbx_loop *loop;
	struct exec_service *svc;
	bool poweroff;
	struct forwarder *ssh;
	pid_t watch_pid; /* a command whose exit ends the service (0: none) */
	int watch_status;
	bool done;
};

static void on_signal(struct lbx_loop *loop, int signo, void *data)
{
	struct serve_state *st = data;
	int status;
	pid_t pid;

	if (signo != SIGCHLD) {
		lbx_info("signal %d: stopping the exec service", signo);
		lbx_loop_stop(loop, 0);
		return;
	}
	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		if (exec_service_child_exited(st->svc, pid, status))
			continue;
		if (pid == st->watch_pid) {
			st->watch_status = status;
			st->done = true;
			lbx_loop_stop(loop, 1);
		}
	}
}

static void on_poweroff(void *data)
{
	struct serve_state *st = data;

	lbx_info("poweroff requested by the host");
	st->poweroff = true;
	st->done = true;
	lbx_loop_stop(st->loop, 2);
}

int agent_serve(int listen_fd, const struct exec_service_config *config, pid_t watch_pid,
		int *watch_status)
{
	static const int sigs[] = { SIGCHLD, SIGTERM, SIGINT };
	struct serve_state st = { .watch_pid = watch_pid };
	struct exec_service_config cfg = *config;
	struct lbx_loop *loop = lbx_loop_new();
	int rc;

	if (!loop)
		return -ENOMEM;
	st.loop = loop;
	cfg.poweroff = on_poweroff;
	cfg.poweroff_data = &st;
	signal(SIGPIPE, SIG_IGN);
	st.svc = exec_service_new(loop, listen_fd, &cfg);
	if (st.svc && (cfg.ssh_port || cfg.ssh_unix)) {
		int err;

		mkdir("/run/lbx", 0755);
		st.ssh = forwarder_new(loop, AGENT_SSH_SOCK, cfg.ssh_port, cfg.ssh_unix, cfg.uid,
				       cfg.gid, &err);
		if (!st.ssh)
			lbx_warn("no SSH agent in this box: %s: %s", AGENT_SSH_SOCK, strerror(-err));
	}
	if (!st.svc || lbx_loop_add_signals(loop, sigs, (int)LBX_ARRAY_SIZE(sigs), on_signal, &st) < 0) {
		exec_service_free(st.svc);
		lbx_loop_free(loop);
		return -ENOMEM;
	}
	if (cfg.net)
		tap_relay_attach(cfg.net, loop);
	/* A child may have exited before the signalfd existed. */
	on_signal(loop, SIGCHLD, &st);
	rc = st.done ? 1 : lbx_loop_run(loop);
	if (st.poweroff) {
		/* Let the POWEROFF session see its stream close before we stop. */
		rc = 2;
	} else if (rc == 1 && watch_status) {
		*watch_status = st.watch_status;
	}
	if (cfg.net)
		tap_relay_detach(cfg.net);
	forwarder_free(st.ssh);
	exec_service_free(st.svc);
	lbx_loop_free(loop);
	return rc < 0 ? rc : 0;
}

int agent_notify_ready(const struct lbx_endpoint *ep, unsigned long uptime_ms)
{
	char line[64];
	int fd = lbx_endpoint_connect(ep), n, rc = 0;

	if (fd < 0)
		return fd;
	n = snprintf(line, sizeof(line), "READY uptime_ms=%lu\n", uptime_ms);
	if (write(fd, line, (size_t)n) != n)
		rc = -EIO;
	close(fd);
	return rc;
}
