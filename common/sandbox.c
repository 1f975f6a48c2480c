/* SPDX-License-Identifier: MIT */
#include "sandbox.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/landlock.h>
#include <sched.h>
#include <seccomp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "log.h"

/*
 * Debian 12's uapi header stops at Landlock ABI 2; the later bits are
 * stable kernel ABI (include/uapi/linux/landlock.h), so name them here.
 */
#ifndef LANDLOCK_ACCESS_FS_TRUNCATE
#define LANDLOCK_ACCESS_FS_TRUNCATE (1ULL << 14) /* ABI 3 */
#endif
#ifndef LANDLOCK_ACCESS_FS_IOCTL_DEV
#define LANDLOCK_ACCESS_FS_IOCTL_DEV (1ULL << 15) /* ABI 5 */
#endif
#define LBX_LL_NET_BIND_TCP    (1ULL << 0) /* ABI 4 */
#define LBX_LL_NET_CONNECT_TCP (1ULL << 1)
#define LBX_LL_SCOPE_ABSTRACT  (1ULL << 0) /* ABI 6 */
#define LBX_LL_SCOPE_SIGNAL    (1ULL << 1)

/* struct landlock_ruleset_attr as of ABI 6; older kernels get a prefix of it. */
struct lbx_ll_ruleset_attr {
	uint64_t handled_access_fs;
	uint64_t handled_access_net;
	uint64_t scoped;
};

#define LL_FS_READ (LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_READ_DIR)
#define LL_FS_WRITE                                                                         \
	(LANDLOCK_ACCESS_FS_WRITE_FILE | LANDLOCK_ACCESS_FS_REMOVE_DIR |                    \
	 LANDLOCK_ACCESS_FS_REMOVE_FILE | LANDLOCK_ACCESS_FS_MAKE_DIR |                     \
	 LANDLOCK_ACCESS_FS_MAKE_REG | LANDLOCK_ACCESS_FS_MAKE_SOCK |                       \
	 LANDLOCK_ACCESS_FS_MAKE_FIFO | LANDLOCK_ACCESS_FS_MAKE_SYM |                       \
	 LANDLOCK_ACCESS_FS_REFER | LANDLOCK_ACCESS_FS_TRUNCATE)
#define LL_FS_EXEC LANDLOCK_ACCESS_FS_EXECUTE
#define LL_FS_DEV                                                                           \
	(LANDLOCK_ACCESS_FS_MAKE_CHAR | LANDLOCK_ACCESS_FS_MAKE_BLOCK |                     \
	 LANDLOCK_ACCESS_FS_IOCTL_DEV)
/* Rights that make sense on a non-directory (the kernel refuses the rest there). */
#define LL_FS_FILE_RIGHTS                                                                   \
	(LANDLOCK_ACCESS_FS_EXECUTE | LANDLOCK_ACCESS_FS_WRITE_FILE |                       \
	 LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_TRUNCATE |                       \
	 LANDLOCK_ACCESS_FS_IOCTL_DEV)

int lbx_sandbox_landlock_abi(void)
{
	long abi = syscall(__NR_landlock_create_ruleset, NULL, 0, LANDLOCK_CREATE_RULESET_VERSION);

	return abi < 0 ? 0 : (int)abi;
}

/* Everything this ABI version can govern (Landlock docs, "Backward compatibility"). */
static uint64_t ll_fs_known(int abi)
{
	uint64_t all = LL_FS_READ | LL_FS_WRITE | LL_FS_EXEC | LL_FS_DEV;

	if (abi < 2)
		all &= ~(uint64_t)LANDLOCK_ACCESS_FS_REFER;
	if (abi < 3)
		all &= ~(uint64_t)LANDLOCK_ACCESS_FS_TRUNCATE;
	if (abi < 5)
		all &= ~(uint64_t)LANDLOCK_ACCESS_FS_IOCTL_DEV;
	return all;
}

static uint64_t ll_fs_rights(unsigned access)
{
	uint64_t r = 0;

	if (access & LBX_FS_READ)
		r |= LL_FS_READ;
	if (access & LBX_FS_WRITE)
		r |= LL_FS_WRITE;
	if (access & LBX_FS_EXEC)
		r |= LL_FS_EXEC;
	if (access & LBX_FS_DEV)
		r |= LL_FS_DEV;
	return r;
}

static int ll_add_rule(int ruleset, const struct lbx_landlock_rule *rule, uint64_t known)
{
	struct landlock_path_beneath_attr pb;
	struct stat st;
	int fd, err = 0;

	fd = open(rule->path, O_PATH | O_CLOEXEC);
	if (fd < 0) {
		err = -errno;
		lbx_err("landlock: cannot open %s: %s", rule->path, strerror(errno));
		return err;
	}
	memset(&pb, 0, sizeof(pb));
	pb.parent_fd = fd;
	pb.allowed_access = ll_fs_rights(rule->access) & known;
	if (fstat(fd, &st) == 0 && !S_ISDIR(st.st_mode))
		pb.allowed_access &= LL_FS_FILE_RIGHTS;
	if (pb.allowed_access &&
	    syscall(__NR_landlock_add_rule, ruleset, LANDLOCK_RULE_PATH_BENEATH, &pb, 0) < 0) {
		err = -errno;
		lbx_err("landlock: cannot add a rule for %s: %s", rule->path, strerror(errno));
	}
	close(fd);
	return err;
}

static int ll_create_ruleset(int abi, unsigned flags)
{
	struct lbx_ll_ruleset_attr attr = { .handled_access_fs = ll_fs_known(abi) };
	size_t size = sizeof(attr.handled_access_fs);
	long fd;

	if (abi >= 4) {
		size += sizeof(attr.handled_access_net);
		if (flags & LBX_LANDLOCK_NO_TCP)
			attr.handled_access_net = LBX_LL_NET_BIND_TCP | LBX_LL_NET_CONNECT_TCP;
	}
	if (abi >= 6) {
		size += sizeof(attr.scoped);
		if (flags & LBX_LANDLOCK_SCOPED)
			attr.scoped = LBX_LL_SCOPE_ABSTRACT | LBX_LL_SCOPE_SIGNAL;
	}
	fd = syscall(__NR_landlock_create_ruleset, &attr, size, 0);
	return fd < 0 ? -errno : (int)fd;
}

int lbx_sandbox_landlock(const struct lbx_landlock_rule *rules, size_t n, unsigned flags)
{
	int abi = lbx_sandbox_landlock_abi(), ruleset, err = 0;
	uint64_t known;

	if (abi <= 0) {
		if (flags & LBX_LANDLOCK_BEST_EFFORT)
			return 0;
		lbx_err("landlock: not available in this kernel (CONFIG_SECURITY_LANDLOCK, lsm=)");
		return -EOPNOTSUPP;
	}
	known = ll_fs_known(abi);
	ruleset = ll_create_ruleset(abi, flags);
	if (ruleset < 0) {
		lbx_err("landlock: cannot create a ruleset: %s", strerror(-ruleset));
		return ruleset;
	}
	for (size_t i = 0; i < n && !err; i++)
		err = ll_add_rule(ruleset, &rules[i], known);
	/* Landlock requires no_new_privs for an unprivileged caller. */
	if (!err && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		err = -errno;
	if (!err && syscall(__NR_landlock_restrict_self, ruleset, 0) < 0) {
		err = -errno;
		lbx_err("landlock: cannot restrict this process: %s", strerror(errno));
	}
	close(ruleset);
	return err ? err : abi;
}

static int sc_add_names(scmp_filter_ctx ctx, uint32_t action, const char *const *names, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		int nr = seccomp_syscall_resolve_name(names[i]);
		int err;

		if (nr == __NR_SCMP_ERROR) {
			lbx_err("seccomp: unknown system call '%s'", names[i]);
			return -EINVAL;
		}
		if (nr < 0)
			continue; /* a pseudo-syscall: this arch has no such call */
		err = seccomp_rule_add(ctx, action, nr, 0);
		if (err < 0 && err != -EEXIST) {
			lbx_err("seccomp: cannot add '%s': %s", names[i], strerror(-err));
			return err;
		}
	}
	return 0;
}

/* clone(2) for threads only: the flags argument must carry CLONE_THREAD. */
static int sc_add_threads(scmp_filter_ctx ctx)
{
	return seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(clone), 1,
				SCMP_A0(SCMP_CMP_MASKED_EQ, CLONE_THREAD, CLONE_THREAD));
}

/* mmap/mprotect without PROT_EXEC: no new code can appear after the filter. */
static int sc_add_noexec_mem(scmp_filter_ctx ctx)
{
	int err = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(mmap), 1,
				   SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0));

	if (!err)
		err = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(mprotect), 1,
				       SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0));
	return err;
}

#ifndef LBX_SECCOMP_DEBUG
#define LBX_SECCOMP_DEBUG 0
#endif

static void warn_log_ignored(void)
{
	static bool warned;

	if (!warned)
		lbx_warn("seccomp: LBX_SECCOMP=log ignored: this build enforces its filters "
			 "(log-only needs a build with -Dseccomp_debug=true)");
	warned = true;
}

bool lbx_sandbox_seccomp_log_requested(void)
{
	const char *env = getenv("LBX_SECCOMP");

	if (!env || !*env)
		return false;
	if (!LBX_SECCOMP_DEBUG) {
		warn_log_ignored();
		return false;
	}
	return !strcmp(env, "log");
}

const char *const lbx_seccomp_loop_calls[] = {
	"read",
	"write",
	"readv",
	"writev",
	"close",
	"lseek",
	"fcntl",
	"fstat",
	"newfstatat",
	"statx",
	"openat",
	"epoll_wait",
	"epoll_pwait",
	"epoll_ctl",
	"poll",
	"ppoll",
	"brk",
	"munmap",
	"mremap",
	"madvise",
	"futex",
	"clock_gettime",
	"clock_nanosleep",
	"nanosleep",
	"getrandom",
	"getpid",
	"gettid",
	"rt_sigaction",
	"rt_sigprocmask",
	"rt_sigreturn",
	"restart_syscall",
	"exit",
	"exit_group",
};
const size_t lbx_seccomp_nloop_calls = LBX_ARRAY_SIZE(lbx_seccomp_loop_calls);

int lbx_sandbox_seccomp(const struct lbx_seccomp_policy *p)
{
	bool log_only = p->log_only && LBX_SECCOMP_DEBUG;
	uint32_t deny = log_only ? SCMP_ACT_LOG : SCMP_ACT_KILL_PROCESS;
	scmp_filter_ctx ctx;
	int err;

	if (p->log_only && !log_only)
		warn_log_ignored();
	ctx = seccomp_init(deny);
	if (!ctx)
		return -ENOMEM;
	err = sc_add_names(ctx, SCMP_ACT_ALLOW, p->allow, p->nallow);
	if (!err && p->loop_calls)
		err = sc_add_names(ctx, SCMP_ACT_ALLOW, lbx_seccomp_loop_calls, lbx_seccomp_nloop_calls);
	if (!err)
		err = sc_add_names(ctx, SCMP_ACT_ERRNO(ENOSYS), p->enosys, p->nenosys);
	if (!err && p->threads)
		err = sc_add_threads(ctx);
	if (!err && p->no_exec_mem)
		err = sc_add_noexec_mem(ctx);
	if (!err) {
		err = seccomp_load(ctx);
		if (err)
			lbx_err("seccomp: cannot load the filter: %s", strerror(-err));
	}
	seccomp_release(ctx);
	return err;
}

/* ---- the light engine's file-system guard (sandbox.h) ---- */

#define SETID_BITS (S_ISUID | S_ISGID)
/* O_TMPFILE without O_DIRECTORY: the bit that says "tmpfile" (asm-generic/fcntl.h). */
#define O_TMPFILE_BIT (O_TMPFILE & ~O_DIRECTORY)

/*
 * Calls newer than libseccomp 2.5 may know by name. From 424 on every
 * architecture shares one numbering (asm-generic/unistd.h), x86_64 and
 * arm64 included.
 */
static const struct {
	const char *name;
	int nr;
} fsg_new_calls[] = {
	{ "fchmodat2", 452 },
	{ "setxattrat", 463 },
	{ "removexattrat", 466 },
	{ "file_setattr", 469 },
};

static int fsg_nr(const char *name)
{
	int nr = seccomp_syscall_resolve_name(name);

	if (nr != __NR_SCMP_ERROR)
		return nr;
	for (size_t i = 0; i < sizeof(fsg_new_calls) / sizeof(fsg_new_calls[0]); i++)
		if (!strcmp(fsg_new_calls[i].name, name))
			return fsg_new_calls[i].nr;
	return __NR_SCMP_ERROR;
}

/* One rule; a call this architecture lacks (open on arm64) is skipped. */
static int fsg_rule(scmp_filter_ctx ctx, uint32_t action, const char *name, unsigned n,
		    const struct scmp_arg_cmp *cmp)
{
	int nr = fsg_nr(name), err;

	if (nr == __NR_SCMP_ERROR) {
		lbx_err("seccomp: unknown system call '%s'", name);
		return -EINVAL;
	}
	if (nr < 0)
		return 0;
	err = seccomp_rule_add_array(ctx, action, nr, n, cmp);
	if (err < 0 && err != -EEXIST)
		lbx_err("seccomp: cannot add a rule for '%s': %s", name, strerror(-err));
	return err == -EEXIST ? 0 : err;
}

static struct scmp_arg_cmp fsg_masked(unsigned arg, uint64_t mask, uint64_t want)
{
	return (struct scmp_arg_cmp){
		.arg = arg, .op = SCMP_CMP_MASKED_EQ, .datum_a = mask, .datum_b = want
	};
}

/* EPERM when the mode argument carries S_ISUID, or S_ISGID. */
static int fsg_mode(scmp_filter_ctx ctx, const char *name, unsigned mode_arg)
{
	static const uint64_t bits[] = { S_ISUID, S_ISGID };
	int err = 0;

	for (size_t i = 0; i < 2 && !err; i++) {
		struct scmp_arg_cmp c = fsg_masked(mode_arg, bits[i], bits[i]);

		err = fsg_rule(ctx, SCMP_ACT_ERRNO(EPERM), name, 1, &c);
	}
	return err;
}

/* open-like: only when the flags create a file (O_CREAT or O_TMPFILE). */
static int fsg_open(scmp_filter_ctx ctx, const char *name, unsigned flags_arg)
{
	static const uint64_t create[] = { O_CREAT, O_TMPFILE_BIT }, bits[] = { S_ISUID, S_ISGID };
	int err = 0;

	for (size_t i = 0; i < 2 && !err; i++)
		for (size_t j = 0; j < 2 && !err; j++) {
			struct scmp_arg_cmp c[2] = { fsg_masked(flags_arg, create[i], create[i]),
						     fsg_masked(flags_arg + 1, bits[j], bits[j]) };

			err = fsg_rule(ctx, SCMP_ACT_ERRNO(EPERM), name, 2, c);
		}
	return err;
}

/* mknod-like: set-id bits, character and block devices. */
static int fsg_mknod(scmp_filter_ctx ctx, const char *name, unsigned mode_arg)
{
	static const uint64_t types[] = { S_IFCHR, S_IFBLK };
	int err = fsg_mode(ctx, name, mode_arg);

	for (size_t i = 0; i < 2 && !err; i++) {
		struct scmp_arg_cmp c = fsg_masked(mode_arg, S_IFMT, types[i]);

		err = fsg_rule(ctx, SCMP_ACT_ERRNO(EPERM), name, 1, &c);
	}
	return err;
}

/*
 * chown-like: EPERM unless owner and group are both (uid_t)-1. A caller
 * that sets the upper half of the register still differs from the
 * zero-extended -1, so it is refused too.
 */
static int fsg_chown(scmp_filter_ctx ctx, const char *name, unsigned uid_arg)
{
	int err = 0;

	for (unsigned a = uid_arg; a <= uid_arg + 1 && !err; a++) {
		struct scmp_arg_cmp c = { .arg = a, .op = SCMP_CMP_NE, .datum_a = 0xffffffffu };

		err = fsg_rule(ctx, SCMP_ACT_ERRNO(EPERM), name, 1, &c);
	}
	return err;
}

static int fsg_rules(scmp_filter_ctx ctx)
{
	static const char *const xattr_set[] = { "setxattr",	 "lsetxattr",	 "fsetxattr",
						 "setxattrat",	 "removexattr",	 "lremovexattr",
						 "fremovexattr", "removexattrat" };
	static const char *const enosys[] = { "fchmodat2", "openat2", "io_uring_setup",
					      "file_setattr" };
	int err = 0;

	err = err ?: fsg_mode(ctx, "chmod", 1);
	err = err ?: fsg_mode(ctx, "fchmod", 1);
	err = err ?: fsg_mode(ctx, "fchmodat", 2);
	err = err ?: fsg_open(ctx, "open", 1);
	err = err ?: fsg_open(ctx, "openat", 2);
	err = err ?: fsg_mode(ctx, "creat", 1);
	err = err ?: fsg_mode(ctx, "mkdir", 1);
	err = err ?: fsg_mode(ctx, "mkdirat", 2);
	err = err ?: fsg_mknod(ctx, "mknod", 1);
	err = err ?: fsg_mknod(ctx, "mknodat", 2);
	err = err ?: fsg_chown(ctx, "chown", 1);
	err = err ?: fsg_chown(ctx, "lchown", 1);
	err = err ?: fsg_chown(ctx, "fchown", 1);
	err = err ?: fsg_chown(ctx, "fchownat", 2);
	for (size_t i = 0; i < LBX_ARRAY_SIZE(xattr_set) && !err; i++)
		err = fsg_rule(ctx, SCMP_ACT_ERRNO(EOPNOTSUPP), xattr_set[i], 0, NULL);
	for (size_t i = 0; i < LBX_ARRAY_SIZE(enosys) && !err; i++)
		err = fsg_rule(ctx, SCMP_ACT_ERRNO(ENOSYS), enosys[i], 0, NULL);
	return err;
}

int lbx_sandbox_fs_guard(bool set_nnp)
{
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
	int err;

	if (!ctx)
		return -ENOMEM;
	/* The default: a call of another architecture kills (SCMP_FLTATR_ACT_BADARCH). */
	err = seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS);
	if (!err)
		err = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, set_nnp ? 1 : 0);
	if (!err)
		err = fsg_rules(ctx);
	if (!err) {
		err = seccomp_load(ctx);
		if (err)
			lbx_err("seccomp: cannot load the file-system guard: %s", strerror(-err));
	}
	seccomp_release(ctx);
	return err;
}
