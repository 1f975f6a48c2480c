/* SPDX-License-Identifier: MIT */
/* lbx-netd's device: the vhost-user queues, config space, session life; its life. */
#include "netd.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "writer.h"
#include "clock.h"

uint64_t netd_now_ms(void)
{
	return lbx_now_ms();
}

static void queue_kicked(struct lbx_vu_dev *dev, unsigned qidx, struct lbx_virtq *q)
{
	struct netd *d = lbx_vu_dev_data(dev);

	if (qidx == NETD_TX)
		netd_tx_run(d, q);
	else if (qidx == NETD_RX)
		netd_rx_flush(d); /* the guest gave us buffers: deliver what waits */
}

/*
 * virtio 1.2 §5.1.4: struct virtio_net_config { u8 mac[6]; le16 status;
 * le16 max_virtqueue_pairs; le16 mtu; ... } up to the fields our features
 * cover.
 */
static int get_config(struct lbx_vu_dev *dev, uint32_t offset, void *buf, uint32_t len)
{
	struct netd *d = lbx_vu_dev_data(dev);
	uint8_t cfg[NETD_CONFIG_SIZE];

	memcpy(cfg, d->mac, 6);
	lbx_put_u16le(cfg + 6, VIRTIO_NET_S_LINK_UP);
	lbx_put_u16le(cfg + 8, 1);
	lbx_put_u16le(cfg + 10, NETD_MTU);
	memcpy(buf, cfg + offset, len);
	return 0;
}

static void disconnected(struct lbx_vu_dev *dev)
{
	struct netd *d = lbx_vu_dev_data(dev);

	/* Frames for a guest that is gone: dropped. slirp's connections time out. */
	netd_rx_clear(d);
}

static const struct lbx_vu_ops netd_ops = {
	.name = "net",
	.num_queues = 2,
	.features = (1ull << VIRTIO_NET_F_MAC) | (1ull << VIRTIO_NET_F_MTU) |
		    (1ull << VIRTIO_NET_F_STATUS),
	.config_size = NETD_CONFIG_SIZE,
	.queue_kicked = queue_kicked,
	.get_config = get_config,
	.disconnected = disconnected,
};

struct netd *netd_new(struct lbx_loop *loop, enum netd_transport transport,
		      struct net_policy *policy, const uint8_t mac[6])
{
	struct netd *d = calloc(1, sizeof(*d));

	if (!d)
		return NULL;
	d->loop = loop;
	d->transport = transport;
	d->policy = *policy; /* takes the policy's allocations */
	memset(policy, 0, sizeof(*policy));
	memcpy(d->mac, mac, 6);
	d->slirp_epfd = d->poll_timerfd = d->control_fd = -1;
	d->start_ms = netd_now_ms();
	d->names = net_names_new(NET_NAMES_DEFAULT_CAP);
	d->flows = netd_flows_new();
	d->rx_chain = malloc(sizeof(*d->rx_chain));
	d->tx_chain = malloc(sizeof(*d->tx_chain));
	/* The stream transport listens later (netd_stream_listen); it needs no device. */
	if (transport == NETD_VHOST_USER)
		d->dev = lbx_vu_dev_new(loop, &netd_ops, d);
	if (!d->names || !d->flows || !d->rx_chain || !d->tx_chain ||
	    (transport == NETD_VHOST_USER && !d->dev)) {
		netd_free(d);
		return NULL;
	}
	return d;
}

void netd_free(struct netd *d)
{
	if (!d)
		return;
	netd_control_close(d);
	if (d->dev)
		lbx_vu_dev_free(d->dev);
	netd_slirp_stop(d);
	netd_stream_close(d); /* after slirp, which may still send while it stops */
	netd_rx_clear(d);
	net_names_free(d->names);
	netd_flows_free(d->flows);
	net_policy_free(&d->policy);
	free(d->rx_chain);
	free(d->tx_chain);
	free(d);
}

struct lbx_vu_dev *netd_vu(struct netd *d)
{
	return d->dev;
}
