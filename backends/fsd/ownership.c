/* SPDX-License-Identifier: MIT */
/*
 * Ownership mapping in the user.containers.override_stat xattr.
 *
 * With --ownership xattr the server never changes a host owner: the
 * owner, group and mode the guest sets are kept in the xattr, in the text
 * form containers-storage writes and fuse-overlayfs reads,
 *
 *     "UID:GID:MODE[:TYPE]"    e.g. "0:0:0755", "0:5:0620:char-136-0"
 *
 * UID and GID decimal, MODE octal permission bits (07777), TYPE only when
 * the host object stands in for another kind: a device node the server
 * may not create is a regular file with TYPE char-MAJ-MIN or block-MAJ-MIN
 * (also accepted: file, dir, symlink, pipe, socket). A MODE with file-type
 * bits (some writers put the full st_mode there) is accepted; only the
 * permission bits are taken from it.
 *
 * An object without the xattr shows the host's owner, except that the
 * serving user shows as root (0:0), as in a rootless podman store where
 * the host user is root in the container. User xattrs exist only on
 * regular files and directories, so symlinks always show the host view
 * and chown on them is accepted and dropped.
 *
 * The guest can neither read nor write this xattr (xattr.c hides it).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>

#include "fsd_priv.h"

static bool take_num(const char **p, const char *end, unsigned base, uint32_t *v)
{
	uint64_t n = 0;
	const char *s = *p;

	while (s < end && *s >= '0' && *s < (char)('0' + base)) {
		n = n * base + (uint64_t)(*s - '0');
		if (n > UINT32_MAX)
			return false;
		s++;
	}
	if (s == *p)
		return false;
	*v = (uint32_t)n;
	*p = s;
	return true;
}

static bool take_char(const char **p, const char *end, char c)
{
	if (*p >= end || **p != c)
		return false;
	(*p)++;
	return true;
}

static bool take_word(const char **p, const char *end, const char *w)
{
	size_t n = strlen(w);

	if ((size_t)(end - *p) < n || memcmp(*p, w, n))
		return false;
	*p += n;
	return true;
}

static bool take_dev(const char **p, const char *end, dev_t *rdev)
{
	uint32_t ma, mi;

	if (!take_num(p, end, 10, &ma) || !take_char(p, end, '-') || !take_num(p, end, 10, &mi))
		return false;
	*rdev = makedev(ma, mi);
	return true;
}

static bool take_type(const char **p, const char *end, mode_t *type, dev_t *rdev)
{
	if (take_word(p, end, "char-")) {
		*type = S_IFCHR;
		return take_dev(p, end, rdev);
	}
	if (take_word(p, end, "block-")) {
		*type = S_IFBLK;
		return take_dev(p, end, rdev);
	}
	if (take_word(p, end, "file"))
		*type = S_IFREG;
	else if (take_word(p, end, "dir"))
		*type = S_IFDIR;
	else if (take_word(p, end, "symlink"))
		*type = S_IFLNK;
	else if (take_word(p, end, "pipe"))
		*type = S_IFIFO;
	else if (take_word(p, end, "socket"))
		*type = S_IFSOCK;
	else
		return false;
	return true;
}

/* 0, or -EINVAL for anything but the format above. ov->mode gets type bits only from TYPE. */
int fsd_override_parse(const char *s, size_t n, struct fsd_override *ov)
{
	const char *p = s, *end = s + n;
	uint32_t mode;
	mode_t type = 0;

	memset(ov, 0, sizeof(*ov));
	if (!take_num(&p, end, 10, &ov->uid) || !take_char(&p, end, ':') ||
	    !take_num(&p, end, 10, &ov->gid) || !take_char(&p, end, ':') ||
	    !take_num(&p, end, 8, &mode) || mode > 0177777)
		return -EINVAL;
	if (take_char(&p, end, ':') && !take_type(&p, end, &type, &ov->rdev))
		return -EINVAL;
	if (p != end)
		return -EINVAL;
	ov->mode = type | (mode & 07777);
	return 0;
}

int fsd_override_format(const struct fsd_override *ov, char *buf, size_t size)
{
	int n;

	switch (ov->mode & S_IFMT) {
	case S_IFCHR:
	case S_IFBLK:
		n = snprintf(buf, size, "%u:%u:0%o:%s-%u-%u", ov->uid, ov->gid, ov->mode & 07777,
			     S_ISCHR(ov->mode) ? "char" : "block", major(ov->rdev), minor(ov->rdev));
		break;
	case S_IFIFO:
	case S_IFSOCK:
		n = snprintf(buf, size, "%u:%u:0%o:%s", ov->uid, ov->gid, ov->mode & 07777,
			     S_ISFIFO(ov->mode) ? "pipe" : "socket");
		break;
	default:
		n = snprintf(buf, size, "%u:%u:0%o", ov->uid, ov->gid, ov->mode & 07777);
	}
	return n < 0 || (size_t)n >= size ? -ENOSPC : n;
}

static bool can_carry(const struct fsd_inode *ino)
{
	return ino->type == S_IFREG || ino->type == S_IFDIR;
}

static int owner_read(const struct fsd_inode *ino, struct fsd_override *ov)
{
	char path[40], buf[96];
	ssize_t n;

	if (!can_carry(ino))
		return -ENODATA;
	fsd_proc_path(ino, path, sizeof(path));
	n = getxattr(path, FSD_OVERRIDE_XATTR, buf, sizeof(buf));
	if (n < 0)
		return -errno;
	return fsd_override_parse(buf, (size_t)n, ov);
}

void fsd_owner_apply(struct fsd *fsd, const struct fsd_inode *ino, struct stat *st)
{
	struct fsd_override ov;

	if (fsd->opt.ownership != FSD_OWNERSHIP_XATTR)
		return;
	if (owner_read(ino, &ov) < 0) {
		if (st->st_uid == fsd->euid)
			st->st_uid = 0;
		if (st->st_gid == fsd->egid)
			st->st_gid = 0;
		return;
	}
	st->st_uid = ov.uid;
	st->st_gid = ov.gid;
	/* Only a regular file may stand in for another kind (a device, a FIFO). */
	if ((ov.mode & S_IFMT) && ino->type == S_IFREG) {
		st->st_mode = ov.mode;
		if (S_ISCHR(ov.mode) || S_ISBLK(ov.mode))
			st->st_rdev = ov.rdev;
	} else {
		st->st_mode = (st->st_mode & S_IFMT) | (ov.mode & 07777);
	}
}

int fsd_owner_store(struct fsd *fsd, const struct fsd_inode *ino, const struct fsd_override *ov)
{
	char path[40], buf[96];
	int n;

	if (!can_carry(ino))
		return -EOPNOTSUPP;
	n = fsd_override_format(ov, buf, sizeof(buf));
	if (n < 0)
		return n;
	fsd_proc_path(ino, path, sizeof(path));
	return setxattr(path, FSD_OVERRIDE_XATTR, buf, (size_t)n, 0) < 0 ? -errno : 0;
}

/* A new object in xattr mode belongs to the caller, with the mode it asked for. */
int fsd_owner_init_new(struct fsd_req *req, struct fsd_inode *ino, mode_t mode, dev_t rdev)
{
	struct fsd_override ov = { .uid = req->uid, .gid = req->gid, .rdev = rdev };

	if (req->fsd->opt.ownership != FSD_OWNERSHIP_XATTR || !can_carry(ino))
		return 0;
	/* A host type that matches needs no TYPE field. */
	ov.mode = (mode & S_IFMT) == ino->type ? (mode & 07777) : mode;
	return fsd_owner_store(req->fsd, ino, &ov);
}

/*
 * Permission bits to give the host object. Identity: as asked, except that
 * a guest never makes a setuid or setgid file on the host. Xattr: the real
 * mode lives in the xattr, the host keeps what the serving user needs.
 */
mode_t fsd_host_mode(const struct fsd *fsd, mode_t type, mode_t mode)
{
	if (fsd->opt.ownership == FSD_OWNERSHIP_XATTR)
		return (mode & 0777) | (type == S_IFDIR ? 0700 : 0600);
	if (type != S_IFDIR)
		mode &= ~(mode_t)(S_ISUID | S_ISGID);
	return mode & 07777;
}
