/* SPDX-License-Identifier: MIT */
/*
 * lbx-fsd's FUSE core: a FUSE protocol server (include/uapi/linux/fuse.h,
 * protocol 7.31 and later) for one shared directory tree, independent of
 * how requests arrive.
 *
 * The transport interface
 * -----------------------
 * A transport (the host /dev/fuse loop in fuse_dev.c, the vhost-user-fs
 * queues of virtio 1.2 §5.11) hands every request to fsd_handle() exactly
 * as it arrived:
 *
 *   req/nreq      the request bytes, in order, in as many pieces as the
 *                 transport has them: one buffer for /dev/fuse, the
 *                 device-readable descriptors of a virtqueue chain (header,
 *                 arguments and WRITE payload may each be split anywhere).
 *   reply/nreply  where the reply goes: one buffer, or the chain's
 *                 device-writable descriptors. READ data is read straight
 *                 into them after the 16-byte fuse_out_header.
 *   *reply_len    bytes written into reply; 0 means no reply is owed
 *                 (FORGET, BATCH_FORGET, INTERRUPT) or none could be built.
 *
 * The core copies the header and arguments out of req once before looking
 * at them (the guest can rewrite shared memory at any time; a name checked
 * then used must not change in between) and parses them only through
 * common/reader.h. WRITE payload is the one thing used in place: its bytes
 * go to pwritev unexamined. Node ids and file handles are indices checked
 * against tables, never pointers. Return value: 0, or -EBADMSG when the
 * request is too short to carry a header (then *reply_len is 0).
 *
 * fsd_handle() may be called from several threads at once. It blocks in
 * file system calls; the transport decides how many threads serve.
 *
 * Queue 0 of virtio-fs (hiprio) carries FORGET, BATCH_FORGET and
 * INTERRUPT; they go through fsd_handle() like any other request.
 */
#ifndef LBX_FSD_H
#define LBX_FSD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "compiler.h"

struct fsd;

enum fsd_ownership {
	FSD_OWNERSHIP_IDENTITY, /* owners and modes are the host's */
	FSD_OWNERSHIP_XATTR,	/* kept in user.containers.override_stat (ownership.c) */
};

struct fsd_options {
	bool read_only;		   /* every modifying request gets EROFS */
	enum fsd_ownership ownership;
	uint32_t entry_timeout_ms; /* how long the guest may trust a name (README.md) */
	uint32_t attr_timeout_ms;  /* how long it may trust attributes */
	bool keep_cache;	   /* FOPEN_KEEP_CACHE: page cache survives close/open */
	bool writeback;		   /* FUSE_WRITEBACK_CACHE: only for trees the host never edits */
	uint32_t max_write;	   /* largest WRITE/READ payload, bytes */
	/*
	 * Inode O_PATH fds kept open; beyond it the least recently used idle
	 * ones are closed and reopened by name when next used. 0: the open
	 * file limit less a reserve for open files (fsd_new reads it).
	 */
	uint32_t max_inode_fds;
	/*
	 * Paths relative to the shared directory that are read-only to the
	 * guest, with everything under them (protect.c); copied by fsd_new.
	 */
	const char *const *protect;
	unsigned nprotect;
	/* Bytes the tree's regular files may use; growth past it is ENOSPC (quota.c). 0: none. */
	uint64_t quota_bytes;
	/*
	 * Entry and attribute timeouts once host edits reach the guest as
	 * notifications (fsd_watch_start, and for virtio-fs a driver that
	 * negotiated VIRTIO_FS_F_NOTIFICATION). 0: keep the ones above.
	 */
	uint32_t notified_timeout_ms;
};

#define FSD_MAX_WRITE_DEFAULT (1u << 20)
#define FSD_MAX_INODE_FDS     (1u << 30)

void fsd_options_default(struct fsd_options *opt);

/*
 * Serve the directory shared_dir. Opens it and /proc/self/fd, so call it
 * before the sandbox closes those off. Returns 0 or -errno.
 */
LBX_MUST_CHECK int fsd_new(const char *shared_dir, const struct fsd_options *opt,
			   struct fsd **out);
void fsd_free(struct fsd *fsd);

/* Bytes a transport must be able to take in for one request (header + args + payload). */
size_t fsd_max_request(const struct fsd *fsd);

LBX_MUST_CHECK int fsd_handle(struct fsd *fsd, const struct iovec *req, unsigned nreq,
			      const struct iovec *reply, unsigned nreply, size_t *reply_len);

/*
 * Host edits (watch.c): a transport that can carry FUSE notifications
 * (fuse_out_header with unique 0 and error = FUSE_NOTIFY_*, then the
 * body) gives a sink; the server watches the tree and sends through it,
 * from a thread of its own, until fsd_watch_stop. send returns 0 or
 * -errno; a notification it cannot deliver is dropped (the timeouts
 * remain the bound).
 */
struct fsd_notify_sink {
	int (*send)(void *ctx, const void *msg, size_t len);
	void *ctx;
	/*
	 * The receiver raises events for its own watchers from
	 * FUSE_NOTIFY_INVAL_ENTRY's flags (FSD_NOTIFY_F_*: our guest kernel's
	 * virtio-fs notification queue, kernel-config/patches/0003): then a
	 * name event carries what happened, and content and attribute changes
	 * of a name are told too (event only). /dev/fuse: false.
	 */
	bool events;
};

/* kernel-config/patches/0003: include/uapi/linux/virtio_fs.h VIRTIO_FS_NOTIFY_F_* */
#define FSD_NOTIFY_F_EXPIRE_ONLY (1u << 0) /* FUSE_EXPIRE_ONLY */
#define FSD_NOTIFY_F_CLOSE_WRITE (1u << 23)
#define FSD_NOTIFY_F_CREATE	 (1u << 24)
#define FSD_NOTIFY_F_DELETE	 (1u << 25)
#define FSD_NOTIFY_F_MOVED_FROM	 (1u << 26)
#define FSD_NOTIFY_F_MOVED_TO	 (1u << 27)
#define FSD_NOTIFY_F_MODIFY	 (1u << 28)
#define FSD_NOTIFY_F_ATTRIB	 (1u << 29)
#define FSD_NOTIFY_F_ISDIR	 (1u << 30)
LBX_MUST_CHECK int fsd_watch_start(struct fsd *fsd, const struct fsd_notify_sink *sink);
void fsd_watch_stop(struct fsd *fsd);
/*
 * The transport delivers the notifications (/dev/fuse always, virtio-fs
 * once the driver negotiated VIRTIO_FS_F_NOTIFICATION): replies from now
 * on carry opt.notified_timeout_ms, if set. Call before requests flow.
 */
void fsd_notified(struct fsd *fsd);
/* "fanotify", "inotify" or "none". */
const char *fsd_watch_kind(struct fsd *fsd);
/* Notifications sent, and events found to need none (the guest's own changes). */
void fsd_watch_stats(struct fsd *fsd, uint64_t *sent, uint64_t *skipped);

/* Counters for tests and logs. */
struct fsd_stats {
	uint64_t requests, errors, refused; /* refused: malformed or escaping requests */
	uint64_t inodes, handles;	    /* live now */
	uint64_t inode_fds;		    /* inode fds open now, the root's aside */
};
void fsd_get_stats(struct fsd *fsd, struct fsd_stats *st);

#endif
