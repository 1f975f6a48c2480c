/* SPDX-License-Identifier: MIT */
/*
 * lbx-fsd: serve one directory tree over FUSE (docs/lbx-fsd.1).
 *
 * Two processes: the parent mounts, then only waits for a signal or for the
 * server to end, and unmounts (after the sandbox the server could not: a
 * Landlocked process may not unmount). The child drops to --user if asked,
 * restricts itself (fsd_sandbox.c) and serves; it holds the only /dev/fuse
 * fd, so if it dies the connection ends and the parent cleans up.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fsd.h"
#include "fsd_sandbox.h"
#include "fuse_dev.h"
#include "vhost.h"
#include "log.h"

#define FSD_MAX_PROTECT 64

struct args {
	const char *shared_dir, *mountpoint, *socket, *tag;
	const char *protect[FSD_MAX_PROTECT];
	struct fsd_options opt;
	unsigned threads;
	bool drop, no_watch;
	uid_t uid;
	gid_t gid;
};

static void usage(FILE *f)
{
	fprintf(f,
		"usage: lbx-fsd --shared-dir DIR --fuse-mount MOUNTPOINT [options]\n"
		"       lbx-fsd --shared-dir DIR --socket PATH --tag TAG [options]\n"
		"\n"
		"Serve DIR over FUSE at MOUNTPOINT, in the foreground, until it is\n"
		"unmounted or lbx-fsd gets SIGINT or SIGTERM (then it unmounts); or as a\n"
		"vhost-user-fs device on PATH for one front-end (lbx-vmm, QEMU), until it\n"
		"disconnects.\n"
		"\n"
		"  --shared-dir DIR         the tree to serve; nothing outside it is reachable\n"
		"  --fuse-mount MOUNTPOINT  mount through /dev/fuse here (needs root)\n"
		"  --socket PATH            serve vhost-user-fs on this unix socket\n"
		"  --tag TAG                the virtio-fs tag the guest mounts (1-36 bytes)\n"
		"  --read-only              refuse every change with EROFS\n"
		"  --ownership MODE         identity (default): host owners and modes;\n"
		"                           xattr: owners and modes kept in\n"
		"                           user.containers.override_stat\n"
		"  --cache-timeout SECONDS  how long names and attributes may be cached (1;\n"
		"                           60 where host edits are notified to the guest)\n"
		"  --no-watch               do not watch the tree for host edits\n"
		"  --no-keep-cache          drop cached file data on every open\n"
		"  --writeback              writeback cache (only for trees the host never edits)\n"
		"  --threads N              worker threads (4)\n"
		"  --max-inode-fds N        inode fds kept open (default: the open file limit\n"
		"                           less max(256, limit/4) kept for open files); idle\n"
		"                           ones beyond are closed and reopened by name\n"
		"  --protect RELPATH        RELPATH (relative to DIR) and all under it are\n"
		"                           read-only to the guest: changes get EROFS\n"
		"                           (repeatable, up to 64; e.g. .git/hooks)\n"
		"  --quota-bytes N          the tree's files may use at most N bytes (K, M, G,\n"
		"                           T: powers of 1024); growth past it is ENOSPC\n"
		"  --user UID:GID           serve as this user after mounting\n"
		"  -h, --help               this text\n");
}

static int parse_user(const char *s, uid_t *uid, gid_t *gid)
{
	unsigned long u, g;
	char *end;

	errno = 0;
	u = strtoul(s, &end, 10);
	if (errno || end == s || *end != ':')
		return -1;
	s = end + 1;
	g = strtoul(s, &end, 10);
	if (errno || end == s || *end || u > 0xfffffffeul || g > 0xfffffffeul)
		return -1;
	*uid = (uid_t)u;
	*gid = (gid_t)g;
	return 0;
}

static int parse_timeout(const char *s, uint32_t *ms)
{
	char *end;
	double d;

	errno = 0;
	d = strtod(s, &end);
	if (errno || end == s || *end || d < 0 || d > 86400)
		return -1;
	*ms = (uint32_t)(d * 1000 + 0.5);
	return 0;
}

static int parse_count(const char *s, uint32_t *n)
{
	unsigned long v;
	char *end;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || end == s || *end || *s == '-' || v < 1 || v > FSD_MAX_INODE_FDS)
		return -1;
	*n = (uint32_t)v;
	return 0;
}

/* N, or N with K, M, G or T (powers of 1024); at least 1. */
static int parse_bytes(const char *s, uint64_t *n)
{
	static const char units[] = "KMGT";
	unsigned long long v;
	const char *u;
	char *end;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s || *s == '-' || v == 0)
		return -1;
	if (*end) {
		if (end[1] || !(u = strchr(units, *end)))
			return -1;
		for (long i = 0; i <= u - units; i++) {
			if (v > UINT64_MAX / 1024)
				return -1;
			v *= 1024;
		}
	}
	*n = v;
	return 0;
}

enum { OPT_SHARED = 256, OPT_MOUNT, OPT_RO, OPT_OWN, OPT_CACHE, OPT_NOKEEP, OPT_WB, OPT_THREADS,
       OPT_USER, OPT_SOCKET, OPT_TAG, OPT_MAX_FDS, OPT_PROTECT, OPT_QUOTA, OPT_NO_WATCH };

static const struct option long_opts[] = {
	{ "shared-dir", required_argument, NULL, OPT_SHARED },
	{ "fuse-mount", required_argument, NULL, OPT_MOUNT },
	{ "read-only", no_argument, NULL, OPT_RO },
	{ "ownership", required_argument, NULL, OPT_OWN },
	{ "cache-timeout", required_argument, NULL, OPT_CACHE },
	{ "no-keep-cache", no_argument, NULL, OPT_NOKEEP },
	{ "writeback", no_argument, NULL, OPT_WB },
	{ "threads", required_argument, NULL, OPT_THREADS },
	{ "user", required_argument, NULL, OPT_USER },
	{ "socket", required_argument, NULL, OPT_SOCKET },
	{ "tag", required_argument, NULL, OPT_TAG },
	{ "max-inode-fds", required_argument, NULL, OPT_MAX_FDS },
	{ "protect", required_argument, NULL, OPT_PROTECT },
	{ "quota-bytes", required_argument, NULL, OPT_QUOTA },
	{ "no-watch", no_argument, NULL, OPT_NO_WATCH },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

static int parse_one(struct args *a, int c, const char *v)
{
	switch (c) {
	case OPT_SHARED: a->shared_dir = v; return 0;
	case OPT_MOUNT: a->mountpoint = v; return 0;
	case OPT_SOCKET: a->socket = v; return 0;
	case OPT_TAG:
		if (!v[0] || strlen(v) > 36)
			return lbx_err("--tag: '%s' is not 1-36 bytes", v), -1;
		a->tag = v;
		return 0;
	case OPT_RO: a->opt.read_only = true; return 0;
	case OPT_NOKEEP: a->opt.keep_cache = false; return 0;
	case OPT_WB: a->opt.writeback = true; return 0;
	case OPT_OWN:
		if (!strcmp(v, "identity"))
			a->opt.ownership = FSD_OWNERSHIP_IDENTITY;
		else if (!strcmp(v, "xattr"))
			a->opt.ownership = FSD_OWNERSHIP_XATTR;
		else
			return lbx_err("--ownership: '%s' is neither identity nor xattr", v), -1;
		return 0;
	case OPT_CACHE:
		if (parse_timeout(v, &a->opt.entry_timeout_ms))
			return lbx_err("--cache-timeout: '%s' is not 0..86400 seconds", v), -1;
		a->opt.attr_timeout_ms = a->opt.entry_timeout_ms;
		a->opt.notified_timeout_ms = 0; /* as asked, notified or not */
		return 0;
	case OPT_NO_WATCH: a->no_watch = true; return 0;
	case OPT_THREADS:
		a->threads = (unsigned)strtoul(v, NULL, 10);
		if (a->threads < 1 || a->threads > 64)
			return lbx_err("--threads: '%s' is not 1..64", v), -1;
		return 0;
	case OPT_MAX_FDS:
		if (parse_count(v, &a->opt.max_inode_fds))
			return lbx_err("--max-inode-fds: '%s' is not 1..%u", v, FSD_MAX_INODE_FDS),
			       -1;
		return 0;
	case OPT_PROTECT:
		if (a->opt.nprotect == FSD_MAX_PROTECT)
			return lbx_err("--protect: more than %d paths", FSD_MAX_PROTECT), -1;
		a->protect[a->opt.nprotect++] = v;
		a->opt.protect = a->protect;
		return 0;
	case OPT_QUOTA:
		if (parse_bytes(v, &a->opt.quota_bytes))
			return lbx_err("--quota-bytes: '%s' is not N bytes (K, M, G, T: x1024)", v),
			       -1;
		return 0;
	case OPT_USER:
		a->drop = true;
		if (parse_user(v, &a->uid, &a->gid))
			return lbx_err("--user: '%s' is not UID:GID", v), -1;
		return 0;
	case 'h': usage(stdout); exit(0);
	default: usage(stderr); return -1;
	}
}

static int parse_args(int argc, char **argv, struct args *a)
{
	int c;

	memset(a, 0, sizeof(*a));
	fsd_options_default(&a->opt);
	a->opt.notified_timeout_ms = 60000;
	a->threads = 4;
	while ((c = getopt_long(argc, argv, "h", long_opts, NULL)) != -1)
		if (parse_one(a, c, optarg))
			return -1;
	if (optind < argc || !a->shared_dir || !a->mountpoint == !a->socket ||
	    (a->socket && !a->tag)) {
		lbx_err(optind < argc ? "unexpected argument '%s'"
				      : "--shared-dir and one of --fuse-mount or --socket (with --tag) "
					"are required%s",
			optind < argc ? argv[optind] : "");
		usage(stderr);
		return -1;
	}
	return 0;
}

static int drop_privileges(const struct args *a)
{
	if (setgroups(0, NULL) < 0 || setgid(a->gid) < 0 || setuid(a->uid) < 0) {
		lbx_err("cannot become %u:%u: %s", a->uid, a->gid, strerror(errno));
		return -1;
	}
	/* setuid makes us undumpable, which takes /proc/self/fd away from us. */
	prctl(PR_SET_DUMPABLE, 1, 0, 0, 0);
	return 0;
}

/* The serving child: never returns. */
static void serve(const struct args *a, int fuse_fd)
{
	struct fsd *fsd;
	int err;

	prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
	signal(SIGINT, SIG_IGN); /* the parent unmounts; we end with the connection */
	signal(SIGTERM, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	if (a->drop && drop_privileges(a))
		_exit(1);
	err = fsd_new(a->shared_dir, &a->opt, &fsd);
	/* No watch: the short timeouts bound how stale the kernel's caches get. */
	if (!err && !a->no_watch && fsd_fuse_watch(fsd, &fuse_fd))
		lbx_warn("host edits reach the mount after the cache timeout only");
	if (!err && (err = fsd_sandbox_apply(a->shared_dir, a->opt.read_only, false)))
		lbx_err("cannot restrict myself: %s", strerror(-err));
	if (!err)
		err = fsd_fuse_serve(fsd, fuse_fd, a->threads);
	_exit(err ? 1 : 0);
}

/*
 * The inode fd budget follows the open file limit (fsd.c): the higher it
 * is, the fewer inodes are closed and reopened by name. Root may go up to
 * fs.nr_open; others to their hard limit.
 */
static void raise_nofile(void)
{
	struct rlimit r;
	unsigned long nr_open = 0;
	FILE *f = fopen("/proc/sys/fs/nr_open", "r");

	if (f) {
		if (fscanf(f, "%lu", &nr_open) != 1)
			nr_open = 0;
		fclose(f);
	}
	if (getrlimit(RLIMIT_NOFILE, &r) < 0)
		return;
	if (nr_open > r.rlim_max) {
		struct rlimit up = { nr_open, nr_open };

		if (setrlimit(RLIMIT_NOFILE, &up) == 0)
			return;
	}
	r.rlim_cur = r.rlim_max;
	setrlimit(RLIMIT_NOFILE, &r);
}

static int wait_child(const struct args *a, pid_t child, const sigset_t *set)
{
	int status;

	for (;;) {
		int sig = sigwaitinfo(set, NULL);

		if (sig == SIGCHLD && waitpid(child, &status, WNOHANG) == child)
			break;
		if (sig == SIGINT || sig == SIGTERM || sig == SIGHUP) {
			lbx_info("signal %d: unmounting %s", sig, a->mountpoint);
			fsd_fuse_unmount(a->mountpoint);
		}
	}
	/* Unmounted from outside, or the server ended: make sure nothing stays mounted. */
	fsd_fuse_unmount(a->mountpoint);
	if (WIFSIGNALED(status)) {
		lbx_err("the server died of signal %d", WTERMSIG(status));
		return 1;
	}
	return WEXITSTATUS(status);
}

static int restrict_vhost(void *data)
{
	const struct args *a = data;
	int err = fsd_sandbox_apply(a->shared_dir, a->opt.read_only, true);

	if (err)
		lbx_err("cannot restrict myself: %s", strerror(-err));
	return err;
}

/* vhost-user: one process, one front-end; no mount, so no parent to unmount. */
static int serve_vhost(struct args *a)
{
	struct fsd *fsd;
	int fd, err;

	if (a->drop && drop_privileges(a))
		return 1;
	err = fsd_new(a->shared_dir, &a->opt, &fsd);
	if (err) {
		lbx_err("cannot serve %s: %s", a->shared_dir, strerror(-err));
		return 1;
	}
	fd = fsd_vhost_accept(a->socket);
	if (fd < 0) {
		lbx_err("cannot accept a front-end on %s: %s", a->socket, strerror(-fd));
		fsd_free(fsd);
		return 1;
	}
	err = fsd_vhost_serve(fsd, fd, a->tag, !a->no_watch, restrict_vhost, a);
	fsd_free(fsd);
	if (err) {
		lbx_err("vhost-user-fs on %s: %s", a->socket, strerror(-err));
		return 1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct args a;
	sigset_t set;
	int fuse_fd, dirfd;
	pid_t child;

	lbx_log_init(argv[0]);
	if (parse_args(argc, argv, &a))
		return 2;
	dirfd = open(a.shared_dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (dirfd < 0) {
		lbx_err("cannot open the shared directory %s: %s", a.shared_dir, strerror(errno));
		return 1;
	}
	close(dirfd);
	umask(0); /* the guest's umask is already applied to the modes we get */
	raise_nofile();
	if (a.socket) {
		signal(SIGPIPE, SIG_IGN);
		return serve_vhost(&a);
	}
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGCHLD);
	sigprocmask(SIG_BLOCK, &set, NULL);
	if (fsd_fuse_mount(a.mountpoint, &a.opt, &fuse_fd))
		return 1;
	child = fork();
	if (child == 0) {
		sigprocmask(SIG_UNBLOCK, &set, NULL);
		serve(&a, fuse_fd);
	}
	close(fuse_fd);
	if (child < 0) {
		lbx_err("fork: %s", strerror(errno));
		fsd_fuse_unmount(a.mountpoint);
		return 1;
	}
	lbx_info("serving %s at %s", a.shared_dir, a.mountpoint);
	return wait_child(&a, child, &set);
}
