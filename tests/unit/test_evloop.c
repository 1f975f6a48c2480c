/* SPDX-License-Identifier: MIT */
#include <signal.h>
#include <string.h>
#include <sys/epoll.h>
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
	return tap_done();
}
