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
#include <sys/stat.h>
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

static struct fsd *serve(struct fc *c, const struct fsd_options *o)
{
	struct fsd *fsd;

	if (fsd_new(tree, o, &fsd))
		abort();
	fc_init(c, fsd);
	if (fc_init_session(c))
		abort();
	return fsd;
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
	uint8_t a[40 + 4096] = { 0 };
	size_t n = strlen(text);
	uint32_t got;
	int err;

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
					     "user.fuseoverlayfs.opaque" };
	struct fsd_options o;
	struct fc c;
	uint64_t id;
	char p[512], list[1024];
	int n;

	fc_put_at(tree, "xa", "x");
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
	n = fc_listxattr(&c, id, list, sizeof(list));
	ok(n > 0 && listed(list, n, "user.mine") && !listed(list, n, "user.overlay.opaque") &&
	       !listed(list, n, "user.fuseoverlayfs.opaque"),
	   "LISTXATTR shows user.mine and neither overlay name");
	is_int(fc_setxattr(&c, id, "user.overlayish", "1"), 0,
	       "user.overlayish is an ordinary name");
	ok(getxattr(p, "user.overlay.opaque", list, sizeof(list)) == 1 && list[0] == 'y' &&
	       getxattr(p, "user.overlay.redirect", NULL, 0) < 0,
	   "the host file's overlay xattrs are unchanged");
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

int main(int argc, char **argv)
{
	if (argc > 1)
		max_inode_fds = (uint32_t)strtoul(argv[1], NULL, 10);
	signal(SIGALRM, on_alarm);
	fc_make_dirs("lbx-fsd-secure", root, tree, outside);
	test_special_files();
	test_overlay_xattrs();
	test_mknod_devices();
	nftw(root, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	return tap_done();
}
