/* SPDX-License-Identifier: MIT */
/*
 * The inode table: every host object the guest has looked up, held as an
 * O_PATH | O_NOFOLLOW fd and known to the guest by a node id (idtable.h).
 * A (dev, ino) hash makes every name of one host inode (hard links) map to
 * one node id, as the kernel expects. An inode lives while the guest holds
 * lookups on it (FORGET gives them back), a request or open handle uses it
 * (refs), or an inode it is the recorded parent of lives (kids).
 *
 * The guest may hold more inodes than the process may have fds, so the
 * fds are a cache of at most opt.max_inode_fds (the root's aside): when
 * one more would exceed it, the least recently used idle ones are closed
 * (an idle inode: refs 0, so no request and no open handle can be using
 * its fd). Its struct, node id and lookup count stay, and it remembers
 * the name it last had in its parent (set by every entry reply, moved by
 * RENAME, cleared by UNLINK). fsd_node_get, which every handler uses,
 * pins the inode (refs) and reopens an evicted fd the way a lookup opens
 * one, from the parent's fd, which is made sure of first; the result must
 * be the same host object (dev, ino, type) or the node is ESTALE. An
 * inode without a path is never evicted. Recorded parents form a tree
 * (set_path refuses a cycle), ending at the root or at a pathless inode.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fsd_priv.h"
#include "log.h"

#define FSD_MAX_INODES (1u << 22)

static size_t bucket_in(size_t nbuckets, dev_t dev, ino_t ino)
{
	uint64_t h = ((uint64_t)ino ^ (uint64_t)dev << 40) * 0x9e3779b97f4a7c15ull;

	return (size_t)(h >> 24) & (nbuckets - 1);
}

static size_t bucket_of(const struct fsd *fsd, dev_t dev, ino_t ino)
{
	return bucket_in(fsd->nbuckets, dev, ino);
}

static int rehash(struct fsd *fsd)
{
	size_t n = fsd->nbuckets * 2;
	struct fsd_inode **hash = calloc(n, sizeof(*hash));

	if (!hash)
		return -ENOMEM;
	for (size_t b = 0; b < fsd->nbuckets; b++) {
		struct fsd_inode *ino = fsd->hash[b], *next;

		for (; ino; ino = next) {
			size_t nb = bucket_in(n, ino->dev, ino->ino);

			next = ino->hnext;
			ino->hnext = hash[nb];
			hash[nb] = ino;
		}
	}
	free(fsd->hash);
	fsd->hash = hash;
	fsd->nbuckets = n;
	return 0;
}

static void hash_remove(struct fsd *fsd, struct fsd_inode *ino)
{
	struct fsd_inode **pp = &fsd->hash[bucket_of(fsd, ino->dev, ino->ino)];

	while (*pp && *pp != ino)
		pp = &(*pp)->hnext;
	if (*pp)
		*pp = ino->hnext;
	ino->hnext = NULL;
}

static struct fsd_inode *idle_inode(struct fsd_link *l)
{
	return (struct fsd_inode *)((char *)l - offsetof(struct fsd_inode, lru));
}

static void idle_remove(struct fsd_inode *ino)
{
	if (!ino->lru.next)
		return;
	ino->lru.prev->next = ino->lru.next;
	ino->lru.next->prev = ino->lru.prev;
	ino->lru.next = ino->lru.prev = NULL;
}

/* Called with ilock held after refs, fd or path changed: idle ones go to the newest end. */
static void idle_update(struct fsd *fsd, struct fsd_inode *ino)
{
	idle_remove(ino);
	if (ino->refs || ino->fd < 0 || !ino->parent)
		return;
	ino->lru.prev = fsd->idle.prev;
	ino->lru.next = &fsd->idle;
	fsd->idle.prev->next = &ino->lru;
	fsd->idle.prev = &ino->lru;
}

/* Called with ilock held: close idle fds, least recently used first, down to target. */
static void evict_to(struct fsd *fsd, uint32_t target)
{
	while (fsd->inode_fds > target && fsd->idle.next != &fsd->idle) {
		struct fsd_inode *ino = idle_inode(fsd->idle.next);

		idle_remove(ino);
		close(ino->fd);
		ino->fd = -1;
		fsd->inode_fds--;
	}
}

/* Called with ilock held: ino, which has no fd, gets fd, within the budget. */
static void fd_install(struct fsd *fsd, struct fsd_inode *ino, int fd)
{
	static atomic_bool told;

	ino->fd = fd;
	fsd->inode_fds++;
	if (fsd->inode_fds > fsd->opt.max_inode_fds && !atomic_exchange(&told, true))
		lbx_info("the budget of %u inode fds is reached: idle ones are closed from now "
			 "on and reopened by name when used (--max-inode-fds)",
			 fsd->opt.max_inode_fds);
	evict_to(fsd, fsd->opt.max_inode_fds);
}

bool fsd_out_of_fds(struct fsd *fsd, int err)
{
	static atomic_bool warned;

	if (err != -EMFILE && err != -ENFILE)
		return false;
	if (!atomic_exchange(&warned, true))
		lbx_warn("out of file descriptors (%s): closing idle inode fds early; raise the "
			 "limit or lower --max-inode-fds",
			 err == -EMFILE ? "open file limit, ulimit -n"
					: "system limit, fs.file-max");
	pthread_mutex_lock(&fsd->ilock);
	evict_to(fsd, fsd->inode_fds > 64 ? fsd->inode_fds - 64 : 0);
	pthread_mutex_unlock(&fsd->ilock);
	return true;
}

static void pin(struct fsd *fsd, struct fsd_inode *ino)
{
	ino->refs++;
	idle_update(fsd, ino);
}

/* Called with ilock held: drop the inode once nobody holds it, then its parent if that was all. */
static void maybe_free(struct fsd *fsd, struct fsd_inode *ino)
{
	while (ino && !ino->nlookup && !ino->refs && !ino->kids && ino != fsd->root) {
		struct fsd_inode *parent = ino->parent;

		hash_remove(fsd, ino);
		fsd_idtable_remove(&fsd->inodes, ino->nodeid);
		idle_remove(ino);
		fsd_watch_forget(fsd, ino);
		if (ino->fd >= 0) {
			close(ino->fd);
			fsd->inode_fds--;
		}
		free(ino->name);
		free(ino);
		if (parent)
			parent->kids--;
		ino = parent;
	}
}

/* Would making parent the parent of ino close a loop (stale names can describe one)? */
static bool makes_cycle(const struct fsd_inode *ino, const struct fsd_inode *parent)
{
	for (; parent; parent = parent->parent)
		if (parent == ino)
			return true;
	return false;
}

/* Called with ilock held: ino can be reopened as name in parent from now on (NULL: nowhere). */
static void set_path(struct fsd *fsd, struct fsd_inode *ino, struct fsd_inode *parent,
		     const char *name)
{
	struct fsd_inode *old = ino->parent;
	char *copy = NULL;

	if (ino == fsd->root)
		return;
	if (parent && parent == old && !strcmp(ino->name, name))
		return;
	if (parent && (makes_cycle(ino, parent) || !(copy = strdup(name))))
		parent = NULL; /* kept open instead */
	if (parent)
		parent->kids++;
	ino->parent = parent;
	free(ino->name);
	ino->name = copy;
	idle_update(fsd, ino);
	if (old) {
		old->kids--;
		maybe_free(fsd, old);
	}
}

int fsd_inodes_init(struct fsd *fsd)
{
	struct fsd_inode *root;
	struct stat st;
	int err;

	pthread_mutex_init(&fsd->ilock, NULL);
	pthread_mutex_init(&fsd->olock, NULL);
	err = fsd_idtable_init(&fsd->inodes, FUSE_ROOT_ID, FSD_MAX_INODES);
	if (err)
		return err;
	fsd->nbuckets = 1024;
	fsd->hash = calloc(fsd->nbuckets, sizeof(*fsd->hash));
	root = calloc(1, sizeof(*root));
	if (!fsd->hash || !root) {
		free(root);
		return -ENOMEM;
	}
	if (fstatat(fsd->root_fd, "", &st, AT_EMPTY_PATH) < 0) {
		free(root);
		return -errno;
	}
	root->fd = fsd->root_fd;
	root->dev = st.st_dev;
	root->ino = st.st_ino;
	root->type = S_IFDIR;
	root->nlookup = 1;
	err = fsd_idtable_add(&fsd->inodes, root, &root->nodeid);
	if (err || root->nodeid != FUSE_ROOT_ID) {
		free(root);
		return err ? err : -EINVAL;
	}
	root->hnext = fsd->hash[bucket_of(fsd, root->dev, root->ino)];
	fsd->hash[bucket_of(fsd, root->dev, root->ino)] = root;
	fsd->root = root;
	fsd->idle.prev = fsd->idle.next = &fsd->idle;
	return 0;
}

void fsd_inodes_free(struct fsd *fsd)
{
	for (uint32_t i = 0; i < fsd->inodes.cap; i++) {
		struct fsd_inode *ino = fsd_idtable_at(&fsd->inodes, i);

		if (ino && ino != fsd->root) {
			if (ino->fd >= 0)
				close(ino->fd);
			free(ino->name);
			free(ino);
		}
	}
	free(fsd->root); /* its fd is fsd->root_fd, closed by fsd_free */
	fsd_idtable_free(&fsd->inodes);
	free(fsd->hash);
	pthread_mutex_destroy(&fsd->ilock);
	pthread_mutex_destroy(&fsd->olock);
}

void fsd_inode_put(struct fsd *fsd, struct fsd_inode *ino)
{
	if (!ino)
		return;
	pthread_mutex_lock(&fsd->ilock);
	ino->refs--;
	idle_update(fsd, ino);
	maybe_free(fsd, ino);
	pthread_mutex_unlock(&fsd->ilock);
}

/*
 * Open ino again as name under dirfd, exactly as a lookup does, and keep
 * the fd only if it is the same host object: the host may have renamed,
 * replaced or removed it since, and a node id never names another file.
 */
static int reopen(struct fsd *fsd, struct fsd_inode *ino, int dirfd, const char *name)
{
	struct stat st;
	int fd = fsd_open_beneath(fsd, dirfd, name);

	if (fd < 0)
		return fd == -ENOENT ? -ESTALE : fd;
	if (fstatat(fd, "", &st, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) < 0 ||
	    st.st_dev != ino->dev || st.st_ino != ino->ino || (st.st_mode & S_IFMT) != ino->type) {
		lbx_debug("node %llu: '%s' is no longer the inode it was (ESTALE)",
			  (unsigned long long)ino->nodeid, name);
		close(fd);
		return -ESTALE;
	}
	pthread_mutex_lock(&fsd->ilock);
	if (ino->fd < 0) {
		fd_install(fsd, ino, fd);
		fd = -1;
	}
	pthread_mutex_unlock(&fsd->ilock);
	if (fd >= 0)
		close(fd); /* another request reopened it first */
	return 0;
}

/*
 * Make sure ino (pinned by the caller) has an fd. Each round reopens the
 * topmost evicted inode on its path, whose parent has an fd, and keeps
 * that one pinned until the next round has pinned its child's parent:
 * no recursion however deep the tree, and nothing reopened is evicted
 * before its child is open.
 */
static int inode_fd(struct fsd *fsd, struct fsd_inode *ino)
{
	struct fsd_inode *held = NULL;
	int err = 0;

	for (;;) {
		struct fsd_inode *top, *dir;
		char name[NAME_MAX + 1];

		pthread_mutex_lock(&fsd->ilock);
		if (ino->fd >= 0) {
			pthread_mutex_unlock(&fsd->ilock);
			break;
		}
		for (top = ino; top->parent && top->parent->fd < 0; top = top->parent)
			;
		dir = top->parent;
		if (!dir) {
			pthread_mutex_unlock(&fsd->ilock);
			err = -ESTALE; /* no name to reopen it by (unlinked) */
			break;
		}
		snprintf(name, sizeof(name), "%s", top->name);
		pin(fsd, top);
		pin(fsd, dir);
		pthread_mutex_unlock(&fsd->ilock);
		fsd_inode_put(fsd, held);
		held = top;
		err = reopen(fsd, top, dir->fd, name);
		fsd_inode_put(fsd, dir);
		if (err)
			break;
	}
	fsd_inode_put(fsd, held);
	return err;
}

int fsd_node_get(struct fsd_req *req, uint64_t nodeid, struct fsd_inode **out)
{
	struct fsd *fsd = req->fsd;
	struct fsd_inode *ino;
	int err;

	*out = NULL;
	pthread_mutex_lock(&fsd->ilock);
	ino = fsd_idtable_find(&fsd->inodes, nodeid);
	if (ino)
		pin(fsd, ino);
	pthread_mutex_unlock(&fsd->ilock);
	if (!ino)
		return fsd_refuse(req, -ESTALE);
	err = inode_fd(fsd, ino);
	if (err) {
		fsd_inode_put(fsd, ino);
		return err;
	}
	*out = ino;
	return 0;
}

static struct fsd_inode *hash_find(struct fsd *fsd, dev_t dev, ino_t i)
{
	struct fsd_inode *ino = fsd->hash[bucket_of(fsd, dev, i)];

	while (ino && (ino->dev != dev || ino->ino != i))
		ino = ino->hnext;
	return ino;
}

static int insert_new(struct fsd *fsd, int fd, const struct stat *st, struct fsd_inode **out)
{
	struct fsd_inode *ino = calloc(1, sizeof(*ino));
	int err;

	if (!ino)
		return -ENOMEM;
	if (fsd->inodes.count >= fsd->nbuckets && (err = rehash(fsd)) < 0) {
		free(ino);
		return err;
	}
	err = fsd_idtable_add(&fsd->inodes, ino, &ino->nodeid);
	if (err) {
		free(ino);
		return err;
	}
	ino->dev = st->st_dev;
	ino->ino = st->st_ino;
	ino->type = st->st_mode & S_IFMT;
	ino->nlookup = 1;
	ino->refs = 1;
	ino->hnext = fsd->hash[bucket_of(fsd, ino->dev, ino->ino)];
	fsd->hash[bucket_of(fsd, ino->dev, ino->ino)] = ino;
	fd_install(fsd, ino, fd);
	fsd_watch_dir(fsd, ino);
	*out = ino;
	return 0;
}

/*
 * On success the caller holds one ref on *out (fsd_inode_put it) and the
 * guest one more lookup; fd is consumed either way. The last name an
 * inode was found by is the one it is reopened by (hard links).
 */
int fsd_inode_learn(struct fsd *fsd, struct fsd_inode *parent, const char *name, int fd,
		    const struct stat *st, struct fsd_inode **out)
{
	struct fsd_inode *ino;
	int err = 0;

	pthread_mutex_lock(&fsd->ilock);
	ino = hash_find(fsd, st->st_dev, st->st_ino);
	if (ino && ino->fd < 0 && ino->type != (st->st_mode & S_IFMT)) {
		/* Evicted, and its inode number now names another kind of object. */
		hash_remove(fsd, ino);
		ino = NULL;
	}
	if (ino) {
		ino->nlookup++;
		pin(fsd, ino);
		if (ino->fd < 0)
			fd_install(fsd, ino, fd);
		else
			close(fd);
		*out = ino;
	} else {
		err = insert_new(fsd, fd, st, out);
		if (err)
			close(fd);
	}
	if (!err)
		set_path(fsd, *out, parent, name);
	pthread_mutex_unlock(&fsd->ilock);
	return err;
}

int fsd_inode_relookup(struct fsd *fsd, struct fsd_inode *parent, const char *name,
		       const struct stat *st, struct fsd_inode **out)
{
	struct fsd_inode *ino;

	pthread_mutex_lock(&fsd->ilock);
	ino = hash_find(fsd, st->st_dev, st->st_ino);
	/*
	 * An evicted inode may stay evicted: the reply needs only st, unless
	 * the owners are read from its xattr through its fd.
	 */
	if (ino && (ino->type != (st->st_mode & S_IFMT) ||
		    (ino->fd < 0 && fsd->opt.ownership == FSD_OWNERSHIP_XATTR)))
		ino = NULL;
	if (ino) {
		ino->nlookup++;
		pin(fsd, ino);
		set_path(fsd, ino, parent, name);
		*out = ino;
	}
	pthread_mutex_unlock(&fsd->ilock);
	return ino != NULL;
}

/* Called with ilock held: the inode st describes, if its recorded name is (dir, name). */
static struct fsd_inode *find_at(struct fsd *fsd, const struct stat *st,
				 const struct fsd_inode *dir, const char *name)
{
	struct fsd_inode *ino = hash_find(fsd, st->st_dev, st->st_ino);

	return ino && ino->parent == dir && !strcmp(ino->name, name) ? ino : NULL;
}

void fsd_inode_moved(struct fsd *fsd, const struct stat *st, struct fsd_inode *odir,
		     const char *oname, struct fsd_inode *ndir, const char *nname)
{
	struct fsd_inode *ino;

	pthread_mutex_lock(&fsd->ilock);
	ino = find_at(fsd, st, odir, oname);
	if (ino)
		set_path(fsd, ino, ndir, nname);
	pthread_mutex_unlock(&fsd->ilock);
}

void fsd_inode_unlinked(struct fsd *fsd, const struct stat *st, struct fsd_inode *dir,
			const char *name)
{
	fsd_inode_moved(fsd, st, dir, name, NULL, NULL); /* moved nowhere: no path */
}

/* FORGET: the guest drops n lookups. More than it holds is clamped, not trusted. */
void fsd_inode_forget(struct fsd *fsd, uint64_t nodeid, uint64_t n)
{
	struct fsd_inode *ino;

	pthread_mutex_lock(&fsd->ilock);
	ino = fsd_idtable_find(&fsd->inodes, nodeid);
	if (ino && ino != fsd->root) {
		ino->nlookup -= n < ino->nlookup ? n : ino->nlookup;
		maybe_free(fsd, ino);
	}
	pthread_mutex_unlock(&fsd->ilock);
}

/* DESTROY: the guest forgets everything it looked up. */
void fsd_inode_forget_all(struct fsd *fsd)
{
	pthread_mutex_lock(&fsd->ilock);
	for (uint32_t i = 0; i < fsd->inodes.cap; i++) {
		struct fsd_inode *ino = fsd_idtable_at(&fsd->inodes, i);

		if (ino && ino != fsd->root) {
			ino->nlookup = 0;
			maybe_free(fsd, ino);
		}
	}
	pthread_mutex_unlock(&fsd->ilock);
}

void fsd_proc_path(const struct fsd_inode *ino, char *buf, size_t size)
{
	snprintf(buf, size, "/proc/self/fd/%d", ino->fd);
}

/*
 * A real fd for an inode's data. Only regular files and directories are
 * ever opened: a symlink is never followed, and FIFOs and device nodes are
 * the guest kernel's business (FUSE never sends OPEN for them). Regular
 * files are reopened through /proc/self/fd, which names exactly the inode
 * the O_PATH fd holds, whatever happened to its name since.
 */
static int open_data(struct fsd *fsd, const struct fsd_inode *ino, int flags)
{
	char name[16];
	int fd;

	flags |= O_CLOEXEC | O_NOCTTY;
	flags &= ~(O_CREAT | O_EXCL | O_PATH | O_TMPFILE);
	if (ino->type == S_IFDIR)
		fd = openat(ino->fd, ".", flags | O_DIRECTORY);
	else if (ino->type == S_IFREG) {
		snprintf(name, sizeof(name), "%d", ino->fd);
		fd = openat(fsd->proc_fd, name, flags & ~O_NOFOLLOW);
	} else
		return ino->type == S_IFLNK ? -ELOOP : -ENXIO;
	return fd < 0 ? -errno : fd;
}

int fsd_inode_open(struct fsd *fsd, const struct fsd_inode *ino, int flags)
{
	int fd = open_data(fsd, ino, flags);

	if (fsd_out_of_fds(fsd, fd))
		fd = open_data(fsd, ino, flags);
	return fd;
}

/* The node a request names as a directory to work in. */
int fsd_parent_get(struct fsd_req *req, uint64_t nodeid, struct fsd_inode **out)
{
	struct fsd_inode *dir;
	int err = fsd_node_get(req, nodeid, &dir);

	if (err)
		return err;
	if (dir->type != S_IFDIR) {
		fsd_inode_put(req->fsd, dir);
		return -ENOTDIR;
	}
	*out = dir;
	return 0;
}

int fsd_inode_where(struct fsd *fsd, struct fsd_inode *ino, struct fsd_inode **dir, char *name,
		    size_t size)
{
	struct fsd_inode *d;
	int err;

	pthread_mutex_lock(&fsd->ilock);
	d = ino->parent;
	if (d) {
		snprintf(name, size, "%s", ino->name);
		pin(fsd, d);
	}
	pthread_mutex_unlock(&fsd->ilock);
	if (!d)
		return -ENOENT;
	err = inode_fd(fsd, d);
	if (err) {
		fsd_inode_put(fsd, d);
		return err;
	}
	*dir = d;
	return 0;
}

int fsd_inode_pin(struct fsd *fsd, uint64_t nodeid, struct fsd_inode **out)
{
	struct fsd_inode *ino;
	int err;

	pthread_mutex_lock(&fsd->ilock);
	ino = fsd_idtable_find(&fsd->inodes, nodeid);
	if (ino)
		pin(fsd, ino);
	pthread_mutex_unlock(&fsd->ilock);
	if (!ino)
		return -ESTALE;
	err = inode_fd(fsd, ino);
	if (err) {
		fsd_inode_put(fsd, ino);
		return err;
	}
	*out = ino;
	return 0;
}

bool fsd_inode_known_at(struct fsd *fsd, struct fsd_inode *dir, const char *name,
			const struct stat *st)
{
	bool known;

	pthread_mutex_lock(&fsd->ilock);
	known = find_at(fsd, st, dir, name) != NULL;
	pthread_mutex_unlock(&fsd->ilock);
	return known;
}

static uint64_t ctime_ns(const struct stat *st)
{
	return (uint64_t)st->st_ctim.tv_sec * 1000000000u + (uint64_t)st->st_ctim.tv_nsec;
}

void fsd_inode_seen(struct fsd_inode *ino, const struct stat *st)
{
	atomic_store(&ino->seen, ctime_ns(st));
	atomic_store(&ino->seen_host, false);
}

uint64_t fsd_inode_stale(struct fsd *fsd, const struct stat *st)
{
	struct fsd_inode *ino;
	uint64_t id = 0, now = ctime_ns(st);

	pthread_mutex_lock(&fsd->ilock);
	ino = hash_find(fsd, st->st_dev, st->st_ino);
	/* a new change time is the host's; so are later events of that change */
	if (ino && (atomic_exchange(&ino->seen, now) != now || atomic_load(&ino->seen_host))) {
		atomic_store(&ino->seen_host, true);
		id = ino->nodeid;
	}
	pthread_mutex_unlock(&fsd->ilock);
	return id;
}

int fsd_inode_ids(struct fsd *fsd, uint64_t **ids, size_t *n)
{
	uint64_t *t;

	pthread_mutex_lock(&fsd->ilock);
	t = malloc(((size_t)fsd->inodes.count + 1) * sizeof(*t));
	*n = 0;
	for (uint32_t i = 0; t && i < fsd->inodes.cap; i++) {
		struct fsd_inode *ino = fsd_idtable_at(&fsd->inodes, i);

		if (ino && ino != fsd->root)
			t[(*n)++] = ino->nodeid;
	}
	pthread_mutex_unlock(&fsd->ilock);
	*ids = t;
	return t ? 0 : -ENOMEM;
}

/*
 * A walk of the table, for a name the host removed (watch.c): the object is
 * gone, so there is no (dev, ino) to hash. Only directories with recorded
 * children pay for it.
 */
uint64_t fsd_inode_child(struct fsd *fsd, const struct fsd_inode *dir, const char *name)
{
	uint64_t id = 0;

	pthread_mutex_lock(&fsd->ilock);
	for (uint32_t i = 0; dir->kids && !id && i < fsd->inodes.cap; i++) {
		struct fsd_inode *ino = fsd_idtable_at(&fsd->inodes, i);

		if (ino && ino->parent == dir && ino->name && !strcmp(ino->name, name))
			id = ino->nodeid;
	}
	pthread_mutex_unlock(&fsd->ilock);
	return id;
}

uint64_t fsd_inode_node(struct fsd *fsd, const struct stat *st)
{
	struct fsd_inode *ino;
	uint64_t id;

	pthread_mutex_lock(&fsd->ilock);
	ino = hash_find(fsd, st->st_dev, st->st_ino);
	id = ino ? ino->nodeid : 0;
	pthread_mutex_unlock(&fsd->ilock);
	return id;
}
