/* SPDX-License-Identifier: MIT */
/*
 * The stream transport (--stream PATH): one peer at a time on a unix
 * stream socket, Ethernet frames each behind a 4-byte big-endian length
 * (common/lenframe.h). lbx-agent relays a container's tap device this way; QEMU's
 * -netdev stream and passt speak the same format.
 *
 * From the peer: bytes are read into a small buffer and cut into frames
 * by lbx_lenframe_peek; each frame goes through netd_egress, as a frame
 * from the vhost-user tx queue does. A bad length closes the connection,
 * since the stream is then out of step; the next peer is accepted.
 *
 * To the peer: frames are written at once while the socket takes them;
 * what it does not take waits in a queue of at most NETD_RXQ_MAX_BYTES,
 * flushed on EPOLLOUT. A frame that does not fit whole is dropped whole,
 * so the peer never sees part of one. The socket is non-blocking: a peer
 * that stops reading costs dropped frames, never a stalled loop.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "bytequeue.h"
#include "lenframe.h"
#include "log.h"
#include "netd.h"
#include "unixsock.h"

/* Bytes read at a time; always room for a whole frame after a partial one. */
#define STREAM_IN_CAP (64u << 10)
_Static_assert(STREAM_IN_CAP >= 2 * (LBX_LENFRAME_HDR + NETD_FRAME_MAX),
	       "the input buffer holds a partial frame and a whole one");

struct netd_stream {
	struct netd *d;
	int listen_fd;
	char *path;
	int fd;		 /* the peer, -1 while none is connected */
	uint32_t events; /* asked of the loop for fd (lbx_loop_want) */
	bool reading;	 /* in peer_read: the peer is closed after it, not during */
	bool broken;	 /* a write failed while reading: close when the read ends */
	struct lbx_bq in, out;
	uint64_t peers, refused;
};

static void peer_event(struct lbx_loop *loop, int fd, uint32_t events, void *data);

/* Silent: the caller says why, in one line. */
static void peer_close(struct netd_stream *s)
{
	lbx_loop_want(s->d->loop, s->fd, &s->events, 0, peer_event, s);
	close(s->fd);
	s->fd = -1;
	s->events = 0;
	s->broken = false;
	/* Frames queued for a peer that is gone are dropped, as for a VMM that left. */
	lbx_bq_consume(&s->in, lbx_bq_len(&s->in));
	lbx_bq_consume(&s->out, lbx_bq_len(&s->out));
}

static void log_write_error(int err)
{
	if (err == -EPIPE || err == -ECONNRESET)
		lbx_info("net: stream peer disconnected");
	else
		lbx_warn("net: cannot write to the stream peer: %s; disconnecting it",
			 strerror(-err));
}

/* A write failed: close now, or once the read in progress has finished. */
static void peer_fail(struct netd_stream *s, int err)
{
	log_write_error(err);
	if (s->reading) {
		s->broken = true;
		lbx_bq_consume(&s->out, lbx_bq_len(&s->out));
		return;
	}
	peer_close(s);
}

/* EPOLLIN always; EPOLLOUT only while bytes wait, so an idle peer costs no wake-ups. */
static void peer_want(struct netd_stream *s)
{
	uint32_t ev = EPOLLIN | (lbx_bq_len(&s->out) ? EPOLLOUT : 0u);

	if (lbx_loop_want(s->d->loop, s->fd, &s->events, ev, peer_event, s) < 0)
		peer_fail(s, -ENOMEM);
}

static void flush(struct netd_stream *s)
{
	while (lbx_bq_len(&s->out)) {
		ssize_t n = lbx_bq_write_fd(&s->out, s->fd);

		if (n == -EAGAIN || n == -EINTR)
			break;
		if (n <= 0) {
			peer_fail(s, n < 0 ? (int)n : -EPIPE);
			return;
		}
	}
	peer_want(s);
}

/* Write straight to the socket when nothing waits: no copy in the common case. */
static size_t write_now(struct netd_stream *s, const uint8_t *hdr, const uint8_t *frame, size_t len)
{
	struct iovec iov[2] = { { (void *)hdr, LBX_LENFRAME_HDR }, { (void *)frame, len } };
	ssize_t n;

	if (lbx_bq_len(&s->out))
		return 0;
	n = writev(s->fd, iov, 2);
	if (n >= 0)
		return (size_t)n;
	if (errno != EAGAIN && errno != EINTR)
		peer_fail(s, -errno);
	return 0;
}

/* Queue what the socket did not take of header and frame (off bytes went out). */
static void queue_rest(struct netd_stream *s, const uint8_t *hdr, const uint8_t *frame, size_t len,
		       size_t off)
{
	size_t hoff = off < LBX_LENFRAME_HDR ? off : LBX_LENFRAME_HDR;
	size_t foff = off - hoff;

	/* Cannot fail: the caller made sure the whole frame fits. */
	if (lbx_bq_append(&s->out, hdr + hoff, LBX_LENFRAME_HDR - hoff) ||
	    lbx_bq_append(&s->out, frame + foff, len - foff))
		lbx_err("net: stream: the queue for the peer lost a frame's tail");
}

/*
 * A frame for the peer, queued whole or dropped whole. Frames of 1 to
 * NETD_FRAME_MAX bytes only: what we send obeys the limit we enforce.
 */
void netd_stream_send(struct netd *d, const uint8_t *frame, size_t len)
{
	struct netd_stream *s = d->stream;
	uint8_t hdr[LBX_LENFRAME_HDR];
	size_t off;

	if (!s || s->fd < 0 || s->broken || len == 0 || len > NETD_FRAME_MAX ||
	    lbx_bq_room(&s->out) < LBX_LENFRAME_HDR + len) {
		d->st.rx_dropped++;
		return;
	}
	lbx_lenframe_header(hdr, (uint32_t)len);
	off = write_now(s, hdr, frame, len);
	if (s->fd < 0 || s->broken) {
		d->st.rx_dropped++;
		return;
	}
	d->st.frames_to_guest++;
	if (off == LBX_LENFRAME_HDR + len)
		return;
	queue_rest(s, hdr, frame, len, off);
	peer_want(s);
}

/* One frame from the peer, counted and size-checked as tx.c does a chain. */
static void peer_frame(struct netd *d, const uint8_t *frame, size_t len)
{
	d->st.frames_from_guest++;
	if (len < NET_ETH_HLEN) {
		d->st.malformed[NETD_BAD_SIZE]++;
		return;
	}
	netd_egress(d, frame, len);
}

/* Every whole frame in the input buffer; false if the stream is out of step. */
static bool peer_frames(struct netd_stream *s)
{
	for (;;) {
		const uint8_t *frame;
		size_t len = 0;
		int rc = lbx_lenframe_peek(&s->in, NETD_FRAME_MAX, &frame, &len);

		if (rc == 0)
			return true;
		if (rc < 0) {
			s->d->st.frames_from_guest++;
			s->d->st.malformed[NETD_BAD_SIZE]++;
			lbx_warn("net: stream peer sent a frame length of %zu (allowed: 1 to %d); "
				 "closing the connection",
				 len, NETD_FRAME_MAX);
			return false;
		}
		peer_frame(s->d, frame, len);
		lbx_lenframe_consume(&s->in, len);
		if (s->broken)
			return true;
	}
}

static void peer_read(struct netd_stream *s)
{
	ssize_t n = lbx_bq_read_fd(&s->in, s->fd, SIZE_MAX);
	bool in_step;

	if (n == -EAGAIN || n == -EINTR)
		return;
	if (n <= 0) {
		if (n == 0 || n == -ECONNRESET)
			lbx_info("net: stream peer disconnected");
		else
			lbx_warn("net: cannot read from the stream peer: %s; disconnecting it",
				 strerror((int)-n));
		peer_close(s);
		return;
	}
	s->reading = true;
	in_step = peer_frames(s);
	s->reading = false;
	netd_slirp_repoll(s->d);
	if (!in_step || s->broken)
		peer_close(s);
}

static void peer_event(struct lbx_loop *loop, int fd, uint32_t events, void *data)
{
	struct netd_stream *s = data;

	if (events & EPOLLOUT)
		flush(s);
	if (s->fd >= 0 && (events & (EPOLLIN | EPOLLHUP | EPOLLERR)))
		peer_read(s);
}

static void on_accept(struct lbx_loop *loop, int fd, uint32_t events, void *data)
{
	struct netd_stream *s = data;
	int c = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

	if (c < 0)
		return;
	if (s->fd >= 0) {
		/* One tap, one relay: two peers would interleave their frames. */
		lbx_warn("net: a stream peer is already connected; closing the new connection");
		s->refused++;
		close(c);
		return;
	}
	s->fd = c;
	s->events = 0;
	if (lbx_loop_want(loop, c, &s->events, EPOLLIN, peer_event, s) < 0) {
		lbx_err("net: cannot watch the new stream peer; closing it");
		close(c);
		s->fd = -1;
		return;
	}
	s->peers++;
	lbx_info("net: stream peer connected");
}

static struct netd_stream *stream_new(struct netd *d)
{
	struct netd_stream *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->d = d;
	s->listen_fd = s->fd = -1;
	if (lbx_bq_init(&s->in, STREAM_IN_CAP) || lbx_bq_init(&s->out, NETD_RXQ_MAX_BYTES)) {
		lbx_bq_free(&s->in);
		lbx_bq_free(&s->out);
		free(s);
		return NULL;
	}
	return s;
}

int netd_stream_listen(struct netd *d, const char *path)
{
	struct netd_stream *s;
	int fd, err;

	if (d->stream)
		return -EBUSY;
	s = stream_new(d);
	if (!s)
		return -ENOMEM;
	d->stream = s;
	fd = lbx_unix_listen(path, 4, LBX_UNIX_NONBLOCK);
	if (fd < 0)
		return fd;
	s->path = strdup(path);
	err = s->path ? lbx_loop_add(d->loop, fd, EPOLLIN, on_accept, s) : -ENOMEM;
	if (err) {
		close(fd);
		unlink(path);
		return err;
	}
	s->listen_fd = fd;
	return 0;
}

void netd_stream_close(struct netd *d)
{
	struct netd_stream *s = d->stream;

	if (!s)
		return;
	if (s->fd >= 0)
		peer_close(s);
	if (s->listen_fd >= 0) {
		lbx_loop_del(d->loop, s->listen_fd);
		close(s->listen_fd);
		unlink(s->path);
	}
	free(s->path);
	lbx_bq_free(&s->in);
	lbx_bq_free(&s->out);
	free(s);
	d->stream = NULL;
}

void netd_stream_status(const struct netd *d, struct netd_stream_status *st)
{
	const struct netd_stream *s = d->stream;

	*st = (struct netd_stream_status){ 0 };
	if (!s)
		return;
	st->connected = s->fd >= 0;
	st->peers = s->peers;
	st->refused = s->refused;
	st->queued_bytes = lbx_bq_len(&s->out);
}
