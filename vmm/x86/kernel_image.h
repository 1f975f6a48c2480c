/* SPDX-License-Identifier: MIT */
/*
 * Reading a kernel file: an uncompressed ELF vmlinux (with or without a
 * PVH note) or a bzImage. The file is untrusted input in the sense that a
 * wrong or corrupt file must give one clear error, never a crash: headers
 * are parsed through common/reader.h, segments are bounded by the file
 * size and placed through lbx_guest_mem, so nothing lands outside RAM.
 */
#ifndef VMM_KERNEL_IMAGE_H
#define VMM_KERNEL_IMAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bootparam.h"
#include "guest_mem.h"

#define VMM_ELF_MAX_SEGMENTS 16

enum vmm_kernel_kind { VMM_KERNEL_ELF, VMM_KERNEL_BZIMAGE };

struct vmm_elf_segment {
	uint64_t offset, paddr, filesz, memsz;
};

struct vmm_kernel {
	enum vmm_kernel_kind kind;
	uint64_t file_size;
	uint64_t entry64;	/* 64-bit entry (ELF e_entry, bzImage load + 0x200) */
	bool has_pvh;
	uint32_t pvh_entry;	/* XEN_ELFNOTE_PHYS32_ENTRY */
	uint64_t load_lo, load_hi; /* guest-physical extent once loaded */
	uint64_t phoff;		/* ELF program headers, within the first 64 KiB */
	uint16_t phnum;
	unsigned nseg;
	struct vmm_elf_segment seg[VMM_ELF_MAX_SEGMENTS];
	/* bzImage only */
	uint8_t setup_hdr[LBX_HDR_END_MAX - LBX_ZP_HDR];
	size_t setup_hdr_len;
	uint16_t version;
	uint32_t initrd_addr_max;
	uint64_t pm_offset, pm_size; /* protected-mode kernel in the file */
	uint32_t init_size;
};

/*
 * Identify and parse the kernel in fd. On failure returns -errno and
 * writes a one-line reason into err.
 */
int vmm_kernel_parse(int fd, struct vmm_kernel *k, char *err, size_t errsz);
/* Copy the kernel into guest memory. -EFAULT if a part falls outside RAM. */
int vmm_kernel_load(int fd, const struct vmm_kernel *k, const struct lbx_guest_mem *mem,
		    char *err, size_t errsz);

/* Parsers over bytes already read (also what the fuzz and unit tests call). */
int vmm_elf_parse_header(const uint8_t *buf, size_t len, uint64_t file_size,
			 struct vmm_kernel *k, char *err, size_t errsz);
int vmm_elf_parse_note(const uint8_t *buf, size_t len, struct vmm_kernel *k);
int vmm_bzimage_parse_header(const uint8_t *buf, size_t len, uint64_t file_size,
			     struct vmm_kernel *k, char *err, size_t errsz);

#endif
