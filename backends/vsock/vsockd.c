/* SPDX-License-Identifier: MIT */
/* lbx-vsockd's vhost-user device: queues, config space, session life. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "vsockd.h"
#include "writer.h"

static void queue_kicked(struct lbx_vu_dev *dev, unsigned qidx, struct lbx_virtq *q)
{
	struct vsockd *d = lbx_vu_dev_data(dev);

	if (qidx == VSOCKD_TX)
		vsockd_tx_run(d, q);
	else if (qidx == VSOCKD_RX)
		vsockd_rx_run(d); /* the guest gave us buffers: send what waits */
	/* The event queue: buffers stay until we report a transport reset. */
}

/* virtio 1.2 §5.10.4: struct virtio_vsock_config { le64 guest_cid; } */
static int get_config(struct lbx_vu_dev *dev, uint32_t offset, void *buf, uint32_t len)
{
	struct vsockd *d = lbx_vu_dev_data(dev);
	uint8_t cfg[8];

	lbx_put_u64le(cfg, d->guest_cid);
	memcpy(buf, cfg + offset, len);
	return 0;
}

static void disconnected(struct lbx_vu_dev *dev)
{
	struct vsockd *d = lbx_vu_dev_data(dev);

	/* The guest is gone: so is every connection into it. */
	vsockd_close_all(d);
}

static const struct lbx_vu_ops vsockd_ops = {
	.name = "vsock",
	.num_queues = 3,
	.features = 0, /* stream sockets are implied without F_NO_IMPLIED_STREAM */
	.config_size = 8,
	.queue_kicked = queue_kicked,
	.get_config = get_config,
	.disconnected = disconnected,
};

struct vsockd *vsockd_new(struct lbx_loop *loop, uint64_t guest_cid, const char *uds_path)
{
	struct vsockd *d = calloc(1, sizeof(*d));

	if (!d)
		return NULL;
	d->loop = loop;
	d->guest_cid = guest_cid;
	d->listen_fd = -1;
	d->next_local_port = 0x40000000u;
	d->uds_path = strdup(uds_path);
	d->chain = malloc(sizeof(*d->chain));
	d->dev = lbx_vu_dev_new(loop, &vsockd_ops, d);
	if (!d->uds_path || !d->chain || !d->dev) {
		vsockd_free(d);
		return NULL;
	}
	return d;
}

void vsockd_free(struct vsockd *d)
{
	if (!d)
		return;
	vsockd_close_all(d);
	if (d->dev)
		lbx_vu_dev_free(d->dev);
	if (d->listen_fd >= 0) {
		lbx_loop_del(d->loop, d->listen_fd);
		close(d->listen_fd);
		unlink(d->uds_path);
	}
	free(d->uds_path);
	free(d->chain);
	free(d);
}

struct lbx_vu_dev *vsockd_vu(struct vsockd *d)
{
	return d->dev;
}
