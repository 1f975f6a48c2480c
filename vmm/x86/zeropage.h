/* SPDX-License-Identifier: MIT */
/*
 * The zero page (struct boot_params) for the 64-bit Linux boot protocol
 * (boot.rst "64-bit Boot Protocol"): start from zeros, copy the kernel's
 * setup header when it has one (bzImage), then fill in what a boot loader
 * owns: loader type, command line, initrd and the e820 map.
 */
#ifndef VMM_ZEROPAGE_H
#define VMM_ZEROPAGE_H

#include <stddef.h>
#include <stdint.h>

#include "bootparam.h"
#include "e820.h"

struct vmm_zp_params {
	const uint8_t *setup_hdr; /* the image's bytes from 0x1f1, or NULL (vmlinux) */
	size_t setup_hdr_len;
	uint64_t cmdline_addr;
	uint32_t cmdline_size; /* bytes including the NUL */
	uint64_t initrd_addr;
	uint64_t initrd_size;
	const struct vmm_e820 *e820;
};

/* Fills zp (LBX_ZP_SIZE bytes). -EINVAL if something does not fit. */
int vmm_zeropage_write(uint8_t *zp, const struct vmm_zp_params *p);

#endif
