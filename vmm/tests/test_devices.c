/* SPDX-License-Identifier: MIT */
/*
 * Where the virtio-mmio devices of a machine sit: enough of them for a box
 * with every mount its lbx.json may list, each on an IOAPIC pin KVM routes
 * (5..23, never COM1's 4), distinct for the first 19; and the config
 * spaces lbx-vmm fills for vhost-user devices.
 */
#include <string.h>

#include "cli.h"
#include "devices.h"
#include "layout.h"
#include "tap.h"
#include "vhost_dev.h"
#include "vhost_user.h"

/* What the drivers read from the config spaces lbx-vmm fills itself. */
static void test_config(void)
{
	struct vmm_vhost_spec net = { .type = VMM_VHOST_NET }, fs = { .type = VMM_VHOST_FS };
	uint8_t c[LBX_VU_MAX_CONFIG_SIZE];

	strcpy(fs.tag, "root");
	is_int(vmm_vhost_dev_config(&net, c, sizeof(c)), 8, "net: mac[6] and le16 status");
	ok(c[0] == 0x52 && c[1] == 0x54 && c[2] == 0x00, "net: the MAC");
	is_int(c[6] | c[7] << 8, 1, "net: status VIRTIO_NET_S_LINK_UP (else eth0 is NO-CARRIER)");
	is_int(vmm_vhost_dev_config(&fs, c, sizeof(c)), 40, "fs: tag[36] and le32 queues");
	ok(!strcmp((char *)c, "root") && c[36] == 1, "fs: the tag, one request queue");
	is_int(vmm_vhost_dev_config(&fs, c, 8), 0, "a short buffer is refused");
}

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
	test_config();
	return tap_done();
}
