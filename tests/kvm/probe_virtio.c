/* SPDX-License-Identifier: MIT */
/*
 * A polling virtio-mmio driver (virtio 1.2 §4.2.3 and §3.1.1) for the
 * probes: finds the devices on the command line as Linux does
 * (virtio_mmio.device=4K@ADDR:IRQ), checks each register window, brings
 * the device up, and round-trips buffers through virtio-rng and
 * virtio-console. virtio-blk is probe_blk.c's.
 */
#include "probe_virtio.h"

#define R_MAGIC 0x000
#define R_VERSION 0x004
#define R_DEVICE_ID 0x008
#define R_DEV_FEATURES 0x010
#define R_DEV_FEATURES_SEL 0x014
#define R_DRV_FEATURES 0x020
#define R_DRV_FEATURES_SEL 0x024
#define R_QUEUE_SEL 0x030
#define R_QUEUE_NUM_MAX 0x034
#define R_QUEUE_NUM 0x038
#define R_QUEUE_READY 0x044
#define R_QUEUE_NOTIFY 0x050
#define R_ISR 0x060
#define R_ISR_ACK 0x064
#define R_STATUS 0x070
#define R_QUEUE_DESC 0x080
#define R_QUEUE_DRIVER 0x090
#define R_QUEUE_DEVICE 0x0a0

#define S_ACK 1
#define S_DRIVER 2
#define S_DRIVER_OK 4
#define S_FEATURES_OK 8

#define POLL_LIMIT 5000000

static uint64_t parse_hex(const char *s, const char **end)
{
	uint64_t v = 0;

	if (s[0] == '0' && s[1] == 'x')
		s += 2;
	for (;; s++) {
		unsigned d;

		if (*s >= '0' && *s <= '9')
			d = (unsigned)(*s - '0');
		else if (*s >= 'a' && *s <= 'f')
			d = (unsigned)(*s - 'a' + 10);
		else
			break;
		v = v * 16 + d;
	}
	*end = s;
	return v;
}

int pv_find_devices(const char *cmdline, uint64_t *addr, int max)
{
	static const char key[] = "virtio_mmio.device=4K@";
	int n = 0;

	for (const char *p = cmdline; *p && n < max; p++) {
		const char *end;

		if (memcmp(p, key, sizeof(key) - 1))
			continue;
		addr[n++] = parse_hex(p + sizeof(key) - 1, &end);
		p = end - 1;
	}
	return n;
}

int pv_init(uint64_t base)
{
	uint32_t hi;

	mmio_write32(base + R_STATUS, 0);
	mmio_write32(base + R_STATUS, S_ACK);
	mmio_write32(base + R_STATUS, S_ACK | S_DRIVER);
	mmio_write32(base + R_DEV_FEATURES_SEL, 1);
	hi = mmio_read32(base + R_DEV_FEATURES);
	put_kv_hex("  features_hi", hi);
	/* Accept VIRTIO_F_VERSION_1 (bit 32) only. */
	mmio_write32(base + R_DRV_FEATURES_SEL, 0);
	mmio_write32(base + R_DRV_FEATURES, 0);
	mmio_write32(base + R_DRV_FEATURES_SEL, 1);
	mmio_write32(base + R_DRV_FEATURES, 1);
	mmio_write32(base + R_STATUS, S_ACK | S_DRIVER | S_FEATURES_OK);
	if (!(mmio_read32(base + R_STATUS) & S_FEATURES_OK)) {
		put_str("  features refused\n");
		return -1;
	}
	return 0;
}

static void write64(uint64_t reg, uint64_t v)
{
	mmio_write32(reg, (uint32_t)v);
	mmio_write32(reg + 4, (uint32_t)(v >> 32));
}

int pv_queue(uint64_t base, unsigned index, struct pv_queue *q)
{
	uint32_t max;

	memset(q, 0, sizeof(*q));
	mmio_write32(base + R_QUEUE_SEL, index);
	max = mmio_read32(base + R_QUEUE_NUM_MAX);
	if (max < PV_QSIZE || mmio_read32(base + R_QUEUE_READY))
		return -1;
	mmio_write32(base + R_QUEUE_NUM, PV_QSIZE);
	write64(base + R_QUEUE_DESC, (uint64_t)q->desc);
	write64(base + R_QUEUE_DRIVER, (uint64_t)&q->avail);
	write64(base + R_QUEUE_DEVICE, (uint64_t)&q->used);
	mmio_write32(base + R_QUEUE_READY, 1);
	q->base = base;
	q->index = index;
	return mmio_read32(base + R_QUEUE_READY) == 1 ? 0 : -1;
}

void pv_driver_ok(uint64_t base)
{
	mmio_write32(base + R_STATUS, S_ACK | S_DRIVER | S_FEATURES_OK | S_DRIVER_OK);
}

/* Post a chain of n buffers (flags per buffer: 2 = device-writable). */
void pv_post(struct pv_queue *q, const struct pv_buf *bufs, unsigned n)
{
	uint16_t head = q->next_desc;

	for (unsigned i = 0; i < n; i++) {
		struct pv_desc *d = &q->desc[(head + i) % PV_QSIZE];

		d->addr = (uint64_t)bufs[i].addr;
		d->len = bufs[i].len;
		d->flags = (uint16_t)((bufs[i].writable ? 2 : 0) | (i + 1 < n ? 1 : 0));
		d->next = (uint16_t)((head + i + 1) % PV_QSIZE);
	}
	q->next_desc = (uint16_t)((head + n) % PV_QSIZE);
	q->avail.ring[q->avail.idx % PV_QSIZE] = head;
	barrier();
	q->avail.idx++;
	barrier();
	mmio_write32(q->base + R_QUEUE_NOTIFY, q->index);
}

/* Wait for the next used element; returns its length, or -1 on timeout. */
long pv_wait(struct pv_queue *q)
{
	for (long i = 0; i < POLL_LIMIT; i++) {
		barrier();
		if (*(volatile uint16_t *)&q->used.idx != q->last_used) {
			uint32_t len = q->used.ring[q->last_used % PV_QSIZE].len;

			q->last_used++;
			return len;
		}
	}
	return -1;
}

uint32_t pv_isr_ack(uint64_t base)
{
	uint32_t isr = mmio_read32(base + R_ISR);

	mmio_write32(base + R_ISR_ACK, isr);
	return isr;
}

static void rng(uint64_t base)
{
	static struct pv_queue q __attribute__((aligned(4096)));
	static uint8_t buf[64];
	struct pv_buf b = { buf, sizeof(buf), 1 };
	unsigned nonzero = 0;
	long len;

	if (pv_init(base) || pv_queue(base, 0, &q)) {
		put_str("  rng setup failed\n");
		return;
	}
	pv_driver_ok(base);
	pv_post(&q, &b, 1);
	len = pv_wait(&q);
	for (unsigned i = 0; i < sizeof(buf); i++)
		nonzero += buf[i] != 0;
	put_kv_dec("  rng_bytes", len < 0 ? 0 : (uint64_t)len);
	put_kv_dec("  rng_distinct_nonzero", nonzero > 8);
	put_kv_dec("  rng_isr", pv_isr_ack(base));
}

static void console(uint64_t base)
{
	static struct pv_queue rx __attribute__((aligned(4096))), tx __attribute__((aligned(4096)));
	static char msg[] = "probe-to-host over virtio-console\n";
	static char in[64];
	struct pv_buf out = { msg, sizeof(msg) - 1, 0 }, inb_ = { in, sizeof(in) - 1, 1 };
	long len;

	if (pv_init(base) || pv_queue(base, 0, &rx) || pv_queue(base, 1, &tx)) {
		put_str("  console setup failed\n");
		return;
	}
	pv_driver_ok(base);
	pv_post(&tx, &out, 1);
	put_kv_dec("  console_tx", pv_wait(&tx) >= 0);
	pv_post(&rx, &inb_, 1);
	len = pv_wait(&rx);
	if (len > 0 && len < (long)sizeof(in)) {
		in[len] = 0;
		if (in[len - 1] == '\n')
			in[len - 1] = 0;
		put_str("  console_rx ");
		put_str(in);
		put_str("\n");
	} else {
		put_str("  console_rx none\n");
	}
}

void probe_virtio(const struct probe_boot *b)
{
	uint64_t addr[16];
	int n = pv_find_devices(b->cmdline, addr, 16);

	put_kv_dec("virtio_devices", (uint64_t)n);
	for (int i = 0; i < n; i++) {
		uint64_t base = addr[i];
		uint32_t id = mmio_read32(base + R_DEVICE_ID);

		put_kv_hex("device", base);
		put_kv_hex("  magic", mmio_read32(base + R_MAGIC));
		put_kv_dec("  version", mmio_read32(base + R_VERSION));
		put_kv_dec("  id", id);
		mmio_write32(base + R_QUEUE_SEL, 7);
		put_kv_dec("  queue7_max", mmio_read32(base + R_QUEUE_NUM_MAX));
		if (id == 4)
			rng(base);
		else if (id == 3)
			console(base);
		mmio_write32(base + R_STATUS, 0);
	}
	put_str("probe: virtio done\n");
}
