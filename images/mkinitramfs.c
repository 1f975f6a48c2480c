/* SPDX-License-Identifier: MIT */
/*
 * lbx-mkinitramfs: write the box initramfs as an uncompressed newc cpio.
 *
 *   lbx-mkinitramfs -o OUT [--agent PATH] [--dir DST]...
 *                   [--file SRC:DST[:MODE]]... [--symlink DST:TARGET]...
 *
 * With --agent the archive is a box initramfs: the directories the agent
 * mounts on, /dev/console (so the kernel can give init a console before
 * devtmpfs is up) and the agent as /init. Without it, the archive is an
 * overlay to append to one (the kernel unpacks concatenated archives in
 * order); it must list the directories its files go in, with --dir.
 * Owners are root, timestamps zero: the output depends only on the inputs.
 * No root privileges are needed: device nodes are written as records, not
 * created on the host. Format: the kernel's
 * Documentation/driver-api/early-userspace/buffer-format.rst ("newc").
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "log.h"

struct cpio {
	FILE *out;
	uint32_t ino;
	uint64_t off;
};

static int pad4(struct cpio *c)
{
	static const char zeros[4];
	size_t n = (size_t)((4 - c->off % 4) % 4);

	if (n && fwrite(zeros, 1, n, c->out) != n)
		return -EIO;
	c->off += n;
	return 0;
}

static int emit(struct cpio *c, const char *name, uint32_t mode, uint32_t rdev_major,
		uint32_t rdev_minor, const void *data, size_t size)
{
	char hdr[111];
	size_t namesize = strlen(name) + 1;
	int n;

	n = snprintf(hdr, sizeof(hdr),
		     "070701%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X", ++c->ino,
		     mode, 0u, 0u, (mode & S_IFMT) == S_IFDIR ? 2u : 1u, 0u, (uint32_t)size, 0u,
		     0u, rdev_major, rdev_minor, (uint32_t)namesize, 0u);
	if (n != 110 || fwrite(hdr, 1, 110, c->out) != 110 ||
	    fwrite(name, 1, namesize, c->out) != namesize)
		return -EIO;
	c->off += 110 + namesize;
	if (pad4(c))
		return -EIO;
	if (size && fwrite(data, 1, size, c->out) != size)
		return -EIO;
	c->off += size;
	return pad4(c);
}

static int emit_file(struct cpio *c, const char *src, const char *dst, uint32_t perm)
{
	struct stat st;
	char *data;
	int fd, err = 0;
	ssize_t got;

	fd = open(src, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0) {
		lbx_err("cannot open %s: %s", src, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -errno;
	}
	if (!S_ISREG(st.st_mode) || st.st_size > UINT32_MAX) {
		lbx_err("%s is not a regular file under 4 GiB", src);
		close(fd);
		return -EINVAL;
	}
	data = malloc((size_t)st.st_size + 1);
	if (!data) {
		close(fd);
		return -ENOMEM;
	}
	got = read(fd, data, (size_t)st.st_size);
	if (got != st.st_size) {
		lbx_err("short read on %s", src);
		err = -EIO;
	}
	close(fd);
	if (!err)
		err = emit(c, dst, S_IFREG | perm, 0, 0, data, (size_t)st.st_size);
	free(data);
	return err;
}

/* Guest paths in the archive are relative ("init", "dev/console"). */
static const char *rel(const char *path)
{
	while (*path == '/')
		path++;
	return path;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: lbx-mkinitramfs -o OUT [--agent PATH] [--dir DST]... "
		   "[--file SRC:DST[:MODE]]... [--symlink DST:TARGET]...\n");
}

int main(int argc, char **argv)
{
	static const char *const dirs[] = { "dev", "proc", "sys", "run", "tmp", "root", "mnt" };
	static const struct option opts[] = {
		{ "output", required_argument, NULL, 'o' },
		{ "agent", required_argument, NULL, 'a' },
		{ "file", required_argument, NULL, 'f' },
		{ "symlink", required_argument, NULL, 's' },
		{ "dir", required_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	const char *out = NULL, *agent = NULL;
	char **files = calloc((size_t)argc, sizeof(char *));
	char **links = calloc((size_t)argc, sizeof(char *));
	char **extra_dirs = calloc((size_t)argc, sizeof(char *));
	int nfiles = 0, nlinks = 0, ndirs = 0, opt, err = 0;
	struct cpio c = { 0 };
	char tmp[4096];

	lbx_log_init(argv[0]);
	if (!files || !links || !extra_dirs)
		return 1;
	while ((opt = getopt_long(argc, argv, "o:a:f:s:d:h", opts, NULL)) != -1) {
		switch (opt) {
		case 'o': out = optarg; break;
		case 'a': agent = optarg; break;
		case 'f': files[nfiles++] = optarg; break;
		case 's': links[nlinks++] = optarg; break;
		case 'd': extra_dirs[ndirs++] = optarg; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (!out || optind != argc) {
		usage(stderr);
		return 2;
	}
	snprintf(tmp, sizeof(tmp), "%s.tmp", out);
	c.out = fopen(tmp, "wb");
	if (!c.out) {
		lbx_err("cannot create %s: %s", tmp, strerror(errno));
		return 1;
	}
	if (agent) {
		for (size_t i = 0; i < LBX_ARRAY_SIZE(dirs) && !err; i++)
			err = emit(&c, dirs[i], S_IFDIR | 0755, 0, 0, NULL, 0);
		if (!err)
			err = emit(&c, "dev/console", S_IFCHR | 0600, 5, 1, NULL, 0);
		if (!err)
			err = emit_file(&c, agent, "init", 0755);
	}
	for (int i = 0; i < ndirs && !err; i++)
		err = emit(&c, rel(extra_dirs[i]), S_IFDIR | 0755, 0, 0, NULL, 0);
	for (int i = 0; i < nfiles && !err; i++) {
		char *spec = strdup(files[i]), *src = spec, *dst = strchr(spec, ':'), *mode;
		unsigned long perm = 0644;

		if (!dst) {
			lbx_err("--file %s: expected SRC:DST[:MODE]", files[i]);
			err = -EINVAL;
		} else {
			*dst++ = '\0';
			mode = strchr(dst, ':');
			if (mode) {
				*mode++ = '\0';
				perm = strtoul(mode, NULL, 8) & 07777;
			}
			err = emit_file(&c, src, rel(dst), (uint32_t)perm);
		}
		free(spec);
	}
	for (int i = 0; i < nlinks && !err; i++) {
		char *spec = strdup(links[i]), *target = strchr(spec, ':');

		if (!target) {
			lbx_err("--symlink %s: expected DST:TARGET", links[i]);
			err = -EINVAL;
		} else {
			*target++ = '\0';
			err = emit(&c, rel(spec), S_IFLNK | 0777, 0, 0, target, strlen(target));
		}
		free(spec);
	}
	if (!err)
		err = emit(&c, "TRAILER!!!", 0, 0, 0, NULL, 0);
	if (fclose(c.out) != 0 && !err)
		err = -EIO;
	if (!err && rename(tmp, out) < 0)
		err = -errno;
	if (err) {
		lbx_err("writing %s failed: %s", out, strerror(-err));
		unlink(tmp);
		return 1;
	}
	free(files);
	free(links);
	free(extra_dirs);
	return 0;
}
