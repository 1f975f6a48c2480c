/* SPDX-License-Identifier: MIT */
#include "guest_mem.h"

#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

void lbx_guest_mem_init(struct lbx_guest_mem *mem)
{
	memset(mem, 0, sizeof(*mem));
}

/* [a, a + alen) and [b, b + blen) intersect; neither range wraps. */
static bool ranges_overlap(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
	return a < b + blen && b < a + alen;
}

/*
 * A new region must be non-empty, must not wrap the 64-bit space (in either
 * address kind) and must not overlap an existing one: two regions claiming
 * the same guest address would make translation ambiguous. uva 0 means
 * "no frontend address" (lbx-vmm's own RAM) and is not checked.
 */
static int check_new_region(const struct lbx_guest_mem *mem, uint64_t gpa, uint64_t size,
			    uint64_t uva)
{
	if (size == 0 || gpa + size < gpa || (uva && uva + size < uva))
		return -EINVAL;
	if (mem->nregions >= LBX_GUEST_MEM_MAX_REGIONS)
		return -ENOSPC;
	for (unsigned i = 0; i < mem->nregions; i++) {
		const struct lbx_mem_region *r = &mem->regions[i];

		if (ranges_overlap(gpa, size, r->gpa, r->size))
			return -EINVAL;
		if (uva && r->uva && ranges_overlap(uva, size, r->uva, r->size))
			return -EINVAL;
	}
	return 0;
}

static void add_region(struct lbx_guest_mem *mem, struct lbx_mem_region r)
{
	mem->regions[mem->nregions++] = r;
}

int lbx_guest_mem_map_fd(struct lbx_guest_mem *mem, uint64_t gpa, uint64_t size, uint64_t uva,
			 int fd, uint64_t fd_offset)
{
	uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE);
	uint64_t base_off = fd_offset & ~(page - 1);
	uint64_t slack = fd_offset - base_off;
	void *base;
	int err;

	err = check_new_region(mem, gpa, size, uva);
	if (err)
		return err;
	if (fd < 0)
		return -EBADF;
	/* mmap wants a page-aligned offset; map from the page below it. */
	if (size + slack < size || base_off > INT64_MAX)
		return -EINVAL;
	base = mmap(NULL, (size_t)(size + slack), PROT_READ | PROT_WRITE,
		    MAP_SHARED | MAP_NORESERVE, fd, (off_t)base_off);
	if (base == MAP_FAILED)
		return -errno;
	add_region(mem, (struct lbx_mem_region){
			    .gpa = gpa,
			    .size = size,
			    .uva = uva,
			    .hva = (uint8_t *)base + slack,
			    .map_base = base,
			    .map_size = (size_t)(size + slack),
			});
	return 0;
}

int lbx_guest_mem_add_mapped(struct lbx_guest_mem *mem, uint64_t gpa, uint64_t size, void *hva)
{
	int err = check_new_region(mem, gpa, size, 0);

	if (err)
		return err;
	if (!hva || (uintptr_t)hva + size < (uintptr_t)hva)
		return -EINVAL;
	add_region(mem, (struct lbx_mem_region){ .gpa = gpa, .size = size, .hva = hva });
	return 0;
}

void lbx_guest_mem_release(struct lbx_guest_mem *mem)
{
	for (unsigned i = 0; i < mem->nregions; i++)
		if (mem->regions[i].map_base)
			munmap(mem->regions[i].map_base, mem->regions[i].map_size);
	lbx_guest_mem_init(mem);
}

/*
 * The only bounds check of guest addresses: addr must lie inside the
 * region and len must fit in what is left of it. Written without addr +
 * len so that a range wrapping the address space cannot pass.
 */
static void *lookup(const struct lbx_guest_mem *mem, uint64_t addr, uint64_t len, bool by_uva)
{
	for (unsigned i = 0; i < mem->nregions; i++) {
		const struct lbx_mem_region *r = &mem->regions[i];
		uint64_t start = by_uva ? r->uva : r->gpa;
		uint64_t off;

		if (by_uva && !r->uva)
			continue;
		if (addr < start || addr - start >= r->size)
			continue;
		off = addr - start;
		if (len > r->size - off)
			return NULL; /* runs past this region: straddles or leaves memory */
		return r->hva + off;
	}
	return NULL;
}

void *lbx_guest_mem_ptr(const struct lbx_guest_mem *mem, uint64_t gpa, uint64_t len)
{
	return lookup(mem, gpa, len, false);
}

void *lbx_guest_mem_uva_ptr(const struct lbx_guest_mem *mem, uint64_t uva, uint64_t len)
{
	return lookup(mem, uva, len, true);
}
