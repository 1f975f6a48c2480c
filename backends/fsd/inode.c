/* SPDX-License-Identifier: MIT */
/*
 * The inode table: every host object the guest has looked up, held as an
 * O_PATH | O_NOFOLLOW fd and known to the guest by a node id (idtable.h).
 * A (dev, ino) hash makes every name of one host inode (hard links) map to
 * one node id, as the kernel expects. An inode lives while the guest holds
 * lookups on it (FORGET gives them back) or a request or open handle uses it.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "fsd_priv.h"

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
}

/* Called with ilock held: drop the inode once nobody holds it. */
static void maybe_free(struct fsd *fsd, struct fsd_inode *ino)
{
	if (ino->nlookup || ino->refs || ino == fsd->root)
		return;
	hash_remove(fsd, ino);
	fsd_idtable_remove(&fsd->inodes, ino->nodeid);
	close(ino->fd);
	free(ino);
}

int fsd_inodes_init(struct fsd *fsd)
{
	struct fsd_inode *root;
	struct stat st;
	int err;

	pthread_mutex_init(&fsd->ilock, NULL);
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
	return 0;
}

void fsd_inodes_free(struct fsd *fsd)
{
	for (uint32_t i = 0; i < fsd->inodes.cap; i++) {
		struct fsd_inode *ino = fsd_idtable_at(&fsd->inodes, i);

		if (ino && ino != fsd->root) {
			close(ino->fd);
			free(ino);
		}
	}
	free(fsd->root); /* its fd is fsd->root_fd, closed by fsd_free */
	fsd_idtable_free(&fsd->inodes);
	free(fsd->hash);
	pthread_mutex_destroy(&fsd->ilock);
}

struct fsd_inode *fsd_inode_get(struct fsd *fsd, uint64_t nodeid)
{
	struct fsd_inode *ino;

	pthread_mutex_lock(&fsd->ilock);
	ino = fsd_idtable_find(&fsd->inodes, nodeid);
	if (ino)
		ino->refs++;
	pthread_mutex_unlock(&fsd->ilock);
	return ino;
}

void fsd_inode_ref(struct fsd *fsd, struct fsd_inode *ino)
{
	pthread_mutex_lock(&fsd->ilock);
	ino->refs++;
	pthread_mutex_unlock(&fsd->ilock);
}

void fsd_inode_put(struct fsd *fsd, struct fsd_inode *ino)
{
	if (!ino)
		return;
	pthread_mutex_lock(&fsd->ilock);
	ino->refs--;
	maybe_free(fsd, ino);
	pthread_mutex_unlock(&fsd->ilock);
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
	ino->fd = fd;
	ino->dev = st->st_dev;
	ino->ino = st->st_ino;
	ino->type = st->st_mode & S_IFMT;
	ino->nlookup = 1;
	ino->refs = 1;
	ino->hnext = fsd->hash[bucket_of(fsd, ino->dev, ino->ino)];
	fsd->hash[bucket_of(fsd, ino->dev, ino->ino)] = ino;
	*out = ino;
	return 0;
}

/*
 * On success the caller holds one ref on *out (fsd_inode_put it) and the
 * guest one more lookup; fd is consumed either way.
 */
int fsd_inode_learn(struct fsd *fsd, int fd, const struct stat *st, struct fsd_inode **out)
{
	struct fsd_inode *ino;
	int err = 0;

	pthread_mutex_lock(&fsd->ilock);
	ino = hash_find(fsd, st->st_dev, st->st_ino);
	if (ino) {
		ino->nlookup++;
		ino->refs++;
		*out = ino;
		close(fd);
	} else {
		err = insert_new(fsd, fd, st, out);
		if (err)
			close(fd);
	}
	pthread_mutex_unlock(&fsd->ilock);
	return err;
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
int fsd_inode_open(struct fsd *fsd, const struct fsd_inode *ino, int flags)
{
	char name[16];
	int fd;

	flags |= O_CLOEXEC;
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

/* The node a request names as a directory to work in. */
int fsd_parent_get(struct fsd_req *req, uint64_t nodeid, struct fsd_inode **out)
{
	struct fsd_inode *dir = fsd_inode_get(req->fsd, nodeid);

	if (!dir)
		return fsd_refuse(req, -ESTALE);
	if (dir->type != S_IFDIR) {
		fsd_inode_put(req->fsd, dir);
		return -ENOTDIR;
	}
	*out = dir;
	return 0;
}
