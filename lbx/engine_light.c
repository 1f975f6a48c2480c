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
 * host kernel.
 */
#include "engine_light.h"

#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "engine_args.h"
#include "image.h"

void engine_light_name(const char *box, char *buf, size_t sz)
{
	snprintf(buf, sz, "lbx-%s", box);
}

/* podman --mount splits on ',' and '='; such a path cannot be given to it. */
static int add_bind(struct argv_buf *a, const char *src, const char *dst, bool ro, char *err,
		    size_t errsz)
{
	const char *bad = strpbrk(src, ",=") ? src : (strpbrk(dst, ",=") ? dst : NULL);

	if (bad) {
		snprintf(err, errsz, "engine light cannot mount %s: podman takes no ',' or '=' in "
				     "mount paths", bad);
		return -1;
	}
	argv_add(a, "--mount");
	argv_add(a, "type=bind,source=%s,destination=%s%s", src, dst, ro ? ",ro=true" : "");
	return 0;
}

static void agent_args(struct argv_buf *a, const struct box_config *c)
{
	struct passwd *pw = getpwuid(getuid());
	char home[4096];

	image_box_home(home, sizeof(home));
	argv_add(a, "--serve-unix");
	argv_add(a, "%s/agent.sock", LIGHT_GUEST_DIR);
	argv_add(a, "--notify-unix");
	argv_add(a, "%s/ready.sock", LIGHT_GUEST_DIR);
	argv_add(a, "--setup-user");
	argv_add(a, "--landlock");
	argv_add(a, "--uid");
	argv_add(a, "%u", (unsigned)getuid());
	argv_add(a, "--gid");
	argv_add(a, "%u", (unsigned)getgid());
	argv_add(a, "--user");
	argv_add(a, "%s", getuid() == 0 ? "root" : (pw ? pw->pw_name : "user"));
	argv_add(a, "--home");
	argv_add(a, "%s", home);
	argv_add(a, "--rw");
	argv_add(a, "%s", c->workdir);
	for (unsigned i = 0; i < c->nmounts; i++) {
		argv_add(a, c->mounts[i].read_only ? "--ro" : "--rw");
		argv_add(a, "%s", c->mounts[i].guest);
	}
	for (unsigned i = 0; i < c->nrw; i++) {
		argv_add(a, "--rw");
		argv_add(a, "%s", c->rw_paths[i]);
	}
	for (unsigned i = 0; i < c->nro; i++) {
		argv_add(a, "--ro");
		argv_add(a, "%s", c->ro_paths[i]);
	}
	if (!c->elsewhere_readable) {
		argv_add(a, "--elsewhere");
		argv_add(a, "none");
	}
	if (!c->root_sessions)
		argv_add(a, "--no-root");
	for (unsigned i = 0; i < c->nenv; i++) {
		argv_add(a, "--env");
		argv_add(a, "%s", c->env[i]);
	}
	if (c->ssh_policy) {
		argv_add(a, "--ssh-unix");
		argv_add(a, "%s/ssh.sock", LIGHT_GUEST_DIR);
	}
	if (!c->net_none) {
		argv_add(a, "--net-stream");
		argv_add(a, "%s/net.sock", LIGHT_GUEST_DIR);
		argv_add(a, "--net");
		argv_add(a, "%s", LBX_GUEST_NET);
	}
}

char **engine_light_argv(const struct supervisor_opts *o, const char *agent, const char *root,
			 char *err, size_t errsz)
{
	const struct box_config *c = o->cfg;
	struct argv_buf a = { 0 };
	char name[96], dir[4200];
	int bad = 0;

	engine_light_name(c->name, name, sizeof(name));
	snprintf(dir, sizeof(dir), "%s/%s", o->paths->runtime, LIGHT_DIR);
	static const char *const base[] = { IMAGE_PODMAN, "run", "--rm", "--replace",
					    IMAGE_PODMAN_ULIMITS, "--network", "none",
					    "--user", "0:0", "--tmpfs", "/run:mode=0755",
					    "--tmpfs", "/tmp:mode=1777" };
	for (size_t i = 0; i < LBX_ARRAY_SIZE(base); i++)
		argv_add(&a, "%s", base[i]);
	/* Rootless: keep the user's uid inside, so the project's files stay theirs. */
	if (getuid() != 0)
		argv_add(&a, "--userns=keep-id");
	/* The tap for lbx-netd (engine_light.h); the agent drops the capability after. */
	if (!c->net_none) {
		argv_add(&a, "--device");
		argv_add(&a, "/dev/net/tun");
		argv_add(&a, "--cap-add");
		argv_add(&a, "NET_ADMIN");
	}
	argv_add(&a, "--name");
	argv_add(&a, "%s", name);
	argv_add(&a, "--hostname");
	argv_add(&a, "%s", c->name);
	bad |= add_bind(&a, agent, "/run/lbx-agent", true, err, errsz);
	bad |= add_bind(&a, dir, LIGHT_GUEST_DIR, false, err, errsz);
	bad |= add_bind(&a, c->project, c->workdir, false, err, errsz);
	for (unsigned i = 0; i < c->nmounts; i++)
		bad |= add_bind(&a, c->mounts[i].host, c->mounts[i].guest, c->mounts[i].read_only,
				err, errsz);
	/* --rootfs takes the rest of the line as the command. */
	argv_add(&a, "--rootfs");
	argv_add(&a, "%s", root);
	argv_add(&a, "/run/lbx-agent");
	agent_args(&a, c);
	if (a.oom || bad) {
		engine_argv_free(a.v);
		if (!bad)
			snprintf(err, errsz, "out of memory");
		return NULL;
	}
	return a.v;
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
