/* SPDX-License-Identifier: MIT */
/*
 * Ownership mapping (--ownership xattr): the server never changes a host
 * owner; the owner, group and mode the guest sets are kept beside the
 * object, in the records of common/override_stat.h:
 *
 *   - a regular file or directory carries user.containers.override_stat,
 *     "UID:GID:MODE[:TYPE]", the form containers-storage writes and
 *     fuse-overlayfs reads (TYPE: a regular file standing in for a device
 *     node, FIFO or socket, as an image may hold them);
 *   - Linux refuses user xattrs on symlinks, FIFOs and sockets, and they
 *     must stay what they are on disk (engine light runs the same tree with
 *     podman --rootfs), so their record is kept by name in their
 *     directory's user.lbx.override_names. CREATE, MKNOD, SYMLINK, LINK,
 *     RENAME, RENAME2, UNLINK and SETATTR through the server keep those
 *     records in step with the names. A FIFO's or socket's permission bits
 *     are also its mode on disk, so a record is needed only for an owner
 *     other than the serving user or for set-id and sticky bits.
 *
 * An object without a record shows the host's owner, except that the
 * serving user shows as root (0:0), as in a rootless podman store where the
 * host user is root in the container.
 *
 * The guest can neither read nor write either xattr (xattr.c hides them).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "fsd_priv.h"
#include "log.h"

/* A directory's names record: at most this much (ext4 keeps all of an inode's xattrs in one block).
 */
#define NAMES_MAX 65536

static bool can_carry(mode_t type)
{
	return type == S_IFREG || type == S_IFDIR;
}

static int carried_read(const struct fsd_inode *ino, struct fsd_override *ov)
{
	char path[40], buf[96];
	ssize_t n;

	fsd_proc_path(ino, path, sizeof(path));
	n = getxattr(path, FSD_OVERRIDE_XATTR, buf, sizeof(buf));
	if (n < 0)
		return -errno;
	return lbx_override_parse(buf, (size_t)n, ov);
}

/* dir's names record into buf (NAMES_MAX): its length, 0 if it has none, -errno. */
static int names_get(const struct fsd_inode *dir, char *buf)
{
	char path[40];
	ssize_t n;

	fsd_proc_path(dir, path, sizeof(path));
	n = getxattr(path, FSD_NAMES_XATTR, buf, NAMES_MAX);
	if (n < 0)
		return errno == ENODATA ? 0 : -errno;
	return (int)n;
}

static int names_put(const struct fsd_inode *dir, const char *buf, size_t n)
{
	char path[40];

	fsd_proc_path(dir, path, sizeof(path));
	if (n == 0)
		return removexattr(path, FSD_NAMES_XATTR) < 0 && errno != ENODATA ? -errno : 0;
	return setxattr(path, FSD_NAMES_XATTR, buf, n, 0) < 0 ? -errno : 0;
}

static int named_read(const struct fsd_inode *dir, const char *name, struct fsd_override *ov)
{
	char *buf = malloc(NAMES_MAX);
	int n = buf ? names_get(dir, buf) : -ENOMEM;

	if (n > 0)
		n = lbx_override_names_find(buf, (size_t)n, name, ov);
	else if (n == 0)
		n = -ENODATA;
	free(buf);
	return n;
}

/*
 * Set (ov) or drop (NULL) name's record in dir. Records are read, changed
 * and written whole, under one lock. A record that does not parse is
 * started afresh rather than kept broken.
 */
static int named_write(struct fsd *fsd, const struct fsd_inode *dir, const char *name,
		       const struct fsd_override *ov)
{
	char *buf = malloc(NAMES_MAX);
	int n, err;

	if (!buf)
		return -ENOMEM;
	pthread_mutex_lock(&fsd->olock);
	n = names_get(dir, buf);
	if (n >= 0) {
		err = lbx_override_names_set(buf, (size_t)n, NAMES_MAX, name, ov);
		if (err == -EINVAL) {
			lbx_warn("a malformed %s record in the tree: started afresh",
				 FSD_NAMES_XATTR);
			err = lbx_override_names_set(buf, 0, NAMES_MAX, name, ov);
		}
		n = err < 0 || (err == n && !ov) ? err : names_put(dir, buf, (size_t)err);
	}
	pthread_mutex_unlock(&fsd->olock);
	free(buf);
	return n < 0 ? n : 0;
}

/* The record of a symlink, FIFO or socket, from the directory it was last found in. */
static int uncarried_read(struct fsd *fsd, struct fsd_inode *ino, struct fsd_override *ov)
{
	char name[NAME_MAX + 1];
	struct fsd_inode *dir;
	int err = fsd_inode_where(fsd, ino, &dir, name, sizeof(name));

	if (err)
		return err;
	err = named_read(dir, name, ov);
	fsd_inode_put(fsd, dir);
	return err;
}

static int owner_read(struct fsd *fsd, struct fsd_inode *ino, struct fsd_override *ov)
{
	return can_carry(ino->type) ? carried_read(ino, ov) : uncarried_read(fsd, ino, ov);
}

void fsd_owner_apply(struct fsd *fsd, struct fsd_inode *ino, struct stat *st)
{
	struct fsd_override ov;

	if (fsd->opt.ownership != FSD_OWNERSHIP_XATTR)
		return;
	if (owner_read(fsd, ino, &ov) < 0) {
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
	} else if (ino->type != S_IFLNK) {
		st->st_mode = (st->st_mode & S_IFMT) | (ov.mode & 07777);
	}
}

/* Would an object of this type with this host stat show as ov without a record? */
static bool is_plain(const struct fsd *fsd, const struct stat *host, const struct fsd_override *ov)
{
	uint32_t uid = host->st_uid == fsd->euid ? 0 : host->st_uid;
	uint32_t gid = host->st_gid == fsd->egid ? 0 : host->st_gid;
	mode_t perm = S_ISLNK(host->st_mode) ? 0777 : ov->mode & 07777;

	return ov->uid == uid && ov->gid == gid && perm == (host->st_mode & 07777);
}

/* A symlink, FIFO or socket: permission bits on disk (not a symlink's), the rest by name. */
static int uncarried_store(struct fsd *fsd, struct fsd_inode *ino, const struct fsd_override *ov)
{
	char name[NAME_MAX + 1], path[40];
	struct fsd_inode *dir;
	struct stat host;
	int err;

	if (ino->type != S_IFLNK) {
		fsd_proc_path(ino, path, sizeof(path));
		if (chmod(path, ov->mode & 0777) < 0)
			return -errno;
	}
	if (fstatat(ino->fd, "", &host, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) < 0)
		return -errno;
	err = fsd_inode_where(fsd, ino, &dir, name, sizeof(name));
	if (err)
		return err == -ENOENT ? -ESTALE : err; /* unlinked: nowhere to keep it */
	err = named_write(fsd, dir, name, is_plain(fsd, &host, ov) ? NULL : ov);
	fsd_inode_put(fsd, dir);
	return err;
}

int fsd_owner_store(struct fsd *fsd, struct fsd_inode *ino, const struct fsd_override *ov)
{
	char path[40], buf[LBX_OVERRIDE_VALUE_MAX];
	int n;

	if (!can_carry(ino->type))
		return uncarried_store(fsd, ino, ov);
	n = lbx_override_format(ov, buf, sizeof(buf));
	if (n < 0)
		return n;
	fsd_proc_path(ino, path, sizeof(path));
	return setxattr(path, FSD_OVERRIDE_XATTR, buf, (size_t)n, 0) < 0 ? -errno : 0;
}

/*
 * A new object in xattr mode belongs to the caller, with the mode it asked
 * for; in a set-group-ID directory (as the guest sees it) it takes the
 * directory's group, and a new directory the set-group-ID bit too, as
 * inode_init_owner() does on a native file system.
 */
int fsd_owner_init_new(struct fsd_req *req, struct fsd_inode *parent, struct fsd_inode *ino,
		       mode_t mode, dev_t rdev)
{
	struct fsd_override ov = { .uid = req->uid, .gid = req->gid, .rdev = rdev };
	struct stat pst;
	int err;

	if (req->fsd->opt.ownership != FSD_OWNERSHIP_XATTR)
		return 0;
	if (parent && fsd_stat(req->fsd, parent, &pst) == 0 && (pst.st_mode & S_ISGID)) {
		ov.gid = pst.st_gid;
		if (S_ISDIR(mode))
			mode |= S_ISGID;
	}
	/* A host type that matches needs no TYPE field. */
	ov.mode = (mode & S_IFMT) == ino->type ? (mode & 07777) : mode;
	err = fsd_owner_store(req->fsd, ino, &ov);
	if (err && !can_carry(ino->type)) {
		/* The object exists: a directory record that is full must not fail ln -s. */
		lbx_warn("cannot record the owner of a new %s: %s (it shows the host's)",
			 ino->type == S_IFLNK ? "symlink" : "FIFO or socket", strerror(-err));
		err = 0;
	}
	return err;
}

/* The record of (dir, name), if it is a symlink, FIFO or socket (st: what it is). */
static bool named(const struct stat *st)
{
	return st && !can_carry(st->st_mode & S_IFMT);
}

/*
 * A rename through us moved src from (from, oldname) to (to, newname),
 * over dst (NULL: none); with RENAME_EXCHANGE dst went the other way.
 * The names' records follow their objects.
 */
void fsd_owner_renamed(struct fsd *fsd, struct fsd_inode *from, const char *oldname,
		       const struct stat *src, struct fsd_inode *to, const char *newname,
		       const struct stat *dst, uint32_t flags)
{
	bool exchange = (flags & RENAME_EXCHANGE) && dst;
	struct fsd_override a, b;
	bool have_a, have_b;

	if (fsd->opt.ownership != FSD_OWNERSHIP_XATTR || (!named(src) && !named(dst)))
		return;
	have_a = named(src) && named_read(from, oldname, &a) == 0;
	have_b = named(dst) && named_read(to, newname, &b) == 0;
	/* oldname: gone, or dst's */
	if (exchange && have_b)
		named_write(fsd, from, oldname, &b);
	else if (named(src))
		named_write(fsd, from, oldname, NULL);
	/* newname: src's */
	if (have_a)
		named_write(fsd, to, newname, &a);
	else if (named(dst))
		named_write(fsd, to, newname, NULL);
}

void fsd_owner_unlinked(struct fsd *fsd, struct fsd_inode *dir, const char *name,
			const struct stat *st)
{
	if (fsd->opt.ownership == FSD_OWNERSHIP_XATTR && named(st))
		named_write(fsd, dir, name, NULL);
}

/* LINK: a new name of a symlink, FIFO or socket starts with the record of the old one. */
int fsd_owner_linked(struct fsd *fsd, struct fsd_inode *old, struct fsd_inode *dir,
		     const char *name)
{
	struct fsd_override ov;

	if (fsd->opt.ownership != FSD_OWNERSHIP_XATTR || can_carry(old->type))
		return 0;
	if (uncarried_read(fsd, old, &ov) < 0)
		return named_write(fsd, dir, name, NULL); /* a stale record of that name goes */
	return named_write(fsd, dir, name, &ov);
}

/*
 * Permission bits to give the host object. Identity: as asked, except that
 * a guest never makes a setuid or setgid file on the host. Xattr: the real
 * mode lives in the record; a regular file or directory keeps what the
 * serving user needs, a FIFO or socket its permission bits.
 */
mode_t fsd_host_mode(const struct fsd *fsd, mode_t type, mode_t mode)
{
	if (fsd->opt.ownership == FSD_OWNERSHIP_XATTR)
		return can_carry(type) ? (mode & 0777) | (type == S_IFDIR ? 0700 : 0600)
				       : mode & 0777;
	if (type != S_IFDIR)
		mode &= ~(mode_t)(S_ISUID | S_ISGID);
	return mode & 07777;
}
