/* SPDX-License-Identifier: MIT */
/* guest_mem: region set-up and the one place guest addresses are checked. */
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "guest_mem.h"
#include "tap.h"

#define MIB (1024 * 1024ull)

static int make_memfd(size_t size)
{
	int fd = memfd_create("lbx-test-guest", MFD_CLOEXEC);

	if (fd >= 0 && ftruncate(fd, (off_t)size) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static void test_translation(int fd, uint8_t *view)
{
	struct lbx_guest_mem mem;
	uint8_t *p;

	lbx_guest_mem_init(&mem);
	/* Two adjacent regions from different parts of the file. */
	is_int(lbx_guest_mem_map_fd(&mem, 0x100000, MIB, 0x7f0000000000, fd, 0), 0,
	       "map region A at 1 MiB");
	is_int(lbx_guest_mem_map_fd(&mem, 0x200000, MIB, 0x7f0000200000, fd, MIB), 0,
	       "map region B right after it, from file offset 1 MiB");
	memcpy(view + 0x1234, "alpha", 6);
	memcpy(view + MIB + 0x10, "beta", 5);
	p = lbx_guest_mem_ptr(&mem, 0x101234, 6);
	ok(p && !memcmp(p, "alpha", 6), "gpa in A reads the file through our own mapping");
	p = lbx_guest_mem_ptr(&mem, 0x200010, 5);
	ok(p && !memcmp(p, "beta", 5), "gpa in B reads file offset 1 MiB + 0x10");
	p = lbx_guest_mem_uva_ptr(&mem, 0x7f0000001234, 6);
	ok(p && !memcmp(p, "alpha", 6), "front-end virtual address translates too");
	ok(!lbx_guest_mem_uva_ptr(&mem, 0x101234, 1), "a gpa is not a uva");

	ok(lbx_guest_mem_ptr(&mem, 0x1fffff, 1) != NULL, "last byte of A");
	ok(!lbx_guest_mem_ptr(&mem, 0x1fffff, 2), "range straddling A and B is refused");
	ok(!lbx_guest_mem_ptr(&mem, 0x2fffff, 2), "range running past the end is refused");
	ok(!lbx_guest_mem_ptr(&mem, 0xfffff, 1), "byte below the first region is refused");
	ok(!lbx_guest_mem_ptr(&mem, 0x300000, 0), "zero length at the end of memory is refused");
	ok(lbx_guest_mem_ptr(&mem, 0x100000, 0) != NULL, "zero length inside a region is fine");
	ok(!lbx_guest_mem_ptr(&mem, 0x100010, UINT64_MAX), "length wrapping the space is refused");
	ok(!lbx_guest_mem_ptr(&mem, UINT64_MAX, 2), "address wrapping the space is refused");
	ok(!lbx_guest_mem_uva_ptr(&mem, 0x7f00001ffff0, 0x20), "uva range straddling is refused");

	/* Overlaps and bad regions. */
	is_int(lbx_guest_mem_map_fd(&mem, 0x180000, 0x1000, 0, fd, 0), -EINVAL,
	       "gpa overlap with A is refused");
	is_int(lbx_guest_mem_map_fd(&mem, 0x400000, 0x1000, 0x7f0000000800, fd, 0), -EINVAL,
	       "uva overlap with A is refused");
	is_int(lbx_guest_mem_map_fd(&mem, 0x400000, 0, 0, fd, 0), -EINVAL, "empty region refused");
	is_int(lbx_guest_mem_map_fd(&mem, UINT64_MAX - 0xfff, 0x2000, 0, fd, 0), -EINVAL,
	       "region wrapping the gpa space refused");
	is_int(lbx_guest_mem_map_fd(&mem, 0x400000, 0x1000, 0, -1, 0), -EBADF, "bad fd refused");
	is_int(mem.nregions, 2, "refusals added nothing");
	lbx_guest_mem_release(&mem);
	is_int(mem.nregions, 0, "release forgets every region");
	ok(!lbx_guest_mem_ptr(&mem, 0x101234, 1), "nothing translates after release");
}

static void test_offsets_and_limits(int fd, uint8_t *view)
{
	struct lbx_guest_mem mem;
	static uint8_t own[8192];
	uint8_t *p;
	int err = 0;

	lbx_guest_mem_init(&mem);
	/* An offset that is not page-aligned (QEMU sends page-aligned ones, but...). */
	memcpy(view + 0x3010, "odd", 4);
	is_int(lbx_guest_mem_map_fd(&mem, 0x10000, 0x2000, 0, fd, 0x3010), 0,
	       "map at an unaligned file offset");
	p = lbx_guest_mem_ptr(&mem, 0x10000, 4);
	ok(p && !memcmp(p, "odd", 4), "its first gpa is the byte at that offset");
	is_int(lbx_guest_mem_add_mapped(&mem, 0x20000, sizeof(own), own), 0,
	       "caller-mapped region added");
	ok(lbx_guest_mem_ptr(&mem, 0x20000 + 100, 10) == own + 100, "translates into it directly");
	is_int(lbx_guest_mem_add_mapped(&mem, 0x30000, 4096, NULL), -EINVAL, "NULL hva refused");
	ok(!lbx_guest_mem_uva_ptr(&mem, 0, 1), "regions without uva do not answer uva lookups");
	for (uint64_t i = 0; i < 6 && !err; i++)
		err = lbx_guest_mem_add_mapped(&mem, 0x100000 + i * 0x10000, 4096, own);
	is_int(err, 0, "fill the table to 8 regions");
	is_int(lbx_guest_mem_add_mapped(&mem, 0x900000, 4096, own), -ENOSPC,
	       "a ninth region is refused");
	lbx_guest_mem_release(&mem);
}

int main(void)
{
	int fd = make_memfd(4 * MIB);
	uint8_t *view;

	if (fd < 0) {
		printf("1..0 # SKIP memfd_create unavailable\n");
		return 0;
	}
	view = mmap(NULL, 4 * MIB, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	ok(view != MAP_FAILED, "driver view of the memfd");
	if (view == MAP_FAILED)
		return tap_done();
	test_translation(fd, view);
	test_offsets_and_limits(fd, view);
	munmap(view, 4 * MIB);
	close(fd);
	return tap_done();
}
