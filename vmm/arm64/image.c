/* SPDX-License-Identifier: MIT */
#include "image.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "compiler.h"
#include "log.h"
#include "layout.h"
#include "reader.h"

#define PAGE 0x1000ULL
/* booting.rst: an image_size of 0 is a kernel older than 3.17, text_offset 0x80000. */
#define OLD_TEXT_OFFSET 0x80000ULL
#define FLAG_BE		0x1ULL

int vmm_a64_image_parse(const uint8_t *hdr, size_t len, uint64_t file_size,
			struct vmm_a64_image *img, char *err, size_t errsz)
{
	struct lbx_reader r;
	uint32_t code0, code1, magic;

	memset(img, 0, sizeof(*img));
	img->file_size = file_size;
	lbx_reader_init(&r, hdr, len);
	if (lbx_read_u32le(&r, &code0) || lbx_read_u32le(&r, &code1) ||
	    lbx_read_u64le(&r, &img->text_offset) || lbx_read_u64le(&r, &img->image_size) ||
	    lbx_read_u64le(&r, &img->flags) || lbx_read_skip(&r, 24) || lbx_read_u32le(&r, &magic))
		return lbx_fail_msg(err, errsz, -ENOEXEC, "too short for an arm64 Image header");
	if (magic != VMM_A64_IMAGE_MAGIC)
		return lbx_fail_msg(err, errsz, -ENOEXEC,
			    "not an arm64 Image (no ARM\\x64 magic; a vmlinux or Image.gz "
			    "must be made an uncompressed Image)");
	if (img->flags & FLAG_BE)
		return lbx_fail_msg(err, errsz, -ENOEXEC,
			    "a big-endian arm64 Image; lbx-vmm boots little-endian");
	if (img->image_size == 0) {
		img->text_offset = OLD_TEXT_OFFSET;
		img->image_size = file_size;
	}
	if (img->text_offset % PAGE || img->text_offset >= LBX_A64_KERNEL_ALIGN * 16)
		return lbx_fail_msg(err, errsz, -ENOEXEC, "arm64 Image: text_offset 0x%llx is not usable",
			    (unsigned long long)img->text_offset);
	if (img->image_size < file_size)
		return lbx_fail_msg(err, errsz, -ENOEXEC,
			    "arm64 Image: image_size %llu is smaller than the file (%llu bytes)",
			    (unsigned long long)img->image_size, (unsigned long long)file_size);
	return 0;
}

int vmm_a64_place(uint64_t ram_base, uint64_t ram_size, const struct vmm_a64_image *img,
		  uint64_t initrd_size, struct vmm_a64_layout *l, char *err, size_t errsz)
{
	uint64_t ram_end = ram_base + ram_size, base;

	memset(l, 0, sizeof(*l));
	/* The lowest 2 MiB aligned base in RAM: as close to the start of DRAM as possible. */
	base = (ram_base + LBX_A64_KERNEL_ALIGN - 1) & ~(LBX_A64_KERNEL_ALIGN - 1);
	l->kernel_addr = base + img->text_offset;
	l->kernel_end = (l->kernel_addr + img->image_size + PAGE - 1) & ~(PAGE - 1);
	/* The DTB in the last whole 2 MiB region of RAM. */
	l->fdt_addr = (ram_end & ~(LBX_A64_FDT_REGION - 1)) - LBX_A64_FDT_REGION;
	if (ram_size < LBX_A64_FDT_REGION * 2 || l->fdt_addr < l->kernel_end)
		return lbx_fail_msg(err, errsz, -ENOSPC,
			    "%llu MiB of RAM is too little for a %llu KiB arm64 kernel and its "
			    "device tree; give --mem more",
			    (unsigned long long)(ram_size >> 20),
			    (unsigned long long)(img->image_size >> 10));
	if (initrd_size == 0)
		return 0;
	l->initrd_size = initrd_size;
	if (initrd_size > l->fdt_addr - l->kernel_end)
		return lbx_fail_msg(err, errsz, -ENOSPC,
			    "initrd of %llu KiB does not fit in %llu MiB of RAM beside the kernel; "
			    "give --mem more",
			    (unsigned long long)(initrd_size >> 10),
			    (unsigned long long)(ram_size >> 20));
	l->initrd_addr = (l->fdt_addr - initrd_size) & ~(PAGE - 1);
	return 0;
}

/* Read all of fd into guest memory at gpa (already checked to be RAM). */
static int read_into(int fd, const struct lbx_guest_mem *mem, uint64_t gpa, uint64_t size,
		     const char *path, char *err, size_t errsz)
{
	uint8_t *p = lbx_guest_mem_ptr(mem, gpa, size);
	uint64_t done = 0;

	if (!p)
		return lbx_fail_msg(err, errsz, -EFAULT, "%s: does not fit in guest RAM", path);
	while (done < size) {
		ssize_t n = pread(fd, p + done, size - done, (off_t)done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return lbx_fail_msg(err, errsz, n < 0 ? -errno : -EIO, "%s: %s", path,
				    n < 0 ? strerror(errno) : "shorter than its size");
		done += (uint64_t)n;
	}
	return 0;
}

static int open_sized(const char *path, uint64_t *size, char *err, size_t errsz)
{
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return lbx_fail_msg(err, errsz, -errno, "%s: %s", path, strerror(errno));
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return lbx_fail_msg(err, errsz, -EINVAL, "%s: not a regular file", path);
	}
	*size = (uint64_t)st.st_size;
	return fd;
}

int vmm_a64_load(const struct lbx_guest_mem *mem, uint64_t ram_base, uint64_t ram_size,
		 const char *kernel_path, const char *initrd_path, struct vmm_a64_layout *l,
		 char *err, size_t errsz)
{
	uint8_t hdr[VMM_A64_IMAGE_HDR_LEN];
	struct vmm_a64_image img;
	uint64_t ksize, isize = 0;
	int kfd, ifd = -1, rc;
	ssize_t n;

	kfd = open_sized(kernel_path, &ksize, err, errsz);
	if (kfd < 0)
		return kfd;
	n = pread(kfd, hdr, sizeof(hdr), 0);
	rc = vmm_a64_image_parse(hdr, n > 0 ? (size_t)n : 0, ksize, &img, err, errsz);
	if (rc) {
		char why[200];

		snprintf(why, sizeof(why), "%s", err);
		lbx_fail_msg(err, errsz, rc, "kernel %s: %s", kernel_path, why);
		goto out;
	}
	if (initrd_path) {
		ifd = open_sized(initrd_path, &isize, err, errsz);
		if (ifd < 0) {
			rc = ifd;
			goto out;
		}
	}
	rc = vmm_a64_place(ram_base, ram_size, &img, isize, l, err, errsz);
	if (rc == 0)
		rc = read_into(kfd, mem, l->kernel_addr, ksize, kernel_path, err, errsz);
	if (rc == 0 && ifd >= 0)
		rc = read_into(ifd, mem, l->initrd_addr, isize, initrd_path, err, errsz);
out:
	close(kfd);
	if (ifd >= 0)
		close(ifd);
	return rc;
}
