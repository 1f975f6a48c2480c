/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stddef.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "evloop.h"
#include "tap.h"

struct ctx {
	int reads;
	int other_fd;
	int other_calls;
	int timer_calls;
	int signo;
	char last[16];
};

static void on_read(struct lbx_loop *loop, int fd, uint32_t events, void *data)
{
	struct ctx *c = data;
	ssize_t n = read(fd, c->last, sizeof(c->last) - 1);

	c->last[n > 0 ? n : 0] = '\0';
	c->reads++;
	/* Remove the other watch although its event is pending in this batch. */
	if (c->other_fd >= 0) {
		lbx_loop_del(loop, c->other_fd);
		c->other_fd = -1;
	}
	lbx_loop_del(loop, fd);
}

static void on_other(struct lbx_loop *loop, int fd, uint32_t events, void *data)
{
	struct ctx *c = data;

	c->other_calls++;
	lbx_loop_del(loop, fd);
}

static void on_timer(struct lbx_loop *loop, int fd, uint32_t events, void *data)
{
	struct ctx *c = data;

	if (++c->timer_calls == 3) {
		lbx_loop_del(loop, fd);
		lbx_loop_stop(loop, 42);
	}
}

static void on_signal(struct lbx_loop *loop, int signo, void *data)
{
	struct ctx *c = data;

	c->signo = signo;
	lbx_loop_stop(loop, 7);
}

static void on_count(struct lbx_loop *loop, int fd, uint32_t events, void *data)
{
	char buf[8];

	(*(int *)data)++;
	if (read(fd, buf, sizeof(buf)) < 0)
		return;
}

/* A paused watch is not dispatched, and comes back by itself. */
static void test_pause(void)
{
	struct lbx_loop *loop = lbx_loop_new();
	int p[2], calls = 0, rounds = 0;

	if (!loop || pipe(p) < 0 || write(p[1], "x", 1) != 1)
		return;
	ok(lbx_loop_add(loop, p[0], EPOLLIN, on_count, &calls) == 0, "watch a readable pipe");
	ok(lbx_loop_pause(loop, p[0], 300) == 0 && lbx_loop_paused(loop, p[0]), "pause it");
	lbx_loop_run_once(loop, 0);
	is_int(calls, 0, "a paused watch is not called although its fd is readable");
	while (calls == 0 && rounds++ < 50)
		lbx_loop_run_once(loop, 100);
	is_int(calls, 1, "the pause ends by itself and the watch is called");
	ok(!lbx_loop_paused(loop, p[0]), "no longer paused");
	ok(lbx_loop_pause(loop, p[0], 100000) == 0 && lbx_loop_del(loop, p[0]) == 0 &&
	       lbx_loop_count(loop) == 0,
	   "a paused watch can be removed");
	lbx_loop_free(loop);
	close(p[0]);
	close(p[1]);
}

/* ---- a listener out of fds (EMFILE) ---- */

#define HOARD_MAX 64
#define PHASE_MS  1500

struct hoard {
	int fds[HOARD_MAX];
	int n, accepted1, accepted2, phase, emfile;
	long cpu1_us;
	int lfd;
};

static long cpu_us(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000L + ru.ru_utime.tv_usec +
	       ru.ru_stime.tv_usec;
}

static void on_hoard_accept(struct lbx_loop *loop, int fd, uint32_t events, void *data)
{
	struct hoard *h = data;
	int c = lbx_loop_accept(loop, fd, SOCK_NONBLOCK | SOCK_CLOEXEC, "test listener");

	if (c == -EMFILE)
		h->emfile++;
	if (c < 0)
		return;
	if (h->n < HOARD_MAX)
		h->fds[h->n++] = c; /* kept open: the fds run out */
	else
		close(c);
}

static void on_phase(struct lbx_loop *loop, int fd, uint32_t events, void *data)
{
	struct hoard *h = data;

	lbx_loop_del(loop, fd);
	if (h->phase++ == 0) {
		h->cpu1_us = cpu_us() - h->cpu1_us;
		h->accepted1 = h->n;
		while (h->n > 0)
			close(h->fds[--h->n]); /* fds free again */
		return;
	}
	h->accepted2 = h->n;
	lbx_loop_stop(loop, 0);
}

/* The child: the accepting loop under a tiny RLIMIT_NOFILE. */
static void hoard_child(int lfd, int out)
{
	struct lbx_loop *loop = lbx_loop_new();
	struct hoard h = { .lfd = lfd };
	struct rlimit rl;
	int lowest = dup(0), r[5];

	close(lowest);
	if (!loop || lbx_loop_add(loop, lfd, EPOLLIN, on_hoard_accept, &h) < 0 ||
	    lbx_loop_add_timer(loop, PHASE_MS, false, on_phase, &h) < 0 ||
	    lbx_loop_add_timer(loop, 2 * PHASE_MS, false, on_phase, &h) < 0)
		_exit(1);
	lowest = dup(0);
	close(lowest);
	getrlimit(RLIMIT_NOFILE, &rl);
	rl.rlim_cur = (rlim_t)lowest + 3;
	if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
		_exit(1);
	h.cpu1_us = cpu_us();
	lbx_loop_run(loop);
	r[0] = (int)h.cpu1_us;
	r[1] = h.accepted1;
	r[2] = h.accepted2;
	r[3] = h.emfile;
	r[4] = 0;
	_exit(write(out, r, sizeof(r)) == sizeof(r) ? 0 : 1);
}

static void test_accept_emfile(void)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	int lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	int pfd[2], clients[12], r[5] = { 0 }, status;
	socklen_t alen;
	pid_t pid;

	/* An abstract address: nothing to clean up on disk. */
	snprintf(a.sun_path + 1, sizeof(a.sun_path) - 1, "lbx-test-evloop-%d", (int)getpid());
	alen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + strlen(a.sun_path + 1));
	if (lfd < 0 || bind(lfd, (struct sockaddr *)&a, alen) < 0 || listen(lfd, 32) < 0 ||
	    pipe(pfd) < 0) {
		ok(0, "listener for the EMFILE test: %s", strerror(errno));
		return;
	}
	for (size_t i = 0; i < LBX_ARRAY_SIZE(clients); i++) {
		clients[i] = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (clients[i] < 0 || connect(clients[i], (struct sockaddr *)&a, alen) < 0)
			ok(0, "client %zu connects", i);
	}
	pid = fork();
	if (pid == 0) {
		close(pfd[0]);
		hoard_child(lfd, pfd[1]);
	}
	close(pfd[1]);
	ok(pid > 0 && read(pfd[0], r, sizeof(r)) == sizeof(r),
	   "the accepting loop ran both phases");
	waitpid(pid, &status, 0);
	ok(r[1] >= 1 && r[1] < (int)LBX_ARRAY_SIZE(clients),
	   "with RLIMIT_NOFILE 3 above its fds it accepted %d of %zu queued clients", r[1],
	   LBX_ARRAY_SIZE(clients));
	ok(r[3] >= 1, "then accept failed with EMFILE (%d times in %d ms)", r[3], PHASE_MS);
	ok(r[0] < PHASE_MS * 1000 / 5,
	   "while out of fds the loop used %d ms of CPU in %d ms (backs off, does not spin)",
	   r[0] / 1000, PHASE_MS);
	ok(r[2] >= 1, "once fds were free it accepted again (%d more)", r[2]);
	for (size_t i = 0; i < LBX_ARRAY_SIZE(clients); i++)
		close(clients[i]);
	close(pfd[0]);
	close(lfd);
}

int main(void)
{
	struct lbx_loop *loop = lbx_loop_new();
	struct ctx c = { .other_fd = -1 };
	int a[2], b[2], tfd, sfd;
	const int sigs[] = { SIGUSR1 };

	if (!loop || pipe(a) < 0 || pipe(b) < 0)
		return 1;

	ok(lbx_loop_add(loop, a[0], EPOLLIN, on_read, &c) == 0, "add fd");
	ok(lbx_loop_add(loop, a[0], EPOLLIN, on_read, &c) < 0, "adding the same fd twice fails");
	ok(lbx_loop_add(loop, b[0], EPOLLIN, on_other, &c) == 0, "add second fd");
	ok(lbx_loop_add(loop, -1, EPOLLIN, on_other, &c) < 0, "negative fd refused");
	c.other_fd = b[0];
	/* Both readable before the loop runs: one batch holds both events. */
	if (write(a[1], "hello", 5) != 5 || write(b[1], "x", 1) != 1)
		return 1;
	is_int(lbx_loop_count(loop), 2, "two watches");
	/* on_read removes b; b's pending event must not be delivered. */
	lbx_loop_run_once(loop, 1000);
	lbx_loop_run_once(loop, 0);
	ok(c.reads == 1 && !strcmp(c.last, "hello"), "read callback got the data");
	is_int(c.other_calls, 0, "a watch removed during dispatch is not called");
	is_int(lbx_loop_count(loop), 0, "both removed");
	ok(lbx_loop_del(loop, a[0]) < 0, "removing twice fails");

	tfd = lbx_loop_add_timer(loop, 1, true, on_timer, &c);
	ok(tfd >= 0, "repeating timer");
	is_int(lbx_loop_run(loop), 42, "run returns the status given to stop");
	is_int(c.timer_calls, 3, "timer fired three times");

	sfd = lbx_loop_add_signals(loop, sigs, 1, on_signal, &c);
	ok(sfd >= 0, "signal watch");
	kill(getpid(), SIGUSR1);
	is_int(lbx_loop_run(loop), 7, "signal stops the loop");
	is_int(c.signo, SIGUSR1, "signal number delivered");
	ok(lbx_loop_mod(loop, sfd, EPOLLIN) == 0, "modify a watch");
	ok(lbx_loop_mod(loop, 999, EPOLLIN) < 0, "modify unknown fd fails");

	/* Empty loop returns at once. */
	lbx_loop_del(loop, sfd);
	is_int(lbx_loop_run(loop), 0, "nothing watched: run returns");
	lbx_loop_free(loop);
	close(a[0]);
	close(a[1]);
	close(b[0]);
	close(b[1]);
	test_pause();
	test_accept_emfile();
	return tap_done();
}
