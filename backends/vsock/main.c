/* SPDX-License-Identifier: MIT */
/*
 * lbx-vsockd --socket VHOST_USER_SOCKET --uds-path PATH [--guest-cid N]
 *
 * Serves one box's virtio-vsock device to a vhost-user front-end (lbx-vmm
 * or QEMU's vhost-user-vsock-device) and maps its connections to unix
 * sockets on the host (see vsockd.h).
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "vsockd.h"

static void usage(FILE *f)
{
	fprintf(f,
		"usage: lbx-vsockd --socket PATH --uds-path PATH [--guest-cid N]\n"
		"  --socket PATH     vhost-user socket to listen on for the VMM\n"
		"  --uds-path PATH   host side: clients connect here and send 'CONNECT <port>\\n';\n"
		"                    guest connections to port P go to PATH_P\n"
		"  --guest-cid N     the guest's CID (default 3)\n");
}

static void on_signal(struct lbx_loop *loop, int signo, void *data)
{
	lbx_loop_stop(loop, 0);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "uds-path", required_argument, NULL, 'u' },
		{ "guest-cid", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	static const int sigs[] = { SIGINT, SIGTERM };
	const char *sock = NULL, *uds = NULL;
	unsigned long long cid = 3;
	struct lbx_loop *loop;
	struct vsockd *d;
	char *end;
	int opt, rc;

	lbx_log_init(argv[0]);
	while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (opt) {
		case 's': sock = optarg; break;
		case 'u': uds = optarg; break;
		case 'c':
			errno = 0;
			cid = strtoull(optarg, &end, 10);
			/* 0-2 are reserved (§5.10.4), and 32 bits are all Linux uses. */
			if (errno || *end || cid < 3 || cid > 0xfffffffeULL) {
				lbx_err("--guest-cid %s: expected a number from 3 to 4294967294",
					optarg);
				return 2;
			}
			break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (!sock || !uds || optind != argc) {
		usage(stderr);
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	loop = lbx_loop_new();
	d = loop ? vsockd_new(loop, cid, uds) : NULL;
	if (!d) {
		lbx_err("out of memory");
		return 1;
	}
	rc = vsockd_listen(d);
	if (rc < 0) {
		lbx_err("cannot listen on %s: %s", uds, strerror(-rc));
		return 1;
	}
	rc = lbx_vu_dev_listen(vsockd_vu(d), sock);
	if (rc < 0) {
		lbx_err("cannot listen on %s: %s", sock, strerror(-rc));
		vsockd_free(d);
		return 1;
	}
	if (lbx_loop_add_signals(loop, sigs, 2, on_signal, NULL) < 0)
		return 1;
	rc = lbx_loop_run(loop);
	vsockd_free(d);
	lbx_loop_free(loop);
	return rc < 0 ? 1 : 0;
}
