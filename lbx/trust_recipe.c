/* SPDX-License-Identifier: MIT */
/*
 * A recipe's fingerprint (trust.h): SHA-256 over the Containerfile and
 * the build context, so an approval covers exactly what podman builds.
 *
 * Every field goes in as an 8-byte length and its bytes, so no two trees
 * hash alike by shifting bytes between names and contents. The context
 * is walked depth first in byte order of names, never following links
 * (a link's target text is hashed, as podman copies links as links), and
 * skips ".git" (it changes with every commit; a recipe that runs what is
 * in .git is not covered) and the box's own definition (its changes are
 * the definition's diff). It stops at TRUST_CONTEXT_MAX_FILES entries or
 * TRUST_CONTEXT_MAX_BYTES of contents: a larger context cannot be
 * approved, the definition should name a smaller one.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "trust.h"

struct walk {
	EVP_MD_CTX *md;
	const struct box_config *c;
	unsigned long long files, bytes;
	char *err;
	size_t errsz;
	char path[PATH_MAX]; /* relative to the context, for messages and skips */
};

static void feed(struct walk *w, const void *data, size_t len)
{
	uint64_t n = len;

	EVP_DigestUpdate(w->md, &n, sizeof(n));
	EVP_DigestUpdate(w->md, data, len);
}

static void feed_str(struct walk *w, const char *s)
{
	feed(w, s, strlen(s));
}

/* A file's contents, as one length-prefixed field; -EFBIG past the bound. */
static int feed_file(struct walk *w, int fd, off_t size)
{
	char buf[65536];
	uint64_t n = (uint64_t)size, got = 0;
	ssize_t r;

	EVP_DigestUpdate(w->md, &n, sizeof(n));
	while (got < n && (r = read(fd, buf, sizeof(buf))) > 0) {
		if ((uint64_t)r > n - got)
			r = (ssize_t)(n - got); /* grew while we read: hash what stat said */
		EVP_DigestUpdate(w->md, buf, (size_t)r);
		got += (uint64_t)r;
	}
	/* Shrank while we read: pad, so the field still has its stated length. */
	memset(buf, 0, sizeof(buf));
	while (got < n) {
		size_t k = n - got < sizeof(buf) ? (size_t)(n - got) : sizeof(buf);

		EVP_DigestUpdate(w->md, buf, k);
		got += k;
	}
	w->bytes += n;
	return 0;
}

static int too_big(struct walk *w, const char *ctx)
{
	snprintf(w->err, w->errsz,
		 "the build context %s holds more than lbx checks (%llu files or %llu MiB); "
		 "point image.context at a directory with only what the build needs",
		 ctx, TRUST_CONTEXT_MAX_FILES, TRUST_CONTEXT_MAX_BYTES >> 20);
	return -EFBIG;
}

static int cmp_names(const void *x, const void *y)
{
	return strcmp(*(char *const *)x, *(char *const *)y);
}

/* The entries of directory dirfd (left open), sorted; NULL on error. */
static char **list_dir(int dirfd, size_t *count)
{
	int fd = dup(dirfd);
	DIR *d = fd < 0 ? NULL : fdopendir(fd);
	char **names = NULL;
	size_t n = 0, cap = 0;
	struct dirent *e;

	if (!d) {
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	while ((e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		if (n == cap) {
			char **more = realloc(names, (cap = cap ? 2 * cap : 64) * sizeof(*names));

			if (!more)
				break;
			names = more;
		}
		if (!(names[n] = strdup(e->d_name)))
			break;
		n++;
	}
	closedir(d);
	if (!names)
		names = calloc(1, sizeof(*names));
	qsort(names, n, sizeof(*names), cmp_names);
	*count = n;
	return names;
}

static int walk_dir(struct walk *w, int dirfd, const char *top, size_t plen, int depth);

static int walk_entry(struct walk *w, int dirfd, const char *name, const char *top, size_t plen,
		      int depth)
{
	char link[PATH_MAX], full[2 * PATH_MAX + 2];
	struct stat st;
	ssize_t n;
	int fd, rc = 0;

	snprintf(w->path + plen, sizeof(w->path) - plen, "%s%s", plen ? "/" : "", name);
	snprintf(full, sizeof(full), "%s/%s", top, w->path);
	if (!strcmp(name, ".git") || trust_same_path(full, w->c->file))
		return 0;
	if (++w->files > TRUST_CONTEXT_MAX_FILES)
		return too_big(w, top);
	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
		feed_str(w, w->path);
		feed_str(w, "gone");
		return 0;
	}
	feed_str(w, w->path);
	feed(w, &(uint32_t){ st.st_mode & (S_IFMT | 07777) }, sizeof(uint32_t));
	if (S_ISREG(st.st_mode)) {
		if ((unsigned long long)st.st_size > TRUST_CONTEXT_MAX_BYTES - w->bytes)
			return too_big(w, top);
		fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY);
		if (fd < 0) {
			feed_str(w, "unreadable"); /* podman, as this user, cannot read it either */
			return 0;
		}
		rc = feed_file(w, fd, st.st_size);
		close(fd);
	} else if (S_ISLNK(st.st_mode)) {
		n = readlinkat(dirfd, name, link, sizeof(link) - 1);
		link[n > 0 ? n : 0] = '\0';
		feed_str(w, link);
	} else if (S_ISDIR(st.st_mode)) {
		if (depth >= TRUST_CONTEXT_MAX_DEPTH)
			return too_big(w, top);
		fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0)
			feed_str(w, "unreadable");
		else
			rc = walk_dir(w, fd, top, strlen(w->path), depth + 1);
	}
	return rc;
}

/* Walk the directory dirfd (consumed); w->path[0..plen) is its path. */
static int walk_dir(struct walk *w, int dirfd, const char *top, size_t plen, int depth)
{
	size_t n = 0;
	char **names = list_dir(dirfd, &n);
	int rc = 0;

	if (!names) {
		close(dirfd);
		feed_str(w, "unlisted");
		return 0;
	}
	feed(w, &(uint64_t){ n }, sizeof(uint64_t));
	for (size_t i = 0; i < n; i++) {
		if (rc == 0)
			rc = walk_entry(w, dirfd, names[i], top, plen, depth);
		free(names[i]);
	}
	free(names);
	close(dirfd);
	w->path[plen] = '\0';
	return rc;
}

static int hash_containerfile(struct walk *w)
{
	/* Through a link, as podman reads it. */
	int fd = open(w->c->containerfile, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	struct stat st;
	int rc;

	if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		/* No such file: the build fails with image.c's message; nothing to approve. */
		if (fd >= 0)
			close(fd);
		feed_str(w, "absent");
		return 0;
	}
	if ((unsigned long long)st.st_size > TRUST_CONTEXT_MAX_BYTES) {
		close(fd);
		return too_big(w, w->c->containerfile);
	}
	feed_str(w, "file");
	rc = feed_file(w, fd, st.st_size);
	close(fd);
	return rc;
}

int trust_hash_recipe(const struct box_config *c, struct trust_recipe *r, char *err, size_t errsz)
{
	struct walk w = { .c = c, .err = err, .errsz = errsz };
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned mdlen = 0;
	int fd, rc;

	memset(r, 0, sizeof(*r));
	if (!c->containerfile || !c->build_context)
		return 0;
	w.md = EVP_MD_CTX_new();
	if (!w.md || !EVP_DigestInit_ex(w.md, EVP_sha256(), NULL)) {
		EVP_MD_CTX_free(w.md);
		snprintf(err, errsz, "cannot hash the recipe (libcrypto)");
		return -ENOMEM;
	}
	feed_str(&w, "lbx-recipe-1");
	rc = hash_containerfile(&w);
	fd = rc ? -1 : open(c->build_context, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (rc == 0 && fd < 0)
		feed_str(&w, "no context");
	else if (rc == 0)
		rc = walk_dir(&w, fd, c->build_context, 0, 0);
	EVP_DigestFinal_ex(w.md, md, &mdlen);
	EVP_MD_CTX_free(w.md);
	if (rc)
		return rc;
	for (unsigned i = 0; i < mdlen && i < 32; i++)
		snprintf(r->sha256 + 2 * i, 3, "%02x", md[i]);
	r->files = w.files;
	r->bytes = w.bytes;
	r->known = true;
	return 0;
}
