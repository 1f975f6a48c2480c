/* SPDX-License-Identifier: MIT */
/*
 * The agent's settings, in the one parameter language every engine
 * speaks (common/agent_params.h: keys, encoding and meaning): from the
 * kernel command line in a VM (/proc/cmdline, where the kernel's own
 * words are skipped), or from argv as the init of a container. One
 * table-driven parser (cmdline.c) serves both.
 */
#ifndef LBX_AGENT_CMDLINE_H
#define LBX_AGENT_CMDLINE_H

#include <stdbool.h>
#include <stddef.h>

#include "compiler.h"
#include "endpoint.h"

#define AGENT_MAX_ARGS 64
#define AGENT_MAX_ENV 64
#define AGENT_HOSTNAME_MAX 64
#define AGENT_MAX_MOUNTS 18 /* the project and 16 mounts (BOX_MAX_MOUNTS), and room */
#define AGENT_MAX_PATHS 32
#define AGENT_MAX_USB 8

struct agent_mount {
	char tag[37]; /* virtio-fs tags are at most 36 bytes (virtio 1.2 §5.11.4) */
	char *path;
	bool read_only;
};

struct agent_config {
	char hostname[AGENT_HOSTNAME_MAX + 1];
	char *argv[AGENT_MAX_ARGS + 1];
	int argc;
	char *env[AGENT_MAX_ENV + 1];
	int envc;
	char *cwd;
	bool tty;
	struct lbx_endpoint serve;	/* the exec service (LBX_EP_NONE: none) */
	struct lbx_endpoint notify;	/* where to say READY (none: nobody) */
	struct lbx_endpoint ssh;	/* the host's SSH agent proxy (none: no agent) */
	struct lbx_endpoint net_stream; /* a container's frame stream to lbx-netd */
	struct lbx_endpoint wayland;	/* lbx-wayland-proxy (none: no Wayland) */
	char net_cidr[44], net_gw[40], net_dns[40]; /* "" when the box has no network */
	unsigned uid, gid;
	char user[33];
	char *home;
	bool allow_root;
	char rootfs[37]; /* virtio-fs tag of the root tree, "" for the initramfs */
	struct agent_mount mounts[AGENT_MAX_MOUNTS];
	int nmounts;
	char *rw_paths[AGENT_MAX_PATHS + AGENT_MAX_MOUNTS];
	unsigned nrw;
	char *ro_paths[AGENT_MAX_PATHS + AGENT_MAX_MOUNTS];
	unsigned nro;
	bool elsewhere_readable;
	bool fs_guard; /* sessions under lbx_sandbox_fs_guard (engine light) */
	struct lbx_endpoint usb[AGENT_MAX_USB]; /* USB/IP slots (usbip_attach.c) */
	unsigned nusb;
};

/*
 * Parse a kernel command line of len bytes (words separated by spaces,
 * double quotes group, as the kernel's own parser does); words not
 * starting with "lbx." are the kernel's and skipped. On error returns
 * -errno and writes a one-line reason naming the parameter to err; cfg
 * must be released with agent_config_free either way.
 */
LBX_MUST_CHECK int agent_cmdline_parse(const char *buf, size_t len, struct agent_config *cfg,
				       char *err, size_t errsz);
/* The same parameters as argv words (a container's init); every word must be one. */
LBX_MUST_CHECK int agent_params_parse_argv(int argc, char *const argv[], struct agent_config *cfg,
					   char *err, size_t errsz);
void agent_config_free(struct agent_config *cfg);

#endif
