/* SPDX-License-Identifier: MIT */
/*
 * MKNOD (fuse_mknod_in + name) and MKDIR (fuse_mkdir_in + name).
 *
 * Device nodes are never created on the host: a guest-made device node in
 * a host tree would be a door to that device for anyone on the host who
 * can open it. Nor is a stand-in made for one: MKNOD of a character or
 * block device is EPERM in both ownership modes (the kernel's answer
 * without CAP_MKNOD), so a guest cannot plant a "device" that a later
 * mount without nodev, or another reader of override_stat, would honour.
 * Stand-ins the host put there (an image's /dev, TYPE char-/block-MAJ-MIN
 * in the xattr, ownership.c) are still shown as the devices they stand for.
 */
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "fsd_priv.h"
#include "wire.h"

/* fuse_mknod_in.rdev is new_encode_dev() form (include/linux/kdev_t.h). */
static dev_t decode_dev(uint32_t d)
{
	return makedev((d & 0xfff00) >> 8, (d & 0xff) | ((d >> 12) & 0xfff00));
}

static int host_type(mode_t type, mode_t *host)
{
	switch (type) {
	case S_IFDIR:
	case S_IFREG:
	case S_IFIFO:
	case S_IFSOCK: *host = type; return 0;
	case S_IFCHR:
	case S_IFBLK: return -EPERM;
	default: return -EINVAL;
	}
}

/* Create name under the parent as the caller (creds.c), then reply with its entry. */
static int make(struct fsd_req *req, const char *name, const struct fsd_made *mk)
{
	struct fsd_inode *dir;
	struct fsd_creds c;
	mode_t host;
	int err, r;

	err = host_type(mk->mode & S_IFMT, &host);
	if (err)
		return err;
	err = fsd_parent_get(req, req->nodeid, &dir);
	if (err)
		return err;
	fsd_creds_enter(req, &c);
	if (host == S_IFDIR)
		r = mkdirat(dir->fd, name, fsd_host_mode(req->fsd, host, mk->mode));
	else
		r = mknodat(dir->fd, name, host | fsd_host_mode(req->fsd, host, mk->mode), 0);
	err = r < 0 ? -errno : 0;
	fsd_creds_leave(&c);
	if (!err)
		err = fsd_entry_reply(req, dir, name, mk);
	fsd_inode_put(req->fsd, dir);
	return err;
}

int fsd_op_mknod(struct fsd_req *req)
{
	struct fuse_mknod_in in;
	struct fsd_made mk;
	const char *name;
	int err;

	if (fsd_rd_mknod_in(&req->args, &in))
		return fsd_refuse(req, -EINVAL);
	if ((err = fsd_read_name(req, &name)) || (err = fsd_args_end(req)))
		return err;
	mk.mode = in.mode;
	mk.rdev = decode_dev(in.rdev);
	return make(req, name, &mk);
}

int fsd_op_mkdir(struct fsd_req *req)
{
	struct fuse_mkdir_in in;
	struct fsd_made mk = { 0 };
	const char *name;
	int err;

	if (fsd_rd_mkdir_in(&req->args, &in))
		return fsd_refuse(req, -EINVAL);
	if ((err = fsd_read_name(req, &name)) || (err = fsd_args_end(req)))
		return err;
	mk.mode = S_IFDIR | (in.mode & 07777);
	return make(req, name, &mk);
}
