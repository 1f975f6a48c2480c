/* SPDX-License-Identifier: MIT */
/*
 * Bytes (and, towards a Wayland peer, fds) waiting to be written to a
 * non-blocking socket. Bounded: a peer that does not read makes put fail
 * (-ENOSPC) at max, and the owner stops reading what feeds the queue long
 * before that (wlp_outq_busy).
 */
#ifndef WLP_OUTQ_H
#define WLP_OUTQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "compiler.h"

/* libwayland accepts at most 28 fds per sendmsg (MAX_FDS_OUT). */
#define WLP_FDS_PER_SEND 28
#define WLP_OUTQ_FDS	 256

struct wlp_outq {
	uint8_t *buf;
	size_t head, tail, cap, max, high;
	uint64_t sent, queued; /* stream offsets of head and tail */
	struct {
		int fd;
		uint64_t off;
	} fds[WLP_OUTQ_FDS];
	unsigned nfds;
};

void wlp_outq_init(struct wlp_outq *q, size_t high, size_t max);
void wlp_outq_free(struct wlp_outq *q);
size_t wlp_outq_len(const struct wlp_outq *q);
/* At or above the high-water mark: stop reading what feeds it. */
bool wlp_outq_busy(const struct wlp_outq *q);
LBX_MUST_CHECK int wlp_outq_put(struct wlp_outq *q, const void *p, size_t n);
/* An fd (owned by the queue from now on) sent with the bytes put next. */
LBX_MUST_CHECK int wlp_outq_put_fd(struct wlp_outq *q, int fd);
/* sendmsg as much as the socket takes: 0 when empty, -EAGAIN, or -errno. */
int wlp_outq_flush(struct wlp_outq *q, int sock);

#endif
