/* SPDX-License-Identifier: MIT */
/*
 * The agent's parameters: one language for every engine.
 *
 * Each parameter is one word `lbx.KEY=VALUE`, VALUE with %XX escapes for
 * any byte outside [A-Za-z0-9/_.,:=+@-] (so a word never holds a space,
 * quote or control character). A VM's agent reads them from the kernel
 * command line (where the kernel keeps words with a dot away from init's
 * argv and environment); a container's agent (engine light) gets the same
 * words as its argv. The host writes them with agent_param_word() and
 * nothing else; the agent parses them with one table-driven parser
 * (guest-agent/cmdline.c). The keys and what they mean:
 *
 *   hostname=NAME          hostname of the box
 *   argv=ARG               one argument of the command to run (repeated, in order)
 *   env=K=V                one environment variable of the box (repeated)
 *   cwd=DIR                working directory of that command
 *   tty=1                  give that command the console as its terminal
 *   serve=ENDPOINT         serve exec sessions there (endpoint.h: vsock:PORT, unix:PATH)
 *   notify=ENDPOINT        once serving, say "READY uptime_ms=N" there
 *   ssh=ENDPOINT           the host's SSH agent proxy, offered to sessions
 *   uid=N gid=N user=NAME home=DIR   the box user sessions run as
 *   root=0                 refuse root sessions
 *   rootfs=TAG             mount virtio-fs TAG as the root and switch into it
 *   mount=TAG:PATH[:ro]    mount virtio-fs TAG at PATH (repeated)
 *   rw=PATH ro=PATH        Landlock: more read-write / read-only trees (repeated)
 *   elsewhere=ro|none      the rest of the tree read-only, or only system dirs
 *   net=CIDR,GATEWAY,DNS   configure eth0 statically
 *   net-stream=ENDPOINT    make a tap eth0 and relay its frames to lbx-netd there
 *                          (containers: the VM engines have a virtio-net device)
 *   fs-guard=1             every session under the file-system guard (sandbox.h
 *                          lbx_sandbox_fs_guard): a container's files are the host's
 *   usb=ENDPOINT           a USB device slot: lbx-usbipd may serve there; the agent
 *                          imports its device into vhci-hcd (repeated, one per slot)
 *   wayland=ENDPOINT       lbx-wayland-proxy: the agent starts lbx-wayland-guest,
 *                          sessions get $XDG_RUNTIME_DIR/wayland-0
 */
#ifndef LBX_AGENT_PARAMS_H
#define LBX_AGENT_PARAMS_H

#include <stdbool.h>
#include <stddef.h>

#include "compiler.h"

enum agent_param {
	AP_HOSTNAME,
	AP_ARGV,
	AP_ENV,
	AP_CWD,
	AP_TTY,
	AP_SERVE,
	AP_NOTIFY,
	AP_SSH,
	AP_UID,
	AP_GID,
	AP_USER,
	AP_HOME,
	AP_ROOT,
	AP_ROOTFS,
	AP_MOUNT,
	AP_RW,
	AP_RO,
	AP_ELSEWHERE,
	AP_NET,
	AP_NET_STREAM,
	AP_FS_GUARD,
	AP_USB,
	AP_WAYLAND,
	AP_COUNT
};

#define AGENT_PARAM_PREFIX "lbx."

/* The key's name without the prefix ("hostname"). */
const char *agent_param_name(enum agent_param k);
/* The key whose name is key[0..n), or -1. */
int agent_param_lookup(const char *key, size_t n);
/* "lbx.KEY=VALUE" with VALUE escaped (heap; NULL when out of memory). */
char *agent_param_word(enum agent_param k, const char *value);
/* Decode %XX escapes of n bytes (heap); NULL for a bad or NUL escape. */
char *agent_param_decode(const char *src, size_t n);

#endif
