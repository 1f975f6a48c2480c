/* SPDX-License-Identifier: MIT */
/* Notifications waiting for the virtio-fs notification queue: bounded, then coalesced. */
#ifndef LBX_FSD_NOTIFY_QUEUE_H
#define LBX_FSD_NOTIFY_QUEUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct fsd;
struct fsd_notify_queue;

struct fsd_notify_queue_stats {
	uint64_t put, taken;   /* messages in, messages out */
	uint64_t coalesced;    /* folded into whole-inode invalidations */
	uint64_t overflowed;   /* times even those ran out: everything invalidated */
	uint64_t too_big;      /* dropped: longer than the driver's buffer */
	unsigned count, whole; /* waiting now: as they are, folded */
	unsigned max_count;    /* most ever waiting as they are */
	bool all;
};

/* At most max_pending messages as they are, then max_whole folded nodes (notify_queue.c). */
struct fsd_notify_queue *fsd_notify_queue_new(unsigned max_pending, unsigned max_whole);
void fsd_notify_queue_free(struct fsd_notify_queue *q);
/* Any thread: 0 queued, 1 folded, -EMSGSIZE. */
int fsd_notify_queue_put(struct fsd_notify_queue *q, const void *msg, size_t len);
bool fsd_notify_queue_empty(struct fsd_notify_queue *q);
/* The next message into buf (cap bytes): its length, 0 if none fits or none waits. */
size_t fsd_notify_queue_take(struct fsd_notify_queue *q, struct fsd *fsd, uint8_t *buf, size_t cap);
void fsd_notify_queue_stats(struct fsd_notify_queue *q, struct fsd_notify_queue_stats *st);

#endif
