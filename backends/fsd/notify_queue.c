/* SPDX-License-Identifier: MIT */
/*
 * Notifications waiting for the virtio-fs notification queue (virtio 1.2
 * §5.11.6.1, vhost.c): the watcher thread (watch.c) puts, the device's
 * loop thread takes one per buffer the driver made available.
 *
 * A driver that gives no buffers (or too few) must not make the server
 * grow without bound, nor lose a host edit. So:
 *   1. up to max_pending messages wait as they are, in order;
 *   2. beyond that, each further message is folded into a whole-inode
 *      invalidation of the node it concerns (FUSE_NOTIFY_INVAL_INODE of
 *      the inode, or for a name of its directory, offset 0: attributes and
 *      all data), one per node however many events it had, up to
 *      max_whole nodes;
 *   3. beyond that, everything: once the queue has drained, every node the
 *      guest holds is invalidated whole.
 * A name folded into its directory's invalidation waits for the entry
 * timeout (INVAL_INODE drops attributes and data, not names): the cost of
 * a driver that does not keep up.
 */
#include "notify_queue.h"

#include <errno.h>
#include <linux/fuse.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "fsd_priv.h"
#include "reader.h"

#define MSG_MAX (16 + 24 + 256) /* the longest watch.c sends: INVAL_ENTRY with a full name */

struct msg {
	uint16_t len;
	uint8_t b[MSG_MAX];
};

struct fsd_notify_queue {
	pthread_mutex_t lock;
	struct msg *ring;
	unsigned max_pending, head, count;
	uint64_t *whole; /* node ids to invalidate whole, in arrival order */
	unsigned max_whole, nwhole, whole_pos;
	bool all;
	uint64_t *all_ids; /* step 3: the table's nodes, taken when it starts */
	size_t nall, all_pos;
	struct fsd_notify_queue_stats st;
};

struct fsd_notify_queue *fsd_notify_queue_new(unsigned max_pending, unsigned max_whole)
{
	struct fsd_notify_queue *q = calloc(1, sizeof(*q));

	if (!q)
		return NULL;
	q->ring = calloc(max_pending ? max_pending : 1, sizeof(*q->ring));
	q->whole = calloc(max_whole ? max_whole : 1, sizeof(*q->whole));
	if (!q->ring || !q->whole) {
		free(q->ring);
		free(q->whole);
		free(q);
		return NULL;
	}
	q->max_pending = max_pending;
	q->max_whole = max_whole;
	pthread_mutex_init(&q->lock, NULL);
	return q;
}

void fsd_notify_queue_free(struct fsd_notify_queue *q)
{
	if (!q)
		return;
	pthread_mutex_destroy(&q->lock);
	free(q->ring);
	free(q->whole);
	free(q->all_ids);
	free(q);
}

/* The node a notification concerns (fuse.h notify bodies): the inode, or the name's directory. */
static uint64_t node_of(const void *msg, size_t len)
{
	struct lbx_reader r;
	uint32_t n, code;
	uint64_t unique, node;

	lbx_reader_init(&r, msg, len);
	if (lbx_read_u32le(&r, &n) || lbx_read_u32le(&r, &code) || lbx_read_u64le(&r, &unique) ||
	    lbx_read_u64le(&r, &node))
		return 0;
	switch (code) {
	case FUSE_NOTIFY_INVAL_INODE:
	case FUSE_NOTIFY_INVAL_ENTRY:
	case FUSE_NOTIFY_DELETE: return node;
	default: return 0;
	}
}

/* Called locked: fold into a whole-inode invalidation of node. */
static void fold(struct fsd_notify_queue *q, uint64_t node)
{
	q->st.coalesced++;
	if (q->all || !node)
		return;
	for (unsigned i = q->whole_pos; i < q->nwhole; i++)
		if (q->whole[i] == node)
			return;
	if (q->nwhole == q->max_whole) {
		q->all = true; /* step 3 */
		q->st.overflowed++;
		return;
	}
	q->whole[q->nwhole++] = node;
}

int fsd_notify_queue_put(struct fsd_notify_queue *q, const void *msg, size_t len)
{
	int r = 0;

	if (len > MSG_MAX || len < 16)
		return -EMSGSIZE;
	pthread_mutex_lock(&q->lock);
	q->st.put++;
	if (q->count < q->max_pending && !q->nwhole && !q->all) {
		struct msg *m = &q->ring[(q->head + q->count++) % q->max_pending];

		m->len = (uint16_t)len;
		memcpy(m->b, msg, len);
	} else {
		fold(q, node_of(msg, len)); /* keep order: once folding, fold until drained */
		r = 1;
	}
	if (q->count > q->st.max_count)
		q->st.max_count = q->count;
	pthread_mutex_unlock(&q->lock);
	return r;
}

static size_t inval_whole(uint64_t node, uint8_t *buf, size_t cap)
{
	struct lbx_writer w;

	lbx_writer_init_fixed(&w, buf, cap);
	if (lbx_write_u32le(&w, 16 + 24) || lbx_write_u32le(&w, FUSE_NOTIFY_INVAL_INODE) ||
	    lbx_write_u64le(&w, 0) || lbx_write_u64le(&w, node) || lbx_write_u64le(&w, 0) ||
	    lbx_write_u64le(&w, 0))
		return 0;
	return lbx_writer_len(&w);
}

bool fsd_notify_queue_empty(struct fsd_notify_queue *q)
{
	bool e;

	pthread_mutex_lock(&q->lock);
	e = !q->count && q->whole_pos == q->nwhole && !q->all && q->all_pos == q->nall;
	pthread_mutex_unlock(&q->lock);
	return e;
}

size_t fsd_notify_queue_take(struct fsd_notify_queue *q, struct fsd *fsd, uint8_t *buf, size_t cap)
{
	size_t n = 0;

	pthread_mutex_lock(&q->lock);
	if (q->count) {
		struct msg *m = &q->ring[q->head];

		if (m->len <= cap) {
			memcpy(buf, m->b, m->len);
			n = m->len;
		} else {
			q->st.too_big++; /* the driver's buffers are too small: its loss */
		}
		q->head = (q->head + 1) % q->max_pending;
		q->count--;
	} else if (q->whole_pos < q->nwhole) {
		n = inval_whole(q->whole[q->whole_pos++], buf, cap);
		if (q->whole_pos == q->nwhole)
			q->whole_pos = q->nwhole = 0;
	} else if (q->all || q->all_pos < q->nall) {
		if (q->all) {
			free(q->all_ids);
			q->all_ids = NULL;
			q->nall = q->all_pos = 0;
			q->all = false;
			if (fsd_inode_ids(fsd, &q->all_ids, &q->nall) < 0)
				q->nall = 0;
		}
		if (q->all_pos < q->nall)
			n = inval_whole(q->all_ids[q->all_pos++], buf, cap);
	}
	if (n)
		q->st.taken++;
	pthread_mutex_unlock(&q->lock);
	return n;
}

void fsd_notify_queue_stats(struct fsd_notify_queue *q, struct fsd_notify_queue_stats *st)
{
	pthread_mutex_lock(&q->lock);
	*st = q->st;
	st->count = q->count;
	st->whole = q->nwhole - q->whole_pos;
	st->all = q->all;
	pthread_mutex_unlock(&q->lock);
}
