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

int main(int argc, char **argv)
{
	if (argc > 1)
		max_inode_fds = (uint32_t)strtoul(argv[1], NULL, 10);
	signal(SIGALRM, on_alarm);
	fc_make_dirs("lbx-fsd-secure", root, tree, outside);
	test_special_files();
	nftw(root, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	return tap_done();
}
