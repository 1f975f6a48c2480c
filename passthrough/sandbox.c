/* SPDX-License-Identifier: MIT */
/*
 * What lbx-usbipd keeps once it serves (ARCHITECTURE.md: restricted before
 * the first byte from the guest): its sockets are open and listening, the
 * device is open, the audit log is open.
 *
 * Landlock: with a host device, read /sys/bus/usb and /sys/devices (to
 * find the device again after it re-enumerates) and open and ioctl
 * /dev/bus/usb; with a simulated device, nothing. No abstract unix
 * sockets, no signals out of the process, no TCP.
 *
 * seccomp: the loop, the guest's socket, usbfs ioctls, memory (never
 * executable), time, signals, exit. No exec, no fork, no new sockets.
 */
#include <string.h>
#include <stdlib.h>

#include "log.h"
#include "sandbox.h"
#include "usbipd_sandbox.h"

static const char *const usbipd_syscalls[] = {
	"epoll_create1",
	"timerfd_create",
	"timerfd_settime",
	"timerfd_gettime",
	"accept",
	"accept4",
	"ioctl",
	"getdents64",
	"readlinkat",
	"readlink",
	"shutdown",
	"unlink",
	"gettimeofday",
	"signalfd4",
};

int usbipd_sandbox_apply(bool host_device)
{
	const struct lbx_landlock_rule rules[] = {
		{ "/sys/bus/usb", LBX_FS_READ },
		{ "/sys/devices", LBX_FS_READ },
		{ "/dev/bus/usb", LBX_FS_READ | LBX_FS_WRITE | LBX_FS_DEV },
	};
	struct lbx_seccomp_policy sc = {
		.loop_calls = true,
		.allow = usbipd_syscalls,
		.nallow = LBX_ARRAY_SIZE(usbipd_syscalls),
		.no_exec_mem = true,
	};
	const char *env = getenv("LBX_SECCOMP");
	int abi = lbx_sandbox_landlock(rules, host_device ? LBX_ARRAY_SIZE(rules) : 0,
				       LBX_LANDLOCK_NO_TCP | LBX_LANDLOCK_SCOPED |
					   LBX_LANDLOCK_BEST_EFFORT);

	if (abi < 0)
		return abi;
	if (abi == 0)
		lbx_warn("no Landlock in this kernel: confinement rests on seccomp alone");
	sc.log_only = env && !strcmp(env, "log");
	return lbx_sandbox_seccomp(&sc);
}
