/* SPDX-License-Identifier: MIT */
/*
 * Split virtqueues, device side (virtio 1.2 §2.7).
 *
 * Layout in guest memory (all fields little-endian, §2.7.5-§2.7.8):
 *   descriptor table  16 bytes each: u64 addr, u32 len, u16 flags, u16 next
 *   available ring    u16 flags, u16 idx, u16 ring[size], u16 used_event
 *   used ring         u16 flags, u16 idx, {u32 id, u32 len} ring[size],
 *                     u16 avail_event
 *
 * The driver writes the descriptor table and the available ring while we
 * read them. Single 16-bit ring fields are read and written with atomic
 * loads and stores (they are naturally aligned, which init checks), with
 * the ordering §2.7.13 asks for: read avail->idx before the entries it
 * publishes (acquire), write used entries before used->idx (release), and
 * a full barrier between publishing used->idx or avail_event and reading
 * the driver's suppression fields. Descriptors are copied out whole, once,
 * and parsed from the copy with the bounds-checked reader.
 *
 * Threading: one thread uses a queue at a time; the struct is not locked.
 */
#include "virtq.h"

#include <endian.h>
#include <stdarg.h>
#include <stdio.h>
#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include "log.h"
#include "reader.h"

/* §2.7.5 descriptor flags; §2.7.6 / §2.7.8 ring flags. */
#define VIRTQ_DESC_F_NEXT	   1
#define VIRTQ_DESC_F_WRITE	   2
#define VIRTQ_DESC_F_INDIRECT	   4
#define VIRTQ_AVAIL_F_NO_INTERRUPT 1
#define VIRTQ_USED_F_NO_NOTIFY	   1

#define DESC_SIZE      16
#define RING_HDR       4 /* flags + idx */
#define USED_ELEM_SIZE 8

struct desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags;
	uint16_t next;
};

size_t lbx_virtq_desc_bytes(uint16_t size)
{
	return (size_t)DESC_SIZE * size;
}

size_t lbx_virtq_avail_bytes(uint16_t size)
{
	return RING_HDR + 2 * (size_t)size + 2;
}

size_t lbx_virtq_used_bytes(uint16_t size)
{
	return RING_HDR + USED_ELEM_SIZE * (size_t)size + 2;
}

/* Without EVENT_IDX the trailing event fields need not exist (§2.7.6, §2.7.8). */
static size_t avail_bytes_for(uint16_t size, bool event_idx)
{
	return lbx_virtq_avail_bytes(size) - (event_idx ? 0 : 2);
}

static size_t used_bytes_for(uint16_t size, bool event_idx)
{
	return lbx_virtq_used_bytes(size) - (event_idx ? 0 : 2);
}

/* ---- shared ring fields ---- */

static uint16_t *field16(void *ring, size_t off)
{
	return (uint16_t *)((uint8_t *)ring + off);
}

static uint16_t load16(void *ring, size_t off, int order)
{
	return le16toh(__atomic_load_n(field16(ring, off), order));
}

static void store16(void *ring, size_t off, uint16_t v, int order)
{
	__atomic_store_n(field16(ring, off), htole16(v), order);
}

static void store32(void *ring, size_t off, uint32_t v)
{
	__atomic_store_n((uint32_t *)((uint8_t *)ring + off), htole32(v), __ATOMIC_RELAXED);
}

static size_t avail_ring_off(const struct lbx_virtq *q, uint16_t idx)
{
	return RING_HDR + 2 * (size_t)(idx & (q->size - 1));
}

static size_t used_event_off(const struct lbx_virtq *q)
{
	return RING_HDR + 2 * (size_t)q->size;
}

static size_t avail_event_off(const struct lbx_virtq *q)
{
	return RING_HDR + USED_ELEM_SIZE * (size_t)q->size;
}

/* ---- set-up ---- */

static bool is_pow2(uint32_t v)
{
	return v && !(v & (v - 1));
}

static bool aligned(uint64_t v, uint64_t a)
{
	return (v & (a - 1)) == 0;
}

int lbx_virtq_init_hva(struct lbx_virtq *q, const struct lbx_guest_mem *mem, uint16_t size,
		       void *desc, void *avail, void *used, uint64_t features)
{
	memset(q, 0, sizeof(*q));
	q->broken = true; /* until set up completely */
	if (!is_pow2(size) || size > LBX_VIRTQ_MAX_SIZE)
		return -EINVAL;
	if (!desc || !avail || !used)
		return -EFAULT;
	/* §2.7.2 alignment; our atomics need the host pointers aligned too. */
	if (!aligned((uintptr_t)desc, 16) || !aligned((uintptr_t)avail, 2) ||
	    !aligned((uintptr_t)used, 4))
		return -EINVAL;
	q->mem = mem;
	q->size = size;
	q->desc = desc;
	q->avail = avail;
	q->used = used;
	q->event_idx = features & (1ull << LBX_VIRTIO_F_EVENT_IDX);
	q->indirect = features & (1ull << LBX_VIRTIO_F_INDIRECT_DESC);
	q->used_idx = load16(used, 2, __ATOMIC_ACQUIRE);
	q->signalled_used = q->used_idx;
	q->broken = false;
	return 0;
}

int lbx_virtq_init(struct lbx_virtq *q, const struct lbx_guest_mem *mem, uint16_t size,
		   uint64_t desc_gpa, uint64_t avail_gpa, uint64_t used_gpa, uint64_t features)
{
	bool ev = features & (1ull << LBX_VIRTIO_F_EVENT_IDX);

	memset(q, 0, sizeof(*q));
	q->broken = true;
	if (!is_pow2(size) || size > LBX_VIRTQ_MAX_SIZE)
		return -EINVAL;
	if (!aligned(desc_gpa, 16) || !aligned(avail_gpa, 2) || !aligned(used_gpa, 4))
		return -EINVAL;
	return lbx_virtq_init_hva(
	    q, mem, size, lbx_guest_mem_ptr(mem, desc_gpa, lbx_virtq_desc_bytes(size)),
	    lbx_guest_mem_ptr(mem, avail_gpa, avail_bytes_for(size, ev)),
	    lbx_guest_mem_ptr(mem, used_gpa, used_bytes_for(size, ev)), features);
}

void lbx_virtq_set_last_avail(struct lbx_virtq *q, uint16_t idx)
{
	q->last_avail = idx;
}

/* ---- popping a chain ---- */

static int broken(struct lbx_virtq *q, const char *fmt, ...) LBX_PRINTF(2, 3);

/* Mark the queue broken, say why once, and refuse the chain. */
static int broken(struct lbx_virtq *q, const char *fmt, ...)
{
	char msg[160];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	lbx_warn("virtqueue (size %u) broken by the driver: %s; ignoring it until reset", q->size,
		 msg);
	q->broken = true;
	return -EBADMSG;
}

/* Copy descriptor i of a table out of guest memory once, then parse the copy. */
static void read_desc(const void *table, uint32_t i, struct desc *d)
{
	uint8_t raw[DESC_SIZE];
	struct lbx_reader r;

	memcpy(raw, (const uint8_t *)table + (size_t)i * DESC_SIZE, sizeof(raw));
	lbx_reader_init(&r, raw, sizeof(raw));
	/* Cannot fail: exactly 16 bytes for exactly 16 bytes of fields. */
	if (lbx_read_u64le(&r, &d->addr) || lbx_read_u32le(&r, &d->len) ||
	    lbx_read_u16le(&r, &d->flags) || lbx_read_u16le(&r, &d->next))
		memset(d, 0, sizeof(*d));
}

/* Check one descriptor's buffer and append it to the chain. */
static int add_buffer(struct lbx_virtq *q, struct lbx_virtq_chain *c, const struct desc *d)
{
	void *p;

	if (d->len == 0)
		return broken(q, "zero-length descriptor at %#" PRIx64, d->addr);
	p = lbx_guest_mem_ptr(q->mem, d->addr, d->len);
	if (!p)
		return broken(q, "buffer %#" PRIx64 " + %u is not in guest memory", d->addr,
			      d->len);
	if (c->nrd + c->nwr >= LBX_VIRTQ_MAX_CHAIN)
		return broken(q, "chain longer than %d descriptors", LBX_VIRTQ_MAX_CHAIN);
	if (d->flags & VIRTQ_DESC_F_WRITE) {
		c->wr[c->nwr++] = (struct iovec){ p, d->len };
		c->wr_len += d->len;
	} else if (c->nwr) {
		/* §2.7.4.2: device-writable buffers come after device-readable ones. */
		return broken(
		    q, "device-readable descriptor at %#" PRIx64 " follows a device-writable one",
		    d->addr);
	} else {
		c->rd[c->nrd++] = (struct iovec){ p, d->len };
		c->rd_len += d->len;
	}
	return 0;
}

/*
 * Follow a chain inside one table of n descriptors, starting from the
 * already copied descriptor d. A chain visiting more descriptors than the
 * table holds must revisit one: that is how loops are caught (§2.7.5.2: a
 * chain is never longer than the queue, §2.7.5.3.1 for indirect tables).
 */
static int walk_table(struct lbx_virtq *q, const void *table, uint32_t n, struct desc d,
		      bool in_indirect, struct lbx_virtq_chain *c)
{
	uint32_t count = 1;

	for (;;) {
		if (d.flags & VIRTQ_DESC_F_INDIRECT)
			return broken(q, "%s indirect descriptor %#" PRIx64,
				      in_indirect ? "nested" : "non-head", d.addr);
		if (add_buffer(q, c, &d))
			return -EBADMSG;
		if (!(d.flags & VIRTQ_DESC_F_NEXT))
			return 0;
		if (d.next >= n)
			return broken(q, "next index %u out of range (table of %u)", d.next, n);
		if (++count > n)
			return broken(q, "descriptor chain loops (more than %u descriptors)", n);
		read_desc(table, d.next, &d);
	}
}

/* §2.7.5.3: a head descriptor that points to a table of descriptors. */
static int walk_indirect(struct lbx_virtq *q, const struct desc *head, struct lbx_virtq_chain *c)
{
	const void *table;
	uint32_t n;
	struct desc d;

	if (!q->indirect)
		return broken(q, "indirect descriptor %#" PRIx64 " without VIRTIO_F_INDIRECT_DESC",
			      head->addr);
	/* §2.7.5.3.1: the driver MUST NOT set both INDIRECT and NEXT. */
	if (head->flags & VIRTQ_DESC_F_NEXT)
		return broken(q, "indirect descriptor %#" PRIx64 " has NEXT set", head->addr);
	if (head->len == 0 || head->len % DESC_SIZE)
		return broken(q, "indirect table length %u is not a non-zero multiple of 16",
			      head->len);
	n = head->len / DESC_SIZE;
	if (n > LBX_VIRTQ_MAX_CHAIN)
		return broken(q, "indirect table of %u descriptors (limit %d)", n,
			      LBX_VIRTQ_MAX_CHAIN);
	table = lbx_guest_mem_ptr(q->mem, head->addr, head->len);
	if (!table)
		return broken(q, "indirect table %#" PRIx64 " + %u is not in guest memory",
			      head->addr, head->len);
	read_desc(table, 0, &d);
	return walk_table(q, table, n, d, true, c);
}

static int walk_chain(struct lbx_virtq *q, uint16_t head, struct lbx_virtq_chain *c)
{
	struct desc d;

	c->head = head;
	c->nrd = c->nwr = 0;
	c->rd_len = c->wr_len = 0;
	if (head >= q->size)
		return broken(q, "head index %u out of range (queue size %u)", head, q->size);
	read_desc(q->desc, head, &d);
	if (d.flags & VIRTQ_DESC_F_INDIRECT)
		return walk_indirect(q, &d, c);
	return walk_table(q, q->desc, q->size, d, false, c);
}

/*
 * Returns the driver's avail->idx, or -EBADMSG if it claims more new
 * entries than the ring holds (§2.7.6: idx only moves forward by what the
 * driver added, at most the queue size ahead of us).
 */
static int read_avail_idx(struct lbx_virtq *q)
{
	uint16_t idx = load16(q->avail, 2, __ATOMIC_ACQUIRE);

	if ((uint16_t)(idx - q->last_avail) > q->size)
		return broken(q, "available index %u is more than a ring ahead of %u", idx,
			      q->last_avail);
	return idx;
}

int lbx_virtq_pop(struct lbx_virtq *q, struct lbx_virtq_chain *chain)
{
	int idx;
	uint16_t head;

	if (q->broken)
		return -EBADMSG;
	idx = read_avail_idx(q);
	if (idx < 0)
		return idx;
	if (idx == q->last_avail) {
		/*
		 * Empty: ask for a kick on the next buffer, then look again,
		 * since the driver may have added one before seeing our request
		 * (§2.7.10; the same race vhost and virtio drivers close).
		 */
		lbx_virtq_enable_notify(q);
		idx = read_avail_idx(q);
		if (idx < 0)
			return idx;
		if (idx == q->last_avail)
			return 0;
	}
	head = load16(q->avail, avail_ring_off(q, q->last_avail), __ATOMIC_RELAXED);
	if (walk_chain(q, head, chain))
		return -EBADMSG;
	q->last_avail++;
	return 1;
}

/* ---- returning chains and notifications ---- */

void lbx_virtq_push(struct lbx_virtq *q, uint16_t head, uint32_t len)
{
	size_t off;

	if (q->broken)
		return;
	if (head >= q->size) {
		lbx_err("virtqueue: device pushed head %u beyond queue size %u", head, q->size);
		return;
	}
	off = RING_HDR + USED_ELEM_SIZE * (size_t)(q->used_idx & (q->size - 1));
	store32(q->used, off, head);
	store32(q->used, off + 4, len);
	q->used_idx++;
	/* §2.7.8: the element must be visible before the index that covers it. */
	store16(q->used, 2, q->used_idx, __ATOMIC_RELEASE);
}

bool lbx_virtq_should_notify(struct lbx_virtq *q)
{
	uint16_t old = q->signalled_used, new = q->used_idx, event;
	bool valid = q->signalled_valid;

	if (q->broken)
		return false;
	/* Our used->idx store must be visible before we read the driver's fields. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	q->signalled_used = new;
	q->signalled_valid = true;
	if (old == new)
		return false; /* nothing pushed since the last notification (or set-up) */
	if (!q->event_idx)
		return !(load16(q->avail, 0, __ATOMIC_RELAXED) & VIRTQ_AVAIL_F_NO_INTERRUPT);
	if (!valid)
		return true;
	/* §2.7.10: notify when used_event lies in (old, new]. */
	event = load16(q->avail, used_event_off(q), __ATOMIC_RELAXED);
	return (uint16_t)(new - event - 1) < (uint16_t)(new - old);
}

void lbx_virtq_enable_notify(struct lbx_virtq *q)
{
	if (q->broken)
		return;
	if (q->event_idx)
		store16(q->used, avail_event_off(q), q->last_avail, __ATOMIC_RELAXED);
	else
		store16(q->used, 0, 0, __ATOMIC_RELAXED); /* clear VIRTQ_USED_F_NO_NOTIFY */
	/* Publish before the caller looks at avail->idx again. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
}

/* ---- copying ---- */

size_t lbx_iov_to_buf(const struct iovec *iov, unsigned n, size_t offset, void *buf, size_t len)
{
	size_t done = 0;

	for (unsigned i = 0; i < n && done < len; i++) {
		size_t chunk;

		if (offset >= iov[i].iov_len) {
			offset -= iov[i].iov_len;
			continue;
		}
		chunk = LBX_MIN(iov[i].iov_len - offset, len - done);
		memcpy((uint8_t *)buf + done, (const uint8_t *)iov[i].iov_base + offset, chunk);
		done += chunk;
		offset = 0;
	}
	return done;
}

size_t lbx_iov_from_buf(const struct iovec *iov, unsigned n, size_t offset, const void *buf,
			size_t len)
{
	size_t done = 0;

	for (unsigned i = 0; i < n && done < len; i++) {
		size_t chunk;

		if (offset >= iov[i].iov_len) {
			offset -= iov[i].iov_len;
			continue;
		}
		chunk = LBX_MIN(iov[i].iov_len - offset, len - done);
		memcpy((uint8_t *)iov[i].iov_base + offset, (const uint8_t *)buf + done, chunk);
		done += chunk;
		offset = 0;
	}
	return done;
}
