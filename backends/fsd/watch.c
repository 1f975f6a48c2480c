/* SPDX-License-Identifier: MIT */
/*
 * Host edits, told to the guest (README "Cache policy"). The guest may
 * cache names and attributes for a long time only if it hears at once
 * when someone else changes the tree: an editor on the host, git checkout.
 *
 * Every directory the guest has looked up is watched (created, deleted,
 * moved in or out, a child modified or its attributes changed): with
 * fanotify and FAN_REPORT_DFID_NAME where the kernel and the file system
 * allow it (each event names the process that made it, so the server's
 * own changes are skipped outright; directories are known by their file
 * handle), else with inotify. A thread reads the events and sends the guest FUSE
 * notifications (fuse.h, "notify"): FUSE_NOTIFY_INVAL_ENTRY for a name
 * that appeared, went or moved (FUSE_NOTIFY_DELETE for one that is gone
 * and whose inode the guest holds), FUSE_NOTIFY_INVAL_INODE for an object
 * whose attributes (and, when modified, data) changed. A receiver that
 * raises events for its own watchers (our guest kernel's notification
 * queue, kernel-config/patches/0003) also gets what happened to each name
 * in INVAL_ENTRY's flags, and content changes as event-only INVAL_ENTRYs,
 * so inotify in the guest sees the host's edits. The transport
 * delivers them: /dev/fuse takes them as writes, virtio-fs on its
 * notification queue (virtio 1.2 §5.11.6.1, vhost.c), when the driver
 * negotiated it.
 *
 * Under inotify the server's own changes make the same events. They are
 * told apart from the state the guest already has, not by who made them:
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
#include <sys/fanotify.h>
#include <sys/inotify.h>
#include <unistd.h>

#include "fsd_priv.h"
#include "log.h"

#define WATCH_MASK                                                                                 \
	(IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO | IN_MODIFY | IN_ATTRIB |             \
	 IN_CLOSE_WRITE | IN_ONLYDIR | IN_EXCL_UNLINK)

#define FAN_MASK                                                                            \
	(FAN_CREATE | FAN_DELETE | FAN_MOVED_FROM | FAN_MOVED_TO | FAN_MODIFY | FAN_ATTRIB |  \
	 FAN_CLOSE_WRITE | FAN_EVENT_ON_CHILD | FAN_ONDIR)
#ifndef AT_HANDLE_FID
#define AT_HANDLE_FID 0x200 /* name_to_handle_at: the handle fanotify reports (Linux 6.5) */
#endif
#define HANDLE_MAX 128 /* MAX_HANDLE_SZ */

/* fanotify: a watched directory by its file handle. */
struct fan_dir {
	uint64_t nodeid; /* 0: free */
	int type;
	uint32_t len;
	uint8_t h[HANDLE_MAX];
};

struct fsd_watch {
	struct fsd *fsd;
	struct fsd_notify_sink sink;
	bool fan; /* fanotify; else inotify */
	pid_t self;
	int ifd, stopfd;
	pthread_t tid;
	pthread_mutex_t lock; /* nodes */
	uint64_t *nodes;      /* inotify: watch descriptor -> node id (0: none) */
	size_t nnodes;
	struct fan_dir *dirs; /* fanotify: slot (ino->wd - 1) -> directory */
	size_t ndirs;
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

/* FUSE_NOTIFY_INVAL_ENTRY: the guest forgets name in parent (flags: FSD_NOTIFY_F_*). */
static void inval_entry(struct fsd_watch *w, uint64_t parent, const char *name, uint32_t flags)
{
	uint8_t b[16 + NAME_MAX + 1];
	struct lbx_writer body;
	size_t n = strlen(name);

	lbx_writer_init_fixed(&body, b, sizeof(b));
	if (!lbx_write_u64le(&body, parent) && !lbx_write_u32le(&body, (uint32_t)n) &&
	    !lbx_write_u32le(&body, flags) && !lbx_write_bytes(&body, name, n + 1))
		send_msg(w, FUSE_NOTIFY_INVAL_ENTRY, &body);
}

/* FUSE_NOTIFY_DELETE: name in parent, which was child, is gone (fuse.h). */
static void notify_delete(struct fsd_watch *w, uint64_t parent, uint64_t child, const char *name)
{
	uint8_t b[24 + NAME_MAX + 1];
	struct lbx_writer body;
	size_t n = strlen(name);

	lbx_writer_init_fixed(&body, b, sizeof(b));
	if (!lbx_write_u64le(&body, parent) && !lbx_write_u64le(&body, child) &&
	    !lbx_write_u32le(&body, (uint32_t)n) && !lbx_write_u32le(&body, 0) &&
	    !lbx_write_bytes(&body, name, n + 1))
		send_msg(w, FUSE_NOTIFY_DELETE, &body);
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

#define NAME_EVENTS    (IN_CREATE | IN_MOVED_TO | IN_DELETE | IN_MOVED_FROM)
#define CONTENT_EVENTS (IN_MODIFY | IN_ATTRIB | IN_CLOSE_WRITE)

/* inotify's event bits (one each) as our guest kernel's event flags. */
static const struct {
	uint32_t in, flag;
} event_flags[] = {
	{ IN_CREATE, FSD_NOTIFY_F_CREATE },	      { IN_MOVED_TO, FSD_NOTIFY_F_MOVED_TO },
	{ IN_DELETE, FSD_NOTIFY_F_DELETE },	      { IN_MOVED_FROM, FSD_NOTIFY_F_MOVED_FROM },
	{ IN_MODIFY, FSD_NOTIFY_F_MODIFY },	      { IN_ATTRIB, FSD_NOTIFY_F_ATTRIB },
	{ IN_CLOSE_WRITE, FSD_NOTIFY_F_CLOSE_WRITE },
};

static uint32_t event_flag(uint32_t mask)
{
	uint32_t dir = (mask & IN_ISDIR) ? FSD_NOTIFY_F_ISDIR : 0;

	for (size_t i = 0; i < LBX_ARRAY_SIZE(event_flags); i++)
		if (mask & event_flags[i].in)
			return event_flags[i].flag | dir;
	return 0;
}

/*
 * A name appeared, went or moved. A name that is gone and that the table
 * records (the guest holds its inode) is FUSE_NOTIFY_DELETE: the guest's
 * dentry goes and the inode's link count drops at once. Otherwise
 * INVAL_ENTRY, carrying what happened for a receiver that tells its own
 * watchers.
 */
static void name_changed(struct fsd_watch *w, struct fsd_inode *dir, const char *name,
			 uint32_t mask, bool there)
{
	uint64_t child = 0;

	if (!there && (mask & IN_DELETE))
		child = fsd_inode_child(w->fsd, dir, name);
	if (child)
		notify_delete(w, dir->nodeid, child, name);
	else
		inval_entry(w, dir->nodeid, name,
			    w->sink.events ? event_flag(mask & (NAME_EVENTS | IN_ISDIR)) : 0);
	inval_inode(w, dir->nodeid, 0); /* its mtime, link count and cached listing */
}

/* Content and attribute changes of a name, told as events only (sink.events). */
static void content_events(struct fsd_watch *w, struct fsd_inode *dir, const char *name,
			   uint32_t mask)
{
	if (!w->sink.events)
		return;
	for (size_t i = 0; i < LBX_ARRAY_SIZE(event_flags); i++)
		if ((mask & CONTENT_EVENTS & event_flags[i].in))
			inval_entry(w, dir->nodeid, name,
				    FSD_NOTIFY_F_EXPIRE_ONLY | event_flags[i].flag |
					((mask & IN_ISDIR) ? FSD_NOTIFY_F_ISDIR : 0));
}

/* A name in a watched directory changed (mask: what happened to it). */
static void name_event(struct fsd_watch *w, struct fsd_inode *dir, const char *name, uint32_t mask,
		       bool foreign)
{
	struct fsd *fsd = w->fsd;
	struct stat st;
	uint64_t child, known;
	bool there = fstatat(dir->fd, name, &st, AT_SYMLINK_NOFOLLOW) == 0;

	if (mask & NAME_EVENTS) {
		if (!foreign && there && fsd_inode_known_at(fsd, dir, name, &st))
			atomic_fetch_add(&w->skipped, 1); /* the guest's own entry reply */
		else
			name_changed(w, dir, name, mask, there);
	}
	if (there && (mask & CONTENT_EVENTS)) {
		known = fsd_inode_node(fsd, &st);
		child = fsd_inode_stale(fsd, &st);
		if (foreign && !child)
			child = known; /* not ours: whatever the change time */
		if (child)
			inval_inode(w, child, (mask & (IN_MODIFY | IN_CLOSE_WRITE)) ? 0 : -1);
		/* a name the guest never looked up cannot be its own change */
		if (!child && (known || !w->sink.events))
			atomic_fetch_add(&w->skipped, 1);
		else
			content_events(w, dir, name, mask);
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
		name_event(w, dir, name, mask, false);
	fsd_inode_put(w->fsd, dir);
}

static uint64_t fan_node(struct fsd_watch *w, int type, const uint8_t *h, uint32_t len)
{
	uint64_t id = 0;

	pthread_mutex_lock(&w->lock);
	for (size_t i = 0; i < w->ndirs && !id; i++)
		if (w->dirs[i].nodeid && w->dirs[i].type == type && w->dirs[i].len == len &&
		    !memcmp(w->dirs[i].h, h, len))
			id = w->dirs[i].nodeid;
	pthread_mutex_unlock(&w->lock);
	return id;
}

/* fanotify's event bits as inotify's, for name_event. */
static uint32_t fan_to_in(uint64_t m)
{
	return ((m & FAN_CREATE) ? IN_CREATE : 0) | ((m & FAN_DELETE) ? IN_DELETE : 0) |
	       ((m & FAN_MOVED_FROM) ? IN_MOVED_FROM : 0) | ((m & FAN_MOVED_TO) ? IN_MOVED_TO : 0) |
	       ((m & FAN_MODIFY) ? IN_MODIFY : 0) | ((m & FAN_ATTRIB) ? IN_ATTRIB : 0) |
	       ((m & FAN_CLOSE_WRITE) ? IN_CLOSE_WRITE : 0) | ((m & FAN_ONDIR) ? IN_ISDIR : 0);
}

/* One DFID_NAME record (fanotify(7)): fsid, file_handle of the directory, the name. */
static void fan_record(struct fsd_watch *w, struct lbx_reader *r, uint64_t mask)
{
	uint32_t hlen, htype;
	const uint8_t *h, *rest;
	size_t nrest, k;
	struct fsd_inode *dir;
	char name[NAME_MAX + 1];
	uint64_t id;

	if (lbx_read_skip(r, 8) || lbx_read_u32le(r, &hlen) || lbx_read_u32le(r, &htype) ||
	    hlen > HANDLE_MAX || lbx_read_bytes(r, hlen, &h) || lbx_read_rest(r, &rest, &nrest))
		return;
	k = strnlen((const char *)rest, nrest);
	if (k == nrest || k == 0 || k > NAME_MAX || (k == 1 && rest[0] == '.'))
		return; /* the directory itself: its parent's mark tells */
	memcpy(name, rest, k + 1);
	id = fan_node(w, (int)htype, h, hlen);
	if (!id || fsd_inode_pin(w->fsd, id, &dir))
		return;
	if (dir->type == S_IFDIR)
		name_event(w, dir, name, fan_to_in(mask), true);
	fsd_inode_put(w->fsd, dir);
}

/* Parse a read() of fanotify events (fanotify(7)) through the bounded reader. */
static void fan_events(struct fsd_watch *w, const uint8_t *buf, size_t n)
{
	struct lbx_reader r;

	lbx_reader_init(&r, buf, n);
	while (lbx_reader_left(&r) >= FAN_EVENT_METADATA_LEN) {
		uint32_t len;
		uint8_t vers, res;
		uint16_t mlen;
		uint64_t mask;
		uint32_t fd, pid;
		struct lbx_reader ev;

		if (lbx_read_u32le(&r, &len) || len < FAN_EVENT_METADATA_LEN ||
		    lbx_read_sub(&r, len - 4, &ev) || lbx_read_u8(&ev, &vers) ||
		    lbx_read_u8(&ev, &res) || lbx_read_u16le(&ev, &mlen) ||
		    lbx_read_u64le(&ev, &mask) || lbx_read_u32le(&ev, &fd) ||
		    lbx_read_u32le(&ev, &pid) || vers != FANOTIFY_METADATA_VERSION ||
		    mlen < FAN_EVENT_METADATA_LEN || lbx_read_skip(&ev, mlen - FAN_EVENT_METADATA_LEN))
			return;
		if ((int32_t)fd >= 0)
			close((int)fd); /* not asked for, but never leak one */
		if (mask & FAN_Q_OVERFLOW) {
			overflowed(w);
			continue;
		}
		if ((pid_t)pid == w->self) {
			atomic_fetch_add(&w->skipped, 1); /* the server's own change */
			continue;
		}
		while (lbx_reader_left(&ev) >= 4) {
			uint8_t type, pad;
			uint16_t ilen;
			struct lbx_reader info;

			if (lbx_read_u8(&ev, &type) || lbx_read_u8(&ev, &pad) ||
			    lbx_read_u16le(&ev, &ilen) || ilen < 4 || lbx_read_sub(&ev, ilen - 4, &info))
				break;
			if (type == FAN_EVENT_INFO_TYPE_DFID_NAME)
				fan_record(w, &info, mask);
		}
	}
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
		if (w->fan)
			fan_events(w, buf, (size_t)n);
		else
			events(w, buf, (size_t)n);
	}
	return NULL;
}

static void watch_full(struct fsd_watch *w, int err)
{
	if (!w->full_logged)
		lbx_warn("cannot watch more directories for host edits (%s): raise "
			 "fs.inotify.max_user_watches or fs.fanotify.max_user_marks; the rest rely "
			 "on the cache timeout",
			 strerror(err));
	w->full_logged = true;
}

/* fanotify: mark the directory and remember its handle (slot + 1 in ino->wd). */
static int fan_watch(struct fsd_watch *w, struct fsd_inode *ino, const char *path)
{
	struct {
		struct file_handle fh;
		uint8_t h[HANDLE_MAX];
	} fh;
	int mnt;
	size_t slot;

	fh.fh.handle_bytes = HANDLE_MAX;
	if (name_to_handle_at(ino->fd, "", &fh.fh, &mnt, AT_EMPTY_PATH | AT_HANDLE_FID) < 0 &&
	    (errno != EINVAL ||
	     (fh.fh.handle_bytes = HANDLE_MAX,
	      name_to_handle_at(ino->fd, "", &fh.fh, &mnt, AT_EMPTY_PATH) < 0)))
		return -errno;
	if (fanotify_mark(w->ifd, FAN_MARK_ADD, FAN_MASK, AT_FDCWD, path) < 0)
		return -errno;
	pthread_mutex_lock(&w->lock);
	for (slot = 0; slot < w->ndirs && w->dirs[slot].nodeid; slot++)
		;
	if (slot == w->ndirs) {
		size_t n = w->ndirs ? w->ndirs * 2 : 64;
		struct fan_dir *t = realloc(w->dirs, n * sizeof(*t));

		if (t) {
			memset(t + w->ndirs, 0, (n - w->ndirs) * sizeof(*t));
			w->dirs = t;
			w->ndirs = n;
		}
	}
	if (slot < w->ndirs) {
		w->dirs[slot].nodeid = ino->nodeid;
		w->dirs[slot].type = fh.fh.handle_type;
		w->dirs[slot].len = fh.fh.handle_bytes;
		memcpy(w->dirs[slot].h, fh.h, fh.fh.handle_bytes);
		ino->wd = (int)slot + 1;
	}
	pthread_mutex_unlock(&w->lock);
	return ino->wd ? 0 : -ENOMEM;
}

/* Called with the table lock held, for a directory inode with an fd. */
void fsd_watch_dir(struct fsd *fsd, struct fsd_inode *ino)
{
	struct fsd_watch *w = fsd->watch;
	char path[40];
	int wd, err;

	if (!w || ino->type != S_IFDIR || ino->wd > 0 || ino->fd < 0)
		return;
	fsd_proc_path(ino, path, sizeof(path));
	if (w->fan) {
		if ((err = fan_watch(w, ino, path)))
			watch_full(w, -err);
		return;
	}
	wd = inotify_add_watch(w->ifd, path, WATCH_MASK);
	if (wd < 0) {
		watch_full(w, errno);
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
	if (w->fan) {
		char path[40];

		pthread_mutex_lock(&w->lock);
		if ((size_t)ino->wd <= w->ndirs)
			w->dirs[ino->wd - 1].nodeid = 0;
		pthread_mutex_unlock(&w->lock);
		/* evicted: the mark stays until the kernel drops the inode; it maps to nothing */
		fsd_proc_path(ino, path, sizeof(path));
		if (ino->fd >= 0)
			fanotify_mark(w->ifd, FAN_MARK_REMOVE, FAN_MASK, AT_FDCWD, path);
		ino->wd = 0;
		return;
	}
	pthread_mutex_lock(&w->lock);
	if ((size_t)ino->wd < w->nnodes)
		w->nodes[ino->wd] = 0;
	pthread_mutex_unlock(&w->lock);
	inotify_rm_watch(w->ifd, ino->wd);
	ino->wd = 0;
}

/*
 * fanotify with FAN_REPORT_DFID_NAME, if it may mark the shared directory
 * (privilege, a file system with file handles): the fd, else -1 (inotify).
 * LBX_FSD_WATCH=inotify forces inotify (tests).
 */
static int fan_open(struct fsd *fsd)
{
	const char *env = getenv("LBX_FSD_WATCH");
	char path[40];
	int fd;

	if (env && !strcmp(env, "inotify"))
		return -1;
	fd = fanotify_init(FAN_CLASS_NOTIF | FAN_REPORT_DFID_NAME | FAN_CLOEXEC | FAN_NONBLOCK,
			   O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	fsd_proc_path(fsd->root, path, sizeof(path));
	if (fanotify_mark(fd, FAN_MARK_ADD, FAN_MASK, AT_FDCWD, path) < 0) {
		close(fd);
		return -1; /* marked again, with its handle, by fsd_watch_dir */
	}
	return fd;
}

int fsd_watch_start(struct fsd *fsd, const struct fsd_notify_sink *sink)
{
	struct fsd_watch *w = calloc(1, sizeof(*w));
	int err;

	if (!w)
		return -ENOMEM;
	w->fsd = fsd;
	w->sink = *sink;
	w->self = getpid();
	w->ifd = fan_open(fsd);
	w->fan = w->ifd >= 0;
	if (!w->fan)
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
	free(w->dirs);
	free(w);
}

const char *fsd_watch_kind(struct fsd *fsd)
{
	return !fsd->watch ? "none" : fsd->watch->fan ? "fanotify" : "inotify";
}

void fsd_watch_stats(struct fsd *fsd, uint64_t *sent, uint64_t *skipped)
{
	struct fsd_watch *w = fsd->watch;

	*sent = w ? atomic_load(&w->sent) : 0;
	*skipped = w ? atomic_load(&w->skipped) : 0;
}
