/* SPDX-License-Identifier: MIT */
#include "outq.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

void wlp_outq_init(struct wlp_outq *q, size_t high, size_t max)
{
	memset(q, 0, sizeof(*q));
	q->high = high;
	q->max = max;
}

void wlp_outq_free(struct wlp_outq *q)
{
	for (unsigned i = 0; i < q->nfds; i++)
		close(q->fds[i].fd);
	free(q->buf);
	memset(q, 0, sizeof(*q));
}

size_t wlp_outq_len(const struct wlp_outq *q)
{
	return q->tail - q->head;
}

bool wlp_outq_busy(const struct wlp_outq *q)
{
	return wlp_outq_len(q) >= q->high || q->nfds > WLP_OUTQ_FDS / 2;
}

int wlp_outq_put(struct wlp_outq *q, const void *p, size_t n)
{
	if (wlp_outq_len(q) + n > q->max)
		return -ENOSPC;
	if (q->head > 0 && q->tail + n > q->cap) {
		memmove(q->buf, q->buf + q->head, q->tail - q->head);
		q->tail -= q->head;
		q->head = 0;
	}
	if (q->tail + n > q->cap) {
		size_t cap = q->cap ? q->cap : 4096;
		while (cap < q->tail + n)
			cap *= 2;
		uint8_t *b = realloc(q->buf, cap);
		if (!b)
			return -ENOMEM;
		q->buf = b;
		q->cap = cap;
	}
	memcpy(q->buf + q->tail, p, n);
	q->tail += n;
	q->queued += n;
	return 0;
}

int wlp_outq_put_fd(struct wlp_outq *q, int fd)
{
	if (q->nfds == WLP_OUTQ_FDS) {
		close(fd);
		return -ENOSPC;
	}
	q->fds[q->nfds].fd = fd;
	q->fds[q->nfds++].off = q->queued;
	return 0;
}

static int send_some(struct wlp_outq *q, int sock)
{
	size_t n = wlp_outq_len(q);
	unsigned nf = 0;
	union {
		char buf[CMSG_SPACE(sizeof(int) * WLP_FDS_PER_SEND)];
		struct cmsghdr align;
	} u;
	struct iovec iov;
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };

	/* Every fd whose message starts in what is sent goes with it. */
	while (nf < q->nfds && q->fds[nf].off < q->sent + n) {
		if (nf == WLP_FDS_PER_SEND) {
			n = q->fds[nf].off - q->sent;
			break;
		}
		nf++;
	}
	iov.iov_base = q->buf + q->head;
	iov.iov_len = n;
	if (nf) {
		memset(&u, 0, sizeof(u));
		mh.msg_control = u.buf;
		mh.msg_controllen = CMSG_SPACE(sizeof(int) * nf);
		struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int) * nf);
		for (unsigned i = 0; i < nf; i++)
			memcpy(CMSG_DATA(c) + i * sizeof(int), &q->fds[i].fd, sizeof(int));
	}
	ssize_t w = sendmsg(sock, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
	if (w < 0)
		return errno == EINTR ? 0 : -errno;
	for (unsigned i = 0; i < nf; i++)
		close(q->fds[i].fd);
	memmove(q->fds, q->fds + nf, (q->nfds - nf) * sizeof(q->fds[0]));
	q->nfds -= nf;
	q->head += (size_t)w;
	q->sent += (uint64_t)w;
	if (q->head == q->tail)
		q->head = q->tail = 0;
	return 0;
}

int wlp_outq_flush(struct wlp_outq *q, int sock)
{
	while (wlp_outq_len(q) > 0) {
		int rc = send_some(q, sock);
		if (rc < 0)
			return rc;
	}
	return 0;
}
