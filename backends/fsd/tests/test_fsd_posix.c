/* SPDX-License-Identifier: MIT */
/*
 * POSIX conformance of lbx-fsd, by comparison: one script of system calls
 * (create, link, rename in and out of sticky directories, chmod, chown and
 * utimensat of every file type, set-group-ID directories, permission
 * refusals), run as root and as two other users, once on a native
 * directory and once on an lbx-fsd /dev/fuse mount, in each ownership
 * mode. Every step's result (0 or the errno, then the owner, group, mode,
 * link count of what it touched) must be the same on both, except the
 * documented deviations below (backends/fsd/README.md, "Deviations"),
 * which must give exactly the documented result.
 *
 *   test-fsd-posix LBX_FSD
 *
 * Needs root and /dev/fuse (skips with the reason otherwise); once the
 * machine can mount FUSE, lbx-fsd failing to mount is a failure.
 */
#include <fcntl.h>
#include <ftw.h>
#include <grp.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/un.h>

#include "../../../tests/unit/tap.h"
#include "fuse_mount.h"

/* The users: root, the owner of most objects, and someone else. */
#define U0 0
#define U1 65534
#define U2 65533

enum op {
	MK,	  /* a: path, type, mode */
	CHMOD,	  /* a, mode (AT_SYMLINK_NOFOLLOW) */
	CHOWN,	  /* a, x = uid, y = gid (lchown) */
	UTIMES,	  /* a: atime x, mtime y; y == 0: UTIME_NOW */
	LINK,	  /* a -> b */
	RENAME,	  /* a -> b */
	EXCHANGE, /* a <-> b */
	UNLINK,	  /* a (rmdir for type 'd') */
	OPENW,	  /* a, for writing */
	STAT,	  /* a */
};

struct step {
	uid_t who;
	enum op op;
	char type; /* f d p s l c: file, dir, FIFO, socket, symlink, char device */
	const char *a, *b;
	mode_t mode;
	long x, y;
};

static const char *const op_names[] = { "mk",	  "chmod",    "chown",	"utimes", "link",
					"rename", "exchange", "unlink", "openw",  "stat" };

/* Results land in shared memory: each step runs in a child with the step's credentials. */
#define RESULT_MAX 160
static char *shared;

static const char *errname(int e)
{
	static const struct {
		int e;
		const char *n;
	} names[] = {
		{ 0, "0" },
		{ EPERM, "EPERM" },
		{ EACCES, "EACCES" },
		{ ENOENT, "ENOENT" },
		{ EEXIST, "EEXIST" },
		{ ENOTDIR, "ENOTDIR" },
		{ EISDIR, "EISDIR" },
		{ EINVAL, "EINVAL" },
		{ ENOTEMPTY, "ENOTEMPTY" },
		{ EXDEV, "EXDEV" },
		{ EOPNOTSUPP, "EOPNOTSUPP" },
		{ ELOOP, "ELOOP" },
		{ ENXIO, "ENXIO" },
		{ EROFS, "EROFS" },
		{ ENOSPC, "ENOSPC" },
		{ ESTALE, "ESTALE" },
		{ EIO, "EIO" },
	};
	static char other[24];

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (names[i].e == e)
			return names[i].n;
	snprintf(other, sizeof(other), "errno%d", e);
	return other;
}

static char type_char(mode_t m)
{
	return S_ISREG(m)    ? 'f'
	       : S_ISDIR(m)  ? 'd'
	       : S_ISFIFO(m) ? 'p'
	       : S_ISSOCK(m) ? 's'
	       : S_ISLNK(m)  ? 'l'
	       : S_ISCHR(m)  ? 'c'
	       : S_ISBLK(m)  ? 'b'
			     : '?';
}

/* "f 0644 65534:65533 n1", and the mtime when asked. */
static void describe(char *out, size_t sz, const char *path, bool times)
{
	struct stat st;
	size_t n = strlen(out);

	if (lstat(path, &st) < 0) {
		snprintf(out + n, sz - n, " [%s %s]", path, errname(errno));
		return;
	}
	n += (size_t)snprintf(out + n, sz - n, " [%s %c %04o %u:%u", path, type_char(st.st_mode),
			      (unsigned)(st.st_mode & 07777), (unsigned)st.st_uid,
			      (unsigned)st.st_gid);
	if (!S_ISDIR(st.st_mode) && n < sz) /* a directory's count depends on the file system */
		n += (size_t)snprintf(out + n, sz - n, " n%lu", (unsigned long)st.st_nlink);
	if (times && n < sz)
		n += (size_t)snprintf(out + n, sz - n, " m%lld", (long long)st.st_mtim.tv_sec);
	if (n < sz)
		snprintf(out + n, sz - n, "]");
}

static int make(const struct step *s)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd, r;

	switch (s->type) {
	case 'f':
		fd = open(s->a, O_CREAT | O_EXCL | O_WRONLY, s->mode);
		if (fd < 0)
			return errno;
		close(fd);
		return 0;
	case 'd': return mkdir(s->a, s->mode) < 0 ? errno : 0;
	case 'p': return mkfifo(s->a, s->mode) < 0 ? errno : 0;
	case 'c': return mknod(s->a, S_IFCHR | s->mode, makedev(1, 3)) < 0 ? errno : 0;
	case 'l': return symlink("target-of-the-link", s->a) < 0 ? errno : 0;
	case 's':
		snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", s->a);
		fd = socket(AF_UNIX, SOCK_STREAM, 0);
		if (fd < 0)
			return errno;
		umask(~s->mode & 0777); /* a socket's mode is 0777 less the umask */
		r = bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ? errno : 0;
		umask(0);
		close(fd);
		return r;
	}
	return EINVAL;
}

static int run_op(const struct step *s)
{
	struct timespec ts[2] = { { s->x, 0 }, { s->y, 0 } };
	int fd;

	switch (s->op) {
	case MK: return make(s);
	case CHMOD: return fchmodat(AT_FDCWD, s->a, s->mode, AT_SYMLINK_NOFOLLOW) < 0 ? errno : 0;
	case CHOWN: return lchown(s->a, (uid_t)s->x, (gid_t)s->y) < 0 ? errno : 0;
	case UTIMES:
		if (!s->y)
			ts[0].tv_nsec = ts[1].tv_nsec = UTIME_NOW;
		return utimensat(AT_FDCWD, s->a, ts, AT_SYMLINK_NOFOLLOW) < 0 ? errno : 0;
	case LINK: return link(s->a, s->b) < 0 ? errno : 0;
	case RENAME: return rename(s->a, s->b) < 0 ? errno : 0;
	case EXCHANGE:
		return renameat2(AT_FDCWD, s->a, AT_FDCWD, s->b, RENAME_EXCHANGE) < 0 ? errno : 0;
	case UNLINK: return (s->type == 'd' ? rmdir(s->a) : unlink(s->a)) < 0 ? errno : 0;
	case OPENW:
		fd = open(s->a, O_WRONLY | O_NONBLOCK);
		if (fd < 0)
			return errno;
		close(fd);
		return 0;
	case STAT: return 0;
	}
	return EINVAL;
}

static void become(uid_t uid)
{
	gid_t g = uid;

	if (setgroups(1, &g) < 0 || setresgid(g, g, g) < 0 || setresuid(uid, uid, uid) < 0)
		_exit(99);
}

/* One step in a child with its credentials, in dir; the result string into out. */
static void run_step(const char *dir, const struct step *s, char *out)
{
	pid_t pid;
	int st;

	shared[0] = '\0';
	pid = fork();
	if (pid == 0) {
		char *res = shared;
		int e;

		umask(0);
		if (chdir(dir) < 0)
			_exit(98);
		become(s->who);
		e = run_op(s);
		snprintf(res, RESULT_MAX, "%s", errname(e));
		describe(res, RESULT_MAX, s->op == LINK || s->op == RENAME ? s->b : s->a,
			 s->op == UTIMES && s->y);
		if (s->op == RENAME || s->op == EXCHANGE)
			describe(res, RESULT_MAX, s->op == RENAME ? s->a : s->b, false);
		_exit(0);
	}
	st = -1;
	if (pid < 0 || waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st)) {
		snprintf(out, RESULT_MAX, "<the step's child failed: %d>", st);
		return;
	}
	snprintf(out, RESULT_MAX, "%s", shared);
}

/* The script: filled per file type by script_build. */
#define MAX_STEPS 512
static struct step script[MAX_STEPS];
static unsigned nsteps;
static char names[MAX_STEPS * 2][48];
static unsigned nnames;

/* prefix, then the type letter: "sticky/s." 'p' -> "sticky/s.p" */
static const char *name(const char *prefix, char t)
{
	char *n = names[nnames++];

	snprintf(n, sizeof(names[0]), "%s%c", prefix, t);
	return n;
}

static void add(uid_t who, enum op op, char type, const char *a, const char *b, mode_t mode, long x,
		long y)
{
	if (nsteps >= MAX_STEPS)
		abort();
	script[nsteps++] = (struct step){ who, op, type, a, b, mode, x, y };
}

static void script_type(char t)
{
	const char *obj = name("t.", t), *lnk = name("l.", t), *s = name("sticky/s.", t),
		   *o = name("open/o.", t), *u2 = name("sticky/u2.", t), *g = name("sgid/g.", t);
	bool dir = t == 'd';

	/* create, then change every attribute as root */
	add(U0, MK, t, obj, NULL, 0151, 0, 0);
	add(U0, CHMOD, t, obj, NULL, 0640, 0, 0);
	add(U0, CHOWN, t, obj, NULL, 0, U1, U2);
	add(U0, UTIMES, t, obj, NULL, 0, 1000000000, 1100000000);
	/* the owner and someone else */
	add(U1, CHMOD, t, obj, NULL, 0604, 0, 0);
	add(U2, CHMOD, t, obj, NULL, 0666, 0, 0);
	add(U2, CHOWN, t, obj, NULL, 0, -1, U2);
	add(U1, CHOWN, t, obj, NULL, 0, -1, U1);
	add(U1, CHOWN, t, obj, NULL, 0, -1, 0);
	add(U1, CHOWN, t, obj, NULL, 0, U2, -1);
	add(U2, UTIMES, t, obj, NULL, 0, 1200000000, 1300000000);
	add(U1, UTIMES, t, obj, NULL, 0, 1200000000, 1300000000);
	add(U2, UTIMES, t, obj, NULL, 0, 0, 0);
	if (t == 'f')
		add(U2, OPENW, t, obj, NULL, 0, 0, 0);
	/* another name */
	add(U0, LINK, t, obj, lnk, 0, 0, 0);
	if (!dir) {
		add(U0, CHOWN, t, lnk, NULL, 0, U2, U2);
		add(U0, STAT, t, obj, NULL, 0, 0, 0);
		add(U0, UNLINK, t, lnk, NULL, 0, 0, 0);
	}
	/* a sticky directory: only the entry's owner (or the directory's, or root) removes it */
	add(U1, MK, t, s, NULL, 0644, 0, 0);
	add(U2, UNLINK, t, s, NULL, 0, 0, 0);
	add(U2, RENAME, t, s, o, 0, 0, 0);
	add(U1, RENAME, t, s, o, 0, 0, 0);
	add(U1, RENAME, t, o, s, 0, 0, 0);
	add(U2, MK, t, u2, NULL, 0600, 0, 0);
	add(U1, RENAME, t, s, u2, 0, 0, 0);
	add(U2, RENAME, t, u2, s, 0, 0, 0);
	add(U0, UNLINK, t, u2, NULL, 0, 0, 0);
	add(U1, UNLINK, t, s, NULL, 0, 0, 0);
	/* a set-group-ID directory passes on its group (and to a directory, the bit) */
	add(U0, MK, t, g, NULL, 0750, 0, 0);
	add(U1, MK, t, name("sgid/u1.", t), NULL, 0770, 0, 0);
	/* removed and made again: nothing of the old object's attributes stays with the name */
	add(U0, UNLINK, t, obj, NULL, 0, 0, 0);
	add(U0, MK, t, obj, NULL, 0151, 0, 0);
	add(U1, MK, t, name("open/n.", t), NULL, 0640, 0, 0);
	add(U1, RENAME, t, name("open/n.", t), name("open/m.", t), 0, 0, 0);
	add(U0, UNLINK, t, obj, NULL, 0, 0, 0);
}

static void script_build(void)
{
	const char *types = "fdpsl";

	nsteps = nnames = 0;
	add(U0, MK, 'd', "sticky", NULL, 01777, 0, 0);
	add(U0, MK, 'd', "open", NULL, 0777, 0, 0);
	add(U0, MK, 'd', "sgid", NULL, 02775, 0, 0);
	add(U0, CHOWN, 'd', "sgid", NULL, 0, 0, U1);
	add(U0, CHMOD, 'd', "sgid", NULL, 02777, 0, 0);
	for (const char *t = types; *t; t++)
		script_type(*t);
	/* set-id bits, device nodes, a user's file in root's directory */
	add(U0, MK, 'f', "suid", NULL, 04755, 0, 0);
	add(U0, CHMOD, 'f', "suid", NULL, 06755, 0, 0);
	add(U0, CHOWN, 'f', "suid", NULL, 0, U1, U1);
	add(U1, CHMOD, 'f', "suid", NULL, 04750, 0, 0);
	add(U0, MK, 'c', "null", NULL, 0666, 0, 0);
	add(U1, MK, 'f', "u1-in-roots-dir", NULL, 0644, 0, 0);
	/* exchange a FIFO and a symlink of different owners */
	add(U1, MK, 'p', "open/xa", NULL, 0640, 0, 0);
	add(U2, MK, 'l', "open/xb", NULL, 0777, 0, 0);
	add(U1, EXCHANGE, 'p', "open/xa", "open/xb", 0, 0, 0);
	add(U0, STAT, 'p', "open/xa", NULL, 0, 0, 0);
}

/*
 * Deliberate deviations (README "Deviations"): in which mode, the step's
 * start, and what lbx-fsd must answer instead of the native result.
 */
static const struct deviation {
	const char *mode, *step, *want;
} deviations[] = {
	/* device nodes are never made on the host (mknod.c) */
	{ "identity", "0 mk c null", "EPERM [null ENOENT]" },
	{ "xattr", "0 mk c null", "EPERM [null ENOENT]" },
	/* identity: the host never gets a set-id file from a guest (ownership.c) */
	{ "identity", "0 mk f suid", "0 [suid f 0755 0:0 n1]" },
	{ "identity", "0 chmod f suid", "0 [suid f 0755 0:0 n1]" },
	{ "identity", "0 chown f suid", "0 [suid f 0755 65534:65534 n1]" },
	{ "identity", "65534 chmod f suid", "0 [suid f 0750 65534:65534 n1]" },
};

static void step_label(const struct step *s, char *out, size_t sz)
{
	snprintf(out, sz, "%u %s %c %s%s%s", (unsigned)s->who, op_names[s->op], s->type, s->a,
		 s->b ? " " : "", s->b ? s->b : "");
}

static const struct deviation *deviation_of(const char *mode, const char *label)
{
	for (size_t i = 0; i < sizeof(deviations) / sizeof(deviations[0]); i++)
		if (!strcmp(deviations[i].mode, mode) &&
		    !strncmp(label, deviations[i].step, strlen(deviations[i].step)))
			return &deviations[i];
	return NULL;
}

static char base[256];

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st, (void)flag, (void)ftw;
	return remove(p) < 0 ? 0 : 0;
}

/* label: the mode, or the mode and what else is asked (then dirs are named after it) */
static void run_mode(const char *bin, const char *mode, const char *label_of_run,
		     const char *const *more)
{
	const char *extra[8] = { "--ownership", mode };
	static char native_res[MAX_STEPS][RESULT_MAX], fsd_res[MAX_STEPS][RESULT_MAX];
	char native[300], src[300], mnt[300], label[200];
	unsigned same = 0, dev = 0, bad = 0;
	struct fm fm;
	bool gone;

	for (unsigned i = 2; more && *more && i < 7; i++)
		extra[i] = *more++;
	snprintf(native, sizeof(native), "%s/%s-native", base, label_of_run);
	snprintf(src, sizeof(src), "%s/%s-src", base, label_of_run);
	snprintf(mnt, sizeof(mnt), "%s/%s-mnt", base, label_of_run);
	if (mkdir(native, 0755) || mkdir(src, 0755) || mkdir(mnt, 0755) || chmod(native, 0755) ||
	    chmod(src, 0755))
		abort();
	if (!ok(fm_start(&fm, bin, src, mnt, extra) == 0, "%s: lbx-fsd starts and mounts",
		label_of_run))
		return;
	script_build();
	for (unsigned i = 0; i < nsteps; i++) {
		run_step(native, &script[i], native_res[i]);
		run_step(mnt, &script[i], fsd_res[i]);
	}
	for (unsigned i = 0; i < nsteps; i++) {
		const struct deviation *d;

		step_label(&script[i], label, sizeof(label));
		/* results name paths relative to the tree, so they compare as text */
		if (!strcmp(native_res[i], fsd_res[i])) {
			same++;
			ok(1, "%s: %s: %s", label_of_run, label, fsd_res[i]);
		} else if ((d = deviation_of(mode, label)) && !strcmp(fsd_res[i], d->want)) {
			dev++;
			ok(1, "%s: %s: deviation (README): native %s, lbx-fsd %s", label_of_run,
			   label, native_res[i], fsd_res[i]);
		} else {
			bad++;
			ok(0, "%s: %s: native %s, lbx-fsd %s", label_of_run, label, native_res[i],
			   fsd_res[i]);
		}
	}
	printf("# %s: %u steps: %u as native, %u documented deviations, %u differ\n", label_of_run,
	       nsteps, same, dev, bad);
	ok(fm_stop(&fm, &gone) == 0 && gone, "%s: lbx-fsd unmounts and exits 0", label_of_run);
}

int main(int argc, char **argv)
{
	const char *why = argc < 2 ? "usage: test-fsd-posix LBX_FSD" : fm_unusable();

	if (why) {
		printf("1..0 # SKIP %s\n", why);
		return 0;
	}
	shared = mmap(NULL, RESULT_MAX, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	snprintf(base, sizeof(base), "/tmp/lbx-fsd-posix.XXXXXX");
	if (shared == MAP_FAILED || !mkdtemp(base) || chmod(base, 0755))
		abort();
	run_mode(argv[1], "identity", "identity", NULL);
	run_mode(argv[1], "xattr", "xattr", NULL);
	/* 4 inode fds: directories are evicted, reopened by name to read their records */
	run_mode(argv[1], "xattr", "xattr-evict",
		 (const char *const[]){ "--max-inode-fds", "4", NULL });
	nftw(base, rm_one, 64, FTW_DEPTH | FTW_PHYS);
	return tap_done();
}
