/* SPDX-License-Identifier: MIT */
/*
 * lbx-ssh-proxy: an SSH agent that shows a box only the keys it is given
 * and signs only for the destinations and purposes it is given, by
 * filtering every message between the box and the user's real agent.
 * See docs/lbx-ssh-proxy.1.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "log.h"
#include "proxy.h"

static const char usage[] =
    "Usage: lbx-ssh-proxy --listen PATH --policy FILE [OPTION]...\n"
    "Filter SSH agent requests from a box to the user's agent.\n"
    "\n"
    "  -l, --listen PATH          unix socket to serve (the box's SSH_AUTH_SOCK)\n"
    "  -u, --upstream PATH        the real agent's socket (default: $SSH_AUTH_SOCK)\n"
    "  -p, --policy FILE          the box's ssh policy (JSON, the \"ssh\" section)\n"
    "  -b, --box NAME             box name for prompts and the audit log\n"
    "  -a, --audit-log PATH       append one JSON line per decision; - for stdout\n"
    "  -k, --known-hosts FILE     known_hosts to resolve server host keys (repeatable;\n"
    "                             default: ~/.ssh/known_hosts /etc/ssh/ssh_known_hosts)\n"
    "  -A, --askpass PROGRAM      confirmation program (default: $SSH_ASKPASS)\n"
    "  -w, --confirm-window SECS  after a yes, allow the same key and purpose for\n"
    "                             SECS seconds without asking (default 10, 0: always ask)\n"
    "  -t, --confirm-timeout SECS a confirmation not answered in SECS is a no (default 60)\n"
    "  -m, --max-connections N    connections served at once; more are refused (default 16)\n"
    "  -i, --idle-timeout SECS    close a connection idle for SECS (default 60; 0: never)\n"
    "  -c, --check                check the policy file and exit\n"
    "  -h, --help                 show this help and exit\n"
    "  -V, --version              show the version and exit\n";

static const struct option long_opts[] = {
	{ "listen", required_argument, NULL, 'l' },
	{ "upstream", required_argument, NULL, 'u' },
	{ "policy", required_argument, NULL, 'p' },
	{ "box", required_argument, NULL, 'b' },
	{ "audit-log", required_argument, NULL, 'a' },
	{ "known-hosts", required_argument, NULL, 'k' },
	{ "askpass", required_argument, NULL, 'A' },
	{ "confirm-window", required_argument, NULL, 'w' },
	{ "confirm-timeout", required_argument, NULL, 't' },
	{ "max-connections", required_argument, NULL, 'm' },
	{ "idle-timeout", required_argument, NULL, 'i' },
	{ "check", no_argument, NULL, 'c' },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, 'V' },
	{ NULL, 0, NULL, 0 },
};

static int parse_uint(const char *opt, const char *s, unsigned max, unsigned *out)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || !*s || *end || *s == '-' || v > max) {
		lbx_err("%s: expected a number from 0 to %u, got \"%s\"", opt, max, s);
		return -EINVAL;
	}
	*out = (unsigned)v;
	return 0;
}

static int add_known_hosts(struct sshp_options *o, const char *path)
{
	if (o->nknown_hosts == SSHP_KH_FILES_MAX) {
		lbx_err("--known-hosts: at most %d files", SSHP_KH_FILES_MAX);
		return -EINVAL;
	}
	o->known_hosts[o->nknown_hosts++] = path;
	return 0;
}

static void default_known_hosts(struct sshp_options *o, char *buf, size_t bufsz)
{
	const char *home = getenv("HOME");

	if (o->nknown_hosts)
		return;
	if (home && (size_t)snprintf(buf, bufsz, "%s/.ssh/known_hosts", home) < bufsz)
		o->known_hosts[o->nknown_hosts++] = buf;
	o->known_hosts[o->nknown_hosts++] = "/etc/ssh/ssh_known_hosts";
}

static int parse_one(int c, struct sshp_options *o, bool *check)
{
	switch (c) {
	case 'l': o->listen_path = optarg; return 0;
	case 'u': o->upstream_path = optarg; return 0;
	case 'p': o->policy_path = optarg; return 0;
	case 'b': o->box = optarg; return 0;
	case 'a': o->audit_path = optarg; return 0;
	case 'k': return add_known_hosts(o, optarg);
	case 'A': o->askpass = optarg; return 0;
	case 'w': return parse_uint("--confirm-window", optarg, 86400, &o->confirm_window_s);
	case 't': return parse_uint("--confirm-timeout", optarg, 3600, &o->confirm_timeout_s);
	case 'm': return parse_uint("--max-connections", optarg, 4096, &o->max_conns);
	case 'i': return parse_uint("--idle-timeout", optarg, 86400, &o->idle_timeout_s);
	case 'c': *check = true; return 0;
	case 'h': fputs(usage, stdout); exit(0);
	case 'V': puts("lbx-ssh-proxy " LBX_VERSION); exit(0);
	default: fputs(usage, stderr); return -EINVAL;
	}
}

static int parse_args(int argc, char **argv, struct sshp_options *o, bool *check)
{
	int c;

	*o = (struct sshp_options){ .upstream_path = getenv("SSH_AUTH_SOCK"),
				    .askpass = getenv("SSH_ASKPASS"),
				    .confirm_window_s = 10,
				    .confirm_timeout_s = 60,
				    .max_conns = 16,
				    .idle_timeout_s = 60 };
	while ((c = getopt_long(argc, argv, "l:u:p:b:a:k:A:w:t:m:i:chV", long_opts, NULL)) != -1)
		if (parse_one(c, o, check))
			return -EINVAL;
	if (optind < argc) {
		lbx_err("unexpected argument \"%s\"", argv[optind]);
		return -EINVAL;
	}
	if (o->askpass && !*o->askpass)
		o->askpass = NULL;
	if (!o->policy_path || (!*check && (!o->listen_path || !o->upstream_path))) {
		lbx_err("--policy, --listen and --upstream (or SSH_AUTH_SOCK) are required");
		fputs(usage, stderr);
		return -EINVAL;
	}
	if (o->max_conns == 0)
		o->max_conns = 1;
	return 0;
}

static int check_policy(const char *path)
{
	struct sshp_policy p;
	char msg[LBX_JSON_ERROR_MAX];

	if (sshp_policy_load(path, &p, msg, sizeof(msg))) {
		lbx_err("%s", msg);
		return 1;
	}
	printf("%s: %zu key rule(s), rate %s\n", path, p.nkeys,
	       p.rate.count ? "limited" : "unlimited");
	sshp_policy_free(&p);
	return 0;
}

int main(int argc, char **argv)
{
	static char kh_default[4096];
	struct sshp_options opt;
	struct sshp_proxy px;
	bool check = false;
	int rc;

	lbx_log_init(argv[0]);
	if (parse_args(argc, argv, &opt, &check))
		return 2;
	if (check)
		return check_policy(opt.policy_path);
	default_known_hosts(&opt, kh_default, sizeof(kh_default));
	if (sshp_proxy_init(&px, &opt)) {
		sshp_proxy_fini(&px);
		return 1;
	}
	rc = sshp_proxy_run(&px);
	sshp_proxy_fini(&px);
	return rc < 0 ? 1 : 0;
}
