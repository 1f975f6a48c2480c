/* SPDX-License-Identifier: MIT */
/*
 * LINK (fuse_link_in { oldnodeid } + new name): a new name in this tree for
 * an inode the guest already holds. The source is linked through its O_PATH
 * fd (AT_EMPTY_PATH needs CAP_DAC_READ_SEARCH; otherwise /proc/self/fd,
 * which names the same inode), never through a path.
 */
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include "fsd_priv.h"

static int link_inode(struct fsd *fsd, struct fsd_inode *old, struct fsd_inode *dir,
		      const char *name)
{
	char path[40];

	if (fsd->euid == 0 && linkat(old->fd, "", dir->fd, name, AT_EMPTY_PATH) == 0)
		return 0;
	if (fsd->euid == 0 && errno != ENOENT && errno != EPERM)
		return -errno;
	fsd_proc_path(old, path, sizeof(path));
	return linkat(AT_FDCWD, path, dir->fd, name, AT_SYMLINK_FOLLOW) < 0 ? -errno : 0;
}

int fsd_op_link(struct fsd_req *req)
{
	struct fsd_inode *old, *dir;
	const char *name;
	uint64_t oldnodeid;
	int err;

	if (lbx_read_u64le(&req->args, &oldnodeid))
		return fsd_refuse(req, -EINVAL);
	if ((err = fsd_read_name(req, &name)) || (err = fsd_args_end(req)))
		return err;
	err = fsd_node_get(req, oldnodeid, &old);
	if (err)
		return err;
	err = old->type == S_IFDIR ? -EPERM : fsd_parent_get(req, req->nodeid, &dir);
	if (!err) {
		err = link_inode(req->fsd, old, dir, name);
		if (!err)
			fsd_owner_linked(req->fsd, old, dir, name); /* the link stands without */
		if (!err)
			err = fsd_entry_reply(req, dir, name, NULL);
		fsd_inode_put(req->fsd, dir);
	}
	fsd_inode_put(req->fsd, old);
	return err;
}
