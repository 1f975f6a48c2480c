/* SPDX-License-Identifier: MIT */
/*
 * A small epoll event loop: file descriptors, timers (timerfd) and signals
 * (signalfd), each with a callback. Callbacks may add or remove watches,
 * including their own and ones with events still pending in the same
 * batch: a removed watch is never called again.
 */
#ifndef LBX_EVLOOP_H
#define LBX_EVLOOP_H

#include <stdbool.h>
#include <stdint.h>

#include "compiler.h"

struct lbx_loop;

/* events: EPOLLIN, EPOLLOUT, EPOLLERR, EPOLLHUP as epoll reports them. */
typedef void (*lbx_loop_fn)(struct lbx_loop *loop, int fd, uint32_t events, void *data);
typedef void (*lbx_signal_fn)(struct lbx_loop *loop, int signo, void *data);

struct lbx_loop *lbx_loop_new(void);
/* Closes the timer and signal fds the loop created, not the callers' fds. */
void lbx_loop_free(struct lbx_loop *loop);

LBX_MUST_CHECK int lbx_loop_add(struct lbx_loop *loop, int fd, uint32_t events, lbx_loop_fn fn,
				void *data);
LBX_MUST_CHECK int lbx_loop_mod(struct lbx_loop *loop, int fd, uint32_t events);
int lbx_loop_del(struct lbx_loop *loop, int fd);

/*
 * Ask for exactly `events` on fd, tracking what is asked now in *cur:
 * adds the watch, changes it, or removes it when events is 0 (so an fd
 * that reports EPOLLHUP is not polled while its owner does not want it).
 */
int lbx_loop_want(struct lbx_loop *loop, int fd, uint32_t *cur, uint32_t events, lbx_loop_fn fn,
		  void *data);

/*
 * A timer firing after ms milliseconds, then every ms if repeat. Returns the
 * timer's fd (>= 0), which lbx_loop_del removes and closes, or -errno.
 */
LBX_MUST_CHECK int lbx_loop_add_timer(struct lbx_loop *loop, uint64_t ms, bool repeat,
				      lbx_loop_fn fn, void *data);
/*
 * Block the given signals and deliver them through fn. Returns the
 * signalfd (>= 0) or -errno.
 */
LBX_MUST_CHECK int lbx_loop_add_signals(struct lbx_loop *loop, const int *signals, int n,
					lbx_signal_fn fn, void *data);

/*
 * Stop polling fd for ms milliseconds, then resume with the events it had
 * (lbx_loop_mod while paused changes what it resumes with). Takes no fd:
 * the loop's own wait times the pause, so it works when fds ran out.
 */
int lbx_loop_pause(struct lbx_loop *loop, int fd, uint64_t ms);
bool lbx_loop_paused(const struct lbx_loop *loop, int fd);

/* How long a listener rests when accept finds no fd or memory to take. */
#define LBX_ACCEPT_BACKOFF_MS 200

/*
 * accept4(lfd, NULL, NULL, flags) for a listener watched by this loop.
 * On EMFILE, ENFILE, ENOBUFS or ENOMEM the connection stays queued and the
 * listener is paused for LBX_ACCEPT_BACKOFF_MS, since a level-triggered
 * watch would otherwise report it again at once and spin; one warning per
 * episode, naming `what`. Returns the fd or -errno (-EAGAIN: none queued).
 */
int lbx_loop_accept(struct lbx_loop *loop, int lfd, int flags, const char *what);

/* Dispatch until lbx_loop_stop or until nothing is watched. */
int lbx_loop_run(struct lbx_loop *loop);
/* Dispatch one batch, waiting at most timeout_ms (-1: forever). */
int lbx_loop_run_once(struct lbx_loop *loop, int timeout_ms);
void lbx_loop_stop(struct lbx_loop *loop, int status);
unsigned lbx_loop_count(const struct lbx_loop *loop);

#endif
