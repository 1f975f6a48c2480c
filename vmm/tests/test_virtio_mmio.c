/* SPDX-License-Identifier: MIT */
/*
 * Device-model test without KVM: this program plays the guest driver
 * against the virtio-mmio transport (register reads and writes, as the
 * vCPU threads would deliver them) with the built-in virtio-rng and
 * virtio-console, over guest RAM in a memfd. It checks the register
 * layout, the status state machine, feature negotiation, queue setup,
 * notifications through the kick eventfd, interrupts, and that malformed
 * rings and descriptor chains are refused with DEVICE_NEEDS_RESET.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>

#include "tap.h"
#include "virtio_console.h"
#include "virtio_mmio.h"
#include "virtio_rng.h"
#include "writer.h"

#define RAM_SIZE (1 << 20)
#define QSZ 8
/* Guest-physical placement of one queue's rings and buffers. */
#define DESC(q) (0x10000 + (q) * 0x4000)
#define AVAIL(q) (DESC(q) + 0x1000)
#define USED(q) (DESC(q) + 0x2000)
#define BUF 0x40000

static uint8_t *ram;
static struct lbx_guest_mem mem;
static int irqs;

static void count_irq(void *ctx, struct vmm_virtio_mmio *t)
{
	irqs++;
}

static uint32_t rd(struct vmm_virtio_mmio *t, uint64_t off)
{
	uint8_t d[4];

	vmm_virtio_mmio_io(t, off, d, 4, false);
	return (uint32_t)d[0] | (uint32_t)d[1] << 8 | (uint32_t)d[2] << 16 | (uint32_t)d[3] << 24;
}

static void wr(struct vmm_virtio_mmio *t, uint64_t off, uint32_t v)
{
	uint8_t d[4] = { (uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24) };

	vmm_virtio_mmio_io(t, off, d, 4, true);
}

static uint16_t get16(uint64_t gpa)
{
	return (uint16_t)(ram[gpa] | ram[gpa + 1] << 8);
}

static uint32_t get32(uint64_t gpa)
{
	return (uint32_t)get16(gpa) | (uint32_t)get16(gpa + 2) << 16;
}

static void put_desc(unsigned q, unsigned i, uint64_t addr, uint32_t len, uint16_t flags,
		     uint16_t next)
{
	uint8_t *d = ram + DESC(q) + 16 * i;

	lbx_put_u64le(d, addr);
	lbx_put_u32le(d + 8, len);
	lbx_put_u16le(d + 12, flags);
	lbx_put_u16le(d + 14, next);
}

static void publish(unsigned q, uint16_t head)
{
	uint16_t idx = get16(AVAIL(q) + 2);

	lbx_put_u16le(ram + AVAIL(q) + 4 + 2 * (idx % QSZ), head);
	__atomic_thread_fence(__ATOMIC_RELEASE);
	lbx_put_u16le(ram + AVAIL(q) + 2, (uint16_t)(idx + 1));
}

static void setup_t(struct vmm_virtio_mmio *t)
{
	t->raise_irq = count_irq;
	for (unsigned q = 0; q < t->nqueues; q++)
		t->q[q].kick_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
}

/* The driver side of §3.1.1, accepting VERSION_1 plus extra. */
static uint32_t negotiate(struct vmm_virtio_mmio *t, uint32_t lo, uint32_t hi)
{
	wr(t, VIRTIO_MMIO_STATUS, 0);
	wr(t, VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE);
	wr(t, VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
	wr(t, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
	wr(t, VIRTIO_MMIO_DRIVER_FEATURES, lo);
	wr(t, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	wr(t, VIRTIO_MMIO_DRIVER_FEATURES, hi);
	wr(t, VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER |
					  VIRTIO_STATUS_FEATURES_OK);
	return rd(t, VIRTIO_MMIO_STATUS);
}

static uint32_t setup_queue(struct vmm_virtio_mmio *t, unsigned q, uint32_t num, uint64_t desc)
{
	memset(ram + DESC(q), 0, 0x3000);
	wr(t, VIRTIO_MMIO_QUEUE_SEL, q);
	wr(t, VIRTIO_MMIO_QUEUE_NUM, num);
	wr(t, VIRTIO_MMIO_QUEUE_DESC_LOW, (uint32_t)desc);
	wr(t, VIRTIO_MMIO_QUEUE_DESC_HIGH, (uint32_t)(desc >> 32));
	wr(t, VIRTIO_MMIO_QUEUE_DRIVER_LOW, AVAIL(q));
	wr(t, VIRTIO_MMIO_QUEUE_DRIVER_HIGH, 0);
	wr(t, VIRTIO_MMIO_QUEUE_DEVICE_LOW, USED(q));
	wr(t, VIRTIO_MMIO_QUEUE_DEVICE_HIGH, 0);
	wr(t, VIRTIO_MMIO_QUEUE_READY, 1);
	return rd(t, VIRTIO_MMIO_QUEUE_READY);
}

static void driver_ok(struct vmm_virtio_mmio *t)
{
	wr(t, VIRTIO_MMIO_STATUS, rd(t, VIRTIO_MMIO_STATUS) | VIRTIO_STATUS_DRIVER_OK);
}

/* QueueNotify, then what the main loop does when the kick fd fires. */
static int kick(struct vmm_virtio_mmio *t, unsigned q)
{
	uint64_t n = 0;
	int fired;

	wr(t, VIRTIO_MMIO_QUEUE_NOTIFY, q);
	fired = read(t->q[q].kick_fd, &n, sizeof(n)) == sizeof(n) && n == 1;
	/* put the count back so vmm_virtio_mmio_kick drains it as the loop would */
	if (fired && write(t->q[q].kick_fd, &n, sizeof(n)) != sizeof(n))
		fired = 0;
	vmm_virtio_mmio_kick(t, q);
	return fired;
}

static void test_registers(struct vmm_virtio_rng *r)
{
	struct vmm_virtio_mmio *t = &r->t;
	uint8_t b[2];

	is_int(rd(t, VIRTIO_MMIO_MAGIC_VALUE), 0x74726976, "MagicValue 'virt'");
	is_int(rd(t, VIRTIO_MMIO_VERSION), 2, "Version 2 (non-legacy)");
	is_int(rd(t, VIRTIO_MMIO_DEVICE_ID), 4, "DeviceID 4 (entropy)");
	wr(t, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 1);
	is_int(rd(t, VIRTIO_MMIO_DEVICE_FEATURES), 1, "features 32-63: VERSION_1");
	wr(t, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0);
	is_int(rd(t, VIRTIO_MMIO_DEVICE_FEATURES), 1U << 28, "features 0-31: INDIRECT_DESC");
	wr(t, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 7);
	is_int(rd(t, VIRTIO_MMIO_DEVICE_FEATURES), 0, "feature page 7 is empty");
	wr(t, VIRTIO_MMIO_QUEUE_SEL, 0);
	is_int(rd(t, VIRTIO_MMIO_QUEUE_NUM_MAX), 256, "QueueNumMax of queue 0");
	wr(t, VIRTIO_MMIO_QUEUE_SEL, 1);
	is_int(rd(t, VIRTIO_MMIO_QUEUE_NUM_MAX), 0, "QueueNumMax 0: queue 1 does not exist");
	is_int(rd(t, VIRTIO_MMIO_SHM_LEN_LOW), 0xffffffff, "no shared memory region: length -1");
	vmm_virtio_mmio_io(t, VIRTIO_MMIO_MAGIC_VALUE, b, 2, false);
	ok(b[0] == 0 && b[1] == 0, "16-bit register read refused (reads 0)");
	vmm_virtio_mmio_io(t, VIRTIO_MMIO_MAGIC_VALUE + 1, b, 1, false);
	is_int(b[0], 0, "unaligned register read refused");
	is_int(rd(t, 0x1000 - 4), 0, "config beyond config space reads 0");
}

static void test_status(struct vmm_virtio_rng *r)
{
	struct vmm_virtio_mmio *t = &r->t;
	uint32_t s;

	s = negotiate(t, 1U << 5, 1);
	ok(!(s & VIRTIO_STATUS_FEATURES_OK), "FEATURES_OK refused for a feature not offered");
	s = negotiate(t, 0, 0);
	ok(!(s & VIRTIO_STATUS_FEATURES_OK), "FEATURES_OK refused without VERSION_1");
	s = negotiate(t, 1U << 28, 1);
	ok(s & VIRTIO_STATUS_FEATURES_OK, "FEATURES_OK accepted for a subset with VERSION_1");
	wr(t, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
	wr(t, VIRTIO_MMIO_DRIVER_FEATURES, 0xffffffff);
	is_int(t->driver_features, 1ULL << 32 | 1U << 28, "features frozen after FEATURES_OK");
	wr(t, VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE);
	ok(rd(t, VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_FEATURES_OK, "clearing status bits is ignored");
	wr(t, VIRTIO_MMIO_STATUS, 0);
	wr(t, VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER |
					  VIRTIO_STATUS_DRIVER_OK);
	ok(!(rd(t, VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_DRIVER_OK), "DRIVER_OK needs FEATURES_OK");
	wr(t, VIRTIO_MMIO_STATUS, 0);
	is_int(rd(t, VIRTIO_MMIO_STATUS), 0, "writing 0 resets");
}

static void test_queue_setup(struct vmm_virtio_rng *r)
{
	struct vmm_virtio_mmio *t = &r->t;

	negotiate(t, 0, 1);
	ok(!setup_queue(t, 0, 6, DESC(0)) && (rd(t, VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_NEEDS_RESET),
	   "queue size 6 (not a power of 2): not ready, DEVICE_NEEDS_RESET");
	negotiate(t, 0, 1);
	ok(!setup_queue(t, 0, 512, DESC(0)), "queue size above QueueNumMax refused");
	negotiate(t, 0, 1);
	ok(!setup_queue(t, 0, QSZ, RAM_SIZE - 16), "descriptor table past the end of RAM refused");
	negotiate(t, 0, 1);
	ok(!setup_queue(t, 0, QSZ, DESC(0) + 8), "misaligned descriptor table refused");
	negotiate(t, 0, 1);
	ok(!setup_queue(t, 0, QSZ, 1ULL << 40), "descriptor table at 1 TiB refused");
	negotiate(t, 0, 1);
	ok(setup_queue(t, 0, QSZ, DESC(0)) == 1, "good queue becomes ready");
	wr(t, VIRTIO_MMIO_QUEUE_NUM, 4);
	is_int(rd(t, VIRTIO_MMIO_QUEUE_NUM), QSZ, "QueueNum frozen while ready");
	wr(t, VIRTIO_MMIO_STATUS, 0);
	wr(t, VIRTIO_MMIO_QUEUE_SEL, 0);
	ok(!rd(t, VIRTIO_MMIO_QUEUE_READY) && !rd(t, VIRTIO_MMIO_QUEUE_NUM), "reset clears the queue");
}

static void test_rng(struct vmm_virtio_rng *r)
{
	struct vmm_virtio_mmio *t = &r->t;
	unsigned nonzero = 0;

	negotiate(t, 0, 1);
	setup_queue(t, 0, QSZ, DESC(0));
	driver_ok(t);
	memset(ram + BUF, 0, 256);
	put_desc(0, 0, BUF, 100, 2, 0);
	put_desc(0, 1, BUF + 100, 156, 2, 0);
	lbx_put_u16le(ram + DESC(0) + 12, 3); /* NEXT | WRITE */
	lbx_put_u16le(ram + DESC(0) + 14, 1);
	publish(0, 0);
	irqs = 0;
	ok(kick(t, 0), "QueueNotify signals the queue's kick eventfd");
	is_int(get16(USED(0) + 2), 1, "one used element");
	ok(get32(USED(0) + 4) == 0 && get32(USED(0) + 8) == 256, "used: head 0, 256 bytes written");
	for (unsigned i = 0; i < 256; i++)
		nonzero += ram[BUF + i] != 0;
	ok(nonzero > 200, "both buffers of the chain filled with random bytes");
	ok(irqs == 1 && (rd(t, VIRTIO_MMIO_INTERRUPT_STATUS) & VIRTIO_MMIO_INT_VRING),
	   "interrupt raised, InterruptStatus bit 0");
	wr(t, VIRTIO_MMIO_INTERRUPT_ACK, VIRTIO_MMIO_INT_VRING);
	is_int(rd(t, VIRTIO_MMIO_INTERRUPT_STATUS), 0, "InterruptACK clears it");
	lbx_put_u16le(ram + AVAIL(0), 1); /* VIRTQ_AVAIL_F_NO_INTERRUPT */
	put_desc(0, 2, BUF, 16, 2, 0);
	publish(0, 2);
	irqs = 0;
	kick(t, 0);
	ok(get16(USED(0) + 2) == 2 && irqs == 0, "NO_INTERRUPT honoured");
}

/* Each malformed chain must break the queue, set NEEDS_RESET and leave RAM alone. */
static void bad_chain(struct vmm_virtio_rng *r, const char *what, void (*build)(void),
		      uint16_t head)
{
	struct vmm_virtio_mmio *t = &r->t;

	negotiate(t, 0, 1);
	setup_queue(t, 0, QSZ, DESC(0));
	driver_ok(t);
	build();
	publish(0, head);
	irqs = 0;
	kick(t, 0);
	ok(get16(USED(0) + 2) == 0 && (rd(t, VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_NEEDS_RESET) &&
		   (rd(t, VIRTIO_MMIO_INTERRUPT_STATUS) & VIRTIO_MMIO_INT_CONFIG) && irqs == 1,
	   "%s: refused, DEVICE_NEEDS_RESET, config interrupt", what);
	publish(0, 0);
	kick(t, 0);
	is_int(get16(USED(0) + 2), 0, "%s: later kicks do nothing until reset", what);
	wr(t, VIRTIO_MMIO_STATUS, 0);
	ok(!(rd(t, VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_NEEDS_RESET), "%s: reset clears NEEDS_RESET", what);
}

static void chain_loop(void)
{
	put_desc(0, 0, BUF, 8, 3, 1);
	put_desc(0, 1, BUF, 8, 3, 0);
}

static void chain_out_of_ram(void)
{
	put_desc(0, 0, RAM_SIZE - 4, 64, 2, 0);
}

static void chain_huge_len(void)
{
	put_desc(0, 0, BUF, 0xffffffff, 2, 0);
}

static void chain_bad_next(void)
{
	put_desc(0, 0, BUF, 8, 3, 200);
}

static void chain_indirect(void)
{
	put_desc(0, 0, BUF, 16, 4 /* INDIRECT, not negotiated */, 0);
}

static void chain_zero_len(void)
{
	put_desc(0, 0, BUF, 0, 2, 0);
}

static void test_console(struct vmm_virtio_console *c, int pipe_rd)
{
	struct vmm_virtio_mmio *t = &c->t;
	char out[64] = "";
	ssize_t n;

	is_int(rd(t, VIRTIO_MMIO_DEVICE_ID), 3, "console: DeviceID 3");
	is_int(vmm_virtio_console_input(c, (const uint8_t *)"early ", 6), 6,
	       "console: input before the driver is buffered");
	negotiate(t, 0, 1);
	ok(setup_queue(t, 0, QSZ, DESC(0)) && setup_queue(t, 1, QSZ, DESC(1)), "console: two queues");
	driver_ok(t);
	memcpy(ram + BUF, "hello host", 10);
	put_desc(1, 0, BUF, 10, 0, 0);
	publish(1, 0);
	kick(t, 1);
	n = read(pipe_rd, out, sizeof(out) - 1);
	ok(n == 10 && !memcmp(out, "hello host", 10), "console: transmitq bytes reach the host");
	is_int(get16(USED(1) + 2), 1, "console: transmit buffer returned");
	put_desc(0, 0, BUF + 0x100, 32, 2, 0);
	publish(0, 0);
	kick(t, 0);
	ok(get16(USED(0) + 2) == 1 && get32(USED(0) + 8) == 6 && !memcmp(ram + BUF + 0x100, "early ", 6),
	   "console: buffered input delivered when the driver posts a buffer");
	put_desc(0, 1, BUF + 0x200, 4, 2, 0);
	publish(0, 1);
	kick(t, 0);
	vmm_virtio_console_input(c, (const uint8_t *)"typed!", 6);
	ok(get16(USED(0) + 2) == 2 && get32(USED(0) + 16) == 4 && !memcmp(ram + BUF + 0x200, "type", 4),
	   "console: input fills a posted 4-byte buffer, the rest waits");
	is_int(c->npending, 2, "console: 2 bytes still pending");
	is_int(rd(t, VIRTIO_MMIO_CONFIG), 0, "console: config space reads zeros");
}

int main(void)
{
	static struct vmm_virtio_rng r;
	static struct vmm_virtio_console c;
	int fd = memfd_create("guest-ram", MFD_CLOEXEC), p[2];

	if (fd < 0 || ftruncate(fd, RAM_SIZE) || pipe2(p, O_CLOEXEC | O_NONBLOCK))
		return 1;
	ram = mmap(NULL, RAM_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_NORESERVE, fd, 0);
	lbx_guest_mem_init(&mem);
	if (ram == MAP_FAILED || lbx_guest_mem_add_mapped(&mem, 0, RAM_SIZE, ram))
		return 1;
	vmm_virtio_rng_init(&r, &mem);
	setup_t(&r.t);
	test_registers(&r);
	test_status(&r);
	test_queue_setup(&r);
	test_rng(&r);
	bad_chain(&r, "descriptor loop", chain_loop, 0);
	bad_chain(&r, "buffer past the end of RAM", chain_out_of_ram, 0);
	bad_chain(&r, "4 GiB buffer length", chain_huge_len, 0);
	bad_chain(&r, "next index out of range", chain_bad_next, 0);
	bad_chain(&r, "indirect without the feature", chain_indirect, 0);
	bad_chain(&r, "head index out of range", chain_zero_len, 99);
	bad_chain(&r, "zero-length buffer", chain_zero_len, 0);
	vmm_virtio_console_init(&c, &mem, p[1]);
	setup_t(&c.t);
	test_console(&c, p[0]);
	return tap_done();
}
