/* SPDX-License-Identifier: MIT */
/*
 * Host edits, told to the guest (README "Cache policy"). The guest may
 * cache names and attributes for a long time only if it hears at once
 * when someone else changes the tree: an editor on the host, git checkout.
 *
 * Every directory the guest has looked up is watched with inotify
 * (created, deleted, moved in or out, a child modified or its attributes
 * changed). A thread reads the events and sends the guest FUSE
 * notifications (fuse.h, "notify"): FUSE_NOTIFY_INVAL_ENTRY for a name
 * that appeared, went or moved, FUSE_NOTIFY_INVAL_INODE for an object
 * whose attributes (and, when modified, data) changed. The transport
 * delivers them: /dev/fuse takes them as writes, virtio-fs on its
 * notification queue (virtio 1.2 §5.11.6.1, vhost.c), when the driver
 * negotiated it.
 *
 * The server's own changes make the same events. They are told apart
 * from the state the guest already has, not by who made them:
 *   - a name that exists and is recorded in the inode table at that very
 *     place (set by the entry reply the guest got) needs nothing;
 *   - an object whose change time equals the one in the last attributes
 *     sent to the guest (attr.c, write.c record it) needs nothing.
 * What is left costs the guest a dentry or attribute drop, and is cheap
 * when it held nothing (the kernel looks the name up in its own cache).
 * A host change within the same change-time tick (the file system's
 * clock granularity) as a guest change of the same object is not seen
 * apart from it; the attribute timeout bounds that case.
 *
 * An inotify queue overflow loses events: every inode's attributes and
 * data are invalidated then (names wait for the entry timeout).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <unistd.h>

#include "fsd_priv.h"
#include "log.h"

#define WATCH_MASK                                                                                 \
	(IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO | IN_MODIFY | IN_ATTRIB |             \
	 IN_CLOSE_WRITE | IN_ONLYDIR | IN_EXCL_UNLINK)

struct fsd_watch {
	struct fsd *fsd;
	struct fsd_notify_sink sink;
	int ifd, stopfd;
	pthread_t tid;
	pthread_mutex_t lock; /* nodes */
	uint64_t *nodes;      /* watch descriptor -> node id (0: none) */
	size_t nnodes;
	bool full_logged;
	atomic_uint_fast64_t sent, skipped, overflows;
};

static int send_msg(struct fsd_watch *w, int code, struct lbx_writer *body)
{
	uint8_t buf[16 + 24 + NAME_MAX + 1];
	struct lbx_writer out;
	size_t n = lbx_writer_len(body);

	lbx_writer_init_fixed(&out, buf, sizeof(buf));
	if (lbx_write_u32le(&out, (uint32_t)(16 + n)) || lbx_write_u32le(&out, (uint32_t)code) ||
	    lbx_write_u64le(&out, 0) || lbx_write_bytes(&out, lbx_writer_data(body), n))
		return -EMSGSIZE;
	atomic_fetch_add(&w->sent, 1);
	return w->sink.send(w->sink.ctx, buf, lbx_writer_len(&out));
}

/* FUSE_NOTIFY_INVAL_INODE: attributes, and data from off (-1: none). */
static void inval_inode(struct fsd_watch *w, uint64_t nodeid, int64_t off)
{
	uint8_t b[24];
	struct lbx_writer body;

	lbx_writer_init_fixed(&body, b, sizeof(b));
	if (!lbx_write_u64le(&body, nodeid) && !lbx_write_u64le(&body, (uint64_t)off) &&
	    !lbx_write_u64le(&body, 0))
		send_msg(w, FUSE_NOTIFY_INVAL_INODE, &body);
}

/* FUSE_NOTIFY_INVAL_ENTRY: the guest forgets name in parent. */
static void inval_entry(struct fsd_watch *w, uint64_t parent, const char *name)
{
	uint8_t b[16 + NAME_MAX + 1];
	struct lbx_writer body;
	size_t n = strlen(name);

	lbx_writer_init_fixed(&body, b, sizeof(b));
	if (!lbx_write_u64le(&body, parent) && !lbx_write_u32le(&body, (uint32_t)n) &&
	    !lbx_write_u32le(&body, 0) && !lbx_write_bytes(&body, name, n + 1))
		send_msg(w, FUSE_NOTIFY_INVAL_ENTRY, &body);
}

static uint64_t node_of_wd(struct fsd_watch *w, int wd)
{
	uint64_t id = 0;

	pthread_mutex_lock(&w->lock);
	if (wd >= 0 && (size_t)wd < w->nnodes)
		id = w->nodes[wd];
	pthread_mutex_unlock(&w->lock);
	return id;
}

/* A name in a watched directory changed (mask: what happened to it). */
static void name_event(struct fsd_watch *w, struct fsd_inode *dir, const char *name, uint32_t mask)
{
	struct fsd *fsd = w->fsd;
	struct stat st;
	uint64_t child;
	bool there = fstatat(dir->fd, name, &st, AT_SYMLINK_NOFOLLOW) == 0;

	if (mask & (IN_CREATE | IN_MOVED_TO | IN_DELETE | IN_MOVED_FROM)) {
		if (there && fsd_inode_known_at(fsd, dir, name, &st)) {
			atomic_fetch_add(&w->skipped, 1); /* the guest's own entry reply */
		} else {
			inval_entry(w, dir->nodeid, name);
			inval_inode(w, dir->nodeid, -1); /* its mtime and link count */
		}
	}
	if (there && (mask & (IN_MODIFY | IN_ATTRIB | IN_CLOSE_WRITE))) {
		child = fsd_inode_stale(fsd, &st);
		if (child)
			inval_inode(w, child, (mask & (IN_MODIFY | IN_CLOSE_WRITE)) ? 0 : -1);
		else
			atomic_fetch_add(&w->skipped, 1);
	}
}

/* Events lost: every inode's attributes and data. */
static void overflowed(struct fsd_watch *w)
{
	uint64_t *ids = NULL;
	size_t n = 0;

	atomic_fetch_add(&w->overflows, 1);
	lbx_warn("inotify lost events (queue overflow): the guest's caches of the tree are "
		 "invalidated; raise fs.inotify.max_queued_events if it recurs");
	if (fsd_inode_ids(w->fsd, &ids, &n) < 0)
		return;
	for (size_t i = 0; i < n; i++)
		inval_inode(w, ids[i], 0);
	free(ids);
}

static void one_event(struct fsd_watch *w, int wd, uint32_t mask, const char *name)
{
	struct fsd_inode *dir;
	uint64_t id;

	if (mask & IN_Q_OVERFLOW) {
		overflowed(w);
		return;
	}
	if (mask & IN_IGNORED) {
		pthread_mutex_lock(&w->lock);
		if (wd >= 0 && (size_t)wd < w->nnodes)
			w->nodes[wd] = 0;
		pthread_mutex_unlock(&w->lock);
		return;
	}
	if (!name[0] || !(id = node_of_wd(w, wd)) || fsd_inode_pin(w->fsd, id, &dir))
		return; /* the directory itself: its parent's watch tells */
	if (dir->type == S_IFDIR)
		name_event(w, dir, name, mask);
	fsd_inode_put(w->fsd, dir);
}

/* Parse a read() of inotify events (inotify(7)) through the bounded reader. */
static void events(struct fsd_watch *w, const uint8_t *buf, size_t n)
{
	struct lbx_reader r;

	lbx_reader_init(&r, buf, n);
	while (lbx_reader_left(&r)) {
		uint32_t wd, mask, cookie, len;
		const uint8_t *name;
		char nm[NAME_MAX + 1];

		if (lbx_read_u32le(&r, &wd) || lbx_read_u32le(&r, &mask) ||
		    lbx_read_u32le(&r, &cookie) || lbx_read_u32le(&r, &len) ||
		    lbx_read_bytes(&r, len, &name))
			return;
		/* name: NUL-padded; empty for the directory itself */
		size_t k = strnlen((const char *)name, len);

		if (k > NAME_MAX)
			continue;
		memcpy(nm, name, k);
		nm[k] = '\0';
		one_event(w, (int)wd, mask, nm);
	}
}

static void *watch_main(void *arg)
{
	struct fsd_watch *w = arg;
	uint8_t buf[65536] __attribute__((aligned(8)));

	for (;;) {
		struct pollfd p[2] = { { w->ifd, POLLIN, 0 }, { w->stopfd, POLLIN, 0 } };
		ssize_t n;

		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (p[1].revents)
			break;
		n = read(w->ifd, buf, sizeof(buf));
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n <= 0)
			break;
		events(w, buf, (size_t)n);
	}
	return NULL;
}

/* Called with the table lock held, for a directory inode with an fd. */
void fsd_watch_dir(struct fsd *fsd, struct fsd_inode *ino)
{
	struct fsd_watch *w = fsd->watch;
	char path[40];
	int wd;

	if (!w || ino->type != S_IFDIR || ino->wd > 0 || ino->fd < 0)
		return;
	fsd_proc_path(ino, path, sizeof(path));
	wd = inotify_add_watch(w->ifd, path, WATCH_MASK);
	if (wd < 0) {
		if (!w->full_logged)
			lbx_warn("cannot watch more directories for host edits (%s): raise "
				 "fs.inotify.max_user_watches; the rest rely on the cache timeout",
				 strerror(errno));
		w->full_logged = true;
		return;
	}
	pthread_mutex_lock(&w->lock);
	if ((size_t)wd >= w->nnodes) {
		size_t n = LBX_MAX((size_t)wd + 1, w->nnodes * 2);
		uint64_t *t = realloc(w->nodes, n * sizeof(*t));

		if (t) {
			memset(t + w->nnodes, 0, (n - w->nnodes) * sizeof(*t));
			w->nodes = t;
			w->nnodes = n;
		}
	}
	if ((size_t)wd < w->nnodes) {
		w->nodes[wd] = ino->nodeid;
		ino->wd = wd;
	}
	pthread_mutex_unlock(&w->lock);
	if (!ino->wd)
		inotify_rm_watch(w->ifd, wd);
}

/* Called with the table lock held: the inode goes. */
void fsd_watch_forget(struct fsd *fsd, struct fsd_inode *ino)
{
	struct fsd_watch *w = fsd->watch;

	if (!w || ino->wd <= 0)
		return;
	pthread_mutex_lock(&w->lock);
	if ((size_t)ino->wd < w->nnodes)
		w->nodes[ino->wd] = 0;
	pthread_mutex_unlock(&w->lock);
	inotify_rm_watch(w->ifd, ino->wd);
	ino->wd = 0;
}

int fsd_watch_start(struct fsd *fsd, const struct fsd_notify_sink *sink)
{
	struct fsd_watch *w = calloc(1, sizeof(*w));
	int err;

	if (!w)
		return -ENOMEM;
	w->fsd = fsd;
	w->sink = *sink;
	w->ifd = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
	w->stopfd = eventfd(0, EFD_CLOEXEC);
	pthread_mutex_init(&w->lock, NULL);
	if (w->ifd < 0 || w->stopfd < 0) {
		err = -errno;
		lbx_warn("cannot watch the tree for host edits: %s", strerror(errno));
		goto fail;
	}
	err = -pthread_create(&w->tid, NULL, watch_main, w);
	if (err)
		goto fail;
	pthread_mutex_lock(&fsd->ilock);
	fsd->watch = w;
	fsd_watch_dir(fsd, fsd->root);
	pthread_mutex_unlock(&fsd->ilock);
	return 0;
fail:
	if (w->ifd >= 0)
		close(w->ifd);
	if (w->stopfd >= 0)
		close(w->stopfd);
	pthread_mutex_destroy(&w->lock);
	free(w);
	return err;
}

void fsd_watch_stop(struct fsd *fsd)
{
	struct fsd_watch *w = fsd->watch;
	uint64_t one = 1;

	if (!w)
		return;
	if (write(w->stopfd, &one, sizeof(one)) == sizeof(one))
		pthread_join(w->tid, NULL);
	pthread_mutex_lock(&fsd->ilock);
	fsd->watch = NULL;
	for (uint32_t i = 0; i < fsd->inodes.cap; i++) {
		struct fsd_inode *ino = fsd_idtable_at(&fsd->inodes, i);

		if (ino)
			ino->wd = 0;
	}
	pthread_mutex_unlock(&fsd->ilock);
	close(w->ifd);
	close(w->stopfd);
	pthread_mutex_destroy(&w->lock);
	free(w->nodes);
	free(w);
}

void fsd_watch_stats(struct fsd *fsd, uint64_t *sent, uint64_t *skipped)
{
	struct fsd_watch *w = fsd->watch;

	*sent = w ? atomic_load(&w->sent) : 0;
	*skipped = w ? atomic_load(&w->skipped) : 0;
}
