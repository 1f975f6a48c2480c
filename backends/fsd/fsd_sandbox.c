/* SPDX-License-Identifier: MIT */
/*
 * What lbx-fsd keeps once it serves (ARCHITECTURE.md: restricted before
 * the first byte from the guest):
 *
 * Landlock: the shared tree only, read-write or read-only; no TCP, no
 * abstract unix sockets or signals outside the process. Everything the
 * core touches is reached through fds it already holds (the tree's O_PATH
 * fds, /proc/self/fd, /dev/fuse); reopening through /proc/self/fd is
 * checked against the tree the inode lives in, so it stays allowed.
 *
 * seccomp: the file system calls of the handlers, memory and threads for
 * glibc (clone only with CLONE_THREAD, no executable mappings), and
 * nothing else: no socket, no exec, no ptrace, no mount.
 * LBX_SECCOMP=log logs violations instead of killing, for debugging, in a
 * -Dseccomp_debug=true build only (lbx_sandbox_seccomp ignores it otherwise).
 */
#include "fsd_sandbox.h"

#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "sandbox.h"

static const char *const fsd_syscalls[] = {
	/* requests and replies */
	"pread64", "pwrite64", "preadv", "pwritev", "preadv2", "pwritev2", "eventfd2",
	/* the handlers */
	"openat2", "getdents64", "mkdirat", "mknodat", "symlinkat", "linkat", "unlinkat",
	"renameat", "renameat2", "readlinkat", "fchmod", "chmod", "fchmodat", "fchown", "fchownat",
	"ftruncate", "utimensat", "fsync", "fdatasync", "fallocate", "copy_file_range", "fstatfs",
	"statfs", "getxattr", "setxattr", "listxattr", "removexattr", "setfsuid", "setfsgid",
	"dup",
	/* host edits (watch.c) */
	"inotify_add_watch", "inotify_rm_watch", "fanotify_mark", "name_to_handle_at",
	/* glibc: memory, threads, time, signals, abort */
	"set_robust_list", "rseq", "sched_yield", "sched_getaffinity", "sigaltstack", "tgkill",
};

/* vhost-user adds messages with fds (SCM_RIGHTS) and guest memory mappings. */
static const char *const fsd_vhost_syscalls[] = { "recvmsg", "sendmsg", "recvfrom", "sendto" };

static const char *const fsd_enosys[] = { "clone3" };

int fsd_sandbox_apply(const char *shared_dir, bool read_only, bool vhost)
{
	const char *allow[LBX_ARRAY_SIZE(fsd_syscalls) + LBX_ARRAY_SIZE(fsd_vhost_syscalls)];
	size_t nallow = 0;
	struct lbx_landlock_rule rule = {
		.path = shared_dir,
		.access = LBX_FS_READ | (read_only ? 0 : LBX_FS_WRITE),
	};
	struct lbx_seccomp_policy sc = {
		.loop_calls = true,
		.allow = allow,
		.enosys = fsd_enosys,
		.nenosys = 1,
		.threads = true,
		.no_exec_mem = true,
	};
	const char *env = getenv("LBX_SECCOMP");
	int abi;

	abi = lbx_sandbox_landlock(&rule, 1,
				   LBX_LANDLOCK_NO_TCP | LBX_LANDLOCK_SCOPED | LBX_LANDLOCK_BEST_EFFORT);
	if (abi < 0)
		return abi;
	if (abi == 0)
		lbx_warn("no Landlock in this kernel: confinement rests on openat2 and seccomp alone");
	for (size_t i = 0; i < LBX_ARRAY_SIZE(fsd_syscalls); i++)
		allow[nallow++] = fsd_syscalls[i];
	for (size_t i = 0; vhost && i < LBX_ARRAY_SIZE(fsd_vhost_syscalls); i++)
		allow[nallow++] = fsd_vhost_syscalls[i];
	sc.nallow = nallow;
	sc.log_only = env && !strcmp(env, "log");
	lbx_debug("landlock ABI %d: only %s (%s)", abi, shared_dir,
		  read_only ? "read-only" : "read-write");
	return lbx_sandbox_seccomp(&sc);
}
