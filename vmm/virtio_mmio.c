/* SPDX-License-Identifier: MIT */
#include "virtio_mmio.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "log.h"

void vmm_virtio_mmio_init(struct vmm_virtio_mmio *t, const struct vmm_virtio_ops *ops,
			  void *dev, const char *name, const struct lbx_guest_mem *mem,
			  unsigned nqueues, uint16_t queue_max, uint64_t features)
{
	memset(t, 0, sizeof(*t));
	pthread_mutex_init(&t->lock, NULL);
	t->ops = ops;
	t->dev = dev;
	t->name = name;
	t->mem = mem;
	t->nqueues = nqueues < VMM_VIRTIO_MAX_QUEUES ? nqueues : VMM_VIRTIO_MAX_QUEUES;
	t->device_features = features | 1ULL << LBX_VIRTIO_F_VERSION_1;
	for (unsigned i = 0; i < VMM_VIRTIO_MAX_QUEUES; i++) {
		t->q[i].num_max = i < t->nqueues ? queue_max : 0;
		t->q[i].kick_fd = -1;
	}
}

void vmm_virtio_mmio_signal(struct vmm_virtio_mmio *t, uint32_t bits)
{
	t->isr |= bits;
	if (t->raise_irq)
		t->raise_irq(t->irq_ctx, t);
}

void vmm_virtio_mmio_config_changed(struct vmm_virtio_mmio *t)
{
	t->config_generation++;
	if (t->status & VIRTIO_STATUS_DRIVER_OK)
		vmm_virtio_mmio_signal(t, VIRTIO_MMIO_INT_CONFIG);
}

/* §2.1.2: the device sets DEVICE_NEEDS_RESET and, if running, tells the driver. */
void vmm_virtio_mmio_needs_reset(struct vmm_virtio_mmio *t)
{
	if (t->status & VIRTIO_STATUS_NEEDS_RESET)
		return;
	lbx_warn("%s: the driver broke the device; it needs a reset", t->name);
	t->status |= VIRTIO_STATUS_NEEDS_RESET;
	if (t->status & VIRTIO_STATUS_DRIVER_OK)
		vmm_virtio_mmio_signal(t, VIRTIO_MMIO_INT_CONFIG);
}

static void reset(struct vmm_virtio_mmio *t)
{
	if (t->ops->reset)
		t->ops->reset(t);
	t->status = 0;
	t->driver_features = 0;
	t->dev_features_sel = t->drv_features_sel = t->queue_sel = t->shm_sel = 0;
	t->isr = 0;
	for (unsigned i = 0; i < t->nqueues; i++) {
		struct vmm_virtio_queue *q = &t->q[i];

		q->num = 0;
		q->ready = false;
		q->desc = q->driver = q->device = 0;
		memset(&q->vq, 0, sizeof(q->vq));
	}
}

/* The queue QueueSel names, if it exists and may still be configured. */
static struct vmm_virtio_queue *setup_queue(struct vmm_virtio_mmio *t)
{
	if (t->queue_sel >= t->nqueues || t->q[t->queue_sel].ready)
		return NULL;
	return &t->q[t->queue_sel];
}

static uint32_t read_queue_reg(struct vmm_virtio_mmio *t, uint64_t off)
{
	const struct vmm_virtio_queue *q;

	if (t->queue_sel >= t->nqueues)
		return 0; /* §4.2.2: QueueNumMax 0 means "no such queue" */
	q = &t->q[t->queue_sel];
	switch (off) {
	case VIRTIO_MMIO_QUEUE_NUM_MAX: return q->num_max;
	case VIRTIO_MMIO_QUEUE_NUM: return q->num;
	case VIRTIO_MMIO_QUEUE_READY: return q->ready;
	case VIRTIO_MMIO_QUEUE_DESC_LOW: return (uint32_t)q->desc;
	case VIRTIO_MMIO_QUEUE_DESC_HIGH: return (uint32_t)(q->desc >> 32);
	case VIRTIO_MMIO_QUEUE_DRIVER_LOW: return (uint32_t)q->driver;
	case VIRTIO_MMIO_QUEUE_DRIVER_HIGH: return (uint32_t)(q->driver >> 32);
	case VIRTIO_MMIO_QUEUE_DEVICE_LOW: return (uint32_t)q->device;
	case VIRTIO_MMIO_QUEUE_DEVICE_HIGH: return (uint32_t)(q->device >> 32);
	default: return 0;
	}
}

static uint32_t read_reg(struct vmm_virtio_mmio *t, uint64_t off)
{
	switch (off) {
	case VIRTIO_MMIO_MAGIC_VALUE: return VIRTIO_MMIO_MAGIC;
	case VIRTIO_MMIO_VERSION: return 2;
	case VIRTIO_MMIO_DEVICE_ID: return t->ops->device_id;
	case VIRTIO_MMIO_VENDOR_ID: return VIRTIO_MMIO_VENDOR;
	case VIRTIO_MMIO_DEVICE_FEATURES:
		return t->dev_features_sel < 2
			       ? (uint32_t)(t->device_features >> (32 * t->dev_features_sel))
			       : 0;
	case VIRTIO_MMIO_INTERRUPT_STATUS: return t->isr;
	case VIRTIO_MMIO_STATUS: return t->status;
	case VIRTIO_MMIO_CONFIG_GENERATION: return t->config_generation;
	/* §4.2.2: a shared memory region that does not exist has length -1. */
	case VIRTIO_MMIO_SHM_LEN_LOW:
	case VIRTIO_MMIO_SHM_LEN_HIGH:
	case VIRTIO_MMIO_SHM_BASE_LOW:
	case VIRTIO_MMIO_SHM_BASE_HIGH: return 0xffffffff;
	case VIRTIO_MMIO_QUEUE_RESET: return 0;
	default: return read_queue_reg(t, off);
	}
}

/* §3.1.1 step 5-6: accept FEATURES_OK only for a subset with VERSION_1. */
static bool features_acceptable(const struct vmm_virtio_mmio *t)
{
	return !(t->driver_features & ~t->device_features) &&
	       (t->driver_features & 1ULL << LBX_VIRTIO_F_VERSION_1);
}

static void write_status(struct vmm_virtio_mmio *t, uint32_t v)
{
	uint32_t old = t->status & ~(uint32_t)VIRTIO_STATUS_NEEDS_RESET;
	uint32_t added = v & ~old;

	if (v == 0) {
		reset(t);
		return;
	}
	/* The driver only ever adds bits (§2.1); anything else is ignored. */
	if ((v & old) != old || (v & VIRTIO_STATUS_NEEDS_RESET))
		return;
	if ((added & VIRTIO_STATUS_FEATURES_OK) && !features_acceptable(t))
		v &= ~(uint32_t)VIRTIO_STATUS_FEATURES_OK;
	if ((added & VIRTIO_STATUS_DRIVER_OK) && !(v & VIRTIO_STATUS_FEATURES_OK))
		v &= ~(uint32_t)VIRTIO_STATUS_DRIVER_OK;
	t->status = v | (t->status & VIRTIO_STATUS_NEEDS_RESET);
	if ((v & added & VIRTIO_STATUS_DRIVER_OK) && t->ops->activate && t->ops->activate(t))
		vmm_virtio_mmio_needs_reset(t);
}

static bool is_pow2(uint32_t v)
{
	return v && !(v & (v - 1));
}

static void set_ready(struct vmm_virtio_mmio *t, uint32_t v)
{
	struct vmm_virtio_queue *q;

	if (t->queue_sel >= t->nqueues)
		return;
	q = &t->q[t->queue_sel];
	if (!v) {
		q->ready = false;
		return;
	}
	if (q->ready)
		return;
	if (!is_pow2(q->num) || q->num > q->num_max ||
	    lbx_virtq_init(&q->vq, t->mem, q->num, q->desc, q->driver, q->device,
			   t->driver_features)) {
		vmm_virtio_mmio_needs_reset(t);
		return;
	}
	q->ready = true;
}

static void set_addr(uint64_t *a, uint32_t v, bool high)
{
	*a = high ? (*a & 0xffffffffULL) | (uint64_t)v << 32 : (*a & ~0xffffffffULL) | v;
}

static void write_queue_reg(struct vmm_virtio_mmio *t, uint64_t off, uint32_t v)
{
	struct vmm_virtio_queue *q = setup_queue(t);

	if (!q)
		return; /* no such queue, or already live: §4.2.2.3 forbids changes */
	switch (off) {
	case VIRTIO_MMIO_QUEUE_NUM: q->num = v <= 0xffff ? (uint16_t)v : 0; break;
	case VIRTIO_MMIO_QUEUE_DESC_LOW: set_addr(&q->desc, v, false); break;
	case VIRTIO_MMIO_QUEUE_DESC_HIGH: set_addr(&q->desc, v, true); break;
	case VIRTIO_MMIO_QUEUE_DRIVER_LOW: set_addr(&q->driver, v, false); break;
	case VIRTIO_MMIO_QUEUE_DRIVER_HIGH: set_addr(&q->driver, v, true); break;
	case VIRTIO_MMIO_QUEUE_DEVICE_LOW: set_addr(&q->device, v, false); break;
	case VIRTIO_MMIO_QUEUE_DEVICE_HIGH: set_addr(&q->device, v, true); break;
	default: break;
	}
}

/* QueueNotify without ioeventfd: do what KVM would have done. */
static void notify(struct vmm_virtio_mmio *t, uint32_t v)
{
	uint64_t one = 1;

	if (v >= t->nqueues || !t->q[v].ready || t->q[v].kick_fd < 0)
		return;
	if (write(t->q[v].kick_fd, &one, sizeof(one)) < 0)
		lbx_debug("%s: kick: %s", t->name, strerror(errno));
}

static void write_features(struct vmm_virtio_mmio *t, uint32_t v)
{
	unsigned shift = 32 * t->drv_features_sel;

	/* Only between DRIVER and FEATURES_OK (§3.1.1 step 4). */
	if (t->drv_features_sel > 1 || !(t->status & VIRTIO_STATUS_DRIVER) ||
	    (t->status & VIRTIO_STATUS_FEATURES_OK))
		return;
	t->driver_features = (t->driver_features & ~(0xffffffffULL << shift)) |
			     (uint64_t)v << shift;
}

static void write_reg(struct vmm_virtio_mmio *t, uint64_t off, uint32_t v)
{
	switch (off) {
	case VIRTIO_MMIO_DEVICE_FEATURES_SEL: t->dev_features_sel = v; break;
	case VIRTIO_MMIO_DRIVER_FEATURES_SEL: t->drv_features_sel = v; break;
	case VIRTIO_MMIO_DRIVER_FEATURES: write_features(t, v); break;
	case VIRTIO_MMIO_QUEUE_SEL: t->queue_sel = v; break;
	case VIRTIO_MMIO_QUEUE_READY: set_ready(t, v); break;
	case VIRTIO_MMIO_QUEUE_NOTIFY: notify(t, v); break;
	case VIRTIO_MMIO_INTERRUPT_ACK: t->isr &= ~v; break;
	case VIRTIO_MMIO_STATUS: write_status(t, v); break;
	case VIRTIO_MMIO_SHM_SEL: t->shm_sel = v; break;
	default: write_queue_reg(t, off, v); break;
	}
}

static void config_access(struct vmm_virtio_mmio *t, uint32_t off, uint8_t *data, unsigned len,
			  bool is_write)
{
	/* §4.2.2.2: config fields are read with accesses of their own width. */
	if (len > 8 || off > t->ops->config_len || len > t->ops->config_len - off) {
		if (!is_write)
			memset(data, 0, len);
		return;
	}
	if (is_write && t->ops->config_write)
		t->ops->config_write(t, off, data, len);
	else if (!is_write && t->ops->config_read)
		t->ops->config_read(t, off, data, len);
	else if (!is_write)
		memset(data, 0, len);
}

void vmm_virtio_mmio_io(void *dev, uint64_t offset, uint8_t *data, unsigned len, bool is_write)
{
	struct vmm_virtio_mmio *t = dev;
	uint32_t v;

	pthread_mutex_lock(&t->lock);
	if (offset >= VIRTIO_MMIO_CONFIG) {
		config_access(t, (uint32_t)(offset - VIRTIO_MMIO_CONFIG), data, len, is_write);
	} else if (len != 4 || (offset & 3)) {
		/* §4.2.2.1: registers take 32-bit aligned accesses only. */
		if (!is_write)
			memset(data, 0, len);
	} else if (is_write) {
		v = (uint32_t)data[0] | (uint32_t)data[1] << 8 | (uint32_t)data[2] << 16 |
		    (uint32_t)data[3] << 24;
		write_reg(t, offset, v);
	} else {
		v = read_reg(t, offset);
		data[0] = (uint8_t)v;
		data[1] = (uint8_t)(v >> 8);
		data[2] = (uint8_t)(v >> 16);
		data[3] = (uint8_t)(v >> 24);
	}
	pthread_mutex_unlock(&t->lock);
}

void vmm_virtio_mmio_kick(struct vmm_virtio_mmio *t, unsigned qi)
{
	uint64_t n;

	if (qi >= t->nqueues)
		return;
	if (t->q[qi].kick_fd >= 0 && read(t->q[qi].kick_fd, &n, sizeof(n)) < 0 && errno != EAGAIN)
		lbx_debug("%s: kick fd: %s", t->name, strerror(errno));
	pthread_mutex_lock(&t->lock);
	if (t->q[qi].ready && (t->status & VIRTIO_STATUS_DRIVER_OK) &&
	    !(t->status & VIRTIO_STATUS_NEEDS_RESET) && t->ops->queue_notify)
		t->ops->queue_notify(t, qi);
	pthread_mutex_unlock(&t->lock);
}
