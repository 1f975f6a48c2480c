/* SPDX-License-Identifier: MIT */
/*
 * Engine light (engine_light.h). The container gets: the box's root tree
 * (--rootfs, so it is the same tree the VM engines serve, and writes
 * persist the same way), tmpfs on /run and /tmp as in a VM, the project
 * and the box's mounts at their guest paths, RUNTIME/light at
 * /run/lbx/host, and the build's static lbx-agent, read-only. Its own
 * network namespace with a tap to lbx-netd unless the box has none
 * (engine_light.h), the limits TESTING.md needs, and
 * podman's default capabilities and seccomp profile (which allows
 * Landlock). The agent confines user sessions with Landlock exactly as in
 * a VM; root sessions are bounded by the container only, which shares the
 * host kernel. The devices and the agent's parameters are the manifest's.
 */
#include "engine_light.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "engine_args.h"
#include "image.h"
#include "manifest.h"
#include "unixsock.h"

void engine_light_name(const char *box, char *buf, size_t sz)
{
	snprintf(buf, sz, "lbx-%s", box);
}

char **engine_light_argv(const struct box_manifest *m, const char *agent, char *err,
			 size_t errsz)
{
	const struct box_config *c = m->cfg;
	struct argv_buf a = { 0 };
	char name[96];
	int bad = 0;

	engine_light_name(c->name, name, sizeof(name));
	static const char *const base[] = { IMAGE_PODMAN, "run", "--rm", "--replace",
					    IMAGE_PODMAN_ULIMITS, "--network", "none",
					    "--user", "0:0", "--tmpfs", "/run:mode=0755",
					    "--tmpfs", "/tmp:mode=1777" };
	for (size_t i = 0; i < LBX_ARRAY_SIZE(base); i++)
		argv_add(&a, "%s", base[i]);
	/* Rootless: keep the user's uid inside, so the project's files stay theirs. */
	if (getuid() != 0)
		argv_add(&a, "--userns=keep-id");
	argv_add(&a, "--name");
	argv_add(&a, "%s", name);
	argv_add(&a, "--hostname");
	argv_add(&a, "%s", c->name);
	argv_add(&a, "--mount");
	argv_add(&a, "type=bind,source=%s,destination=/run/lbx-agent,ro=true", agent);
	argv_add(&a, "--mount");
	argv_add(&a, "type=bind,source=%s/%s,destination=%s", m->paths->runtime, MF_LIGHT_DIR,
		 MF_LIGHT_GUEST_DIR);
	for (unsigned i = 0; i < m->ndev && !bad; i++)
		bad = manifest_light_device(&m->dev[i], &a, err, errsz);
	/* --rootfs takes the rest of the line as the command. */
	argv_add(&a, "--rootfs");
	argv_add(&a, "%s", m->root);
	argv_add(&a, "/run/lbx-agent");
	for (unsigned i = 0; i < m->nagent; i++)
		argv_add(&a, "%s", m->agent[i]);
	if (a.oom || bad) {
		engine_argv_free(a.v);
		if (!bad)
			snprintf(err, errsz, "out of memory");
		return NULL;
	}
	return a.v;
}

int engine_light_connect_agent(const char *sock, pid_t agent_pid, char *err, size_t errsz)
{
	struct ucred peer;
	socklen_t len = sizeof(peer);
	int fd = lbx_unix_connect(sock, 0);

	if (fd < 0) {
		snprintf(err, errsz, "cannot reach the agent at %s: %s", sock, strerror(-fd));
		return fd;
	}
	/*
	 * SO_PEERCRED of a connected unix socket is the listener's, in our
	 * PID namespace. A root session of the box could put a socket of its
	 * own at this path (the directory is the container's to write); it
	 * would not be the agent's process.
	 */
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &peer, &len) < 0 || agent_pid <= 0 ||
	    peer.pid != agent_pid) {
		snprintf(err, errsz, "the socket %s is not served by the box's agent (pid %d, "
				     "not %d): something in the box replaced it; stop the box with "
				     "'lbx down'", sock, (int)peer.pid, (int)agent_pid);
		close(fd);
		return -EPERM;
	}
	return fd;
}

void engine_light_remove(const char *box)
{
	char name[96];
	pid_t pid;
	int status;

	engine_light_name(box, name, sizeof(name));
	pid = fork();
	if (pid == 0) {
		int devnull = open("/dev/null", O_RDWR);

		if (devnull >= 0) {
			dup2(devnull, 0);
			dup2(devnull, 1);
			dup2(devnull, 2);
		}
		execlp("podman", "podman", "rm", "--force", "--ignore", "--time", "5", name,
		       (char *)NULL);
		_exit(127);
	}
	while (pid > 0 && waitpid(pid, &status, 0) < 0)
		;
}
