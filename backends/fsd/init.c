/* SPDX-License-Identifier: MIT */
/*
 * INIT and DESTROY (fuse.h "INIT request and reply flags").
 *
 * We speak 7.31 and later (what virtio-fs kernels send; 6.12 speaks 7.41)
 * and answer with our header's minor. Offered when the kernel asks:
 *   ASYNC_READ, ATOMIC_O_TRUNC, BIG_WRITES, MAX_PAGES   plain throughput
 *   DO_READDIRPLUS, READDIRPLUS_AUTO                    fewer LOOKUPs for ls -l, git status
 *   PARALLEL_DIROPS                                     the core is thread-safe
 *   AUTO_INVAL_DATA                                     host edits drop stale pages (README.md)
 *   CACHE_SYMLINKS                                      symlinks do not change behind a name
 *   WRITEBACK_CACHE                                     only with --writeback
 * Not offered: POSIX_LOCKS and FLOCK_LOCKS (the guest kernel then keeps
 * locks itself, correct for one guest per tree), EXPORT_SUPPORT (it would
 * send LOOKUP ".."), DONT_MASK (the kernel applies the umask), POSIX_ACL,
 * HANDLE_KILLPRIV, SUBMOUNTS, SETXATTR_EXT, SECURITY_CTX, DAX mappings.
 */
#include <errno.h>
#include <string.h>

#include "fsd_priv.h"
#include "log.h"
#include "wire.h"

#define FSD_MIN_MINOR 31

static uint32_t wanted_flags(const struct fsd *fsd)
{
	uint32_t f = FUSE_ASYNC_READ | FUSE_ATOMIC_O_TRUNC | FUSE_BIG_WRITES | FUSE_MAX_PAGES |
		     FUSE_DO_READDIRPLUS | FUSE_READDIRPLUS_AUTO | FUSE_PARALLEL_DIROPS |
		     FUSE_AUTO_INVAL_DATA | FUSE_CACHE_SYMLINKS;

	if (fsd->opt.writeback && !fsd->opt.read_only)
		f |= FUSE_WRITEBACK_CACHE;
	return f;
}

int fsd_op_init(struct fsd_req *req)
{
	struct fsd *fsd = req->fsd;
	struct fuse_init_in in;
	struct fuse_init_out out;

	if (fsd_rd_init_in(&req->args, &in) || fsd_args_end(req))
		return fsd_refuse(req, -EINVAL);
	memset(&out, 0, sizeof(out));
	out.major = FUSE_KERNEL_VERSION;
	out.minor = FUSE_KERNEL_MINOR_VERSION;
	if (in.major > FUSE_KERNEL_VERSION) {
		/* The kernel retries with our major (fuse.h, "protocol version negotiation"). */
		return lbx_write_u32le(&req->out, out.major) || lbx_write_u32le(&req->out, out.minor)
			       ? -EIO
			       : 0;
	}
	if (in.major < FUSE_KERNEL_VERSION || in.minor < FSD_MIN_MINOR) {
		lbx_err("guest speaks FUSE %u.%u; lbx-fsd needs 7.%d or later", in.major, in.minor,
			FSD_MIN_MINOR);
		return fsd_refuse(req, -EPROTO);
	}
	fsd->proto_minor = in.minor;
	out.max_readahead = in.max_readahead;
	out.flags = in.flags & wanted_flags(fsd);
	out.max_background = 64;
	out.congestion_threshold = 48;
	out.max_write = fsd->opt.max_write;
	out.time_gran = 1;
	out.max_pages = (uint16_t)LBX_MIN(fsd->opt.max_write / 4096, 65535u);
	atomic_store(&fsd->initialized, true);
	return fsd_wr_init_out(&req->out, &out);
}

/* The guest unmounted: everything it held is gone; a later INIT starts afresh. */
int fsd_op_destroy(struct fsd_req *req)
{
	atomic_store(&req->fsd->initialized, false);
	fsd_inode_forget_all(req->fsd);
	return 0;
}

/* INTERRUPT may be ignored (fuse.h): requests here never wait on anything but the host fs. */
int fsd_op_interrupt(struct fsd_req *req)
{
	return FSD_NO_REPLY;
}
