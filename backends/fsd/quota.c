/* SPDX-License-Identifier: MIT */
/*
 * A byte quota for the tree (--quota-bytes N): calls that would make the
 * tree's files use more than N bytes get ENOSPC, and STATFS reports N as
 * the size of the file system.
 *
 * Accounting. A regular file uses max(st_size, 512 * st_blocks) bytes: its
 * apparent size (so growing a file sparsely counts, and the guest sees the
 * quota the way `ls -l` and `du --apparent-size` would) or its allocation
 * if larger (fallocate with KEEP_SIZE). Directories, symlinks, FIFOs,
 * sockets and xattrs are not counted.
 *
 * At start fsd_quota_init walks the tree (not following symlinks, crossing
 * mounts inside it as the server does) and adds each regular file's use
 * divided by its link count for every name it finds, so a hard-linked file
 * counts once in all. The walk stops after FSD_QUOTA_WALK_SECONDS or at
 * depth FSD_QUOTA_WALK_DEPTH, with a warning: the usage is then
 * under-counted by what it did not reach.
 *
 * Then every call that can change a file's use is measured: WRITE,
 * FALLOCATE, SETATTR of the size, COPY_FILE_RANGE (its destination), OPEN
 * and CREATE with O_TRUNC stat the file before and after, under one lock,
 * and add the difference. Before the call, a growth it may cause (the end
 * it writes to beyond the file's current use) that would pass the quota
 * is refused with ENOSPC, whole: no short write. A write that grows
 * nothing (in place) is always allowed, even over the quota. UNLINK of a
 * file's last link, and RENAME over one, subtract its use. Host changes to
 * the tree while serving are not seen (until the next start).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "fsd_priv.h"
#include "log.h"

#define FSD_QUOTA_WALK_SECONDS 10
#define FSD_QUOTA_WALK_DEPTH   1024

uint64_t fsd_quota_use(const struct stat *st)
{
	uint64_t size = st->st_size > 0 ? (uint64_t)st->st_size : 0;
	uint64_t alloc = st->st_blocks > 0 ? (uint64_t)st->st_blocks * 512 : 0;

	return S_ISREG(st->st_mode) ? LBX_MAX(size, alloc) : 0;
}

struct walk {
	struct timespec deadline;
	uint64_t used, files;
	bool cut;
};

static bool past(const struct timespec *t)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return now.tv_sec > t->tv_sec || (now.tv_sec == t->tv_sec && now.tv_nsec >= t->tv_nsec);
}

/* Add up what is under dirfd (consumed). */
static void walk_dir(struct fsd *fsd, int dirfd, unsigned depth, struct walk *w)
{
	DIR *dir = fdopendir(dirfd);
	struct dirent *d;
	struct stat st;

	if (!dir) {
		close(dirfd);
		return;
	}
	while (!w->cut && (d = readdir(dir))) {
		if (!strcmp(d->d_name, ".") || !strcmp(d->d_name, ".."))
			continue;
		if ((++w->files & 1023) == 0 && past(&w->deadline)) {
			w->cut = true;
			break;
		}
		if (fstatat(dirfd, d->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			continue;
		if (S_ISREG(st.st_mode)) {
			w->used += fsd_quota_use(&st) / (st.st_nlink ? st.st_nlink : 1);
		} else if (S_ISDIR(st.st_mode)) {
			int sub = fsd_open_beneath(fsd, dirfd, d->d_name), fd;

			if (depth >= FSD_QUOTA_WALK_DEPTH) {
				w->cut = true;
			} else if (sub >= 0) {
				fd = openat(sub, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
				if (fd >= 0)
					walk_dir(fsd, fd, depth + 1, w);
			}
			if (sub >= 0)
				close(sub);
		}
	}
	closedir(dir);
}

int fsd_quota_init(struct fsd *fsd)
{
	struct walk w = { .used = 0 };
	int fd;

	if (!fsd->opt.quota_bytes)
		return 0;
	pthread_mutex_init(&fsd->qlock, NULL);
	fsd->qlock_init = true;
	clock_gettime(CLOCK_MONOTONIC, &w.deadline);
	w.deadline.tv_sec += FSD_QUOTA_WALK_SECONDS;
	fd = openat(fsd->root_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	walk_dir(fsd, fd, 0, &w);
	fsd->quota_used = w.used;
	if (w.cut)
		lbx_warn("--quota-bytes: stopped counting the tree after %llu names (%d s or "
			 "depth %d): %llu bytes counted, the rest is not (the quota counts low)",
			 (unsigned long long)w.files, FSD_QUOTA_WALK_SECONDS, FSD_QUOTA_WALK_DEPTH,
			 (unsigned long long)w.used);
	else
		lbx_debug("--quota-bytes: %llu of %llu bytes used (%llu names)",
			  (unsigned long long)w.used, (unsigned long long)fsd->opt.quota_bytes,
			  (unsigned long long)w.files);
	return 0;
}

void fsd_quota_free(struct fsd *fsd)
{
	if (fsd->qlock_init)
		pthread_mutex_destroy(&fsd->qlock);
}

int fsd_quota_begin(struct fsd *fsd, int fd, uint64_t end, struct fsd_quota_op *q)
{
	struct stat st;
	uint64_t grow;

	q->on = fsd->opt.quota_bytes != 0;
	if (!q->on)
		return 0;
	pthread_mutex_lock(&fsd->qlock);
	if (fstat(fd, &st) < 0) {
		int err = -errno;

		pthread_mutex_unlock(&fsd->qlock);
		q->on = false;
		return err;
	}
	q->before = fsd_quota_use(&st);
	grow = end > q->before ? end - q->before : 0;
	if (grow && (fsd->quota_used > fsd->opt.quota_bytes ||
		     grow > fsd->opt.quota_bytes - fsd->quota_used)) {
		pthread_mutex_unlock(&fsd->qlock);
		q->on = false;
		return -ENOSPC;
	}
	return 0;
}

void fsd_quota_end(struct fsd *fsd, int fd, struct fsd_quota_op *q)
{
	struct stat st;
	uint64_t after;

	if (!q->on)
		return;
	after = fstat(fd, &st) == 0 ? fsd_quota_use(&st) : q->before;
	if (after >= q->before)
		fsd->quota_used += after - q->before;
	else
		fsd->quota_used -= LBX_MIN(fsd->quota_used, q->before - after);
	pthread_mutex_unlock(&fsd->qlock);
	q->on = false;
}

void fsd_quota_removed(struct fsd *fsd, const struct stat *st)
{
	uint64_t use = fsd_quota_use(st);

	if (!fsd->opt.quota_bytes || !use || st->st_nlink > 1)
		return;
	pthread_mutex_lock(&fsd->qlock);
	fsd->quota_used -= LBX_MIN(fsd->quota_used, use);
	pthread_mutex_unlock(&fsd->qlock);
}

uint64_t fsd_quota_left(struct fsd *fsd)
{
	uint64_t left;

	pthread_mutex_lock(&fsd->qlock);
	left = fsd->quota_used < fsd->opt.quota_bytes ? fsd->opt.quota_bytes - fsd->quota_used : 0;
	pthread_mutex_unlock(&fsd->qlock);
	return left;
}
