/* SPDX-License-Identifier: MIT */
/*
 * The escape suite: raw FUSE requests against the core, no mount. Each
 * attempt to reach outside the shared tree, or to make the server misuse
 * an id or a length, must be refused with the stated errno while the
 * server keeps serving; the host side is checked to be unchanged. The
 * closing line counts the attempts the server refused.
 *
 *   test-fsd-escape [MAX_INODE_FDS]   (a small budget: every attempt again
 *                                      with inode fds evicted and reopened)
 */
#include <fcntl.h>
#include <ftw.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "../../../tests/unit/tap.h"
#include "fsd_client.h"

static char root[256], tree[300], outside[300];
static unsigned attempts, race_tries;
static uint32_t max_inode_fds; /* 0: the server's default */

static void options(struct fsd_options *o)
{
	fsd_options_default(o);
	o->max_inode_fds = max_inode_fds;
}

#define refused(got, want, ...)                                                           \
	do {                                                                              \
		attempts++;                                                               \
		is_int(got, want, __VA_ARGS__);                                           \
	} while (0)

static char *slurp(const char *dir, const char *name)
{
	static char buf[256];
	char p[512];
	FILE *f;
	size_t n;

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	f = fopen(p, "r");
	if (!f)
		return NULL;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = 0;
	fclose(f);
	return buf;
}

static bool exists(const char *dir, const char *name)
{
	char p[512];
	struct stat st;

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	return lstat(p, &st) == 0;
}

static void make_trees(void)
{
	char p[512], q[512];

	fc_make_dirs("lbx-fsd-escape", root, tree, outside);
	fc_put_at(outside, "secret", "OUTSIDE");
	fc_put_at(outside, "linked", "OUTSIDE-LINK");
	fc_put_at(tree, "inside.txt", "inside");
	snprintf(p, sizeof(p), "%s/d", tree);
	mkdir(p, 0755);
	fc_put_at(p, "secret", "inside");
	snprintf(p, sizeof(p), "%s/linked", outside);
	snprintf(q, sizeof(q), "%s/hl", tree);
	if (link(p, q))
		abort();
	snprintf(q, sizeof(q), "%s/tolink", tree);
	if (symlink("../outside", q))
		abort();
	snprintf(q, sizeof(q), "%s/proc", tree);
	if (symlink("/proc/self/root", q))
		abort();
}

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(p);
}

/* Read a whole small file through the core: LOOKUP, OPEN, READ, RELEASE. */
static int read_via(struct fc *c, uint64_t parent, const char *name, char *out)
{
	uint64_t id, fh;
	uint8_t rel[24] = { 0 };
	size_t n = 0;
	int err = fc_lookup(c, parent, name, &id, NULL);

	if (!err)
		err = fc_open(c, FUSE_OPEN, id, O_RDONLY, &fh);
	if (!err) {
		err = fc_read(c, id, fh, 0, 200, out, &n);
		lbx_put_u64le(rel, fh);
		fc_call(c, FUSE_RELEASE, id, rel, sizeof(rel));
	}
	out[err ? 0 : n] = 0;
	return err;
}

static void test_names(struct fc *c)
{
	char longname[300];

	refused(fc_named(c, FUSE_LOOKUP, FUSE_ROOT_ID, NULL, 0, ".."), -EINVAL, "LOOKUP .. from the root");
	refused(fc_named(c, FUSE_LOOKUP, FUSE_ROOT_ID, NULL, 0, "."), -EINVAL, "LOOKUP . refused");
	refused(fc_named(c, FUSE_LOOKUP, FUSE_ROOT_ID, NULL, 0, "../outside/secret"), -EINVAL,
		"LOOKUP ../outside/secret (a name with '/')");
	refused(fc_named(c, FUSE_LOOKUP, FUSE_ROOT_ID, NULL, 0, "d/secret"), -EINVAL,
		"LOOKUP d/secret: no path walking");
	refused(fc_named(c, FUSE_LOOKUP, FUSE_ROOT_ID, NULL, 0, "/etc"), -EINVAL,
		"LOOKUP /etc (absolute)");
	refused(fc_named(c, FUSE_LOOKUP, FUSE_ROOT_ID, NULL, 0, ""), -EINVAL, "empty name");
	memset(longname, 'a', 256);
	longname[256] = 0;
	refused(fc_named(c, FUSE_LOOKUP, FUSE_ROOT_ID, NULL, 0, longname), -ENAMETOOLONG,
		"256-byte name: ENAMETOOLONG");
	longname[255] = 0;
	is_int(fc_named(c, FUSE_LOOKUP, FUSE_ROOT_ID, NULL, 0, longname), -ENOENT,
	       "255-byte name is a name (ENOENT, not refused)");
	refused(fc_call(c, FUSE_LOOKUP, FUSE_ROOT_ID, "inside.txt", 10), -EINVAL,
		"name without its NUL");
	refused(fc_call(c, FUSE_LOOKUP, FUSE_ROOT_ID, "inside.txt\0../x", 16), -EINVAL,
		"bytes after the name's NUL");
	refused(fc_named(c, FUSE_MKDIR, FUSE_ROOT_ID, "\xed\x01\0\0\x12\0\0\0", 8, ".."), -EINVAL,
		"MKDIR ..");
	refused(fc_named(c, FUSE_UNLINK, FUSE_ROOT_ID, NULL, 0, "../outside/secret"), -EINVAL,
		"UNLINK ../outside/secret");
	ok(exists(outside, "secret"), "outside/secret is still there");
}

static void test_symlinks(struct fc *c)
{
	uint64_t id, fh;
	uint32_t mode;
	char buf[256];

	ok(fc_lookup(c, FUSE_ROOT_ID, "tolink", &id, &mode) == 0 && S_ISLNK(mode),
	   "LOOKUP of a symlink gives the link itself");
	refused(fc_named(c, FUSE_LOOKUP, id, NULL, 0, "secret"), -ENOTDIR,
		"LOOKUP through a symlink to ../outside: ENOTDIR");
	refused(fc_open(c, FUSE_OPEN, id, O_RDONLY, &fh), -ELOOP, "OPEN of a symlink: ELOOP");
	refused(fc_open(c, FUSE_OPENDIR, id, O_RDONLY, &fh), -ENOTDIR, "OPENDIR of a symlink");
	refused(fc_named(c, FUSE_MKDIR, id, "\xed\x01\0\0\x12\0\0\0", 8, "x"), -ENOTDIR,
		"MKDIR under a symlink to outside");
	ok(!exists(outside, "x"), "nothing was made outside");
	ok(fc_lookup(c, FUSE_ROOT_ID, "proc", &id, &mode) == 0 && S_ISLNK(mode),
	   "symlink to /proc/self/root looks up as a link");
	refused(fc_named(c, FUSE_LOOKUP, id, NULL, 0, "etc"), -ENOTDIR,
		"LOOKUP through /proc/self/root magic link");
	refused(fc_open(c, FUSE_OPEN, id, O_RDONLY, &fh), -ELOOP, "OPEN of the /proc link: ELOOP");
	is_int(fc_call(c, FUSE_READLINK, id, NULL, 0), 0, "READLINK works");
	ok(lbx_reader_left(&c->body) == 15 && !memcmp(c->body.buf + c->body.pos, "/proc/self/root", 15),
	   "READLINK gives the bytes, unresolved");
	/* a magic link made by the guest is stored as text, never used as a path */
	is_int(fc_call(c, FUSE_SYMLINK, FUSE_ROOT_ID, "fd3\0/proc/self/fd/3", 20), 0,
	       "SYMLINK to /proc/self/fd/3 is stored");
	ok(fc_lookup(c, FUSE_ROOT_ID, "fd3", &id, &mode) == 0 && S_ISLNK(mode),
	   "and looks up as a symlink");
	refused(fc_open(c, FUSE_OPEN, id, O_RDONLY, &fh), -ELOOP, "OPEN of it: ELOOP, no fd leaked");
	ok(read_via(c, FUSE_ROOT_ID, "inside.txt", buf) == 0 && !strcmp(buf, "inside"),
	   "a plain file still reads");
	(void)buf;
}

/* Swap tree/d between a real directory and a symlink to outside while looking up. */
static atomic_bool stop_swap;

static void *swapper(void *arg)
{
	char d[512], dd[512], s[512];

	snprintf(d, sizeof(d), "%s/d", tree);
	snprintf(dd, sizeof(dd), "%s/d.real", tree);
	snprintf(s, sizeof(s), "%s/d.link", tree);
	unlink(s);
	if (symlink(outside, s))
		return NULL;
	rename(d, dd);
	while (!atomic_load(&stop_swap)) {
		renameat2(AT_FDCWD, dd, AT_FDCWD, d, 0);
		renameat2(AT_FDCWD, d, AT_FDCWD, dd, 0);
		renameat2(AT_FDCWD, s, AT_FDCWD, d, 0);
		renameat2(AT_FDCWD, d, AT_FDCWD, s, 0);
	}
	rename(dd, d);
	unlink(s);
	return NULL;
}

/*
 * The lookups go on until both sides of the race were seen often enough:
 * under load the swapper may sit in one state for a whole time slice, so a
 * fixed count of tries proves nothing (and once saw no real directory at
 * all). The cap only stops a scheduler that never lets the swapper run.
 */
static void test_swap_race(struct fc *c)
{
	unsigned tries = 0, found = 0, leaked = 0, links = 0;
	pthread_t t;
	char buf[256];

	atomic_store(&stop_swap, false);
	pthread_create(&t, NULL, swapper, NULL);
	for (tries = 0; tries < 2000000 && (tries < 3000 || found < 100 || links < 100); tries++) {
		uint64_t id;
		uint32_t mode;

		if (tries % 64 == 63)
			sched_yield();
		if (fc_lookup(c, FUSE_ROOT_ID, "d", &id, &mode))
			continue;
		links += S_ISLNK(mode);
		if (read_via(c, id, "secret", buf) == 0) {
			found++;
			leaked += strcmp(buf, "inside") != 0;
		}
		fc_forget(c, id, 1);
	}
	atomic_store(&stop_swap, true);
	pthread_join(t, NULL);
	race_tries = tries;
	ok(leaked == 0, "symlink swapped in during lookups: %u/%u reads, none outside", found, tries);
	ok(found >= 100 && links >= 100,
	   "both sides of the race were seen: %u reads of the real directory, %u lookups of the link", found,
	   links);
}

static void test_hardlink(struct fc *c)
{
	uint64_t id;
	uint32_t mode;
	char buf[256];

	/*
	 * A hard link planted on the host is the outside file itself: the
	 * server serves that one inode like any file in the tree (its data
	 * and metadata) and nothing around it.
	 */
	ok(fc_lookup(c, FUSE_ROOT_ID, "hl", &id, &mode) == 0 && S_ISREG(mode),
	   "planted hard link looks up as a regular file");
	ok(read_via(c, FUSE_ROOT_ID, "hl", buf) == 0 && !strcmp(buf, "OUTSIDE-LINK"),
	   "it exposes its own content (the link itself)");
	refused(fc_named(c, FUSE_LOOKUP, id, NULL, 0, "secret"), -ENOTDIR,
		"but no lookup through it (ENOTDIR)");
	refused(fc_named(c, FUSE_LOOKUP, id, NULL, 0, ".."), -EINVAL, "nor .. from it");
	refused(fc_named(c, FUSE_CREATE, id, "\x42\0\0\0\xa4\x01\0\0\x12\0\0\0\0\0\0\0", 16, "x"),
		-ENOTDIR, "nor creating next to the outside file");
	ok(!exists(outside, "x"), "the outside directory is unchanged");
}

static void put_rename2(uint8_t *a, uint64_t newdir, uint32_t flags)
{
	lbx_put_u64le(a, newdir);
	lbx_put_u32le(a + 8, flags);
	lbx_put_u32le(a + 12, 0);
}

static int rename2(struct fc *c, uint64_t dir, uint64_t newdir, const char *from, const char *to,
		   uint32_t flags)
{
	uint8_t a[600];
	size_t l1 = strlen(from) + 1, l2 = strlen(to) + 1;

	put_rename2(a, newdir, flags);
	memcpy(a + 16, from, l1);
	memcpy(a + 16 + l1, to, l2);
	return fc_call(c, FUSE_RENAME2, dir, a, 16 + l1 + l2);
}

static void test_rename(struct fc *c)
{
	uint64_t hl;

	refused(rename2(c, FUSE_ROOT_ID, FUSE_ROOT_ID, "inside.txt", "../escaped", 0), -EINVAL,
		"RENAME2 to ../escaped");
	refused(rename2(c, FUSE_ROOT_ID, FUSE_ROOT_ID, "inside.txt", "..", 0), -EINVAL,
		"RENAME2 onto ..");
	refused(rename2(c, FUSE_ROOT_ID, FUSE_ROOT_ID, "../outside/secret", "stolen", 0), -EINVAL,
		"RENAME2 from ../outside/secret");
	refused(rename2(c, FUSE_ROOT_ID, 0xdead, "inside.txt", "x", 0), -ESTALE,
		"RENAME2 into a forged directory node");
	fc_lookup(c, FUSE_ROOT_ID, "hl", &hl, NULL);
	refused(rename2(c, FUSE_ROOT_ID, hl, "inside.txt", "x", 0), -ENOTDIR,
		"RENAME2 into the planted hard link's node");
	refused(rename2(c, FUSE_ROOT_ID, FUSE_ROOT_ID, "inside.txt", "x", RENAME_WHITEOUT), -EINVAL,
		"RENAME2 with RENAME_WHITEOUT");
	ok(exists(tree, "inside.txt") && !exists(root, "escaped") && !exists(tree, "stolen") &&
		   exists(outside, "secret"),
	   "both trees unchanged after the rename attempts");
	is_int(rename2(c, FUSE_ROOT_ID, FUSE_ROOT_ID, "inside.txt", "renamed.txt", 0), 0,
	       "a proper RENAME2 works");
	is_int(rename2(c, FUSE_ROOT_ID, FUSE_ROOT_ID, "renamed.txt", "inside.txt", RENAME_NOREPLACE),
	       0, "and back with NOREPLACE");
}

static void test_ids(struct fc *c)
{
	uint8_t a[40];
	uint64_t id, fh, dfh;
	char buf[64];
	size_t n;

	refused(fc_getattr(c, 0, NULL, NULL, NULL), -ESTALE, "GETATTR node 0");
	refused(fc_getattr(c, 987654, NULL, NULL, NULL), -ESTALE, "GETATTR unknown node");
	refused(fc_getattr(c, FUSE_ROOT_ID | (1ull << 32), NULL, NULL, NULL), -ESTALE,
		"root's index with a forged generation");
	refused(fc_getattr(c, (uint64_t)(uintptr_t)c, NULL, NULL, NULL), -ESTALE,
		"a pointer as node id");
	fc_lookup(c, FUSE_ROOT_ID, "inside.txt", &id, NULL);
	fc_forget(c, id, 1000); /* more than held: clamped */
	refused(fc_getattr(c, id, NULL, NULL, NULL), -ESTALE, "a forgotten node id is stale");
	fc_lookup(c, FUSE_ROOT_ID, "hl", NULL, NULL); /* may reuse the slot */
	refused(fc_getattr(c, id, NULL, NULL, NULL), -ESTALE, "and stays stale when its slot is reused");
	refused(fc_read(c, id, 0, 0, 10, buf, &n), -EBADF, "READ with file handle 0");
	refused(fc_read(c, id, 4242, 0, 10, buf, &n), -EBADF, "READ with an unknown handle");
	fc_lookup(c, FUSE_ROOT_ID, "inside.txt", &id, NULL);
	is_int(fc_open(c, FUSE_OPEN, id, O_RDONLY, &fh), 0, "OPEN inside.txt");
	is_int(fc_open(c, FUSE_OPENDIR, FUSE_ROOT_ID, O_RDONLY, &dfh), 0, "OPENDIR root");
	refused(fc_read(c, id, dfh, 0, 10, buf, &n), -EBADF, "READ with a directory handle");
	fc_put_read_in(a, fh, 0, 4096);
	refused(fc_call(c, FUSE_READDIR, FUSE_ROOT_ID, a, 40), -EBADF, "READDIR with a file handle");
	memset(a, 0, 24);
	lbx_put_u64le(a, fh);
	is_int(fc_call(c, FUSE_RELEASE, id, a, 24), 0, "RELEASE");
	refused(fc_read(c, id, fh, 0, 10, buf, &n), -EBADF, "READ after RELEASE");
	refused(fc_call(c, FUSE_RELEASE, id, a, 24), -EBADF, "double RELEASE");
	lbx_put_u64le(a, dfh);
	is_int(fc_call(c, FUSE_RELEASEDIR, FUSE_ROOT_ID, a, 24), 0, "RELEASEDIR");
	lbx_put_u64le(a, 1);
	lbx_put_u64le(a + 8, 0);
	refused(fc_call(c, FUSE_LINK, FUSE_ROOT_ID, "\x99\x99\0\0\0\0\0\0x", 10), -ESTALE,
		"LINK from a forged node id");
}

static int raw_header(struct fc *c, uint8_t *buf, uint32_t len, uint32_t op, size_t real)
{
	lbx_put_u32le(buf, len);
	lbx_put_u32le(buf + 4, op);
	lbx_put_u64le(buf + 8, 77);
	lbx_put_u64le(buf + 16, FUSE_ROOT_ID);
	return fc_raw(c, buf, real, FC_REPLY_MAX);
}

static void test_lengths(struct fc *c)
{
	uint8_t buf[256] = { 0 }, w[100];

	memcpy(buf + 40, "inside.txt", 11);
	refused(raw_header(c, buf, 40 + 11 + 20, FUSE_LOOKUP, 51), -EINVAL,
		"in_header.len larger than the request");
	refused(raw_header(c, buf, 40 + 5, FUSE_LOOKUP, 51), -EINVAL,
		"in_header.len smaller than the request");
	refused(raw_header(c, buf, 12, FUSE_LOOKUP, 51), -EINVAL, "in_header.len below the header");
	attempts++;
	ok(raw_header(c, buf, 51, FUSE_LOOKUP, 20) == 1 && c->handle_ret == -EBADMSG,
	   "a request shorter than the header gets no reply, -EBADMSG");
	refused(fc_call(c, FUSE_GETATTR, FUSE_ROOT_ID, buf, 8), -EINVAL, "truncated GETATTR args");
	refused(fc_call(c, FUSE_SETATTR, FUSE_ROOT_ID, buf, 60), -EINVAL, "truncated SETATTR args");
	refused(fc_call(c, FUSE_READ, FUSE_ROOT_ID, buf, 39), -EINVAL, "truncated READ args");
	refused(fc_call(c, FUSE_INIT, 0, buf, 8), -EINVAL, "truncated INIT");
	/* WRITE whose size field disagrees with the payload */
	memset(w, 0, sizeof(w));
	lbx_put_u64le(w, 1);
	lbx_put_u32le(w + 16, 1000);
	refused(fc_call(c, FUSE_WRITE, FUSE_ROOT_ID, w, 60), -EINVAL,
		"WRITE size larger than its payload");
	refused(fc_call(c, FUSE_WRITE, FUSE_ROOT_ID, w, 30), -EINVAL, "WRITE shorter than write_in");
	/* SETXATTR with a value shorter than its size */
	lbx_put_u32le(w, 50);
	lbx_put_u32le(w + 4, 0);
	memcpy(w + 8, "user.a\0xy", 9);
	refused(fc_call(c, FUSE_SETXATTR, FUSE_ROOT_ID, w, 17), -EINVAL,
		"SETXATTR value shorter than its size");
	/* BATCH_FORGET claiming more entries than it carries: no reply, no crash */
	lbx_put_u32le(w, 1000000);
	lbx_put_u32le(w + 4, 0);
	attempts++;
	ok(fc_call(c, FUSE_BATCH_FORGET, 0, w, 24) == 1, "BATCH_FORGET with a forged count: ignored");
	refused(fc_call(c, 9999, FUSE_ROOT_ID, NULL, 0), -ENOSYS, "unknown opcode: ENOSYS");
	refused(fc_call(c, FUSE_IOCTL, FUSE_ROOT_ID, buf, 32), -ENOSYS, "IOCTL: ENOSYS");
	refused(fc_call(c, FUSE_POLL, FUSE_ROOT_ID, buf, 24), -ENOSYS, "POLL: ENOSYS");
	refused(fc_call(c, FUSE_GETLK, FUSE_ROOT_ID, buf, 48), -ENOSYS, "GETLK: ENOSYS (kernel-local locks)");
	is_int(fc_getattr(c, FUSE_ROOT_ID, NULL, NULL, NULL), 0, "still serving after all that");
}

static void test_xattr_policy(struct fc *c)
{
	uint8_t a[128];
	uint64_t id;
	char p[512];

	fc_lookup(c, FUSE_ROOT_ID, "inside.txt", &id, NULL);
	lbx_put_u32le(a, 9);
	lbx_put_u32le(a + 4, 0);
	memcpy(a + 8, "user.containers.override_stat\0" "0:0:04755", 39);
	refused(fc_call(c, FUSE_SETXATTR, id, a, 47), -EPERM, "SETXATTR of the ownership xattr");
	lbx_put_u32le(a, 8);
	memcpy(a + 8, "security.capability\0" "01234567", 28);
	refused(fc_call(c, FUSE_SETXATTR, id, a, 36), -EOPNOTSUPP, "SETXATTR security.capability");
	memcpy(a + 8, "trusted.overlay.opaque\0y\0\0\0\0\0\0\0", 31);
	refused(fc_call(c, FUSE_SETXATTR, id, a, 39), -EOPNOTSUPP, "SETXATTR trusted.*");
	snprintf(p, sizeof(p), "%s/inside.txt", tree);
	ok(getxattr(p, "user.containers.override_stat", NULL, 0) < 0, "host file has no forged xattr");
	memcpy(a + 8, "user.note\0" "abcdefgh", 18);
	is_int(fc_call(c, FUSE_SETXATTR, id, a, 26), 0, "a user.* xattr is fine");
}

static void test_split(struct fc *c)
{
	uint8_t w[40 + 5];
	uint64_t id, fh;
	char buf[64];
	size_t n;

	c->split = 3;
	ok(fc_lookup(c, FUSE_ROOT_ID, "inside.txt", &id, NULL) == 0,
	   "LOOKUP split into 3-byte iovecs works");
	is_int(fc_open(c, FUSE_OPEN, id, O_RDWR, &fh), 0, "OPEN (split)");
	memset(w, 0, sizeof(w));
	lbx_put_u64le(w, fh);
	lbx_put_u64le(w + 8, 6);
	lbx_put_u32le(w + 16, 5);
	memcpy(w + 40, "-more", 5);
	is_int(fc_call(c, FUSE_WRITE, id, w, sizeof(w)), 0, "WRITE with split payload");
	ok(fc_read(c, id, fh, 0, 64, buf, &n) == 0 && n == 11 && !memcmp(buf, "inside-more", 11),
	   "READ into split reply buffers gives it back");
	c->split = 0;
	ok(!strcmp(slurp(tree, "inside.txt"), "inside-more"), "the host sees the write");
}

static void test_before_init(void)
{
	struct fsd_options o;
	struct fsd *fsd;
	struct fc c;

	options(&o);
	if (fsd_new(tree, &o, &fsd))
		abort();
	fc_init(&c, fsd);
	refused(fc_getattr(&c, FUSE_ROOT_ID, NULL, NULL, NULL), -EIO, "requests before INIT: EIO");
	fc_free(&c);
	fsd_free(fsd);
}

static void test_read_only(void)
{
	struct fsd_options o;
	struct fsd *fsd;
	uint64_t id, fh;
	struct fc c;

	options(&o);
	o.read_only = true;
	if (fsd_new(tree, &o, &fsd))
		abort();
	fc_init(&c, fsd);
	fc_init_session(&c);
	is_int(fc_named(&c, FUSE_MKDIR, FUSE_ROOT_ID, "\xed\x01\0\0\x12\0\0\0", 8, "ro"), -EROFS,
	       "read-only: MKDIR is EROFS");
	fc_lookup(&c, FUSE_ROOT_ID, "inside.txt", &id, NULL);
	is_int(fc_open(&c, FUSE_OPEN, id, O_RDWR, &fh), -EROFS, "read-only: OPEN O_RDWR is EROFS");
	is_int(fc_open(&c, FUSE_OPEN, id, O_RDONLY | O_TRUNC, &fh), -EROFS,
	       "read-only: OPEN O_TRUNC is EROFS");
	is_int(fc_open(&c, FUSE_OPEN, id, O_RDONLY, &fh), 0, "read-only: OPEN O_RDONLY works");
	ok(!exists(tree, "ro"), "nothing was made");
	fc_free(&c);
	fsd_free(fsd);
}

static void test_devices(struct fc *c)
{
	uint8_t a[16];
	char p[512];
	struct stat st;
	uint64_t id;

	memset(a, 0, sizeof(a));
	lbx_put_u32le(a, S_IFCHR | 0666);
	lbx_put_u32le(a + 4, (1 << 8) | 3); /* 1:3, /dev/null */
	refused(fc_named(c, FUSE_MKNOD, FUSE_ROOT_ID, a, 16, "null"), -EPERM,
		"identity: MKNOD of a character device is EPERM");
	lbx_put_u32le(a, S_IFBLK | 0666);
	refused(fc_named(c, FUSE_MKNOD, FUSE_ROOT_ID, a, 16, "sda"), -EPERM, "and a block device");
	lbx_put_u32le(a, S_IFIFO | 0644);
	is_int(fc_named(c, FUSE_MKNOD, FUSE_ROOT_ID, a, 16, "fifo"), 0, "a FIFO is fine");
	lbx_put_u32le(a, S_IFREG | 04755);
	is_int(fc_named(c, FUSE_MKNOD, FUSE_ROOT_ID, a, 16, "suid"), 0, "MKNOD regular 04755");
	snprintf(p, sizeof(p), "%s/suid", tree);
	ok(stat(p, &st) == 0 && !(st.st_mode & S_ISUID) && (st.st_mode & 0777) == 0755,
	   "the host never gets a setuid file from the guest (mode %o)", st.st_mode & 07777);
	(void)id;
}

static void test_xattr_ownership(void)
{
	struct fsd_options o;
	struct fsd *fsd;
	uint8_t a[88];
	struct stat st;
	uint32_t uid, gid, mode;
	uint64_t id;
	char p[512], v[64];
	ssize_t n;
	struct fc c;

	options(&o);
	o.ownership = FSD_OWNERSHIP_XATTR;
	if (fsd_new(tree, &o, &fsd))
		abort();
	fc_init(&c, fsd);
	fc_init_session(&c);
	fc_lookup(&c, FUSE_ROOT_ID, "inside.txt", &id, NULL);
	memset(a, 0, sizeof(a));
	lbx_put_u32le(a, FATTR_UID | FATTR_GID | FATTR_MODE);
	lbx_put_u32le(a + 68, 04711); /* mode */
	lbx_put_u32le(a + 76, 1234);  /* uid */
	lbx_put_u32le(a + 80, 5678);  /* gid */
	is_int(fc_call(&c, FUSE_SETATTR, id, a, sizeof(a)), 0, "xattr: SETATTR chown+chmod");
	ok(fc_getattr(&c, id, &mode, &uid, &gid) == 0 && uid == 1234 && gid == 5678 &&
		   (mode & 07777) == 04711 && S_ISREG(mode),
	   "xattr: GETATTR shows 1234:5678 mode 4711 (got %u:%u %o)", uid, gid, mode);
	snprintf(p, sizeof(p), "%s/inside.txt", tree);
	ok(stat(p, &st) == 0 && st.st_uid == geteuid() && !(st.st_mode & S_ISUID),
	   "xattr: the host file keeps its owner and no setuid bit");
	n = getxattr(p, "user.containers.override_stat", v, sizeof(v) - 1);
	v[n > 0 ? n : 0] = 0;
	ok(!strcmp(v, "1234:5678:04711"), "xattr: stored as \"%s\"", v);
	memset(a, 0, 16);
	lbx_put_u32le(a, S_IFCHR | 0620);
	lbx_put_u32le(a + 4, (136 << 8) | 5);
	c.uid = 0;
	c.gid = 5;
	is_int(fc_named(&c, FUSE_MKNOD, FUSE_ROOT_ID, a, 16, "tty5"), -EPERM,
	       "xattr: MKNOD of a character device is EPERM (no stand-in made)");
	snprintf(p, sizeof(p), "%s/tty5", tree);
	ok(lstat(p, &st) < 0, "xattr: and nothing is on the host");
	/* A stand-in the host made (an image's /dev) still shows as its device. */
	fc_put(p, "");
	if (setxattr(p, "user.containers.override_stat", "0:5:0620:char-136-5", 19, 0))
		abort();
	ok(fc_lookup(&c, FUSE_ROOT_ID, "tty5", &id, &mode) == 0 && S_ISCHR(mode),
	   "xattr: a host-made stand-in looks like a character device to the guest");
	fc_free(&c);
	fsd_free(fsd);
}

int main(int argc, char **argv)
{
	struct fsd_options o;
	struct fsd_stats st;
	struct fsd *fsd;
	struct fc c;

	if (argc > 1)
		max_inode_fds = (uint32_t)strtoul(argv[1], NULL, 10);
	make_trees();
	options(&o);
	if (fsd_new(tree, &o, &fsd))
		abort();
	fc_init(&c, fsd);
	is_int(fc_init_session(&c), 0, "INIT");
	test_names(&c);
	test_symlinks(&c);
	test_hardlink(&c);
	test_rename(&c);
	test_ids(&c);
	test_lengths(&c);
	test_xattr_policy(&c);
	test_split(&c);
	test_devices(&c);
	test_swap_race(&c);
	ok(!strcmp(slurp(outside, "secret"), "OUTSIDE") && !strcmp(slurp(outside, "linked"), "OUTSIDE-LINK"),
	   "outside files unchanged");
	fsd_get_stats(fsd, &st);
	printf("# %u escape and misuse attempts, each refused as checked above (%llu counted by "
	       "the server as malformed), plus %u lookups raced against a symlink swap; "
	       "%llu requests served\n",
	       attempts, (unsigned long long)st.refused, race_tries,
	       (unsigned long long)st.requests);
	fc_free(&c);
	fsd_free(fsd);
	test_before_init();
	test_read_only();
	test_xattr_ownership();
	nftw(root, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	return tap_done();
}
