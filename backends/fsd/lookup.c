/* SPDX-License-Identifier: MIT */
/* LOOKUP, FORGET and BATCH_FORGET: the guest's references to inodes. */
#include <errno.h>

#include "fsd_priv.h"
#include "wire.h"

int fsd_op_lookup(struct fsd_req *req)
{
	struct fsd_inode *dir;
	const char *name;
	int err = fsd_read_name(req, &name);

	if (err || (err = fsd_args_end(req)))
		return err;
	err = fsd_parent_get(req, req->nodeid, &dir);
	if (err)
		return err;
	err = fsd_entry_reply(req, dir, name, NULL);
	fsd_inode_put(req->fsd, dir);
	return err;
}

/* fuse_forget_in { nlookup }; no reply (fuse.h). A bad node id is ignored. */
int fsd_op_forget(struct fsd_req *req)
{
	uint64_t n;

	if (lbx_read_u64le(&req->args, &n) || lbx_read_end(&req->args)) {
		fsd_refuse(req, -EINVAL);
		return FSD_NO_REPLY;
	}
	fsd_inode_forget(req->fsd, req->nodeid, n);
	return FSD_NO_REPLY;
}

/* fuse_batch_forget_in { count, dummy } then count fuse_forget_one { nodeid, nlookup }. */
int fsd_op_batch_forget(struct fsd_req *req)
{
	uint32_t count, dummy;

	if (lbx_read_u32le(&req->args, &count) || lbx_read_u32le(&req->args, &dummy) ||
	    lbx_reader_left(&req->args) / 16 < count) {
		fsd_refuse(req, -EINVAL);
		return FSD_NO_REPLY;
	}
	for (uint32_t i = 0; i < count; i++) {
		uint64_t nodeid, n;

		if (lbx_read_u64le(&req->args, &nodeid) || lbx_read_u64le(&req->args, &n))
			break;
		fsd_inode_forget(req->fsd, nodeid, n);
	}
	return FSD_NO_REPLY;
}
