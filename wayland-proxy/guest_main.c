/* SPDX-License-Identifier: MIT */
/*
 * lbx-wayland-guest: the guest half. Offers a Wayland socket in the box and
 * carries each client over its own stream (vsock in a box) to
 * lbx-wayland-proxy, turning what its fds hold (shm pools, keymaps,
 * clipboard pipes) into frames. Static, without libwayland: it parses the
 * wire protocol itself with the generated tables. See
 * docs/lbx-wayland-guest.1.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>
#include <linux/vm_sockets.h>

#include "conn.h"
#include "endpoint.h"
#include "evloop.h"
#include "log.h"
#include "unixsock.h"

static const char usage[] =
    "Usage: lbx-wayland-guest --listen PATH --connect unix:PATH|vsock:CID:PORT|vsock:PORT\n"
    "Offer a Wayland socket and carry its clients to lbx-wayland-proxy.\n"
    "\n"
    "  -l, --listen PATH          the Wayland socket to offer (e.g. $XDG_RUNTIME_DIR/wayland-0)\n"
    "  -c, --connect ENDPOINT     where lbx-wayland-proxy is: unix:PATH, vsock:CID:PORT\n"
    "                             or vsock:PORT (the host's)\n"
    "  -m, --max-clients N        clients served at once; more are refused (default 64)\n"
    "  -h, --help                 show this help and exit\n"
    "  -V, --version              show the version and exit\n";

static const struct option long_opts[] = {
	{ "listen", required_argument, NULL, 'l' },
	{ "connect", required_argument, NULL, 'c' },
	{ "max-clients", required_argument, NULL, 'm' },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, 'V' },
	{ NULL, 0, NULL, 0 },
};

struct guest {
	const char *listen;
	char unix_path[108];
	unsigned cid, port;
	unsigned max_clients, nclients;
};

static int parse_endpoint(const char *s, struct guest *g)
{
	char *end;

	if (strncmp(s, "unix:", 5) == 0 && s[5] == '/' && strlen(s + 5) < sizeof(g->unix_path)) {
		strcpy(g->unix_path, s + 5);
		return 0;
	}
	struct lbx_endpoint ep;
	if (lbx_endpoint_parse(s, strlen(s), &ep) == 0 && ep.kind == LBX_EP_VSOCK) {
		g->cid = 2; /* the host */
		g->port = ep.port;
		return 0;
	}
	if (strncmp(s, "vsock:", 6) == 0) {
		unsigned long cid = strtoul(s + 6, &end, 10);
		if (*end == ':' && end > s + 6) {
			unsigned long port = strtoul(end + 1, &end, 10);
			if (!*end && port > 0 && port < 0xffffffffUL && cid <= 0xffffffffUL) {
				g->cid = (unsigned)cid;
				g->port = (unsigned)port;
				return 0;
			}
		}
	}
	lbx_err("--connect: expected unix:/PATH or vsock:CID:PORT, got \"%s\"", s);
	return -EINVAL;
}

static int connect_host(const struct guest *g)
{
	if (g->unix_path[0])
		return lbx_unix_connect(g->unix_path, 0);
	int fd = socket(AF_VSOCK, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_vm a = { .svm_family = AF_VSOCK, .svm_cid = g->cid, .svm_port = g->port };
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		int e = errno;
		close(fd);
		return -e;
	}
	return fd;
}

static void client_closed(struct wlp_conn *c, const char *why, void *ctx)
{
	struct guest *g = ctx;

	if (why)
		lbx_warn("client ended: %s", why);
	wlp_conn_free(c);
	g->nclients--;
}

static const struct wlp_conn_ops ops = { .closed = client_closed };

static void on_accept(struct lbx_loop *loop, int lfd, uint32_t events, void *data)
{
	struct guest *g = data;
	int fd = lbx_loop_accept(loop, lfd, SOCK_NONBLOCK | SOCK_CLOEXEC, "Wayland client");

	if (fd < 0)
		return;
	if (g->nclients >= g->max_clients) {
		lbx_warn("refusing a Wayland client: %u already served", g->nclients);
		close(fd);
		return;
	}
	int link = connect_host(g);
	if (link < 0) {
		lbx_err("cannot reach lbx-wayland-proxy: %s", strerror(-link));
		close(fd);
		return;
	}
	if (fcntl(link, F_SETFL, O_NONBLOCK | fcntl(link, F_GETFL)) < 0) {
		close(fd);
		close(link);
		return;
	}
	if (wlp_conn_new(loop, WLP_GUEST, fd, link, NULL, &ops, g))
		g->nclients++;
}

static void on_signal(struct lbx_loop *loop, int signo, void *data)
{
	lbx_loop_stop(loop, 0);
}

int main(int argc, char **argv)
{
	struct guest g = { .max_clients = 64 };
	static const int sigs[] = { SIGTERM, SIGINT };
	const char *connect_to = NULL;
	char *end;
	int c;

	lbx_log_init("lbx-wayland-guest");
	while ((c = getopt_long(argc, argv, "l:c:m:hV", long_opts, NULL)) != -1) {
		switch (c) {
		case 'l': g.listen = optarg; break;
		case 'c': connect_to = optarg; break;
		case 'm':
			g.max_clients = (unsigned)strtoul(optarg, &end, 10);
			if (*end || !*optarg || !g.max_clients || g.max_clients > 4096) {
				lbx_err("--max-clients: expected a number from 1 to 4096");
				return 2;
			}
			break;
		case 'h': fputs(usage, stdout); return 0;
		case 'V': puts("lbx-wayland-guest " LBX_VERSION); return 0;
		default: fputs(usage, stderr); return 2;
		}
	}
	if (optind < argc || !g.listen || !connect_to) {
		lbx_err("--listen and --connect are required");
		fputs(usage, stderr);
		return 2;
	}
	if (parse_endpoint(connect_to, &g) < 0)
		return 2;
	signal(SIGPIPE, SIG_IGN);
	struct lbx_loop *loop = lbx_loop_new();
	int lfd = lbx_unix_listen(g.listen, 64, LBX_UNIX_NONBLOCK);
	if (!loop || lfd < 0) {
		lbx_err("cannot listen on %s: %s", g.listen, strerror(lfd < 0 ? -lfd : ENOMEM));
		return 1;
	}
	if (lbx_loop_add(loop, lfd, EPOLLIN, on_accept, &g) < 0 ||
	    lbx_loop_add_signals(loop, sigs, 2, on_signal, &g) < 0) {
		lbx_err("cannot set up the event loop");
		return 1;
	}
	int rc = lbx_loop_run(loop);
	unlink(g.listen);
	return rc < 0 ? 1 : 0;
}
