/* SPDX-License-Identifier: MIT */
/*
 * A virtio-mmio device whose queues a vhost-user backend serves (the
 * vhost-user frontend; QEMU docs/interop/vhost-user.rst). lbx-vmm keeps
 * the transport registers and hands the backend the guest RAM memfd, the
 * ring addresses, a kick eventfd per queue (the same fd KVM signals on
 * QueueNotify) and a call eventfd per queue, which the main loop watches
 * to set the interrupt status and raise the device's interrupt. A backend
 * that hangs up stops the machine with a message naming it.
 */
#ifndef VMM_VHOST_DEV_H
#define VMM_VHOST_DEV_H

#include "cli.h"
#include "evloop.h"
#include "machine.h"
#include "virtio_mmio.h"

struct vmm_vhost_dev;

/* Connect to the backend and learn its features. Logs one line on failure. */
int vmm_vhost_dev_connect(struct vmm_vhost_dev **out, const struct vmm_vhost_spec *spec,
			  struct vmm_machine *m);
/*
 * The config space lbx-vmm shows the driver for a device of spec's type
 * (blk's comes from the backend later): fills config (at least
 * LBX_VU_MAX_CONFIG_SIZE bytes) and returns its length, 0 if sz is short.
 */
unsigned vmm_vhost_dev_config(const struct vmm_vhost_spec *spec, uint8_t *config, size_t sz);
struct vmm_virtio_mmio *vmm_vhost_dev_transport(struct vmm_vhost_dev *v);
int vmm_vhost_dev_watch(struct vmm_vhost_dev *v, struct lbx_loop *loop);
void vmm_vhost_dev_free(struct vmm_vhost_dev *v);

#endif
