/* SPDX-License-Identifier: MIT */
/*
 * Reads back what the boot loader left, the way Linux reads it, and prints
 * it in lbx-vmm's --dump-boot-info format so the test can compare the two.
 * The structures are declared here independently of vmm/x86/bootparam.h (as
 * packed structs, like Linux's bootparam.h) so an offset mistake on one
 * side shows up as a difference.
 */
#include "probe.h"

struct __attribute__((packed)) e820_entry {
	uint64_t addr, size;
	uint32_t type;
};

struct __attribute__((packed)) zero_page {
	uint8_t pad0[0x0c0];
	uint32_t ext_ramdisk_image;	/* 0x0c0 */
	uint32_t ext_ramdisk_size;	/* 0x0c4 */
	uint32_t ext_cmd_line_ptr;	/* 0x0c8 */
	uint8_t pad1[0x1e8 - 0x0cc];
	uint8_t e820_entries;		/* 0x1e8 */
	uint8_t pad2[0x1fe - 0x1e9];
	uint16_t boot_flag;		/* 0x1fe */
	uint16_t jump;			/* 0x200 */
	uint32_t header;		/* 0x202 */
	uint16_t version;		/* 0x206 */
	uint8_t pad3[0x210 - 0x208];
	uint8_t type_of_loader;		/* 0x210 */
	uint8_t loadflags;		/* 0x211 */
	uint8_t pad4[0x218 - 0x212];
	uint32_t ramdisk_image;		/* 0x218 */
	uint32_t ramdisk_size;		/* 0x21c */
	uint8_t pad5[0x228 - 0x220];
	uint32_t cmd_line_ptr;		/* 0x228 */
	uint8_t pad6[0x2d0 - 0x22c];
	struct e820_entry e820[128];	/* 0x2d0 */
};

struct __attribute__((packed)) start_info {
	uint32_t magic, version, flags, nr_modules;
	uint64_t modlist_paddr, cmdline_paddr, rsdp_paddr, memmap_paddr;
	uint32_t memmap_entries, reserved;
};

struct __attribute__((packed)) memmap_entry {
	uint64_t addr, size;
	uint32_t type, reserved;
};

struct __attribute__((packed)) mod_entry {
	uint64_t paddr, size, cmdline_paddr, reserved;
};

extern char _start[], pvh_start[];

static uint32_t sum_bytes(const volatile uint8_t *p, uint64_t n)
{
	uint32_t s = 0;

	while (n--)
		s = s * 31 + *p++;
	return s;
}

static void put_e820(uint64_t addr, uint64_t size, uint32_t type)
{
	put_str("e820 ");
	put_hex(addr);
	put_str(" ");
	put_hex(size);
	put_str(" ");
	put_dec(type);
	put_str("\n");
}

static void put_initrd(uint64_t addr, uint64_t size)
{
	put_str("initrd ");
	put_hex(addr);
	put_str(" ");
	put_hex(size);
	put_str("\n");
	if (size)
		put_kv_hex("initrd_sum", sum_bytes((const volatile uint8_t *)addr, size));
}

static void linux64(uint64_t info)
{
	const volatile struct zero_page *zp = (const volatile struct zero_page *)info;

	put_kv_hex("boot_flag", zp->boot_flag);
	put_kv_hex("header", zp->header);
	put_kv_hex("type_of_loader", zp->type_of_loader);
	put_kv_hex("cmdline_addr", zp->cmd_line_ptr | (uint64_t)zp->ext_cmd_line_ptr << 32);
	put_initrd(zp->ramdisk_image | (uint64_t)zp->ext_ramdisk_image << 32,
		   zp->ramdisk_size | (uint64_t)zp->ext_ramdisk_size << 32);
	put_kv_dec("e820_entries", zp->e820_entries);
	for (unsigned i = 0; i < zp->e820_entries && i < 128; i++)
		put_e820(zp->e820[i].addr, zp->e820[i].size, zp->e820[i].type);
}

static void pvh(uint64_t info)
{
	const volatile struct start_info *si = (const volatile struct start_info *)info;
	const volatile struct memmap_entry *mm =
		(const volatile struct memmap_entry *)si->memmap_paddr;

	put_kv_hex("pvh_magic", si->magic);
	put_kv_dec("pvh_version", si->version);
	put_kv_hex("cmdline_addr", si->cmdline_paddr);
	if (si->nr_modules) {
		const volatile struct mod_entry *m = (const volatile struct mod_entry *)si->modlist_paddr;

		put_initrd(m->paddr, m->size);
	} else {
		put_initrd(0, 0);
	}
	put_kv_dec("e820_entries", si->memmap_entries);
	for (unsigned i = 0; i < si->memmap_entries && i < 128; i++)
		put_e820(mm[i].addr, mm[i].size, mm[i].type);
}

static uint8_t checksum(const volatile uint8_t *p, uint32_t n)
{
	uint8_t s = 0;

	while (n--)
		s += *p++;
	return s;
}

/*
 * MP spec 1.4 §4: find "_MP_" on a 16-byte boundary in the BIOS ROM window
 * (where Linux's smp_scan_config looks), check both checksums, count the
 * processor entries of the configuration table.
 */
static void mptable(void)
{
	for (uint64_t a = 0xf0000; a < 0x100000; a += 16) {
		const volatile uint8_t *f = (const volatile uint8_t *)a;
		const volatile uint8_t *c, *e;
		uint32_t cpus = 0, bsp = 0;
		uint16_t len, count;

		if (f[0] != '_' || f[1] != 'M' || f[2] != 'P' || f[3] != '_' || checksum(f, 16))
			continue;
		c = (const volatile uint8_t *)(uint64_t)(*(const volatile uint32_t *)(f + 4));
		len = *(const volatile uint16_t *)(c + 4);
		count = *(const volatile uint16_t *)(c + 34);
		if (c[0] != 'P' || c[1] != 'C' || c[2] != 'M' || c[3] != 'P' || checksum(c, len)) {
			put_str("mptable bad-config-table\n");
			return;
		}
		e = c + 44;
		for (unsigned i = 0; i < count && e < c + len; i++) {
			if (e[0] == 0) {
				cpus++;
				bsp += (e[3] & 2) ? 1 : 0;
				e += 20;
			} else {
				e += 8;
			}
		}
		put_str("mptable ");
		put_hex(a);
		put_str(" cpus ");
		put_dec(cpus);
		put_str("\n");
		put_kv_dec("mptable_bsp", bsp);
		put_kv_hex("mptable_lapic", *(const volatile uint32_t *)(c + 36));
		return;
	}
	put_str("mptable none\n");
}

static void cpu_state(void)
{
	uint16_t cs, ds, ss;
	uint64_t flags, cr0, cr4;
	uint32_t a, b, c, d;

	__asm__ volatile("mov %%cs, %0; mov %%ds, %1; mov %%ss, %2" : "=r"(cs), "=r"(ds), "=r"(ss));
	__asm__ volatile("pushfq; pop %0" : "=r"(flags));
	__asm__ volatile("mov %%cr0, %0; mov %%cr4, %1" : "=r"(cr0), "=r"(cr4));
	put_kv_hex("cs", cs);
	put_kv_hex("ds", ds);
	put_kv_hex("ss", ss);
	put_kv_dec("if", (flags >> 9) & 1);
	put_kv_dec("cr0_pg", cr0 >> 31 & 1);
	put_kv_dec("cr4_pae", cr4 >> 5 & 1);
	__asm__ volatile("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d) : "a"(1), "c"(0));
	put_kv_dec("cpuid_hypervisor", c >> 31);
	put_kv_dec("cpuid_apic_id", b >> 24);
	__asm__ volatile("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d) : "a"(0x40000000), "c"(0));
	put_str("cpuid_signature ");
	{
		char sig[13];

		memcpy(sig, &b, 4);
		memcpy(sig + 4, &c, 4);
		memcpy(sig + 8, &d, 4);
		sig[12] = 0;
		put_str(sig);
	}
	put_str("\n");
}

void probe_bootinfo(const struct probe_boot *b)
{
	put_str("protocol ");
	put_str(b->protocol == PROBE_PVH ? "pvh\n" : "linux64\n");
	put_kv_hex("entry", b->protocol == PROBE_PVH ? (uint64_t)pvh_start : (uint64_t)_start);
	put_kv_hex("boot_info", b->info);
	put_str("cmdline ");
	put_str(b->cmdline);
	put_str("\n");
	if (b->protocol == PROBE_PVH)
		pvh(b->info);
	else
		linux64(b->info);
	mptable();
	cpu_state();
	put_str("probe: bootinfo done\n");
}
