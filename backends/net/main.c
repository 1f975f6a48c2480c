/* SPDX-License-Identifier: MIT */
/*
 * lbx-netd {--socket PATH | --stream PATH} --policy FILE.json [--control PATH] [--mac MAC]
 *
 * Serves one box's network, either as a virtio-net device to a vhost-user
 * front-end (lbx-vmm, or QEMU's -netdev vhost-user) or as Ethernet frames
 * over a unix stream socket (a container's tap relay, or QEMU's -netdev
 * stream), and connects it to the outside through libslirp, with the
 * box's egress policy in between (netd.h, policy.h).
 */
#include <errno.h>
#include <getopt.h>
#include <ifaddrs.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <netinet/in.h>

#include "log.h"
#include "netd.h"

#define NETD_VERSION "0.1.0"

static void usage(FILE *f)
{
	fprintf(f,
		"usage: lbx-netd {--socket PATH | --stream PATH} --policy FILE.json\n"
		"                [--control PATH] [--mac MAC]\n"
		"  -s, --socket PATH    vhost-user socket to listen on for the VMM\n"
		"  -S, --stream PATH    unix socket to listen on for framed Ethernet (a tap relay)\n"
		"  -p, --policy FILE    the box's \"network\" section as a JSON object\n"
		"  -c, --control PATH   unix socket that answers the live policy and counters\n"
		"  -m, --mac MAC        the guest's MAC address (default 52:54:00:12:34:56)\n"
		"  -h, --help           this text\n"
		"  -V, --version        the version\n");
}

static void on_signal(struct lbx_loop *loop, int signo, void *data)
{
	lbx_loop_stop(loop, 0);
}

static int parse_mac(const char *s, uint8_t mac[6])
{
	unsigned v[6];
	char end;

	if (sscanf(s, "%2x:%2x:%2x:%2x:%2x:%2x%c", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5],
		   &end) != 6 || strlen(s) != 17)
		return -EINVAL;
	for (int i = 0; i < 6; i++)
		mac[i] = (uint8_t)v[i];
	/* A unicast address (IEEE 802: bit 0 of the first octet clear). */
	return mac[0] & 1 ? -EINVAL : 0;
}

/* The host's own addresses: a box reaching them reaches the host's services. */
static void add_host_addrs(struct net_policy *p)
{
	struct ifaddrs *ifa, *i;
	size_t n = 0;

	if (getifaddrs(&ifa) < 0) {
		lbx_warn("cannot list the host's addresses: %s", strerror(errno));
		return;
	}
	for (i = ifa; i; i = i->ifa_next)
		n += i->ifa_addr && (i->ifa_addr->sa_family == AF_INET ||
				     i->ifa_addr->sa_family == AF_INET6);
	p->host_addrs = calloc(n ? n : 1, sizeof(*p->host_addrs));
	for (i = ifa; i && p->host_addrs; i = i->ifa_next) {
		struct net_addr *a = &p->host_addrs[p->nhost_addrs];

		if (!i->ifa_addr)
			continue;
		if (i->ifa_addr->sa_family == AF_INET) {
			const struct sockaddr_in *sin = (const void *)i->ifa_addr;

			net_addr_from_v4(a, ntohl(sin->sin_addr.s_addr));
		} else if (i->ifa_addr->sa_family == AF_INET6) {
			const struct sockaddr_in6 *sin6 = (const void *)i->ifa_addr;

			memcpy(a->b, sin6->sin6_addr.s6_addr, 16);
		} else {
			continue;
		}
		p->nhost_addrs++;
	}
	freeifaddrs(ifa);
}

static int load_policy(const char *path, struct net_policy *p)
{
	char msg[600];

	if (net_policy_load(path, p, msg, sizeof(msg))) {
		lbx_err("%s", msg);
		return -EINVAL;
	}
	if (p->mode == NET_MODE_NONE) {
		lbx_err("%s: network.mode is \"none\": such a box has no network device, "
			"so there is nothing for lbx-netd to serve",
			path);
		net_policy_free(p);
		return -EINVAL;
	}
	add_host_addrs(p);
	return 0;
}

/* Where the guest's frames come from: the transport chosen on the command line. */
struct netd_listen {
	enum netd_transport transport;
	const char *path;
};

static int listen_guest(struct netd *d, const struct netd_listen *l)
{
	if (l->transport == NETD_STREAM)
		return netd_stream_listen(d, l->path);
	return lbx_vu_dev_listen(netd_vu(d), l->path);
}

static int serve(struct net_policy *policy, const uint8_t mac[6], const struct netd_listen *l,
		 const char *control)
{
	static const int sigs[] = { SIGINT, SIGTERM };
	struct lbx_loop *loop = lbx_loop_new();
	struct netd *d = loop ? netd_new(loop, l->transport, policy, mac) : NULL;
	int rc;

	if (!d) {
		lbx_err("out of memory");
		return 1;
	}
	rc = netd_slirp_start(d);
	if (rc < 0) {
		lbx_err("cannot start slirp: %s", strerror(-rc));
		goto out;
	}
	rc = control ? netd_control_listen(d, control) : 0;
	if (rc < 0) {
		lbx_err("cannot listen on %s: %s", control, strerror(-rc));
		goto out;
	}
	rc = listen_guest(d, l);
	if (rc < 0) {
		lbx_err("cannot listen on %s: %s", l->path, strerror(-rc));
		goto out;
	}
	rc = lbx_loop_add_signals(loop, sigs, 2, on_signal, NULL);
	if (rc >= 0)
		rc = netd_sandbox_apply();
	if (rc < 0) {
		lbx_err("cannot restrict myself: %s", strerror(-rc));
		goto out;
	}
	lbx_info("serving %s (%s, policy %s)", l->path,
		 l->transport == NETD_STREAM ? "stream" : "vhost-user",
		 net_mode_name(d->policy.mode));
	rc = lbx_loop_run(loop);
out:
	netd_free(d);
	lbx_loop_free(loop);
	return rc < 0 ? 1 : 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "stream", required_argument, NULL, 'S' },
		{ "policy", required_argument, NULL, 'p' },
		{ "control", required_argument, NULL, 'c' },
		{ "mac", required_argument, NULL, 'm' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ 0 },
	};
	const char *sock = NULL, *stream = NULL, *policy_path = NULL, *control = NULL;
	uint8_t mac[6] = { 0x52, 0x54, 0x00, 0x12, 0x34, 0x56 }; /* QEMU's default */
	struct net_policy policy;
	struct netd_listen l;
	int opt;

	lbx_log_init("lbx-netd");
	while ((opt = getopt_long(argc, argv, "s:S:p:c:m:hV", opts, NULL)) != -1) {
		switch (opt) {
		case 's': sock = optarg; break;
		case 'S': stream = optarg; break;
		case 'p': policy_path = optarg; break;
		case 'c': control = optarg; break;
		case 'm':
			if (parse_mac(optarg, mac)) {
				lbx_err("--mac %s: expected a unicast MAC such as 52:54:00:12:34:56",
					optarg);
				return 2;
			}
			break;
		case 'h': usage(stdout); return 0;
		case 'V':
			printf("lbx-netd %s (libslirp %s)\n", NETD_VERSION, slirp_version_string());
			return 0;
		default: usage(stderr); return 2;
		}
	}
	if (!sock == !stream) {
		lbx_err(sock ? "--socket and --stream exclude each other: give one of them"
			     : "no transport: give --socket PATH (vhost-user) or --stream PATH");
		return 2;
	}
	if (!policy_path || optind != argc) {
		usage(stderr);
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	if (load_policy(policy_path, &policy))
		return 1;
	l = (struct netd_listen){ .transport = stream ? NETD_STREAM : NETD_VHOST_USER,
				  .path = stream ? stream : sock };
	return serve(&policy, mac, &l, control);
}
