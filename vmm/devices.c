/* SPDX-License-Identifier: MIT */
#include "devices.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "log.h"
#include "vhost_dev.h"
#include "virtio_console.h"
#include "virtio_rng.h"

#define CMDLINE_ENTRY_MAX 48 /* " virtio_mmio.device=4K@0xd000f000:20" */

_Static_assert(LBX_VIRTIO_MMIO_MAX >= VMM_MAX_VHOST + 2, "room for every vhost-user device");
_Static_assert(LBX_VIRTIO_MMIO_BASE + LBX_VIRTIO_MMIO_MAX * LBX_VIRTIO_MMIO_SIZE <=
		   LBX_VIRTIO_MMIO_END,
	       "the virtio-mmio windows end below the next device (x86: the IOAPIC)");

unsigned vmm_devices_irq(unsigned i)
{
	return LBX_VIRTIO_IRQ_BASE + i % (LBX_VIRTIO_IRQ_END - LBX_VIRTIO_IRQ_BASE);
}

static void raise_irq(void *ctx, struct vmm_virtio_mmio *t)
{
	struct vmm_devices *d = ctx;
	unsigned i = (unsigned)((t->base - LBX_VIRTIO_MMIO_BASE) / LBX_VIRTIO_MMIO_SIZE);
	uint64_t one = 1;

	if (d->irq_fd[i] >= 0) {
		if (write(d->irq_fd[i], &one, sizeof(one)) < 0)
			lbx_debug("%s: irqfd: %s", t->name, strerror(errno));
		return;
	}
	/* Fallback: an edge on the line, as irqfd would give. */
	vmm_machine_irq_line(d->m, t->irq, 1);
	vmm_machine_irq_line(d->m, t->irq, 0);
}

/* Eventfds for the device's interrupt and each queue's notifications. */
static int wire(struct vmm_devices *d, struct vmm_virtio_mmio *t, unsigned i)
{
	d->irq_fd[i] = -1;
	if (d->m->has_irqfd) {
		int fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);

		if (fd >= 0 && vmm_machine_irqfd(d->m, fd, t->irq) == 0)
			d->irq_fd[i] = fd;
		else if (fd >= 0)
			close(fd);
	}
	for (unsigned q = 0; q < t->nqueues; q++) {
		t->q[q].kick_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (t->q[q].kick_fd < 0)
			return -errno;
		/* Without ioeventfd the QueueNotify handler writes the same fd. */
		if (vmm_machine_ioeventfd(d->m, t->q[q].kick_fd,
					  t->base + VIRTIO_MMIO_QUEUE_NOTIFY, q) < 0)
			lbx_debug("%s: no ioeventfd for queue %u, using MMIO exits", t->name, q);
	}
	return 0;
}

static int add(struct vmm_devices *d, struct vmm_iobus *mmio, struct vmm_virtio_mmio *t,
	       void *owned)
{
	unsigned i = d->n;
	int rc;

	if (i == LBX_VIRTIO_MMIO_MAX) {
		free(owned);
		lbx_err("too many virtio devices (at most %d)", LBX_VIRTIO_MMIO_MAX);
		return -ENOSPC;
	}
	d->irq_fd[i] = -1;
	d->t[i] = t;
	d->owned[i] = owned;
	d->n++;
	t->base = LBX_VIRTIO_MMIO_BASE + i * LBX_VIRTIO_MMIO_SIZE;
	t->irq = vmm_devices_irq(i);
	t->raise_irq = raise_irq;
	t->irq_ctx = d;
	rc = vmm_iobus_add(mmio, t->base, LBX_VIRTIO_MMIO_SIZE, vmm_virtio_mmio_io, t);
	if (rc == 0)
		rc = wire(d, t, i);
	if (rc)
		lbx_err("%s: cannot wire the device: %s", t->name, strerror(-rc));
	return rc;
}

static int add_builtin(struct vmm_devices *d, const struct vmm_config *cfg,
		       struct vmm_iobus *mmio, int console_fd)
{
	if (cfg->rng) {
		struct vmm_virtio_rng *r = calloc(1, sizeof(*r));

		if (!r)
			return -ENOMEM;
		vmm_virtio_rng_init(r, &d->m->mem);
		if (add(d, mmio, &r->t, r))
			return -1;
	}
	if (cfg->virtio_console) {
		struct vmm_virtio_console *c = calloc(1, sizeof(*c));

		if (!c)
			return -ENOMEM;
		vmm_virtio_console_init(c, &d->m->mem, console_fd);
		d->console = c;
		if (add(d, mmio, &c->t, c))
			return -1;
	}
	return 0;
}

static int add_vhost(struct vmm_devices *d, const struct vmm_config *cfg, struct vmm_iobus *mmio)
{
	for (unsigned i = 0; i < cfg->nvhost; i++) {
		struct vmm_vhost_dev *v;

		int rc = vmm_vhost_dev_connect(&v, &cfg->vhost[i], d->m);

		if (v)
			d->vhost[d->nvhost++] = v;
		if (rc)
			return -1;
		if (add(d, mmio, vmm_vhost_dev_transport(v), NULL))
			return -1;
	}
	return 0;
}

int vmm_devices_create(struct vmm_devices *d, const struct vmm_config *cfg,
		       struct vmm_machine *m, struct vmm_iobus *mmio, int console_fd)
{
	memset(d, 0, sizeof(*d));
	d->m = m;
	if (add_builtin(d, cfg, mmio, console_fd))
		return -1;
	return add_vhost(d, cfg, mmio);
}

size_t vmm_devices_cmdline_len(const struct vmm_devices *d)
{
	return d->n * CMDLINE_ENTRY_MAX;
}

void vmm_devices_cmdline(const struct vmm_devices *d, char *buf, size_t len)
{
	size_t used = strlen(buf);

	for (unsigned i = 0; i < d->n && used < len; i++) {
		int n = snprintf(buf + used, len - used, " virtio_mmio.device=4K@0x%llx:%u",
				 (unsigned long long)d->t[i]->base, d->t[i]->irq);

		if (n > 0)
			used += (size_t)n;
	}
}

/* Kick fds carry the queue index in their watch: device i, queue q. */
struct kick_watch {
	struct vmm_virtio_mmio *t;
	unsigned q;
};

static void on_kick(struct lbx_loop *loop, int fd, uint32_t events, void *data)
{
	struct kick_watch *w = data;

	vmm_virtio_mmio_kick(w->t, w->q);
}

static int watch_builtin(struct vmm_virtio_mmio *t, struct lbx_loop *loop)
{
	static struct kick_watch watches[LBX_VIRTIO_MMIO_MAX * VMM_VIRTIO_MAX_QUEUES];
	static unsigned nwatches;

	for (unsigned q = 0; q < t->nqueues; q++) {
		struct kick_watch *w = &watches[nwatches++];

		*w = (struct kick_watch){ t, q };
		if (lbx_loop_add(loop, t->q[q].kick_fd, EPOLLIN, on_kick, w))
			return -1;
	}
	return 0;
}

int vmm_devices_watch(struct vmm_devices *d, struct lbx_loop *loop)
{
	for (unsigned i = 0; i < d->n; i++)
		if (d->owned[i] && watch_builtin(d->t[i], loop))
			return -1;
	for (unsigned i = 0; i < d->nvhost; i++)
		if (vmm_vhost_dev_watch(d->vhost[i], loop))
			return -1;
	return 0;
}

void vmm_devices_destroy(struct vmm_devices *d)
{
	for (unsigned i = 0; i < d->n; i++) {
		if (d->irq_fd[i] >= 0)
			close(d->irq_fd[i]);
		for (unsigned q = 0; q < d->t[i]->nqueues; q++)
			if (d->t[i]->q[q].kick_fd >= 0)
				close(d->t[i]->q[q].kick_fd);
	}
	for (unsigned i = 0; i < d->nvhost; i++)
		vmm_vhost_dev_free(d->vhost[i]);
	for (unsigned i = 0; i < d->n; i++)
		free(d->owned[i]);
	d->n = d->nvhost = 0;
}
