/* SPDX-License-Identifier: MIT */
/*
 * Boot: load the kernel and initrd into guest RAM and write everything a
 * kernel expects to find there (zero page or PVH start_info, command line,
 * e820, MP table, GDT, identity page tables). The vCPU code then only has
 * to set registers from struct vmm_boot.
 */
#ifndef VMM_BOOT_H
#define VMM_BOOT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "boot_protocol.h"
#include "e820.h"
#include "guest_mem.h"
#include "kernel_image.h"

struct vmm_boot_params {
	const char *kernel_path;
	const char *initrd_path; /* or NULL */
	const char *cmdline;	 /* final command line */
	uint64_t ram_bytes;
	unsigned ncpus;
	enum vmm_boot_protocol protocol;
	uint32_t cpu_signature, cpu_features; /* CPUID.1 EAX, EDX for the MP table */
};

/* What was decided and written; also what --dump-boot-info prints. */
struct vmm_boot {
	enum vmm_boot_protocol protocol; /* never AUTO after vmm_boot_setup */
	enum vmm_kernel_kind kind;
	uint64_t entry;
	uint64_t info_addr; /* zero page (%rsi) or start_info (%ebx) */
	uint64_t kernel_lo, kernel_hi;
	uint64_t initrd_addr, initrd_size;
	size_t cmdline_len;
	unsigned ncpus;
	struct vmm_e820 e820;
};

/* -errno with a one-line reason in err (which names the file at fault). */
int vmm_boot_setup(const struct lbx_guest_mem *mem, const struct vmm_boot_params *p,
		   struct vmm_boot *b, char *err, size_t errsz);
/*
 * The longest command line kernel k keeps: its cmdline_size (bzImage,
 * protocol 2.06+), else x86 Linux's COMMAND_LINE_SIZE - 1 (2047 bytes).
 */
size_t vmm_boot_cmdline_max(const struct vmm_kernel *k);
/* Whether path is a kernel we can boot, before any VM exists. */
int vmm_boot_check_kernel(const char *path, char *err, size_t errsz);
/*
 * Highest page-aligned address for an initrd of size bytes below limit,
 * not below floor; 0 if it does not fit.
 */
uint64_t vmm_initrd_place(uint64_t size, uint64_t floor, uint64_t limit);
/* The record the probe guests print back and tests compare. */
void vmm_boot_dump(FILE *f, const struct vmm_boot *b, const char *cmdline);

#endif
