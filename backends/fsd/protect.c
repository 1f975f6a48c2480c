/* SPDX-License-Identifier: MIT */
/*
 * Protected paths (--protect RELPATH): everything at or under them is
 * read-only to the guest, whatever the rest of the tree allows. The host
 * runs its own programs on some files of a project tree: git runs
 * the hooks in .git/hooks and whatever .git/config names (core.fsmonitor,
 * core.hooksPath, filters, aliases); a box that could write them would run
 * code on the host the next time the user types `git status` there.
 *
 * The check runs in dispatch (request.c), before any handler, for every
 * opcode with the `modifies` flag and for OPEN for writing, against the
 * inode table's record of where each node is (its parent and the name it
 * was found by, inode.c): that record only changes through requests we
 * served, and none of those can move anything into or out of a protected
 * place. A request is refused (EROFS) when
 *
 *   - a name it creates, removes or renames (either side) is at or under
 *     a protected path: CREATE, MKNOD, MKDIR, SYMLINK, LINK, UNLINK,
 *     RMDIR, RENAME, RENAME2;
 *   - such a name is a proper ancestor of one (".git" for ".git/hooks"):
 *     removing or renaming it would let a new one stand in its place, and a
 *     non-directory there (a .git file is a gitfile: "gitdir: ELSEWHERE")
 *     would redirect git. Only MKDIR may make an ancestor;
 *   - the node it changes (SETATTR, SETXATTR, REMOVEXATTR, WRITE,
 *     FALLOCATE, COPY_FILE_RANGE's destination, OPEN for writing or with
 *     O_TRUNC, LINK's source) is at or under a protected path, or is a
 *     non-directory at an ancestor's place.
 *
 * Besides the names, fsd_protect_init records by (dev, ino) what each
 * protected path, its parents and everything under it are at start. Any
 * other name for one of those objects is them: a hard link made before the
 * protection, elsewhere in the tree; a case- or Unicode-folding alias on a
 * casefold directory; a host bind mount. Name requests also stat the name
 * they would remove or replace, so such an alias cannot be renamed over or
 * removed either.
 *
 * Names compare ASCII case-insensitively, so ".GIT/Hooks" on a
 * case-folding directory is the same place (on others this protects a
 * little more than asked). `..` and `/` never reach here (name.c), and
 * symlinks are never followed: a symlink elsewhere that points into a
 * protected directory is resolved by the guest, through protected names.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "fsd_priv.h"
#include "log.h"
#include "wire.h"

#define PROTECT_MAX_DEPTH      32      /* components in a protected path */
#define PROTECT_WALK_MAX       100000u /* entries listed under each path at start */
#define PROTECT_LOG_INTERVAL_S 10      /* at most one refusal logged per interval */

enum where { W_FREE, W_ABOVE, W_PROTECTED };

static void path_free(struct fsd_protect_path *p)
{
	for (unsigned i = 0; i < p->n; i++)
		free(p->comp[i]);
	free(p->comp);
	free(p->text);
}

/* RELPATH to components: empty and "." parts dropped; "..", absolute, empty refused. */
static int path_parse(const char *rel, struct fsd_protect_path *p)
{
	char *copy = strdup(rel), *save = NULL, *c;
	int err = 0;

	memset(p, 0, sizeof(*p));
	p->text = strdup(rel);
	p->comp = calloc(PROTECT_MAX_DEPTH, sizeof(*p->comp));
	if (!copy || !p->text || !p->comp) {
		free(copy);
		return -ENOMEM;
	}
	if (rel[0] == '/')
		err = -EINVAL;
	for (c = strtok_r(copy, "/", &save); c && !err; c = strtok_r(NULL, "/", &save)) {
		if (!strcmp(c, "."))
			continue;
		if (!strcmp(c, "..") || strlen(c) > NAME_MAX || p->n == PROTECT_MAX_DEPTH)
			err = -EINVAL;
		else if (!(p->comp[p->n++] = strdup(c)))
			err = -ENOMEM;
	}
	if (!err && p->n == 0)
		err = -EINVAL;
	free(copy);
	return err;
}

static int devino_cmp(const void *a, const void *b)
{
	const struct fsd_devino *x = a, *y = b;

	if (x->dev != y->dev)
		return x->dev < y->dev ? -1 : 1;
	return x->ino < y->ino ? -1 : x->ino > y->ino;
}

static int known_add(struct fsd *fsd, const struct stat *st, enum where w)
{
	struct fsd_devino *n;

	if (fsd->nprotect_known % 64 == 0) {
		n = realloc(fsd->protect_known, (fsd->nprotect_known + 64) * sizeof(*n));
		if (!n)
			return -ENOMEM;
		fsd->protect_known = n;
	}
	n = &fsd->protect_known[fsd->nprotect_known++];
	n->dev = st->st_dev;
	n->ino = st->st_ino;
	n->where = (uint8_t)w;
	return 0;
}

/* Everything under dirfd (consumed), bounded: it is all protected. */
static int walk_inside(struct fsd *fsd, int dirfd, unsigned depth, unsigned *budget)
{
	struct dirent *d;
	struct stat st;
	DIR *dir = fdopendir(dirfd);
	int err = 0;

	if (!dir) {
		close(dirfd);
		return 0;
	}
	while (!err && *budget && (d = readdir(dir))) {
		if (!strcmp(d->d_name, ".") || !strcmp(d->d_name, ".."))
			continue;
		(*budget)--;
		if (fstatat(dirfd, d->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			continue;
		err = known_add(fsd, &st, W_PROTECTED);
		if (!err && S_ISDIR(st.st_mode) && depth < PROTECT_MAX_DEPTH) {
			int sub = fsd_open_beneath(fsd, dirfd, d->d_name), fd;

			if (sub >= 0) {
				fd = openat(sub, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
				if (fd >= 0)
					err = walk_inside(fsd, fd, depth + 1, budget);
				close(sub);
			}
		}
	}
	closedir(dir);
	return err;
}

/*
 * What the protected path and its parents are now, by (dev, ino): so a
 * second name for any of them (a hard link made before, a case-folding or
 * Unicode-folding alias, a bind mount, a record gone stale) is still them.
 */
static int find_known(struct fsd *fsd, const struct fsd_protect_path *p)
{
	unsigned budget = PROTECT_WALK_MAX;
	int fd = dup(fsd->root_fd), next, err = 0;
	struct stat st;

	for (unsigned i = 0; fd >= 0 && i < p->n && !err; i++) {
		next = fsd_open_beneath(fsd, fd, p->comp[i]);
		close(fd);
		fd = next;
		if (fd >= 0 && fstat(fd, &st) == 0)
			err = known_add(fsd, &st, i + 1 < p->n ? W_ABOVE : W_PROTECTED);
	}
	if (fd < 0 || err)
		return err; /* not there (yet): the names alone protect it */
	if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode))
		err = walk_inside(fsd, openat(fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC), 0,
				  &budget);
	close(fd);
	if (!budget)
		lbx_warn("--protect %s: stopped listing what is under it after %u entries: the "
			 "rest is protected by its names only",
			 p->text, PROTECT_WALK_MAX);
	return err;
}

int fsd_protect_init(struct fsd *fsd, const char *const *paths, unsigned n)
{
	int err;

	if (!n)
		return 0;
	fsd->protect = calloc(n, sizeof(*fsd->protect));
	if (!fsd->protect)
		return -ENOMEM;
	for (unsigned i = 0; i < n; i++) {
		err = path_parse(paths[i], &fsd->protect[i]);
		fsd->nprotect = i + 1;
		if (err) {
			if (err == -EINVAL)
				lbx_err(
				    "--protect '%s': not a path relative to the shared directory "
				    "(no '..', not empty, at most %d parts of %d bytes)",
				    paths[i], PROTECT_MAX_DEPTH, NAME_MAX);
			return err;
		}
		if (fsd->protect[i].n > fsd->protect_depth)
			fsd->protect_depth = fsd->protect[i].n;
		if ((err = find_known(fsd, &fsd->protect[i])))
			return err;
	}
	if (fsd->nprotect_known)
		qsort(fsd->protect_known, fsd->nprotect_known, sizeof(*fsd->protect_known),
		      devino_cmp);
	return 0;
}

void fsd_protect_free(struct fsd *fsd)
{
	for (unsigned i = 0; i < fsd->nprotect; i++)
		path_free(&fsd->protect[i]);
	free(fsd->protect);
	free(fsd->protect_known);
}

/*
 * Called with ilock held. Where the place (dir, name) is by its names,
 * name NULL for dir itself; *which: the protected path it concerns. The
 * walk up keeps the last protect_depth names it met, which are the
 * topmost: all that a comparison with the protected paths needs.
 */
static enum where where_locked(const struct fsd *fsd, const struct fsd_inode *dir, const char *name,
			       const char **which)
{
	const char *ring[PROTECT_MAX_DEPTH];
	unsigned k = fsd->protect_depth, depth = 0;
	enum where best = W_FREE;

	if (name)
		ring[depth++ % k] = name;
	for (const struct fsd_inode *i = dir; i != fsd->root; i = i->parent) {
		if (!i->parent)
			return W_FREE; /* unlinked: nowhere in the tree */
		ring[depth++ % k] = i->name;
	}
	for (unsigned p = 0; p < fsd->nprotect; p++) {
		const struct fsd_protect_path *pp = &fsd->protect[p];
		unsigned n = depth < pp->n ? depth : pp->n, j = 0;

		/* component j from the top is the (depth - 1 - j)-th name met */
		while (j < n && !strcasecmp(ring[(depth - 1 - j) % k], pp->comp[j]))
			j++;
		if (j < n || depth == 0)
			continue;
		if (depth >= pp->n) {
			*which = pp->text;
			return W_PROTECTED;
		}
		best = W_ABOVE;
		*which = pp->text;
	}
	return best;
}

/* Where the object (dev, ino) was at start: W_FREE if nowhere protected. */
static enum where known(const struct fsd *fsd, dev_t dev, ino_t ino)
{
	struct fsd_devino key = { dev, ino, 0 };
	const struct fsd_devino *k;

	if (!fsd->nprotect_known)
		return W_FREE;
	k = bsearch(&key, fsd->protect_known, fsd->nprotect_known, sizeof(key), devino_cmp);
	return k ? (enum where)k->where : W_FREE;
}

static enum where worst(enum where a, enum where b)
{
	return a > b ? a : b;
}

bool fsd_protect_stat(const struct fsd *fsd, const struct stat *st)
{
	return fsd->nprotect && known(fsd, st->st_dev, st->st_ino) == W_PROTECTED;
}

/* May the node be changed? Its id unknown: yes here, the handler says ESTALE. */
static bool node_protected(struct fsd *fsd, uint64_t nodeid, const char **which)
{
	struct fsd_inode *ino;
	enum where w = W_FREE, k = W_FREE;

	pthread_mutex_lock(&fsd->ilock);
	ino = fsd_idtable_find(&fsd->inodes, nodeid);
	if (ino) {
		w = where_locked(fsd, ino, NULL, which);
		k = known(fsd, ino->dev, ino->ino);
		w = worst(w, k);
		if (w == W_ABOVE && ino->type == S_IFDIR)
			w = W_FREE; /* .git itself: its own attributes are the guest's */
	}
	pthread_mutex_unlock(&fsd->ilock);
	if (k != W_FREE && !**which)
		*which = "(another name of a protected file)";
	return w != W_FREE;
}

static bool file_protected(struct fsd *fsd, uint64_t fh, const char **which)
{
	struct fsd_file *f = fsd_file_get(fsd, fh, false);
	bool r;

	if (!f)
		return false; /* the handler refuses it: EBADF */
	r = node_protected(fsd, f->inode->nodeid, which);
	fsd_file_put(fsd, f);
	return r;
}

/*
 * May name be made (mkdir: as a directory), removed or replaced under the
 * directory node? By the names, by what the directory is, and by what the
 * name holds now (an alias of a protected object).
 */
static bool name_protected(struct fsd_req *req, uint64_t dirid, const char *name, bool mkdir,
			   const char **which)
{
	struct fsd *fsd = req->fsd;
	struct fsd_inode *dir;
	enum where w = W_FREE;
	struct stat st;
	bool there;

	pthread_mutex_lock(&fsd->ilock);
	dir = fsd_idtable_find(&fsd->inodes, dirid);
	if (dir) {
		w = where_locked(fsd, dir, name, which);
		if (known(fsd, dir->dev, dir->ino) == W_PROTECTED)
			w = W_PROTECTED;
	}
	pthread_mutex_unlock(&fsd->ilock);
	if (!dir || w == W_PROTECTED || fsd_node_get(req, dirid, &dir))
		return w == W_PROTECTED;
	there = fstatat(dir->fd, name, &st, AT_SYMLINK_NOFOLLOW) == 0;
	fsd_inode_put(fsd, dir);
	if (there && known(fsd, st.st_dev, st.st_ino) != W_FREE) {
		w = worst(w, known(fsd, st.st_dev, st.st_ino));
		if (!**which)
			*which = "(another name of a protected file)";
	}
	return w == W_PROTECTED || (w == W_ABOVE && !mkdir);
}

static const char *op_name(uint32_t op)
{
	switch (op) {
	case FUSE_SETATTR: return "SETATTR";
	case FUSE_SYMLINK: return "SYMLINK";
	case FUSE_MKNOD: return "MKNOD";
	case FUSE_MKDIR: return "MKDIR";
	case FUSE_UNLINK: return "UNLINK";
	case FUSE_RMDIR: return "RMDIR";
	case FUSE_RENAME: return "RENAME";
	case FUSE_RENAME2: return "RENAME2";
	case FUSE_LINK: return "LINK";
	case FUSE_OPEN: return "OPEN for writing";
	case FUSE_WRITE: return "WRITE";
	case FUSE_SETXATTR: return "SETXATTR";
	case FUSE_REMOVEXATTR: return "REMOVEXATTR";
	case FUSE_CREATE: return "CREATE";
	case FUSE_FALLOCATE: return "FALLOCATE";
	case FUSE_COPY_FILE_RANGE: return "COPY_FILE_RANGE";
	default: return "a change";
	}
}

/* EROFS, and one log line now and then: a guest can refuse itself a lot. */
static int refuse(struct fsd_req *req, const char *which)
{
	struct fsd *fsd = req->fsd;
	uint64_t n = atomic_fetch_add(&fsd->n_protected, 1) + 1;
	struct timespec now;
	int64_t last;

	clock_gettime(CLOCK_MONOTONIC, &now);
	last = atomic_load(&fsd->protect_logged);
	if ((last == 0 || now.tv_sec - last >= PROTECT_LOG_INTERVAL_S) &&
	    atomic_compare_exchange_strong(&fsd->protect_logged, &last, (int64_t)now.tv_sec + 1))
		lbx_warn("refused %s: it would change protected path %s, read-only to the box "
			 "(--protect; %llu refused so far, logged at most every %d s)",
			 op_name(req->opcode), which, (unsigned long long)n,
			 PROTECT_LOG_INTERVAL_S);
	return -EROFS;
}

/*
 * The names of a request, read as its handler will read them again (a
 * name that does not parse here does not there either: EINVAL then).
 */
static int peek_name(struct fsd_req *req, const char **name)
{
	size_t n;

	return lbx_read_cstr(&req->args, NAME_MAX, name, &n);
}

static int peek_names(struct fsd_req *req, size_t skip, const char **a, const char **b)
{
	if (lbx_read_skip(&req->args, skip) || peek_name(req, a))
		return -1;
	return b && peek_name(req, b) ? -1 : 0;
}

static bool check(struct fsd_req *req, const char **which)
{
	struct fsd *fsd = req->fsd;
	const char *a, *b;
	uint64_t id, fh;
	uint32_t flags;

	switch (req->opcode) {
	case FUSE_SETATTR:
	case FUSE_SETXATTR:
	case FUSE_REMOVEXATTR: return node_protected(fsd, req->nodeid, which);
	case FUSE_OPEN:
		if (lbx_read_u32le(&req->args, &flags))
			return false;
		return ((flags & O_ACCMODE) != O_RDONLY || (flags & O_TRUNC)) &&
		       node_protected(fsd, req->nodeid, which);
	case FUSE_WRITE:
	case FUSE_FALLOCATE:
		return !lbx_read_u64le(&req->args, &fh) && file_protected(fsd, fh, which);
	case FUSE_COPY_FILE_RANGE: /* fh_in, off_in, nodeid_out, fh_out */
		if (lbx_read_skip(&req->args, 16) || lbx_read_u64le(&req->args, &id) ||
		    lbx_read_u64le(&req->args, &fh))
			return false;
		return node_protected(fsd, id, which) || file_protected(fsd, fh, which);
	case FUSE_SYMLINK:
	case FUSE_UNLINK:
	case FUSE_RMDIR:
		return !peek_names(req, 0, &a, NULL) &&
		       name_protected(req, req->nodeid, a, false, which);
	case FUSE_MKNOD:
	case FUSE_CREATE:
		return !peek_names(req, 16, &a, NULL) &&
		       name_protected(req, req->nodeid, a, false, which);
	case FUSE_MKDIR:
		return !peek_names(req, 8, &a, NULL) &&
		       name_protected(req, req->nodeid, a, true, which);
	case FUSE_LINK:
		if (lbx_read_u64le(&req->args, &id) || peek_names(req, 0, &a, NULL))
			return false;
		return node_protected(fsd, id, which) ||
		       name_protected(req, req->nodeid, a, false, which);
	case FUSE_RENAME:
	case FUSE_RENAME2:
		if (lbx_read_u64le(&req->args, &id) ||
		    peek_names(req, req->opcode == FUSE_RENAME2 ? 8 : 0, &a, &b))
			return false;
		return name_protected(req, req->nodeid, a, false, which) ||
		       name_protected(req, id, b, false, which);
	default: return false;
	}
}

int fsd_protect_check(struct fsd_req *req)
{
	struct lbx_reader saved = req->args;
	const char *which = "";
	bool refused;

	if (!req->fsd->nprotect)
		return 0;
	refused = check(req, &which);
	req->args = saved; /* unparsable: the handler refuses it, as it would anyway */
	return refused ? refuse(req, which) : 0;
}
