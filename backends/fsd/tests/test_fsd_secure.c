/* SPDX-License-Identifier: MIT */
/*
 * Raw FUSE requests against the core for what the server must refuse
 * although the request is well formed:
 *
 *   - opening anything but a regular file or a directory (a FIFO would
 *     hang a worker, a device node would reach a host device), on every
 *     path that opens: CREATE of an existing name, OPEN, OPENDIR, the
 *     reopen after eviction;
 *   - device nodes made through the server, in both ownership modes;
 *   - the overlay xattr namespaces;
 *   - writes at or under a --protect path;
 *   - growth beyond --quota-bytes.
 *
 *   test-fsd-secure [MAX_INODE_FDS]   (a small budget: inodes evicted and
 *                                      reopened by name between uses)
 */
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdio.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "../../../tests/unit/tap.h"
#include "fsd_client.h"

static char root[256], tree[300], outside[300];
static uint32_t max_inode_fds;

static void options(struct fsd_options *o)
{
	fsd_options_default(o);
	o->max_inode_fds = max_inode_fds;
}

static void on_alarm(int sig)
{
	static const char msg[] = "not ok - a request hung the server (a FIFO opened?)\n";

	(void)sig;
	if (write(1, msg, sizeof(msg) - 1) < 0)
		_exit(2);
	_exit(1);
}

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(p);
}

static void host_path(char *p, size_t n, const char *name)
{
	snprintf(p, n, "%s/%s", tree, name);
}

static struct fsd *serve_dir(struct fc *c, const char *dir, const struct fsd_options *o)
{
	struct fsd *fsd;

	if (fsd_new(dir, o, &fsd))
		abort();
	fc_init(c, fsd);
	if (fc_init_session(c))
		abort();
	return fsd;
}

static struct fsd *serve(struct fc *c, const struct fsd_options *o)
{
	return serve_dir(c, tree, o);
}

static void done(struct fc *c)
{
	struct fsd *fsd = c->fsd;

	fc_free(c);
	fsd_free(fsd);
}

/* CREATE (fuse_create_in: flags, mode, umask, open_flags) of name under parent. */
static int fc_create(struct fc *c, uint64_t parent, const char *name, uint32_t flags, uint32_t mode,
		     uint64_t *nodeid, uint64_t *fh)
{
	uint8_t a[16] = { 0 };
	uint64_t id = 0, h = 0;
	int err;

	lbx_put_u32le(a, flags);
	lbx_put_u32le(a + 4, mode);
	err = fc_named(c, FUSE_CREATE, parent, a, sizeof(a), name);
	if (err)
		return err;
	/* fuse_entry_out (128 bytes: nodeid first), then fuse_open_out (fh first) */
	if (lbx_read_u64le(&c->body, &id) || lbx_read_skip(&c->body, 120) ||
	    lbx_read_u64le(&c->body, &h))
		return -EPROTO;
	if (nodeid)
		*nodeid = id;
	if (fh)
		*fh = h;
	return 0;
}

static void fc_release(struct fc *c, uint64_t nodeid, uint64_t fh, bool dir)
{
	uint8_t rel[24] = { 0 };

	lbx_put_u64le(rel, fh);
	fc_call(c, dir ? FUSE_RELEASEDIR : FUSE_RELEASE, nodeid, rel, sizeof(rel));
}

/* WRITE of text at off through fh; the reply's size, or -errno. */
static int fc_write(struct fc *c, uint64_t nodeid, uint64_t fh, uint64_t off, const char *text)
{
	static uint8_t a[40 + 16384 + 1];
	size_t n = strlen(text);
	uint32_t got;
	int err;

	memset(a, 0, 40);
	lbx_put_u64le(a, fh);
	lbx_put_u64le(a + 8, off);
	lbx_put_u32le(a + 16, (uint32_t)n);
	memcpy(a + 40, text, n);
	err = fc_call(c, FUSE_WRITE, nodeid, a, 40 + n);
	if (err)
		return err;
	return lbx_read_u32le(&c->body, &got) ? -EPROTO : (int)got;
}

/* 1. Only regular files and directories are ever opened. */
static void test_special_files(void)
{
	struct fsd_options o;
	struct fc c;
	struct stat st;
	uint64_t id, fh;
	char p[512];
	bool dev;

	host_path(p, sizeof(p), "fifo");
	if (mkfifo(p, 0666))
		abort();
	host_path(p, sizeof(p), "null");
	dev = geteuid() == 0 && mknod(p, S_IFCHR | 0666, makedev(1, 3)) == 0;
	fc_put_at(tree, "plain", "plain content");
	host_path(p, sizeof(p), "dir");
	mkdir(p, 0755);

	options(&o);
	serve(&c, &o);
	alarm(30);
	is_int(fc_create(&c, FUSE_ROOT_ID, "fifo", O_WRONLY, S_IFREG | 0644, &id, &fh), -ENXIO,
	       "CREATE without O_EXCL of a FIFO, O_WRONLY (no reader: would block): ENXIO");
	is_int(fc_create(&c, FUSE_ROOT_ID, "fifo", O_RDWR, S_IFREG | 0644, &id, &fh), -ENXIO,
	       "and O_RDWR: ENXIO");
	is_int(fc_create(&c, FUSE_ROOT_ID, "fifo", O_RDONLY | O_EXCL, S_IFREG | 0644, &id, &fh),
	       -EEXIST, "with O_EXCL: EEXIST");
	if (dev) {
		is_int(fc_create(&c, FUSE_ROOT_ID, "null", O_RDWR, S_IFREG | 0644, &id, &fh),
		       -ENXIO, "CREATE without O_EXCL of a host char device (1:3): ENXIO");
		ok(fc_lookup(&c, FUSE_ROOT_ID, "null", &id, NULL) == 0 &&
		       fc_open(&c, FUSE_OPEN, id, O_RDWR, &fh) == -ENXIO,
		   "OPEN of the device node: ENXIO");
	} else {
		tap_skip("not root: no device node made on the host (mknod needs CAP_MKNOD)");
		tap_skip("not root: no device node made on the host");
	}
	is_int(fc_create(&c, FUSE_ROOT_ID, "dir", O_RDWR, S_IFREG | 0644, &id, &fh), -EISDIR,
	       "CREATE without O_EXCL of a directory: EISDIR");
	ok(fc_lookup(&c, FUSE_ROOT_ID, "fifo", &id, NULL) == 0 &&
	       fc_open(&c, FUSE_OPEN, id, O_RDONLY, &fh) == -ENXIO,
	   "OPEN of the FIFO: ENXIO");
	is_int(fc_open(&c, FUSE_OPENDIR, id, O_RDONLY, &fh), -ENOTDIR,
	       "OPENDIR of the FIFO: ENOTDIR");
	is_int(fc_create(&c, FUSE_ROOT_ID, "plain", O_RDWR | O_TRUNC, S_IFREG | 0644, &id, &fh), 0,
	       "CREATE without O_EXCL of a regular file opens it");
	is_int(fc_write(&c, id, fh, 0, "new"), 3, "and it is writable");
	fc_release(&c, id, fh, false);
	host_path(p, sizeof(p), "plain");
	if (stat(p, &st))
		st.st_size = -1;
	ok(st.st_size == 3, "O_TRUNC applied, then 3 bytes written (size %lld)",
	   (long long)st.st_size);
	alarm(0);
	done(&c);
}

/* SETXATTR (fuse_setxattr_in: size, flags) of name=value on nodeid. */
static int fc_setxattr(struct fc *c, uint64_t nodeid, const char *name, const char *value)
{
	uint8_t a[512] = { 0 };
	size_t nl = strlen(name) + 1, vl = strlen(value);

	lbx_put_u32le(a, (uint32_t)vl);
	memcpy(a + 8, name, nl);
	memcpy(a + 8 + nl, value, vl);
	return fc_call(c, FUSE_SETXATTR, nodeid, a, 8 + nl + vl);
}

static int fc_getxattr(struct fc *c, uint64_t nodeid, const char *name)
{
	uint8_t a[8] = { 0 };

	lbx_put_u32le(a, 256);
	return fc_named(c, FUSE_GETXATTR, nodeid, a, sizeof(a), name);
}

/* LISTXATTR into list (NUL-separated names); its length, or -errno. */
static int fc_listxattr(struct fc *c, uint64_t nodeid, char *list, size_t cap)
{
	uint8_t a[8] = { 0 };
	const uint8_t *p;
	size_t n;
	int err;

	lbx_put_u32le(a, (uint32_t)cap);
	err = fc_call(c, FUSE_LISTXATTR, nodeid, a, sizeof(a));
	if (err)
		return err;
	if (lbx_read_rest(&c->body, &p, &n) || n > cap)
		return -EPROTO;
	memcpy(list, p, n);
	return (int)n;
}

static bool listed(const char *list, int n, const char *name)
{
	for (int i = 0; i < n; i += (int)strlen(list + i) + 1)
		if (!strcmp(list + i, name))
			return true;
	return false;
}

/* 4. The overlay xattr namespaces are not the guest's. */
static void test_overlay_xattrs(void)
{
	static const char *const names[] = { "user.overlay.opaque", "user.overlay.redirect",
					     "user.fuseoverlayfs.opaque",
					     "user.containers.override_stat",
					     "user.lbx.override_names" };
	struct fsd_options o;
	struct fc c;
	uint64_t id;
	char p[512], list[1024];
	int n;

	fc_put_at(tree, "xa", "x");
	host_path(p, sizeof(p), "");
	if (setxattr(p, "user.lbx.override_names", "l\0" "1:1:0777", 11, 0)) {
		tap_skip("the temp file system has no user xattrs");
		return;
	}
	host_path(p, sizeof(p), "xa");
	if (setxattr(p, "user.overlay.opaque", "y", 1, 0) ||
	    setxattr(p, "user.fuseoverlayfs.opaque", "y", 1, 0) ||
	    setxattr(p, "user.mine", "1", 1, 0)) {
		tap_skip("the temp file system has no user xattrs");
		return;
	}
	options(&o);
	serve(&c, &o);
	if (fc_lookup(&c, FUSE_ROOT_ID, "xa", &id, NULL))
		abort();
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		is_int(fc_setxattr(&c, id, names[i], "z"), -EPERM, "SETXATTR %s: EPERM", names[i]);
		is_int(fc_named(&c, FUSE_REMOVEXATTR, id, NULL, 0, names[i]), -EPERM,
		       "REMOVEXATTR %s: EPERM", names[i]);
	}
	is_int(fc_getxattr(&c, id, "user.overlay.opaque"), -ENODATA,
	       "GETXATTR of a host-set user.overlay.opaque: ENODATA");
	is_int(fc_getxattr(&c, id, "user.fuseoverlayfs.opaque"), -ENODATA,
	       "GETXATTR of a host-set user.fuseoverlayfs.opaque: ENODATA");
	is_int(fc_getxattr(&c, FUSE_ROOT_ID, "user.lbx.override_names"), -ENODATA,
	       "GETXATTR of a directory's host-set user.lbx.override_names: ENODATA");
	n = fc_listxattr(&c, id, list, sizeof(list));
	ok(n > 0 && listed(list, n, "user.mine") && !listed(list, n, "user.overlay.opaque") &&
	       !listed(list, n, "user.fuseoverlayfs.opaque"),
	   "LISTXATTR shows user.mine and neither overlay name");
	is_int(fc_setxattr(&c, id, "user.overlayish", "1"), 0,
	       "user.overlayish is an ordinary name");
	ok(getxattr(p, "user.overlay.opaque", list, sizeof(list)) == 1 && list[0] == 'y' &&
	       getxattr(p, "user.overlay.redirect", NULL, 0) < 0,
	   "the host file's overlay xattrs are unchanged");
	host_path(p, sizeof(p), "");
	removexattr(p, "user.lbx.override_names");
	done(&c);
}

/* 6. No device node is made through the server, in either ownership mode. */
static void test_mknod_devices(void)
{
	static const enum fsd_ownership modes[] = { FSD_OWNERSHIP_IDENTITY, FSD_OWNERSHIP_XATTR };
	struct fsd_options o;
	struct fc c;
	uint8_t a[16];
	char p[512];

	for (size_t i = 0; i < 2; i++) {
		const char *m = modes[i] == FSD_OWNERSHIP_XATTR ? "xattr" : "identity";

		options(&o);
		o.ownership = modes[i];
		serve(&c, &o);
		memset(a, 0, sizeof(a));
		lbx_put_u32le(a, S_IFCHR | 0666);
		lbx_put_u32le(a + 4, (1 << 8) | 3);
		is_int(fc_named(&c, FUSE_MKNOD, FUSE_ROOT_ID, a, 16, "cdev"), -EPERM,
		       "%s: MKNOD of a character device: EPERM", m);
		lbx_put_u32le(a, S_IFBLK | 0660);
		lbx_put_u32le(a + 4, (8 << 8) | 0);
		is_int(fc_named(&c, FUSE_MKNOD, FUSE_ROOT_ID, a, 16, "bdev"), -EPERM,
		       "%s: MKNOD of a block device: EPERM", m);
		host_path(p, sizeof(p), "cdev");
		ok(access(p, F_OK) < 0, "%s: nothing (no stand-in either) on the host", m);
		lbx_put_u32le(a, S_IFIFO | 0644);
		lbx_put_u32le(a + 4, 0);
		is_int(fc_named(&c, FUSE_MKNOD, FUSE_ROOT_ID, a, 16, i ? "fifo-x" : "fifo-i"), 0,
		       "%s: MKNOD of a FIFO still works", m);
		done(&c);
	}
}

/* LOOKUP a/b/c from the root; the node id, or 0. */
static uint64_t walk(struct fc *c, const char *path)
{
	char buf[512], *save = NULL;
	uint64_t id = FUSE_ROOT_ID;

	snprintf(buf, sizeof(buf), "%s", path);
	for (char *n = strtok_r(buf, "/", &save); n; n = strtok_r(NULL, "/", &save))
		if (fc_lookup(c, id, n, &id, NULL))
			return 0;
	return id;
}

static int fc_mknod(struct fc *c, uint64_t dir, const char *name, uint32_t mode)
{
	uint8_t a[16] = { 0 };

	lbx_put_u32le(a, mode);
	return fc_named(c, FUSE_MKNOD, dir, a, sizeof(a), name);
}

static int fc_mkdir(struct fc *c, uint64_t dir, const char *name)
{
	uint8_t a[8] = { 0 };

	lbx_put_u32le(a, 0755);
	return fc_named(c, FUSE_MKDIR, dir, a, sizeof(a), name);
}

static int fc_symlink(struct fc *c, uint64_t dir, const char *name, const char *target)
{
	char a[512];
	size_t n = strlen(name) + 1, t = strlen(target) + 1;

	memcpy(a, name, n);
	memcpy(a + n, target, t);
	return fc_call(c, FUSE_SYMLINK, dir, a, n + t);
}

/* RENAME2 (flags 0: RENAME) of (from, a) to (to, b). */
static int fc_rename(struct fc *c, uint64_t from, const char *a, uint64_t to, const char *b,
		     uint32_t flags)
{
	uint8_t buf[600] = { 0 };
	size_t na = strlen(a) + 1, nb = strlen(b) + 1, pre = flags ? 16 : 8;

	lbx_put_u64le(buf, to);
	lbx_put_u32le(buf + 8, flags);
	memcpy(buf + pre, a, na);
	memcpy(buf + pre + na, b, nb);
	return fc_call(c, flags ? FUSE_RENAME2 : FUSE_RENAME, from, buf, pre + na + nb);
}

static int fc_link(struct fc *c, uint64_t old, uint64_t dir, const char *name)
{
	uint8_t a[8];

	lbx_put_u64le(a, old);
	return fc_named(c, FUSE_LINK, dir, a, sizeof(a), name);
}

/* SETATTR of the mode only. */
static int fc_chmod(struct fc *c, uint64_t id, uint32_t mode)
{
	uint8_t a[88] = { 0 };

	lbx_put_u32le(a, FATTR_MODE);
	lbx_put_u32le(a + 68, mode);
	return fc_call(c, FUSE_SETATTR, id, a, sizeof(a));
}

static char *slurp(const char *dir, const char *name)
{
	static char buf[256];
	char p[600];
	FILE *f;
	size_t n;

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	f = fopen(p, "r");
	if (!f)
		return "<missing>";
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = 0;
	fclose(f);
	return buf;
}

static bool there(const char *dir, const char *name)
{
	char p[600];
	struct stat st;

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	return lstat(p, &st) == 0;
}

/* Lines of path holding needle. */
static int count_lines(const char *path, const char *needle)
{
	char line[1024];
	FILE *f = fopen(path, "r");
	int n = 0;

	while (f && fgets(line, sizeof(line), f))
		n += strstr(line, needle) != NULL;
	if (f)
		fclose(f);
	return n;
}

static const char *const git_protect[] = { ".git/config", ".git/hooks" };

/* 2. --protect: a repository's config and hooks, and what tries to get around it. */
static void test_protect_repo(void)
{
	struct fsd_options o;
	struct fc c;
	char proj[400], p[600], q[600], log[600];
	uint64_t git, hooks, hook, cfg, other, f, hl, id, fh;
	int saved_err, logfd, refusals = 0;

	snprintf(proj, sizeof(proj), "%s/proj", tree);
	snprintf(p, sizeof(p), "%s/.git/hooks", proj);
	snprintf(q, sizeof(q), "mkdir -p '%s' '%s/other'", p, proj);
	if (system(q))
		abort();
	snprintf(p, sizeof(p), "%s/.git", proj);
	fc_put_at(p, "config", "[core]\n\tbare = false\n");
	fc_put_at(p, "HEAD", "ref: refs/heads/main\n");
	snprintf(p, sizeof(p), "%s/.git/hooks", proj);
	fc_put_at(p, "pre-commit", "#!/bin/sh\nexit 0\n");
	snprintf(p, sizeof(p), "%s/other", proj);
	fc_put_at(p, "f", "free");
	/* a hard link made before the protection, outside the protected paths */
	snprintf(p, sizeof(p), "%s/.git/hooks/pre-commit", proj);
	snprintf(q, sizeof(q), "%s/link-to-hook", proj);
	if (link(p, q))
		abort();

	snprintf(log, sizeof(log), "%s/log", root);
	fflush(stderr);
	saved_err = dup(2);
	logfd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	dup2(logfd, 2);
	close(logfd);

	options(&o);
	o.protect = git_protect;
	o.nprotect = 2;
	serve_dir(&c, proj, &o);
	git = walk(&c, ".git");
	hooks = walk(&c, ".git/hooks");
	hook = walk(&c, ".git/hooks/pre-commit");
	cfg = walk(&c, ".git/config");
	other = walk(&c, "other");
	f = walk(&c, "other/f");
	hl = walk(&c, "link-to-hook");
	if (!git || !hooks || !hook || !cfg || !other || !f || !hl)
		abort();
#define PROTECTED(expr, ...)                                                                       \
	do {                                                                                       \
		refusals++;                                                                        \
		is_int(expr, -EROFS, __VA_ARGS__);                                                 \
	} while (0)
	/* the files themselves */
	PROTECTED(fc_open(&c, FUSE_OPEN, hook, O_WRONLY, &fh), "OPEN hooks/pre-commit O_WRONLY");
	PROTECTED(fc_open(&c, FUSE_OPEN, cfg, O_RDWR, &fh), "OPEN .git/config O_RDWR");
	PROTECTED(fc_open(&c, FUSE_OPEN, cfg, O_RDONLY | O_TRUNC, &fh), "OPEN .git/config O_TRUNC");
	is_int(fc_open(&c, FUSE_OPEN, cfg, O_RDONLY, &fh), 0, "OPEN .git/config O_RDONLY works");
	fc_release(&c, cfg, fh, false);
	PROTECTED(fc_chmod(&c, hook, 0777), "SETATTR (chmod) of the hook");
	PROTECTED(fc_chmod(&c, hooks, 0777), "SETATTR of .git/hooks itself");
	PROTECTED(fc_setxattr(&c, cfg, "user.x", "1"), "SETXATTR on .git/config");
	PROTECTED(fc_named(&c, FUSE_REMOVEXATTR, cfg, NULL, 0, "user.x"), "REMOVEXATTR on it");
	/* names inside */
	PROTECTED(fc_create(&c, hooks, "post-checkout", O_WRONLY, S_IFREG | 0755, &id, &fh),
		  "CREATE hooks/post-checkout");
	PROTECTED(fc_create(&c, hooks, "pre-commit", O_WRONLY | O_TRUNC, S_IFREG | 0755, &id, &fh),
		  "CREATE (no O_EXCL) over hooks/pre-commit");
	PROTECTED(fc_mknod(&c, hooks, "fifo", S_IFIFO | 0644), "MKNOD in hooks");
	PROTECTED(fc_mkdir(&c, hooks, "d"), "MKDIR in hooks");
	PROTECTED(fc_symlink(&c, hooks, "post-merge", "../../evil"), "SYMLINK in hooks");
	PROTECTED(fc_named(&c, FUSE_UNLINK, hooks, NULL, 0, "pre-commit"),
		  "UNLINK hooks/pre-commit");
	PROTECTED(fc_named(&c, FUSE_UNLINK, git, NULL, 0, "config"), "UNLINK .git/config");
	PROTECTED(fc_named(&c, FUSE_RMDIR, git, NULL, 0, "hooks"), "RMDIR .git/hooks");
	PROTECTED(fc_link(&c, f, hooks, "pre-push"), "LINK other/f into hooks");
	PROTECTED(fc_link(&c, hook, other, "copy"), "LINK of the hook to other/copy");
	/* renames in, out, of the directories and of their parents */
	PROTECTED(fc_rename(&c, other, "f", git, "config", 0), "RENAME other/f over .git/config");
	PROTECTED(fc_rename(&c, other, "f", hooks, "pre-push", 0), "RENAME other/f into hooks");
	PROTECTED(fc_rename(&c, hooks, "pre-commit", other, "x", 0), "RENAME the hook out");
	PROTECTED(fc_rename(&c, git, "hooks", git, "hooks.old", 0), "RENAME .git/hooks away");
	PROTECTED(fc_rename(&c, FUSE_ROOT_ID, ".git", FUSE_ROOT_ID, ".git2", 0),
		  "RENAME .git away (mv .git .git2; mkdir .git...)");
	PROTECTED(fc_rename(&c, FUSE_ROOT_ID, "other", FUSE_ROOT_ID, ".git", RENAME_EXCHANGE),
		  "RENAME2 EXCHANGE other <-> .git");
	PROTECTED(fc_rename(&c, FUSE_ROOT_ID, "other", git, "hooks", RENAME_EXCHANGE),
		  "RENAME2 EXCHANGE other <-> .git/hooks");
	PROTECTED(fc_named(&c, FUSE_RMDIR, FUSE_ROOT_ID, NULL, 0, ".git"), "RMDIR .git");
	/* aliases */
	PROTECTED(fc_create(&c, git, "HOOKS", O_WRONLY, S_IFREG | 0755, &id, &fh),
		  "CREATE .git/HOOKS (a case alias)");
	PROTECTED(fc_mkdir(&c, FUSE_ROOT_ID, ".GIT") == 0 ? fc_mkdir(&c, walk(&c, ".GIT"), "Hooks")
							  : -1,
		  "MKDIR .GIT/Hooks (a case alias)");
	PROTECTED(fc_open(&c, FUSE_OPEN, hl, O_WRONLY, &fh),
		  "OPEN for writing of a hard link to the hook made before the protection");
	PROTECTED(
	    fc_create(&c, FUSE_ROOT_ID, "link-to-hook", O_RDWR | O_TRUNC, S_IFREG | 0644, &id, &fh),
	    "CREATE (no O_EXCL) O_TRUNC of that hard link");
	PROTECTED(fc_chmod(&c, hl, 0777), "SETATTR of that hard link");
	PROTECTED(fc_named(&c, FUSE_UNLINK, FUSE_ROOT_ID, NULL, 0, "link-to-hook"),
		  "UNLINK of that hard link (it is the hook: a name for it stays)");
	/* a second name for the hooks directory itself: the node id's record moves there */
	snprintf(p, sizeof(p), "%s/.git/hooks", proj);
	snprintf(q, sizeof(q), "%s/other/alias", proj);
	if (mkdir(q, 0755) == 0 && mount(p, q, NULL, MS_BIND, NULL) == 0) {
		uint64_t alias = walk(&c, "other/alias");

		ok(alias == hooks, "a bind mount of hooks at other/alias is the same node (%llu)",
		   (unsigned long long)alias);
		PROTECTED(fc_create(&c, alias, "post-merge", O_WRONLY, S_IFREG | 0755, &id, &fh),
			  "CREATE other/alias/post-merge (the hooks directory by another name)");
		PROTECTED(fc_named(&c, FUSE_UNLINK, alias, NULL, 0, "pre-commit"),
			  "UNLINK other/alias/pre-commit");
		PROTECTED(fc_chmod(&c, walk(&c, "other/alias/pre-commit"), 0777),
			  "SETATTR other/alias/pre-commit");
		umount2(q, MNT_DETACH);
		walk(&c, ".git/hooks"); /* back to its own name */
	} else {
		tap_skip("cannot bind-mount here (not root?): no alias by mount checked");
		tap_skip("no bind mount");
		tap_skip("no bind mount");
		tap_skip("no bind mount");
	}
	/* what stays free */
	is_int(fc_create(&c, git, "config.lock", O_WRONLY, S_IFREG | 0644, &id, &fh), 0,
	       "CREATE .git/config.lock (a sibling) works");
	is_int(fc_write(&c, id, fh, 0, "[core]\n\tfsmonitor = evil\n"), 25, "and WRITE to it");
	fc_release(&c, id, fh, false);
	PROTECTED(fc_rename(&c, git, "config.lock", git, "config", 0),
		  "but RENAME of it over .git/config (git config's way) is EROFS");
	id = walk(&c, ".git/HEAD");
	is_int(fc_open(&c, FUSE_OPEN, id, O_WRONLY, &fh), 0, ".git/HEAD opens for writing");
	fc_release(&c, id, fh, false);
	is_int(fc_create(&c, other, "new", O_WRONLY, S_IFREG | 0644, &id, &fh), 0,
	       "CREATE elsewhere works");
	fc_release(&c, id, fh, false);
	is_int(fc_rename(&c, other, "new", other, "new2", 0), 0, "RENAME elsewhere works");
	is_int(fc_chmod(&c, git, 0700), 0, "SETATTR of .git itself (an ancestor directory) works");
#undef PROTECTED
	done(&c);
	fflush(stderr);
	dup2(saved_err, 2);
	close(saved_err);
	ok(!strcmp(slurp(proj, ".git/config"), "[core]\n\tbare = false\n") &&
	       !strcmp(slurp(proj, ".git/hooks/pre-commit"), "#!/bin/sh\nexit 0\n"),
	   "on the host the config and the hook are unchanged");
	ok(!there(proj, ".git/hooks/post-checkout") && !there(proj, ".git2") &&
	       !there(proj, "other/copy") && there(proj, ".git/config.lock"),
	   "and nothing was made or moved in the protected places");
	{
		int lines = count_lines(log, "protected path");

		ok(lines >= 1 && lines < refusals, "%d refusals logged in %d line(s)", refusals,
		   lines);
	}
	snprintf(p, sizeof(p), "rm -rf '%s'", proj);
	if (system(p))
		abort();
}

/* 2. --protect paths that do not exist yet, and bad --protect paths. */
static void test_protect_absent(void)
{
	static const char *const bad[] = { "../x", "/etc", "", "a/../b", "." };
	struct fsd_options o;
	struct fsd *fsd;
	struct fc c;
	char proj[400];
	uint64_t git, id, fh;

	snprintf(proj, sizeof(proj), "%s/fresh", tree);
	mkdir(proj, 0755);
	options(&o);
	o.protect = git_protect;
	o.nprotect = 2;
	serve_dir(&c, proj, &o);
	is_int(fc_create(&c, FUSE_ROOT_ID, ".git", O_WRONLY, S_IFREG | 0644, &id, &fh), -EROFS,
	       "no .git yet: CREATE of a .git file (a gitfile would redirect git) is EROFS");
	is_int(fc_symlink(&c, FUSE_ROOT_ID, ".git", "elsewhere"), -EROFS, "SYMLINK .git is EROFS");
	is_int(fc_mkdir(&c, FUSE_ROOT_ID, ".git"), 0, "MKDIR .git works");
	git = walk(&c, ".git");
	is_int(fc_mkdir(&c, git, "hooks"), -EROFS, "MKDIR .git/hooks (not there yet) is EROFS");
	is_int(fc_symlink(&c, git, "hooks", "../myhooks"), -EROFS, "SYMLINK .git/hooks is EROFS");
	is_int(fc_create(&c, git, "config", O_WRONLY, S_IFREG | 0644, &id, &fh), -EROFS,
	       "CREATE .git/config (not there yet) is EROFS");
	is_int(fc_mkdir(&c, git, "refs"), 0, "MKDIR .git/refs works");
	ok(!there(proj, ".git/hooks") && !there(proj, ".git/config"), "nothing made on the host");
	done(&c);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		options(&o);
		o.protect = &bad[i];
		o.nprotect = 1;
		is_int(fsd_new(proj, &o, &fsd), -EINVAL, "--protect '%s' is refused", bad[i]);
	}
}

static int fc_truncate(struct fc *c, uint64_t id, uint64_t size)
{
	uint8_t a[88] = { 0 };

	lbx_put_u32le(a, FATTR_SIZE);
	lbx_put_u64le(a + 16, size);
	return fc_call(c, FUSE_SETATTR, id, a, sizeof(a));
}

static int fc_fallocate(struct fc *c, uint64_t id, uint64_t fh, uint64_t off, uint64_t len,
			uint32_t mode)
{
	uint8_t a[32] = { 0 };

	lbx_put_u64le(a, fh);
	lbx_put_u64le(a + 8, off);
	lbx_put_u64le(a + 16, len);
	lbx_put_u32le(a + 24, mode);
	return fc_call(c, FUSE_FALLOCATE, id, a, sizeof(a));
}

static int fc_copy(struct fc *c, uint64_t in_id, uint64_t fh_in, uint64_t out_id, uint64_t fh_out,
		   uint64_t len)
{
	uint8_t a[56] = { 0 };

	lbx_put_u64le(a, fh_in);
	lbx_put_u64le(a + 16, out_id);
	lbx_put_u64le(a + 24, fh_out);
	lbx_put_u64le(a + 40, len);
	return fc_call(c, FUSE_COPY_FILE_RANGE, in_id, a, sizeof(a));
}

/* STATFS: total and available bytes (blocks and bavail times frsize). */
static int fc_statfs(struct fc *c, uint64_t *total, uint64_t *avail)
{
	uint64_t blocks, bfree, bavail;
	uint32_t frsize;
	int err = fc_call(c, FUSE_STATFS, FUSE_ROOT_ID, NULL, 0);

	if (err)
		return err;
	if (lbx_read_u64le(&c->body, &blocks) || lbx_read_u64le(&c->body, &bfree) ||
	    lbx_read_u64le(&c->body, &bavail) || lbx_read_skip(&c->body, 24) ||
	    lbx_read_u32le(&c->body, &frsize))
		return -EPROTO;
	*total = blocks * frsize;
	*avail = bavail * frsize;
	return 0;
}

#define B 4096u /* the tests below assume 4 KiB blocks, and check that the tree has them */

static char *filled(size_t n)
{
	static char buf[4 * B + 1];

	memset(buf, 'q', n);
	buf[n] = 0;
	return buf;
}

/* STATFS shows total and avail bytes as these (in blocks of B)? */
static bool statfs_is(struct fc *c, uint64_t total_b, uint64_t avail_b)
{
	uint64_t total, avail;

	if (fc_statfs(c, &total, &avail))
		return false;
	if (total != total_b * B || avail != avail_b * B)
		printf("#   STATFS: %llu total, %llu available; want %llu, %llu\n",
		       (unsigned long long)total, (unsigned long long)avail,
		       (unsigned long long)(total_b * B), (unsigned long long)(avail_b * B));
	return total == total_b * B && avail == avail_b * B;
}

/* 3. --quota-bytes: growth past it is ENOSPC; STATFS shows it. */
static void test_quota(void)
{
	struct fsd_options o;
	struct statvfs vfs;
	struct fc c;
	char dir[400], p[600], q[600];
	uint64_t big, bigfh, a, afh;
	struct stat st;

	snprintf(dir, sizeof(dir), "%s/quota", tree);
	mkdir(dir, 0755);
	if (statvfs(dir, &vfs) || vfs.f_frsize != B || vfs.f_bavail < 1000) {
		tap_skip("the temp file system has no 4 KiB blocks or no room: no quota test");
		return;
	}
	fc_put_at(dir, "big", "");
	snprintf(p, sizeof(p), "%s/big", dir);
	if (truncate(p, 6 * B)) /* a hole: its apparent size counts */
		abort();
	options(&o);
	o.quota_bytes = 10 * B;
	serve_dir(&c, dir, &o);
	ok(statfs_is(&c, 10, 4), "STATFS: the quota (10 blocks) is the size, 4 are left");
	is_int(fc_create(&c, FUSE_ROOT_ID, "a", O_RDWR, S_IFREG | 0644, &a, &afh), 0, "CREATE a");
	is_int(fc_write(&c, a, afh, 0, filled(3 * B)), 3 * B, "WRITE 3 blocks (9 of 10)");
	is_int(fc_write(&c, a, afh, 3 * B, filled(2 * B)), -ENOSPC,
	       "WRITE 2 more (11) is ENOSPC, whole");
	is_int(fc_write(&c, a, afh, B, filled(B)), B, "WRITE in place (no growth) works");
	is_int(fc_truncate(&c, a, 100 * B), -ENOSPC, "SETATTR growing a to 100 blocks is ENOSPC");
	is_int(fc_fallocate(&c, a, afh, 0, 50 * B, 0), -ENOSPC, "FALLOCATE of 50 blocks is ENOSPC");
	is_int(fc_fallocate(&c, a, afh, 0, 50 * B, 1 /* KEEP_SIZE */), -ENOSPC,
	       "and with KEEP_SIZE too");
	big = walk(&c, "big");
	is_int(fc_open(&c, FUSE_OPEN, big, O_RDONLY, &bigfh), 0, "OPEN big");
	is_int(fc_copy(&c, big, bigfh, a, afh, 6 * B), -ENOSPC,
	       "COPY_FILE_RANGE of 6 blocks over a (3) is ENOSPC");
	is_int(fc_truncate(&c, a, 10), 0, "SETATTR shrinking a to 10 bytes (a block) works");
	ok(statfs_is(&c, 10, 3), "STATFS: 3 blocks left");
	is_int(fc_copy(&c, big, bigfh, a, afh, 2 * B), 0, "COPY_FILE_RANGE of 2 blocks works");
	fc_release(&c, big, bigfh, false);
	is_int(fc_write(&c, a, afh, 2 * B, filled(2 * B)), 2 * B, "and WRITE of 2 more (10)");
	is_int(fc_write(&c, a, afh, 4 * B, "x"), -ENOSPC, "one byte more is ENOSPC");
	ok(statfs_is(&c, 10, 0), "STATFS: nothing left");
	is_int(fc_named(&c, FUSE_UNLINK, FUSE_ROOT_ID, NULL, 0, "big"), 0, "UNLINK big (6 blocks)");
	ok(statfs_is(&c, 10, 6), "STATFS: 6 blocks left");
	is_int(fc_write(&c, a, afh, 4 * B, filled(4 * B)), 4 * B, "WRITE 4 blocks works");
	fc_release(&c, a, afh, false);
	is_int(fc_open(&c, FUSE_OPEN, a, O_WRONLY | O_TRUNC, &afh), 0, "OPEN a O_TRUNC");
	fc_release(&c, a, afh, false);
	ok(statfs_is(&c, 10, 10), "STATFS: all 10 blocks free again");
	is_int(fc_create(&c, FUSE_ROOT_ID, "d", O_RDWR, S_IFREG | 0644, &a, &afh), 0, "CREATE d");
	is_int(fc_write(&c, a, afh, 0, filled(4 * B)), 4 * B, "WRITE 4 blocks to d");
	fc_release(&c, a, afh, false);
	is_int(fc_rename(&c, FUSE_ROOT_ID, "a", FUSE_ROOT_ID, "d", 0), 0, "RENAME a over d");
	ok(statfs_is(&c, 10, 10), "STATFS: d's 4 blocks are free again");
	done(&c);
	snprintf(p, sizeof(p), "%s/d", dir);
	ok(stat(p, &st) == 0 && st.st_size == 0, "the host file is empty");
	/* A new server counts what is there: 7 blocks, two names of one file among them. */
	fc_put_at(dir, "b", filled(4 * B));
	snprintf(p, sizeof(p), "%s/b", dir);
	snprintf(q, sizeof(q), "%s/b2", dir);
	if (link(p, q))
		abort();
	fc_put_at(dir, "c", filled(3 * B));
	serve_dir(&c, dir, &o);
	ok(statfs_is(&c, 10, 3), "a new server counts 7 blocks used, the hard-linked file once");
	a = walk(&c, "b");
	is_int(fc_open(&c, FUSE_OPEN, a, O_WRONLY, &afh), 0, "OPEN b");
	is_int(fc_write(&c, a, afh, 4 * B, filled(3 * B + 1)), -ENOSPC,
	       "3 blocks and a byte more are ENOSPC");
	is_int(fc_write(&c, a, afh, 4 * B, filled(3 * B)), 3 * B, "3 blocks are not");
	fc_release(&c, a, afh, false);
	is_int(fc_named(&c, FUSE_UNLINK, FUSE_ROOT_ID, NULL, 0, "b2"), 0,
	       "UNLINK b2 (not the last link)");
	ok(statfs_is(&c, 10, 0), "frees nothing");
	is_int(fc_named(&c, FUSE_UNLINK, FUSE_ROOT_ID, NULL, 0, "b"), 0, "UNLINK b (the last)");
	ok(statfs_is(&c, 10, 7), "frees its 7 blocks");
	done(&c);
}

int main(int argc, char **argv)
{
	if (argc > 1)
		max_inode_fds = (uint32_t)strtoul(argv[1], NULL, 10);
	signal(SIGALRM, on_alarm);
	fc_make_dirs("lbx-fsd-secure", root, tree, outside);
	test_special_files();
	test_overlay_xattrs();
	test_mknod_devices();
	test_protect_repo();
	test_protect_absent();
	test_quota();
	nftw(root, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	return tap_done();
}
