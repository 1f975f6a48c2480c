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
 *     non-directory at an ancestor's place, or is one of the hard links
 *     found under a protected path at start (a link made before the
 *     protection, elsewhere in the tree, is the same file).
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
#define PROTECT_WALK_MAX       100000u /* entries looked at for hard links, per path */
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

static int links_add(struct fsd *fsd, const struct stat *st)
{
	struct fsd_devino *n;

	if (S_ISDIR(st->st_mode) || st->st_nlink < 2)
		return 0;
	if (fsd->nprotect_links % 64 == 0) {
		n = realloc(fsd->protect_links, (fsd->nprotect_links + 64) * sizeof(*n));
		if (!n)
			return -ENOMEM;
		fsd->protect_links = n;
	}
	fsd->protect_links[fsd->nprotect_links].dev = st->st_dev;
	fsd->protect_links[fsd->nprotect_links++].ino = st->st_ino;
	return 0;
}

/* Every non-directory with more than one link at or under dirfd (consumed), bounded. */
static int walk_links(struct fsd *fsd, int dirfd, unsigned depth, unsigned *budget)
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
		if (S_ISDIR(st.st_mode) && depth < PROTECT_MAX_DEPTH) {
			int sub = fsd_open_beneath(fsd, dirfd, d->d_name);

			if (sub >= 0)
				err = walk_links(
				    fsd, openat(sub, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC),
				    depth + 1, budget);
			if (sub >= 0)
				close(sub);
		} else {
			err = links_add(fsd, &st);
		}
	}
	closedir(dir);
	return err;
}

/* What the protected path holds now: its hard links (see the top of the file). */
static int find_links(struct fsd *fsd, const struct fsd_protect_path *p)
{
	unsigned budget = PROTECT_WALK_MAX;
	int fd = dup(fsd->root_fd), next, err = 0;
	struct stat st;

	for (unsigned i = 0; fd >= 0 && i < p->n; i++) {
		next = fsd_open_beneath(fsd, fd, p->comp[i]);
		close(fd);
		fd = next;
	}
	if (fd < 0)
		return 0; /* not there (yet): nothing linked */
	if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode))
		err = walk_links(fsd, openat(fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC), 0,
				 &budget);
	else if (fstat(fd, &st) == 0)
		err = links_add(fsd, &st);
	close(fd);
	if (!budget)
		lbx_warn("--protect %s: stopped looking for hard links after %u entries", p->text,
			 PROTECT_WALK_MAX);
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
		if ((err = find_links(fsd, &fsd->protect[i])))
			return err;
	}
	if (fsd->nprotect_links)
		qsort(fsd->protect_links, fsd->nprotect_links, sizeof(*fsd->protect_links),
		      devino_cmp);
	return 0;
}

void fsd_protect_free(struct fsd *fsd)
{
	for (unsigned i = 0; i < fsd->nprotect; i++)
		path_free(&fsd->protect[i]);
	free(fsd->protect);
	free(fsd->protect_links);
}

/*
 * Called with ilock held. Where the place (dir, name) is, name NULL for
 * dir itself; *which: the protected path it concerns. The walk up keeps
 * the last protect_depth names it met, which are the topmost: all that a
 * comparison with the protected paths needs.
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

static bool linked(const struct fsd *fsd, const struct fsd_inode *ino)
{
	struct fsd_devino key = { ino->dev, ino->ino };

	return ino->type != S_IFDIR && fsd->nprotect_links &&
	       bsearch(&key, fsd->protect_links, fsd->nprotect_links, sizeof(key), devino_cmp);
}

bool fsd_protect_stat(const struct fsd *fsd, const struct stat *st)
{
	struct fsd_devino key = { st->st_dev, st->st_ino };

	return !S_ISDIR(st->st_mode) && fsd->nprotect_links &&
	       bsearch(&key, fsd->protect_links, fsd->nprotect_links, sizeof(key), devino_cmp);
}

/* May the node be changed? Its id unknown: yes here, the handler says ESTALE. */
static bool node_protected(struct fsd *fsd, uint64_t nodeid, const char **which)
{
	struct fsd_inode *ino;
	enum where w = W_FREE;
	bool linked_file = false;

	pthread_mutex_lock(&fsd->ilock);
	ino = fsd_idtable_find(&fsd->inodes, nodeid);
	if (ino) {
		w = where_locked(fsd, ino, NULL, which);
		if (w == W_ABOVE && ino->type == S_IFDIR)
			w = W_FREE;
		linked_file = linked(fsd, ino);
	}
	pthread_mutex_unlock(&fsd->ilock);
	if (linked_file && w == W_FREE)
		*which = "(a hard link of a protected file)";
	return w != W_FREE || linked_file;
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

/* May name be made (mkdir: as a directory) or removed under the directory node? */
static bool name_protected(struct fsd *fsd, uint64_t dirid, const char *name, bool mkdir,
			   const char **which)
{
	struct fsd_inode *dir;
	enum where w = W_FREE;

	pthread_mutex_lock(&fsd->ilock);
	dir = fsd_idtable_find(&fsd->inodes, dirid);
	if (dir)
		w = where_locked(fsd, dir, name, which);
	pthread_mutex_unlock(&fsd->ilock);
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
		       name_protected(fsd, req->nodeid, a, false, which);
	case FUSE_MKNOD:
	case FUSE_CREATE:
		return !peek_names(req, 16, &a, NULL) &&
		       name_protected(fsd, req->nodeid, a, false, which);
	case FUSE_MKDIR:
		return !peek_names(req, 8, &a, NULL) &&
		       name_protected(fsd, req->nodeid, a, true, which);
	case FUSE_LINK:
		if (lbx_read_u64le(&req->args, &id) || peek_names(req, 0, &a, NULL))
			return false;
		return node_protected(fsd, id, which) ||
		       name_protected(fsd, req->nodeid, a, false, which);
	case FUSE_RENAME:
	case FUSE_RENAME2:
		if (lbx_read_u64le(&req->args, &id) ||
		    peek_names(req, req->opcode == FUSE_RENAME2 ? 8 : 0, &a, &b))
			return false;
		return name_protected(fsd, req->nodeid, a, false, which) ||
		       name_protected(fsd, id, b, false, which);
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
