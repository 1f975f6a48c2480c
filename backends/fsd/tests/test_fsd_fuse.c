/* SPDX-License-Identifier: MIT */
/*
 * Conformance through a real mount: lbx-fsd serves a temporary tree over
 * /dev/fuse and ordinary system calls on the mount are checked against
 * what the host sees in the tree. Needs root and /dev/fuse, else skips
 * with the reason; once the machine can mount FUSE, lbx-fsd failing to
 * start or mount is a failure.
 *
 *   test-fsd-fuse LBX_FSD
 */
#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <linux/falloc.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>

#include "../../../tests/unit/tap.h"
#include "fuse_mount.h"

static char base[256], src[300], mnt[300];

static void path2(char *out, const char *dir, const char *name)
{
	if (snprintf(out, 600, "%s/%s", dir, name) >= 600)
		abort();
}

static int put(const char *dir, const char *name, const char *text)
{
	char p[600];
	int fd, r;

	path2(p, dir, name);
	fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0)
		return -1;
	r = write(fd, text, strlen(text)) == (ssize_t)strlen(text) ? 0 : -1;
	close(fd);
	return r;
}

static char *get(const char *dir, const char *name)
{
	static char buf[8192];
	char p[600];
	ssize_t n;
	int fd;

	path2(p, dir, name);
	fd = open(p, O_RDONLY);
	if (fd < 0)
		return "<missing>";
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	buf[n > 0 ? n : 0] = 0;
	return buf;
}

static bool same_stat(const char *name)
{
	char a[600], b[600];
	struct stat x, y;

	path2(a, mnt, name);
	path2(b, src, name);
	if (lstat(a, &x) || lstat(b, &y))
		return false;
	return x.st_ino == y.st_ino && x.st_mode == y.st_mode && x.st_nlink == y.st_nlink &&
	       x.st_uid == y.st_uid && x.st_gid == y.st_gid && x.st_size == y.st_size &&
	       x.st_mtim.tv_sec == y.st_mtim.tv_sec && x.st_mtim.tv_nsec == y.st_mtim.tv_nsec;
}

static void test_files(void)
{
	char p[600], q[600];
	struct stat st;
	int fd;

	ok(put(mnt, "a.txt", "hello world") == 0, "create and write through the mount");
	ok(!strcmp(get(src, "a.txt"), "hello world"), "the host sees the content");
	ok(put(src, "host.txt", "from host") == 0 && !strcmp(get(mnt, "host.txt"), "from host"),
	   "a host-made file reads through the mount");
	ok(same_stat("a.txt"), "metadata through the mount equals the host's");
	path2(p, mnt, "a.txt");
	ok(truncate(p, 5) == 0 && !strcmp(get(src, "a.txt"), "hello"), "truncate");
	ok(chmod(p, 0600) == 0 && same_stat("a.txt"), "chmod shows on both sides");
	ok(chown(p, 1000, 1000) == 0 && same_stat("a.txt"), "chown (identity mapping)");
	{
		struct timespec ts[2] = { { 1000000, 5 }, { 2000000, 7 } };

		ok(utimensat(AT_FDCWD, p, ts, 0) == 0 && stat(p, &st) == 0 &&
			   st.st_mtim.tv_sec == 2000000 && st.st_mtim.tv_nsec == 7 && same_stat("a.txt"),
		   "utimensat with nanoseconds");
	}
	fd = open(p, O_WRONLY | O_APPEND);
	ok(fd >= 0 && write(fd, "+1", 2) == 2 && close(fd) == 0, "O_APPEND write");
	fd = open(p, O_WRONLY | O_APPEND);
	ok(fd >= 0 && lseek(fd, 0, SEEK_SET) == 0 && write(fd, "+2", 2) == 2 && close(fd) == 0,
	   "O_APPEND write after seeking to 0");
	ok(!strcmp(get(src, "a.txt"), "hello+1+2"), "both appended at the end");
	path2(q, mnt, "new.txt");
	fd = open(q, O_CREAT | O_EXCL | O_WRONLY, 0640);
	ok(fd >= 0 && close(fd) == 0, "O_CREAT|O_EXCL");
	ok(open(q, O_CREAT | O_EXCL | O_WRONLY, 0640) < 0 && errno == EEXIST, "again: EEXIST");
	ok(unlink(q) == 0 && access(q, F_OK) < 0, "unlink");
	path2(q, src, "new.txt");
	ok(access(q, F_OK) < 0, "gone on the host");
}

static void test_rename(void)
{
	char a[600], b[600];

	put(mnt, "r1", "one");
	put(mnt, "r2", "two");
	path2(a, mnt, "r1");
	path2(b, mnt, "r2");
	ok(renameat2(AT_FDCWD, a, AT_FDCWD, b, RENAME_NOREPLACE) < 0 && errno == EEXIST,
	   "RENAME_NOREPLACE onto an existing name: EEXIST");
	ok(renameat2(AT_FDCWD, a, AT_FDCWD, b, RENAME_EXCHANGE) == 0, "RENAME_EXCHANGE");
	ok(!strcmp(get(src, "r1"), "two") && !strcmp(get(src, "r2"), "one"),
	   "the host sees the two swapped");
	ok(rename(a, b) == 0 && access(a, F_OK) < 0 && !strcmp(get(src, "r2"), "two"),
	   "rename over an existing file");
	path2(a, mnt, "dir1");
	path2(b, mnt, "dir2");
	ok(mkdir(a, 0755) == 0 && put(a, "inner", "x") == 0 && rename(a, b) == 0 &&
		   !strcmp(get(b, "inner"), "x"),
	   "rename a directory with content");
	path2(a, b, "inner");
	ok(unlink(a) == 0 && rmdir(b) == 0, "unlink and rmdir");
}

static void test_links(void)
{
	char a[600], b[600], t[100];
	struct stat x, y;
	ssize_t n;

	put(mnt, "orig", "linked");
	path2(a, mnt, "orig");
	path2(b, mnt, "hard");
	ok(link(a, b) == 0, "hard link");
	ok(stat(a, &x) == 0 && stat(b, &y) == 0 && x.st_ino == y.st_ino && y.st_nlink == 2,
	   "both names are one inode, nlink 2");
	ok(same_stat("hard"), "and match the host");
	path2(b, mnt, "sym");
	ok(symlink("orig", b) == 0, "symlink");
	n = readlink(b, t, sizeof(t));
	ok(n == 4 && !memcmp(t, "orig", 4), "readlink");
	ok(lstat(b, &x) == 0 && S_ISLNK(x.st_mode) && same_stat("sym"), "lstat: a symlink, as on the host");
	ok(!strcmp(get(mnt, "sym"), "linked"), "the kernel follows it inside the mount");
	path2(b, mnt, "escape");
	ok(symlink("../../../../../../etc/hostname", b) == 0, "a symlink pointing out of the tree");
	path2(a, src, "escape");
	n = readlink(a, t, sizeof(t) - 1);
	ok(n > 0, "is stored on the host as text");
}

static void test_fifo(void)
{
	char p[600];
	struct stat st;
	int r, w;

	path2(p, mnt, "fifo");
	ok(mkfifo(p, 0644) == 0, "mkfifo");
	path2(p, src, "fifo");
	ok(lstat(p, &st) == 0 && S_ISFIFO(st.st_mode), "the host has a FIFO");
	path2(p, mnt, "fifo");
	r = open(p, O_RDONLY | O_NONBLOCK);
	w = open(p, O_WRONLY | O_NONBLOCK);
	ok(r >= 0 && w >= 0 && write(w, "p", 1) == 1, "the FIFO carries data through the mount");
	close(r);
	close(w);
}

static void test_xattrs(void)
{
	char p[600], v[64], list[256];
	ssize_t n;

	put(mnt, "x", "x");
	path2(p, mnt, "x");
	ok(setxattr(p, "user.color", "blue", 4, 0) == 0, "setxattr user.color");
	n = getxattr(p, "user.color", v, sizeof(v));
	ok(n == 4 && !memcmp(v, "blue", 4), "getxattr through the mount");
	path2(p, src, "x");
	n = getxattr(p, "user.color", v, sizeof(v));
	ok(n == 4 && !memcmp(v, "blue", 4), "the host has it");
	path2(p, mnt, "x");
	n = listxattr(p, list, sizeof(list));
	ok(n == 11 && !strcmp(list, "user.color"), "listxattr");
	ok(setxattr(p, "user.color", "red", 3, XATTR_CREATE) < 0 && errno == EEXIST,
	   "XATTR_CREATE on an existing one: EEXIST");
	ok(removexattr(p, "user.color") == 0 && getxattr(p, "user.color", v, sizeof(v)) < 0 &&
		   errno == ENODATA,
	   "removexattr");
	ok(setxattr(p, "trusted.x", "1", 1, 0) < 0, "trusted.* refused");
}

static void test_locks(void)
{
	struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 10 };
	char p[600];
	int pipefd[2], fd;
	pid_t child;
	char c;

	put(mnt, "lock", "0123456789");
	path2(p, mnt, "lock");
	if (pipe(pipefd))
		abort();
	child = fork();
	if (child == 0) {
		int cfd = open(p, O_RDWR);

		if (cfd < 0 || fcntl(cfd, F_SETLK, &fl) < 0)
			_exit(1);
		if (write(pipefd[1], "L", 1) != 1)
			_exit(1);
		pause();
		_exit(0);
	}
	ok(read(pipefd[0], &c, 1) == 1, "child holds a POSIX write lock");
	fd = open(p, O_RDWR);
	ok(fcntl(fd, F_SETLK, &fl) < 0 && (errno == EAGAIN || errno == EACCES),
	   "a conflicting F_SETLK fails");
	fl.l_type = F_WRLCK;
	ok(fcntl(fd, F_GETLK, &fl) == 0 && fl.l_type == F_WRLCK && fl.l_pid == child,
	   "F_GETLK names the holder");
	ok(flock(fd, LOCK_EX | LOCK_NB) == 0, "flock is separate and works");
	kill(child, SIGKILL);
	waitpid(child, NULL, 0);
	fl.l_type = F_WRLCK;
	ok(fcntl(fd, F_SETLK, &fl) == 0, "after the holder died the lock is free");
	close(fd);
	close(pipefd[0]);
	close(pipefd[1]);
}

static void test_mmap(void)
{
	char p[600];
	char *m;
	int fd;

	put(mnt, "map", "aaaaaaaaaaaaaaaa");
	path2(p, mnt, "map");
	fd = open(p, O_RDWR);
	m = mmap(NULL, 16, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	ok(m != MAP_FAILED && m[0] == 'a', "mmap read");
	if (m != MAP_FAILED) {
		memcpy(m + 4, "WXYZ", 4);
		ok(msync(m, 16, MS_SYNC) == 0, "mmap write + msync");
		munmap(m, 16);
	}
	close(fd);
	ok(!strcmp(get(src, "map"), "aaaaWXYZaaaaaaaa"), "the host sees the mmap write");
}

static void test_sparse(void)
{
	char p[600], buf[4096];
	struct stat st;
	int fd;
	off_t d, h;

	path2(p, mnt, "sparse");
	fd = open(p, O_RDWR | O_CREAT, 0644);
	ok(fd >= 0 && pwrite(fd, "end", 3, 1 << 20) == 3, "write at 1 MiB into an empty file");
	d = lseek(fd, 0, SEEK_DATA);
	h = lseek(fd, 0, SEEK_HOLE);
	ok(d == 1 << 20 && h == 0, "SEEK_DATA finds the data at 1 MiB (%lld), SEEK_HOLE at 0 (%lld)",
	   (long long)d, (long long)h);
	ok(fstat(fd, &st) == 0 && st.st_size == (1 << 20) + 3 && st.st_blocks < 64,
	   "size 1 MiB + 3, few blocks (%lld)", (long long)st.st_blocks);
	ok(fallocate(fd, 0, 0, 1 << 16) == 0 && fstat(fd, &st) == 0 && st.st_blocks >= 128,
	   "fallocate allocates (%lld blocks)", (long long)st.st_blocks);
	ok(pwrite(fd, "XXXX", 4, 100) == 4 &&
		   fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0, 4096) == 0 &&
		   pread(fd, buf, 4096, 0) == 4096 && buf[100] == 0 && buf[103] == 0,
	   "punching a hole reads back zeros");
	ok(fallocate(fd, FALLOC_FL_COLLAPSE_RANGE, 0, 4096) < 0, "COLLAPSE_RANGE is refused");
	close(fd);
}

static void test_copy_range(void)
{
	char a[600], b[600];
	int in, out;
	loff_t oi = 0, oo = 0;

	put(mnt, "cfr-src", "copy this text");
	path2(a, mnt, "cfr-src");
	path2(b, mnt, "cfr-dst");
	in = open(a, O_RDONLY);
	out = open(b, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	ok(copy_file_range(in, &oi, out, &oo, 14, 0) == 14, "copy_file_range");
	close(in);
	close(out);
	ok(!strcmp(get(src, "cfr-dst"), "copy this text"), "the host has the copy");
}

static int count_dir(const char *dir, const char *prefix, unsigned char *seen, unsigned n)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int total = 0, dup = 0;

	if (!d)
		return -1;
	while ((e = readdir(d))) {
		unsigned i;

		total++;
		if (seen && sscanf(e->d_name, "f-%u", &i) == 1 && i < n && seen[i]++)
			dup++;
	}
	closedir(d);
	(void)prefix;
	return dup ? -dup : total;
}

static atomic_bool churn_stop;

static void *churn(void *arg)
{
	char p[600], name[64];
	unsigned i = 0;

	while (!atomic_load(&churn_stop)) {
		snprintf(name, sizeof(name), "big/tmp-%u", i % 200);
		path2(p, mnt, name);
		if (i / 200 % 2 == 0)
			close(open(p, O_CREAT | O_WRONLY, 0644));
		else
			unlink(p);
		i++;
	}
	return NULL;
}

static void test_bigdir(void)
{
	enum { N = 3000 };
	static unsigned char seen[N];
	char p[600], name[64];
	pthread_t t;
	bool all = true;
	int total;

	path2(p, mnt, "big");
	mkdir(p, 0755);
	for (unsigned i = 0; i < N; i++) {
		snprintf(name, sizeof(name), "big/f-%u", i);
		if (put(mnt, name, "") < 0)
			all = false;
	}
	ok(all, "%d files created in one directory", N);
	memset(seen, 0, sizeof(seen));
	total = count_dir(p, "f-", seen, N);
	ok(total == N + 2, "readdir lists all of them once, plus . and .. (%d)", total);
	path2(p, src, "big");
	ok(count_dir(p, NULL, NULL, 0) == N + 2, "as does the host");
	atomic_store(&churn_stop, false);
	pthread_create(&t, NULL, churn, NULL);
	path2(p, mnt, "big");
	for (int round = 0; round < 10; round++) {
		memset(seen, 0, sizeof(seen));
		total = count_dir(p, "f-", seen, N);
		for (unsigned i = 0; i < N && total >= 0; i++)
			if (seen[i] != 1)
				total = -1;
		if (total < 0)
			break;
	}
	atomic_store(&churn_stop, true);
	pthread_join(t, NULL);
	ok(total >= 0, "with files coming and going, every stable entry is listed exactly once");
}

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(p);
}

static void test_ownership(const char *bin)
{
	char s[600], m[600], p[600], v[64];
	const char *extra[] = { "--ownership", "xattr", "--user", "65534:65534", "--cache-timeout",
				"0", NULL };
	struct stat st;
	struct fm fm;
	bool gone;
	ssize_t n;

	path2(s, base, "own-src");
	path2(m, base, "own-mnt");
	mkdir(s, 0755);
	mkdir(m, 0755);
	if (chown(s, 65534, 65534))
		abort();
	if (!ok(fm_start(&fm, bin, s, m, extra) == 0,
		"lbx-fsd --ownership xattr --user 65534:65534 starts and mounts"))
		return;
	ok(put(m, "f", "data") == 0, "xattr mode as uid 65534: root creates a file");
	path2(p, m, "f");
	ok(stat(p, &st) == 0 && st.st_uid == 0 && st.st_gid == 0, "it shows as root's");
	path2(v, s, "f");
	ok(stat(v, &st) == 0 && st.st_uid == 65534, "the host file belongs to the serving user");
	ok(chown(p, 1234, 5678) == 0 && stat(p, &st) == 0 && st.st_uid == 1234 && st.st_gid == 5678,
	   "chown 1234:5678 in the mount shows 1234:5678");
	ok(stat(v, &st) == 0 && st.st_uid == 65534 && st.st_gid == 65534,
	   "while the host file stays 65534:65534");
	n = getxattr(v, "user.containers.override_stat", p, 63);
	p[n > 0 ? n : 0] = 0;
	ok(!strcmp(p, "1234:5678:0644"), "override_stat on the host: \"%s\"", p);
	path2(p, m, "f");
	ok(chown(p, 0, 0) == 0 && chmod(p, 04755) == 0 && stat(p, &st) == 0 && st.st_uid == 0 &&
		   st.st_mode == (S_IFREG | 04755),
	   "chown back to root and setuid: the mount shows 0 and 4755");
	ok(stat(v, &st) == 0 && !(st.st_mode & S_ISUID), "the host copy has no setuid bit");
	ok(listxattr(p, v, sizeof(v)) == 0, "the ownership xattr is invisible in the mount");
	path2(p, m, "dev");
	ok(mknod(p, S_IFCHR | 0600, makedev(1, 3)) < 0 && errno == EPERM,
	   "mknod of /dev/null's numbers is EPERM (no device stand-in through the server)");
	path2(v, s, "dev");
	ok(lstat(v, &st) < 0, "and nothing is made on the host");
	ok(fm_stop(&fm, &gone) == 0 && gone, "lbx-fsd (xattr) stopped and unmounted");
}

static void test_read_only(const char *bin)
{
	char m[600], p[600];
	const char *extra[] = { "--read-only", NULL };
	struct fm fm;
	bool gone;
	int fd;

	path2(m, base, "ro-mnt");
	mkdir(m, 0755);
	if (!ok(fm_start(&fm, bin, src, m, extra) == 0, "lbx-fsd --read-only starts and mounts"))
		return;
	ok(!strcmp(get(m, "host.txt"), "from host"), "read-only: reading works");
	path2(p, m, "host.txt");
	fd = open(p, O_WRONLY);
	ok(fd < 0 && errno == EROFS, "read-only: open for writing is EROFS");
	path2(p, m, "newdir");
	ok(mkdir(p, 0755) < 0 && errno == EROFS, "read-only: mkdir is EROFS");
	path2(p, m, "host.txt");
	ok(unlink(p) < 0 && errno == EROFS, "read-only: unlink is EROFS");
	ok(setxattr(p, "user.a", "b", 1, 0) < 0 && errno == EROFS, "read-only: setxattr is EROFS");
	ok(fm_stop(&fm, &gone) == 0 && gone, "lbx-fsd (read-only) stopped and unmounted");
}

/* --protect through the mount, with the real git: hooks and config stay the host's. */
static void test_protect(const char *bin)
{
	const char *extra[] = { "--protect",	   ".git/config", "--protect", ".git/hooks",
				"--cache-timeout", "0",		  NULL };
	char s[600], m[600], p[600], cmd[2048];
	struct fm fm;
	bool gone;
	int fd;

	if (system("git --version >/dev/null 2>&1")) {
		tap_skip("git is not installed: no --protect test with git");
		return;
	}
	path2(s, base, "prot-src");
	path2(m, base, "prot-mnt");
	mkdir(m, 0755);
	snprintf(cmd, sizeof(cmd), "git init -q '%s' && mkdir -p '%s/.git/hooks'", s, s);
	if (system(cmd))
		abort();
	if (!ok(fm_start(&fm, bin, s, m, extra) == 0, "lbx-fsd --protect (git) mounts"))
		return;
	path2(p, m, ".git/hooks/pre-commit");
	fd = open(p, O_WRONLY | O_CREAT, 0755);
	ok(fd < 0 && errno == EROFS, "writing .git/hooks/pre-commit in the mount is EROFS");
	if (fd >= 0)
		close(fd);
	snprintf(cmd, sizeof(cmd),
		 "git -C '%s' config core.fsmonitor 'touch /tmp/lbx-pwned' 2>/dev/null", m);
	ok(system(cmd) != 0, "git config core.fsmonitor in the mount fails");
	snprintf(cmd, sizeof(cmd), "git -C '%s' config --get core.fsmonitor >/dev/null", s);
	ok(system(cmd) != 0, "and the host's .git/config has no core.fsmonitor");
	path2(p, m, "README");
	snprintf(cmd, sizeof(cmd),
		 "echo hi > '%s' && git -C '%s' add README && git -C '%s' -c user.name=t "
		 "-c user.email=t@e commit -q -m one && git -C '%s' log --oneline | grep -q one",
		 p, m, m, s);
	ok(system(cmd) == 0, "git add and commit in the mount still work; the host sees it");
	ok(fm_stop(&fm, &gone) == 0 && gone, "lbx-fsd (--protect) stopped and unmounted");
}

/* --quota-bytes through the mount (and the sandbox): ENOSPC past it, df shows it. */
static void test_quota(const char *bin)
{
	const char *extra[] = { "--quota-bytes", "1M", "--cache-timeout", "0", NULL };
	static char buf[256 * 1024];
	char s[600], m[600], p[600];
	struct statvfs v;
	struct fm fm;
	ssize_t n = 0;
	bool gone;
	int fd, i;

	path2(s, base, "quota-src");
	path2(m, base, "quota-mnt");
	mkdir(s, 0755);
	mkdir(m, 0755);
	if (!ok(fm_start(&fm, bin, s, m, extra) == 0, "lbx-fsd --quota-bytes 1M mounts"))
		return;
	ok(statvfs(m, &v) == 0 && (uint64_t)v.f_blocks * v.f_frsize == 1 << 20 &&
	       (uint64_t)v.f_bavail * v.f_frsize == 1 << 20,
	   "statvfs in the mount: 1 MiB in all, 1 MiB free");
	path2(p, m, "fill");
	memset(buf, 'z', sizeof(buf));
	fd = open(p, O_WRONLY | O_CREAT, 0644);
	for (i = 0; fd >= 0 && i < 8 && (n = write(fd, buf, sizeof(buf))) == (ssize_t)sizeof(buf);
	     i++)
		;
	ok(i == 4 && n < 0 && errno == ENOSPC, "4 writes of 256 KiB fit, the 5th is ENOSPC (%d)",
	   i);
	if (fd >= 0)
		close(fd);
	ok(statvfs(m, &v) == 0 && v.f_bavail == 0, "statvfs: nothing free");
	ok(unlink(p) == 0 && statvfs(m, &v) == 0 && (uint64_t)v.f_bavail * v.f_frsize == 1 << 20,
	   "unlink frees it all");
	fd = open(p, O_WRONLY | O_CREAT, 0644);
	ok(fd >= 0 && ftruncate(fd, 2 << 20) < 0 && errno == ENOSPC,
	   "ftruncate to 2 MiB (a sparse file counts its size) is ENOSPC");
	if (fd >= 0)
		close(fd);
	ok(fm_stop(&fm, &gone) == 0 && gone, "lbx-fsd (--quota-bytes) stopped and unmounted");
}

int main(int argc, char **argv)
{
	const char *extra[] = { "--cache-timeout", "0", NULL };
	struct fm fm;
	bool gone;

	const char *why = argc < 2 ? "usage: test-fsd-fuse LBX_FSD" : fm_unusable();

	if (why) {
		printf("1..0 # SKIP %s\n", why);
		return 0;
	}
	snprintf(base, sizeof(base), "/tmp/lbx-fsd-fuse.XXXXXX");
	if (!mkdtemp(base) || chmod(base, 0755))
		abort();
	path2(src, base, "src");
	path2(mnt, base, "mnt");
	mkdir(src, 0755);
	mkdir(mnt, 0755);
	if (!ok(fm_start(&fm, argv[1], src, mnt, extra) == 0, "lbx-fsd starts and mounts")) {
		nftw(base, rm_one, 16, FTW_DEPTH | FTW_PHYS);
		return tap_done();
	}
	test_files();
	test_rename();
	test_links();
	test_fifo();
	test_xattrs();
	test_locks();
	test_mmap();
	test_sparse();
	test_copy_range();
	test_bigdir();
	ok(fm_stop(&fm, &gone) == 0 && gone, "SIGTERM: lbx-fsd unmounts and exits 0");
	test_read_only(argv[1]);
	test_ownership(argv[1]);
	test_protect(argv[1]);
	test_quota(argv[1]);
	nftw(base, rm_one, 64, FTW_DEPTH | FTW_PHYS);
	return tap_done();
}
