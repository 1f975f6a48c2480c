/* SPDX-License-Identifier: MIT */
/*
 * Every structure lbx-vmm writes for a booting kernel, checked against the
 * layout Linux expects: boot_params offsets (boot.rst, zero-page.rst,
 * arch/x86/include/uapi/asm/bootparam.h), e820, PVH start_info
 * (start_info.h), MP table (Intel MP spec 1.4), GDT, page tables, CPUID,
 * and the kernel image parsers on well-formed and broken headers.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "boot.h"
#include "bootparam.h"
#include "cpuid.h"
#include "e820.h"
#include "gdt.h"
#include "kernel_image.h"
#include "layout.h"
#include "mptable.h"
#include "pagetables.h"
#include "pvh.h"
#include "tap.h"
#include "writer.h"
#include "zeropage.h"

static uint64_t get(const uint8_t *p, unsigned n)
{
	uint64_t v = 0;

	for (unsigned i = n; i-- > 0;)
		v = v << 8 | p[i];
	return v;
}

static void test_offsets(void)
{
	/* Numbers from boot.rst's header table and zero-page.rst. */
	is_int(LBX_ZP_HDR, 0x1f1, "setup header at 0x1f1");
	is_int(LBX_ZP_E820_ENTRIES, 0x1e8, "e820_entries at 0x1e8");
	is_int(LBX_ZP_E820_TABLE, 0x2d0, "e820_table at 0x2d0");
	is_int(LBX_HDR_CMD_LINE_PTR, 0x228, "cmd_line_ptr at 0x228");
	is_int(LBX_HDR_RAMDISK_IMAGE, 0x218, "ramdisk_image at 0x218");
	is_int(LBX_HDR_RAMDISK_SIZE, 0x21c, "ramdisk_size at 0x21c");
	is_int(LBX_HDR_TYPE_OF_LOADER, 0x210, "type_of_loader at 0x210");
	is_int(LBX_HDR_LOADFLAGS, 0x211, "loadflags at 0x211");
	is_int(LBX_HDR_BOOT_FLAG, 0x1fe, "boot_flag at 0x1fe");
	is_int(LBX_HDR_HEADER, 0x202, "header magic at 0x202");
	is_int(LBX_HDR_VERSION, 0x206, "version at 0x206");
	is_int(LBX_HDR_INITRD_ADDR_MAX, 0x22c, "initrd_addr_max at 0x22c");
	is_int(LBX_HDR_KERNEL_ALIGNMENT, 0x230, "kernel_alignment at 0x230");
	is_int(LBX_HDR_XLOADFLAGS, 0x236, "xloadflags at 0x236");
	is_int(LBX_HDR_CMDLINE_SIZE, 0x238, "cmdline_size at 0x238");
	is_int(LBX_HDR_PREF_ADDRESS, 0x258, "pref_address at 0x258");
	is_int(LBX_HDR_INIT_SIZE, 0x260, "init_size at 0x260");
	is_int(LBX_ZP_EXT_RAMDISK_IMAGE, 0x0c0, "ext_ramdisk_image at 0x0c0");
	is_int(LBX_ZP_EXT_CMD_LINE_PTR, 0x0c8, "ext_cmd_line_ptr at 0x0c8");
	is_int(LBX_ZP_SENTINEL, 0x1ef, "sentinel at 0x1ef");
	is_int(LBX_E820_ENTRY_SIZE, 20, "boot_e820_entry is 20 bytes (packed)");
	ok(LBX_ZP_E820_TABLE + LBX_ZP_E820_MAX * LBX_E820_ENTRY_SIZE == 0xcd0,
	   "128 e820 entries end at 0xcd0 (bootparam.h _pad8)");
	ok(LBX_HDR_MAGIC == ('H' | 'd' << 8 | 'r' << 16 | (unsigned)'S' << 24), "HdrS magic");
}

static void test_layout(void)
{
	ok(LBX_ZERO_PAGE_ADDR == 0x7000 && LBX_CMDLINE_ADDR == 0x20000,
	   "zero page at 0x7000, command line at 0x20000");
	ok(LBX_CMDLINE_ADDR + LBX_CMDLINE_MAX <= LBX_EBDA_START, "command line ends below the EBDA");
	ok(LBX_PVH_MEMMAP_ADDR + LBX_PVH_MEMMAP_MAX * LBX_PVH_MEMMAP_ENTRY_SIZE <=
		   LBX_PVH_MODLIST_ADDR &&
		   LBX_PVH_MODLIST_ADDR + LBX_PVH_MODLIST_ENTRY_SIZE <= LBX_ZERO_PAGE_ADDR,
	   "PVH start_info, memmap and modlist fit below the zero page");
	ok(LBX_PD_ADDR + 4096 * LBX_PD_COUNT <= LBX_CMDLINE_ADDR,
	   "page tables end below the command line");
	ok(vmm_mptable_size(LBX_MAX_CPUS) <= LBX_MPTABLE_MAX,
	   "MP table for %d vCPUs fits its window", LBX_MAX_CPUS);
	ok(LBX_VIRTIO_MMIO_BASE >= LBX_MMIO_GAP_START &&
		   LBX_VIRTIO_MMIO_BASE + LBX_VIRTIO_MMIO_MAX * LBX_VIRTIO_MMIO_SIZE <= LBX_IOAPIC_ADDR,
	   "virtio-mmio windows lie in the MMIO gap below the IOAPIC");
	/* Past pin 23 devices share pins (vmm_devices_irq, test_devices.c). */
	ok(LBX_VIRTIO_IRQ_BASE < LBX_IOAPIC_PINS && LBX_VIRTIO_IRQ_BASE > LBX_COM1_IRQ,
	   "virtio interrupts start on an IOAPIC pin above COM1's");
}

static void test_e820(void)
{
	struct vmm_e820 m;
	uint64_t ram = 0;

	vmm_e820_build(&m, 64 << 20);
	ok(m.n == 4 && m.e[0].addr == 0 && m.e[0].type == LBX_E820_RAM, "64 MiB: base memory first");
	ok(m.e[3].addr == LBX_HIMEM_START && m.e[3].addr + m.e[3].size == 64 << 20,
	   "64 MiB: high memory from 1 MiB to the end");
	ok(vmm_e820_is_ram(&m, 0x1000000, 0x100000) && !vmm_e820_is_ram(&m, 0xa0000, 0x1000) &&
		   !vmm_e820_is_ram(&m, LBX_MPTABLE_ADDR, 16),
	   "legacy hole and MP table are not RAM");
	vmm_e820_build(&m, 5ULL << 30);
	for (unsigned i = 0; i < m.n; i++)
		if (m.e[i].type == LBX_E820_RAM)
			ram += m.e[i].size;
	ok(m.e[m.n - 1].addr == LBX_MMIO_GAP_END && m.e[m.n - 1].size == (2ULL << 30),
	   "5 GiB: 2 GiB above 4 GiB");
	ok(!vmm_e820_is_ram(&m, LBX_VIRTIO_MMIO_BASE, 4096) && !vmm_e820_is_ram(&m, LBX_LAPIC_ADDR, 16),
	   "5 GiB: MMIO gap is not RAM");
	is_int(ram, (5ULL << 30) - 0x400 - 0x60000, "5 GiB: RAM adds up (minus EBDA and hole)");
	for (unsigned i = 1; i < m.n; i++)
		if (m.e[i].addr < m.e[i - 1].addr + m.e[i - 1].size)
			ok(0, "e820 entries sorted and disjoint (%u)", i);
}

static void test_zeropage_vmlinux(void)
{
	uint8_t zp[LBX_ZP_SIZE];
	struct vmm_e820 m;
	struct vmm_zp_params p = {
		.cmdline_addr = LBX_CMDLINE_ADDR,
		.cmdline_size = 42,
		.initrd_addr = 0x3fff000,
		.initrd_size = 12345,
		.e820 = &m,
	};

	memset(zp, 0xaa, sizeof(zp));
	vmm_e820_build(&m, 64 << 20);
	is_int(vmm_zeropage_write(zp, &p), 0, "zero page written (vmlinux)");
	is_int(get(zp + 0x1fe, 2), 0xaa55, "boot_flag 0xaa55");
	is_int(get(zp + 0x202, 4), 0x53726448, "header HdrS");
	is_int(zp[0x210], 0xff, "type_of_loader 0xff (undefined loader)");
	is_int(get(zp + 0x228, 4), 0x20000, "cmd_line_ptr");
	is_int(get(zp + 0x238, 4), 42, "cmdline_size");
	is_int(get(zp + 0x218, 4), 0x3fff000, "ramdisk_image");
	is_int(get(zp + 0x21c, 4), 12345, "ramdisk_size");
	is_int(zp[0x1e8], 4, "e820_entries");
	is_int(get(zp + 0x2d0 + 3 * 20, 8), 0x100000, "e820[3].addr at 0x2d0 + 60");
	is_int(get(zp + 0x2d0 + 3 * 20 + 8, 8), (64 << 20) - 0x100000, "e820[3].size");
	is_int(get(zp + 0x2d0 + 3 * 20 + 16, 4), 1, "e820[3].type RAM");
	is_int(zp[0x1ef], 0, "sentinel clear (boot_params zeroed, not copied)");
	is_int(zp[0x2d0 + 4 * 20], 0, "nothing after the last e820 entry");
	p.initrd_addr = 1ULL << 32;
	is_int(vmm_zeropage_write(zp, &p), -EINVAL, "initrd above 4 GiB refused (no ext fields)");
}

static void test_zeropage_bzimage(void)
{
	uint8_t zp[LBX_ZP_SIZE], hdr[0x70];
	struct vmm_e820 m;
	struct vmm_zp_params p = { .cmdline_addr = LBX_CMDLINE_ADDR, .cmdline_size = 10, .e820 = &m };

	memset(hdr, 0x5c, sizeof(hdr));
	lbx_put_u16le(hdr + LBX_HDR_VERSION - LBX_ZP_HDR, 0x020f);
	hdr[LBX_HDR_LOADFLAGS - LBX_ZP_HDR] = LBX_LOADFLAGS_LOADED_HIGH;
	p.setup_hdr = hdr;
	p.setup_hdr_len = sizeof(hdr);
	vmm_e820_build(&m, 64 << 20);
	is_int(vmm_zeropage_write(zp, &p), 0, "zero page written (bzImage)");
	is_int(get(zp + 0x206, 2), 0x020f, "kernel's setup header copied (version)");
	is_int(zp[0x211], LBX_LOADFLAGS_LOADED_HIGH | LBX_LOADFLAGS_CAN_USE_HEAP,
	       "loadflags keep LOADED_HIGH, add CAN_USE_HEAP");
	is_int(zp[0x210], 0xff, "type_of_loader overwritten");
	is_int(get(zp + 0x238, 4), 0x5c5c5c5c, "cmdline_size is the kernel's (read-only field)");
	is_int(get(zp + 0x218, 8), 0, "no initrd: ramdisk fields 0");
	p.setup_hdr_len = LBX_HDR_END_MAX;
	is_int(vmm_zeropage_write(zp, &p), -EINVAL, "overlong setup header refused");
}

static void test_pvh(void)
{
	uint8_t buf[LBX_ZERO_PAGE_ADDR - LBX_PVH_INFO_ADDR];
	struct vmm_e820 m;
	struct vmm_pvh_params p = { LBX_CMDLINE_ADDR, 0x2000000, 777, &m };
	const uint8_t *mm = buf + (LBX_PVH_MEMMAP_ADDR - LBX_PVH_INFO_ADDR);
	const uint8_t *mod = buf + (LBX_PVH_MODLIST_ADDR - LBX_PVH_INFO_ADDR);

	vmm_e820_build(&m, 64 << 20);
	is_int(vmm_pvh_write(buf, sizeof(buf), &p), 0, "start_info written");
	is_int(get(buf, 4), 0x336ec578, "magic XEN_HVM_START_MAGIC_VALUE");
	is_int(get(buf + 4, 4), 1, "version 1 (has memmap)");
	is_int(get(buf + 12, 4), 1, "nr_modules 1");
	is_int(get(buf + 16, 8), LBX_PVH_MODLIST_ADDR, "modlist_paddr");
	is_int(get(buf + 24, 8), LBX_CMDLINE_ADDR, "cmdline_paddr");
	is_int(get(buf + 32, 8), 0, "rsdp_paddr 0 (no ACPI)");
	is_int(get(buf + 40, 8), LBX_PVH_MEMMAP_ADDR, "memmap_paddr");
	is_int(get(buf + 48, 4), 4, "memmap_entries");
	is_int(get(mm + 24 * 3, 8), 0x100000, "memmap[3].addr (24-byte entries)");
	is_int(get(mm + 24 * 3 + 16, 4), 1, "memmap[3].type RAM");
	is_int(get(mm + 24 * 3 + 20, 4), 0, "memmap reserved field zero");
	ok(get(mod, 8) == 0x2000000 && get(mod + 8, 8) == 777 && get(mod + 16, 8) == 0,
	   "module 0 is the initrd, no command line");
	p.initrd_size = 0;
	is_int(vmm_pvh_write(buf, sizeof(buf), &p), 0, "start_info without initrd");
	ok(get(buf + 12, 4) == 0 && get(buf + 16, 8) == 0, "no initrd: no modules");
	is_int(vmm_pvh_write(buf, 64, &p), -EINVAL, "short buffer refused");
}

static uint8_t sum(const uint8_t *p, size_t n)
{
	uint8_t s = 0;

	while (n--)
		s += *p++;
	return s;
}

static void test_mptable_cpus(unsigned ncpus)
{
	static uint8_t buf[LBX_MPTABLE_MAX];
	const uint8_t *mpc = buf + 16, *e;
	unsigned cpus = 0, bsp = 0, ioapics = 0, ioints = 0, lints = 0, buses = 0;
	unsigned identity = 0, extint_pins = 0, irq0_pin = 99;
	uint16_t len, count;

	memset(buf, 0xee, sizeof(buf));
	is_int(vmm_mptable_write(buf, sizeof(buf), LBX_MPTABLE_ADDR, ncpus, 0x806f8, 0x178bfbff), 0,
	       "%u vCPUs: MP table written", ncpus);
	ok(!memcmp(buf, "_MP_", 4) && sum(buf, 16) == 0 && buf[8] == 1 && buf[9] == 4,
	   "%u vCPUs: floating pointer signature, checksum, length 1, spec 1.4", ncpus);
	is_int(get(buf + 4, 4), LBX_MPTABLE_ADDR + 16, "%u vCPUs: physptr to the table", ncpus);
	len = (uint16_t)get(mpc + 4, 2);
	count = (uint16_t)get(mpc + 34, 2);
	ok(!memcmp(mpc, "PCMP", 4) && sum(mpc, len) == 0 && mpc[6] == 4,
	   "%u vCPUs: config table signature and checksum", ncpus);
	is_int(16 + len, vmm_mptable_size(ncpus), "%u vCPUs: size as computed", ncpus);
	is_int(get(mpc + 36, 4), LBX_LAPIC_ADDR, "%u vCPUs: LAPIC at 0xfee00000", ncpus);
	e = mpc + 44;
	for (unsigned i = 0; i < count; i++) {
		switch (e[0]) {
		case 0:
			cpus += e[1] == cpus && (e[3] & 1);
			bsp += (e[3] & 2) ? 1 : 0;
			e += 20;
			break;
		case 1: buses += !memcmp(e + 2, "ISA   ", 6); e += 8; break;
		case 2: ioapics += e[1] == ncpus && get(e + 4, 4) == LBX_IOAPIC_ADDR; e += 8; break;
		case 3:
			ioints += e[6] == ncpus;
			identity += e[1] == LBX_MP_INT && e[5] == e[7];
			extint_pins += e[1] == LBX_MP_EXTINT;
			if (e[1] == LBX_MP_INT && e[5] == 0)
				irq0_pin = e[7];
			e += 8;
			break;
		case 4: lints++; e += 8; break;
		default: e += 8; break;
		}
	}
	ok(e == mpc + len, "%u vCPUs: entry count matches the table length", ncpus);
	is_int(cpus, ncpus, "%u vCPUs: enabled processors with APIC IDs 0..n-1", ncpus);
	is_int(bsp, 1, "%u vCPUs: one bootstrap processor", ncpus);
	ok(buses == 1 && ioapics == 1 && ioints == LBX_IOAPIC_PINS && lints == 2,
	   "%u vCPUs: ISA bus, IOAPIC, %d I/O and 2 local interrupts", ncpus, LBX_IOAPIC_PINS);
	/* KVM's default GSI routing: GSI n on IOAPIC pin n; the PIT raises GSI 0. */
	is_int(irq0_pin, 0, "%u vCPUs: IRQ 0 (the in-kernel PIT's GSI 0) on IOAPIC pin 0", ncpus);
	is_int(identity, LBX_IOAPIC_PINS, "%u vCPUs: every ISA IRQ n on pin n, as KVM routes it",
	       ncpus);
	is_int(extint_pins, 0, "%u vCPUs: no IOAPIC pin claims ExtINT (KVM wires none)", ncpus);
}

static void test_mptable(void)
{
	uint8_t small[64];

	test_mptable_cpus(1);
	test_mptable_cpus(2);
	test_mptable_cpus(LBX_MAX_CPUS);
	is_int(vmm_mptable_write(small, sizeof(small), LBX_MPTABLE_ADDR, 0, 0, 0), -EINVAL, "0 vCPUs refused");
	is_int(vmm_mptable_write(small, sizeof(small), LBX_MPTABLE_ADDR, 4, 0, 0), -ENOSPC,
	       "short buffer refused");
}

static void test_gdt(void)
{
	uint64_t gdt[LBX_GDT_ENTRIES];
	struct kvm_segment cs, ds, c32, tr;

	vmm_gdt_build(gdt);
	is_int(gdt[2], 0x00af9b000000ffffULL, "0x10: flat 64-bit code descriptor");
	is_int(gdt[3], 0x00cf93000000ffffULL, "0x18: flat data descriptor");
	is_int(gdt[1], 0x00cf9b000000ffffULL, "0x08: flat 32-bit code descriptor (PVH)");
	cs = vmm_gdt_segment(gdt, LBX_SEL_CODE64);
	ds = vmm_gdt_segment(gdt, LBX_SEL_DATA);
	c32 = vmm_gdt_segment(gdt, LBX_SEL_CODE32);
	tr = vmm_gdt_segment(gdt, LBX_SEL_TSS);
	ok(cs.selector == 0x10 && cs.l == 1 && cs.db == 0 && cs.type == 0xb && cs.present && cs.s,
	   "CS: selector 0x10, long mode, execute/read");
	ok(ds.selector == 0x18 && ds.limit == 0xffffffff && ds.g && ds.db && ds.type == 3,
	   "DS: selector 0x18, 4 GiB flat, read/write");
	ok(c32.db == 1 && c32.l == 0 && c32.limit == 0xffffffff && c32.base == 0,
	   "PVH CS: 32-bit, base 0, limit 4 GiB");
	ok(tr.type == 0xb && tr.s == 0 && tr.present, "TR: busy TSS");
}

static void test_cpuid(void)
{
	struct kvm_cpuid_entry2 e[5];

	memset(e, 0, sizeof(e));
	e[0].function = 1;
	e[0].ebx = 0xff00ff40;
	e[1].function = 0xb;
	e[1].index = 0;
	e[2].function = 0xb;
	e[2].index = 1;
	e[3].function = 0x40000000;
	e[4].function = 4;
	e[4].eax = 0x121;
	vmm_cpuid_patch(e, 5, 2, 3);
	is_int(e[0].ebx >> 24, 2, "leaf 1: initial APIC ID = vCPU index");
	is_int(e[0].ebx >> 16 & 0xff, 3, "leaf 1: logical processors = vCPUs");
	is_int(e[0].ebx & 0xffff, 0xff40, "leaf 1: CLFLUSH size kept");
	ok(e[0].ecx >> 31 && e[0].edx & LBX_CPUID_HTT_BIT, "leaf 1: hypervisor and HTT bits");
	ok(e[1].ebx == 1 && (e[1].ecx >> 8 & 0xff) == 1 && e[1].edx == 2,
	   "leaf 0xb/0: SMT level, one thread, x2APIC ID");
	ok(e[2].ebx == 3 && (e[2].ecx >> 8 & 0xff) == 2 && e[2].eax == 2,
	   "leaf 0xb/1: core level, 3 cores, shift 2");
	ok(!memcmp(&e[3].ebx, "KVMK", 4) && !memcmp(&e[3].ecx, "VMKV", 4) && e[3].eax >= 0x40000001,
	   "0x40000000: KVM signature");
	is_int(e[4].eax >> 26, 2, "leaf 4: cores per package - 1");
	ok(!(e[0].ecx & LBX_CPUID_TSC_DEADLINE_BIT), "leaf 1: no TSC-deadline bit of its own");
	vmm_cpuid_add_kvm_features(e, 5, false);
	ok(!(e[0].ecx & LBX_CPUID_TSC_DEADLINE_BIT), "no TSC-deadline timer where KVM has none");
	vmm_cpuid_add_kvm_features(e, 5, true);
	ok(e[0].ecx & LBX_CPUID_TSC_DEADLINE_BIT,
	   "leaf 1: the TSC-deadline timer KVM_CAP_TSC_DEADLINE_TIMER offers (so Linux does not "
	   "calibrate the LAPIC timer against the PIT)");
	is_int(e[4].eax >> 26, 2, "other leaves untouched");
}

static void test_initrd_place(void)
{
	is_int(vmm_initrd_place(12345, 0x2000000, 0x4000000), 0x3ffc000 & ~0xfffULL,
	       "initrd as high as fits, page aligned");
	is_int(vmm_initrd_place(0x3000000, 0x2000000, 0x4000000), 0, "initrd over the kernel refused");
	is_int(vmm_initrd_place(4096, 0x2000000, 0x2001000), 0x2000000, "exact fit");
	is_int(vmm_initrd_place(1, 0, ~0ULL), 0xfffffffffffff000ULL, "top of the address space, no wrap");
}

static void test_cmdline_max(void)
{
	struct vmm_kernel k = { .kind = VMM_KERNEL_ELF };

	/* Linux x86 keeps COMMAND_LINE_SIZE - 1 bytes and drops the rest silently. */
	is_int(vmm_boot_cmdline_max(&k), 2047, "an ELF vmlinux keeps 2047 bytes");
	k.kind = VMM_KERNEL_BZIMAGE;
	k.version = 0x020f;
	k.setup_hdr[LBX_HDR_CMDLINE_SIZE - LBX_ZP_HDR] = 0xff;
	k.setup_hdr[LBX_HDR_CMDLINE_SIZE - LBX_ZP_HDR + 1] = 0x07;
	is_int(vmm_boot_cmdline_max(&k), 2047, "a bzImage: its cmdline_size");
	k.setup_hdr[LBX_HDR_CMDLINE_SIZE - LBX_ZP_HDR + 1] = 0xff;
	is_int(vmm_boot_cmdline_max(&k), LBX_CMDLINE_MAX - 1, "no more than lbx-vmm's buffer");
	k.version = 0x0205;
	is_int(vmm_boot_cmdline_max(&k), 255, "before protocol 2.06: 255");
}

int main(void)
{
	test_offsets();
	test_layout();
	test_e820();
	test_zeropage_vmlinux();
	test_zeropage_bzimage();
	test_pvh();
	test_mptable();
	test_gdt();
	test_cpuid();
	test_initrd_place();
	test_cmdline_max();
	return tap_done();
}
