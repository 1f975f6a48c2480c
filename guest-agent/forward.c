/* SPDX-License-Identifier: MIT */
#include "forward.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include <linux/vm_sockets.h>

#include "agent.h"
#include "bytequeue.h"
#include "log.h"
#include "unixsock.h"

#define RELAY_QUEUE (256 * 1024)
#define MAX_RELAYS 64

struct relay;

struct forwarder {
	struct lbx_loop *loop;
	int listen_fd;
	unsigned port;
	char *host_unix; /* relay to this unix socket instead of the vsock port */
	char *path;
	struct relay *relays[MAX_RELAYS];
	unsigned nrelays;
};

struct end {
	int fd;
	uint32_t events;
	bool eof; /* read side reached EOF */
	bool shut; /* we shut its write side */
};

struct relay {
	struct forwarder *f;
	struct end guest, host;
	struct lbx_bq to_host, to_guest;
};

static void on_relay(struct lbx_loop *loop, int fd, uint32_t events, void *data);

static void relay_free(struct relay *r)
{
	struct forwarder *f = r->f;

	lbx_loop_want(f->loop, r->guest.fd, &r->guest.events, 0, on_relay, r);
	lbx_loop_want(f->loop, r->host.fd, &r->host.events, 0, on_relay, r);
	close(r->guest.fd);
	close(r->host.fd);
	for (unsigned i = 0; i < f->nrelays; i++)
		if (f->relays[i] == r)
			f->relays[i] = f->relays[--f->nrelays];
	lbx_bq_free(&r->to_host);
	lbx_bq_free(&r->to_guest);
	free(r);
}

/* Poll a side for reading while the queue it fills has room; for writing while it has data. */
static void relay_update(struct relay *r)
{
	uint32_t g = 0, h = 0;

	if (!r->guest.eof && lbx_bq_room(&r->to_host) > 0)
		g |= EPOLLIN;
	if (lbx_bq_len(&r->to_guest) > 0)
		g |= EPOLLOUT;
	if (!r->host.eof && lbx_bq_room(&r->to_guest) > 0)
		h |= EPOLLIN;
	if (lbx_bq_len(&r->to_host) > 0)
		h |= EPOLLOUT;
	lbx_loop_want(r->f->loop, r->guest.fd, &r->guest.events, g, on_relay, r);
	lbx_loop_want(r->f->loop, r->host.fd, &r->host.events, h, on_relay, r);
}

/* Move bytes from src into q, and q out to dst. Returns false on a hard error. */
static bool pump(struct end *src, struct lbx_bq *q, struct end *dst, uint32_t ev_src,
		 uint32_t ev_dst)
{
	if (ev_src & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
		ssize_t n = lbx_bq_read_fd(q, src->fd, SIZE_MAX);

		if (n == 0)
			src->eof = true;
		else if (n < 0 && n != -EAGAIN && n != -EINTR && n != -ENOSPC)
			return false;
	}
	if (ev_dst & EPOLLOUT || lbx_bq_len(q) > 0) {
		ssize_t n = lbx_bq_write_fd(q, dst->fd);

		if (n < 0 && n != -EAGAIN && n != -EINTR)
			return false;
	}
	/* Pass a half-close on once everything before it is through. */
	if (src->eof && lbx_bq_len(q) == 0 && !dst->shut) {
		shutdown(dst->fd, SHUT_WR);
		dst->shut = true;
	}
	return true;
}

static void on_relay(struct lbx_loop *loop, int fd, uint32_t events, void *data)
{
	struct relay *r = data;
	uint32_t eg = fd == r->guest.fd ? events : 0, eh = fd == r->host.fd ? events : 0;

	if (!pump(&r->guest, &r->to_host, &r->host, eg, eh) ||
	    !pump(&r->host, &r->to_guest, &r->guest, eh, eg) || (r->guest.shut && r->host.shut)) {
		relay_free(r);
		return;
	}
	relay_update(r);
}

static int connect_host(const struct forwarder *f)
{
	struct sockaddr_vm a = { .svm_family = AF_VSOCK, .svm_cid = VMADDR_CID_HOST,
				 .svm_port = f->port };
	int fd;

	/* Blocking connect: the host proxy answers at once or not at all. */
	if (f->host_unix)
		return lbx_unix_connect(f->host_unix, 0);
	fd = socket(AF_VSOCK, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		int e = errno;

		close(fd);
		return -e;
	}
	return fd;
}

static void on_accept(struct lbx_loop *loop, int lfd, uint32_t events, void *data)
{
	struct forwarder *f = data;
	int g = lbx_loop_accept(loop, lfd, SOCK_NONBLOCK | SOCK_CLOEXEC, "forwarder"), h;
	struct relay *r;

	if (g < 0)
		return;
	if (f->nrelays >= MAX_RELAYS) {
		lbx_warn("forwarder %s: %u connections open, refusing another", f->path,
			 f->nrelays);
		close(g);
		return;
	}
	h = connect_host(f);
	if (h < 0) {
		if (f->host_unix)
			lbx_warn("forwarder %s: host socket %s: %s", f->path, f->host_unix,
				 strerror(-h));
		else
			lbx_warn("forwarder %s: host port %u: %s", f->path, f->port, strerror(-h));
		close(g);
		return;
	}
	r = calloc(1, sizeof(*r));
	if (!r || lbx_bq_init(&r->to_host, RELAY_QUEUE) || lbx_bq_init(&r->to_guest, RELAY_QUEUE)) {
		if (r) {
			lbx_bq_free(&r->to_host);
			free(r);
		}
		close(g);
		close(h);
		return;
	}
	r->f = f;
	r->guest.fd = g;
	r->host.fd = h;
	f->relays[f->nrelays++] = r;
	/* Non-blocking from here on, like the guest side. */
	fcntl(h, F_SETFL, fcntl(h, F_GETFL) | O_NONBLOCK);
	relay_update(r);
}

struct forwarder *forwarder_new(struct lbx_loop *loop, const char *path, unsigned port,
				const char *host_unix, uid_t uid, gid_t gid, int *err)
{
	struct forwarder *f = calloc(1, sizeof(*f));
	struct sockaddr_un u;
	int fd;

	*err = -ENOMEM;
	if (!f)
		return NULL;
	if (host_unix && strlen(host_unix) >= sizeof(u.sun_path)) {
		*err = -ENAMETOOLONG;
		free(f);
		return NULL;
	}
	f->host_unix = host_unix ? strdup(host_unix) : NULL;
	if (host_unix && !f->host_unix) {
		free(f);
		return NULL;
	}
	fd = lbx_unix_listen(path, 16, LBX_UNIX_NONBLOCK);
	/* The box user's sessions use it; nobody else. */
	if (fd < 0 || chown(path, uid, gid) < 0 ||
	    lbx_loop_add(loop, fd, EPOLLIN, on_accept, f) < 0) {
		*err = fd < 0 ? fd : -errno;
		if (fd >= 0)
			close(fd);
		free(f->host_unix);
		free(f);
		return NULL;
	}
	f->loop = loop;
	f->listen_fd = fd;
	f->port = port;
	f->path = strdup(path);
	*err = 0;
	return f;
}

void forwarder_free(struct forwarder *f)
{
	if (!f)
		return;
	while (f->nrelays > 0)
		relay_free(f->relays[f->nrelays - 1]);
	lbx_loop_del(f->loop, f->listen_fd);
	close(f->listen_fd);
	unlink(f->path);
	free(f->path);
	free(f->host_unix);
	free(f);
}
