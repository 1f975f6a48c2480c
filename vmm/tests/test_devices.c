/* SPDX-License-Identifier: MIT */
/*
 * Where the virtio-mmio devices of a machine sit: enough of them for a box
 * with every mount its lbx.json may list, each on an IOAPIC pin KVM routes
 * (5..23, never COM1's 4), distinct for the first 19.
 */
#include "cli.h"
#include "devices.h"
#include "layout.h"
#include "tap.h"

int main(void)
{
	unsigned bad = 0, distinct = 0;
	unsigned seen[LBX_IOAPIC_PINS] = { 0 };

	ok(LBX_VIRTIO_MMIO_MAX >= 2 + 4 + 16,
	   "room for rng, console, vsock, net, root, project and 16 mounts (%d)",
	   LBX_VIRTIO_MMIO_MAX);
	ok(VMM_MAX_VHOST >= 4 + 16, "--vhost-user takes a box's 20 (%d)", VMM_MAX_VHOST);
	for (unsigned i = 0; i < LBX_VIRTIO_MMIO_MAX; i++) {
		unsigned irq = vmm_devices_irq(i);

		if (irq < LBX_VIRTIO_IRQ_BASE || irq >= LBX_IOAPIC_PINS || irq == LBX_COM1_IRQ)
			bad++;
		else if (i < LBX_IOAPIC_PINS - LBX_VIRTIO_IRQ_BASE && seen[irq]++ == 0)
			distinct++;
	}
	is_int(bad, 0, "every device's pin is an IOAPIC pin from 5 up");
	is_int(distinct, LBX_IOAPIC_PINS - LBX_VIRTIO_IRQ_BASE, "the first 19 devices a pin each");
	is_int(vmm_devices_irq(0), 5, "device 0 on pin 5");
	return tap_done();
}
