/* SPDX-License-Identifier: MIT */
/*
 * What lbx-gpud keeps once it serves (ARCHITECTURE.md: restricted before
 * the first byte from the guest). It is applied after virglrenderer has
 * loaded the GL driver and made its context, and the vhost-user socket
 * listens.
 *
 * Landlock: the render node given (read, write, ioctl), nothing else of
 * the file system; no TCP, no abstract unix sockets, no signals out of
 * the process.
 *
 * seccomp: the loop and the vhost-user session, mapping guest memory,
 * and what Mesa needs to render: threads (llvmpipe's rasterisers, the
 * fence thread), executable mappings (llvmpipe compiles shaders to
 * machine code: no_exec_mem cannot be set), ioctl on the render node. No
 * exec, no fork, no ptrace, no mount, no new sockets.
 * LBX_SECCOMP=log logs instead of killing, in a -Dseccomp_debug=true
 * build only.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "gpud_sandbox.h"
#include "log.h"
#include "sandbox.h"

static const char *const gpud_syscalls[] = {
	/* the loop, the vhost-user session, the display socket */
	"epoll_create1",
	"timerfd_create",
	"timerfd_settime",
	"timerfd_gettime",
	"eventfd2",
	"accept",
	"accept4",
	"recvfrom",
	"sendto",
	"getdents64",
	"prlimit64",
	"recvmsg",
	"sendmsg",
	"getsockopt", /* the frames socket's SO_PEERCRED */
	"unlink",
	"dup",
	"dup3",
	"pread64",
	"pwrite64",
	/* memory: guest RAM, Mesa's allocations and llvmpipe's code */
	"mmap",
	"mprotect",
	"memfd_create",
	"ftruncate",
	/* Mesa: the render node, its threads, its queries */
	"ioctl",
	"sched_yield",
	"sched_getaffinity",
	"sched_setaffinity",
	"sched_getparam",
	"sched_setscheduler",
	"sched_getscheduler",
	"getcpu",
	"sysinfo",
	"uname",
	"getrusage",
	"readlink",
	"readlinkat",
	/* glibc: time, threads, signals, exit */
	"gettimeofday",
	"set_robust_list",
	"rseq",
	"getuid",
	"geteuid",
	"getgid",
	"getegid",
	"tgkill",
	"sigaltstack",
	"prctl",
	"membarrier",
};

static const char *const gpud_enosys[] = { "clone3" };

int gpud_sandbox_apply(const char *render_node)
{
	struct lbx_landlock_rule rule = { .path = render_node,
					  .access = LBX_FS_READ | LBX_FS_WRITE | LBX_FS_DEV };
	struct lbx_seccomp_policy sc = {
		.loop_calls = true,
		.allow = gpud_syscalls,
		.nallow = sizeof(gpud_syscalls) / sizeof(gpud_syscalls[0]),
		.enosys = gpud_enosys,
		.nenosys = 1,
		.threads = true,
		.no_exec_mem = false,
	};
	const char *env = getenv("LBX_SECCOMP");
	int abi;

	abi = lbx_sandbox_landlock(&rule, render_node ? 1 : 0,
				   LBX_LANDLOCK_NO_TCP | LBX_LANDLOCK_SCOPED |
				       LBX_LANDLOCK_BEST_EFFORT);
	if (abi < 0)
		return abi;
	if (abi == 0)
		lbx_warn("no Landlock in this kernel: confinement rests on seccomp alone");
	sc.log_only = env && !strcmp(env, "log");
	lbx_debug("landlock ABI %d: only %s", abi, render_node ? render_node : "no file");
	return lbx_sandbox_seccomp(&sc);
}
