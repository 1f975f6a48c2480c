/* SPDX-License-Identifier: MIT */
/*
 * A generic vhost-user back-end (QEMU docs/interop/vhost-user.rst): the
 * protocol, guest memory and ring life cycle, so that a device (lbx-fsd,
 * lbx-vsockd, lbx-netd, test devices) only supplies a table of operations
 * and processes chains.
 *
 * What it speaks, as QEMU's vhost-user-fs/-vsock/-net/-rng front-ends
 * expect: GET/SET_FEATURES (with VHOST_USER_F_PROTOCOL_FEATURES),
 * GET/SET_PROTOCOL_FEATURES (MQ, REPLY_ACK, and CONFIG when the device has
 * a config space), SET_OWNER, RESET_OWNER (stops all rings), GET_QUEUE_NUM,
 * SET_MEM_TABLE (maps every region; a new table replaces the old one and
 * running rings are re-translated), SET_VRING_NUM/ADDR/BASE,
 * GET_VRING_BASE (stops the ring), SET_VRING_KICK/CALL/ERR (with the
 * no-fd flag for CALL and ERR; polling kicks are refused),
 * SET_VRING_ENABLE, GET/SET_CONFIG. Dirty logging (SET_LOG_BASE,
 * SET_LOG_FD, VHOST_F_LOG_ALL, VHOST_VRING_F_LOG) is never offered and
 * refused if asked for.
 *
 * Errors: a request the back-end refuses (bad queue index, region or ring
 * address outside memory, ...) is logged once and answered with a non-zero
 * REPLY_ACK when the front-end asked for one; the session goes on. A
 * malformed message (wrong payload size, bad header, too many fds, a
 * request whose reply cannot be given) or an unknown request without
 * NEED_REPLY ends the session with one log line. The front-end closing the
 * socket ends the session cleanly: rings stop, memory is unmapped, fds are
 * closed, and ops->disconnected is called.
 *
 * Rings: a ring starts at SET_VRING_KICK and stops at GET_VRING_BASE.
 * With VHOST_USER_F_PROTOCOL_FEATURES negotiated it starts disabled until
 * SET_VRING_ENABLE 1; queue_kicked is only called for started, enabled
 * rings (buffers wait in a disabled ring). A ring the driver breaks stops
 * being processed and the error eventfd, if any, is signalled.
 *
 * Threading: everything runs on the caller's lbx_loop thread, including
 * ops callbacks. A device that completes requests on other threads must
 * hand completions back to the loop thread (e.g. with an eventfd) and call
 * lbx_vu_dev_push/notify there. Popped chains point into guest memory that
 * a SET_MEM_TABLE or the end of the session unmaps: finish them before
 * returning to the loop, or drop them in ops->queue_stopped.
 */
#ifndef LBX_VHOST_USER_BACKEND_H
#define LBX_VHOST_USER_BACKEND_H

#include <stdbool.h>
#include <stdint.h>

#include "compiler.h"
#include "evloop.h"
#include "guest_mem.h"
#include "virtq.h"

#define LBX_VU_MAX_QUEUES 16

struct lbx_vu_dev;

struct lbx_vu_ops {
	const char *name;    /* for log lines: "rng", "fs", ... */
	unsigned num_queues; /* 1..LBX_VU_MAX_QUEUES */
	/*
	 * Device feature bits offered. The library adds what it implements:
	 * VIRTIO_F_VERSION_1, VIRTIO_F_INDIRECT_DESC, VIRTIO_F_EVENT_IDX and
	 * VHOST_USER_F_PROTOCOL_FEATURES.
	 */
	uint64_t features;
	/* Bytes of config space; 0: none (CONFIG protocol feature not offered). */
	uint32_t config_size;

	/* Required: buffers may be available on queue qidx. Pop until 0. */
	void (*queue_kicked)(struct lbx_vu_dev *dev, unsigned qidx, struct lbx_virtq *q);
	/* Optional: fill config bytes [offset, offset + len), already range-checked. */
	int (*get_config)(struct lbx_vu_dev *dev, uint32_t offset, void *buf, uint32_t len);
	/* Optional (else refused): the driver wrote config; flags as in SET_CONFIG. */
	int (*set_config)(struct lbx_vu_dev *dev, uint32_t offset, const void *buf, uint32_t len,
			  uint32_t flags);
	/* Optional: features acked (a subset of what was offered). -errno refuses. */
	int (*set_features)(struct lbx_vu_dev *dev, uint64_t features);
	/* Optional: queue qidx stopped (GET_VRING_BASE, reset, disconnect). */
	void (*queue_stopped)(struct lbx_vu_dev *dev, unsigned qidx);
	/* Optional: the session ended; the device is back in its initial state. */
	void (*disconnected)(struct lbx_vu_dev *dev);
	/*
	 * Optional: a front-end request this library does not know, for a
	 * device's own messages (vhost-user-gpu's GPU_SET_SOCKET, 33). The
	 * callback may keep fds (it sets their slots to -1); the rest are
	 * closed. 0: done (REPLY_ACK 0); -ENOSYS: unknown to the device too
	 * (handled as any unknown request); other -errno: refused and logged.
	 */
	int (*device_request)(struct lbx_vu_dev *dev, uint32_t request, const uint8_t *payload,
			      uint32_t size, int *fds, unsigned nfds);
};

/* ops must outlive the device; data is the device's own pointer. */
struct lbx_vu_dev *lbx_vu_dev_new(struct lbx_loop *loop, const struct lbx_vu_ops *ops, void *data);
/* Ends any session, stops listening (and unlinks the socket it created). */
void lbx_vu_dev_free(struct lbx_vu_dev *dev);
void *lbx_vu_dev_data(const struct lbx_vu_dev *dev);

/*
 * Listen on a unix socket at path (a stale socket file there is replaced)
 * and serve one front-end at a time; after a session ends the next
 * connection is accepted. 0 or -errno.
 */
LBX_MUST_CHECK int lbx_vu_dev_listen(struct lbx_vu_dev *dev, const char *path);
/* Serve an already connected socket (inherited, or a socketpair). Takes fd. */
LBX_MUST_CHECK int lbx_vu_dev_attach(struct lbx_vu_dev *dev, int fd);
bool lbx_vu_dev_connected(const struct lbx_vu_dev *dev);

/* Negotiated virtio features (0 before SET_FEATURES). */
uint64_t lbx_vu_dev_features(const struct lbx_vu_dev *dev);
const struct lbx_guest_mem *lbx_vu_dev_mem(const struct lbx_vu_dev *dev);
/*
 * The queue if it is started and enabled, else NULL: for devices that
 * fill a queue when host data arrives (RX) rather than on a kick.
 */
struct lbx_virtq *lbx_vu_dev_queue(struct lbx_vu_dev *dev, unsigned qidx);

/* Return a popped chain with len bytes written. */
void lbx_vu_dev_push(struct lbx_vu_dev *dev, unsigned qidx, uint16_t head, uint32_t len);
/*
 * After one or more pushes: signal the call eventfd if the driver wants an
 * interrupt (EVENT_IDX / NO_INTERRUPT). Without a call fd yet, the
 * notification is kept for when SET_VRING_CALL brings one.
 */
void lbx_vu_dev_notify(struct lbx_vu_dev *dev, unsigned qidx);

#endif
