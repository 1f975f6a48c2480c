/* SPDX-License-Identifier: MIT */
/*
 * virtio-fs over vhost-user (virtio 1.2 §5.11): queue 0 is hiprio (FORGET,
 * BATCH_FORGET, INTERRUPT), queue 1 the request queue. Each chain's
 * device-readable descriptors are the FUSE request and its writable ones
 * the reply, exactly what fsd_handle takes. VIRTIO_FS_F_NOTIFICATION is
 * not offered (ANCHORS.md). The config space (tag, number of request
 * queues) is the front-end's: QEMU and lbx-vmm fill it from their own
 * command lines, and QEMU warns about back-ends that offer CONFIG.
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

#include "evloop.h"
#include "log.h"
#include "vhost_user_backend.h"
#include "writer.h"
#include "unixsock.h"

#define FSD_VU_QUEUES 2 /* hiprio + one request queue */
#define FSD_TAG_SIZE 36	/* §5.11.4 */

struct fsd_vu {
	struct fsd *fsd;
	struct lbx_loop *loop;
	struct lbx_vu_dev *dev;
	struct lbx_virtq_chain *chain;
};

static void queue_kicked(struct lbx_vu_dev *dev, unsigned qidx, struct lbx_virtq *q)
{
	struct fsd_vu *v = lbx_vu_dev_data(dev);
	bool pushed = false;

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

static const struct lbx_vu_ops fsd_vu_ops = {
	.name = "fs",
	.num_queues = FSD_VU_QUEUES,
	.features = 0,
	.queue_kicked = queue_kicked,
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

struct fsd_vu *fsd_vhost_new(struct fsd *fsd, struct lbx_loop *loop)
{
	struct fsd_vu *v = calloc(1, sizeof(*v));

	if (!v)
		return NULL;
	v->fsd = fsd;
	v->loop = loop;
	v->chain = malloc(sizeof(*v->chain));
	if (v->chain)
		v->dev = lbx_vu_dev_new(loop, &fsd_vu_ops, v);
	if (!v->dev) {
		fsd_vhost_free(v);
		return NULL;
	}
	return v;
}

struct lbx_vu_dev *fsd_vhost_dev(struct fsd_vu *v)
{
	return v->dev;
}

void fsd_vhost_free(struct fsd_vu *v)
{
	if (!v)
		return;
	if (v->dev)
		lbx_vu_dev_free(v->dev);
	free(v->chain);
	free(v);
}

int fsd_vhost_serve(struct fsd *fsd, int fd, const char *tag, int (*restrict_self)(void *),
		    void *arg)
{
	static const int sigs[] = { SIGINT, SIGTERM, SIGHUP };
	struct lbx_loop *loop;
	struct fsd_vu *v = NULL;
	int rc = -ENOMEM;

	if (strlen(tag) > FSD_TAG_SIZE || !tag[0])
		return -EINVAL;
	loop = lbx_loop_new();
	if (loop)
		v = fsd_vhost_new(fsd, loop);
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
