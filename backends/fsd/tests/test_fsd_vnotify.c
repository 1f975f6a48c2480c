/* SPDX-License-Identifier: MIT */
/*
 * The virtio-fs notification queue as a device model (virtio 1.2 §5.11.2,
 * §5.11.6.1; vhost.c, notify_queue.c, watch.c). The test is the
 * vhost-user front-end and a driver that acks VIRTIO_FS_F_NOTIFICATION:
 * queue 0 hiprio, 1 notifications, 2 requests. The host then changes the
 * tree while the driver gives the notification queue no buffers:
 * notifications wait, at most 256 as they are, the rest folded into one
 * whole-inode invalidation per node; once buffers come, they are all
 * delivered, in order, then the folded ones. The queue's own rules
 * (bounded, folded per node, then everything) are checked with small
 * bounds, and a driver that does not ack the feature gets the request
 * queue at 1 and no notifications.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <linux/fuse.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "fsd.h"
#include "fsd_client.h"
#include "log.h"
#include "notify_queue.h"
#include "tap.h"
#include "vdriver.h"
#include "vfrontend.h"
#include "vhost.h"

#define MEM_SIZE     (4u << 20)
#define QSIZE	     256
#define NQ	     1 /* the notification queue */
#define RING_BASE(q) (0x40000u * (q))
#define BUF_BASE     0x200000u
#define BUF_SIZE     512
#define NFILES	     600

struct t {
	struct vfe fe;
	struct vfe_vq q[3];
	struct fsd *fsd;
	struct fsd_vu *vu;
	struct fc c;
	char root[64];
};

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st, (void)flag, (void)ftw;
	remove(p);
	return 0;
}

static uint64_t get64(const uint8_t *p)
{
	return (uint64_t)vd_get32(p) | (uint64_t)vd_get32(p + 4) << 32;
}

/* Pump the device until the watcher has sent at least n notifications (5 s at most). */
static bool wait_sent(struct t *t, uint64_t n)
{
	uint64_t sent = 0, skipped;

	for (int i = 0; i < 5000 && sent < n; i++) {
		vfe_pump(&t->fe);
		fsd_watch_stats(t->fsd, &sent, &skipped);
		if (sent < n)
			usleep(1000);
	}
	vfe_pump(&t->fe);
	return sent >= n;
}

/*
 * Wait until the watcher has sent all it will: each host file makes several
 * events (create, modify, close), so wait_sent(NFILES) can return while the
 * rest are still being read. Quiet: the count unchanged over 10 looks 20 ms
 * apart (within 10 s).
 */
static void wait_quiet(struct t *t)
{
	uint64_t sent = 0, last = UINT64_MAX, skipped;
	int same = 0;

	for (int i = 0; i < 500 && same < 10; i++) {
		vfe_pump(&t->fe);
		fsd_watch_stats(t->fsd, &sent, &skipped);
		same = sent == last ? same + 1 : 0;
		last = sent;
		usleep(20 * 1000);
	}
	vfe_pump(&t->fe);
}

/* Give the notification queue n buffers (descriptors first..first+n-1); kick. */
static void give(struct t *t, unsigned first, unsigned n)
{
	struct vdrv *d = &t->q[NQ].d;

	for (unsigned i = first; i < first + n; i++) {
		vd_desc(d, i % QSIZE, BUF_BASE + (uint64_t)(i % QSIZE) * BUF_SIZE, BUF_SIZE,
			VD_F_WRITE, 0);
		vd_publish(d, (uint16_t)(i % QSIZE));
	}
	vfe_kick(&t->fe, &t->q[NQ]);
}

struct got {
	unsigned n, inval_entry, inval_inode, whole, bad;
	uint64_t whole_node[8];
	char first_name[64];
};

/* Read every used buffer of the notification queue. */
static void collect(struct t *t, struct got *g)
{
	struct vdrv *d = &t->q[NQ].d;
	uint32_t id, len;

	while (vd_get_used(d, &id, &len)) {
		const uint8_t *m = t->fe.mem + BUF_BASE + (uint64_t)(id % QSIZE) * BUF_SIZE;
		uint32_t code = vd_get32(m + 4);

		g->n++;
		if (len < 16 || vd_get32(m) != len || get64(m + 8) != 0) {
			g->bad++;
			continue;
		}
		if (code == FUSE_NOTIFY_INVAL_ENTRY && len >= 16 + 16) {
			if (!g->inval_entry++)
				snprintf(g->first_name, sizeof(g->first_name), "%.*s",
					 (int)vd_get32(m + 24), (const char *)m + 32);
		} else if (code == FUSE_NOTIFY_INVAL_INODE && len == 16 + 24) {
			g->inval_inode++;
			/* offset 0, length 0: attributes and all data */
			if (get64(m + 24) == 0 && get64(m + 32) == 0 && g->whole < 8)
				g->whole_node[g->whole++] = get64(m + 16);
		} else {
			g->bad++;
		}
	}
}

static void test_unacked(const char *root)
{
	struct t t2 = { .fe = { .sock = -1, .memfd = -1 } };
	struct fsd_options o;
	uint64_t feats;

	fsd_options_default(&o);
	if (vfe_mem_init(&t2.fe, MEM_SIZE) < 0 || fsd_new(root, &o, &t2.fsd))
		abort();
	t2.fe.loop = lbx_loop_new();
	t2.vu = fsd_vhost_new(t2.fsd, t2.fe.loop, false);
	t2.fe.dev = fsd_vhost_dev(t2.vu);
	if (vfe_connect(&t2.fe))
		abort();
	feats = vfe_handshake(&t2.fe);
	ok(feats && !(feats & 1), "without a watch the feature is not offered");
	is_int(vfe_get_u64(&t2.fe, LBX_VU_GET_QUEUE_NUM), 2, "and there are two queues");
	ok(fsd_vhost_notify_queue(t2.vu) == NULL, "and no notification queue");
	vfe_disconnect(&t2.fe);
	fsd_vhost_free(t2.vu);
	fsd_free(t2.fsd);
	vfe_mem_free(&t2.fe);
	lbx_loop_free(t2.fe.loop);
}

/* The queue's rules with small bounds: 4 as they are, 2 folded nodes, then everything. */
static void test_queue_rules(struct fsd *fsd)
{
	struct fsd_notify_queue *q = fsd_notify_queue_new(4, 2);
	struct fsd_notify_queue_stats st;
	uint8_t m[40], out[64];
	unsigned n, whole = 0;

	for (unsigned i = 0; i < 8; i++) {
		/* INVAL_INODE of node 100 + i % 3 (the last three: 3 nodes for 2 slots) */
		uint64_t node = i < 4 ? 10 + i : 100 + (i - 4) % 3;

		memset(m, 0, sizeof(m));
		lbx_put_u32le(m, 40);
		lbx_put_u32le(m + 4, FUSE_NOTIFY_INVAL_INODE);
		lbx_put_u64le(m + 16, node);
		lbx_put_u64le(m + 24, (uint64_t)-1);
		fsd_notify_queue_put(q, m, sizeof(m));
		if (i == 5) {
			fsd_notify_queue_stats(q, &st);
			ok(st.count == 4 && st.whole == 2 && !st.all,
			   "4 wait as they are, the next 2 nodes are folded");
		}
	}
	fsd_notify_queue_stats(q, &st);
	ok(st.count == 4 && st.all && st.overflowed == 1 && st.coalesced == 4,
	   "a third node past the bound: everything is to be invalidated (%u, %u folded)", st.count,
	   (unsigned)st.coalesced);
	for (n = 0; fsd_notify_queue_take(q, fsd, out, sizeof(out)); n++)
		whole += n >= 4 && get64(out + 24) == 0;
	ok(n >= 4 + 2 && whole == n - 4,
	   "delivered: the 4 as they were, then %u whole-inode "
	   "invalidations (the folded nodes, then every node)",
	   whole);
	ok(fsd_notify_queue_empty(q), "and then nothing waits");
	fsd_notify_queue_free(q);
}

static void test_no_buffers(struct t *t)
{
	struct fsd_notify_queue_stats st;
	struct fsd_notify_queue *nq = fsd_vhost_notify_queue(t->vu);
	uint64_t sub = 0, file = 0;
	char p[200];
	struct got g = { 0 };
	unsigned rounds = 0;

	if (!ok(nq != NULL, "the driver acked VIRTIO_FS_F_NOTIFICATION: queue 1 notifies"))
		return;
	ok(fc_init_session(&t->c) == 0 && fc_lookup(&t->c, FUSE_ROOT_ID, "sub", &sub, NULL) == 0 &&
	       fc_lookup(&t->c, sub, "file", &file, NULL) == 0,
	   "the guest looked up sub/ and sub/file");
	/* the host (another process: fanotify skips the server's own): many new names, a change */
	pid_t pid = fork();

	if (pid == 0) {
		for (unsigned i = 0; i < NFILES; i++) {
			snprintf(p, sizeof(p), "%s/sub/new-%04u", t->root, i);
			fc_put(p, "x");
		}
		snprintf(p, sizeof(p), "%s/sub/file", t->root);
		fc_put(p, "changed on the host");
		_exit(0);
	}
	waitpid(pid, NULL, 0);
	ok(wait_sent(t, NFILES), "the watcher sent a notification for each host edit");
	wait_quiet(t);
	fsd_notify_queue_stats(nq, &st);
	ok(st.count == 256 && st.max_count == 256,
	   "no buffers: 256 wait as they are, never more (%u)", st.max_count);
	ok(st.coalesced > 0 && st.whole >= 1 && st.whole <= 3 && !st.all,
	   "the rest folded into %u whole-inode invalidations (%u notifications)", st.whole,
	   (unsigned)st.coalesced);
	/* buffers, 64 at a time, until nothing waits */
	while (!fsd_notify_queue_empty(nq) && rounds < 20) {
		give(t, rounds * 64, 64);
		collect(t, &g);
		rounds++;
	}
	ok(g.bad == 0 && g.n == 256 + st.whole,
	   "delivered %u: the 256, then the folded ones (%u malformed)", g.n, g.bad);
	ok(!strcmp(g.first_name, "new-0000"), "in order: the first is INVAL_ENTRY of new-0000 (%s)",
	   g.first_name);
	bool sub_whole = false;

	for (unsigned i = 0; i < g.whole; i++)
		sub_whole |= g.whole_node[i] == sub;
	ok(sub_whole, "sub/ is among the whole-inode invalidations (its names wait for the "
		      "entry timeout)");
	ok(fsd_notify_queue_empty(nq), "nothing waits after the driver caught up");
}

int main(void)
{
	static struct t t = { .fe = { .sock = -1, .memfd = -1 } };
	const char *tmp = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
	struct fsd_options opt;
	char sub[128];
	uint64_t feats;
	bool started = true;
	int fds_at_start = vfe_count_fds();

	lbx_log_init("test-fsd-vnotify");
	lbx_log_set_level(LBX_LOG_ERROR);
	for (unsigned i = 0; i < 3; i++)
		t.q[i].kick = t.q[i].call = t.q[i].err = -1;
	snprintf(t.root, sizeof(t.root), "%.40s/lbx-fsd-vn-XXXXXX", tmp);
	if (!mkdtemp(t.root) || vfe_mem_init(&t.fe, MEM_SIZE) < 0) {
		printf("1..0 # SKIP no temporary directory or memfd\n");
		return 0;
	}
	snprintf(sub, sizeof(sub), "%s/sub", t.root);
	mkdir(sub, 0755);
	fc_put_at(sub, "file", "original");
	fsd_options_default(&opt);
	opt.notified_timeout_ms = 60000;
	t.fe.loop = lbx_loop_new();
	if (fsd_new(t.root, &opt, &t.fsd))
		abort();
	fc_init(&t.c, t.fsd);
	t.vu = fsd_vhost_new(t.fsd, t.fe.loop, true);
	if (!ok(t.vu != NULL, "vhost-user-fs device with the tree watched"))
		return tap_done();
	t.fe.dev = fsd_vhost_dev(t.vu);
	ok(vfe_connect(&t.fe) == 0, "front-end connected over a socketpair");
	feats = vfe_handshake(&t.fe);
	ok(feats & 1, "VIRTIO_FS_F_NOTIFICATION (bit 0) offered and acked");
	is_int(vfe_get_u64(&t.fe, LBX_VU_GET_QUEUE_NUM), 3,
	       "three queues: hiprio, notifications, requests");
	for (unsigned i = 0; i < 3; i++)
		started &= vfe_vq_init(&t.fe, &t.q[i], i, RING_BASE(i), QSIZE) == 0 &&
			   vfe_vq_start(&t.fe, &t.q[i]) == 0;
	ok(started, "all three queues started");

	test_no_buffers(&t);
	test_queue_rules(t.fsd);
	test_unacked(t.root);

	vfe_disconnect(&t.fe);
	fsd_vhost_free(t.vu);
	fc_free(&t.c);
	fsd_free(t.fsd);
	for (unsigned i = 0; i < 3; i++)
		vfe_vq_free(&t.q[i]);
	vfe_mem_free(&t.fe);
	lbx_loop_free(t.fe.loop);
	is_int(vfe_count_fds(), fds_at_start, "no fd leaked");
	nftw(t.root, rm_one, 8, FTW_DEPTH | FTW_PHYS);
	return tap_done();
}
