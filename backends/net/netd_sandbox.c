/* SPDX-License-Identifier: MIT */
/*
 * What lbx-netd keeps once it serves (ARCHITECTURE.md: restricted before
 * the first byte from the guest). It is applied after slirp is created,
 * the port forwards are bound and the sockets are listening.
 *
 * Landlock: read /etc/resolv.conf (slirp re-reads it to find the host's
 * resolver), nothing else of the file system; no abstract unix sockets,
 * no signals out of the process. TCP is not restricted by Landlock: slirp
 * connects wherever the policy lets the guest connect, on any port.
 *
 * seccomp: sockets for slirp (TCP, UDP, ICMP "ping" sockets), the
 * vhost-user or stream socket (accept4, read, writev) and the control
 * socket, epoll and timerfds, mapping guest memory (never executable),
 * and what glibc and GLib need; no exec, no fork, no ptrace, no mount.
 * LBX_SECCOMP=log logs instead of killing, in a -Dseccomp_debug=true build
 * only (lbx_sandbox_seccomp ignores log_only otherwise).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "netd.h"
#include "sandbox.h"

#define RESOLV_CONF "/etc/resolv.conf"

static const char *const netd_syscalls[] = {
	/* the loop, the vhost-user session or stream peer, the control socket */
	"epoll_create1", "timerfd_create", "timerfd_settime", "timerfd_gettime", "eventfd2",
	"accept", "accept4", "recvmsg", "sendmsg", "unlink", /* mmap, mprotect: no_exec_mem */
	/* slirp: its sockets, and reading /etc/resolv.conf */
	"socket", "connect", "bind", "listen", "getsockname", "getpeername", "setsockopt",
	"getsockopt", "sendto", "recvfrom", "shutdown", "ioctl", "stat", "dup",
	/* glibc and GLib: time, memory, threads they may start, signals, exit */
	"gettimeofday", "set_robust_list", "rseq", "sched_yield", "sched_getaffinity", "getuid",
	"geteuid", "getgid", "getegid", "tgkill", "sigaltstack", "prctl",
};

static const char *const netd_enosys[] = { "clone3" };

int netd_sandbox_apply(void)
{
	struct lbx_landlock_rule rule = { .path = RESOLV_CONF, .access = LBX_FS_READ };
	struct lbx_seccomp_policy sc = {
		.loop_calls = true,
		.allow = netd_syscalls,
		.nallow = sizeof(netd_syscalls) / sizeof(netd_syscalls[0]),
		.enosys = netd_enosys,
		.nenosys = 1,
		.threads = true,
		.no_exec_mem = true,
	};
	const char *env = getenv("LBX_SECCOMP");
	bool have_resolv = access(RESOLV_CONF, F_OK) == 0;
	int abi;

	abi = lbx_sandbox_landlock(&rule, have_resolv ? 1 : 0,
				   LBX_LANDLOCK_SCOPED | LBX_LANDLOCK_BEST_EFFORT);
	if (abi < 0)
		return abi;
	if (abi == 0)
		lbx_warn("no Landlock in this kernel: confinement rests on seccomp alone");
	sc.log_only = env && !strcmp(env, "log");
	lbx_debug("landlock ABI %d: only %s, read-only", abi, RESOLV_CONF);
	return lbx_sandbox_seccomp(&sc);
}
