/* SPDX-License-Identifier: MIT */
/*
 * The guest driver's side of a split virtqueue (virtio 1.2 §2.7), for
 * tests: builds descriptor tables and rings by hand in "guest memory"
 * (the driver's own mapping of a memfd), publishes chains and reads the
 * used ring. Header-only so each test and fuzz target can include it.
 */
#ifndef LBX_TEST_VDRIVER_H
#define LBX_TEST_VDRIVER_H

#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "writer.h"

#define VD_F_NEXT     1
#define VD_F_WRITE    2
#define VD_F_INDIRECT 4

struct vdrv {
	uint8_t *mem;	  /* driver's view of guest memory */
	uint64_t mem_gpa; /* guest-physical address of mem[0] */
	size_t mem_size;
	uint16_t size; /* queue size */
	uint64_t desc_gpa, avail_gpa, used_gpa;
	uint16_t avail_idx; /* next avail slot the driver fills */
	uint16_t used_seen; /* used entries consumed */
};

static inline uint8_t *vd_ptr(struct vdrv *d, uint64_t gpa)
{
	return d->mem + (gpa - d->mem_gpa);
}

static inline uint16_t vd_get16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static inline uint32_t vd_get32(const uint8_t *p)
{
	return (uint32_t)vd_get16(p) | (uint32_t)vd_get16(p + 2) << 16;
}

/* A descriptor anywhere (the ring's table or an indirect table). */
static inline void vd_put_desc(uint8_t *table, unsigned i, uint64_t addr, uint32_t len,
			       uint16_t flags, uint16_t next)
{
	uint8_t *p = table + 16 * (size_t)i;

	lbx_put_u64le(p, addr);
	lbx_put_u32le(p + 8, len);
	lbx_put_u16le(p + 12, flags);
	lbx_put_u16le(p + 14, next);
}

static inline void vd_desc(struct vdrv *d, unsigned i, uint64_t addr, uint32_t len, uint16_t flags,
			   uint16_t next)
{
	vd_put_desc(vd_ptr(d, d->desc_gpa), i, addr, len, flags, next);
}

/* Put head in the next avail slot and publish it (avail->idx last, §2.7.13). */
static inline void vd_publish(struct vdrv *d, uint16_t head)
{
	uint8_t *avail = vd_ptr(d, d->avail_gpa);

	lbx_put_u16le(avail + 4 + 2 * (d->avail_idx % d->size), head);
	__atomic_thread_fence(__ATOMIC_RELEASE);
	d->avail_idx++;
	lbx_put_u16le(avail + 2, d->avail_idx);
}

/* Set avail->idx to anything (hostile drivers). */
static inline void vd_set_avail_idx(struct vdrv *d, uint16_t idx)
{
	d->avail_idx = idx;
	lbx_put_u16le(vd_ptr(d, d->avail_gpa) + 2, idx);
}

static inline void vd_set_avail_flags(struct vdrv *d, uint16_t flags)
{
	lbx_put_u16le(vd_ptr(d, d->avail_gpa), flags);
}

static inline void vd_set_used_event(struct vdrv *d, uint16_t v)
{
	lbx_put_u16le(vd_ptr(d, d->avail_gpa) + 4 + 2 * d->size, v);
}

static inline uint16_t vd_avail_event(struct vdrv *d)
{
	return vd_get16(vd_ptr(d, d->used_gpa) + 4 + 8 * d->size);
}

static inline uint16_t vd_used_idx(struct vdrv *d)
{
	return vd_get16(vd_ptr(d, d->used_gpa) + 2);
}

/* Next used element: 1 with id/len, or 0 if the device returned nothing new. */
static inline int vd_get_used(struct vdrv *d, uint32_t *id, uint32_t *len)
{
	uint8_t *used = vd_ptr(d, d->used_gpa);
	uint8_t *e;

	if (vd_used_idx(d) == d->used_seen)
		return 0;
	__atomic_thread_fence(__ATOMIC_ACQUIRE);
	e = used + 4 + 8 * (d->used_seen % d->size);
	*id = vd_get32(e);
	*len = vd_get32(e + 4);
	d->used_seen++;
	return 1;
}

/*
 * Lay out a queue of qsize at the start of the memory: descriptor table,
 * then the avail ring at +0x1000*k and the used ring after it, each on its
 * own 4 KiB page(s), all zeroed.
 */
static inline void vd_layout(struct vdrv *d, uint16_t qsize)
{
	size_t desc_pages = (16 * (size_t)qsize + 4095) / 4096;
	size_t avail_pages = (6 + 2 * (size_t)qsize + 4095) / 4096;

	d->size = qsize;
	d->desc_gpa = d->mem_gpa;
	d->avail_gpa = d->desc_gpa + 4096 * desc_pages;
	d->used_gpa = d->avail_gpa + 4096 * avail_pages;
	d->avail_idx = d->used_seen = 0;
	memset(d->mem, 0, (size_t)(d->used_gpa - d->mem_gpa) + 6 + 8 * (size_t)qsize);
}

/* First byte after the rings: where tests put buffers and indirect tables. */
static inline uint64_t vd_free_gpa(const struct vdrv *d)
{
	return d->used_gpa + ((6 + 8 * (uint64_t)d->size + 4095) / 4096) * 4096;
}

#endif
