/* SPDX-License-Identifier: MIT */
/* A vsock connection's host side: its unix socket and bounded buffers. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "log.h"
#include "vsockd.h"

static void on_conn_fd(struct lbx_loop *loop, int fd, uint32_t events, void *data);

struct vsock_conn *vsockd_conn_new(struct vsockd *d, int fd, enum conn_state state,
				   uint32_t local_port, uint32_t peer_port)
{
	struct vsock_conn *c;

	if (d->nconns >= VSOCKD_MAX_CONNS) {
		lbx_warn("vsock: %u connections open; refusing another", d->nconns);
		return NULL;
	}
	c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	if (lbx_bq_init(&c->to_host, VSOCKD_BUF_ALLOC) ||
	    lbx_bq_init(&c->to_guest, VSOCKD_TO_GUEST)) {
		lbx_bq_free(&c->to_host);
		free(c);
		return NULL;
	}
	c->d = d;
	c->fd = fd;
	c->state = state;
	c->local_port = local_port;
	c->peer_port = peer_port;
	d->conns[d->nconns++] = c;
	vsockd_conn_update_interest(c);
	return c;
}

struct vsock_conn *vsockd_conn_find(struct vsockd *d, uint32_t local_port, uint32_t peer_port)
{
	for (unsigned i = 0; i < d->nconns; i++) {
		struct vsock_conn *c = d->conns[i];

		if (c->local_port == local_port && c->peer_port == peer_port &&
		    c->state != CONN_HANDSHAKE)
			return c;
	}
	return NULL;
}

void vsockd_conn_close_fd(struct vsock_conn *c)
{
	if (c->fd < 0)
		return;
	lbx_loop_want(c->d->loop, c->fd, &c->fd_events, 0, on_conn_fd, c);
	close(c->fd);
	c->fd = -1;
}

void vsockd_conn_free(struct vsock_conn *c)
{
	struct vsockd *d = c->d;

	vsockd_conn_close_fd(c);
	for (unsigned i = 0; i < d->nconns; i++) {
		if (d->conns[i] == c) {
			d->conns[i] = d->conns[--d->nconns];
			break;
		}
	}
	lbx_bq_free(&c->to_host);
	lbx_bq_free(&c->to_guest);
	free(c);
}

void vsockd_conn_reset(struct vsock_conn *c)
{
	vsockd_conn_close_fd(c);
	if (c->state == CONN_HANDSHAKE) {
		vsockd_conn_free(c); /* the guest never heard of it */
		return;
	}
	c->state = CONN_CLOSING;
	c->ctrl = CTRL_RST;
}

void vsockd_close_all(struct vsockd *d)
{
	while (d->nconns > 0)
		vsockd_conn_free(d->conns[d->nconns - 1]);
	d->nresets = 0;
}

void vsockd_queue_reset(struct vsockd *d, uint32_t src_port, uint32_t dst_port)
{
	if (d->nresets >= VSOCKD_MAX_RESETS) {
		/* The guest times the connection out instead. */
		lbx_debug("vsock: RST queue full, dropping RST to port %u", dst_port);
		return;
	}
	d->resets[d->nresets++] = (struct vsock_reset){ src_port, dst_port };
}

uint32_t vsockd_conn_peer_credit(const struct vsock_conn *c)
{
	uint32_t in_flight = c->tx_cnt - c->peer_fwd_cnt;

	if (!c->peer_credit_known || in_flight > c->peer_buf_alloc)
		return 0;
	return c->peer_buf_alloc - in_flight;
}

/* Read from the host socket only as far as the guest has credit and we have room. */
static bool want_read(const struct vsock_conn *c)
{
	uint32_t credit = vsockd_conn_peer_credit(c);

	if (c->state == CONN_HANDSHAKE)
		return true;
	if (c->state != CONN_OPEN || c->host_eof || (c->peer_shutdown & VSOCK_SHUTDOWN_RCV))
		return false;
	return lbx_bq_room(&c->to_guest) > 0 && credit > lbx_bq_len(&c->to_guest);
}

void vsockd_conn_update_interest(struct vsock_conn *c)
{
	uint32_t ev = 0;

	if (c->fd < 0)
		return;
	if (want_read(c))
		ev |= EPOLLIN;
	if (lbx_bq_len(&c->to_host) > 0)
		ev |= EPOLLOUT;
	if (lbx_loop_want(c->d->loop, c->fd, &c->fd_events, ev, on_conn_fd, c) < 0)
		lbx_warn("vsock: cannot watch port %u's socket", c->local_port);
}

/* "CONNECT <port>\n" from a host client (Firecracker's vsock.md). */
static void read_handshake(struct vsock_conn *c)
{
	struct vsockd *d = c->d;
	size_t room = sizeof(c->handshake) - c->handshake_len - 1;
	ssize_t n = read(c->fd, c->handshake + c->handshake_len, room);
	char *nl, *end;
	unsigned long port;

	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		vsockd_conn_free(c);
		return;
	}
	c->handshake_len += (unsigned)n;
	c->handshake[c->handshake_len] = '\0';
	nl = memchr(c->handshake, '\n', c->handshake_len);
	if (!nl) {
		if (c->handshake_len >= sizeof(c->handshake) - 1) {
			lbx_warn("vsock: host client sent no CONNECT line; closing it");
			vsockd_conn_free(c);
		}
		return;
	}
	*nl = '\0';
	errno = 0;
	port = strncmp(c->handshake, "CONNECT ", 8) ? 0 : strtoul(c->handshake + 8, &end, 10);
	if (port == 0 || errno || *end != '\0' || port > UINT32_MAX) {
		lbx_warn("vsock: bad handshake from a host client; expected 'CONNECT <port>'");
		vsockd_conn_free(c);
		return;
	}
	/* Bytes after the line are the start of the stream. */
	if (lbx_bq_append(&c->to_guest, nl + 1,
			  c->handshake_len - (size_t)(nl + 1 - c->handshake)) < 0) {
		vsockd_conn_free(c);
		return;
	}
	c->peer_port = (uint32_t)port;
	c->local_port = vsockd_alloc_local_port(d);
	c->state = CONN_CONNECTING;
	c->ctrl |= CTRL_REQUEST;
}

static void read_host(struct vsock_conn *c)
{
	uint32_t credit = vsockd_conn_peer_credit(c) - (uint32_t)lbx_bq_len(&c->to_guest);
	ssize_t n = lbx_bq_read_fd(&c->to_guest, c->fd, credit);

	if (n == -EAGAIN || n == -EINTR || n == -ENOSPC)
		return;
	if (n < 0) {
		vsockd_conn_reset(c);
		return;
	}
	if (n == 0)
		c->host_eof = true; /* SHUTDOWN(SEND) goes out once to_guest is sent */
}

static void write_host(struct vsock_conn *c)
{
	ssize_t n = lbx_bq_write_fd(&c->to_host, c->fd);

	if (n == -EAGAIN || n == -EINTR)
		return;
	if (n < 0) {
		/* The host side closed: the guest's connection is over too. */
		vsockd_conn_reset(c);
		return;
	}
	c->fwd_cnt += (uint32_t)n;
	/* Tell the guest about freed room before it runs dry (§5.10.6.3). */
	if (c->fwd_cnt - c->reported_fwd_cnt >= VSOCKD_BUF_ALLOC / 4 ||
	    lbx_bq_len(&c->to_host) == 0)
		if (c->fwd_cnt != c->reported_fwd_cnt)
			c->ctrl |= CTRL_CREDIT_UPDATE;
}

/* After guest data drained: pass on the guest's shutdown. */
static void finish_host_side(struct vsock_conn *c)
{
	if (lbx_bq_len(&c->to_host) > 0 || c->fd < 0)
		return;
	if (c->close_after_flush) {
		vsockd_conn_reset(c);
		return;
	}
	if ((c->peer_shutdown & VSOCK_SHUTDOWN_SEND) && !c->fd_write_shut) {
		shutdown(c->fd, SHUT_WR);
		c->fd_write_shut = true;
	}
}

static void on_conn_fd(struct lbx_loop *loop, int fd, uint32_t events, void *data)
{
	struct vsock_conn *c = data;
	struct vsockd *d = c->d;

	if (c->state == CONN_HANDSHAKE) {
		read_handshake(c); /* may free c */
		vsockd_rx_run(d);
		return;
	}
	if (events & EPOLLOUT)
		write_host(c);
	if (c->fd >= 0 && (events & (EPOLLIN | EPOLLHUP | EPOLLERR)) && want_read(c))
		read_host(c);
	finish_host_side(c);
	vsockd_conn_update_interest(c);
	vsockd_rx_run(d);
}

void vsockd_conn_host_progress(struct vsock_conn *c)
{
	if (c->fd >= 0 && lbx_bq_len(&c->to_host) > 0)
		write_host(c);
	finish_host_side(c);
	vsockd_conn_update_interest(c);
}
