/* SPDX-License-Identifier: MIT */
#include "kernel_image.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "layout.h"
#include "log.h"
#include "reader.h"

#define HEAD_MAX 65536
#define NOTE_MAX 65536
#define PT_LOAD 1
#define PT_NOTE 4
#define EM_X86_64 62
#define ET_EXEC 2
#define ELF_PHDR_SIZE 56
#define XEN_ELFNOTE_PHYS32_ENTRY 18

static int read_phdr(struct lbx_reader *r, uint32_t *type, struct vmm_elf_segment *s)
{
	uint32_t flags;
	uint64_t vaddr, align;

	if (lbx_read_u32le(r, type) || lbx_read_u32le(r, &flags) || lbx_read_u64le(r, &s->offset) ||
	    lbx_read_u64le(r, &vaddr) || lbx_read_u64le(r, &s->paddr) ||
	    lbx_read_u64le(r, &s->filesz) || lbx_read_u64le(r, &s->memsz) ||
	    lbx_read_u64le(r, &align))
		return -EBADMSG;
	return 0;
}

static int add_segment(struct vmm_kernel *k, const struct vmm_elf_segment *s, char *err,
		       size_t errsz)
{
	if (s->filesz > s->memsz || s->offset > k->file_size || s->filesz > k->file_size - s->offset)
		return lbx_fail_msg(err, errsz, -EINVAL, "ELF segment lies outside the file");
	if (s->paddr + s->memsz < s->paddr || s->paddr < LBX_HIMEM_START)
		return lbx_fail_msg(err, errsz, -EINVAL, "ELF segment at 0x%llx is below 1 MiB",
			    (unsigned long long)s->paddr);
	if (k->nseg == VMM_ELF_MAX_SEGMENTS)
		return lbx_fail_msg(err, errsz, -EINVAL, "too many ELF load segments");
	k->seg[k->nseg++] = *s;
	if (k->nseg == 1 || s->paddr < k->load_lo)
		k->load_lo = s->paddr;
	if (s->paddr + s->memsz > k->load_hi)
		k->load_hi = s->paddr + s->memsz;
	return 0;
}

/* ELF-64 object file format: e_ident, e_type, e_machine, ..., e_phnum. */
int vmm_elf_parse_header(const uint8_t *buf, size_t len, uint64_t file_size,
			 struct vmm_kernel *k, char *err, size_t errsz)
{
	struct lbx_reader r, ph;
	const uint8_t *ident;
	uint16_t type, machine, ehsize, phentsize, phnum;
	uint32_t version, flags;
	uint64_t phoff, shoff;

	memset(k, 0, sizeof(*k));
	k->kind = VMM_KERNEL_ELF;
	k->file_size = file_size;
	lbx_reader_init(&r, buf, len);
	if (lbx_read_bytes(&r, 16, &ident) || memcmp(ident, "\177ELF", 4))
		return lbx_fail_msg(err, errsz, -ENOEXEC, "not an ELF file");
	if (ident[4] != 2 || ident[5] != 1)
		return lbx_fail_msg(err, errsz, -ENOEXEC, "not a 64-bit little-endian ELF file");
	if (lbx_read_u16le(&r, &type) || lbx_read_u16le(&r, &machine) ||
	    lbx_read_u32le(&r, &version) || lbx_read_u64le(&r, &k->entry64) ||
	    lbx_read_u64le(&r, &phoff) || lbx_read_u64le(&r, &shoff) ||
	    lbx_read_u32le(&r, &flags) || lbx_read_u16le(&r, &ehsize) ||
	    lbx_read_u16le(&r, &phentsize) || lbx_read_u16le(&r, &phnum))
		return lbx_fail_msg(err, errsz, -ENOEXEC, "truncated ELF header");
	if (machine != EM_X86_64 || type != ET_EXEC)
		return lbx_fail_msg(err, errsz, -ENOEXEC, "not an x86-64 executable ELF file");
	if (phentsize != ELF_PHDR_SIZE || phnum == 0 || phoff > len ||
	    (size_t)phnum * ELF_PHDR_SIZE > len - phoff)
		return lbx_fail_msg(err, errsz, -ENOEXEC, "bad ELF program headers");
	k->phoff = phoff;
	k->phnum = phnum;
	lbx_reader_init(&ph, buf + phoff, (size_t)phnum * ELF_PHDR_SIZE);
	for (unsigned i = 0; i < phnum; i++) {
		struct vmm_elf_segment s;
		uint32_t ptype;
		int rc;

		if (read_phdr(&ph, &ptype, &s))
			return lbx_fail_msg(err, errsz, -ENOEXEC, "truncated ELF program header");
		if (ptype != PT_LOAD || s.memsz == 0)
			continue;
		rc = add_segment(k, &s, err, errsz);
		if (rc)
			return rc;
	}
	if (k->nseg == 0)
		return lbx_fail_msg(err, errsz, -ENOEXEC, "ELF file has nothing to load");
	if (k->entry64 < k->load_lo || k->entry64 >= k->load_hi)
		return lbx_fail_msg(err, errsz, -ENOEXEC, "ELF entry point 0x%llx is outside the image",
			    (unsigned long long)k->entry64);
	return 0;
}

/*
 * ELF note: namesz, descsz, type, then name and desc each padded to 4.
 * Xen's PHYS32_ENTRY desc is a 32-bit address, written as 4 or 8 bytes.
 */
int vmm_elf_parse_note(const uint8_t *buf, size_t len, struct vmm_kernel *k)
{
	struct lbx_reader r;

	lbx_reader_init(&r, buf, len);
	while (lbx_reader_left(&r) >= 12) {
		uint32_t namesz, descsz, type, entry;
		const uint8_t *name, *desc;

		if (lbx_read_u32le(&r, &namesz) || lbx_read_u32le(&r, &descsz) ||
		    lbx_read_u32le(&r, &type) || namesz > NOTE_MAX || descsz > NOTE_MAX ||
		    lbx_read_bytes(&r, (namesz + 3) & ~3U, &name) ||
		    lbx_read_bytes(&r, (descsz + 3) & ~3U, &desc))
			return -EBADMSG;
		if (namesz != 4 || memcmp(name, "Xen", 4) || type != XEN_ELFNOTE_PHYS32_ENTRY)
			continue;
		if (descsz != 4 && descsz != 8)
			return -EBADMSG;
		entry = (uint32_t)desc[0] | (uint32_t)desc[1] << 8 | (uint32_t)desc[2] << 16 |
			(uint32_t)desc[3] << 24;
		k->has_pvh = true;
		k->pvh_entry = entry;
	}
	return 0;
}

int vmm_bzimage_parse_header(const uint8_t *buf, size_t len, uint64_t file_size,
			     struct vmm_kernel *k, char *err, size_t errsz)
{
	struct lbx_reader r;
	uint8_t setup_sects, xlf_lo, xlf_hi;
	size_t hdr_end;

	memset(k, 0, sizeof(*k));
	k->kind = VMM_KERNEL_BZIMAGE;
	k->file_size = file_size;
	if (len < LBX_HDR_END_MAX || buf[LBX_HDR_BOOT_FLAG] != 0x55 ||
	    buf[LBX_HDR_BOOT_FLAG + 1] != 0xaa || memcmp(buf + LBX_HDR_HEADER, "HdrS", 4))
		return lbx_fail_msg(err, errsz, -ENOEXEC, "not a vmlinux ELF or bzImage");
	k->version = (uint16_t)(buf[LBX_HDR_VERSION] | buf[LBX_HDR_VERSION + 1] << 8);
	xlf_lo = buf[LBX_HDR_XLOADFLAGS];
	xlf_hi = buf[LBX_HDR_XLOADFLAGS + 1];
	(void)xlf_hi;
	if (k->version < LBX_BOOT_MIN_VERSION || !(xlf_lo & LBX_XLF_KERNEL_64))
		return lbx_fail_msg(err, errsz, -ENOEXEC,
			    "bzImage (boot protocol %u.%02u) has no 64-bit entry point",
			    k->version >> 8, k->version & 0xff);
	/* boot.rst: the header ends at 0x202 + the byte at 0x201. */
	hdr_end = 0x202 + buf[LBX_HDR_JUMP + 1];
	if (hdr_end > LBX_HDR_END_MAX)
		return lbx_fail_msg(err, errsz, -ENOEXEC, "bzImage setup header too long");
	k->setup_hdr_len = hdr_end - LBX_ZP_HDR;
	memcpy(k->setup_hdr, buf + LBX_ZP_HDR, k->setup_hdr_len);

	lbx_reader_init(&r, buf + LBX_HDR_INITRD_ADDR_MAX, 4);
	if (lbx_read_u32le(&r, &k->initrd_addr_max))
		return -EBADMSG;
	lbx_reader_init(&r, buf + LBX_HDR_INIT_SIZE, 4);
	if (lbx_read_u32le(&r, &k->init_size))
		return -EBADMSG;
	/* boot.rst: "If setup_sects is 0, the real value is 4." */
	setup_sects = buf[LBX_HDR_SETUP_SECTS] ? buf[LBX_HDR_SETUP_SECTS] : 4;
	k->pm_offset = (uint64_t)(setup_sects + 1) * 512;
	if (k->pm_offset >= file_size)
		return lbx_fail_msg(err, errsz, -ENOEXEC, "bzImage is truncated");
	k->pm_size = file_size - k->pm_offset;
	k->load_lo = LBX_BZIMAGE_LOAD_ADDR;
	k->load_hi = LBX_BZIMAGE_LOAD_ADDR + LBX_MAX(k->pm_size, (uint64_t)k->init_size);
	k->entry64 = LBX_BZIMAGE_LOAD_ADDR + LBX_BZ_ENTRY64_OFFSET;
	k->nseg = 1;
	k->seg[0] = (struct vmm_elf_segment){ k->pm_offset, LBX_BZIMAGE_LOAD_ADDR, k->pm_size,
					      k->pm_size };
	return 0;
}

static int read_notes(int fd, const uint8_t *head, size_t len, struct vmm_kernel *k)
{
	struct lbx_reader r;

	/* vmm_elf_parse_header checked that the headers lie inside head. */
	if (k->phoff > len || (size_t)k->phnum * ELF_PHDR_SIZE > len - k->phoff)
		return -EBADMSG;
	lbx_reader_init(&r, head + k->phoff, (size_t)k->phnum * ELF_PHDR_SIZE);
	for (unsigned i = 0; i < k->phnum; i++) {
		struct vmm_elf_segment s;
		uint32_t type;
		uint8_t *note;
		int rc;

		if (read_phdr(&r, &type, &s))
			return -EBADMSG;
		if (type != PT_NOTE || s.filesz == 0 || s.filesz > NOTE_MAX ||
		    s.offset > k->file_size || s.filesz > k->file_size - s.offset)
			continue;
		note = malloc(s.filesz);
		if (!note)
			return -ENOMEM;
		rc = pread(fd, note, s.filesz, (off_t)s.offset) == (ssize_t)s.filesz
			     ? vmm_elf_parse_note(note, s.filesz, k)
			     : -EIO;
		free(note);
		if (rc)
			return rc;
	}
	return 0;
}

int vmm_kernel_parse(int fd, struct vmm_kernel *k, char *err, size_t errsz)
{
	static uint8_t head[HEAD_MAX];
	struct stat st;
	ssize_t n;
	int rc;

	if (fstat(fd, &st) < 0)
		return lbx_fail_msg(err, errsz, -errno, "cannot stat: %s", strerror(errno));
	if (!S_ISREG(st.st_mode))
		return lbx_fail_msg(err, errsz, -EINVAL, "not a regular file");
	n = pread(fd, head, sizeof(head), 0);
	if (n < 0)
		return lbx_fail_msg(err, errsz, -errno, "cannot read: %s", strerror(errno));
	if (n >= 4 && !memcmp(head, "\177ELF", 4)) {
		rc = vmm_elf_parse_header(head, (size_t)n, (uint64_t)st.st_size, k, err, errsz);
		if (rc == 0 && read_notes(fd, head, (size_t)n, k))
			rc = lbx_fail_msg(err, errsz, -ENOEXEC, "malformed ELF note");
		return rc;
	}
	return vmm_bzimage_parse_header(head, (size_t)n, (uint64_t)st.st_size, k, err, errsz);
}

int vmm_kernel_load(int fd, const struct vmm_kernel *k, const struct lbx_guest_mem *mem,
		    char *err, size_t errsz)
{
	for (unsigned i = 0; i < k->nseg; i++) {
		const struct vmm_elf_segment *s = &k->seg[i];
		uint8_t *dst = lbx_guest_mem_ptr(mem, s->paddr, s->memsz);
		uint64_t done = 0;

		if (!dst)
			return lbx_fail_msg(err, errsz, -EFAULT,
				    "kernel segment 0x%llx+0x%llx does not fit in guest RAM",
				    (unsigned long long)s->paddr, (unsigned long long)s->memsz);
		while (done < s->filesz) {
			ssize_t n = pread(fd, dst + done, s->filesz - done, (off_t)(s->offset + done));

			if (n <= 0)
				return lbx_fail_msg(err, errsz, -EIO, "cannot read kernel: %s",
					    n < 0 ? strerror(errno) : "file shrank");
			done += (uint64_t)n;
		}
		/* The rest (.bss) is already zero: the RAM is a fresh memfd. */
	}
	return 0;
}
