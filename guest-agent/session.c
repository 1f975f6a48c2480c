/* SPDX-License-Identifier: MIT */
/*
 * One exec session: a connection from the host, the command it started,
 * and the bytes between them. See common/exec_proto.h for the protocol.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "bytequeue.h"
#include "exec_proto.h"
#include "exec_service.h"
#include "spawn.h"
#include "log.h"

#define SESSION_RBUF_CAP (EXEC_FRAME_MAX + 4)
#define SESSION_IN_CAP (256 * 1024)
#define SESSION_OUT_CAP (512 * 1024)
#define SESSION_READ_CHUNK (32 * 1024)
/* After the command exits, how long to wait for output held by its children. */
#define SESSION_DRAIN_MS 250

enum session_state { S_WAIT_EXEC, S_RUNNING, S_CLOSING };

/* One fd the session polls, and what it currently asks the loop for. */
struct watch {
	int fd;
	uint32_t events; /* 0: not in the loop */
};

struct exec_session {
	struct exec_service *svc;
	struct lbx_loop *loop;
	enum session_state state;
	struct watch conn, in, out, err;
	struct lbx_bq rbuf; /* bytes from the host, whole frames parsed out */
	struct lbx_bq inq;  /* for the command's stdin */
	struct lbx_bq outq; /* frames for the host */
	pid_t pid;
	bool tty;
	bool stdin_eof;
	bool exited;
	int status;
	int drain_timer;
	bool finish_queued;
};

static void on_fd(struct lbx_loop *loop, int fd, uint32_t events, void *data);
static void session_end(struct exec_session *s);

static void set_watch(struct exec_session *s, struct watch *w, uint32_t events)
{
	if (lbx_loop_want(s->loop, w->fd, &w->events, events, on_fd, s) < 0)
		lbx_warn("exec session: cannot watch fd %d", w->fd);
}

static void close_watch(struct exec_session *s, struct watch *w)
{
	if (w->fd < 0)
		return;
	set_watch(s, w, 0);
	close(w->fd);
	w->fd = -1;
}

/*
 * Poll each side only while the queue it feeds has room: this is the
 * whole of the flow control.
 */
static void update_interest(struct exec_session *s)
{
	uint32_t conn = 0;

	if (s->state != S_CLOSING && lbx_bq_room(&s->rbuf) > 0 &&
	    lbx_bq_room(&s->inq) >= EXEC_FRAME_MAX)
		conn |= EPOLLIN;
	if (lbx_bq_len(&s->outq) > 0)
		conn |= EPOLLOUT;
	set_watch(s, &s->conn, conn);
	set_watch(s, &s->in, lbx_bq_len(&s->inq) > 0 ? EPOLLOUT : 0);
	bool room = s->state != S_CLOSING &&
		    lbx_bq_room(&s->outq) >= SESSION_READ_CHUNK + EXEC_HEADER_SIZE;
	set_watch(s, &s->out, room ? EPOLLIN : 0);
	set_watch(s, &s->err, room ? EPOLLIN : 0);
}

static void queue_error(struct exec_session *s, const char *fmt, ...) LBX_PRINTF(2, 3);
static void queue_error(struct exec_session *s, const char *fmt, ...)
{
	uint8_t buf[600];
	struct lbx_writer w;
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	lbx_writer_init_fixed(&w, buf, sizeof(buf));
	if (exec_write_error(&w, msg) == 0 &&
	    lbx_bq_append(&s->outq, buf, lbx_writer_len(&w)) < 0)
		lbx_warn("exec session: output queue full, dropped error '%s'", msg);
}

/* Append a frame built in a small writer. */
static void queue_writer(struct exec_session *s, int rc, struct lbx_writer *w, const char *what)
{
	if (rc || lbx_bq_append(&s->outq, lbx_writer_data(w), lbx_writer_len(w)) < 0)
		lbx_warn("exec session: cannot queue %s", what);
}

static void queue_exited(struct exec_session *s)
{
	uint8_t buf[16];
	struct lbx_writer w;
	int rc;

	lbx_writer_init_fixed(&w, buf, sizeof(buf));
	if (WIFSIGNALED(s->status))
		rc = exec_write_exited(&w, EXEC_EXIT_SIGNAL, (uint32_t)WTERMSIG(s->status));
	else
		rc = exec_write_exited(&w, EXEC_EXIT_CODE, (uint32_t)WEXITSTATUS(s->status));
	queue_writer(s, rc, &w, "EXITED");
}

/* All output is in the queue once the command exited and its streams ended. */
static void check_finish(struct exec_session *s)
{
	if (s->finish_queued || !s->exited)
		return;
	if (s->out.fd >= 0 || s->err.fd >= 0)
		return;
	queue_exited(s);
	s->finish_queued = true;
	s->state = S_CLOSING;
	close_watch(s, &s->in);
}

/* Read one chunk of command output into a STDOUT/STDERR frame. */
static void pump_output(struct exec_session *s, struct watch *w, uint8_t type)
{
	size_t room;
	uint8_t *p = lbx_bq_tail_space(&s->outq, &room);
	ssize_t n;

	if (room < EXEC_HEADER_SIZE + 1)
		return;
	room -= EXEC_HEADER_SIZE;
	n = read(w->fd, p + EXEC_HEADER_SIZE, room < SESSION_READ_CHUNK ? room : SESSION_READ_CHUNK);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		/* EOF, or EIO from a pty whose last slave closed. */
		close_watch(s, w);
		if (w == &s->out && s->tty)
			close_watch(s, &s->in);
		check_finish(s);
		return;
	}
	lbx_put_u32le(p, (uint32_t)n + 1);
	p[4] = type;
	lbx_bq_commit(&s->outq, (size_t)n + EXEC_HEADER_SIZE);
}

static void on_drain_timer(struct lbx_loop *loop, int fd, uint32_t events, void *data)
{
	struct exec_session *s = data;

	lbx_loop_del(loop, fd);
	s->drain_timer = -1;
	/* Children of the command still hold its streams: take what is there, stop. */
	if (s->out.fd >= 0)
		pump_output(s, &s->out, EXEC_MSG_STDOUT);
	if (s->err.fd >= 0)
		pump_output(s, &s->err, EXEC_MSG_STDERR);
	close_watch(s, &s->out);
	close_watch(s, &s->err);
	check_finish(s);
	update_interest(s);
}

bool exec_session_child_exited(struct exec_session *s, pid_t pid, int status)
{
	if (s->pid != pid || s->exited)
		return false;
	s->exited = true;
	s->status = status;
	s->drain_timer = lbx_loop_add_timer(s->loop, SESSION_DRAIN_MS, false, on_drain_timer, s);
	check_finish(s);
	update_interest(s);
	return true;
}

/* EXEC: start the command; its failure to start is reported, not fatal. */
static int session_spawn(struct exec_session *s, struct lbx_reader *payload)
{
	struct exec_request req;
	struct spawn_result res;
	struct lbx_writer w;
	uint8_t buf[16];
	char err[512];
	int rc = exec_request_decode(payload, &req);

	if (rc)
		return rc;
	rc = spawn_command(&req, exec_service_config(s->svc), &res, err, sizeof(err));
	s->tty = (req.flags & EXEC_F_TTY) != 0;
	exec_request_free(&req);
	if (rc < 0) {
		queue_error(s, "%s", err[0] ? err : strerror(-rc));
		s->state = S_CLOSING;
		s->finish_queued = true;
		return 0;
	}
	s->pid = res.pid;
	s->in.fd = res.in_fd;
	s->out.fd = res.out_fd;
	s->err.fd = res.err_fd;
	s->state = S_RUNNING;
	lbx_writer_init_fixed(&w, buf, sizeof(buf));
	queue_writer(s, exec_write_u32(&w, EXEC_MSG_STARTED, (uint32_t)res.pid), &w, "STARTED");
	if (err[0])
		queue_error(s, "%s", err);
	return 0;
}

static int handle_frame(struct exec_session *s, uint8_t type, struct lbx_reader *payload)
{
	const uint8_t *p;
	uint16_t rows, cols;
	uint32_t signo;
	size_t n;

	if (s->state == S_WAIT_EXEC && type == EXEC_MSG_POWEROFF) {
		const struct exec_service_config *cfg = exec_service_config(s->svc);

		if (lbx_read_end(payload) || !cfg->poweroff)
			return -EPROTO;
		cfg->poweroff(cfg->poweroff_data);
		s->state = S_CLOSING;
		s->finish_queued = true;
		return 0;
	}
	if (s->state == S_WAIT_EXEC)
		return type == EXEC_MSG_EXEC ? session_spawn(s, payload) : -EPROTO;
	switch (type) {
	case EXEC_MSG_STDIN:
		if (lbx_read_rest(payload, &p, &n))
			return -EBADMSG;
		if (s->in.fd < 0 || s->stdin_eof)
			return 0; /* the command closed its stdin: drop, as a pipe would */
		return lbx_bq_append(&s->inq, p, n) < 0 ? -EAGAIN : 0;
	case EXEC_MSG_STDIN_EOF:
		if (lbx_read_end(payload))
			return -EBADMSG;
		s->stdin_eof = true;
		if (!s->tty && lbx_bq_len(&s->inq) == 0)
			close_watch(s, &s->in);
		return 0;
	case EXEC_MSG_RESIZE:
		if (exec_decode_resize(payload, &rows, &cols))
			return -EBADMSG;
		if (s->tty && s->out.fd >= 0) {
			struct winsize ws = { .ws_row = rows, .ws_col = cols };

			ioctl(s->out.fd, TIOCSWINSZ, &ws);
		}
		return 0;
	case EXEC_MSG_SIGNAL:
		if (exec_decode_signal(payload, &signo))
			return -EBADMSG;
		if (!exec_proto_signal_allowed(signo))
			return -EPERM;
		if (!s->exited)
			kill(s->pid, (int)signo);
		return 0;
	default:
		return -EPROTO;
	}
}

/* Parse every whole frame in rbuf; stop early when stdin's queue is full. */
static int parse_frames(struct exec_session *s)
{
	for (;;) {
		struct lbx_reader payload;
		uint8_t type;
		size_t used;
		int rc = exec_frame_next(lbx_bq_head(&s->rbuf), lbx_bq_len(&s->rbuf), &type,
					 &payload, &used);

		if (rc <= 0)
			return rc;
		rc = handle_frame(s, type, &payload);
		if (rc == -EAGAIN)
			return 0; /* retried when stdin drains */
		if (rc < 0)
			return rc;
		lbx_bq_consume(&s->rbuf, used);
	}
}

/* Returns true if the session ended (s is gone). */
static bool conn_readable(struct exec_session *s)
{
	ssize_t n = lbx_bq_read_fd(&s->rbuf, s->conn.fd, SIZE_MAX);
	int rc;

	if (n == -EAGAIN || n == -EINTR || n == -ENOSPC)
		return false;
	if (n <= 0) {
		/* The host went away: nobody is left to read the command's output. */
		session_end(s);
		return true;
	}
	rc = parse_frames(s);
	if (rc < 0) {
		lbx_warn("exec session: bad frame from the host (%s); ending the session",
			 strerror(-rc));
		queue_error(s, "protocol error: %s", strerror(-rc));
		if (s->pid > 0 && !s->exited)
			kill(-s->pid, SIGKILL);
		s->state = S_CLOSING;
		s->finish_queued = true;
	}
	return false;
}

/* Returns true if the session ended (s is gone). */
static bool stdin_writable(struct exec_session *s)
{
	ssize_t n = lbx_bq_write_fd(&s->inq, s->in.fd);

	if (n < 0 && n != -EAGAIN && n != -EINTR) {
		/* The command closed its stdin (EPIPE): drop what is queued. */
		lbx_bq_consume(&s->inq, lbx_bq_len(&s->inq));
		close_watch(s, &s->in);
		return false;
	}
	if (parse_frames(s) < 0) {
		session_end(s);
		return true;
	}
	if (s->stdin_eof && !s->tty && lbx_bq_len(&s->inq) == 0)
		close_watch(s, &s->in);
	return false;
}

/* Returns true if the session ended (s is gone). */
static bool conn_event(struct exec_session *s, uint32_t events)
{
	if (events & EPOLLOUT) {
		ssize_t n = lbx_bq_write_fd(&s->outq, s->conn.fd);

		if ((n < 0 && n != -EAGAIN && n != -EINTR) ||
		    (s->state == S_CLOSING && lbx_bq_len(&s->outq) == 0)) {
			session_end(s);
			return true;
		}
	}
	if (events & (EPOLLIN | EPOLLHUP | EPOLLERR))
		return conn_readable(s);
	return false;
}

static void on_fd(struct lbx_loop *loop, int fd, uint32_t events, void *data)
{
	struct exec_session *s = data;
	bool ended = false;

	if (fd == s->conn.fd)
		ended = conn_event(s, events);
	else if (fd == s->in.fd)
		ended = stdin_writable(s);
	else if (fd == s->out.fd)
		pump_output(s, &s->out, EXEC_MSG_STDOUT);
	else if (fd == s->err.fd)
		pump_output(s, &s->err, EXEC_MSG_STDERR);
	if (!ended)
		update_interest(s);
}

struct exec_session *exec_session_new(struct exec_service *svc, struct lbx_loop *loop, int fd)
{
	struct exec_session *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->svc = svc;
	s->loop = loop;
	s->conn.fd = fd;
	s->in.fd = s->out.fd = s->err.fd = -1;
	s->drain_timer = -1;
	if (lbx_bq_init(&s->rbuf, SESSION_RBUF_CAP) || lbx_bq_init(&s->inq, SESSION_IN_CAP) ||
	    lbx_bq_init(&s->outq, SESSION_OUT_CAP)) {
		s->conn.fd = -1;
		exec_session_free(s);
		return NULL;
	}
	update_interest(s);
	return s;
}

/* Stop everything: kill a command still running, close, and unlink. */
static void session_end(struct exec_session *s)
{
	if (s->pid > 0 && !s->exited)
		kill(-s->pid, SIGKILL);
	close_watch(s, &s->conn);
	exec_service_session_done(s->svc, s);
}

void exec_session_free(struct exec_session *s)
{
	if (s->pid > 0 && !s->exited)
		kill(-s->pid, SIGKILL);
	close_watch(s, &s->conn);
	close_watch(s, &s->in);
	close_watch(s, &s->out);
	close_watch(s, &s->err);
	if (s->drain_timer >= 0)
		lbx_loop_del(s->loop, s->drain_timer);
	lbx_bq_free(&s->rbuf);
	lbx_bq_free(&s->inq);
	lbx_bq_free(&s->outq);
	free(s);
}
