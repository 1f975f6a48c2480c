/* SPDX-License-Identifier: MIT */
/*
 * lbx-agent: PID 1 of the guest.
 *
 * Reports go to the console as single lines starting with "@lbx " so the
 * host can tell them from the command's own output:
 *
 *   @lbx ready uptime_ms=N        the agent is up (N: guest time since boot)
 *   @lbx exit code=N              the command exited with status N
 *   @lbx exit signal=N            the command was killed by signal N
 *   @lbx error MESSAGE            the agent could not do what it was asked
 *   @lbx poweroff                 the agent is about to power the box off
 */
#ifndef LBX_AGENT_H
#define LBX_AGENT_H

#include <sys/types.h>

#include "cmdline.h"
#include "compiler.h"

/* mounts.c */
int agent_mount_basics(char *err, size_t errsz);
/* Mount virtio-fs tag as the new root, carry /dev /proc /sys /run /tmp over, chroot. */
int agent_switch_root(const char *tag, char *err, size_t errsz);

/* user.c: the box user and the virtio-fs shares. */
int agent_setup_user(const struct agent_config *cfg, char *err, size_t errsz);
int agent_mount_shares(const struct agent_config *cfg, char *err, size_t errsz);
/* uid's login shell from the box's /etc/passwd, or /bin/sh. */
void agent_login_shell(unsigned uid, char *shell, size_t sz);

/* report.c */
void agent_report_set_fd(int fd);
void agent_report(const char *fmt, ...) LBX_PRINTF(1, 2);

/* run.c: start the command; returns its pid or -errno. */
pid_t agent_run_start(const struct agent_config *cfg);
/* Reap children until pid exits; returns its wait status. */
int agent_run_wait(pid_t pid);

/* serve.c: the exec service's socket and loop. */
struct exec_service_config;
struct lbx_endpoint;
/* Tell the host we are ready: "READY uptime_ms=N\n" to its endpoint (vsock: the host's). */
int agent_notify_ready(const struct lbx_endpoint *ep, unsigned long uptime_ms);
/*
 * Serve until SIGTERM/SIGINT (returns 0), until watch_pid (if > 0) exits
 * (returns 1, *watch_status is its wait status), or until a host asks for
 * POWEROFF (returns 2). -errno on failure.
 */
int agent_serve(int listen_fd, const struct exec_service_config *cfg, pid_t watch_pid,
		int *watch_status);

/* usbip_attach.c: import the host's USB devices into vhci-hcd (a child process). */
void agent_usb_start(const struct agent_config *cfg);

/* power.c: stop every process, sync, and power off (reset). Never returns. */
void agent_poweroff(void) __attribute__((noreturn));
/* net.c: bring ifname up with a static address and route; write /etc/resolv.conf. */
int agent_net_configure(const char *ifname, const char *cidr, const char *gateway, const char *dns,
			char *err, size_t errsz);

#endif
