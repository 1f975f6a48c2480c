/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for the split-virtqueue chain walker (common/virtq.c).
 *
 * Input: one config byte (bit 0 INDIRECT_DESC, bit 1 EVENT_IDX, bits 2-4
 * log2 of the queue size minus one), a u16 starting avail index, then the
 * contents of 64 KiB of guest memory at gpa 0 holding, back to back, the
 * descriptor table, the available ring and the used ring (so short inputs
 * reach all of them), followed by whatever descriptors point at.
 *
 * The device pops until the ring is empty or broken, copies each chain's
 * readable bytes into its writable buffers (which may overwrite rings and
 * descriptors, as a hostile driver sharing the memory could), and pushes.
 * Invariants: every iovec lies inside guest memory and is non-empty; the
 * totals add up; chains stay within LBX_VIRTQ_MAX_CHAIN; heads are in
 * range; a broken queue stays broken and never moves used->idx again.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "guest_mem.h"
#include "log.h"
#include "virtq.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                                                \
	do {                                                                                       \
		if (!(cond))                                                                       \
			abort();                                                                   \
	} while (0)

#define MEM_SIZE 65536

static uint8_t mem_buf[MEM_SIZE] __attribute__((aligned(4096)));
static struct lbx_virtq_chain chain;
static uint8_t scratch[65536];

static void check_chain(const struct lbx_virtq *q, const struct lbx_virtq_chain *c)
{
	size_t rd = 0, wr = 0;

	CHECK(c->head < q->size);
	CHECK(c->nrd + c->nwr >= 1 && c->nrd + c->nwr <= LBX_VIRTQ_MAX_CHAIN);
	for (unsigned i = 0; i < c->nrd + c->nwr; i++) {
		const struct iovec *v = i < c->nrd ? &c->rd[i] : &c->wr[i - c->nrd];
		const uint8_t *b = v->iov_base;

		CHECK(v->iov_len > 0);
		CHECK(b >= mem_buf && v->iov_len <= MEM_SIZE &&
		      b - mem_buf <= MEM_SIZE - (long)v->iov_len);
		*(i < c->nrd ? &rd : &wr) += v->iov_len;
	}
	CHECK(rd == c->rd_len && wr == c->wr_len);
}

static uint16_t used_idx_in_memory(const struct lbx_virtq *q)
{
	const uint8_t *p = (const uint8_t *)q->used + 2;

	return (uint16_t)(p[0] | p[1] << 8);
}

static void run(struct lbx_virtq *q)
{
	unsigned pushes = 0;
	uint16_t start = q->used_idx;

	for (unsigned round = 0; round < 2u * q->size + 2; round++) {
		int r = lbx_virtq_pop(q, &chain);

		if (r == 0)
			break;
		if (r < 0) {
			CHECK(r == -EBADMSG && q->broken);
			CHECK(lbx_virtq_pop(q, &chain) == -EBADMSG);
			lbx_virtq_push(q, 0, 1);
			CHECK(!lbx_virtq_should_notify(q));
			break;
		}
		CHECK(r == 1 && !q->broken);
		check_chain(q, &chain);
		{
			size_t n = lbx_iov_to_buf(chain.rd, chain.nrd, 0, scratch, sizeof(scratch));
			size_t w = lbx_iov_from_buf(chain.wr, chain.nwr, 0, scratch, n);

			CHECK(n == LBX_MIN(chain.rd_len, sizeof(scratch)));
			CHECK(w == LBX_MIN(n, chain.wr_len));
			lbx_virtq_push(q, chain.head, (uint32_t)w);
		}
		pushes++;
		CHECK(q->used_idx == (uint16_t)(start + pushes));
		(void)lbx_virtq_should_notify(q);
	}
	CHECK(q->used_idx == (uint16_t)(start + pushes));
	/* Our last store of used->idx is what the driver sees (unless a buffer
	 * we filled afterwards overlapped the used ring, which pushes never do
	 * after their own store). */
	if (pushes && !q->broken)
		CHECK(used_idx_in_memory(q) == q->used_idx);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool once;
	struct lbx_guest_mem mem;
	struct lbx_virtq q;
	uint64_t features = 0;
	uint16_t qsize, last;
	size_t desc_b, avail_b;

	if (!once) {
		lbx_log_set_level(LBX_LOG_ERROR); /* refusals are expected, not news */
		once = true;
	}
	if (size < 3)
		return 0;
	if (data[0] & 1)
		features |= 1ull << LBX_VIRTIO_F_INDIRECT_DESC;
	if (data[0] & 2)
		features |= 1ull << LBX_VIRTIO_F_EVENT_IDX;
	qsize = (uint16_t)(2u << ((data[0] >> 2) & 7)); /* 2 .. 256 */
	last = (uint16_t)(data[1] | data[2] << 8);
	data += 3;
	size -= 3;

	memset(mem_buf, 0, sizeof(mem_buf));
	memcpy(mem_buf, data, LBX_MIN(size, sizeof(mem_buf)));
	lbx_guest_mem_init(&mem);
	CHECK(lbx_guest_mem_add_mapped(&mem, 0, MEM_SIZE, mem_buf) == 0);

	desc_b = lbx_virtq_desc_bytes(qsize);
	avail_b = (lbx_virtq_avail_bytes(qsize) + 3) & ~(size_t)3;
	CHECK(lbx_virtq_init(&q, &mem, qsize, 0, desc_b, desc_b + avail_b, features) == 0);
	lbx_virtq_set_last_avail(&q, last);
	run(&q);
	lbx_guest_mem_release(&mem);
	return 0;
}
