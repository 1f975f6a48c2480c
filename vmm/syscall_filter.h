/* SPDX-License-Identifier: MIT */
/*
 * System call filters, one per thread kind, loaded by each thread on
 * itself before the first guest instruction runs (libseccomp, no TSYNC).
 * After start lbx-vmm opens nothing: no open/openat/socket/connect/execve
 * is on any list, and ioctl is limited to the KVM requests the thread
 * kind issues. A call outside the list kills the process; LBX_SECCOMP=log
 * logs it instead (for finding a missing entry) in a -Dseccomp_debug=true
 * build only.
 */
#ifndef VMM_SYSCALL_FILTER_H
#define VMM_SYSCALL_FILTER_H

enum vmm_thread_kind {
	VMM_THREAD_VCPU, /* KVM_RUN and device emulation on exits */
	VMM_THREAD_MAIN, /* event loop: device queues, vhost-user sockets, signals */
};

/* 0 or -errno. */
int vmm_seccomp_apply(enum vmm_thread_kind kind);

#endif
