/* SPDX-License-Identifier: MIT */
/*
 * virtio-fs over vhost-user (virtio 1.2 §5.11): queue 0 is hiprio (FORGET,
 * BATCH_FORGET, INTERRUPT), then the request queue. Each chain's
 * device-readable descriptors are the FUSE request and its writable ones
 * the reply, exactly what fsd_handle takes. The config space (tag, number
 * of request queues, notify_buf_size) is the front-end's: QEMU and
 * lbx-vmm fill it from their own command lines, and QEMU warns about
 * back-ends that offer CONFIG.
 *
 * VIRTIO_FS_F_NOTIFICATION (§5.11.3) is offered when the tree is watched
 * (watch.c): if the driver acks it, queue 1 is the notification queue and
 * the request queue moves to 2 (§5.11.2). The driver fills queue 1 with
 * device-writable buffers; each host edit goes into one as a
 * struct virtio_fs_notify (fuse_out_header with unique 0, error =
 * FUSE_NOTIFY_*, then the body, §5.11.6.1). Notifications wait in a
 * bounded queue for buffers, then coalesce (notify_queue.c), and the
 * long cache timeouts apply only once the driver has acked the feature.
 * QEMU 7.2's vhost-user-fs-device does not pass the feature through
 * (its user_feature_bits): under QEMU the request queue stays 1.
 */
#include "vhost.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <pthread.h>
#include <stdatomic.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>

#include "evloop.h"
#include "log.h"
#include "notify_queue.h"
#include "vhost_user_backend.h"
#include "writer.h"
#include "unixsock.h"

#define FSD_VU_QUEUES 2 /* hiprio + one request queue */
#define FSD_TAG_SIZE 36	/* §5.11.4 */
#define VIRTIO_FS_F_NOTIFICATION 0 /* §5.11.3 */
#define NOTIFY_QUEUE 1		   /* §5.11.2, when negotiated */
/* Notifications kept for a driver that gives no buffers, then nodes coalesced (notify_queue.c). */
#define NOTIFY_MAX_PENDING 256
#define NOTIFY_MAX_WHOLE 1024

struct fsd_vu {
	struct fsd *fsd;
	struct lbx_loop *loop;
	struct lbx_vu_dev *dev;
	struct lbx_virtq_chain *chain;
	/* the notification queue: offered, acked by the driver */
	struct fsd_notify_queue *nq;
	int efd; /* the watcher put something (written from its thread) */
	atomic_bool notify_on;
};

static void flush_notifications(struct fsd_vu *v);

static void queue_kicked(struct lbx_vu_dev *dev, unsigned qidx, struct lbx_virtq *q)
{
	struct fsd_vu *v = lbx_vu_dev_data(dev);
	bool pushed = false;

	if (v->notify_on && qidx == NOTIFY_QUEUE) {
		flush_notifications(v); /* new buffers: deliver what waits */
		return;
	}
	if (!v->notify_on && qidx > 1)
		return; /* no such queue without the feature */

	for (;;) {
		size_t len = 0;
		int rc = lbx_virtq_pop(q, v->chain);

		if (rc <= 0)
			break;
		/* A request too short for a header gets no reply; the chain goes back empty. */
		if (fsd_handle(v->fsd, v->chain->rd, v->chain->nrd, v->chain->wr, v->chain->nwr,
			       &len) < 0)
			len = 0;
		lbx_vu_dev_push(dev, qidx, v->chain->head, (uint32_t)len);
		pushed = true;
	}
	if (pushed)
		lbx_vu_dev_notify(dev, qidx);
}

static void disconnected(struct lbx_vu_dev *dev)
{
	struct fsd_vu *v = lbx_vu_dev_data(dev);

	/* One front-end per process: its guest's FUSE session is over. */
	lbx_loop_stop(v->loop, 0);
}

/* One notification per buffer the driver made available, while any wait. */
static void flush_notifications(struct fsd_vu *v)
{
	struct lbx_virtq *q = v->notify_on ? lbx_vu_dev_queue(v->dev, NOTIFY_QUEUE) : NULL;
	uint8_t msg[512];
	bool pushed = false;

	while (q && !fsd_notify_queue_empty(v->nq)) {
		size_t n = 0, off = 0;

		if (lbx_virtq_pop(q, v->chain) <= 0)
			break; /* no buffer: they wait (bounded) */
		while (!n && !fsd_notify_queue_empty(v->nq))
			n = fsd_notify_queue_take(v->nq, v->fsd, msg,
						  LBX_MIN(v->chain->wr_len, sizeof(msg)));
		for (unsigned i = 0; i < v->chain->nwr && off < n; i++) {
			size_t k = LBX_MIN(v->chain->wr[i].iov_len, n - off);

			memcpy(v->chain->wr[i].iov_base, msg + off, k);
			off += k;
		}
		lbx_vu_dev_push(v->dev, NOTIFY_QUEUE, v->chain->head, (uint32_t)off);
		pushed = true;
	}
	if (pushed)
		lbx_vu_dev_notify(v->dev, NOTIFY_QUEUE);
}

static void notify_woken(struct lbx_loop *loop, int fd, uint32_t events, void *data)
{
	uint64_t n;

	if (read(fd, &n, sizeof(n)) < 0 && errno != EAGAIN)
		return;
	flush_notifications(data);
}

/* The watcher's sink (its thread): queue, wake the loop. */
static int notify_send(void *ctx, const void *msg, size_t len)
{
	struct fsd_vu *v = ctx;
	uint64_t one = 1;
	int r;

	if (!v->notify_on)
		return -ENOTCONN; /* the driver did not ask: the timeouts bound staleness */
	r = fsd_notify_queue_put(v->nq, msg, len);
	if (r >= 0 && write(v->efd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		return -errno;
	return r < 0 ? r : 0;
}

static int features_set(struct lbx_vu_dev *dev, uint64_t features)
{
	struct fsd_vu *v = lbx_vu_dev_data(dev);

	v->notify_on = v->nq && (features & (1ull << VIRTIO_FS_F_NOTIFICATION));
	if (v->notify_on) {
		fsd_notified(v->fsd); /* host edits reach the guest: long timeouts */
		lbx_info("the driver takes the notification queue: host edits are watched (%s) "
			 "and told to the guest",
			 fsd_watch_kind(v->fsd));
	} else if (v->nq) {
		fsd_watch_stop(v->fsd); /* nobody to tell: the short timeouts stay */
		lbx_info("the driver does not take the notification queue (VIRTIO_FS_F_NOTIFICATION): "
			 "host edits are seen after the cache timeout");
	}
	return 0;
}

static const struct lbx_vu_ops fsd_vu_ops = {
	.name = "fs",
	.num_queues = FSD_VU_QUEUES,
	.features = 0,
	.queue_kicked = queue_kicked,
	.disconnected = disconnected,
};

/* With host edits watched: the notification queue is offered (hiprio, notifications, requests). */
static const struct lbx_vu_ops fsd_vu_notify_ops = {
	.name = "fs",
	.num_queues = FSD_VU_QUEUES + 1,
	.features = 1ull << VIRTIO_FS_F_NOTIFICATION,
	.queue_kicked = queue_kicked,
	.set_features = features_set,
	.disconnected = disconnected,
};

int fsd_vhost_accept(const char *path)
{
	int lfd = lbx_unix_listen(path, 1, 0), fd, e;

	if (lfd < 0)
		return lfd;
	do
		fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	while (fd < 0 && errno == EINTR);
	e = fd < 0 ? -errno : 0;
	close(lfd);
	unlink(path);
	return e ? e : fd;
}

static void on_signal(struct lbx_loop *loop, int signo, void *data)
{
	lbx_loop_stop(loop, 0);
}

/* Watch the tree and offer the notification queue; false if that cannot be. */
static bool notify_setup(struct fsd_vu *v)
{
	/* our guest kernel raises inotify events from the flags (kernel-config/patches/0003) */
	struct fsd_notify_sink sink = { notify_send, v, true };

	v->nq = fsd_notify_queue_new(NOTIFY_MAX_PENDING, NOTIFY_MAX_WHOLE);
	v->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (!v->nq || v->efd < 0 || lbx_loop_add(v->loop, v->efd, EPOLLIN, notify_woken, v) < 0 ||
	    fsd_watch_start(v->fsd, &sink) < 0) {
		lbx_warn("no virtio-fs notification queue: host edits reach the guest after the "
			 "cache timeout only");
		return false;
	}
	return true;
}

struct fsd_vu *fsd_vhost_new(struct fsd *fsd, struct lbx_loop *loop, bool notify)
{
	struct fsd_vu *v = calloc(1, sizeof(*v));

	if (!v)
		return NULL;
	v->fsd = fsd;
	v->loop = loop;
	v->efd = -1;
	v->chain = malloc(sizeof(*v->chain));
	if (notify && v->chain && !notify_setup(v))
		notify = false;
	if (v->chain)
		v->dev = lbx_vu_dev_new(loop, notify ? &fsd_vu_notify_ops : &fsd_vu_ops, v);
	if (!v->dev) {
		fsd_vhost_free(v);
		return NULL;
	}
	return v;
}

struct fsd_notify_queue *fsd_vhost_notify_queue(struct fsd_vu *v)
{
	return v->notify_on ? v->nq : NULL;
}

struct lbx_vu_dev *fsd_vhost_dev(struct fsd_vu *v)
{
	return v->dev;
}

void fsd_vhost_free(struct fsd_vu *v)
{
	if (!v)
		return;
	if (v->nq)
		fsd_watch_stop(v->fsd); /* its sink is ours */
	if (v->dev)
		lbx_vu_dev_free(v->dev);
	if (v->efd >= 0) {
		lbx_loop_del(v->loop, v->efd);
		close(v->efd);
	}
	fsd_notify_queue_free(v->nq);
	free(v->chain);
	free(v);
}

int fsd_vhost_serve(struct fsd *fsd, int fd, const char *tag, bool notify,
		    int (*restrict_self)(void *), void *arg)
{
	static const int sigs[] = { SIGINT, SIGTERM, SIGHUP };
	struct lbx_loop *loop;
	struct fsd_vu *v = NULL;
	int rc = -ENOMEM;

	if (strlen(tag) > FSD_TAG_SIZE || !tag[0])
		return -EINVAL;
	loop = lbx_loop_new();
	if (loop)
		v = fsd_vhost_new(fsd, loop, notify);
	if (v && lbx_loop_add_signals(loop, sigs, 3, on_signal, NULL) >= 0) {
		rc = lbx_vu_dev_attach(v->dev, fd);
		fd = -1;
		/* Everything that needs a new fd or socket is done: restrict, then serve. */
		if (rc == 0)
			rc = restrict_self(arg);
		if (rc == 0)
			rc = lbx_loop_run(loop);
	}
	if (fd >= 0)
		close(fd);
	fsd_vhost_free(v);
	lbx_loop_free(loop);
	return rc < 0 ? rc : 0;
}
