/* SPDX-License-Identifier: MIT */
/*
 * A bounded FIFO of bytes for non-blocking I/O: data is appended at the
 * tail and consumed from the head. The capacity is fixed at creation, so
 * a slow or hostile peer can never make a queue grow; callers stop
 * reading their source while the queue is too full.
 */
#ifndef LBX_BYTEQUEUE_H
#define LBX_BYTEQUEUE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "compiler.h"

struct lbx_bq {
	uint8_t *data;
	size_t head; /* first unconsumed byte */
	size_t tail; /* one past the last byte */
	size_t cap;
};

LBX_MUST_CHECK int lbx_bq_init(struct lbx_bq *q, size_t cap);
void lbx_bq_free(struct lbx_bq *q);
size_t lbx_bq_len(const struct lbx_bq *q);
size_t lbx_bq_room(const struct lbx_bq *q);
const uint8_t *lbx_bq_head(const struct lbx_bq *q);
/* Append n bytes; -ENOSPC (nothing appended) if they do not fit. */
LBX_MUST_CHECK int lbx_bq_append(struct lbx_bq *q, const void *p, size_t n);
/* Contiguous free space at the tail (compacting first); commit what was filled. */
uint8_t *lbx_bq_tail_space(struct lbx_bq *q, size_t *n);
void lbx_bq_commit(struct lbx_bq *q, size_t n);
void lbx_bq_consume(struct lbx_bq *q, size_t n);
/* read(2) from fd into the tail: bytes read, 0 at EOF, -errno (-EAGAIN, -ENOSPC). */
ssize_t lbx_bq_read_fd(struct lbx_bq *q, int fd, size_t max);
/* write(2) the head to fd: bytes written or -errno (-EAGAIN). */
ssize_t lbx_bq_write_fd(struct lbx_bq *q, int fd);

#endif
