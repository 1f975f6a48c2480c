/* SPDX-License-Identifier: MIT */
/*
 * lbx-netd: a vhost-user-net device (virtio 1.2 §5.1) whose other side is
 * libslirp, a user-mode TCP/IP stack that turns the guest's connections
 * into ordinary sockets of this process (rootless NAT, DHCP, DNS relay),
 * with the egress policy (policy.h) in between:
 *
 *   guest tx queue -> virtio-net header -> frame parser -> policy -> slirp_input
 *   slirp send_packet -> DNS answers learned -> rx queue -> guest
 *
 * The virtual network is slirp's default, as QEMU's -netdev user: guest
 * 10.0.2.15/24 (the first DHCP lease), gateway and host 10.0.2.2, DNS
 * 10.0.2.3; IPv6 prefix fec0::/64 with fec0::2 and fec0::3.
 *
 * Features (virtio 1.2 §5.1.3): we offer VIRTIO_NET_F_MAC, _MTU and
 * _STATUS, for a front-end that reads our config space (lbx-vmm); QEMU's
 * vhost-user-net front-end keeps the MAC and status to itself (its own
 * config space, -device ...,mac=) and takes from the back-end only the
 * offload and ring bits it knows (hw/net/vhost_net.c user_feature_bits),
 * of which we offer none beyond what the library adds (VERSION_1,
 * INDIRECT_DESC, EVENT_IDX): no checksum or segmentation offload (slirp
 * wants whole, checksummed frames) and no MRG_RXBUF (one buffer per frame
 * is enough for frames of at most 1514 bytes, §5.1.6.3.1). With VERSION_1
 * the header in front of every frame is struct virtio_net_hdr with
 * num_buffers: 12 bytes (§5.1.6).
 *
 * The other transport (--stream, stream_peer.c) carries the same frames
 * without virtio: over a unix stream socket, each behind its length
 * (common/lenframe.h), for a container whose init relays a tap device. Policy,
 * slirp and counters are the same; only where frames come from and go
 * to differs.
 */
#ifndef LBX_NETD_H
#define LBX_NETD_H

#include <stdbool.h>
#include <stdint.h>

#include <slirp/libslirp.h>

#include "evloop.h"
#include "flows.h"
#include "frame.h"
#include "names.h"
#include "policy.h"
#include "vhost_user_backend.h"
#include "virtq.h"

enum netd_queue { NETD_RX = 0, NETD_TX = 1 };

/* How frames reach the guest: --socket (vhost-user) or --stream. */
enum netd_transport { NETD_VHOST_USER, NETD_STREAM };

#define VIRTIO_NET_F_MTU 3
#define VIRTIO_NET_F_MAC 5
#define VIRTIO_NET_F_MRG_RXBUF 15
#define VIRTIO_NET_F_STATUS 16
#define VIRTIO_NET_S_LINK_UP 1

#define NETD_VNET_HDR_LEN 12	    /* with VERSION_1 (or MRG_RXBUF), §5.1.6 */
#define NETD_VNET_HDR_LEN_LEGACY 10 /* neither */
#define NETD_MTU 1500
#define NETD_FRAME_MAX (NETD_MTU + 18) /* + Ethernet header and a VLAN tag */
#define NETD_RXQ_MAX_BYTES (4u << 20) /* frames waiting for the guest */
#define NETD_CONFIG_SIZE 12	      /* mac, status, max_virtqueue_pairs, mtu */

/* Why a frame from the guest was dropped before the policy saw it. */
enum netd_bad {
	NETD_BAD_VNET_HDR = NET_FRAME_ERR_COUNT, /* offload flags we never offered */
	NETD_BAD_SIZE,				 /* shorter than the header or too long */
	NETD_BAD_DNS,				 /* allowlist: a DNS query we cannot read */
	NETD_BAD_COUNT
};

struct netd_stats {
	uint64_t frames_from_guest;	    /* from the tx queue or the stream */
	uint64_t frames_to_slirp;
	uint64_t frames_to_guest;	    /* into rx buffers or the stream's queue */
	uint64_t frames_denied;
	uint64_t rx_dropped;		    /* no room for a frame for the guest */
	uint64_t malformed[NETD_BAD_COUNT]; /* by enum net_frame_err / netd_bad */
	uint64_t resets_sent;
	uint64_t dns_refused;
	uint64_t dns_answers;
};

struct netd_pending {
	struct netd_pending *next;
	size_t len;
	uint8_t data[];
};

struct netd_timer;
struct netd_stream;

/* The stream transport as the control socket reports it. */
struct netd_stream_status {
	bool connected;
	uint64_t peers;	  /* connections served */
	uint64_t refused; /* connections closed at once: another peer was connected */
	size_t queued_bytes;
};

struct netd {
	struct lbx_loop *loop;
	enum netd_transport transport;
	struct lbx_vu_dev *dev;	    /* vhost-user only, else NULL */
	struct netd_stream *stream; /* --stream only, else NULL */
	struct net_policy policy;
	struct net_names *names;
	struct netd_flows *flows;
	uint8_t mac[6];
	Slirp *slirp;
	struct netd_stats st;

	/* Frames for the guest that wait for rx buffers. */
	struct netd_pending *rxq_head, *rxq_tail;
	size_t rxq_bytes;

	/* slirp's sockets live in an epoll set of their own (slirp_glue.c). */
	int slirp_epfd;
	int poll_timerfd;
	struct netd_pollfd *pollfds;
	unsigned npollfds, cap_pollfds;
	struct netd_watch *watched;	/* by fd */
	unsigned nwatched;
	unsigned round;
	struct netd_timer *timers;

	struct lbx_virtq_chain *rx_chain, *tx_chain; /* scratch, large; apart because a tx
						      * frame can make a reply for rx */
	uint8_t txbuf[NETD_VNET_HDR_LEN + NETD_FRAME_MAX + 1];

	int control_fd;
	char *control_path;
	uint64_t start_ms;
};

struct netd *netd_new(struct lbx_loop *loop, enum netd_transport transport,
		      struct net_policy *policy, const uint8_t mac[6]);
void netd_free(struct netd *d);
struct lbx_vu_dev *netd_vu(struct netd *d);
uint64_t netd_now_ms(void);

/* rx.c: a frame for the guest (from slirp, or one of our replies). */
void netd_to_guest(struct netd *d, const uint8_t *frame, size_t len);
void netd_rx_flush(struct netd *d);
void netd_rx_clear(struct netd *d);
/* Look at a frame slirp sends: DNS answers, datagrams the guest may answer. */
void netd_snoop(struct netd *d, const uint8_t *frame, size_t len);

/* tx.c */
void netd_tx_run(struct netd *d, struct lbx_virtq *q);
/* One frame from the guest, without its virtio header (exposed for the fuzzer). */
void netd_egress(struct netd *d, const uint8_t *frame, size_t len);

/* stream_peer.c: the --stream transport. */
int netd_stream_listen(struct netd *d, const char *path);
void netd_stream_close(struct netd *d);
/* A frame for the peer, in place of the rx queue (from netd_to_guest). */
void netd_stream_send(struct netd *d, const uint8_t *frame, size_t len);
void netd_stream_status(const struct netd *d, struct netd_stream_status *st);

/* slirp_glue.c */
int netd_slirp_start(struct netd *d);
void netd_slirp_stop(struct netd *d);
void netd_slirp_input(struct netd *d, const uint8_t *frame, size_t len);
/* After slirp ran (input, timers, sockets): tell it what to poll again. */
void netd_slirp_repoll(struct netd *d);

/* control.c */
int netd_control_listen(struct netd *d, const char *path);
void netd_control_close(struct netd *d);
/* The live policy and counters as one JSON document (malloc'd). */
char *netd_status_json(struct netd *d);

/* netd_sandbox.c */
int netd_sandbox_apply(void);

#endif
