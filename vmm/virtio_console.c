/* SPDX-License-Identifier: MIT */
#include "virtio_console.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

enum { RXQ = 0, TXQ = 1 };

static void write_all(int fd, const void *buf, size_t len)
{
	const uint8_t *p = buf;

	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return; /* a console we cannot write to loses output, not the VM */
		p += n;
		len -= (size_t)n;
	}
}

static bool transmit(struct vmm_virtio_console *c)
{
	struct lbx_virtq *q = &c->t.q[TXQ].vq;
	bool pushed = false;
	int rc;

	while ((rc = lbx_virtq_pop(q, &c->chain)) == 1) {
		for (unsigned i = 0; i < c->chain.nrd && c->out_fd >= 0; i++)
			write_all(c->out_fd, c->chain.rd[i].iov_base, c->chain.rd[i].iov_len);
		lbx_virtq_push(q, c->chain.head, 0);
		pushed = true;
	}
	if (rc < 0)
		vmm_virtio_mmio_needs_reset(&c->t);
	return pushed && lbx_virtq_should_notify(q);
}

/* Move pending host input into posted receive buffers. */
static bool deliver(struct vmm_virtio_console *c)
{
	struct lbx_virtq *q = &c->t.q[RXQ].vq;
	bool pushed = false;
	int rc = 0;

	if (!c->t.q[RXQ].ready || !(c->t.status & VIRTIO_STATUS_DRIVER_OK))
		return false;
	while (c->npending && (rc = lbx_virtq_pop(q, &c->chain)) == 1) {
		size_t n = lbx_iov_from_buf(c->chain.wr, c->chain.nwr, 0, c->pending, c->npending);

		memmove(c->pending, c->pending + n, c->npending - n);
		c->npending -= n;
		lbx_virtq_push(q, c->chain.head, (uint32_t)n);
		pushed = true;
	}
	if (rc < 0)
		vmm_virtio_mmio_needs_reset(&c->t);
	return pushed && lbx_virtq_should_notify(q);
}

static void console_notify(struct vmm_virtio_mmio *t, unsigned qi)
{
	struct vmm_virtio_console *c = t->dev;
	bool irq = qi == TXQ ? transmit(c) : deliver(c);

	if (irq)
		vmm_virtio_mmio_signal(t, VIRTIO_MMIO_INT_VRING);
}

/* §5.3.4: cols, rows, max_nr_ports, emerg_wr; meaningful only with features we do not offer. */
static void console_config_read(struct vmm_virtio_mmio *t, uint32_t off, uint8_t *data,
				unsigned len)
{
	memset(data, 0, len);
}

static const struct vmm_virtio_ops console_ops = {
	.device_id = VIRTIO_ID_CONSOLE,
	.config_len = 12,
	.config_read = console_config_read,
	.queue_notify = console_notify,
};

void vmm_virtio_console_init(struct vmm_virtio_console *c, const struct lbx_guest_mem *mem,
			     int out_fd)
{
	vmm_virtio_mmio_init(&c->t, &console_ops, c, "virtio-console", mem, 2, 256,
			     1ULL << LBX_VIRTIO_F_INDIRECT_DESC);
	c->out_fd = out_fd;
	c->npending = 0;
}

size_t vmm_virtio_console_input(struct vmm_virtio_console *c, const uint8_t *buf, size_t len)
{
	size_t n;

	pthread_mutex_lock(&c->t.lock);
	n = LBX_MIN(len, VMM_VCON_PENDING - c->npending);
	memcpy(c->pending + c->npending, buf, n);
	c->npending += n;
	if (deliver(c))
		vmm_virtio_mmio_signal(&c->t, VIRTIO_MMIO_INT_VRING);
	pthread_mutex_unlock(&c->t.lock);
	return n;
}
