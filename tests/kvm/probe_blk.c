/* SPDX-License-Identifier: MIT */
/*
 * virtio-blk through lbx-vmm's vhost-user frontend (virtio 1.2 §5.2): read
 * a sector the test wrote into the disk image and write another the test
 * reads back. The device is served by a backend we did not write
 * (qemu-storage-daemon), so this checks our frontend against a real peer.
 */
#include "probe_virtio.h"

#define BLK_T_IN 0
#define BLK_T_OUT 1

struct blk_req {
	uint32_t type, reserved;
	uint64_t sector;
};

static struct pv_queue q __attribute__((aligned(4096)));

static long request(uint32_t type, uint64_t sector, uint8_t *data, uint8_t *status)
{
	static struct blk_req hdr;
	struct pv_buf bufs[3] = {
		{ &hdr, sizeof(hdr), 0 },
		{ data, 512, type == BLK_T_IN },
		{ status, 1, 1 },
	};

	hdr.type = type;
	hdr.sector = sector;
	*status = 0xff;
	pv_post(&q, bufs, 3);
	return pv_wait(&q);
}

void probe_blk(const struct probe_boot *b)
{
	static uint8_t sector[512];
	uint64_t addr[16], base = 0;
	int n = pv_find_devices(b->cmdline, addr, 16);
	uint8_t status;
	long len;

	for (int i = 0; i < n; i++)
		if (mmio_read32(addr[i] + 0x008) == 2)
			base = addr[i];
	if (!base) {
		put_str("blk none\n");
		return;
	}
	put_kv_hex("blk_device", base);
	/* Capacity in 512-byte sectors: config offset 0, a le64 read as two halves. */
	put_kv_dec("blk_capacity",
		   mmio_read32(base + 0x100) | (uint64_t)mmio_read32(base + 0x104) << 32);
	if (pv_init(base) || pv_queue(base, 0, &q)) {
		put_str("blk setup failed\n");
		return;
	}
	pv_driver_ok(base);
	len = request(BLK_T_IN, 3, sector, &status);
	put_kv_dec("blk_read_status", status);
	put_kv_dec("blk_read_len", len < 0 ? 0 : (uint64_t)len);
	sector[40] = 0;
	put_str("blk_sector3 ");
	put_str((const char *)sector);
	put_str("\n");
	memset(sector, 0, sizeof(sector));
	memcpy(sector, "written by the probe guest", 26);
	request(BLK_T_OUT, 5, sector, &status);
	put_kv_dec("blk_write_status", status);
	put_str("probe: blk done\n");
}
