/* SPDX-License-Identifier: MIT */
/*
 * Guest-physical memory layout of an lbx-vmm arm64 machine, in one place.
 * The guest learns all of it from the device tree (device_tree.c), nothing
 * from the command line. The LBX_ names without A64 are the ones the
 * shared code (cli.c, devices.c) reads from the architecture's layout.h,
 * as x86/layout.h defines them there.
 *
 *   0x0800_0000  GICv3 distributor, 64 KiB (in-kernel vGIC)
 *   0x080a_0000  GICv3 redistributors, 128 KiB per vCPU (RD + SGI frames),
 *                room for LBX_MAX_CPUS up to 0x088a_0000
 *   0x0900_0000  16550A UART on MMIO (uart.c, shared with x86), SPI 1
 *   0xd000_0000  virtio-mmio device i at +i*4 KiB, SPI 5+i (the shared
 *                devices.c places them from LBX_VIRTIO_MMIO_BASE and
 *                LBX_VIRTIO_IRQ_BASE below; its interrupt numbers are SPIs)
 *   0x1_0000_0000 RAM, one memfd at offset 0, as large as asked. The low
 *                4 GiB hold only devices, so no RAM size collides with
 *                them; Linux takes ZONE_DMA32 as all of RAM then.
 *
 * Inside RAM (Documentation/arch/arm64/booting.rst):
 *   RAM + text_offset   the Image (text_offset from its header, 2 MiB
 *                       aligned base), image_size bytes including BSS
 *   end - 2 MiB         the device tree blob, at most LBX_A64_FDT_MAX, in a
 *                       2 MiB region of its own
 *   below the DTB       the initrd, page aligned, above the kernel
 */
#ifndef VMM_ARM64_LAYOUT_H
#define VMM_ARM64_LAYOUT_H

#define LBX_A64_GICD_ADDR	  0x08000000ULL
#define LBX_A64_GICD_SIZE	  0x10000ULL
#define LBX_A64_GICR_ADDR	  0x080a0000ULL
#define LBX_A64_GICR_SIZE_PER_CPU 0x20000ULL
#define LBX_A64_UART_ADDR	  0x09000000ULL
#define LBX_A64_UART_SIZE	  0x1000ULL
#define LBX_A64_UART_SPI	  1
#define LBX_A64_UART_CLOCK	  1843200
#define LBX_A64_RAM_BASE	  0x100000000ULL

/* Interrupts the vGIC has: 32 private (SGI, PPI) and 96 SPIs. */
#define LBX_A64_GIC_NR_IRQS 128
#define LBX_A64_SPI_MAX	    (LBX_A64_GIC_NR_IRQS - 32 - 1)

/* Architected timer PPIs (Arm ARM, SBSA): secure, non-secure, virtual, hyp. */
#define LBX_A64_PPI_TIMER_SEC  13
#define LBX_A64_PPI_TIMER_NS   14
#define LBX_A64_PPI_TIMER_VIRT 11
#define LBX_A64_PPI_TIMER_HYP  10

/* What the shared code reads (x86/layout.h has the x86 values). */
#define LBX_MAX_CPUS	     64
#define LBX_MIN_MEM_MIB	     64
#define LBX_VIRTIO_MMIO_BASE 0xd0000000ULL
#define LBX_VIRTIO_MMIO_SIZE 0x1000ULL
#define LBX_VIRTIO_MMIO_END  0xd0100000ULL
/* VMM_MAX_VHOST vhost-user devices and the two built-in ones (rng, console). */
#define LBX_VIRTIO_MMIO_MAX 26
#define LBX_VIRTIO_IRQ_BASE 5
/* SPIs 5..30 for 26 devices: none shares one (the vGIC has up to SPI 95). */
#define LBX_VIRTIO_IRQ_END (LBX_A64_SPI_MAX + 1)

#define LBX_A64_FDT_MAX	     0x10000ULL
#define LBX_A64_FDT_REGION   0x200000ULL
#define LBX_A64_KERNEL_ALIGN 0x200000ULL

#endif
