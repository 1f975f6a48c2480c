/* SPDX-License-Identifier: MIT */
/*
 * Generic vhost-user back-end. Section names in comments refer to QEMU's
 * docs/interop/vhost-user.rst.
 */
#include "vhost_user_backend.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "log.h"
#include "vhost_user.h"
#include "unixsock.h"

struct vring {
	struct lbx_vu_dev *dev;
	unsigned idx;
	struct lbx_virtq q;
	uint32_t num; /* 0 until SET_VRING_NUM */
	struct lbx_vu_vring_addr addr;
	bool addr_set;
	uint16_t base; /* next avail index to use when (re)started */
	int kick_fd, call_fd, err_fd;
	bool started, enabled, err_reported;
};

struct lbx_vu_dev {
	struct lbx_loop *loop;
	const struct lbx_vu_ops *ops;
	void *data;
	bool freeing; /* lbx_vu_dev_free: no disconnected callback */
	int listen_fd;
	char *path; /* socket file we created, unlinked on free */
	int conn_fd;
	uint64_t features;
	uint64_t protocol_features;
	struct lbx_guest_mem mem;
	struct vring vrings[LBX_VU_MAX_QUEUES];
};

/* What a request handler decided. */
enum verdict {
	V_OK,	   /* done; REPLY_ACK 0 if the front-end asked for one */
	V_REPLY,   /* the reply message is filled in: send it */
	V_REFUSED, /* refused and logged; REPLY_ACK non-zero if asked */
	V_CLOSE,   /* protocol error, logged: end the session */
};

typedef enum verdict (*handler_fn)(struct lbx_vu_dev *dev, struct lbx_vu_msg *msg,
				   struct lbx_vu_msg *reply);

static void on_accept(struct lbx_loop *loop, int fd, uint32_t events, void *data);

/* ---- small helpers ---- */

static uint64_t bit(unsigned n)
{
	return 1ull << n;
}

static uint64_t offered_features(const struct lbx_vu_dev *dev)
{
	return dev->ops->features | bit(LBX_VIRTIO_F_VERSION_1) | bit(LBX_VIRTIO_F_INDIRECT_DESC) |
	       bit(LBX_VIRTIO_F_EVENT_IDX) | bit(LBX_VU_F_PROTOCOL_FEATURES);
}

static uint64_t offered_protocol_features(const struct lbx_vu_dev *dev)
{
	uint64_t f = bit(LBX_VU_PROTOCOL_F_MQ) | bit(LBX_VU_PROTOCOL_F_REPLY_ACK);

	if (dev->ops->config_size && dev->ops->get_config)
		f |= bit(LBX_VU_PROTOCOL_F_CONFIG);
	return f;
}

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

/* Take fd i out of msg so the dispatcher does not close it. */
static int adopt_fd(struct lbx_vu_msg *msg, unsigned i)
{
	int fd = msg->fds[i];

	msg->fds[i] = -1;
	/*
	 * Eventfds from the front-end: never let a read or write block the
	 * loop, whatever kind of fd a confused front-end sent.
	 */
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	return fd;
}

static const char *dev_name(const struct lbx_vu_dev *dev)
{
	return dev->ops->name ? dev->ops->name : "vhost-user";
}

static struct vring *vring_arg(struct lbx_vu_dev *dev, uint32_t index, uint32_t request)
{
	if (index < dev->ops->num_queues)
		return &dev->vrings[index];
	lbx_warn("%s: %s for queue %" PRIu32 ", but the device has %u queues", dev_name(dev),
		 lbx_vu_request_name(request), index, dev->ops->num_queues);
	return NULL;
}

static enum verdict malformed(struct lbx_vu_dev *dev, const struct lbx_vu_msg *msg)
{
	lbx_warn("%s: malformed %s (%" PRIu32 " payload bytes, %u fds); closing the session",
		 dev_name(dev), lbx_vu_request_name(msg->request), msg->size, msg->nfds);
	return V_CLOSE;
}

/* Requests without a payload must not carry one. */
static bool empty(const struct lbx_vu_msg *msg)
{
	return msg->size == 0 && msg->nfds == 0;
}

/* ---- rings ---- */

static bool ring_enabled(const struct lbx_vu_dev *dev, const struct vring *vr)
{
	/* "Ring states": enabled from the start without PROTOCOL_FEATURES. */
	return vr->enabled || !(dev->features & bit(LBX_VU_F_PROTOCOL_FEATURES));
}

static void eventfd_signal(int fd)
{
	uint64_t one = 1;

	if (fd >= 0 && write(fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		lbx_debug("eventfd write: %s", strerror(errno));
}

static void report_broken(struct lbx_vu_dev *dev, struct vring *vr)
{
	if (vr->err_reported)
		return;
	vr->err_reported = true;
	lbx_err("%s: queue %u: the driver broke the ring; not processing it until the "
		"front-end restarts it",
		dev_name(dev), vr->idx);
	eventfd_signal(vr->err_fd);
}

static void vring_process(struct lbx_vu_dev *dev, struct vring *vr)
{
	if (!vr->started || !ring_enabled(dev, vr))
		return;
	if (!vr->q.broken)
		dev->ops->queue_kicked(dev, vr->idx, &vr->q);
	if (vr->q.broken)
		report_broken(dev, vr);
}

/* Translate the ring's front-end addresses and (re)initialise its virtq. */
static int vring_map(struct lbx_vu_dev *dev, struct vring *vr)
{
	uint16_t n = (uint16_t)vr->num;
	void *desc, *avail, *used;

	if (!vr->num || !vr->addr_set)
		return -EINVAL;
	desc = lbx_guest_mem_uva_ptr(&dev->mem, vr->addr.desc_uva, lbx_virtq_desc_bytes(n));
	avail = lbx_guest_mem_uva_ptr(&dev->mem, vr->addr.avail_uva, lbx_virtq_avail_bytes(n));
	used = lbx_guest_mem_uva_ptr(&dev->mem, vr->addr.used_uva, lbx_virtq_used_bytes(n));
	return lbx_virtq_init_hva(&vr->q, &dev->mem, n, desc, avail, used, dev->features);
}

static void vring_stop(struct lbx_vu_dev *dev, struct vring *vr)
{
	if (!vr->started)
		return;
	vr->base = vr->q.last_avail;
	lbx_loop_del(dev->loop, vr->kick_fd);
	close_fd(&vr->kick_fd);
	vr->started = false;
	memset(&vr->q, 0, sizeof(vr->q));
	vr->q.broken = true;
	if (dev->ops->queue_stopped)
		dev->ops->queue_stopped(dev, vr->idx);
}

static void on_kick(struct lbx_loop *loop, int fd, uint32_t events, void *data)
{
	struct vring *vr = data;
	uint64_t count;
	ssize_t n = (events & EPOLLIN) ? read(fd, &count, sizeof(count)) : 0;

	if (n == 0 || (n < 0 && errno != EAGAIN)) {
		lbx_warn("%s: queue %u: kick fd failed; stopping the queue", dev_name(vr->dev),
			 vr->idx);
		vring_stop(vr->dev, vr);
		return;
	}
	vring_process(vr->dev, vr);
}

/* Start (or restart with a new kick fd) ring vr; takes kick_fd. */
static enum verdict vring_start(struct lbx_vu_dev *dev, struct vring *vr, int kick_fd)
{
	int err;

	vring_stop(dev, vr);
	err = vring_map(dev, vr);
	if (err) {
		lbx_warn("%s: queue %u: cannot start: size or addresses missing, or the rings "
			 "are not in guest memory",
			 dev_name(dev), vr->idx);
		close(kick_fd);
		return V_REFUSED;
	}
	lbx_virtq_set_last_avail(&vr->q, vr->base);
	err = lbx_loop_add(dev->loop, kick_fd, EPOLLIN, on_kick, vr);
	if (err) {
		lbx_err("%s: queue %u: cannot watch kick fd: %s", dev_name(dev), vr->idx,
			strerror(-err));
		close(kick_fd);
		return V_REFUSED;
	}
	vr->kick_fd = kick_fd;
	vr->started = true;
	vr->err_reported = false;
	/* The driver may have queued buffers before we were listening. */
	vring_process(dev, vr);
	return V_OK;
}

static void vring_reset(struct lbx_vu_dev *dev, struct vring *vr)
{
	vring_stop(dev, vr);
	close_fd(&vr->call_fd);
	close_fd(&vr->err_fd);
	vr->num = 0;
	vr->addr_set = false;
	vr->base = 0;
	vr->enabled = false;
}

/* ---- requests: features and ownership ---- */

static enum verdict h_get_features(struct lbx_vu_dev *dev, struct lbx_vu_msg *msg,
				   struct lbx_vu_msg *reply)
{
	if (!empty(msg))
		return malformed(dev, msg);
	return lbx_vu_encode_u64(reply, msg->request, LBX_VU_FLAG_REPLY, offered_features(dev))
		   ? V_CLOSE
		   : V_REPLY;
}

static enum verdict h_set_features(struct lbx_vu_dev *dev, struct lbx_vu_msg *msg,
				   struct lbx_vu_msg *reply)
{
	uint64_t v, extra;

	if (lbx_vu_decode_u64(msg, &v))
		return malformed(dev, msg);
	extra = v & ~offered_features(dev);
	if (extra) {
		lbx_warn("%s: front-end acked features %#" PRIx64 " that were not offered%s",
			 dev_name(dev), extra,
			 (extra & bit(LBX_VU_F_LOG_ALL)) ? " (dirty logging is not supported)"
							 : "");
		return V_REFUSED;
	}
	if (dev->ops->set_features && dev->ops->set_features(dev, v) < 0)
		return V_REFUSED;
	dev->features = v;
	lbx_debug("%s: features %#" PRIx64 " negotiated", dev_name(dev), v);
	return V_OK;
}

static enum verdict h_get_protocol_features(struct lbx_vu_dev *dev, struct lbx_vu_msg *msg,
					    struct lbx_vu_msg *reply)
{
	if (!empty(msg))
		return malformed(dev, msg);
	return lbx_vu_encode_u64(reply, msg->request, LBX_VU_FLAG_REPLY,
				 offered_protocol_features(dev))
		   ? V_CLOSE
		   : V_REPLY;
}

static enum verdict h_set_protocol_features(struct lbx_vu_dev *dev, struct lbx_vu_msg *msg,
					    struct lbx_vu_msg *reply)
{
	uint64_t v;

	if (lbx_vu_decode_u64(msg, &v))
		return malformed(dev, msg);
	if (v & ~offered_protocol_features(dev)) {
		lbx_warn("%s: front-end acked protocol features %#" PRIx64 " that were not offered",
			 dev_name(dev), v & ~offered_protocol_features(dev));
		return V_REFUSED;
	}
	dev->protocol_features = v;
	return V_OK;
}

static enum verdict h_set_owner(struct lbx_vu_dev *dev, struct lbx_vu_msg *msg,
				struct lbx_vu_msg *reply)
{
	return empty(msg) ? V_OK : malformed(dev, msg);
}

/* Deprecated; the spec recommends treating it as "disable all rings". */
static enum verdict h_reset_owner(struct lbx_vu_dev *dev, struct lbx_vu_msg *msg,
				  struct lbx_vu_msg *reply)
{
	if (!empty(msg))
		return malformed(dev, msg);
	for (unsigned i = 0; i < dev->ops->num_queues; i++)
		vring_stop(dev, &dev->vrings[i]);
	return V_OK;
}

static enum verdict h_get_queue_num(struct lbx_vu_dev *dev, struct lbx_vu_msg *msg,
				    struct lbx_vu_msg *reply)
{
	if (!empty(msg))
		return malformed(dev, msg);
	return lbx_vu_encode_u64(reply, msg->request, LBX_VU_FLAG_REPLY, dev->ops->num_queues)
		   ? V_CLOSE
		   : V_REPLY;
}

/* ---- requests: memory ---- */

/*
 * A region beyond the end of its file would map fine and then SIGBUS on
 * first touch; refuse it up front for files whose size we can see.
 */
static int check_region_fd(int fd, const struct lbx_vu_mem_region *r)
{
	struct stat st;

	if (fstat(fd, &st) < 0)
		return -errno;
	if (S_ISREG(st.st_mode) && (r->mmap_offset > (uint64_t)st.st_size ||
				    r->size > (uint64_t)st.st_size - r->mmap_offset))
		return -ERANGE;
	return 0;
}

static int map_table(struct lbx_guest_mem *mem, const struct lbx_vu_mem_table *t, const int *fds,
		     uint32_t *bad)
{
	for (uint32_t i = 0; i < t->nregions; i++) {
		const struct lbx_vu_mem_region *r = &t->regions[i];
		int err = check_region_fd(fds[i], r);

		if (!err)
			err = lbx_guest_mem_map_fd(mem, r->gpa, r->size, r->uva, fds[i],
						   r->mmap_offset);
		if (err) {
			*bad = i;
			return err;
		}
	}
	return 0;
}

static enum verdict h_set_mem_table(struct lbx_vu_dev *dev, struct lbx_vu_msg *msg,
				    struct lbx_vu_msg *reply)
{
	struct lbx_vu_mem_table t;
	struct lbx_guest_mem mem;
	uint32_t bad = 0;
	int err;

	if (lbx_vu_decode_mem_table(msg, &t))
		return malformed(dev, msg);
	lbx_guest_mem_init(&mem);
	err = map_table(&mem, &t, msg->fds, &bad);
	if (err) {
		lbx_warn("%s: SET_MEM_TABLE region %" PRIu32 " (gpa %#" PRIx64 " size %#" PRIx64
			 " offset %#" PRIx64 ") refused: %s",
			 dev_name(dev), bad, t.regions[bad].gpa, t.regions[bad].size,
			 t.regions[bad].mmap_offset,
			 err == -EINVAL	  ? "empty, wrapping or overlapping"
			 : err == -ERANGE ? "beyond the end of its file"
					  : strerror(-err));
		lbx_guest_mem_release(&mem);
		return V_REFUSED;
	}
	/* The mappings hold the memory; msg's fds are closed by the dispatcher. */
	lbx_guest_mem_release(&dev->mem);
	dev->mem = mem;
	for (unsigned i = 0; i < dev->ops->num_queues; i++) {
		struct vring *vr = &dev->vrings[i];
		uint16_t last;

		if (!vr->started)
			continue;
		last = vr->q.last_avail;
		if (vring_map(dev, vr)) {
			lbx_warn(
			    "%s: queue %u: rings are outside the new memory table; stopping it",
			    dev_name(dev), i);
			vr->q.last_avail = last;
			vring_stop(dev, vr);
			continue;
		}
		lbx_virtq_set_last_avail(&vr->q, last);
	}
	return V_OK;
}

/* ---- requests: rings ---- */

static enum verdict h_set_vring_num(struct lbx_vu_dev *dev, struct lbx_vu_msg *msg,
				    struct lbx_vu_msg *reply)
{
	struct lbx_vu_vring_state s;
	struct vring *vr;

	if (lbx_vu_decode_vring_state(msg, &s) || msg->nfds)
		return malformed(dev, msg);
	vr = vring_arg(dev, s.index, msg->request);
	if (!vr)
		return V_REFUSED;
	if (vr->started || !s.num || (s.num & (s.num - 1)) || s.num > LBX_VIRTQ_MAX_SIZE) {
		lbx_warn("%s: queue %u: size %" PRIu32 " refused (%s)", dev_name(dev), vr->idx,
			 s.num, vr->started ? "queue running" : "not a power of 2 up to 32768");
		return V_REFUSED;
	}
	vr->num = s.num;
	return V_OK;
}

static enum verdict h_set_vring_addr(struct lbx_vu_dev *dev, struct lbx_vu_msg *msg,
				     struct lbx_vu_msg *reply)
{
	struct lbx_vu_vring_addr a;
	struct vring *vr;
	uint16_t last;

	if (lbx_vu_decode_vring_addr(msg, &a) || msg->nfds)
		return malformed(dev, msg);
	vr = vring_arg(dev, a.index, msg->request);
	if (!vr)
		return V_REFUSED;
	if (a.flags & LBX_VU_VRING_F_LOG) {
		lbx_warn("%s: queue %u: dirty logging of the used ring is not supported",
			 dev_name(dev), vr->idx);
		return V_REFUSED;
	}
	last = vr->q.last_avail;
	vr->addr = a;
	vr->addr_set = true;
	/* Not checkable yet: SET_VRING_KICK checks before starting the ring. */
	if (!vr->num || !dev->mem.nregions)
		return V_OK;
	if (vring_map(dev, vr)) {
		lbx_warn("%s: queue %u: ring addresses desc %#" PRIx64 " avail %#" PRIx64
			 " used %#" PRIx64 " are not in guest memory (or misaligned)",
			 dev_name(dev), vr->idx, a.desc_uva, a.avail_uva, a.used_uva);
		vr->addr_set = false;
		vr->q.last_avail = last; /* a running ring cannot go on: stop it */
		vring_stop(dev, vr);
		return V_REFUSED;
	}
	/* Moving a running ring (the front-end may): keep our position. */
	lbx_virtq_set_last_avail(&vr->q, vr->started ? last : vr->base);
	return V_OK;
}

static enum verdict h_set_vring_base(struct lbx_vu_dev *dev, struct lbx_vu_msg *msg,
				     struct lbx_vu_msg *reply)
{
	struct lbx_vu_vring_state s;
	struct vring *vr;

	if (lbx_vu_decode_vring_state(msg, &s) || msg->nfds)
		return malformed(dev, msg);
	vr = vring_arg(dev, s.index, msg->request);
	if (!vr)
		return V_REFUSED;
	if (vr->started || s.num > UINT16_MAX) {
		lbx_warn("%s: queue %u: base %" PRIu32 " refused (%s)", dev_name(dev), vr->idx,
			 s.num, vr->started ? "queue running" : "above 65535");
		return V_REFUSED;
	}
	vr->base = (uint16_t)s.num;
	return V_OK;
}

static enum verdict h_get_vring_base(struct lbx_vu_dev *dev, struct lbx_vu_msg *msg,
				     struct lbx_vu_msg *reply)
{
	struct lbx_vu_vring_state s;
	struct vring *vr;

	if (lbx_vu_decode_vring_state(msg, &s) || msg->nfds)
		return malformed(dev, msg);
	vr = vring_arg(dev, s.index, msg->request);
	if (!vr) {
		/* A reply is owed and there is nothing true to say. */
		lbx_warn("%s: closing the session", dev_name(dev));
		return V_CLOSE;
	}
	vring_stop(dev, vr);
	s.num = vr->base;
	return lbx_vu_encode_vring_state(reply, msg->request, LBX_VU_FLAG_REPLY, &s) ? V_CLOSE
										     : V_REPLY;
}

static enum verdict h_set_vring_fd(struct lbx_vu_dev *dev, struct lbx_vu_msg *msg,
				   struct lbx_vu_msg *reply)
{
	struct lbx_vu_vring_file f;
	struct vring *vr;
	int fd;

	if (lbx_vu_decode_vring_file(msg, &f))
		return malformed(dev, msg);
	vr = vring_arg(dev, f.index, msg->request);
	if (!vr)
		return V_REFUSED;
	fd = f.nofd ? -1 : adopt_fd(msg, 0);
	switch (msg->request) {
	case LBX_VU_SET_VRING_KICK:
		if (fd < 0) {
			lbx_warn("%s: queue %u: polling mode (kick without fd) is not supported",
				 dev_name(dev), vr->idx);
			return V_REFUSED;
		}
		return vring_start(dev, vr, fd);
	case LBX_VU_SET_VRING_CALL:
		close_fd(&vr->call_fd);
		vr->call_fd = fd;
		/* Deliver a notification that waited for a call fd. */
		if (vr->started)
			lbx_vu_dev_notify(dev, vr->idx);
		return V_OK;
	default:
		close_fd(&vr->err_fd);
		vr->err_fd = fd;
		if (vr->err_reported)
			eventfd_signal(fd);
		return V_OK;
	}
}

static enum verdict h_set_vring_enable(struct lbx_vu_dev *dev, struct lbx_vu_msg *msg,
				       struct lbx_vu_msg *reply)
{
	struct lbx_vu_vring_state s;
	struct vring *vr;

	if (lbx_vu_decode_vring_state(msg, &s) || msg->nfds)
		return malformed(dev, msg);
	vr = vring_arg(dev, s.index, msg->request);
	if (!vr)
		return V_REFUSED;
	if (s.num > 1) {
		lbx_warn("%s: queue %u: SET_VRING_ENABLE %" PRIu32 " is neither 0 nor 1",
			 dev_name(dev), vr->idx, s.num);
		return V_REFUSED;
	}
	vr->enabled = s.num;
	if (vr->enabled)
		vring_process(dev, vr);
	return V_OK;
}

/* ---- requests: config space ---- */

static bool config_range_ok(const struct lbx_vu_dev *dev, const struct lbx_vu_config *c)
{
	return c->offset <= dev->ops->config_size && c->size <= dev->ops->config_size - c->offset;
}

static enum verdict h_get_config(struct lbx_vu_dev *dev, struct lbx_vu_msg *msg,
				 struct lbx_vu_msg *reply)
{
	struct lbx_vu_config c;

	if (lbx_vu_decode_config(msg, &c) || msg->nfds)
		return malformed(dev, msg);
	if (!dev->ops->get_config || !config_range_ok(dev, &c) ||
	    dev->ops->get_config(dev, c.offset, c.data, c.size) < 0) {
		lbx_warn("%s: GET_CONFIG of %" PRIu32 " bytes at %" PRIu32 " refused (config space "
			 "is %" PRIu32 " bytes)",
			 dev_name(dev), c.size, c.offset, dev->ops->config_size);
		/* GET_CONFIG: "zero length of payload to indicate an error". */
		lbx_vu_encode_empty(reply, msg->request, LBX_VU_FLAG_REPLY);
		return V_REPLY;
	}
	return lbx_vu_encode_config(reply, msg->request, LBX_VU_FLAG_REPLY, &c) ? V_CLOSE : V_REPLY;
}

static enum verdict h_set_config(struct lbx_vu_dev *dev, struct lbx_vu_msg *msg,
				 struct lbx_vu_msg *reply)
{
	struct lbx_vu_config c;

	if (lbx_vu_decode_config(msg, &c) || msg->nfds)
		return malformed(dev, msg);
	if (!dev->ops->set_config || !config_range_ok(dev, &c) ||
	    dev->ops->set_config(dev, c.offset, c.data, c.size, c.flags) < 0) {
		lbx_warn("%s: SET_CONFIG of %" PRIu32 " bytes at %" PRIu32 " refused",
			 dev_name(dev), c.size, c.offset);
		return V_REFUSED;
	}
	return V_OK;
}

/* ---- requests we refuse ---- */

static enum verdict h_log(struct lbx_vu_dev *dev, struct lbx_vu_msg *msg, struct lbx_vu_msg *reply)
{
	lbx_warn("%s: %s refused: dirty logging (migration) is not supported", dev_name(dev),
		 lbx_vu_request_name(msg->request));
	return V_REFUSED;
}

static const handler_fn handlers[] = {
	[LBX_VU_GET_FEATURES] = h_get_features,
	[LBX_VU_SET_FEATURES] = h_set_features,
	[LBX_VU_SET_OWNER] = h_set_owner,
	[LBX_VU_RESET_OWNER] = h_reset_owner,
	[LBX_VU_SET_MEM_TABLE] = h_set_mem_table,
	[LBX_VU_SET_LOG_BASE] = h_log,
	[LBX_VU_SET_LOG_FD] = h_log,
	[LBX_VU_SET_VRING_NUM] = h_set_vring_num,
	[LBX_VU_SET_VRING_ADDR] = h_set_vring_addr,
	[LBX_VU_SET_VRING_BASE] = h_set_vring_base,
	[LBX_VU_GET_VRING_BASE] = h_get_vring_base,
	[LBX_VU_SET_VRING_KICK] = h_set_vring_fd,
	[LBX_VU_SET_VRING_CALL] = h_set_vring_fd,
	[LBX_VU_SET_VRING_ERR] = h_set_vring_fd,
	[LBX_VU_GET_PROTOCOL_FEATURES] = h_get_protocol_features,
	[LBX_VU_SET_PROTOCOL_FEATURES] = h_set_protocol_features,
	[LBX_VU_GET_QUEUE_NUM] = h_get_queue_num,
	[LBX_VU_SET_VRING_ENABLE] = h_set_vring_enable,
	[LBX_VU_GET_CONFIG] = h_get_config,
	[LBX_VU_SET_CONFIG] = h_set_config,
};

/*
 * Unknown requests: with REPLY_ACK the front-end learns of the refusal and
 * can go on; without, it may be waiting for a reply we cannot give.
 */
static enum verdict h_unknown(struct lbx_vu_dev *dev, struct lbx_vu_msg *msg,
			      struct lbx_vu_msg *reply)
{
	bool can_nack = (msg->flags & LBX_VU_FLAG_NEED_REPLY) &&
			(dev->protocol_features & bit(LBX_VU_PROTOCOL_F_REPLY_ACK));

	lbx_warn("%s: unsupported request %" PRIu32 " (%s)%s", dev_name(dev), msg->request,
		 lbx_vu_request_name(msg->request), can_nack ? "" : "; closing the session");
	return can_nack ? V_REFUSED : V_CLOSE;
}

/* ---- session ---- */

static void end_session(struct lbx_vu_dev *dev)
{
	if (dev->conn_fd < 0)
		return;
	for (unsigned i = 0; i < dev->ops->num_queues; i++)
		vring_reset(dev, &dev->vrings[i]);
	lbx_guest_mem_release(&dev->mem);
	dev->features = 0;
	dev->protocol_features = 0;
	lbx_loop_del(dev->loop, dev->conn_fd);
	close_fd(&dev->conn_fd);
	if (dev->listen_fd >= 0 &&
	    lbx_loop_add(dev->loop, dev->listen_fd, EPOLLIN, on_accept, dev) < 0)
		lbx_err("%s: cannot accept further front-ends", dev_name(dev));
	if (dev->ops->disconnected && !dev->freeing)
		dev->ops->disconnected(dev);
}

static enum verdict dispatch(struct lbx_vu_dev *dev, struct lbx_vu_msg *msg,
			     struct lbx_vu_msg *reply)
{
	handler_fn fn = NULL;

	if (msg->flags & LBX_VU_FLAG_REPLY) {
		lbx_warn("%s: front-end sent a reply (%s) as a request; closing the session",
			 dev_name(dev), lbx_vu_request_name(msg->request));
		return V_CLOSE;
	}
	if (msg->request < LBX_ARRAY_SIZE(handlers))
		fn = handlers[msg->request];
	if (!fn && dev->ops->device_request) {
		int rc = dev->ops->device_request(dev, msg->request, msg->payload, msg->size,
						  msg->fds, msg->nfds);

		if (rc != -ENOSYS)
			return rc == 0 ? V_OK : V_REFUSED;
	}
	return (fn ? fn : h_unknown)(dev, msg, reply);
}

/* REPLY_ACK: answer 0 or non-zero to a request sent with NEED_REPLY. */
static int send_ack(struct lbx_vu_dev *dev, const struct lbx_vu_msg *msg, bool ok)
{
	struct lbx_vu_msg ack;

	if (!(msg->flags & LBX_VU_FLAG_NEED_REPLY) ||
	    !(dev->protocol_features & bit(LBX_VU_PROTOCOL_F_REPLY_ACK)))
		return 0;
	if (lbx_vu_encode_u64(&ack, msg->request, LBX_VU_FLAG_REPLY, ok ? 0 : 1))
		return -EINVAL;
	return lbx_vu_send(dev->conn_fd, &ack);
}

static void on_message(struct lbx_loop *loop, int fd, uint32_t events, void *data)
{
	struct lbx_vu_dev *dev = data;
	struct lbx_vu_msg msg, reply;
	enum verdict v;
	int err = lbx_vu_recv(fd, &msg);

	if (err) {
		if (err == -ECONNRESET)
			lbx_info("%s: front-end disconnected", dev_name(dev));
		else
			lbx_warn("%s: cannot read a message from the front-end: %s; closing the "
				 "session",
				 dev_name(dev),
				 err == -E2BIG	    ? "too many fds"
				 : err == -EMSGSIZE ? "payload too large"
				 : err == -EPROTO   ? "bad version"
						    : strerror(-err));
		end_session(dev);
		return;
	}
	lbx_debug("%s: request %s (%" PRIu32 " bytes, %u fds)", dev_name(dev),
		  lbx_vu_request_name(msg.request), msg.size, msg.nfds);
	v = dispatch(dev, &msg, &reply);
	lbx_vu_msg_close_fds(&msg); /* whatever the handler did not adopt */
	if (v == V_REPLY)
		err = lbx_vu_send(fd, &reply);
	else if (v != V_CLOSE)
		err = send_ack(dev, &msg, v == V_OK);
	if (v == V_CLOSE || err) {
		if (err)
			lbx_warn("%s: cannot reply to the front-end: %s", dev_name(dev),
				 strerror(-err));
		end_session(dev);
	}
}

/* ---- public API ---- */

struct lbx_vu_dev *lbx_vu_dev_new(struct lbx_loop *loop, const struct lbx_vu_ops *ops, void *data)
{
	struct lbx_vu_dev *dev;

	if (!ops->queue_kicked || ops->num_queues == 0 || ops->num_queues > LBX_VU_MAX_QUEUES ||
	    ops->config_size > LBX_VU_MAX_CONFIG_SIZE)
		return NULL;
	dev = calloc(1, sizeof(*dev));
	if (!dev)
		return NULL;
	dev->loop = loop;
	dev->ops = ops;
	dev->data = data;
	dev->listen_fd = dev->conn_fd = -1;
	lbx_guest_mem_init(&dev->mem);
	for (unsigned i = 0; i < LBX_VU_MAX_QUEUES; i++) {
		struct vring *vr = &dev->vrings[i];

		vr->dev = dev;
		vr->idx = i;
		vr->kick_fd = vr->call_fd = vr->err_fd = -1;
		vr->q.broken = true;
	}
	return dev;
}

void lbx_vu_dev_free(struct lbx_vu_dev *dev)
{
	if (!dev)
		return;
	dev->freeing = true;
	if (dev->listen_fd >= 0) {
		lbx_loop_del(dev->loop, dev->listen_fd);
		close_fd(&dev->listen_fd);
	}
	end_session(dev);
	if (dev->path)
		unlink(dev->path);
	free(dev->path);
	free(dev);
}

void *lbx_vu_dev_data(const struct lbx_vu_dev *dev)
{
	return dev->data;
}

bool lbx_vu_dev_connected(const struct lbx_vu_dev *dev)
{
	return dev->conn_fd >= 0;
}

uint64_t lbx_vu_dev_features(const struct lbx_vu_dev *dev)
{
	return dev->features;
}

const struct lbx_guest_mem *lbx_vu_dev_mem(const struct lbx_vu_dev *dev)
{
	return &dev->mem;
}

int lbx_vu_dev_attach(struct lbx_vu_dev *dev, int fd)
{
	int flags, err;

	if (dev->conn_fd >= 0) {
		close(fd);
		return -EBUSY;
	}
	/* lbx_vu_recv reads whole messages with blocking reads. */
	flags = fcntl(fd, F_GETFL);
	if (flags < 0 || fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) < 0) {
		err = -errno;
		close(fd);
		return err;
	}
	err = lbx_loop_add(dev->loop, fd, EPOLLIN, on_message, dev);
	if (err) {
		close(fd);
		return err;
	}
	dev->conn_fd = fd;
	return 0;
}

static void on_accept(struct lbx_loop *loop, int fd, uint32_t events, void *data)
{
	struct lbx_vu_dev *dev = data;
	int c = accept4(fd, NULL, NULL, SOCK_CLOEXEC);
	int err;

	if (c < 0)
		return;
	/* One front-end at a time: stop accepting until this session ends. */
	lbx_loop_del(loop, fd);
	err = lbx_vu_dev_attach(dev, c);
	if (err) {
		lbx_err("%s: cannot serve the new front-end: %s", dev_name(dev), strerror(-err));
		if (lbx_loop_add(loop, fd, EPOLLIN, on_accept, dev) < 0)
			lbx_err("%s: cannot accept further front-ends", dev_name(dev));
		return;
	}
	lbx_info("%s: front-end connected", dev_name(dev));
}

int lbx_vu_dev_listen(struct lbx_vu_dev *dev, const char *path)
{
	int fd, err;

	if (dev->listen_fd >= 0)
		return -EBUSY;
	fd = lbx_unix_listen(path, 1, 0);
	if (fd < 0)
		return fd;
	dev->path = strdup(path);
	if (!dev->path) {
		err = -ENOMEM;
		goto fail;
	}
	err = lbx_loop_add(dev->loop, fd, EPOLLIN, on_accept, dev);
	if (err)
		goto fail;
	dev->listen_fd = fd;
	return 0;
fail:
	close(fd);
	unlink(path);
	free(dev->path);
	dev->path = NULL;
	return err;
}

struct lbx_virtq *lbx_vu_dev_queue(struct lbx_vu_dev *dev, unsigned qidx)
{
	struct vring *vr;

	if (qidx >= dev->ops->num_queues)
		return NULL;
	vr = &dev->vrings[qidx];
	if (!vr->started || !ring_enabled(dev, vr) || vr->q.broken)
		return NULL;
	return &vr->q;
}

void lbx_vu_dev_push(struct lbx_vu_dev *dev, unsigned qidx, uint16_t head, uint32_t len)
{
	if (qidx < dev->ops->num_queues && dev->vrings[qidx].started)
		lbx_virtq_push(&dev->vrings[qidx].q, head, len);
}

void lbx_vu_dev_notify(struct lbx_vu_dev *dev, unsigned qidx)
{
	struct vring *vr;

	if (qidx >= dev->ops->num_queues)
		return;
	vr = &dev->vrings[qidx];
	/* Without a call fd, leave the pending state for SET_VRING_CALL. */
	if (!vr->started || vr->call_fd < 0)
		return;
	if (lbx_virtq_should_notify(&vr->q))
		eventfd_signal(vr->call_fd);
}
