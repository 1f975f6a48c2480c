/* SPDX-License-Identifier: MIT */
/*
 * The x86 Linux boot protocol as lbx-vmm writes it: byte offsets into the
 * zero page (struct boot_params) and its setup header, from
 * Documentation/arch/x86/boot.rst ("The real-mode kernel header") and
 * zero-page.rst. We write fields by offset into a byte buffer rather than
 * through a packed structure, so every offset is stated once, here, and
 * the unit tests check each against the numbers in those documents.
 */
#ifndef VMM_BOOTPARAM_H
#define VMM_BOOTPARAM_H

#define LBX_ZP_SIZE 4096

/* zero-page.rst */
#define LBX_ZP_ACPI_RSDP_ADDR 0x070
#define LBX_ZP_EXT_RAMDISK_IMAGE 0x0c0
#define LBX_ZP_EXT_RAMDISK_SIZE 0x0c4
#define LBX_ZP_EXT_CMD_LINE_PTR 0x0c8
#define LBX_ZP_ALT_MEM_K 0x1e0
#define LBX_ZP_E820_ENTRIES 0x1e8
#define LBX_ZP_SENTINEL 0x1ef
#define LBX_ZP_HDR 0x1f1
#define LBX_ZP_E820_TABLE 0x2d0
#define LBX_ZP_E820_MAX 128
#define LBX_E820_ENTRY_SIZE 20 /* u64 addr, u64 size, u32 type, packed */

/* boot.rst: setup header fields, as offsets in the zero page (and file). */
#define LBX_HDR_SETUP_SECTS 0x1f1
#define LBX_HDR_SYSSIZE 0x1f4
#define LBX_HDR_VID_MODE 0x1fa
#define LBX_HDR_BOOT_FLAG 0x1fe /* 0xaa55 */
#define LBX_HDR_JUMP 0x200	/* its second byte gives the header's end */
#define LBX_HDR_HEADER 0x202	/* "HdrS" */
#define LBX_HDR_VERSION 0x206
#define LBX_HDR_TYPE_OF_LOADER 0x210
#define LBX_HDR_LOADFLAGS 0x211
#define LBX_HDR_CODE32_START 0x214
#define LBX_HDR_RAMDISK_IMAGE 0x218
#define LBX_HDR_RAMDISK_SIZE 0x21c
#define LBX_HDR_HEAP_END_PTR 0x224
#define LBX_HDR_CMD_LINE_PTR 0x228
#define LBX_HDR_INITRD_ADDR_MAX 0x22c
#define LBX_HDR_KERNEL_ALIGNMENT 0x230
#define LBX_HDR_RELOCATABLE 0x234
#define LBX_HDR_XLOADFLAGS 0x236
#define LBX_HDR_CMDLINE_SIZE 0x238
#define LBX_HDR_PREF_ADDRESS 0x258
#define LBX_HDR_INIT_SIZE 0x260
#define LBX_HDR_END_MAX 0x280 /* 0x202 + jump's second byte never exceeds this */

#define LBX_HDR_MAGIC 0x53726448U /* "HdrS" read as a little-endian u32 */
#define LBX_BOOT_FLAG 0xaa55
#define LBX_LOADER_UNDEFINED 0xff /* type_of_loader: no assigned id */
#define LBX_LOADFLAGS_LOADED_HIGH 0x01
#define LBX_LOADFLAGS_CAN_USE_HEAP 0x80
#define LBX_XLF_KERNEL_64 0x01
#define LBX_BOOT_MIN_VERSION 0x020c /* xloadflags and the 64-bit entry */
#define LBX_BZ_ENTRY64_OFFSET 0x200 /* 64-bit entry: load address + 0x200 */

/* e820 types (ACPI "Address Range Types"), shared by PVH memmap entries. */
#define LBX_E820_RAM 1
#define LBX_E820_RESERVED 2

#endif
