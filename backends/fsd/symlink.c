/* SPDX-License-Identifier: MIT */
/*
 * SYMLINK (name, then target, both NUL-terminated: fuse.h) and READLINK.
 * The server stores and reads targets as opaque bytes and never follows
 * them; the guest kernel resolves them in the guest's own name space.
 */
#include <errno.h>
#include <limits.h>
#include <unistd.h>

#include "fsd_priv.h"
#include "wire.h"

int fsd_op_symlink(struct fsd_req *req)
{
	struct fsd_made mk = { .mode = S_IFLNK | 0777 };
	struct fsd_inode *dir;
	struct fsd_creds c;
	const char *name, *target;
	size_t tlen;
	int err;

	if ((err = fsd_read_name(req, &name)))
		return err;
	err = lbx_read_cstr(&req->args, PATH_MAX - 1, &target, &tlen);
	if (err)
		return fsd_refuse(req, err == -EMSGSIZE ? -ENAMETOOLONG : -EINVAL);
	if ((err = fsd_args_end(req)))
		return err;
	if (tlen == 0)
		return -ENOENT; /* as symlink(2) */
	err = fsd_parent_get(req, req->nodeid, &dir);
	if (err)
		return err;
	fsd_creds_enter(req, &c);
	err = symlinkat(target, dir->fd, name) < 0 ? -errno : 0;
	fsd_creds_leave(&c);
	if (!err)
		err = fsd_entry_reply(req, dir, name, &mk);
	fsd_inode_put(req->fsd, dir);
	return err;
}

int fsd_op_readlink(struct fsd_req *req)
{
	struct fsd_inode *ino;
	char buf[PATH_MAX];
	ssize_t n;
	int err;

	if ((err = fsd_args_end(req)))
		return err;
	err = fsd_node_get(req, req->nodeid, &ino);
	if (err)
		return err;
	if (ino->type != S_IFLNK)
		err = -EINVAL;
	else if ((n = readlinkat(ino->fd, "", buf, sizeof(buf))) < 0)
		err = -errno;
	else if (lbx_write_bytes(&req->out, buf, (size_t)n))
		err = -ENOMEM;
	fsd_inode_put(req->fsd, ino);
	return err;
}
