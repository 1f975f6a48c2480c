/* SPDX-License-Identifier: MIT */
#include "boot.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bootparam.h"
#include "gdt.h"
#include "layout.h"
#include "log.h"
#include "machine.h"
#include "mptable.h"
#include "pagetables.h"
#include "pvh.h"
#include "writer.h"
#include "zeropage.h"

#define PAGE 4096ULL
/*
 * A vmlinux has no setup header to declare initrd_addr_max; use what every
 * x86-64 bzImage declares (arch/x86/boot/header.S: 0x7fffffff).
 */
#define DEFAULT_INITRD_ADDR_MAX 0x7fffffffULL

uint64_t vmm_initrd_place(uint64_t size, uint64_t floor, uint64_t limit)
{
	uint64_t addr;

	if (size == 0 || size > limit)
		return 0;
	addr = (limit - size) & ~(PAGE - 1);
	floor = (floor + PAGE - 1) & ~(PAGE - 1);
	return addr >= floor ? addr : 0;
}

static int load_file_at(const struct lbx_guest_mem *mem, int fd, uint64_t gpa, uint64_t size)
{
	uint8_t *dst = lbx_guest_mem_ptr(mem, gpa, size);
	uint64_t done = 0;

	if (!dst)
		return -EFAULT;
	while (done < size) {
		ssize_t n = pread(fd, dst + done, size - done, (off_t)done);

		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		done += (uint64_t)n;
	}
	return 0;
}

static int load_initrd(const struct lbx_guest_mem *mem, const struct vmm_boot_params *p,
		       const struct vmm_kernel *k, struct vmm_boot *b, char *err, size_t errsz)
{
	uint64_t limit = vmm_ram_low_bytes(p->ram_bytes);
	uint64_t addr_max = DEFAULT_INITRD_ADDR_MAX;
	struct stat st;
	int fd, rc;

	if (k->kind == VMM_KERNEL_BZIMAGE && k->initrd_addr_max)
		addr_max = k->initrd_addr_max;
	if (addr_max + 1 < limit)
		limit = addr_max + 1;
	fd = open(p->initrd_path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return lbx_fail_msg(err, errsz, -errno, "initrd %s: %s", p->initrd_path, strerror(errno));
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size == 0) {
		close(fd);
		return lbx_fail_msg(err, errsz, -EINVAL, "initrd %s: not a non-empty regular file",
			    p->initrd_path);
	}
	b->initrd_size = (uint64_t)st.st_size;
	b->initrd_addr = vmm_initrd_place(b->initrd_size, b->kernel_hi, limit);
	rc = b->initrd_addr ? load_file_at(mem, fd, b->initrd_addr, b->initrd_size) : -ENOSPC;
	close(fd);
	if (rc)
		return lbx_fail_msg(err, errsz, rc, "initrd %s (%llu bytes) does not fit in guest RAM",
			    p->initrd_path, (unsigned long long)b->initrd_size);
	return 0;
}

static int load_kernel(const struct lbx_guest_mem *mem, const struct vmm_boot_params *p,
		       struct vmm_kernel *k, struct vmm_boot *b, char *err, size_t errsz)
{
	char why[160];
	int fd = open(p->kernel_path, O_RDONLY | O_CLOEXEC);
	int rc;

	if (fd < 0)
		return lbx_fail_msg(err, errsz, -errno, "kernel %s: %s", p->kernel_path, strerror(errno));
	rc = vmm_kernel_parse(fd, k, why, sizeof(why));
	if (rc == 0 && (k->load_hi > vmm_ram_low_bytes(p->ram_bytes) ||
			!vmm_e820_is_ram(&b->e820, k->load_lo, k->load_hi - k->load_lo)))
		rc = lbx_fail_msg(why, sizeof(why), -ENOSPC, "needs RAM up to 0x%llx, more than --mem gives",
			  (unsigned long long)k->load_hi);
	if (rc == 0)
		rc = vmm_kernel_load(fd, k, mem, why, sizeof(why));
	close(fd);
	if (rc)
		return lbx_fail_msg(err, errsz, rc, "kernel %s: %s", p->kernel_path, why);
	b->kind = k->kind;
	b->kernel_lo = k->load_lo;
	b->kernel_hi = k->load_hi;
	return 0;
}

int vmm_boot_check_kernel(const char *path, char *err, size_t errsz)
{
	static struct vmm_kernel k;
	char why[160];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	int rc;

	if (fd < 0)
		return lbx_fail_msg(err, errsz, -errno, "kernel %s: %s", path, strerror(errno));
	rc = vmm_kernel_parse(fd, &k, why, sizeof(why));
	close(fd);
	return rc ? lbx_fail_msg(err, errsz, rc, "kernel %s: %s", path, why) : 0;
}

static int choose_protocol(const struct vmm_boot_params *p, const struct vmm_kernel *k,
			   struct vmm_boot *b, char *err, size_t errsz)
{
	b->protocol = p->protocol;
	if (b->protocol == VMM_BOOT_AUTO)
		b->protocol = k->has_pvh ? VMM_BOOT_PVH : VMM_BOOT_LINUX64;
	if (b->protocol == VMM_BOOT_PVH && !k->has_pvh)
		return lbx_fail_msg(err, errsz, -ENOEXEC, "kernel %s: no PVH entry note (XEN_ELFNOTE_PHYS32_ENTRY)",
			    p->kernel_path);
	b->entry = b->protocol == VMM_BOOT_PVH ? k->pvh_entry : k->entry64;
	b->info_addr = b->protocol == VMM_BOOT_PVH ? LBX_PVH_INFO_ADDR : LBX_ZERO_PAGE_ADDR;
	return 0;
}

size_t vmm_boot_cmdline_max(const struct vmm_kernel *k)
{
	size_t max = LBX_LINUX_CMDLINE_MAX;

	/* boot.rst: cmdline_size (2.06+) is the longest line the kernel takes. */
	if (k->kind == VMM_KERNEL_BZIMAGE && k->version >= 0x0206) {
		uint32_t sz = (uint32_t)k->setup_hdr[LBX_HDR_CMDLINE_SIZE - LBX_ZP_HDR] |
			      (uint32_t)k->setup_hdr[LBX_HDR_CMDLINE_SIZE - LBX_ZP_HDR + 1] << 8 |
			      (uint32_t)k->setup_hdr[LBX_HDR_CMDLINE_SIZE - LBX_ZP_HDR + 2] << 16;
		max = LBX_MIN((size_t)LBX_CMDLINE_MAX - 1, (size_t)sz);
	} else if (k->kind == VMM_KERNEL_BZIMAGE) {
		max = 255; /* boot.rst: before 2.06 the line is at most 255 bytes */
	}
	return max;
}

static int write_cmdline(const struct lbx_guest_mem *mem, const struct vmm_boot_params *p,
			 const struct vmm_kernel *k, struct vmm_boot *b, char *err, size_t errsz)
{
	size_t len = strlen(p->cmdline);
	size_t max = vmm_boot_cmdline_max(k);
	uint8_t *dst = lbx_guest_mem_ptr(mem, LBX_CMDLINE_ADDR, LBX_CMDLINE_MAX);

	/* Linux would cut the line short and lose the devices appended last. */
	if (len > max)
		return lbx_fail_msg(err, errsz, -E2BIG,
			    "kernel command line is %zu bytes with the virtio_mmio.device= entries "
			    "lbx-vmm appends, and kernel %s keeps %zu: shorten --cmdline or use "
			    "fewer devices",
			    len, p->kernel_path, max);
	if (!dst)
		return -EFAULT;
	memcpy(dst, p->cmdline, len + 1);
	b->cmdline_len = len;
	return 0;
}

static int write_tables(const struct lbx_guest_mem *mem, const struct vmm_boot_params *p,
			const struct vmm_kernel *k, struct vmm_boot *b)
{
	uint64_t gdt[LBX_GDT_ENTRIES];
	uint8_t *dst = lbx_guest_mem_ptr(mem, LBX_GDT_ADDR, sizeof(gdt));
	uint8_t *mp = lbx_guest_mem_ptr(mem, LBX_MPTABLE_ADDR, LBX_MPTABLE_MAX);
	int rc;

	if (!dst || !mp)
		return -EFAULT;
	vmm_gdt_build(gdt);
	for (unsigned i = 0; i < LBX_GDT_ENTRIES; i++)
		lbx_put_u64le(dst + 8 * i, gdt[i]);
	rc = vmm_pagetables_write(mem);
	if (rc == 0)
		rc = vmm_mptable_write(mp, LBX_MPTABLE_MAX, LBX_MPTABLE_ADDR, p->ncpus,
				       p->cpu_signature, p->cpu_features);
	if (rc)
		return rc;
	if (b->protocol == VMM_BOOT_PVH) {
		struct vmm_pvh_params pp = { LBX_CMDLINE_ADDR, b->initrd_addr, b->initrd_size,
					     &b->e820 };
		uint64_t len = LBX_ZERO_PAGE_ADDR - LBX_PVH_INFO_ADDR;
		uint8_t *info = lbx_guest_mem_ptr(mem, LBX_PVH_INFO_ADDR, len);

		return info ? vmm_pvh_write(info, len, &pp) : -EFAULT;
	}
	struct vmm_zp_params zp = {
		.setup_hdr = k->kind == VMM_KERNEL_BZIMAGE ? k->setup_hdr : NULL,
		.setup_hdr_len = k->setup_hdr_len,
		.cmdline_addr = LBX_CMDLINE_ADDR,
		.cmdline_size = (uint32_t)b->cmdline_len + 1,
		.initrd_addr = b->initrd_addr,
		.initrd_size = b->initrd_size,
		.e820 = &b->e820,
	};
	uint8_t *page = lbx_guest_mem_ptr(mem, LBX_ZERO_PAGE_ADDR, LBX_ZP_SIZE);

	return page ? vmm_zeropage_write(page, &zp) : -EFAULT;
}

int vmm_boot_setup(const struct lbx_guest_mem *mem, const struct vmm_boot_params *p,
		   struct vmm_boot *b, char *err, size_t errsz)
{
	static struct vmm_kernel k;
	int rc;

	memset(b, 0, sizeof(*b));
	b->ncpus = p->ncpus;
	vmm_e820_build(&b->e820, p->ram_bytes);
	rc = load_kernel(mem, p, &k, b, err, errsz);
	if (rc == 0)
		rc = choose_protocol(p, &k, b, err, errsz);
	if (rc == 0 && p->initrd_path)
		rc = load_initrd(mem, p, &k, b, err, errsz);
	if (rc == 0)
		rc = write_cmdline(mem, p, &k, b, err, errsz);
	if (rc == 0 && write_tables(mem, p, &k, b))
		rc = lbx_fail_msg(err, errsz, -EFAULT, "guest RAM too small for the boot tables");
	return rc;
}

static const char *protocol_name(enum vmm_boot_protocol p)
{
	return p == VMM_BOOT_PVH ? "pvh" : "linux64";
}

void vmm_boot_dump(FILE *f, const struct vmm_boot *b, const char *cmdline)
{
	fprintf(f, "protocol %s\n", protocol_name(b->protocol));
	fprintf(f, "kernel %s\n", b->kind == VMM_KERNEL_ELF ? "elf" : "bzimage");
	fprintf(f, "entry 0x%llx\n", (unsigned long long)b->entry);
	fprintf(f, "boot_info 0x%llx\n", (unsigned long long)b->info_addr);
	fprintf(f, "cmdline_addr 0x%llx\n", (unsigned long long)LBX_CMDLINE_ADDR);
	fprintf(f, "cmdline %s\n", cmdline);
	fprintf(f, "initrd 0x%llx 0x%llx\n", (unsigned long long)b->initrd_addr,
		(unsigned long long)b->initrd_size);
	fprintf(f, "e820_entries %u\n", b->e820.n);
	for (unsigned i = 0; i < b->e820.n; i++)
		fprintf(f, "e820 0x%llx 0x%llx %u\n", (unsigned long long)b->e820.e[i].addr,
			(unsigned long long)b->e820.e[i].size, b->e820.e[i].type);
	fprintf(f, "mptable 0x%llx cpus %u\n", (unsigned long long)LBX_MPTABLE_ADDR, b->ncpus);
}
