/* SPDX-License-Identifier: MIT */
/*
 * An arm64 kernel Image and where it, the initrd and the device tree go
 * in RAM, per Documentation/arch/arm64/booting.rst: the 64-byte header
 * (text_offset, image_size, flags, magic "ARM\x64" at 56), the Image at a
 * 2 MiB aligned base plus text_offset with image_size bytes free there,
 * the DTB 8-byte aligned, at most 2 MiB, in a 2 MiB region of its own, and
 * the initrd anywhere else in RAM. The header is parsed through
 * common/reader.h; a file that is no Image gives one line naming it.
 */
#ifndef VMM_ARM64_IMAGE_H
#define VMM_ARM64_IMAGE_H

#include <stddef.h>
#include <stdint.h>

#include "guest_mem.h"

#define VMM_A64_IMAGE_MAGIC   0x644d5241u /* "ARM\x64" */
#define VMM_A64_IMAGE_HDR_LEN 64

struct vmm_a64_image {
	uint64_t text_offset;
	uint64_t image_size; /* bytes from the load address the kernel may use */
	uint64_t flags;
	uint64_t file_size;
};

struct vmm_a64_layout {
	uint64_t kernel_addr, kernel_end;
	uint64_t initrd_addr, initrd_size;
	uint64_t fdt_addr;
};

int vmm_a64_image_parse(const uint8_t *hdr, size_t len, uint64_t file_size,
			struct vmm_a64_image *img, char *err, size_t errsz);
/* Place kernel, initrd (initrd_size may be 0) and DTB in RAM; -ENOSPC if they do not fit. */
int vmm_a64_place(uint64_t ram_base, uint64_t ram_size, const struct vmm_a64_image *img,
		  uint64_t initrd_size, struct vmm_a64_layout *l, char *err, size_t errsz);
/* Read and check the Image (and initrd) and copy them to the places chosen. */
int vmm_a64_load(const struct lbx_guest_mem *mem, uint64_t ram_base, uint64_t ram_size,
		 const char *kernel_path, const char *initrd_path, struct vmm_a64_layout *l,
		 char *err, size_t errsz);

#endif
