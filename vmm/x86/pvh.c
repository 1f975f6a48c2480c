/* SPDX-License-Identifier: MIT */
#include "pvh.h"

#include <errno.h>
#include <string.h>

#include "layout.h"
#include "writer.h"

int vmm_pvh_write(uint8_t *buf, size_t len, const struct vmm_pvh_params *p)
{
	size_t memmap_off = LBX_PVH_MEMMAP_ADDR - LBX_PVH_INFO_ADDR;
	size_t modlist_off = LBX_PVH_MODLIST_ADDR - LBX_PVH_INFO_ADDR;

	if (p->e820->n > LBX_PVH_MEMMAP_MAX || len < modlist_off + LBX_PVH_MODLIST_ENTRY_SIZE)
		return -EINVAL;
	memset(buf, 0, len);
	lbx_put_u32le(buf + LBX_PVH_OFF_MAGIC, LBX_PVH_MAGIC);
	lbx_put_u32le(buf + LBX_PVH_OFF_VERSION, LBX_PVH_VERSION);
	lbx_put_u64le(buf + LBX_PVH_OFF_CMDLINE, p->cmdline_addr);
	lbx_put_u64le(buf + LBX_PVH_OFF_MEMMAP, LBX_PVH_MEMMAP_ADDR);
	lbx_put_u32le(buf + LBX_PVH_OFF_MEMMAP_ENTRIES, p->e820->n);
	for (unsigned i = 0; i < p->e820->n; i++) {
		uint8_t *e = buf + memmap_off + i * LBX_PVH_MEMMAP_ENTRY_SIZE;

		lbx_put_u64le(e, p->e820->e[i].addr);
		lbx_put_u64le(e + 8, p->e820->e[i].size);
		lbx_put_u32le(e + 16, p->e820->e[i].type);
	}
	if (p->initrd_size) {
		lbx_put_u32le(buf + LBX_PVH_OFF_NR_MODULES, 1);
		lbx_put_u64le(buf + LBX_PVH_OFF_MODLIST, LBX_PVH_MODLIST_ADDR);
		lbx_put_u64le(buf + modlist_off, p->initrd_addr);
		lbx_put_u64le(buf + modlist_off + 8, p->initrd_size);
	}
	return 0;
}
