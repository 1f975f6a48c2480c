/* SPDX-License-Identifier: MIT */
/*
 * Guest memory as seen from a host process: a small table of regions, each
 * a mapping of (part of) a memfd. lbx-vmm creates the memfd and maps it;
 * vhost-user backends receive the fds with SET_MEM_TABLE and map them.
 *
 * Every guest address lbx touches is translated here, in one place, and
 * only for a whole range that lies inside a single region: a range that
 * straddles regions, wraps around, or falls outside is refused (NULL).
 * Descriptors that legitimately cross a region boundary are rare enough
 * that we refuse them rather than split them.
 *
 * Addresses come in two kinds: guest-physical (descriptors, virtio-mmio
 * queue registers) and, for vhost-user ring addresses, the frontend's
 * user virtual address (VHOST_USER_SET_VRING_ADDR, vhost-user spec
 * "Memory region description").
 */
#ifndef LBX_GUEST_MEM_H
#define LBX_GUEST_MEM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "compiler.h"

#define LBX_GUEST_MEM_MAX_REGIONS 8

struct lbx_mem_region {
	uint64_t gpa;	     /* guest-physical start */
	uint64_t size;	     /* bytes */
	uint64_t uva;	     /* frontend's virtual address of gpa (vhost-user), else 0 */
	uint8_t *hva;	     /* our mapping of gpa */
	void *map_base;	     /* what to munmap (NULL: caller owns the mapping) */
	size_t map_size;
};

struct lbx_guest_mem {
	struct lbx_mem_region regions[LBX_GUEST_MEM_MAX_REGIONS];
	unsigned nregions;
};

void lbx_guest_mem_init(struct lbx_guest_mem *mem);
/*
 * Map size bytes of fd at fd_offset (MAP_SHARED) as guest-physical
 * [gpa, gpa + size). Regions must not overlap. -EINVAL, -ENOSPC, -errno.
 */
LBX_MUST_CHECK int lbx_guest_mem_map_fd(struct lbx_guest_mem *mem, uint64_t gpa, uint64_t size,
					uint64_t uva, int fd, uint64_t fd_offset);
/* Describe memory the caller has already mapped at hva (lbx-vmm's own RAM). */
LBX_MUST_CHECK int lbx_guest_mem_add_mapped(struct lbx_guest_mem *mem, uint64_t gpa,
					    uint64_t size, void *hva);
/* Unmap what map_fd mapped and forget every region. */
void lbx_guest_mem_release(struct lbx_guest_mem *mem);

/*
 * Host pointer for guest-physical [gpa, gpa + len), or NULL. len may be 0,
 * but gpa must still lie inside a region.
 */
void *lbx_guest_mem_ptr(const struct lbx_guest_mem *mem, uint64_t gpa, uint64_t len);
/* Host pointer for frontend-virtual [uva, uva + len), or NULL. Regions with uva 0 have none. */
void *lbx_guest_mem_uva_ptr(const struct lbx_guest_mem *mem, uint64_t uva, uint64_t len);

#endif
