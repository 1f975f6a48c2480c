/* SPDX-License-Identifier: MIT */
/*
 * Kernel image parsing (ELF vmlinux with and without a PVH note, bzImage)
 * on synthetic images, good and broken, and loading into guest memory:
 * segments land at their physical addresses, .bss stays zero, nothing is
 * written outside RAM. Also the identity page tables.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "kernel_image.h"
#include "layout.h"
#include "pagetables.h"
#include "tap.h"
#include "writer.h"

#define RAM (64 << 20)

static uint8_t img[0x3000];

/* An ELF64 x86-64 executable: one PT_LOAD at 16 MiB, optionally a PT_NOTE. */
static size_t make_elf(int with_note, unsigned desc_len)
{
	uint8_t *ph = img + 64;

	memset(img, 0, sizeof(img));
	memcpy(img, "\177ELF\2\1\1", 7);
	lbx_put_u16le(img + 16, 2);	       /* ET_EXEC */
	lbx_put_u16le(img + 18, 62);	       /* EM_X86_64 */
	lbx_put_u32le(img + 20, 1);
	lbx_put_u64le(img + 24, 0x1000010);    /* entry */
	lbx_put_u64le(img + 32, 64);	       /* phoff */
	lbx_put_u16le(img + 52, 64);
	lbx_put_u16le(img + 54, 56);
	lbx_put_u16le(img + 56, with_note ? 2 : 1);
	lbx_put_u32le(ph, 1);		       /* PT_LOAD */
	lbx_put_u64le(ph + 8, 0x1000);	       /* offset */
	lbx_put_u64le(ph + 16, 0xffffffff81000000ULL);
	lbx_put_u64le(ph + 24, 0x1000000);     /* paddr */
	lbx_put_u64le(ph + 32, 0x1000);	       /* filesz */
	lbx_put_u64le(ph + 40, 0x3000);	       /* memsz: 8 KiB of .bss */
	memset(img + 0x1000, 0x90, 0x1000);
	if (with_note) {
		uint8_t *n = img + 0x2000;

		ph += 56;
		lbx_put_u32le(ph, 4); /* PT_NOTE */
		lbx_put_u64le(ph + 8, 0x2000);
		lbx_put_u64le(ph + 32, 12 + 4 + desc_len);
		lbx_put_u32le(n, 4);
		lbx_put_u32le(n + 4, desc_len);
		lbx_put_u32le(n + 8, 18);
		memcpy(n + 12, "Xen", 4);
		lbx_put_u64le(n + 16, 0x1000020);
	}
	return sizeof(img);
}

static int memfd_with(const void *data, size_t len)
{
	int fd = memfd_create("kernel", MFD_CLOEXEC);

	if (fd >= 0 && write(fd, data, len) != (ssize_t)len) {
		close(fd);
		return -1;
	}
	return fd;
}

static void test_elf(void)
{
	struct vmm_kernel k;
	char err[160];
	size_t n = make_elf(0, 4);

	is_int(vmm_elf_parse_header(img, n, n, &k, err, sizeof(err)), 0, "ELF parsed");
	ok(k.entry64 == 0x1000010 && k.nseg == 1 && k.load_lo == 0x1000000 &&
		   k.load_hi == 0x1003000 && !k.has_pvh,
	   "entry, one segment at its physical address, memsz extent, no PVH");
	img[18] = 3; /* EM_386 */
	ok(vmm_elf_parse_header(img, n, n, &k, err, sizeof(err)) == -ENOEXEC &&
		   strstr(err, "x86-64"),
	   "wrong machine refused: %s", err);
	make_elf(0, 4);
	lbx_put_u64le(img + 64 + 32, 0x100000); /* filesz beyond the file */
	ok(vmm_elf_parse_header(img, n, n, &k, err, sizeof(err)) == -EINVAL &&
		   strstr(err, "outside the file"),
	   "segment beyond the end of the file refused");
	make_elf(0, 4);
	lbx_put_u64le(img + 64 + 24, 0x1000); /* paddr below 1 MiB */
	lbx_put_u64le(img + 24, 0x1010);
	ok(vmm_elf_parse_header(img, n, n, &k, err, sizeof(err)) < 0, "segment below 1 MiB refused");
	make_elf(0, 4);
	lbx_put_u64le(img + 24, 0x5000000);
	ok(vmm_elf_parse_header(img, n, n, &k, err, sizeof(err)) == -ENOEXEC && strstr(err, "entry"),
	   "entry outside the image refused");
	make_elf(0, 4);
	lbx_put_u16le(img + 56, 0x400); /* phnum past the buffer */
	ok(vmm_elf_parse_header(img, n, n, &k, err, sizeof(err)) == -ENOEXEC,
	   "program headers past the end refused");
	ok(vmm_elf_parse_header(img, 40, n, &k, err, sizeof(err)) == -ENOEXEC, "truncated header refused");
}

static void test_pvh_note(void)
{
	struct vmm_kernel k;
	char err[160];
	size_t n;
	int fd;

	for (unsigned desc = 4; desc <= 8; desc += 4) {
		n = make_elf(1, desc);
		fd = memfd_with(img, n);
		ok(vmm_kernel_parse(fd, &k, err, sizeof(err)) == 0 && k.has_pvh &&
			   k.pvh_entry == 0x1000020,
		   "PVH note with a %u-byte address found", desc);
		close(fd);
	}
	memset(&k, 0, sizeof(k));
	{
		uint8_t note[20] = { 4, 0, 0, 0, 200, 0, 0, 0, 18, 0, 0, 0, 'X', 'e', 'n', 0 };

		is_int(vmm_elf_parse_note(note, sizeof(note), &k), -EBADMSG,
		       "note whose desc runs past the segment refused");
		note[4] = 2;
		is_int(vmm_elf_parse_note(note, sizeof(note), &k), -EBADMSG,
		       "PVH note with a 2-byte address refused");
	}
}

static void make_bzimage(uint16_t version, uint8_t xlf, uint8_t setup_sects)
{
	memset(img, 0, sizeof(img));
	img[LBX_HDR_SETUP_SECTS] = setup_sects;
	lbx_put_u16le(img + LBX_HDR_BOOT_FLAG, 0xaa55);
	img[LBX_HDR_JUMP + 1] = 0x6a; /* header ends at 0x26c */
	memcpy(img + LBX_HDR_HEADER, "HdrS", 4);
	lbx_put_u16le(img + LBX_HDR_VERSION, version);
	lbx_put_u32le(img + LBX_HDR_INITRD_ADDR_MAX, 0x7fffffff);
	img[LBX_HDR_XLOADFLAGS] = xlf;
	lbx_put_u32le(img + LBX_HDR_INIT_SIZE, 0x10000);
}

static void test_bzimage(void)
{
	struct vmm_kernel k;
	char err[160];

	make_bzimage(0x020f, LBX_XLF_KERNEL_64, 0);
	is_int(vmm_bzimage_parse_header(img, sizeof(img), sizeof(img), &k, err, sizeof(err)), 0,
	       "bzImage parsed");
	is_int(k.pm_offset, 5 * 512, "setup_sects 0 means 4 (protected mode at 5 sectors)");
	is_int(k.entry64, LBX_BZIMAGE_LOAD_ADDR + 0x200, "64-bit entry at load address + 0x200");
	is_int(k.setup_hdr_len, 0x26c - 0x1f1, "setup header length from the jump byte");
	is_int(k.load_hi, LBX_BZIMAGE_LOAD_ADDR + 0x10000, "extent covers init_size");
	make_bzimage(0x020b, LBX_XLF_KERNEL_64, 4);
	ok(vmm_bzimage_parse_header(img, sizeof(img), sizeof(img), &k, err, sizeof(err)) == -ENOEXEC &&
		   strstr(err, "2.11"),
	   "boot protocol 2.11 refused: %s", err);
	make_bzimage(0x020f, 0, 4);
	ok(vmm_bzimage_parse_header(img, sizeof(img), sizeof(img), &k, err, sizeof(err)) == -ENOEXEC,
	   "no XLF_KERNEL_64 refused");
	make_bzimage(0x020f, LBX_XLF_KERNEL_64, 30);
	ok(vmm_bzimage_parse_header(img, sizeof(img), sizeof(img), &k, err, sizeof(err)) == -ENOEXEC &&
		   strstr(err, "truncated"),
	   "setup past the end of the file refused");
	memset(img, 0, sizeof(img));
	ok(vmm_bzimage_parse_header(img, sizeof(img), sizeof(img), &k, err, sizeof(err)) == -ENOEXEC &&
		   strstr(err, "not a vmlinux"),
	   "random bytes: 'not a vmlinux ELF or bzImage'");
}

static void test_load(struct lbx_guest_mem *mem, uint8_t *ram)
{
	struct vmm_kernel k;
	char err[160];
	size_t n = make_elf(0, 4);
	int fd = memfd_with(img, n);

	memset(ram + 0x1001000, 0x77, 0x2000);
	is_int(vmm_kernel_parse(fd, &k, err, sizeof(err)), 0, "ELF parsed from a file");
	is_int(vmm_kernel_load(fd, &k, mem, err, sizeof(err)), 0, "ELF loaded");
	ok(ram[0x1000000] == 0x90 && ram[0x1000fff] == 0x90, "segment bytes at its physical address");
	ok(ram[0x1001000] == 0x77, "memsz beyond filesz left to the fresh RAM (not rewritten)");
	k.seg[0].paddr = RAM - 0x1000;
	ok(vmm_kernel_load(fd, &k, mem, err, sizeof(err)) == -EFAULT && strstr(err, "does not fit"),
	   "segment past the end of RAM refused");
	close(fd);
}

static void test_pagetables(struct lbx_guest_mem *mem, uint8_t *ram)
{
	uint64_t pml4, pdpt3, pd_last;

	is_int(vmm_pagetables_write(mem), 0, "page tables written");
	memcpy(&pml4, ram + LBX_PML4_ADDR, 8);
	memcpy(&pdpt3, ram + LBX_PDPT_ADDR + 24, 8);
	memcpy(&pd_last, ram + LBX_PD_ADDR + 8 * 2047, 8);
	is_int(pml4, LBX_PDPT_ADDR | 3, "PML4[0] -> PDPT, present, writable");
	is_int(pdpt3, (LBX_PD_ADDR + 3 * 4096) | 3, "PDPT[3] -> fourth page directory");
	is_int(pd_last, (2047ULL << 21) | 0x83, "last 2 MiB page maps 4 GiB - 2 MiB identically");
}

int main(void)
{
	struct lbx_guest_mem mem;
	uint8_t *ram = mmap(NULL, RAM, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	lbx_guest_mem_init(&mem);
	if (ram == MAP_FAILED || lbx_guest_mem_add_mapped(&mem, 0, RAM, ram))
		return 1;
	test_elf();
	test_pvh_note();
	test_bzimage();
	test_load(&mem, ram);
	test_pagetables(&mem, ram);
	munmap(ram, RAM);
	return tap_done();
}
