/* SPDX-License-Identifier: MIT */
/*
 * virtq: the test plays the guest driver in a memfd (its own mapping) and
 * the queue code reads the same pages through guest_mem, as a backend does.
 * Covers pop/push, the copy helpers, notification suppression (flags and
 * EVENT_IDX), index wrap-around, and every malformed chain the driver can
 * build: each must be refused, break the queue, and crash nothing.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "guest_mem.h"
#include "log.h"
#include "tap.h"
#include "vdriver.h"
#include "virtq.h"

#define MIB	 (1024 * 1024ull)
#define MEM_GPA	 0x100000ull
#define MEM_SIZE (4 * MIB)

#define F_INDIRECT  (1ull << LBX_VIRTIO_F_INDIRECT_DESC)
#define F_EVENT_IDX (1ull << LBX_VIRTIO_F_EVENT_IDX)
#define F_ALL	    (F_INDIRECT | F_EVENT_IDX | (1ull << LBX_VIRTIO_F_VERSION_1))

struct env {
	struct lbx_guest_mem mem;
	struct vdrv d;
	struct lbx_virtq q;
	struct lbx_virtq_chain *c;
};

static int setup_queue(struct env *e, uint16_t qsize, uint64_t features)
{
	vd_layout(&e->d, qsize);
	return lbx_virtq_init(&e->q, &e->mem, qsize, e->d.desc_gpa, e->d.avail_gpa, e->d.used_gpa,
			      features);
}

/* Buffer number i, 4 KiB apart, after the rings and indirect tables. */
static uint64_t buf(struct env *e, unsigned i)
{
	return vd_free_gpa(&e->d) + 0x10000 + 0x1000 * (uint64_t)i;
}

/* Where indirect tables go (64 KiB: room for 4096 descriptors). */
static uint64_t itable(struct env *e)
{
	return vd_free_gpa(&e->d);
}

static void test_init(struct env *e)
{
	struct lbx_virtq q;
	uint64_t base = MEM_GPA;

	vd_layout(&e->d, 16);
	is_int(lbx_virtq_init(&q, &e->mem, 12, base, base + 0x1000, base + 0x2000, 0), -EINVAL,
	       "queue size 12 (not a power of 2) refused");
	is_int(lbx_virtq_init(&q, &e->mem, 0, base, base + 0x1000, base + 0x2000, 0), -EINVAL,
	       "queue size 0 refused");
	is_int(lbx_virtq_init(&q, &e->mem, 16, base + 8, base + 0x1000, base + 0x2000, 0), -EINVAL,
	       "descriptor table not 16-aligned refused");
	is_int(lbx_virtq_init(&q, &e->mem, 16, base, base + 0x1001, base + 0x2000, 0), -EINVAL,
	       "avail ring not 2-aligned refused");
	is_int(lbx_virtq_init(&q, &e->mem, 16, base, base + 0x1000, base + 0x2002, 0), -EINVAL,
	       "used ring not 4-aligned refused");
	ok(lbx_virtq_init(&q, &e->mem, 16, base, base + 0x1000, MEM_GPA + MEM_SIZE - 64, 0) < 0,
	   "used ring running past the end of memory refused");
	ok(lbx_virtq_init(&q, &e->mem, 16, 0x1000, base + 0x1000, base + 0x2000, 0) < 0,
	   "descriptor table outside memory refused");
	ok(q.broken, "a refused queue is unusable");
	is_int(lbx_virtq_pop(&q, e->c), -EBADMSG, "pop on it fails");
	is_int(lbx_virtq_desc_bytes(256), 4096, "descriptor table bytes (§2.7.5)");
	is_int(lbx_virtq_avail_bytes(256), 6 + 512, "avail ring bytes with used_event");
	is_int(lbx_virtq_used_bytes(256), 6 + 2048, "used ring bytes with avail_event");
}

static void test_basic(struct env *e)
{
	uint8_t out[32] = { 0 };
	uint32_t id = 99, len = 99;

	is_int(setup_queue(e, 16, F_ALL), 0, "queue of 16 set up");
	is_int(lbx_virtq_pop(&e->q, e->c), 0, "empty ring pops nothing");
	is_int(vd_avail_event(&e->d), 0, "EVENT_IDX: empty pop asks for a kick at avail 0");

	memcpy(vd_ptr(&e->d, buf(e, 0)), "hello ", 6);
	memcpy(vd_ptr(&e->d, buf(e, 1)), "world", 5);
	vd_desc(&e->d, 3, buf(e, 0), 6, VD_F_NEXT, 7);
	vd_desc(&e->d, 7, buf(e, 1), 5, VD_F_NEXT, 1);
	vd_desc(&e->d, 1, buf(e, 2), 8, VD_F_WRITE | VD_F_NEXT, 2);
	vd_desc(&e->d, 2, buf(e, 3), 100, VD_F_WRITE, 0);
	vd_publish(&e->d, 3);
	is_int(lbx_virtq_pop(&e->q, e->c), 1, "a published chain pops");
	is_int(e->c->head, 3, "head index");
	is_int(e->c->nrd, 2, "two device-readable buffers");
	is_int(e->c->nwr, 2, "two device-writable buffers");
	is_int(e->c->rd_len, 11, "readable total");
	is_int(e->c->wr_len, 108, "writable total");
	is_int(lbx_iov_to_buf(e->c->rd, e->c->nrd, 0, out, sizeof(out)), 11, "copy out all");
	ok(!memcmp(out, "hello world", 11), "readable bytes in chain order");
	memset(out, 0, sizeof(out));
	is_int(lbx_iov_to_buf(e->c->rd, e->c->nrd, 4, out, 4), 4, "copy out across iovecs");
	ok(!memcmp(out, "o wo", 4), "offset 4, 4 bytes spans both buffers");
	is_int(lbx_iov_to_buf(e->c->rd, e->c->nrd, 20, out, 4), 0, "offset past the end: nothing");
	is_int(lbx_iov_from_buf(e->c->wr, e->c->nwr, 5, "0123456789", 10), 10,
	       "write 10 bytes at offset 5");
	ok(!memcmp(vd_ptr(&e->d, buf(e, 2)) + 5, "012", 3) &&
	       !memcmp(vd_ptr(&e->d, buf(e, 3)), "3456789", 7),
	   "written bytes split over the two writable buffers");
	is_int(lbx_iov_from_buf(e->c->wr, e->c->nwr, 100, "abcdefghijkl", 12), 8,
	       "writes are bounded by the chain");

	lbx_virtq_push(&e->q, e->c->head, 15);
	is_int(vd_used_idx(&e->d), 1, "push publishes used->idx");
	ok(vd_get_used(&e->d, &id, &len) && id == 3 && len == 15, "used element {3, 15}");
	is_int(lbx_virtq_pop(&e->q, e->c), 0, "ring empty again");
	is_int(vd_avail_event(&e->d), 1, "avail_event now asks for a kick at avail 1");
}

static void test_notify_flags(struct env *e)
{
	is_int(setup_queue(e, 8, 0), 0, "queue without EVENT_IDX");
	ok(!lbx_virtq_should_notify(&e->q), "nothing pushed: no interrupt");
	vd_desc(&e->d, 0, buf(e, 0), 16, VD_F_WRITE, 0);
	vd_publish(&e->d, 0);
	is_int(lbx_virtq_pop(&e->q, e->c), 1, "pop");
	lbx_virtq_push(&e->q, 0, 1);
	ok(lbx_virtq_should_notify(&e->q), "pushed: interrupt");
	ok(!lbx_virtq_should_notify(&e->q), "asked again with nothing new: no interrupt");
	vd_set_avail_flags(&e->d, 1); /* VIRTQ_AVAIL_F_NO_INTERRUPT */
	vd_publish(&e->d, 0);
	is_int(lbx_virtq_pop(&e->q, e->c), 1, "pop");
	lbx_virtq_push(&e->q, 0, 1);
	ok(!lbx_virtq_should_notify(&e->q), "NO_INTERRUPT suppresses the interrupt");
	vd_set_avail_flags(&e->d, 0);
	vd_publish(&e->d, 0);
	is_int(lbx_virtq_pop(&e->q, e->c), 1, "pop");
	lbx_virtq_push(&e->q, 0, 1);
	ok(lbx_virtq_should_notify(&e->q), "flag cleared: interrupt again");
}

static void push_one(struct env *e)
{
	vd_publish(&e->d, 0);
	if (lbx_virtq_pop(&e->q, e->c) == 1)
		lbx_virtq_push(&e->q, e->c->head, 0);
}

static void test_event_idx(struct env *e)
{
	is_int(setup_queue(e, 8, F_EVENT_IDX), 0, "queue with EVENT_IDX");
	vd_desc(&e->d, 0, buf(e, 0), 16, VD_F_WRITE, 0);
	vd_set_avail_flags(&e->d, 1); /* ignored with EVENT_IDX (§2.7.10) */
	push_one(e);
	ok(lbx_virtq_should_notify(&e->q), "first push always interrupts");
	vd_set_used_event(&e->d, 2); /* "interrupt me when used->idx passes 2" */
	push_one(e);		     /* used->idx 2 */
	ok(!lbx_virtq_should_notify(&e->q), "used->idx 2, used_event 2: not yet");
	push_one(e); /* used->idx 3 */
	ok(lbx_virtq_should_notify(&e->q), "used->idx 3 passed used_event 2: interrupt");
	vd_set_used_event(&e->d, 10);
	push_one(e);
	push_one(e);
	ok(!lbx_virtq_should_notify(&e->q), "batch 4..5 before used_event 10: none");
	vd_set_used_event(&e->d, 5);
	push_one(e);
	push_one(e);
	push_one(e); /* used->idx 8 */
	ok(lbx_virtq_should_notify(&e->q), "batch 6..8 crossed used_event 5: one interrupt");
	ok(!lbx_virtq_should_notify(&e->q), "and only one");
}

static void test_wraparound(struct env *e)
{
	uint32_t id, len;
	int popped = 0;

	is_int(setup_queue(e, 4, F_ALL), 0, "queue of 4");
	vd_desc(&e->d, 2, buf(e, 0), 8, VD_F_WRITE, 0);
	lbx_virtq_set_last_avail(&e->q, 65534);
	vd_set_avail_idx(&e->d, 65534);
	for (int i = 0; i < 3; i++)
		vd_publish(&e->d, 2);
	is_int(e->d.avail_idx, 1, "driver index wrapped past 65535");
	while (lbx_virtq_pop(&e->q, e->c) == 1) {
		lbx_virtq_push(&e->q, e->c->head, 8);
		popped++;
	}
	is_int(popped, 3, "three chains pop across the 16-bit wrap");
	is_int(e->q.last_avail, 1, "last_avail wrapped too");
	ok(!e->q.broken, "queue healthy");
	is_int(vd_used_idx(&e->d), 3, "three used entries");
	ok(vd_get_used(&e->d, &id, &len) && id == 2 && len == 8, "used entry correct");

	/* A full ring is fine, one more than a ring is not. */
	is_int(setup_queue(e, 4, F_ALL), 0, "fresh queue of 4");
	vd_desc(&e->d, 0, buf(e, 0), 8, VD_F_WRITE, 0);
	for (int i = 0; i < 4; i++)
		vd_publish(&e->d, 0);
	popped = 0;
	while (lbx_virtq_pop(&e->q, e->c) == 1)
		popped++;
	is_int(popped, 4, "exactly a full ring pops");
}

static void test_indirect_ok(struct env *e)
{
	uint8_t *t = vd_ptr(&e->d, itable(e));

	is_int(setup_queue(e, 8, F_ALL), 0, "queue for indirect chains");
	vd_put_desc(t, 0, buf(e, 0), 10, VD_F_NEXT, 2);
	vd_put_desc(t, 2, buf(e, 1), 20, VD_F_NEXT, 1);
	vd_put_desc(t, 1, buf(e, 2), 30, VD_F_WRITE, 0);
	/* §2.7.5.3.1: the device ignores WRITE on the descriptor of the table. */
	vd_desc(&e->d, 5, itable(e), 3 * 16, VD_F_INDIRECT | VD_F_WRITE, 0);
	vd_publish(&e->d, 5);
	is_int(lbx_virtq_pop(&e->q, e->c), 1, "indirect chain pops");
	ok(e->c->head == 5 && e->c->nrd == 2 && e->c->nwr == 1, "head 5, 2 readable, 1 writable");
	ok(e->c->rd_len == 30 && e->c->wr_len == 30, "lengths from the table");
	ok(e->c->rd[0].iov_base == lbx_guest_mem_ptr(&e->mem, buf(e, 0), 10),
	   "iovec points at the buffer in our mapping");

	/* The longest chain we accept: an indirect table of LBX_VIRTQ_MAX_CHAIN. */
	for (unsigned i = 0; i < LBX_VIRTQ_MAX_CHAIN; i++)
		vd_put_desc(t, i, buf(e, 0), 1, i + 1 < LBX_VIRTQ_MAX_CHAIN ? VD_F_NEXT : 0,
			    (uint16_t)(i + 1));
	vd_desc(&e->d, 6, itable(e), 16 * LBX_VIRTQ_MAX_CHAIN, VD_F_INDIRECT, 0);
	vd_publish(&e->d, 6);
	is_int(lbx_virtq_pop(&e->q, e->c), 1, "a chain of exactly LBX_VIRTQ_MAX_CHAIN pops");
	is_int(e->c->nrd, LBX_VIRTQ_MAX_CHAIN, "with every descriptor");
}

/* ---- malformed chains ---- */

struct bad_case {
	const char *name;
	uint16_t qsize;
	uint64_t features;
	void (*build)(struct env *e);
};

static void bad_loop(struct env *e)
{
	vd_desc(&e->d, 0, buf(e, 0), 8, VD_F_NEXT, 1);
	vd_desc(&e->d, 1, buf(e, 1), 8, VD_F_NEXT, 0);
	vd_publish(&e->d, 0);
}

static void bad_self_loop(struct env *e)
{
	vd_desc(&e->d, 3, buf(e, 0), 8, VD_F_NEXT | VD_F_WRITE, 3);
	vd_publish(&e->d, 3);
}

static void bad_too_long(struct env *e)
{
	/* Queue of 2048: a direct chain of 1025 distinct descriptors. */
	for (unsigned i = 0; i <= LBX_VIRTQ_MAX_CHAIN; i++)
		vd_desc(&e->d, i, buf(e, 0), 1, VD_F_NEXT, (uint16_t)(i + 1));
	vd_desc(&e->d, LBX_VIRTQ_MAX_CHAIN, buf(e, 0), 1, 0, 0);
	vd_publish(&e->d, 0);
}

static void bad_next_range(struct env *e)
{
	vd_desc(&e->d, 0, buf(e, 0), 8, VD_F_NEXT, 8); /* queue of 8: next 8 is out */
	vd_publish(&e->d, 0);
}

static void bad_head_range(struct env *e)
{
	vd_publish(&e->d, 8);
}

static void bad_avail_ahead(struct env *e)
{
	vd_desc(&e->d, 0, buf(e, 0), 8, 0, 0);
	vd_set_avail_idx(&e->d, 9); /* 9 new entries in a ring of 8 */
}

static void bad_nested_indirect(struct env *e)
{
	uint8_t *t = vd_ptr(&e->d, itable(e));

	vd_put_desc(t, 0, buf(e, 0), 8, VD_F_NEXT, 1);
	vd_put_desc(t, 1, itable(e) + 0x100, 32, VD_F_INDIRECT, 0);
	vd_desc(&e->d, 0, itable(e), 32, VD_F_INDIRECT, 0);
	vd_publish(&e->d, 0);
}

static void bad_indirect_next(struct env *e)
{
	vd_put_desc(vd_ptr(&e->d, itable(e)), 0, buf(e, 0), 8, 0, 0);
	vd_desc(&e->d, 0, itable(e), 16, VD_F_INDIRECT | VD_F_NEXT, 1);
	vd_desc(&e->d, 1, buf(e, 1), 8, VD_F_WRITE, 0);
	vd_publish(&e->d, 0);
}

static void bad_indirect_len(struct env *e)
{
	vd_put_desc(vd_ptr(&e->d, itable(e)), 0, buf(e, 0), 8, 0, 0);
	vd_desc(&e->d, 0, itable(e), 24, VD_F_INDIRECT, 0);
	vd_publish(&e->d, 0);
}

static void bad_indirect_empty(struct env *e)
{
	vd_desc(&e->d, 0, itable(e), 0, VD_F_INDIRECT, 0);
	vd_publish(&e->d, 0);
}

static void bad_indirect_outside(struct env *e)
{
	vd_desc(&e->d, 0, MEM_GPA + MEM_SIZE - 16, 32, VD_F_INDIRECT, 0);
	vd_publish(&e->d, 0);
}

static void bad_indirect_too_big(struct env *e)
{
	vd_desc(&e->d, 0, itable(e), 16 * (LBX_VIRTQ_MAX_CHAIN + 1), VD_F_INDIRECT, 0);
	vd_publish(&e->d, 0);
}

static void bad_indirect_loop(struct env *e)
{
	uint8_t *t = vd_ptr(&e->d, itable(e));

	vd_put_desc(t, 0, buf(e, 0), 8, VD_F_NEXT, 1);
	vd_put_desc(t, 1, buf(e, 1), 8, VD_F_NEXT, 0);
	vd_desc(&e->d, 0, itable(e), 32, VD_F_INDIRECT, 0);
	vd_publish(&e->d, 0);
}

static void bad_indirect_next_range(struct env *e)
{
	uint8_t *t = vd_ptr(&e->d, itable(e));

	vd_put_desc(t, 0, buf(e, 0), 8, VD_F_NEXT, 2); /* table of 2 */
	vd_desc(&e->d, 0, itable(e), 32, VD_F_INDIRECT, 0);
	vd_publish(&e->d, 0);
}

static void bad_indirect_not_head(struct env *e)
{
	vd_put_desc(vd_ptr(&e->d, itable(e)), 0, buf(e, 0), 8, 0, 0);
	vd_desc(&e->d, 0, buf(e, 1), 8, VD_F_NEXT, 1);
	vd_desc(&e->d, 1, itable(e), 16, VD_F_INDIRECT, 0);
	vd_publish(&e->d, 0);
}

static void bad_indirect_unnegotiated(struct env *e)
{
	vd_put_desc(vd_ptr(&e->d, itable(e)), 0, buf(e, 0), 8, 0, 0);
	vd_desc(&e->d, 0, itable(e), 16, VD_F_INDIRECT, 0);
	vd_publish(&e->d, 0);
}

static void bad_write_then_read(struct env *e)
{
	vd_desc(&e->d, 0, buf(e, 0), 8, VD_F_WRITE | VD_F_NEXT, 1);
	vd_desc(&e->d, 1, buf(e, 1), 8, 0, 0);
	vd_publish(&e->d, 0);
}

static void bad_write_then_read_indirect(struct env *e)
{
	uint8_t *t = vd_ptr(&e->d, itable(e));

	vd_put_desc(t, 0, buf(e, 0), 8, VD_F_WRITE | VD_F_NEXT, 1);
	vd_put_desc(t, 1, buf(e, 1), 8, 0, 0);
	vd_desc(&e->d, 0, itable(e), 32, VD_F_INDIRECT, 0);
	vd_publish(&e->d, 0);
}

static void bad_zero_len(struct env *e)
{
	vd_desc(&e->d, 0, buf(e, 0), 8, VD_F_NEXT, 1);
	vd_desc(&e->d, 1, buf(e, 1), 0, VD_F_WRITE, 0);
	vd_publish(&e->d, 0);
}

static void bad_buffer_outside(struct env *e)
{
	vd_desc(&e->d, 0, 0x1000, 8, 0, 0);
	vd_publish(&e->d, 0);
}

static void bad_buffer_straddles_end(struct env *e)
{
	vd_desc(&e->d, 0, MEM_GPA + MEM_SIZE - 4, 8, VD_F_WRITE, 0);
	vd_publish(&e->d, 0);
}

static void bad_buffer_wraps(struct env *e)
{
	vd_desc(&e->d, 0, UINT64_MAX - 3, 8, 0, 0);
	vd_publish(&e->d, 0);
}

static const struct bad_case bad_cases[] = {
	{ "two-descriptor loop", 8, F_ALL, bad_loop },
	{ "descriptor pointing at itself", 8, F_ALL, bad_self_loop },
	{ "direct chain longer than LBX_VIRTQ_MAX_CHAIN", 2048, F_ALL, bad_too_long },
	{ "next index out of range", 8, F_ALL, bad_next_range },
	{ "head index out of range", 8, F_ALL, bad_head_range },
	{ "avail idx more than a ring ahead", 8, F_ALL, bad_avail_ahead },
	{ "nested indirect table", 8, F_ALL, bad_nested_indirect },
	{ "indirect descriptor with NEXT", 8, F_ALL, bad_indirect_next },
	{ "indirect table size not a multiple of 16", 8, F_ALL, bad_indirect_len },
	{ "indirect table of zero bytes", 8, F_ALL, bad_indirect_empty },
	{ "indirect table outside memory", 8, F_ALL, bad_indirect_outside },
	{ "indirect table larger than LBX_VIRTQ_MAX_CHAIN", 8, F_ALL, bad_indirect_too_big },
	{ "loop inside an indirect table", 8, F_ALL, bad_indirect_loop },
	{ "next out of range inside an indirect table", 8, F_ALL, bad_indirect_next_range },
	{ "indirect descriptor not at the head", 8, F_ALL, bad_indirect_not_head },
	{ "indirect without VIRTIO_F_INDIRECT_DESC", 8, F_EVENT_IDX, bad_indirect_unnegotiated },
	{ "writable then readable (§2.7.4.2)", 8, F_ALL, bad_write_then_read },
	{ "writable then readable in an indirect table", 8, F_ALL, bad_write_then_read_indirect },
	{ "zero-length descriptor", 8, F_ALL, bad_zero_len },
	{ "buffer outside guest memory", 8, F_ALL, bad_buffer_outside },
	{ "buffer straddling the end of memory", 8, F_ALL, bad_buffer_straddles_end },
	{ "buffer wrapping the address space", 8, F_ALL, bad_buffer_wraps },
};

static void test_bad(struct env *e, const struct bad_case *bc)
{
	int first, second;

	if (setup_queue(e, bc->qsize, bc->features)) {
		ok(0, "%s: queue set-up", bc->name);
		return;
	}
	bc->build(e);
	first = lbx_virtq_pop(&e->q, e->c);
	second = lbx_virtq_pop(&e->q, e->c);
	lbx_virtq_push(&e->q, 0, 1);
	ok(first == -EBADMSG && second == -EBADMSG && e->q.broken && vd_used_idx(&e->d) == 0 &&
	       !lbx_virtq_should_notify(&e->q),
	   "%s: refused, queue broken, nothing used", bc->name);
}

int main(void)
{
	struct env e = { 0 };
	int fd = memfd_create("lbx-test-virtq", MFD_CLOEXEC);

	if (fd < 0 || ftruncate(fd, MEM_SIZE) < 0) {
		printf("1..0 # SKIP memfd_create unavailable\n");
		return 0;
	}
	lbx_log_init("test-virtq");
	lbx_log_set_level(LBX_LOG_ERROR); /* the refusals below would each log a warning */
	e.c = malloc(sizeof(*e.c));
	e.d.mem = mmap(NULL, MEM_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	e.d.mem_gpa = MEM_GPA;
	e.d.mem_size = MEM_SIZE;
	lbx_guest_mem_init(&e.mem);
	if (!e.c || e.d.mem == MAP_FAILED ||
	    lbx_guest_mem_map_fd(&e.mem, MEM_GPA, MEM_SIZE, 0, fd, 0)) {
		ok(0, "set up guest memory");
		return tap_done();
	}
	test_init(&e);
	test_basic(&e);
	test_notify_flags(&e);
	test_event_idx(&e);
	test_wraparound(&e);
	test_indirect_ok(&e);
	for (size_t i = 0; i < LBX_ARRAY_SIZE(bad_cases); i++)
		test_bad(&e, &bad_cases[i]);
	lbx_guest_mem_release(&e.mem);
	munmap(e.d.mem, MEM_SIZE);
	close(fd);
	free(e.c);
	return tap_done();
}
