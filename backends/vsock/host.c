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

static int unix_addr(struct sockaddr_un *a, const char *path)
{
	*a = (struct sockaddr_un){ .sun_family = AF_UNIX };
	if (strlen(path) >= sizeof(a->sun_path))
		return -ENAMETOOLONG;
	strcpy(a->sun_path, path);
	return 0;
}

int vsockd_connect_host(struct vsockd *d, uint32_t port)
{
	char path[sizeof(((struct sockaddr_un *)0)->sun_path) + 16];
	struct sockaddr_un a;
	int fd, rc;

	snprintf(path, sizeof(path), "%s_%u", d->uds_path, port);
	rc = unix_addr(&a, path);
	if (rc)
		return rc;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	/* A unix connect completes at once or fails (EAGAIN: backlog full). */
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		rc = -errno;
		close(fd);
		return rc;
	}
	return fd;
}

static void on_accept(struct lbx_loop *loop, int lfd, uint32_t events, void *data)
{
	struct vsockd *d = data;
	int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

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
	struct sockaddr_un a;
	int fd, rc = unix_addr(&a, d->uds_path);
	mode_t old;

	if (rc)
		return rc;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	unlink(d->uds_path);
	/* Whoever can connect can reach every service in the box: owner only. */
	old = umask(0177);
	rc = bind(fd, (struct sockaddr *)&a, sizeof(a));
	umask(old);
	if (rc < 0 || listen(fd, 64) < 0 || lbx_loop_add(d->loop, fd, EPOLLIN, on_accept, d) < 0) {
		rc = -errno;
		close(fd);
		return rc ? rc : -EINVAL;
	}
	d->listen_fd = fd;
	return 0;
}
