/* SPDX-License-Identifier: MIT */
#include "msgbuf.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "reader.h"

/* Most messages are small; start with this and grow on demand. */
#define INBUF_INITIAL 4096

void sshp_inbuf_init(struct sshp_inbuf *b, size_t max_body)
{
	memset(b, 0, sizeof(*b));
	b->max_body = max_body;
}

void sshp_inbuf_free(struct sshp_inbuf *b)
{
	free(b->buf);
	memset(b, 0, sizeof(*b));
}

/* Length of the head message's body, or 0 if the header is incomplete. */
static int head_length(const struct sshp_inbuf *b, size_t *body)
{
	struct lbx_reader r;
	uint32_t n;

	lbx_reader_init(&r, b->buf, b->len);
	if (lbx_read_u32be(&r, &n))
		return 0;
	if (n == 0 || n > b->max_body)
		return -EMSGSIZE;
	*body = n;
	return 1;
}

/* Room for the message being received (or a header and some more). */
static int reserve(struct sshp_inbuf *b)
{
	size_t body = 0, want = INBUF_INITIAL;
	uint8_t *p;

	if (head_length(b, &body) == 1 && body + 4 > want)
		want = body + 4;
	if (b->cap >= want)
		return 0;
	p = realloc(b->buf, want);
	if (!p)
		return -ENOMEM;
	b->buf = p;
	b->cap = want;
	return 0;
}

ssize_t sshp_inbuf_read(struct sshp_inbuf *b, int fd)
{
	ssize_t n;
	int err = reserve(b);

	if (err)
		return err;
	if (b->len == b->cap)
		return -ENOSPC;
	n = read(fd, b->buf + b->len, b->cap - b->len);
	if (n < 0)
		return -errno;
	b->len += (size_t)n;
	return n;
}

int sshp_inbuf_message(struct sshp_inbuf *b, const uint8_t **body, size_t *len)
{
	struct lbx_reader r;
	size_t n = 0;
	int rc = head_length(b, &n);

	if (rc <= 0)
		return rc;
	lbx_reader_init(&r, b->buf, b->len);
	if (lbx_read_skip(&r, 4) || lbx_read_bytes(&r, n, body))
		return 0;
	*len = n;
	return 1;
}

int sshp_inbuf_has_message(struct sshp_inbuf *b)
{
	const uint8_t *body;
	size_t len;

	return sshp_inbuf_message(b, &body, &len) != 0;
}

void sshp_inbuf_consume(struct sshp_inbuf *b)
{
	size_t n = 0, total;

	if (head_length(b, &n) != 1 || b->len < n + 4)
		return;
	total = n + 4;
	memmove(b->buf, b->buf + total, b->len - total);
	b->len -= total;
	if (b->len == 0 && b->cap > 4 * INBUF_INITIAL) {
		/* Give back what one large message needed. */
		free(b->buf);
		b->buf = NULL;
		b->cap = 0;
	}
}
