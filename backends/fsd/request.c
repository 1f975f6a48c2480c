/* SPDX-License-Identifier: MIT */
/*
 * fsd_handle(): one request in, one reply out (fsd.h has the contract).
 *
 * Order of checks: the 40-byte fuse_in_header must be there (else no
 * reply can be addressed); its len must equal the bytes the transport
 * delivered and stay within our limits; before INIT only INIT is served;
 * a modifying opcode on a read-only tree gets EROFS, and so does one that
 * would change a --protect path (protect.c); then the handler parses its
 * own arguments from a private copy.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fsd_priv.h"
#include "log.h"
#include "wire.h"

/* Opcodes from fuse.h; the few newer than Debian 12's header by number. */
#define FSD_OP_MAX 64

struct fsd_op {
	fsd_op_fn fn;
	bool modifies; /* refused on a read-only tree */
};

static const struct fsd_op ops[FSD_OP_MAX] = {
	[FUSE_LOOKUP] = { fsd_op_lookup, false },
	[FUSE_FORGET] = { fsd_op_forget, false },
	[FUSE_GETATTR] = { fsd_op_getattr, false },
	[FUSE_SETATTR] = { fsd_op_setattr, true },
	[FUSE_READLINK] = { fsd_op_readlink, false },
	[FUSE_SYMLINK] = { fsd_op_symlink, true },
	[FUSE_MKNOD] = { fsd_op_mknod, true },
	[FUSE_MKDIR] = { fsd_op_mkdir, true },
	[FUSE_UNLINK] = { fsd_op_unlink, true },
	[FUSE_RMDIR] = { fsd_op_rmdir, true },
	[FUSE_RENAME] = { fsd_op_rename, true },
	[FUSE_LINK] = { fsd_op_link, true },
	[FUSE_OPEN] = { fsd_op_open, false },
	[FUSE_READ] = { fsd_op_read, false },
	[FUSE_WRITE] = { fsd_op_write, true },
	[FUSE_STATFS] = { fsd_op_statfs, false },
	[FUSE_RELEASE] = { fsd_op_release, false },
	[FUSE_FSYNC] = { fsd_op_fsync, false },
	[FUSE_SETXATTR] = { fsd_op_setxattr, true },
	[FUSE_GETXATTR] = { fsd_op_getxattr, false },
	[FUSE_LISTXATTR] = { fsd_op_listxattr, false },
	[FUSE_REMOVEXATTR] = { fsd_op_removexattr, true },
	[FUSE_FLUSH] = { fsd_op_flush, false },
	[FUSE_INIT] = { fsd_op_init, false },
	[FUSE_OPENDIR] = { fsd_op_opendir, false },
	[FUSE_READDIR] = { fsd_op_readdir, false },
	[FUSE_RELEASEDIR] = { fsd_op_releasedir, false },
	[FUSE_FSYNCDIR] = { fsd_op_fsyncdir, false },
	[FUSE_ACCESS] = { fsd_op_access, false },
	[FUSE_CREATE] = { fsd_op_create, true },
	[FUSE_INTERRUPT] = { fsd_op_interrupt, false },
	[FUSE_DESTROY] = { fsd_op_destroy, false },
	[FUSE_BATCH_FORGET] = { fsd_op_batch_forget, false },
	[FUSE_FALLOCATE] = { fsd_op_fallocate, true },
	[FUSE_READDIRPLUS] = { fsd_op_readdirplus, false },
	[FUSE_RENAME2] = { fsd_op_rename2, true },
	[FUSE_LSEEK] = { fsd_op_lseek, false },
	[FUSE_COPY_FILE_RANGE] = { fsd_op_copy_file_range, true },
	/* GETLK, SETLK, SETLKW, IOCTL, POLL, BMAP, NOTIFY_REPLY, SETUPMAPPING,
	 * REMOVEMAPPING, SYNCFS, TMPFILE, STATX and anything unknown: ENOSYS. */
};

int fsd_refuse(struct fsd_req *req, int err)
{
	atomic_fetch_add(&req->fsd->n_refused, 1);
	return err;
}

/* Describe [off, off + len) of iov as at most max iovecs; returns the bytes described. */
size_t fsd_iov_slice(const struct iovec *iov, unsigned n, size_t off, size_t len,
		     struct iovec *out, unsigned max, unsigned *cnt)
{
	size_t got = 0;
	unsigned k = 0;

	for (unsigned i = 0; i < n && got < len && k < max; i++) {
		size_t l = iov[i].iov_len;

		if (off >= l) {
			off -= l;
			continue;
		}
		out[k].iov_base = (uint8_t *)iov[i].iov_base + off;
		out[k].iov_len = LBX_MIN(l - off, len - got);
		got += out[k++].iov_len;
		off = 0;
	}
	*cnt = k;
	return got;
}

static size_t iov_total(const struct iovec *iov, unsigned n)
{
	size_t t = 0;

	for (unsigned i = 0; i < n; i++) {
		if (iov[i].iov_len > SIZE_MAX - t)
			return SIZE_MAX;
		t += iov[i].iov_len;
	}
	return t;
}

/* Copy [off, off + len) out of iov; returns the bytes copied. */
static size_t iov_gather(const struct iovec *iov, unsigned n, size_t off, void *dst, size_t len)
{
	uint8_t *d = dst;
	size_t got = 0;

	for (unsigned i = 0; i < n && got < len; i++) {
		size_t l = iov[i].iov_len, take;

		if (off >= l) {
			off -= l;
			continue;
		}
		take = LBX_MIN(l - off, len - got);
		memcpy(d + got, (const uint8_t *)iov[i].iov_base + off, take);
		got += take;
		off = 0;
	}
	return got;
}

static size_t iov_scatter(const struct iovec *iov, unsigned n, size_t off, const void *src,
			  size_t len)
{
	const uint8_t *s = src;
	size_t put = 0;

	for (unsigned i = 0; i < n && put < len; i++) {
		size_t l = iov[i].iov_len, take;

		if (off >= l) {
			off -= l;
			continue;
		}
		take = LBX_MIN(l - off, len - put);
		memcpy((uint8_t *)iov[i].iov_base + off, s + put, take);
		put += take;
		off = 0;
	}
	return put;
}

static bool is_write(const struct fuse_in_header *h)
{
	return h->opcode == FUSE_WRITE;
}

/* Check the header against what arrived; set up args (copied) and WRITE payload (in place). */
static int take_args(struct fsd_req *req, const struct fuse_in_header *h, const struct iovec *iov,
		     unsigned n, uint8_t **copy)
{
	size_t total = iov_total(iov, n), argl;

	if (h->len != total || h->len < FSD_IN_HEADER_SIZE)
		return fsd_refuse(req, -EINVAL);
	argl = h->len - FSD_IN_HEADER_SIZE;
	if (is_write(h)) {
		if (argl < sizeof(struct fuse_write_in))
			return fsd_refuse(req, -EINVAL);
		req->payload_len = argl - sizeof(struct fuse_write_in);
		if (req->payload_len > req->fsd->opt.max_write)
			return fsd_refuse(req, -EINVAL);
		argl = sizeof(struct fuse_write_in);
		req->payload = iov;
		req->npayload = n;
		req->payload_off = FSD_IN_HEADER_SIZE + sizeof(struct fuse_write_in);
	} else if (argl > FSD_MAX_ARGS) {
		return fsd_refuse(req, -EINVAL);
	}
	*copy = malloc(argl ? argl : 1);
	if (!*copy)
		return -ENOMEM;
	if (iov_gather(iov, n, FSD_IN_HEADER_SIZE, *copy, argl) != argl)
		return fsd_refuse(req, -EINVAL);
	lbx_reader_init(&req->args, *copy, argl);
	return 0;
}

static int dispatch(struct fsd_req *req)
{
	const struct fsd_op *op = req->opcode < FSD_OP_MAX ? &ops[req->opcode] : NULL;

	if (!op || !op->fn)
		return -ENOSYS;
	if (req->opcode != FUSE_INIT && !atomic_load(&req->fsd->initialized))
		return fsd_refuse(req, -EIO);
	if (op->modifies && req->fsd->opt.read_only)
		return -EROFS;
	if ((op->modifies || req->opcode == FUSE_OPEN) && req->fsd->nprotect) {
		int err = fsd_protect_check(req);

		if (err)
			return err;
	}
	return op->fn(req);
}

/* fuse_out_header then the handler's bytes; an error reply is the header alone. */
static int send_reply(struct fsd_req *req, int err, size_t *reply_len)
{
	uint8_t hdr[FSD_OUT_HEADER_SIZE];
	struct lbx_writer w;
	size_t body = err ? 0 : lbx_writer_len(&req->out) + req->direct_len;

	if (!err && FSD_OUT_HEADER_SIZE + body > req->reply_cap) {
		err = -ERANGE;
		body = 0;
	}
	if (req->reply_cap < FSD_OUT_HEADER_SIZE)
		return -ENOBUFS;
	lbx_writer_init_fixed(&w, hdr, sizeof(hdr));
	if (fsd_wr_out_header(&w, (uint32_t)(FSD_OUT_HEADER_SIZE + body), err, req->unique))
		return -EINVAL;
	iov_scatter(req->reply, req->nreply, 0, hdr, sizeof(hdr));
	if (!err && !req->direct_len)
		iov_scatter(req->reply, req->nreply, FSD_OUT_HEADER_SIZE,
			    lbx_writer_data(&req->out), lbx_writer_len(&req->out));
	*reply_len = FSD_OUT_HEADER_SIZE + body;
	return 0;
}

static void req_init(struct fsd_req *req, struct fsd *fsd, const struct fuse_in_header *h,
		     const struct iovec *reply, unsigned nreply)
{
	memset(req, 0, sizeof(*req));
	req->fsd = fsd;
	req->opcode = h->opcode;
	req->unique = h->unique;
	req->nodeid = h->nodeid;
	req->uid = h->uid;
	req->gid = h->gid;
	req->pid = h->pid;
	req->reply = reply;
	req->nreply = nreply;
	req->reply_cap = iov_total(reply, nreply);
	lbx_writer_init_dynamic(&req->out, FSD_MAX_LIST + FSD_XATTR_MAX);
}

int fsd_handle(struct fsd *fsd, const struct iovec *req_iov, unsigned nreq,
	       const struct iovec *reply, unsigned nreply, size_t *reply_len)
{
	uint8_t hbuf[FSD_IN_HEADER_SIZE], *copy = NULL;
	struct fuse_in_header h;
	struct lbx_reader r;
	struct fsd_req req;
	int err;

	*reply_len = 0;
	atomic_fetch_add(&fsd->n_requests, 1);
	if (iov_gather(req_iov, nreq, 0, hbuf, sizeof(hbuf)) != sizeof(hbuf)) {
		atomic_fetch_add(&fsd->n_refused, 1);
		return -EBADMSG;
	}
	lbx_reader_init(&r, hbuf, sizeof(hbuf));
	if (fsd_rd_in_header(&r, &h))
		return -EBADMSG;
	req_init(&req, fsd, &h, reply, nreply);
	err = take_args(&req, &h, req_iov, nreq, &copy);
	if (!err)
		err = dispatch(&req);
	if (err < 0)
		atomic_fetch_add(&fsd->n_errors, 1);
	if (err != FSD_NO_REPLY)
		err = send_reply(&req, err, reply_len);
	else
		err = 0;
	lbx_writer_free(&req.out);
	free(copy);
	return 0;
}

void fsd_get_stats(struct fsd *fsd, struct fsd_stats *st)
{
	st->requests = atomic_load(&fsd->n_requests);
	st->errors = atomic_load(&fsd->n_errors);
	st->refused = atomic_load(&fsd->n_refused);
	pthread_mutex_lock(&fsd->ilock);
	st->inodes = fsd->inodes.count;
	st->inode_fds = fsd->inode_fds;
	pthread_mutex_unlock(&fsd->ilock);
	pthread_mutex_lock(&fsd->hlock);
	st->handles = fsd->files.count;
	pthread_mutex_unlock(&fsd->hlock);
}
