/* SPDX-License-Identifier: MIT */
#include "exec_service.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>
#include <linux/vm_sockets.h>

#include "log.h"

#define EXEC_MAX_SESSIONS_DEFAULT 64

struct exec_service {
	struct lbx_loop *loop;
	int listen_fd;
	struct exec_service_config cfg;
	struct exec_session **sessions;
	int nsessions;
};

/* See exec_service_config.outside_peers_only. */
static bool peer_is_outside(int conn)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);

	if (getsockopt(conn, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0) {
		lbx_warn("exec service: refused a connection: SO_PEERCRED: %s", strerror(errno));
		return false;
	}
	if (cred.pid != 0) {
		lbx_warn("exec service: refused a connection from pid %d (uid %u) inside the box: "
			 "only the host drives sessions",
			 (int)cred.pid, (unsigned)cred.uid);
		return false;
	}
	return true;
}

/*
 * Over vsock only the host (CID 2) may drive sessions: a process in the
 * box reaches the agent's port through the loopback transport (CID 1, or
 * the guest's own CID), and Landlock does not govern vsock, so without this
 * a session could ask for a root session of its own.
 */
static bool peer_allowed(const struct exec_service *svc, int conn)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	if (getpeername(conn, (struct sockaddr *)&ss, &len) < 0) {
		lbx_warn("exec service: refused a connection: getpeername: %s", strerror(errno));
		return false;
	}
	if (ss.ss_family == AF_VSOCK) {
		const struct sockaddr_vm *vm = (const struct sockaddr_vm *)&ss;

		if (vm->svm_cid == VMADDR_CID_HOST)
			return true;
		lbx_warn("exec service: refused a vsock connection from CID %u inside the box: "
			 "only the host (CID %u) drives sessions",
			 vm->svm_cid, VMADDR_CID_HOST);
		return false;
	}
	return !svc->cfg.outside_peers_only || peer_is_outside(conn);
}

static void on_accept(struct lbx_loop *loop, int fd, uint32_t events, void *data)
{
	struct exec_service *svc = data;
	struct exec_session *s, **grown;
	int conn = lbx_loop_accept(loop, fd, SOCK_NONBLOCK | SOCK_CLOEXEC, "exec service");

	if (conn < 0) {
		/* Out of fds pauses the listener (lbx_loop_accept) instead of spinning. */
		if (conn != -EAGAIN && conn != -EINTR && !lbx_loop_paused(loop, fd))
			lbx_warn("exec service: accept: %s", strerror(-conn));
		return;
	}
	if (!peer_allowed(svc, conn)) {
		close(conn);
		return;
	}
	if (svc->nsessions >= svc->cfg.max_sessions) {
		lbx_warn("exec service: %d sessions open, refusing another", svc->nsessions);
		close(conn);
		return;
	}
	grown = realloc(svc->sessions, (size_t)(svc->nsessions + 1) * sizeof(*grown));
	if (!grown) {
		close(conn);
		return;
	}
	svc->sessions = grown;
	s = exec_session_new(svc, loop, conn);
	if (!s) {
		close(conn);
		return;
	}
	svc->sessions[svc->nsessions++] = s;
}

struct exec_service *exec_service_new(struct lbx_loop *loop, int listen_fd,
				      const struct exec_service_config *cfg)
{
	struct exec_service *svc = calloc(1, sizeof(*svc));

	if (!svc)
		return NULL;
	svc->loop = loop;
	svc->listen_fd = listen_fd;
	svc->cfg = *cfg;
	if (svc->cfg.max_sessions <= 0)
		svc->cfg.max_sessions = EXEC_MAX_SESSIONS_DEFAULT;
	if (lbx_loop_add(loop, listen_fd, EPOLLIN, on_accept, svc) < 0) {
		free(svc);
		return NULL;
	}
	return svc;
}

void exec_service_free(struct exec_service *svc)
{
	if (!svc)
		return;
	while (svc->nsessions > 0)
		exec_session_free(svc->sessions[--svc->nsessions]);
	lbx_loop_del(svc->loop, svc->listen_fd);
	free(svc->sessions);
	free(svc);
}

bool exec_service_child_exited(struct exec_service *svc, pid_t pid, int status)
{
	for (int i = 0; i < svc->nsessions; i++)
		if (exec_session_child_exited(svc->sessions[i], pid, status))
			return true;
	return false;
}

void exec_service_session_done(struct exec_service *svc, struct exec_session *s)
{
	for (int i = 0; i < svc->nsessions; i++) {
		if (svc->sessions[i] == s) {
			svc->sessions[i] = svc->sessions[--svc->nsessions];
			break;
		}
	}
	exec_session_free(s);
}

int exec_service_session_count(const struct exec_service *svc)
{
	return svc->nsessions;
}

const struct exec_service_config *exec_service_config(const struct exec_service *svc)
{
	return &svc->cfg;
}
