/* SPDX-License-Identifier: MIT */
#include "zeropage.h"

#include <errno.h>
#include <string.h>

#include "writer.h"

static void write_e820(uint8_t *zp, const struct vmm_e820 *map)
{
	for (unsigned i = 0; i < map->n; i++) {
		uint8_t *e = zp + LBX_ZP_E820_TABLE + i * LBX_E820_ENTRY_SIZE;

		lbx_put_u64le(e, map->e[i].addr);
		lbx_put_u64le(e + 8, map->e[i].size);
		lbx_put_u32le(e + 16, map->e[i].type);
	}
	zp[LBX_ZP_E820_ENTRIES] = (uint8_t)map->n;
}

/*
 * A vmlinux carries no setup header; Linux still checks the magic fields
 * and takes kernel_alignment from here when it relocates.
 */
static void write_synthetic_header(uint8_t *zp)
{
	lbx_put_u16le(zp + LBX_HDR_BOOT_FLAG, LBX_BOOT_FLAG);
	lbx_put_u32le(zp + LBX_HDR_HEADER, LBX_HDR_MAGIC);
	lbx_put_u16le(zp + LBX_HDR_VERSION, LBX_BOOT_MIN_VERSION);
	lbx_put_u32le(zp + LBX_HDR_KERNEL_ALIGNMENT, 0x1000000);
	lbx_put_u16le(zp + LBX_HDR_VID_MODE, 0xffff); /* "normal" */
}

int vmm_zeropage_write(uint8_t *zp, const struct vmm_zp_params *p)
{
	if (p->e820->n > LBX_ZP_E820_MAX || p->cmdline_addr >> 32 || p->initrd_addr >> 32 ||
	    p->initrd_size >> 32 || p->setup_hdr_len > LBX_HDR_END_MAX - LBX_ZP_HDR)
		return -EINVAL;
	memset(zp, 0, LBX_ZP_SIZE);
	if (p->setup_hdr)
		memcpy(zp + LBX_ZP_HDR, p->setup_hdr, p->setup_hdr_len);
	else
		write_synthetic_header(zp);

	zp[LBX_HDR_TYPE_OF_LOADER] = LBX_LOADER_UNDEFINED;
	zp[LBX_HDR_LOADFLAGS] |= LBX_LOADFLAGS_CAN_USE_HEAP;
	lbx_put_u16le(zp + LBX_HDR_HEAP_END_PTR, 0xfe00);
	lbx_put_u32le(zp + LBX_HDR_CMD_LINE_PTR, (uint32_t)p->cmdline_addr);
	lbx_put_u32le(zp + LBX_ZP_EXT_CMD_LINE_PTR, 0);
	if (!p->setup_hdr)
		lbx_put_u32le(zp + LBX_HDR_CMDLINE_SIZE, p->cmdline_size);
	lbx_put_u32le(zp + LBX_HDR_RAMDISK_IMAGE, (uint32_t)p->initrd_addr);
	lbx_put_u32le(zp + LBX_HDR_RAMDISK_SIZE, (uint32_t)p->initrd_size);
	write_e820(zp, p->e820);
	return 0;
}
