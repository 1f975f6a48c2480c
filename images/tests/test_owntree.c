/* SPDX-License-Identifier: MIT */
/*
 * The image-to-root-tree conversion (images/owntree.h): owners and modes
 * move into user.containers.override_stat, the host user owns every
 * object, special files become stand-ins. As root the tree gets the
 * owners an image has (root, a daemon user, set-id bits, a device node);
 * as anyone else only what that user can create.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "owntree.h"
#include "tap.h"

static char root[64];

static void path_of(const char *rel, char *buf, size_t sz)
{
	snprintf(buf, sz, "%s/%s", root, rel);
}

static void make_file(const char *rel, mode_t mode, uid_t uid, gid_t gid)
{
	char p[256];
	int fd;

	path_of(rel, p, sizeof(p));
	fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0 || write(fd, "x\n", 2) != 2) {
		perror(p);
		exit(1);
	}
	close(fd);
	if ((getuid() == 0 && chown(p, uid, gid) < 0) || chmod(p, mode) < 0) {
		perror(p);
		exit(1);
	}
}

static void xattr_is(const char *rel, const char *want, const char *what)
{
	char p[256], v[OWNTREE_VALUE_MAX + 1];
	ssize_t n;

	path_of(rel, p, sizeof(p));
	n = lgetxattr(p, OWNTREE_XATTR, v, sizeof(v) - 1);
	v[n > 0 ? n : 0] = '\0';
	if (!ok(n > 0 && !strcmp(v, want), "%s: %s", what, want))
		printf("#   got '%s' (%s)\n", v, n < 0 ? strerror(errno) : "");
}

static struct stat lstat_of(const char *rel)
{
	struct stat st;
	char p[256];

	path_of(rel, p, sizeof(p));
	memset(&st, 0, sizeof(st));
	lstat(p, &st);
	return st;
}

static void test_values(void)
{
	struct stat st = { .st_uid = 0, .st_gid = 42, .st_mode = S_IFREG | 04755 };
	char v[OWNTREE_VALUE_MAX];

	owntree_value(&st, v, sizeof(v));
	ok(!strcmp(v, "0:42:04755"), "a set-uid file: %s", v);
	st = (struct stat){
		.st_uid = 1, .st_gid = 2, .st_mode = S_IFCHR | 0666, .st_rdev = makedev(1, 3)
	};
	owntree_value(&st, v, sizeof(v));
	ok(!strcmp(v, "1:2:0666:char-1-3"), "a character device: %s", v);
	st = (struct stat){ .st_uid = 4294967294u,
			    .st_gid = 4294967294u,
			    .st_mode = S_IFBLK | 07777,
			    .st_rdev = makedev(4095, 1048575) };
	is_int(owntree_value(&st, v, sizeof(v)) > 0, 1, "the longest value fits: %s", v);
	st = (struct stat){ .st_mode = S_IFIFO | 0600 };
	owntree_value(&st, v, sizeof(v));
	ok(!strcmp(v, "0:0:0600:pipe"), "a fifo: %s", v);
	is_int(owntree_value(&st, v, 8), -ENOSPC, "a short buffer is refused");
	is_int(owntree_disk_mode(S_IFDIR | 01777), 0777,
	       "a sticky world-writable dir: 0777 on disk");
	is_int(owntree_disk_mode(S_IFDIR | 0555), 0755, "a read-only dir gets u+rwx on disk");
	is_int(owntree_disk_mode(S_IFREG | 04711), 0711, "set-uid is not kept on disk");
	is_int(owntree_disk_mode(S_IFREG | 0400), 0600, "a read-only file gets u+w on disk");
}

/* The directory records of symlinks and fifos that are not root's (override_stat.h). */
static void names_are(bool as_root)
{
	struct lbx_override ov;
	char p[256], val[4096];
	ssize_t n;

	if (!as_root) {
		tap_skip("names records: every object is the user's (not root)");
		return;
	}
	path_of("etc", p, sizeof(p));
	n = lgetxattr(p, LBX_OVERRIDE_NAMES_XATTR, val, sizeof(val));
	ok(n > 0 && lbx_override_names_find(val, (size_t)n, "daemon-link", &ov) == 0 &&
	       ov.uid == 1 && ov.gid == 2,
	   "a symlink not root's keeps its owner in its directory's record");
	ok(n > 0 && lbx_override_names_find(val, (size_t)n, "motd", &ov) == -ENOENT,
	   "a root-owned symlink needs no record");
	path_of("", p, sizeof(p));
	n = lgetxattr(p, LBX_OVERRIDE_NAMES_XATTR, val, sizeof(val));
	ok(n > 0 && lbx_override_names_find(val, (size_t)n, "daemon-fifo", &ov) == 0 &&
	       ov.uid == 1 && ov.gid == 1 && ov.mode == 02640,
	   "a fifo's owner and set-gid bit are in its directory's record");
}

static void test_tree(void)
{
	bool as_root = getuid() == 0;
	uid_t me = as_root ? 4242 : getuid();
	gid_t mygid = as_root ? 4343 : getgid();
	struct owntree_stats stats;
	char p[256], q[256], err[512];
	struct stat st;

	snprintf(root, sizeof(root), "/tmp/lbx-owntree-XXXXXX");
	if (!mkdtemp(root)) {
		perror("mkdtemp");
		exit(1);
	}
	path_of("etc", p, sizeof(p));
	mkdir(p, 0755);
	path_of("tmp", p, sizeof(p));
	mkdir(p, 01777);
	chmod(p, 01777);
	path_of("ro", p, sizeof(p));
	mkdir(p, 0755);
	make_file("ro/file", 0444, 0, 0);
	chmod(p, 0555);
	make_file("etc/passwd", 0644, 0, 0);
	make_file("etc/shadow", 0640, 0, 42);
	make_file("su", 04755, 0, 0);
	path_of("etc/passwd", p, sizeof(p));
	path_of("etc/passwd-link", q, sizeof(q));
	link(p, q);
	path_of("etc/motd", q, sizeof(q));
	symlink("passwd", q);
	path_of("fifo", p, sizeof(p));
	mkfifo(p, 0620);
	chmod(p, 0620);
	if (as_root) {
		path_of("etc/daemon-link", q, sizeof(q));
		symlink("passwd", q);
		lchown(q, 1, 2);
		path_of("daemon-fifo", p, sizeof(p));
		mkfifo(p, 0600);
		chown(p, 1, 1);
		chmod(p, 02640);
	}
	if (as_root) {
		make_file("daemon-file", 0600, 1, 1);
		path_of("null", p, sizeof(p));
		mknod(p, S_IFCHR | 0666, makedev(1, 3));
		chmod(p, 0666);
	}

	is_int(owntree_convert(root, me, mygid, &stats, err, sizeof(err)), 0, "convert the tree %s",
	       err);
	ok(stats.files >= 5 && stats.dirs == 4 && stats.links == (as_root ? 2u : 1u) &&
	       stats.specials == (as_root ? 3u : 1u),
	   "counted %lu files, %lu dirs, %lu links, %lu specials", stats.files, stats.dirs,
	   stats.links, stats.specials);
	if (as_root) {
		xattr_is("etc/passwd", "0:0:0644", "/etc/passwd is root's in the guest");
		xattr_is("etc/shadow", "0:42:0640", "/etc/shadow keeps its group");
		xattr_is("su", "0:0:04755", "set-uid is kept in the xattr");
		xattr_is("daemon-file", "1:1:0600", "a daemon's file keeps its owner");
		xattr_is("null", "0:0:0666:char-1-3", "a device node is described");
		st = lstat_of("null");
		ok(S_ISREG(st.st_mode) && st.st_size == 0 && (st.st_mode & 07777) == 0600,
		   "and stands in as an empty 0600 regular file");
	} else {
		char want[64];

		snprintf(want, sizeof(want), "%u:%u:0644", (unsigned)getuid(), (unsigned)getgid());
		xattr_is("etc/passwd", want, "a file's owner and mode are recorded");
		snprintf(want, sizeof(want), "%u:%u:04755", (unsigned)getuid(), (unsigned)getgid());
		xattr_is("su", want, "set-uid is kept in the xattr");
		tap_skip("device nodes, other owners: not root");
	}
	{
		char want[64];

		snprintf(want, sizeof(want), "%u:%u:0644", as_root ? 0u : (unsigned)getuid(),
			 as_root ? 0u : (unsigned)getgid());
		xattr_is("etc/passwd-link", want, "a hard link is converted once, and shares it");
	}
	st = lstat_of("etc/passwd");
	ok(st.st_uid == me && st.st_gid == mygid, "the host user owns /etc/passwd on disk");
	st = lstat_of("su");
	is_int(st.st_mode & 07777, 0755, "no set-uid bit on disk");
	st = lstat_of("tmp");
	is_int(st.st_mode & 07777, 0777, "no sticky bit on disk");
	{
		char want[64];

		snprintf(want, sizeof(want), "%u:%u:01777", as_root ? 0u : (unsigned)getuid(),
			 as_root ? 0u : (unsigned)getgid());
		xattr_is("tmp", want, "the sticky bit is in the xattr");
	}
	names_are(as_root);
	st = lstat_of("ro");
	is_int(st.st_mode & 0700, 0700, "a read-only dir is the host user's to write");
	st = lstat_of("etc/motd");
	ok(S_ISLNK(st.st_mode) && st.st_uid == me, "a symlink stays a symlink, chowned");
	st = lstat_of("fifo");
	ok(S_ISFIFO(st.st_mode) && (st.st_mode & 07777) == 0620 && st.st_uid == me,
	   "a fifo stays a fifo, the host user's, with its mode on disk");

	snprintf(p, sizeof(p), "rm -rf '%s'", root);
	if (system(p) != 0)
		printf("# cannot remove %s\n", root);
}

static void test_missing(void)
{
	char err[512];

	ok(owntree_convert("/nonexistent-lbx-tree", 0, 0, NULL, err, sizeof(err)) < 0 &&
	       strstr(err, "/nonexistent-lbx-tree"),
	   "a missing tree is an error naming it: %s", err);
}

int main(void)
{
	test_values();
	test_tree();
	test_missing();
	return tap_done();
}
