/* SPDX-License-Identifier: MIT */
/*
 * Self-restriction for processes that parse hostile input (ARCHITECTURE.md:
 * every backend restricts itself before it reads a byte from the guest).
 *
 * Two independent layers, applied in this order:
 *
 *   lbx_sandbox_landlock()  the file hierarchies the process may still use,
 *                           and with which rights (Landlock, best ABI the
 *                           kernel offers; TCP and scopes on ABI 4 and 6).
 *   lbx_sandbox_seccomp()   the system calls it may still make (libseccomp
 *                           allow list; anything else kills the process).
 *
 * Both act on the calling thread and the threads it creates afterwards,
 * so call them from the main thread before spawning workers. Both set
 * no_new_privs. The Landlock half needs no library; the seccomp half needs
 * libseccomp (lbx_sandbox_dep in common/meson.build).
 */
#ifndef LBX_SANDBOX_H
#define LBX_SANDBOX_H

#include <stdbool.h>
#include <stddef.h>

#include "compiler.h"

/* Rights on a hierarchy, mapped onto Landlock's access bits. */
#define LBX_FS_READ  (1u << 0) /* read files, list directories */
#define LBX_FS_WRITE (1u << 1) /* write, truncate, create, remove, rename and link within */
#define LBX_FS_EXEC  (1u << 2) /* execute files */
#define LBX_FS_DEV   (1u << 3) /* create device nodes, ioctl on devices */

struct lbx_landlock_rule {
	const char *path; /* opened O_PATH by lbx_sandbox_landlock */
	unsigned access;  /* LBX_FS_* */
};

/* lbx_sandbox_landlock flags */
#define LBX_LANDLOCK_BEST_EFFORT (1u << 0) /* no Landlock in the kernel: return 0, not -EOPNOTSUPP */
#define LBX_LANDLOCK_NO_TCP	 (1u << 1) /* also deny TCP bind and connect (ABI >= 4) */
#define LBX_LANDLOCK_SCOPED	 (1u << 2) /* deny abstract unix sockets and signals leaving the domain (ABI >= 6) */

/* The kernel's Landlock ABI version, or 0 if Landlock is unavailable. */
int lbx_sandbox_landlock_abi(void);

/*
 * Restrict the calling thread (and its future children) to the given
 * hierarchies: everything Landlock can govern is denied outside them.
 * Returns the ABI version enforced (> 0), 0 (best effort, no Landlock), or
 * -errno (-ENOENT names a rule path that does not exist).
 */
LBX_MUST_CHECK int lbx_sandbox_landlock(const struct lbx_landlock_rule *rules, size_t n,
					unsigned flags);

struct lbx_seccomp_policy {
	const char *const *allow; /* system call names; names this arch lacks are skipped */
	size_t nallow;
	/* Answered -ENOSYS instead of killing (clone3: glibc then falls back to clone). */
	const char *const *enosys;
	size_t nenosys;
	bool threads;	  /* allow clone(2) only with CLONE_THREAD (creating threads, not processes) */
	bool no_exec_mem; /* mmap/mprotect never with PROT_EXEC */
	/* Also lbx_seccomp_loop_calls: what every daemon on common/evloop needs. */
	bool loop_calls;
	/*
	 * Log violations instead of killing. Honoured only in a build made
	 * with -Dseccomp_debug=true; otherwise ignored with a warning, so no
	 * environment (LBX_SECCOMP=log) can switch a production filter off.
	 */
	bool log_only;
};

/*
 * The calls every backend on common/evloop makes: descriptors, the epoll
 * loop, memory (mmap and mprotect are the policy's: with or without
 * PROT_EXEC), futexes, time, randomness, signal handling and exit.
 */
extern const char *const lbx_seccomp_loop_calls[];
extern const size_t lbx_seccomp_nloop_calls;

/*
 * Whether the environment asks for log-only filters (LBX_SECCOMP=log) and
 * this build honours it (-Dseccomp_debug=true). In a production build it
 * is always false, and a set LBX_SECCOMP earns one warning.
 */
bool lbx_sandbox_seccomp_log_requested(void);

/*
 * Load a filter that allows exactly the policy's calls; any other call
 * kills the process (SCMP_ACT_KILL_PROCESS). Returns 0 or -errno
 * (-EINVAL names an allow entry libseccomp does not know at all).
 */
LBX_MUST_CHECK int lbx_sandbox_seccomp(const struct lbx_seccomp_policy *policy);

/*
 * The light engine's file-system guard, for every session (root ones too):
 * the box shares the host's file system and kernel, so nothing a session
 * does may leave the host a set-id file, a device node, a file given to
 * another owner, or an xattr (user.containers.override_stat is how lbx-fsd
 * keeps guest-visible owners and modes; security.capability grants file
 * capabilities). A filter that allows every call except:
 *
 *   chmod, fchmod, fchmodat with S_ISUID or S_ISGID     EPERM
 *   open, openat, creat, mkdir, mkdirat, mknod, mknodat
 *     with S_ISUID or S_ISGID in the mode (open: with O_CREAT or O_TMPFILE)
 *                                                      EPERM
 *   mknod, mknodat of S_IFCHR or S_IFBLK               EPERM
 *   chown, fchown, lchown, fchownat unless both ids are -1 (no change)
 *                                                      EPERM
 *   setxattr, lsetxattr, fsetxattr, setxattrat and the removexattr ones
 *     (seccomp cannot read the name in user memory)    EOPNOTSUPP: tools
 *     treat the file system as one without xattrs and carry on
 *   fchmodat2, openat2 (mode in a struct), io_uring_setup (its requests
 *     bypass seccomp), file_setattr                    ENOSYS: libc falls
 *     back to fchmodat and openat
 *
 * The sticky bit stays allowed: it grants nothing. Calls of another
 * architecture (i386 int 0x80, x32) kill the process, so none bypass the
 * rules. set_nnp: set no_new_privs (needed unless the caller holds
 * CAP_SYS_ADMIN). Returns 0 or -errno.
 */
LBX_MUST_CHECK int lbx_sandbox_fs_guard(bool set_nnp);

#endif
