/* SPDX-License-Identifier: MIT */
/*
 * The arm64 Image header and where the kernel, initrd and device tree go
 * (booting.rst): a real header parses, wrong files fail with a reason, and
 * the placement keeps the DTB in its own 2 MiB region at the top, the
 * initrd below it and above the kernel, the kernel at base + text_offset.
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "image.h"
#include "layout.h"
#include "tap.h"

static void put32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void put64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void header(uint8_t *h, uint64_t text_offset, uint64_t image_size, uint64_t flags)
{
	memset(h, 0, VMM_A64_IMAGE_HDR_LEN);
	put32(h, 0x91005a4d); /* "MZ" add: what an EFI-stub Image starts with */
	put64(h + 8, text_offset);
	put64(h + 16, image_size);
	put64(h + 24, flags);
	put32(h + 56, VMM_A64_IMAGE_MAGIC);
}

int main(void)
{
	uint8_t h[VMM_A64_IMAGE_HDR_LEN];
	struct vmm_a64_image img;
	struct vmm_a64_layout l;
	char err[256] = "";
	const uint64_t base = LBX_A64_RAM_BASE, ram = 256ULL << 20;

	header(h, 0, 20 << 20, 0xa);
	is_int(vmm_a64_image_parse(h, sizeof(h), 18 << 20, &img, err, sizeof(err)), 0,
	       "a 6.x Image header parses (%s)", err);
	is_int(img.image_size, 20 << 20, "image_size from the header");

	is_int(vmm_a64_place(base, ram, &img, 5 << 20, &l, err, sizeof(err)), 0, "placed (%s)",
	       err);
	is_int(l.kernel_addr, base, "kernel at the 2 MiB aligned RAM base + text_offset 0");
	is_int(l.fdt_addr, base + ram - LBX_A64_FDT_REGION, "DTB in the last 2 MiB region");
	is_int(l.fdt_addr % 8, 0, "DTB 8-byte aligned");
	ok(l.initrd_addr >= l.kernel_end && l.initrd_addr + l.initrd_size <= l.fdt_addr,
	   "initrd between the kernel's image_size and the DTB");
	is_int(l.initrd_addr % 4096, 0, "initrd page aligned");

	header(h, 0x80000, 20 << 20, 0xa);
	ok(vmm_a64_image_parse(h, sizeof(h), 18 << 20, &img, err, sizeof(err)) == 0 &&
	       vmm_a64_place(base, ram, &img, 0, &l, err, sizeof(err)) == 0 &&
	       l.kernel_addr == base + 0x80000 && l.initrd_size == 0,
	   "text_offset 0x80000 honoured, no initrd");

	header(h, 0, 0, 0);
	ok(vmm_a64_image_parse(h, sizeof(h), 1 << 20, &img, err, sizeof(err)) == 0 &&
	       img.text_offset == 0x80000 && img.image_size == 1 << 20,
	   "image_size 0 (before 3.17): text_offset 0x80000, the file's size");

	header(h, 0, 20 << 20, 0);
	is_int(vmm_a64_place(base, ram, &img, 300ULL << 20, &l, err, sizeof(err)), -ENOSPC,
	       "an initrd larger than RAM: ENOSPC");
	ok(strstr(err, "--mem") != NULL, "and says what to do (%s)", err);
	is_int(vmm_a64_image_parse(h, sizeof(h), 18 << 20, &img, err, sizeof(err)), 0, "reparse");
	is_int(vmm_a64_place(base, 16 << 20, &img, 0, &l, err, sizeof(err)), -ENOSPC,
	       "a kernel larger than RAM: ENOSPC");

	header(h, 0, 20 << 20, 0);
	h[56] = 0x7f;
	is_int(vmm_a64_image_parse(h, sizeof(h), 18 << 20, &img, err, sizeof(err)), -ENOEXEC,
	       "no magic: ENOEXEC");
	ok(strstr(err, "not an arm64 Image") != NULL, "names the problem (%s)", err);
	header(h, 0, 20 << 20, 1);
	is_int(vmm_a64_image_parse(h, sizeof(h), 18 << 20, &img, err, sizeof(err)), -ENOEXEC,
	       "big-endian Image refused");
	header(h, 0, 1 << 20, 0);
	is_int(vmm_a64_image_parse(h, sizeof(h), 18 << 20, &img, err, sizeof(err)), -ENOEXEC,
	       "image_size smaller than the file refused");
	is_int(vmm_a64_image_parse(h, 40, 18 << 20, &img, err, sizeof(err)), -ENOEXEC,
	       "a truncated header refused");
	return tap_done();
}
