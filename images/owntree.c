/* SPDX-License-Identifier: MIT */
#include "owntree.h"

#include "override_stat.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <ftw.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

int owntree_value(const struct stat *st, char *buf, size_t sz)
{
	struct lbx_override ov = {
		.uid = st->st_uid,
		.gid = st->st_gid,
		.mode = st->st_mode & 07777,
		.rdev = st->st_rdev,
	};

	/* A stand-in names what it stands for; a file or directory is what it is. */
	if (!S_ISREG(st->st_mode) && !S_ISDIR(st->st_mode))
		ov.mode |= st->st_mode & S_IFMT;
	return lbx_override_format(&ov, buf, sz);
}

mode_t owntree_disk_mode(mode_t mode)
{
	return S_ISDIR(mode) ? (mode & 0777) | 0700 : (mode & 0777) | 0600;
}

struct inode_key {
	dev_t dev;
	ino_t ino;
};

/* nftw has no user pointer: the walk's state lives here for its duration. */
static struct {
	uid_t uid;
	gid_t gid;
	struct owntree_stats *stats;
	char *err;
	size_t errsz;
	int rc;
	/* Files with more than one link already converted (open addressing, ino 0 = free). */
	struct inode_key *seen;
	size_t nseen, cap;
} walk;

static size_t slot_of(const struct inode_key *k, size_t cap)
{
	uint64_t h = ((uint64_t)k->ino * 0x9E3779B97F4A7C15ull) ^ (uint64_t)k->dev;

	return (size_t)(h & (cap - 1));
}

static int seen_grow(void)
{
	size_t cap = walk.cap ? walk.cap * 2 : 1024;
	struct inode_key *t = calloc(cap, sizeof(*t));

	if (!t)
		return -ENOMEM;
	for (size_t i = 0; i < walk.cap; i++) {
		size_t j;

		if (!walk.seen[i].ino)
			continue;
		for (j = slot_of(&walk.seen[i], cap); t[j].ino; j = (j + 1) & (cap - 1))
			;
		t[j] = walk.seen[i];
	}
	free(walk.seen);
	walk.seen = t;
	walk.cap = cap;
	return 0;
}

/*
 * A second name of an inode already converted must not be converted again:
 * its owner on disk is the host user's by now. 1 if seen, 0 if newly
 * recorded, -ENOMEM.
 */
static int seen_before(const struct stat *st)
{
	struct inode_key k = { st->st_dev, st->st_ino ? st->st_ino : (ino_t)-1 };
	size_t i;

	if ((walk.nseen + 1) * 2 > walk.cap && seen_grow() < 0)
		return -ENOMEM;
	for (i = slot_of(&k, walk.cap); walk.seen[i].ino; i = (i + 1) & (walk.cap - 1))
		if (walk.seen[i].ino == k.ino && walk.seen[i].dev == k.dev)
			return 1;
	walk.seen[i] = k;
	walk.nseen++;
	return 0;
}

static int walk_fail(const char *what, const char *path, int e)
{
	snprintf(walk.err, walk.errsz, "%s %s: %s", what, path, strerror(e));
	walk.rc = -e;
	return FTW_STOP;
}

/* A device node becomes an empty regular file standing in for it. */
static int stand_in(const char *path)
{
	int fd;

	if (unlink(path) < 0)
		return -errno;
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	close(fd);
	return 0;
}

/*
 * Symbolic links, FIFOs and sockets cannot carry a user xattr: one whose
 * owner is not root, or whose mode has bits the disk does not keep, has
 * its record in its directory's user.lbx.override_names (override_stat.h),
 * which lbx-fsd reads.
 */
static int names_record(const char *path, const struct FTW *ftw, const struct stat *st)
{
	struct lbx_override ov = { .uid = st->st_uid,
				   .gid = st->st_gid,
				   .mode = st->st_mode & 07777 };
	char dir[PATH_MAX], val[OWNTREE_NAMES_MAX];
	ssize_t n;
	int len;

	if (ftw->base <= 0 || (size_t)ftw->base >= sizeof(dir))
		return -ENAMETOOLONG;
	memcpy(dir, path, (size_t)ftw->base);
	dir[ftw->base] = '\0';
	n = lgetxattr(dir, LBX_OVERRIDE_NAMES_XATTR, val, sizeof(val));
	if (n < 0 && errno != ENODATA)
		return -errno;
	len =
	    lbx_override_names_set(val, n < 0 ? 0 : (size_t)n, sizeof(val), path + ftw->base, &ov);
	if (len < 0)
		return len;
	return lsetxattr(dir, LBX_OVERRIDE_NAMES_XATTR, val, (size_t)len, 0) < 0 ? -errno : 0;
}

static int visit(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	char value[OWNTREE_VALUE_MAX];
	int rc;

	if (flag == FTW_NS || flag == FTW_DNR)
		return walk_fail("cannot read", path, errno ? errno : EACCES);
	if (S_ISLNK(st->st_mode)) {
		if (lchown(path, walk.uid, walk.gid) < 0)
			return walk_fail("cannot chown", path, errno);
		if ((st->st_uid || st->st_gid) && (rc = names_record(path, ftw, st)) < 0)
			return walk_fail("cannot record the owner of", path, -rc);
		walk.stats->links++;
		return FTW_CONTINUE;
	}
	if (!S_ISDIR(st->st_mode) && st->st_nlink > 1) {
		rc = seen_before(st);
		if (rc < 0)
			return walk_fail("cannot track the hard links of", path, ENOMEM);
		if (rc == 1) {
			walk.stats->files++;
			return FTW_CONTINUE;
		}
	}
	if (S_ISFIFO(st->st_mode) || S_ISSOCK(st->st_mode)) {
		/* Stays what it is (engine light runs this tree as is); chown first, as below. */
		if (lchown(path, walk.uid, walk.gid) < 0 || chmod(path, st->st_mode & 0777) < 0)
			return walk_fail("cannot chown", path, errno);
		if ((st->st_uid || st->st_gid || (st->st_mode & 07000)) &&
		    (rc = names_record(path, ftw, st)) < 0)
			return walk_fail("cannot record the owner of", path, -rc);
		walk.stats->specials++;
		return FTW_CONTINUE;
	}
	if (owntree_value(st, value, sizeof(value)) < 0)
		return walk_fail("cannot describe", path, ENOSPC);
	if (!S_ISREG(st->st_mode) && !S_ISDIR(st->st_mode)) {
		rc = stand_in(path);
		if (rc < 0)
			return walk_fail("cannot replace the special file", path, -rc);
		walk.stats->specials++;
	} else {
		walk.stats->files += S_ISREG(st->st_mode);
		walk.stats->dirs += S_ISDIR(st->st_mode);
	}
	/* chown first: it clears set-id bits, and the xattr keeps them. */
	if (lchown(path, walk.uid, walk.gid) < 0)
		return walk_fail("cannot chown", path, errno);
	if (chmod(path, S_ISREG(st->st_mode) || S_ISDIR(st->st_mode)
			    ? owntree_disk_mode(st->st_mode)
			    : 0600) < 0)
		return walk_fail("cannot chmod", path, errno);
	if (lsetxattr(path, OWNTREE_XATTR, value, strlen(value), 0) < 0)
		return walk_fail("cannot set " OWNTREE_XATTR " on", path, errno);
	return FTW_CONTINUE;
}

int owntree_convert(const char *dir, uid_t uid, gid_t gid, struct owntree_stats *stats, char *err,
		    size_t errsz)
{
	struct owntree_stats none;
	int rc;

	memset(stats ? stats : &none, 0, sizeof(none));
	walk.uid = uid;
	walk.gid = gid;
	walk.stats = stats ? stats : &none;
	walk.err = err;
	walk.errsz = errsz;
	walk.rc = 0;
	err[0] = '\0';
	/* Directories before their contents, so a directory without u+rwx is opened after its
	 * chmod. */
	rc = nftw(dir, visit, 64, FTW_PHYS | FTW_MOUNT | FTW_ACTIONRETVAL);
	free(walk.seen);
	walk.seen = NULL;
	walk.nseen = walk.cap = 0;
	if (rc < 0 && !walk.rc) {
		snprintf(err, errsz, "cannot walk %s: %s", dir, strerror(errno));
		return -errno;
	}
	return walk.rc;
}
