/* SPDX-License-Identifier: MIT */
/*
 * Guest-physical memory layout of an lbx-vmm machine, in one place.
 *
 *   0x0000_0000  real-mode IVT and BIOS data area: left zero. A zero EBDA
 *                pointer (0x40e) makes Linux scan 639 KiB for the MP table.
 *   0x0000_0500  GDT: null, null, __BOOT_CS (0x10), __BOOT_DS (0x18), TSS
 *                (boot.rst "64-bit Boot Protocol" names 0x10 and 0x18).
 *   0x0000_0520  IDT: empty (limit 0); the guest runs with IF clear.
 *   0x0000_6000  PVH hvm_start_info, then its memory map and module list
 *                (include/xen/interface/hvm/start_info.h).
 *   0x0000_7000  zero page, struct boot_params (4 KiB, zero-page.rst).
 *   0x0000_9000  PML4, 0xa000 PDPT, 0xb000..0xefff four page directories:
 *                identity map of the low 4 GiB with 2 MiB pages.
 *   0x0002_0000  kernel command line (at most LBX_CMDLINE_MAX bytes).
 *   0x0009_fc00  reserved up to 0xa0000 (where a BIOS keeps its EBDA).
 *   0x000a_0000  legacy VGA and ROM hole: not RAM.
 *   0x000f_0000  MP floating pointer and configuration table (Intel MP
 *                spec 1.4 §4: "the BIOS ROM address space between 0F0000h
 *                and 0FFFFFh"); 64 KiB, room for LBX_MAX_CPUS processors.
 *   0x0010_0000  high memory; a bzImage's protected-mode kernel goes here.
 *   0x0100_0000  a vmlinux lands at its ELF physical addresses (16 MiB).
 *   initrd       highest page-aligned place below min(end of low RAM,
 *                initrd_addr_max + 1).
 *   0xc000_0000  MMIO gap up to 4 GiB, no RAM:
 *     0xd000_0000  virtio-mmio device i at +i*4 KiB, interrupt 5+i
 *     0xfec0_0000  IOAPIC, 0xfee0_0000 LAPIC (in-kernel irqchip)
 *     0xfffb_c000  KVM's identity-map page and TSS (Intel real-mode needs)
 *   0x1_0000_0000 the rest of RAM, when there is more than 3 GiB.
 *
 * Guest RAM is one memfd: [0, min(ram, 3 GiB)) at offset 0, the rest at
 * offset 3 GiB mapped to 4 GiB.
 */
#ifndef VMM_LAYOUT_H
#define VMM_LAYOUT_H

#define LBX_GDT_ADDR 0x500ULL
#define LBX_IDT_ADDR 0x520ULL
#define LBX_PVH_INFO_ADDR 0x6000ULL
#define LBX_PVH_MEMMAP_ADDR 0x6040ULL
#define LBX_PVH_MEMMAP_MAX 64
#define LBX_PVH_MODLIST_ADDR 0x6800ULL
#define LBX_ZERO_PAGE_ADDR 0x7000ULL
#define LBX_PML4_ADDR 0x9000ULL
#define LBX_PDPT_ADDR 0xa000ULL
#define LBX_PD_ADDR 0xb000ULL
#define LBX_PD_COUNT 4
#define LBX_CMDLINE_ADDR 0x20000ULL
#define LBX_CMDLINE_MAX 4096
/* What an ELF vmlinux keeps: x86 COMMAND_LINE_SIZE (asm/setup.h) - 1. */
#define LBX_LINUX_CMDLINE_MAX 2047
#define LBX_EBDA_START 0x9fc00ULL
#define LBX_EBDA_END 0xa0000ULL
#define LBX_MPTABLE_ADDR 0xf0000ULL
#define LBX_MPTABLE_MAX 0x10000ULL
#define LBX_HIMEM_START 0x100000ULL
#define LBX_BZIMAGE_LOAD_ADDR LBX_HIMEM_START

#define LBX_MMIO_GAP_START 0xc0000000ULL
#define LBX_MMIO_GAP_END 0x100000000ULL
#define LBX_VIRTIO_MMIO_BASE 0xd0000000ULL
#define LBX_VIRTIO_MMIO_SIZE 0x1000ULL
/* VMM_MAX_VHOST vhost-user devices and the two built-in ones (rng, console). */
#define LBX_VIRTIO_MMIO_MAX 26
/*
 * Device i interrupts on IOAPIC pin 5 + i, wrapping after pin 23: devices
 * past the 19th share a pin (Linux's virtio_mmio asks for IRQF_SHARED, and
 * each handler reads its own InterruptStatus).
 */
#define LBX_VIRTIO_IRQ_BASE 5
/* The ends devices.c keeps to (the names arm64/layout.h has too). */
#define LBX_VIRTIO_MMIO_END LBX_IOAPIC_ADDR
#define LBX_VIRTIO_IRQ_END LBX_IOAPIC_PINS
#define LBX_IOAPIC_ADDR 0xfec00000ULL
#define LBX_LAPIC_ADDR 0xfee00000ULL
#define LBX_KVM_IDENTITY_MAP_ADDR 0xfffbc000ULL
#define LBX_KVM_TSS_ADDR 0xfffbd000ULL

/* Legacy I/O ports and interrupts. */
#define LBX_COM1_PORT 0x3f8
#define LBX_COM1_IRQ 4
#define LBX_I8042_DATA_PORT 0x60
#define LBX_I8042_CMD_PORT 0x64
#define LBX_IOAPIC_PINS 24

/* Limits of the machine. */
#define LBX_MAX_CPUS 64
#define LBX_MIN_MEM_MIB 16

#endif
