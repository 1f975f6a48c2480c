/* SPDX-License-Identifier: MIT */
#include "bytequeue.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int lbx_bq_init(struct lbx_bq *q, size_t cap)
{
	*q = (struct lbx_bq){ .cap = cap };
	q->data = malloc(cap ? cap : 1);
	return q->data ? 0 : -ENOMEM;
}

void lbx_bq_free(struct lbx_bq *q)
{
	free(q->data);
	*q = (struct lbx_bq){ 0 };
}

size_t lbx_bq_len(const struct lbx_bq *q)
{
	return q->tail - q->head;
}

size_t lbx_bq_room(const struct lbx_bq *q)
{
	return q->cap - lbx_bq_len(q);
}

const uint8_t *lbx_bq_head(const struct lbx_bq *q)
{
	return q->data + q->head;
}

static void compact(struct lbx_bq *q)
{
	size_t len = lbx_bq_len(q);

	if (q->head == 0)
		return;
	memmove(q->data, q->data + q->head, len);
	q->head = 0;
	q->tail = len;
}

int lbx_bq_append(struct lbx_bq *q, const void *p, size_t n)
{
	if (n > lbx_bq_room(q))
		return -ENOSPC;
	if (n > q->cap - q->tail)
		compact(q);
	if (n)
		memcpy(q->data + q->tail, p, n);
	q->tail += n;
	return 0;
}

uint8_t *lbx_bq_tail_space(struct lbx_bq *q, size_t *n)
{
	compact(q);
	*n = q->cap - q->tail;
	return q->data + q->tail;
}

void lbx_bq_commit(struct lbx_bq *q, size_t n)
{
	if (n > q->cap - q->tail)
		n = q->cap - q->tail;
	q->tail += n;
}

void lbx_bq_consume(struct lbx_bq *q, size_t n)
{
	if (n >= lbx_bq_len(q))
		q->head = q->tail = 0;
	else
		q->head += n;
}

ssize_t lbx_bq_read_fd(struct lbx_bq *q, int fd, size_t max)
{
	size_t room;
	uint8_t *p = lbx_bq_tail_space(q, &room);
	ssize_t n;

	if (room == 0)
		return -ENOSPC;
	n = read(fd, p, room < max ? room : max);
	if (n < 0)
		return -errno;
	q->tail += (size_t)n;
	return n;
}

ssize_t lbx_bq_write_fd(struct lbx_bq *q, int fd)
{
	ssize_t n;

	if (lbx_bq_len(q) == 0)
		return 0;
	n = write(fd, lbx_bq_head(q), lbx_bq_len(q));
	if (n < 0)
		return -errno;
	lbx_bq_consume(q, (size_t)n);
	return n;
}
