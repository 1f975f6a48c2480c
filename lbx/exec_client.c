/* SPDX-License-Identifier: MIT */
#include "exec_client.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include "bytequeue.h"
#include "exec_proto.h"

#define CLIENT_QUEUE (EXEC_FRAME_MAX * 4)
#define CLIENT_CHUNK (32 * 1024)

struct client {
	const struct lbx_exec_opts *o;
	struct lbx_exec_result *res;
	struct lbx_bq tx; /* frames to the agent */
	struct lbx_bq rx; /* bytes from the agent */
	int in_fd;
	bool tx_closed; /* the agent stopped reading: what it sent is still readable */
};

static int queue_frame(struct client *c, uint8_t type, const void *p, size_t n)
{
	uint8_t hdr[EXEC_HEADER_SIZE];

	if (c->tx_closed)
		return 0;
	if (lbx_bq_room(&c->tx) < n + sizeof(hdr))
		return -ENOSPC;
	lbx_put_u32le(hdr, (uint32_t)n + 1);
	hdr[4] = type;
	if (lbx_bq_append(&c->tx, hdr, sizeof(hdr)) || lbx_bq_append(&c->tx, p, n))
		return -ENOSPC;
	return 0;
}

static int queue_exec(struct client *c)
{
	const struct lbx_exec_opts *o = c->o;
	struct lbx_writer w;
	uint32_t flags = (o->tty ? EXEC_F_TTY : 0) | (o->root ? EXEC_F_ROOT : 0);
	int err;

	lbx_writer_init_dynamic(&w, EXEC_FRAME_MAX + 4);
	err = exec_request_encode(&w, flags, o->rows, o->cols, o->cwd, o->argv, o->env);
	if (!err)
		err = lbx_bq_append(&c->tx, lbx_writer_data(&w), lbx_writer_len(&w));
	lbx_writer_free(&w);
	if (err)
		snprintf(c->res->error, sizeof(c->res->error),
			 "the command line or environment is too long for one request");
	return err;
}

static int write_all(int fd, const uint8_t *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && errno == EAGAIN) {
			struct pollfd pfd = { .fd = fd, .events = POLLOUT };

			poll(&pfd, 1, -1);
			continue;
		}
		if (w < 0)
			return -errno;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* One frame from the agent; 1 when the session is over. */
static int handle_frame(struct client *c, uint8_t type, struct lbx_reader *r)
{
	const uint8_t *p;
	uint8_t kind;
	uint32_t v;
	size_t n;

	switch (type) {
	case EXEC_MSG_STARTED:
		return exec_decode_started(r, &c->res->pid) ? -EBADMSG : 0;
	case EXEC_MSG_STDOUT:
	case EXEC_MSG_STDERR:
		if (lbx_read_rest(r, &p, &n))
			return -EBADMSG;
		/*
		 * Our reader went away (`lbx exec ... | head`): end the session,
		 * which stops the command, as SIGPIPE would in a local pipeline.
		 */
		if (write_all(type == EXEC_MSG_STDOUT ? c->o->out_fd : c->o->err_fd, p, n) == -EPIPE)
			return -EPIPE;
		return 0;
	case EXEC_MSG_ERROR:
		return exec_decode_error(r, c->res->error, sizeof(c->res->error)) ? -EBADMSG : 0;
	case EXEC_MSG_EXITED:
		if (exec_decode_exited(r, &kind, &v) || v > 255)
			return -EBADMSG;
		c->res->exited = true;
		c->res->signaled = kind == EXEC_EXIT_SIGNAL;
		c->res->status = (int)v;
		return 1;
	default:
		return -EBADMSG;
	}
}

static int drain_rx(struct client *c)
{
	for (;;) {
		struct lbx_reader payload;
		uint8_t type;
		size_t used;
		int rc = exec_frame_next(lbx_bq_head(&c->rx), lbx_bq_len(&c->rx), &type, &payload,
					 &used);

		if (rc <= 0)
			return rc;
		rc = handle_frame(c, type, &payload);
		lbx_bq_consume(&c->rx, used);
		if (rc)
			return rc;
	}
}

static void read_stdin(struct client *c)
{
	uint8_t buf[CLIENT_CHUNK];
	ssize_t n = read(c->in_fd, buf, sizeof(buf));

	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		c->in_fd = -1;
		/* Room was checked before polling stdin, so the EOF frame fits. */
		if (!c->o->tty)
			(void)!queue_frame(c, EXEC_MSG_STDIN_EOF, NULL, 0);
		return;
	}
	/* Room was checked before polling stdin. */
	if (queue_frame(c, EXEC_MSG_STDIN, buf, (size_t)n) < 0)
		c->in_fd = -1;
}

static void send_winsize(struct client *c)
{
	struct winsize ws;
	char drain[64];

	while (read(c->o->winch_fd, drain, sizeof(drain)) > 0)
		;
	if (ioctl(c->o->tty_fd, TIOCGWINSZ, &ws) == 0) {
		uint8_t p[4] = { (uint8_t)ws.ws_row, (uint8_t)(ws.ws_row >> 8), (uint8_t)ws.ws_col,
				 (uint8_t)(ws.ws_col >> 8) };

		queue_frame(c, EXEC_MSG_RESIZE, p, sizeof(p));
	}
}

static void forward_signal(struct client *c)
{
	int signo;
	uint8_t p[4];

	while (read(c->o->signal_fd, &signo, sizeof(signo)) == sizeof(signo)) {
		lbx_put_u32le(p, (uint32_t)signo);
		queue_frame(c, EXEC_MSG_SIGNAL, p, sizeof(p));
	}
}

static int session_loop(int fd, struct client *c)
{
	for (;;) {
		struct pollfd pfd[4] = { { .fd = fd, .events = POLLIN } };
		bool room = lbx_bq_room(&c->tx) >= CLIENT_CHUNK + EXEC_HEADER_SIZE + 64;
		int rc;

		if (lbx_bq_len(&c->tx) && !c->tx_closed)
			pfd[0].events |= POLLOUT;
		pfd[1] = (struct pollfd){ .fd = room ? c->in_fd : -1, .events = POLLIN };
		pfd[2] = (struct pollfd){ .fd = room ? c->o->winch_fd : -1, .events = POLLIN };
		pfd[3] = (struct pollfd){ .fd = room ? c->o->signal_fd : -1, .events = POLLIN };
		if (poll(pfd, 4, -1) < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (pfd[0].revents & POLLOUT) {
			ssize_t n = lbx_bq_write_fd(&c->tx, fd);

			if (n == -EPIPE || n == -ECONNRESET) {
				/* Finished sessions close while stdin is still flowing. */
				c->tx_closed = true;
				c->in_fd = -1;
				lbx_bq_consume(&c->tx, lbx_bq_len(&c->tx));
			} else if (n < 0 && n != -EAGAIN && n != -EINTR) {
				return (int)n;
			}
		}
		if (pfd[0].revents & (POLLIN | POLLHUP | POLLERR)) {
			ssize_t n = lbx_bq_read_fd(&c->rx, fd, SIZE_MAX);

			if (n == 0 || (n < 0 && n != -EAGAIN && n != -EINTR && n != -ENOSPC))
				return n == 0 ? -ECONNRESET : (int)n;
			rc = drain_rx(c);
			if (rc)
				return rc < 0 ? rc : 0;
		}
		if (pfd[1].revents)
			read_stdin(c);
		if (pfd[2].revents)
			send_winsize(c);
		if (pfd[3].revents)
			forward_signal(c);
	}
}

int lbx_exec_run(int fd, const struct lbx_exec_opts *opts, struct lbx_exec_result *result)
{
	struct client c = { .o = opts, .res = result, .in_fd = opts->in_fd };
	int rc;

	memset(result, 0, sizeof(*result));
	/* A blocking write could wait on an agent that waits on our reading. */
	if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) < 0)
		return -errno;
	if (lbx_bq_init(&c.tx, CLIENT_QUEUE) || lbx_bq_init(&c.rx, EXEC_FRAME_MAX * 2)) {
		lbx_bq_free(&c.tx);
		return -ENOMEM;
	}
	rc = queue_exec(&c);
	if (!rc && c.in_fd < 0 && !opts->tty)
		rc = queue_frame(&c, EXEC_MSG_STDIN_EOF, NULL, 0);
	if (!rc)
		rc = session_loop(fd, &c);
	if (rc < 0 && !result->error[0]) {
		if (rc == -EBADMSG)
			snprintf(result->error, sizeof(result->error),
				 "malformed message from the box agent");
		else if (rc == -ECONNRESET)
			snprintf(result->error, sizeof(result->error),
				 "the box agent closed the session before the command ended");
		else
			snprintf(result->error, sizeof(result->error), "%s", strerror(-rc));
	}
	lbx_bq_free(&c.tx);
	lbx_bq_free(&c.rx);
	return rc;
}

int lbx_exec_exit_code(const struct lbx_exec_result *result)
{
	if (!result->exited)
		return 255;
	return result->signaled ? 128 + result->status : result->status;
}
