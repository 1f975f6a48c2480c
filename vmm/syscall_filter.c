/* SPDX-License-Identifier: MIT */
#include "syscall_filter.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include <linux/kvm.h>
#include <seccomp.h>

#include "compiler.h"
#include "log.h"

/* Calls every thread makes: memory, locks, time, logging, signals, exit. */
static const int common_calls[] = {
	SCMP_SYS(read),		 SCMP_SYS(write),	  SCMP_SYS(writev),
	SCMP_SYS(futex),	 SCMP_SYS(brk),		  SCMP_SYS(mmap),
	SCMP_SYS(munmap),	 SCMP_SYS(madvise),	  SCMP_SYS(mremap),
	SCMP_SYS(clock_gettime), SCMP_SYS(clock_nanosleep), SCMP_SYS(nanosleep),
	SCMP_SYS(gettid),	 SCMP_SYS(getpid),	  SCMP_SYS(tgkill),
	SCMP_SYS(rt_sigreturn),	 SCMP_SYS(rt_sigprocmask), SCMP_SYS(sched_yield),
	SCMP_SYS(exit),		 SCMP_SYS(exit_group),	  SCMP_SYS(restart_syscall),
	SCMP_SYS(getrandom),	 SCMP_SYS(close),	  SCMP_SYS(rseq),
	SCMP_SYS(set_robust_list),
	/* vhost-user requests go out from the vCPU that set DRIVER_OK or reset */
	SCMP_SYS(sendmsg),	 SCMP_SYS(recvmsg),	  SCMP_SYS(recvfrom),
	SCMP_SYS(sendto),
};

static const int main_calls[] = {
	SCMP_SYS(epoll_wait),	 SCMP_SYS(epoll_pwait),	   SCMP_SYS(epoll_ctl),
	SCMP_SYS(timerfd_settime), SCMP_SYS(readv),
	SCMP_SYS(fstat),	 SCMP_SYS(newfstatat),	   SCMP_SYS(lseek),
	SCMP_SYS(poll),		 SCMP_SYS(ppoll),	   SCMP_SYS(shutdown),
	SCMP_SYS(rt_sigaction),	 SCMP_SYS(fcntl),
};

/* The halt watch samples a parked vCPU from its own thread. */
static const unsigned long vcpu_ioctls[] = { KVM_RUN, KVM_IRQ_LINE, KVM_GET_MP_STATE, KVM_GET_REGS,
					     KVM_GET_VCPU_EVENTS };
static const unsigned long main_ioctls[] = { KVM_IRQ_LINE, FIONBIO };

static int add_list(scmp_filter_ctx ctx, const int *calls, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		int rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, calls[i], 0);

		if (rc)
			return rc;
	}
	return 0;
}

static int add_ioctls(scmp_filter_ctx ctx, const unsigned long *req, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		/* Spelled out: clang warns on SCMP_A1's partial initializer. */
		struct scmp_arg_cmp cmp = { .arg = 1, .op = SCMP_CMP_EQ, .datum_a = req[i] };
		int rc = seccomp_rule_add_array(ctx, SCMP_ACT_ALLOW, SCMP_SYS(ioctl), 1, &cmp);

		if (rc)
			return rc;
	}
	return 0;
}

int vmm_seccomp_apply(enum vmm_thread_kind kind)
{
	/* Only a -Dseccomp_debug=true build lets the environment weaken the filter. */
	const char *mode = LBX_SECCOMP_DEBUG ? getenv("LBX_SECCOMP") : NULL;
	uint32_t deny = mode && !strcmp(mode, "log") ? SCMP_ACT_LOG : SCMP_ACT_KILL_PROCESS;
	scmp_filter_ctx ctx = seccomp_init(deny);
	int rc;

	if (!ctx)
		return -ENOMEM;
	rc = add_list(ctx, common_calls, LBX_ARRAY_SIZE(common_calls));
	if (rc == 0 && kind == VMM_THREAD_MAIN)
		rc = add_list(ctx, main_calls, LBX_ARRAY_SIZE(main_calls));
	if (rc == 0)
		rc = kind == VMM_THREAD_VCPU
			     ? add_ioctls(ctx, vcpu_ioctls, LBX_ARRAY_SIZE(vcpu_ioctls))
			     : add_ioctls(ctx, main_ioctls, LBX_ARRAY_SIZE(main_ioctls));
	if (rc == 0)
		rc = seccomp_load(ctx);
	seccomp_release(ctx);
	if (rc)
		lbx_err("seccomp filter for %s threads: %s", kind == VMM_THREAD_VCPU ? "vCPU" : "main",
			strerror(-rc));
	return rc;
}
