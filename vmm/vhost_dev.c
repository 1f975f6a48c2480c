/* SPDX-License-Identifier: MIT */
#include "vhost_dev.h"

#include <errno.h>
#include <linux/virtio_gpu.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "layout.h"
#include "log.h"
#include "vhost_frontend.h"
#include "vhost_gpu.h"

#define VHOST_QUEUE_MAX 256
#define BLK_CONFIG_LEN 60 /* struct virtio_blk_config up to write_zeroes (§5.2.4) */
#define VSOCK_GUEST_CID 3
#define VIRTIO_NET_F_MAC 5
#define VIRTIO_NET_S_LINK_UP 1 /* §5.1.4 status */
#define VIRTIO_FS_F_NOTIFICATION 0 /* §5.11.3 */
#define FS_CONFIG_LEN 40	    /* §5.11.4: tag[36], le32 num_request_queues */
/*
 * §5.11.4 notify_buf_size, after num_request_queues, valid with
 * VIRTIO_FS_F_NOTIFICATION: the least a notification buffer holds. lbx-fsd's
 * largest is FUSE_NOTIFY_DELETE with a 255-byte name (16 + 24 + 256 bytes);
 * our guest driver takes at least 512 anyway.
 */
#define FS_NOTIFY_BUF_SIZE 512

/* Per type: virtio device ID (§5), queues, device feature bits we pass on. */
static const struct {
	uint32_t id;
	unsigned queues;
	uint32_t device_features; /* bits 0-23 the guest may see */
} kinds[] = {
	[VMM_VHOST_FS] = { 26, 2, 0x1 },    /* hiprio + one request queue; NOTIFICATION adds one */
	[VMM_VHOST_VSOCK] = { 19, 3, 0x1 }, /* rx, tx, event; SEQPACKET */
	[VMM_VHOST_NET] = { 1, 2, 0x1ffff & ~(1U << 17) }, /* no control queue, no MQ */
	[VMM_VHOST_BLK] = { 2, 1, 0xffffff & ~(1U << 12) }, /* no MQ */
	[VMM_VHOST_GPU] = { 16, 2, 0x1 }, /* controlq, cursorq; VIRGL (vhost_gpu.c) */
};

#define TRANSPORT_FEATURES \
	(1ULL << LBX_VIRTIO_F_INDIRECT_DESC | 1ULL << LBX_VIRTIO_F_EVENT_IDX | \
	 1ULL << LBX_VIRTIO_F_VERSION_1)

struct call_watch {
	struct vmm_vhost_dev *v;
	unsigned q;
};

struct vmm_vhost_dev {
	struct vmm_virtio_mmio t;
	struct vmm_virtio_ops ops;
	struct vmm_vu vu;
	struct vmm_machine *m;
	enum vmm_vhost_type type;
	char name[160];
	uint8_t config[LBX_VU_MAX_CONFIG_SIZE];
	int call_fd[VMM_VIRTIO_MAX_QUEUES];
	int err_fd[VMM_VIRTIO_MAX_QUEUES]; /* SET_VRING_ERR: the driver broke the ring */
	bool started[VMM_VIRTIO_MAX_QUEUES];
	struct call_watch watch[VMM_VIRTIO_MAX_QUEUES];
	struct vmm_vhost_gpu gpu; /* VMM_VHOST_GPU: the display socket */
};

static void config_read(struct vmm_virtio_mmio *t, uint32_t off, uint8_t *data, unsigned len)
{
	struct vmm_vhost_dev *v = t->dev;

	memcpy(data, v->config + off, len); /* the transport bounded off + len */
}

static uint64_t guest_features(const struct vmm_vhost_dev *v);

/*
 * The queues the transport shows. virtio-fs with VIRTIO_FS_F_NOTIFICATION
 * offered has three (§5.11.2: hiprio 0, notifications 1, requests 2): a
 * driver that acks the feature sets up all three, one that does not uses
 * 0 and 1 as hiprio and requests and never touches 2. Either way the
 * transport's queue index is the backend's ring index, and the backend
 * learns which layout holds from SET_FEATURES before any ring starts.
 */
static unsigned num_queues(const struct vmm_vhost_dev *v)
{
	if (v->type == VMM_VHOST_FS && (guest_features(v) & 1ULL << VIRTIO_FS_F_NOTIFICATION))
		return kinds[v->type].queues + 1;
	return kinds[v->type].queues;
}

static void dead(struct vmm_vhost_dev *v, const char *what)
{
	vmm_machine_stop(v->m, 1, "%s %s; stopping the box", v->name, what);
}

static void stop_rings(struct vmm_vhost_dev *v)
{
	for (unsigned q = 0; q < v->t.nqueues; q++)
		if (v->started[q]) {
			v->started[q] = false;
			if (vmm_vu_stop_ring(&v->vu, q))
				dead(v, "failed to stop a ring");
		}
}

/* The memfd offsets of each RAM region (layout.h: low RAM at 0, the rest after it). */
static void ram_offsets(const struct vmm_machine *m, uint64_t *off)
{
	off[0] = 0;
	off[1] = vmm_ram_low_bytes(m->ram_bytes);
}

static int start_ring(struct vmm_vhost_dev *v, unsigned q)
{
	struct vmm_virtio_queue *vq = &v->t.q[q];
	struct vmm_vu_ring r = {
		.index = q,
		.num = vq->num,
		.desc = vq->vq.desc,
		.avail = vq->vq.avail,
		.used = vq->vq.used,
		.kick_fd = vq->kick_fd,
		.call_fd = v->call_fd[q],
		.err_fd = v->err_fd[q],
	};
	int rc = vmm_vu_start_ring(&v->vu, &r);

	v->started[q] = rc == 0;
	return rc;
}

/* DRIVER_OK: hand the backend what it needs to run the rings the driver set up. */
static int activate(struct vmm_virtio_mmio *t)
{
	struct vmm_vhost_dev *v = t->dev;
	uint64_t features = t->driver_features & v->vu.features;
	uint64_t off[2];
	int rc;

	features |= v->vu.features & 1ULL << LBX_VU_F_PROTOCOL_FEATURES;
	ram_offsets(v->m, off);
	rc = vmm_vu_set_features(&v->vu, features);
	if (rc == 0 && v->type == VMM_VHOST_GPU)
		rc = vmm_vhost_gpu_activate(&v->gpu, &v->vu);
	if (rc == 0)
		rc = vmm_vu_set_mem_table(&v->vu, &v->m->mem, v->m->ram_fd, off);
	for (unsigned q = 0; rc == 0 && q < t->nqueues; q++)
		if (t->q[q].ready)
			rc = start_ring(v, q);
	if (rc)
		dead(v, "refused the device setup");
	return rc;
}

static void reset(struct vmm_virtio_mmio *t)
{
	stop_rings(t->dev);
}

unsigned vmm_vhost_dev_config(const struct vmm_vhost_spec *spec, uint8_t *config, size_t sz)
{
	if (sz < LBX_VU_MAX_CONFIG_SIZE)
		return 0;
	memset(config, 0, sz);
	switch (spec->type) {
	case VMM_VHOST_FS: /* §5.11.4: tag[36], le32 num_request_queues */
		memcpy(config, spec->tag, strlen(spec->tag));
		config[36] = 1;
		return FS_CONFIG_LEN;
	case VMM_VHOST_VSOCK: /* §5.10.4: le64 guest_cid */
		config[0] = VSOCK_GUEST_CID;
		return 8;
	case VMM_VHOST_NET:
		/*
		 * §5.1.4: mac[6] (locally administered), le16 status. A backend
		 * offering VIRTIO_NET_F_STATUS has the driver read the link state
		 * here: without VIRTIO_NET_S_LINK_UP eth0 stays NO-CARRIER.
		 */
		memcpy(config, "\x52\x54\x00\x6c\x62\x78", 6);
		config[6] = VIRTIO_NET_S_LINK_UP;
		return 8;
	case VMM_VHOST_BLK:
		return BLK_CONFIG_LEN;
	case VMM_VHOST_GPU: /* §5.7.4, from the backend (num_capsets) */
		return sizeof(struct virtio_gpu_config);
	}
	return 0;
}

static void fill_config(struct vmm_vhost_dev *v, const struct vmm_vhost_spec *spec)
{
	v->ops.config_len = vmm_vhost_dev_config(spec, v->config, sizeof(v->config));
	if (v->type == VMM_VHOST_FS && num_queues(v) > kinds[v->type].queues) {
		v->config[FS_CONFIG_LEN] = FS_NOTIFY_BUF_SIZE & 0xff;
		v->config[FS_CONFIG_LEN + 1] = FS_NOTIFY_BUF_SIZE >> 8;
		v->ops.config_len = FS_CONFIG_LEN + 4;
	}
}

static uint64_t guest_features(const struct vmm_vhost_dev *v)
{
	uint64_t f = v->vu.features & (TRANSPORT_FEATURES | kinds[v->type].device_features);

	if (v->type == VMM_VHOST_NET)
		f |= 1ULL << VIRTIO_NET_F_MAC; /* we own the config space's MAC */
	return f;
}

static int create_ring_fds(struct vmm_vhost_dev *v)
{
	for (unsigned q = 0; q < num_queues(v); q++) {
		v->call_fd[q] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		v->err_fd[q] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (v->call_fd[q] < 0 || v->err_fd[q] < 0)
			return -errno;
	}
	return 0;
}

int vmm_vhost_dev_connect(struct vmm_vhost_dev **out, const struct vmm_vhost_spec *spec,
			  struct vmm_machine *m)
{
	struct vmm_vhost_dev *v = calloc(1, sizeof(*v));
	int rc;

	*out = v;
	if (!v)
		return -ENOMEM;
	v->m = m;
	v->type = spec->type;
	v->vu.sock = -1;
	snprintf(v->name, sizeof(v->name), "vhost-user %s backend %s",
		 vmm_vhost_type_name(spec->type), spec->socket);
	for (unsigned q = 0; q < VMM_VIRTIO_MAX_QUEUES; q++)
		v->call_fd[q] = v->err_fd[q] = -1;
	rc = vmm_vu_connect(&v->vu, spec->socket, v->name);
	if (rc == 0)
		rc = create_ring_fds(v); /* how many depends on the backend's features */
	if (rc)
		return rc;
	if (!(v->vu.features & 1ULL << LBX_VIRTIO_F_VERSION_1)) {
		lbx_err("%s: does not offer VIRTIO_F_VERSION_1", v->name);
		return -ENOTSUP;
	}
	v->ops = (struct vmm_virtio_ops){ .device_id = kinds[spec->type].id,
					  .config_read = config_read,
					  .activate = activate,
					  .reset = reset };
	fill_config(v, spec);
	if (spec->type == VMM_VHOST_BLK &&
	    (rc = vmm_vu_get_config(&v->vu, v->config, BLK_CONFIG_LEN)))
		return rc;
	v->gpu.ours = v->gpu.peer = -1;
	if (spec->type == VMM_VHOST_GPU &&
	    ((rc = vmm_vu_get_config(&v->vu, v->config, sizeof(struct virtio_gpu_config))) ||
	     (rc = vmm_vhost_gpu_init(&v->gpu))))
		return rc;
	vmm_virtio_mmio_init(&v->t, &v->ops, v, v->name, &m->mem, num_queues(v), VHOST_QUEUE_MAX,
			     guest_features(v));
	v->t.device_features = guest_features(v); /* init adds VERSION_1, which it has */
	return 0;
}

struct vmm_virtio_mmio *vmm_vhost_dev_transport(struct vmm_vhost_dev *v)
{
	return &v->t;
}

/*
 * A ring's call eventfd: the backend used buffers, so the transport's
 * interrupt status, then the line. Its error eventfd: the backend stopped
 * a ring the driver broke (a loop, an address outside RAM...), which the
 * driver learns from DEVICE_NEEDS_RESET and a configuration change
 * interrupt (virtio 1.2 §2.1.2), and may reset the device.
 */
static void on_ring_event(struct lbx_loop *loop, int fd, uint32_t events, void *data)
{
	struct call_watch *w = data;
	uint64_t n;

	if (read(fd, &n, sizeof(n)) < 0)
		return;
	pthread_mutex_lock(&w->v->t.lock);
	if (fd == w->v->err_fd[w->q])
		vmm_virtio_mmio_needs_reset(&w->v->t);
	else
		vmm_virtio_mmio_signal(&w->v->t, VIRTIO_MMIO_INT_VRING);
	pthread_mutex_unlock(&w->v->t.lock);
}

static void on_socket(struct lbx_loop *loop, int fd, uint32_t events, void *data)
{
	struct vmm_vhost_dev *v = data;

	if (events & (EPOLLHUP | EPOLLERR | EPOLLRDHUP)) {
		lbx_loop_del(loop, fd);
		dead(v, "hung up");
	}
}

int vmm_vhost_dev_watch(struct vmm_vhost_dev *v, struct lbx_loop *loop)
{
	for (unsigned q = 0; q < v->t.nqueues; q++) {
		v->watch[q] = (struct call_watch){ v, q };
		if (lbx_loop_add(loop, v->call_fd[q], EPOLLIN, on_ring_event, &v->watch[q]) ||
		    lbx_loop_add(loop, v->err_fd[q], EPOLLIN, on_ring_event, &v->watch[q]))
			return -1;
	}
	if (v->type == VMM_VHOST_GPU && vmm_vhost_gpu_watch(&v->gpu, loop))
		return -1;
	/* Only hang-ups: replies are read by the thread that sent the request. */
	return lbx_loop_add(loop, v->vu.sock, EPOLLRDHUP, on_socket, v);
}

void vmm_vhost_dev_free(struct vmm_vhost_dev *v)
{
	if (!v)
		return;
	vmm_vu_close(&v->vu);
	if (v->type == VMM_VHOST_GPU)
		vmm_vhost_gpu_free(&v->gpu);
	for (unsigned q = 0; q < VMM_VIRTIO_MAX_QUEUES; q++) {
		if (v->call_fd[q] >= 0)
			close(v->call_fd[q]);
		if (v->err_fd[q] >= 0)
			close(v->err_fd[q]);
	}
	free(v);
}
