/* SPDX-License-Identifier: MIT */
/*
 * The agent's settings from the kernel command line (/proc/cmdline).
 *
 *   lbx.hostname=NAME   hostname of the box
 *   lbx.argv=ARG        one argument of the command to run, repeated in
 *                       order; %XX escapes any byte (space is %20)
 *   lbx.env=K=V         one environment variable, repeated, %XX escapes
 *   lbx.cwd=DIR         working directory of the command (default /)
 *   lbx.tty=1           give the command the console as controlling
 *                       terminal (interactive shells)
 *   lbx.serve=PORT      serve exec sessions on this vsock port (1024 is
 *                       the usual); without it the agent runs lbx.argv only
 *   lbx.uid=N lbx.gid=N lbx.user=NAME lbx.home=DIR
 *                       the box user that sessions run as (default root)
 *   lbx.root=0          refuse root sessions (default: allowed)
 *   lbx.rootfs=TAG      the box's root tree is virtio-fs TAG: mount it and
 *                       switch into it before anything else
 *   lbx.mount=TAG:PATH[:ro]  mount virtio-fs TAG at PATH (repeated)
 *   lbx.rw=PATH lbx.ro=PATH  Landlock for user sessions: extra read-write or
 *                       read-only trees (repeated); mounts count already
 *   lbx.elsewhere=ro|none    the rest of the tree read-only (default) or
 *                       only the system directories
 *   lbx.ssh=PORT        offer the host's SSH agent proxy (vsock PORT) to
 *                       sessions as SSH_AUTH_SOCK
 *   lbx.net=CIDR,GATEWAY,DNS  configure eth0 statically (slirp's addresses)
 *   lbx.notify=PORT     once serving, connect to the host's vsock PORT and
 *                       say "READY uptime_ms=N"
 *
 * Parameters with a dot are kernel "module parameters", which the kernel
 * keeps away from init's argv and environment: the agent reads them here.
 * Anything not starting with "lbx." is ignored.
 */
#ifndef LBX_AGENT_CMDLINE_H
#define LBX_AGENT_CMDLINE_H

#include <stdbool.h>
#include <stddef.h>

#include "compiler.h"

#define AGENT_MAX_ARGS 64
#define AGENT_MAX_ENV 64
#define AGENT_HOSTNAME_MAX 64
#define AGENT_MAX_MOUNTS 16
#define AGENT_MAX_PATHS 32

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
	unsigned serve_port; /* 0: no exec service */
	unsigned notify_port; /* 0: do not notify the host */
	unsigned ssh_port;    /* 0: no SSH agent */
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
};

/*
 * Parse a command line of len bytes. On error returns -errno and writes a
 * one-line reason to err; cfg must be released with agent_config_free
 * either way.
 */
LBX_MUST_CHECK int agent_cmdline_parse(const char *buf, size_t len, struct agent_config *cfg,
				       char *err, size_t errsz);
void agent_config_free(struct agent_config *cfg);
/* lbx.net's value, "CIDR,GATEWAY,DNS", into cfg's net_* fields (also --net in service mode). */
LBX_MUST_CHECK int agent_parse_net(struct agent_config *cfg, const char *val, size_t vlen,
				   char *err, size_t errsz);
/* Decode %XX escapes of src[0..n) into a new string; NULL if malformed. */
char *agent_percent_decode(const char *src, size_t n);

#endif
