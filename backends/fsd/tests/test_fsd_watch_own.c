/* SPDX-License-Identifier: MIT */
/*
 * watch.c tells the guest's own changes from the host's: CREATE, WRITE,
 * MKDIR and SETATTR through the server make the same file system events
 * as a host edit, and must send no notification (the guest has that state
 * already), while a change made by another process must. Run with
 * fanotify (the events name their process) where this process may use
 * it, and with inotify (the change times and the table's entry records
 * tell them apart). The server's calls run in this process; host edits
 * come from a child.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <linux/fuse.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fsd.h"
#include "fsd_client.h"
#include "log.h"
#include "tap.h"

static atomic_uint n_host, n_other;

static uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static char other_what[128];

/* The sink: sort what comes into notifications about "host" (or the root), and the rest. */
static int record(void *ctx, const void *msg, size_t len)
{
	const uint8_t *m = msg;
	uint32_t code = len >= 16 ? le32(m + 4) : 0;
	uint64_t node = len >= 24 ? (le32(m + 16) | (uint64_t)le32(m + 20) << 32) : 0;

	(void)ctx;
	if (code == FUSE_NOTIFY_INVAL_ENTRY && len >= 32 && le32(m + 24) == 4 &&
	    !memcmp(m + 32, "host", 4))
		atomic_fetch_add(&n_host, 1);
	else if (code == FUSE_NOTIFY_INVAL_INODE && node == FUSE_ROOT_ID)
		; /* the root's mtime: the host's create, or (inotify) one of ours */
	else if (!atomic_fetch_add(&n_other, 1))
		snprintf(other_what, sizeof(other_what), "code %u node %llu", code,
			 (unsigned long long)node);
	return 0;
}

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st, (void)flag, (void)ftw;
	remove(p);
	return 0;
}

static void run(const char *tree, const char *kind)
{
	struct fsd_notify_sink sink = { record, NULL, false };
	struct fsd_options o;
	struct fsd *fsd;
	struct fc c;
	uint8_t a[96]; /* fuse_setattr_in is the largest sent: 88 bytes */
	uint64_t id = 0, fh = 0;
	char p[400];
	pid_t pid;
	int err;

	setenv("LBX_FSD_WATCH", kind, 1);
	fsd_options_default(&o);
	if (fsd_new(tree, &o, &fsd))
		abort();
	fc_init(&c, fsd);
	if (fc_init_session(&c) || fsd_watch_start(fsd, &sink)) {
		ok(0, "%s: the watch starts", kind);
		return;
	}
	if (strcmp(fsd_watch_kind(fsd), kind)) {
		tap_skip("fanotify is not permitted here (inotify is used): the fanotify run "
			 "is the inotify run");
		fc_free(&c);
		fsd_free(fsd);
		return;
	}
	atomic_store(&n_host, 0);
	atomic_store(&n_other, 0);
	/* the guest's own changes: a new file written, a directory, a chmod */
	memset(a, 0, sizeof(a));
	lbx_put_u32le(a, O_WRONLY);
	lbx_put_u32le(a + 4, S_IFREG | 0644);
	err = fc_named(&c, FUSE_CREATE, FUSE_ROOT_ID, a, 16, "mine");
	if (!err && (lbx_read_u64le(&c.body, &id) || lbx_read_skip(&c.body, 120) ||
		     lbx_read_u64le(&c.body, &fh)))
		err = -EPROTO;
	memset(a, 0, sizeof(a));
	lbx_put_u64le(a, fh);
	lbx_put_u32le(a + 16, 5);
	memcpy(a + 40, "guest", 5);
	if (!err)
		err = fc_call(&c, FUSE_WRITE, id, a, 45);
	memset(a, 0, sizeof(a));
	lbx_put_u32le(a, 0755);
	if (!err)
		err = fc_named(&c, FUSE_MKDIR, FUSE_ROOT_ID, a, 8, "dir");
	memset(a, 0, sizeof(a));
	lbx_put_u32le(a, FATTR_MODE);
	lbx_put_u32le(a + 60, 0600); /* fuse_setattr_in.mode */
	if (!err)
		err = fc_call(&c, FUSE_SETATTR, id, a, 88);
	ok(err == 0, "%s: the guest creates, writes, makes a directory, chmods", kind);
	/* then the host: a new file, from another process */
	snprintf(p, sizeof(p), "%s/host", tree);
	pid = fork();
	if (pid == 0) {
		fc_put(p, "h");
		_exit(0);
	}
	waitpid(pid, NULL, 0);
	for (int i = 0; i < 5000 && !atomic_load(&n_host); i++)
		usleep(1000);
	ok(atomic_load(&n_host) >= 1, "%s: the host's new file is notified", kind);
	/*
	 * fanotify names the process that made a change, so nothing of the
	 * guest's may come back. inotify does not: the server tells its own
	 * changes by what it last sent, and a host edit landing in the same
	 * directory in the same instant can cost one more invalidation of
	 * that directory (a lookup again, never a stale answer; fsd README).
	 */
	unsigned allowed = !strcmp(kind, "inotify") ? 1 : 0;

	if (!ok(atomic_load(&n_other) <= allowed,
		"%s: the guest's own changes, made before it, sent nothing%s", kind,
		allowed ? " (at most one directory invalidation)" : ""))
		printf("#   %u others, the first %s\n", atomic_load(&n_other), other_what);
	fc_free(&c);
	fsd_free(fsd);
	unlink(p);
	snprintf(p, sizeof(p), "%s/mine", tree);
	unlink(p);
	snprintf(p, sizeof(p), "%s/dir", tree);
	rmdir(p);
}

int main(void)
{
	char tree[64];

	lbx_log_init("test-fsd-watch-own");
	lbx_log_set_level(LBX_LOG_ERROR);
	snprintf(tree, sizeof(tree), "/tmp/lbx-fsd-own-XXXXXX");
	if (!mkdtemp(tree)) {
		printf("1..0 # SKIP no temporary directory\n");
		return 0;
	}
	run(tree, "fanotify");
	run(tree, "inotify");
	nftw(tree, rm_one, 8, FTW_DEPTH | FTW_PHYS);
	return tap_done();
}
