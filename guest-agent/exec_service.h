/* SPDX-License-Identifier: MIT */
/*
 * The agent's exec service: accepts exec sessions (common/exec_proto.h)
 * on a listening stream socket (AF_VSOCK in a VM, AF_UNIX in a container
 * or a test) and runs each as a child process with pipes or a pty.
 *
 * Single-threaded on common/evloop. Each session owns bounded queues in
 * both directions; when a queue is full the side feeding it is no longer
 * polled, so neither a flood of input nor a command printing without end
 * makes the agent allocate more.
 */
#ifndef LBX_AGENT_EXEC_SERVICE_H
#define LBX_AGENT_EXEC_SERVICE_H

#include <stdbool.h>
#include <sys/types.h>

#include "evloop.h"

struct exec_service_config {
	uid_t uid;		/* the box user's identity for ordinary sessions */
	gid_t gid;
	const char *user;	/* USER, LOGNAME */
	const char *home;	/* HOME, and cwd when the request gives none */
	bool allow_root;	/* EXEC_F_ROOT sessions allowed */
	int max_sessions;
	/*
	 * Landlock for sessions that are not root (spawn.c): read-write in
	 * rw_paths, read-only in ro_paths, and everywhere else read-only or
	 * (elsewhere_readable false) only the system directories.
	 */
	bool landlock;
	const char *const *rw_paths;
	unsigned nrw;
	const char *const *ro_paths;
	unsigned nro;
	bool elsewhere_readable;
	/* The box's environment ("K=V"), under each request's own. */
	char *const *env;
	unsigned nenv;
	/* Host vsock port of the box's SSH agent proxy (0: none): see forward.h. */
	unsigned ssh_port;
	/* Or its unix socket, bind-mounted into a container (NULL: none). */
	const char *ssh_unix;
	/*
	 * Over vsock only the host (CID 2) is ever served (exec_service.c).
	 * Over a unix socket, with this set, only peers outside this PID
	 * namespace (SO_PEERCRED gives pid 0 for them). Set when the agent is the init of a container (engine
	 * light): its socket sits in a directory sessions can reach, and
	 * Landlock does not govern connecting to a unix socket, so without
	 * this a session could ask for a root session of its own.
	 */
	bool outside_peers_only;
	/*
	 * Engine light: every session, root ones too, runs under
	 * lbx_sandbox_fs_guard (sandbox.h), since its files are the host's:
	 * no set-id bits, device nodes, chown or xattrs. Default false.
	 */
	bool fs_guard;
	/* Engine light: the tap relay to lbx-netd (netrelay.h), run in the service's loop. */
	struct tap_relay *net;
	/* A host asked for POWEROFF: called once, from the loop. */
	void (*poweroff)(void *data);
	void *poweroff_data;
};

/* Where sessions find the SSH agent when the box has one. */
#define AGENT_SSH_SOCK "/run/lbx/ssh-agent.sock"

struct exec_service;

/* Serve on listen_fd (already bound and listening; non-blocking). */
struct exec_service *exec_service_new(struct lbx_loop *loop, int listen_fd,
				      const struct exec_service_config *cfg);
void exec_service_free(struct exec_service *svc);
/*
 * Give the service a child's wait status (the caller owns SIGCHLD and
 * reaping, since PID 1 reaps orphans too). Returns true if pid was a
 * session's command.
 */
bool exec_service_child_exited(struct exec_service *svc, pid_t pid, int status);
int exec_service_session_count(const struct exec_service *svc);

/* session.c, internal to the service */
struct exec_session;
struct exec_session *exec_session_new(struct exec_service *svc, struct lbx_loop *loop, int fd);
void exec_session_free(struct exec_session *s);
bool exec_session_child_exited(struct exec_session *s, pid_t pid, int status);
/* Called by a session when it is finished, to unlink and free it. */
void exec_service_session_done(struct exec_service *svc, struct exec_session *s);
const struct exec_service_config *exec_service_config(const struct exec_service *svc);

#endif
