/* SPDX-License-Identifier: MIT */
/* The host side of lbx-vsockd: its listening socket and outgoing connects. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "log.h"
#include "vsockd.h"
#include "unixsock.h"

/* Host-initiated connections get local ports from here, skipping ones in use. */
#define LOCAL_PORT_FIRST 0x40000000u

uint32_t vsockd_alloc_local_port(struct vsockd *d)
{
	for (;;) {
		uint32_t port = d->next_local_port++;
		bool used = false;

		if (d->next_local_port < LOCAL_PORT_FIRST)
			d->next_local_port = LOCAL_PORT_FIRST;
		for (unsigned i = 0; i < d->nconns && !used; i++)
			used = d->conns[i]->local_port == port && d->conns[i]->state != CONN_HANDSHAKE;
		if (!used)
			return port;
	}
}

int vsockd_connect_host(struct vsockd *d, uint32_t port)
{
	char path[sizeof(((struct sockaddr_un *)0)->sun_path) + 16];

	snprintf(path, sizeof(path), "%s_%u", d->uds_path, port);
	return lbx_unix_connect(path, LBX_UNIX_NONBLOCK);
}

static void on_accept(struct lbx_loop *loop, int lfd, uint32_t events, void *data)
{
	struct vsockd *d = data;
	int fd = lbx_loop_accept(loop, lfd, SOCK_NONBLOCK | SOCK_CLOEXEC, "vsock: host socket");

	if (fd < 0)
		return;
	if (!lbx_vu_dev_connected(d->dev)) {
		/* No guest yet: nobody could answer the CONNECT. */
		close(fd);
		return;
	}
	if (!vsockd_conn_new(d, fd, CONN_HANDSHAKE, 0, 0))
		close(fd);
}

int vsockd_listen(struct vsockd *d)
{
	/* Whoever can connect can reach every service in the box: owner only. */
	int fd = lbx_unix_listen(d->uds_path, 64, LBX_UNIX_NONBLOCK), rc;

	if (fd < 0)
		return fd;
	rc = lbx_loop_add(d->loop, fd, EPOLLIN, on_accept, d);
	if (rc < 0) {
		close(fd);
		return rc;
	}
	d->listen_fd = fd;
	return 0;
}
