/* SPDX-License-Identifier: MIT */
#include "evloop.h"
#include "clock.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

enum watch_kind { WATCH_FD, WATCH_TIMER, WATCH_SIGNAL };

struct watch {
	bool active;
	enum watch_kind kind;
	uint32_t gen;
	uint32_t events;    /* what epoll is (or, when paused, will be) asked for */
	bool paused;	    /* out of epoll until resume_ms */
	bool starved;	    /* accept ran out of fds; warned once */
	uint64_t resume_ms; /* CLOCK_MONOTONIC */
	lbx_loop_fn fn;
	lbx_signal_fn sig_fn;
	void *data;
};

struct lbx_loop {
	int epfd;
	struct watch *watches; /* indexed by fd */
	unsigned nwatches;
	unsigned count;
	unsigned npaused;
	uint32_t gen;
	bool stop;
	int status;
};

struct lbx_loop *lbx_loop_new(void)
{
	struct lbx_loop *loop = calloc(1, sizeof(*loop));

	if (!loop)
		return NULL;
	loop->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (loop->epfd < 0) {
		free(loop);
		return NULL;
	}
	return loop;
}

void lbx_loop_free(struct lbx_loop *loop)
{
	if (!loop)
		return;
	for (unsigned fd = 0; fd < loop->nwatches; fd++)
		if (loop->watches[fd].active && loop->watches[fd].kind != WATCH_FD)
			close((int)fd);
	close(loop->epfd);
	free(loop->watches);
	free(loop);
}

static int grow(struct lbx_loop *loop, int fd)
{
	unsigned n = loop->nwatches ? loop->nwatches : 16;
	struct watch *w;

	if ((unsigned)fd < loop->nwatches)
		return 0;
	while (n <= (unsigned)fd)
		n *= 2;
	w = realloc(loop->watches, n * sizeof(*w));
	if (!w)
		return -ENOMEM;
	memset(w + loop->nwatches, 0, (n - loop->nwatches) * sizeof(*w));
	loop->watches = w;
	loop->nwatches = n;
	return 0;
}

/* epoll data carries fd and generation, so stale events are recognised. */
static uint64_t tag(int fd, uint32_t gen)
{
	return ((uint64_t)gen << 32) | (uint32_t)fd;
}

static int add_watch(struct lbx_loop *loop, int fd, uint32_t events, enum watch_kind kind,
		     struct watch proto)
{
	struct epoll_event ev = { .events = events };
	struct watch *w;
	int err;

	if (fd < 0)
		return -EBADF;
	err = grow(loop, fd);
	if (err)
		return err;
	w = &loop->watches[fd];
	if (w->active)
		return -EEXIST;
	proto.gen = ++loop->gen;
	proto.kind = kind;
	proto.active = true;
	proto.events = events;
	ev.data.u64 = tag(fd, proto.gen);
	if (epoll_ctl(loop->epfd, EPOLL_CTL_ADD, fd, &ev) < 0)
		return -errno;
	*w = proto;
	loop->count++;
	return 0;
}

int lbx_loop_add(struct lbx_loop *loop, int fd, uint32_t events, lbx_loop_fn fn, void *data)
{
	return add_watch(loop, fd, events, WATCH_FD, (struct watch){ .fn = fn, .data = data });
}

int lbx_loop_mod(struct lbx_loop *loop, int fd, uint32_t events)
{
	struct epoll_event ev = { .events = events };

	if (fd < 0 || (unsigned)fd >= loop->nwatches || !loop->watches[fd].active)
		return -ENOENT;
	if (loop->watches[fd].paused) {
		loop->watches[fd].events = events; /* taken up on resume */
		return 0;
	}
	ev.data.u64 = tag(fd, loop->watches[fd].gen);
	if (epoll_ctl(loop->epfd, EPOLL_CTL_MOD, fd, &ev) < 0)
		return -errno;
	loop->watches[fd].events = events;
	return 0;
}

int lbx_loop_del(struct lbx_loop *loop, int fd)
{
	struct watch *w;

	if (fd < 0 || (unsigned)fd >= loop->nwatches || !loop->watches[fd].active)
		return -ENOENT;
	w = &loop->watches[fd];
	if (w->paused)
		loop->npaused--;
	else
		epoll_ctl(loop->epfd, EPOLL_CTL_DEL, fd, NULL);
	if (w->kind != WATCH_FD)
		close(fd);
	w->active = false;
	w->paused = false;
	loop->count--;
	return 0;
}

int lbx_loop_want(struct lbx_loop *loop, int fd, uint32_t *cur, uint32_t events, lbx_loop_fn fn,
		  void *data)
{
	int err = 0;

	if (fd < 0 || *cur == events)
		return 0;
	if (events == 0)
		err = lbx_loop_del(loop, fd);
	else if (*cur == 0)
		err = lbx_loop_add(loop, fd, events, fn, data);
	else
		err = lbx_loop_mod(loop, fd, events);
	if (!err)
		*cur = events;
	return err;
}

int lbx_loop_add_timer(struct lbx_loop *loop, uint64_t ms, bool repeat, lbx_loop_fn fn,
		       void *data)
{
	struct itimerspec its = { 0 };
	int fd, err;

	fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (fd < 0)
		return -errno;
	its.it_value.tv_sec = (time_t)(ms / 1000);
	its.it_value.tv_nsec = (long)(ms % 1000) * 1000000L;
	if (ms == 0)
		its.it_value.tv_nsec = 1; /* zero would disarm it */
	if (repeat)
		its.it_interval = its.it_value;
	if (timerfd_settime(fd, 0, &its, NULL) < 0) {
		err = -errno;
		close(fd);
		return err;
	}
	err = add_watch(loop, fd, EPOLLIN, WATCH_TIMER, (struct watch){ .fn = fn, .data = data });
	if (err) {
		close(fd);
		return err;
	}
	return fd;
}

int lbx_loop_add_signals(struct lbx_loop *loop, const int *signals, int n, lbx_signal_fn fn,
			 void *data)
{
	sigset_t set;
	int fd, err;

	sigemptyset(&set);
	for (int i = 0; i < n; i++)
		sigaddset(&set, signals[i]);
	if (sigprocmask(SIG_BLOCK, &set, NULL) < 0)
		return -errno;
	fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	if (fd < 0)
		return -errno;
	err = add_watch(loop, fd, EPOLLIN, WATCH_SIGNAL,
			(struct watch){ .sig_fn = fn, .data = data });
	if (err) {
		close(fd);
		return err;
	}
	return fd;
}


int lbx_loop_pause(struct lbx_loop *loop, int fd, uint64_t ms)
{
	struct watch *w;

	if (fd < 0 || (unsigned)fd >= loop->nwatches || !loop->watches[fd].active)
		return -ENOENT;
	w = &loop->watches[fd];
	if (!w->paused) {
		if (epoll_ctl(loop->epfd, EPOLL_CTL_DEL, fd, NULL) < 0)
			return -errno;
		w->paused = true;
		loop->npaused++;
	}
	w->resume_ms = lbx_now_ms() + ms;
	return 0;
}

bool lbx_loop_paused(const struct lbx_loop *loop, int fd)
{
	return fd >= 0 && (unsigned)fd < loop->nwatches && loop->watches[fd].active &&
	       loop->watches[fd].paused;
}

/* Put back the paused watches that are due; returns ms to the next one (-1: none). */
static int resume_due(struct lbx_loop *loop)
{
	uint64_t now = lbx_now_ms(), next = UINT64_MAX;

	for (unsigned fd = 0; loop->npaused > 0 && fd < loop->nwatches; fd++) {
		struct watch *w = &loop->watches[fd];
		struct epoll_event ev = { .events = w->events, .data.u64 = tag((int)fd, w->gen) };

		if (!w->active || !w->paused)
			continue;
		if (w->resume_ms > now) {
			if (w->resume_ms < next)
				next = w->resume_ms;
			continue;
		}
		w->paused = false;
		loop->npaused--;
		if (epoll_ctl(loop->epfd, EPOLL_CTL_ADD, (int)fd, &ev) < 0)
			lbx_warn("event loop: cannot resume watching fd %u: %s", fd,
				 strerror(errno));
	}
	if (next == UINT64_MAX)
		return -1;
	return next - now > INT32_MAX ? INT32_MAX : (int)(next - now);
}

int lbx_loop_accept(struct lbx_loop *loop, int lfd, int flags, const char *what)
{
	int fd = accept4(lfd, NULL, NULL, flags), err;
	struct watch *w = (unsigned)lfd < loop->nwatches ? &loop->watches[lfd] : NULL;

	if (fd >= 0) {
		if (w && w->starved) {
			lbx_info("%s: accepting connections again", what);
			w->starved = false;
		}
		return fd;
	}
	err = errno;
	if (err != EMFILE && err != ENFILE && err != ENOBUFS && err != ENOMEM)
		return -err;
	if (w && !w->starved) {
		lbx_warn("%s: cannot accept a connection: %s; pausing the listener for %d ms "
			 "at a time until fds are free",
			 what, strerror(err), LBX_ACCEPT_BACKOFF_MS);
		w->starved = true;
	}
	lbx_loop_pause(loop, lfd, LBX_ACCEPT_BACKOFF_MS);
	return -err;
}

static void dispatch(struct lbx_loop *loop, int fd, uint32_t events)
{
	struct watch w = loop->watches[fd];

	if (w.kind == WATCH_TIMER) {
		uint64_t expirations;

		if (read(fd, &expirations, sizeof(expirations)) != sizeof(expirations))
			return;
		w.fn(loop, fd, events, w.data);
	} else if (w.kind == WATCH_SIGNAL) {
		struct signalfd_siginfo si;

		while (read(fd, &si, sizeof(si)) == sizeof(si)) {
			w.sig_fn(loop, (int)si.ssi_signo, w.data);
			if (!loop->watches[fd].active || loop->watches[fd].gen != w.gen)
				return;
		}
	} else {
		w.fn(loop, fd, events, w.data);
	}
}

int lbx_loop_run_once(struct lbx_loop *loop, int timeout_ms)
{
	struct epoll_event evs[64];
	int n;

	if (loop->npaused > 0) {
		int next = resume_due(loop);

		if (next >= 0 && (timeout_ms < 0 || next < timeout_ms))
			timeout_ms = next;
	}
	n = epoll_wait(loop->epfd, evs, (int)LBX_ARRAY_SIZE(evs), timeout_ms);

	if (n < 0)
		return errno == EINTR ? 0 : -errno;
	for (int i = 0; i < n; i++) {
		int fd = (int)(uint32_t)evs[i].data.u64;
		uint32_t gen = (uint32_t)(evs[i].data.u64 >> 32);

		/* Removed (or removed and re-added) by an earlier callback. */
		if ((unsigned)fd >= loop->nwatches || !loop->watches[fd].active ||
		    loop->watches[fd].gen != gen || loop->watches[fd].paused)
			continue;
		dispatch(loop, fd, evs[i].events);
	}
	return n;
}

int lbx_loop_run(struct lbx_loop *loop)
{
	loop->stop = false;
	loop->status = 0;
	while (!loop->stop && loop->count > 0) {
		int err = lbx_loop_run_once(loop, -1);

		if (err < 0)
			return err;
		if (loop->npaused > 0)
			resume_due(loop);
	}
	return loop->status;
}

void lbx_loop_stop(struct lbx_loop *loop, int status)
{
	loop->stop = true;
	loop->status = status;
}

unsigned lbx_loop_count(const struct lbx_loop *loop)
{
	return loop->count;
}
