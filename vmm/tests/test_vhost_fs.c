/* SPDX-License-Identifier: MIT */
/*
 * Device-model test of lbx-vmm's vhost-user-fs frontend (vhost_dev.c)
 * against the real lbx-fsd transport (backends/fsd/vhost.c), without KVM.
 *
 * The test is the guest driver: it programs the virtio-mmio registers of
 * the fs device as the vCPU threads would deliver them, over guest RAM in
 * a memfd, and runs lbx-vmm's main loop (call fds, the socket). lbx-fsd
 * serves a temporary tree on a thread of its own, on the other end of a
 * unix socket, with the tree watched.
 *
 * What must hold (virtio 1.2 §5.11; kernel-config/patches/0002):
 * - VIRTIO_FS_F_NOTIFICATION (bit 0) reaches the driver, with three
 *   queues (hiprio 0, notifications 1, requests 2) and notify_buf_size
 *   in the config space after num_request_queues;
 * - a driver that acks it gets requests on queue 2, 60 s entry timeouts,
 *   and host edits as FUSE notifications in the buffers it gave queue 1;
 * - a driver that does not ack it gets requests on queue 1 and 1 s
 *   timeouts (what QEMU 7.2's vhost-user-fs-device always gives).
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <linux/fuse.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "evloop.h"
#include "fsd.h"
#include "log.h"
#include "tap.h"
#include "vhost.h"
#include "vhost_dev.h"
#include "vhost_user_backend.h"
#include "virtio/vdriver.h"
#include "virtio_mmio.h"
#include "unixsock.h"

#define RAM_SIZE       (4ULL << 20)
#define QSZ	       16
#define RING_GPA(q)    (0x10000ULL * ((q) + 1))
#define REQ_BUF	       0x100000ULL /* request: header + arguments */
#define REP_BUF	       0x110000ULL /* reply */
#define NOTE_BUF       0x200000ULL /* notification buffers, NOTE_SIZE each */
#define NOTE_SIZE      512
#define NNOTES	       8
#define WAIT_MS	       5000
#define BIT(n)	       (1ULL << (n))
#define F_NOTIFICATION 0

/* ---- lbx-fsd on its own thread ---- */

struct server {
	char root[64], sock[96];
	struct fsd *fsd;
	struct fsd_vu *vu;
	struct lbx_loop *loop;
	int lfd;
	pthread_t thread;
	bool running;
};

static void *server_main(void *arg)
{
	struct server *s = arg;
	int fd = accept4(s->lfd, NULL, NULL, SOCK_CLOEXEC);

	if (fd >= 0 && lbx_vu_dev_attach(fsd_vhost_dev(s->vu), fd) == 0)
		lbx_loop_run(s->loop); /* until lbx-vmm hangs up */
	return NULL;
}

static int server_start(struct server *s, const char *root, int n)
{
	struct fsd_options o;

	memset(s, 0, sizeof(*s));
	snprintf(s->root, sizeof(s->root), "%s", root);
	snprintf(s->sock, sizeof(s->sock), "%s.%d.sock", root, n);
	fsd_options_default(&o);
	o.notified_timeout_ms = 60000; /* lbx-fsd's default, as main.c sets it */
	if (fsd_new(root, &o, &s->fsd))
		return -1;
	s->loop = lbx_loop_new();
	s->vu = s->loop ? fsd_vhost_new(s->fsd, s->loop, true) : NULL;
	s->lfd = lbx_unix_listen(s->sock, 1, 0);
	if (!s->vu || s->lfd < 0 || pthread_create(&s->thread, NULL, server_main, s))
		return -1;
	s->running = true;
	return 0;
}

static void server_stop(struct server *s)
{
	if (s->running)
		pthread_join(s->thread, NULL);
	if (s->lfd >= 0)
		close(s->lfd);
	unlink(s->sock);
	fsd_vhost_free(s->vu);
	lbx_loop_free(s->loop);
	fsd_free(s->fsd);
}

/* ---- the machine and the guest driver ---- */

struct guest {
	struct vmm_machine m;
	struct vmm_vhost_dev *v;
	struct vmm_virtio_mmio *t;
	struct lbx_loop *loop; /* lbx-vmm's main loop */
	struct vdrv q[3];
	uint64_t unique;
};

static void no_irq(void *ctx, struct vmm_virtio_mmio *t)
{
}

static int machine_init(struct vmm_machine *mm)
{
	memset(mm, 0, sizeof(*mm));
	mm->kvm_fd = mm->vm_fd = -1;
	mm->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	mm->ram_fd = memfd_create("test-vhost-fs", MFD_CLOEXEC);
	if (mm->stop_fd < 0 || mm->ram_fd < 0 || ftruncate(mm->ram_fd, (off_t)RAM_SIZE))
		return -1;
	mm->ram =
	    mmap(NULL, RAM_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_NORESERVE, mm->ram_fd, 0);
	if (mm->ram == MAP_FAILED)
		return -1;
	mm->ram_bytes = RAM_SIZE;
	lbx_guest_mem_init(&mm->mem);
	return lbx_guest_mem_add_mapped(&mm->mem, 0, RAM_SIZE, mm->ram);
}

static void machine_free(struct vmm_machine *mm)
{
	if (mm->ram && mm->ram != MAP_FAILED)
		munmap(mm->ram, RAM_SIZE);
	close(mm->ram_fd);
	close(mm->stop_fd);
}

/* What devices.c does for a vhost-user device: kick eventfds, the interrupt hook. */
static int guest_init(struct guest *g, const char *socket)
{
	struct vmm_vhost_spec spec = { .type = VMM_VHOST_FS, .socket = socket };

	memset(g, 0, sizeof(*g));
	snprintf(spec.tag, sizeof(spec.tag), "project");
	if (machine_init(&g->m) || vmm_vhost_dev_connect(&g->v, &spec, &g->m))
		return -1;
	g->t = vmm_vhost_dev_transport(g->v);
	g->t->raise_irq = no_irq;
	for (unsigned q = 0; q < g->t->nqueues; q++) {
		g->t->q[q].kick_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (g->t->q[q].kick_fd < 0)
			return -1;
	}
	g->loop = lbx_loop_new();
	return g->loop && vmm_vhost_dev_watch(g->v, g->loop) == 0 ? 0 : -1;
}

static void guest_free(struct guest *g)
{
	if (g->loop)
		lbx_loop_free(g->loop);
	if (g->t)
		for (unsigned q = 0; q < g->t->nqueues; q++)
			if (g->t->q[q].kick_fd >= 0)
				close(g->t->q[q].kick_fd);
	vmm_vhost_dev_free(g->v); /* lbx-fsd sees the hang-up and its thread ends */
	machine_free(&g->m);
}

static uint32_t rd(struct vmm_virtio_mmio *t, uint64_t off)
{
	uint8_t d[4];

	vmm_virtio_mmio_io(t, off, d, 4, false);
	return vd_get32(d);
}

static void wr(struct vmm_virtio_mmio *t, uint64_t off, uint32_t v)
{
	uint8_t d[4];

	lbx_put_u32le(d, v);
	vmm_virtio_mmio_io(t, off, d, 4, true);
}

static uint64_t get64(const uint8_t *p)
{
	return (uint64_t)vd_get32(p) | (uint64_t)vd_get32(p + 4) << 32;
}

/* §3.1.1: reset, ACKNOWLEDGE, DRIVER, features, FEATURES_OK; the queues; DRIVER_OK. */
static uint32_t bring_up(struct guest *g, uint64_t features, unsigned nq)
{
	struct vmm_virtio_mmio *t = g->t;

	wr(t, VIRTIO_MMIO_STATUS, 0);
	wr(t, VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE);
	wr(t, VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
	wr(t, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
	wr(t, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)features);
	wr(t, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	wr(t, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)(features >> 32));
	wr(t, VIRTIO_MMIO_STATUS,
	   VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK);
	for (unsigned q = 0; q < nq; q++) {
		struct vdrv *d = &g->q[q];

		d->mem_gpa = RING_GPA(q);
		d->mem = g->m.ram + d->mem_gpa;
		d->mem_size = 0x10000;
		vd_layout(d, QSZ);
		wr(t, VIRTIO_MMIO_QUEUE_SEL, q);
		wr(t, VIRTIO_MMIO_QUEUE_NUM, QSZ);
		wr(t, VIRTIO_MMIO_QUEUE_DESC_LOW, (uint32_t)d->desc_gpa);
		wr(t, VIRTIO_MMIO_QUEUE_DESC_HIGH, 0);
		wr(t, VIRTIO_MMIO_QUEUE_DRIVER_LOW, (uint32_t)d->avail_gpa);
		wr(t, VIRTIO_MMIO_QUEUE_DRIVER_HIGH, 0);
		wr(t, VIRTIO_MMIO_QUEUE_DEVICE_LOW, (uint32_t)d->used_gpa);
		wr(t, VIRTIO_MMIO_QUEUE_DEVICE_HIGH, 0);
		wr(t, VIRTIO_MMIO_QUEUE_READY, 1);
	}
	wr(t, VIRTIO_MMIO_STATUS, rd(t, VIRTIO_MMIO_STATUS) | VIRTIO_STATUS_DRIVER_OK);
	return rd(t, VIRTIO_MMIO_STATUS);
}

/* Run lbx-vmm's main loop until queue q has a used buffer; 1 with it, 0 on timeout. */
static int wait_used(struct guest *g, unsigned q, uint32_t *id, uint32_t *len)
{
	for (int i = 0; i < WAIT_MS / 10; i++) {
		if (vd_get_used(&g->q[q], id, len))
			return 1;
		lbx_loop_run_once(g->loop, 10);
		wr(g->t, VIRTIO_MMIO_INTERRUPT_ACK, rd(g->t, VIRTIO_MMIO_INTERRUPT_STATUS));
	}
	return vd_get_used(&g->q[q], id, len);
}

/* One FUSE request on queue q; returns the reply's error (or -1000: none), body at REP_BUF + 16. */
static int fuse_call(struct guest *g, unsigned q, uint32_t op, uint64_t nodeid, const void *args,
		     uint32_t alen, uint32_t *body_len)
{
	uint8_t *h = g->m.ram + REQ_BUF;
	struct vdrv *d = &g->q[q];
	uint16_t head = d->avail_idx % QSZ;
	uint64_t unique = ++g->unique;
	uint32_t id, len;

	lbx_put_u32le(h, 40 + alen);
	lbx_put_u32le(h + 4, op);
	lbx_put_u64le(h + 8, unique);
	lbx_put_u64le(h + 16, nodeid);
	lbx_put_u32le(h + 24, getuid());
	lbx_put_u32le(h + 28, getgid());
	lbx_put_u32le(h + 32, 4321);
	lbx_put_u32le(h + 36, 0);
	memcpy(h + 40, args, alen);
	memset(g->m.ram + REP_BUF, 0, 16);
	vd_desc(d, head, REQ_BUF, 40 + alen, VD_F_NEXT, (uint16_t)((head + 1) % QSZ));
	vd_desc(d, (head + 1) % QSZ, REP_BUF, 4096, VD_F_WRITE, 0);
	vd_publish(d, head); /* one call at a time: descriptors are reused */
	wr(g->t, VIRTIO_MMIO_QUEUE_NOTIFY, q);
	if (!wait_used(g, q, &id, &len) || id != head || len < 16 ||
	    vd_get32(g->m.ram + REP_BUF) != len || get64(g->m.ram + REP_BUF + 8) != unique)
		return -1000;
	*body_len = len - 16;
	return (int32_t)vd_get32(g->m.ram + REP_BUF + 4);
}

static bool fuse_init(struct guest *g, unsigned q)
{
	struct fuse_init_in in = { .major = FUSE_KERNEL_VERSION,
				   .minor = FUSE_KERNEL_MINOR_VERSION };
	uint32_t n = 0;

	return fuse_call(g, q, FUSE_INIT, 0, &in, sizeof(in), &n) == 0 && n >= 24;
}

/* LOOKUP name in parent: its node id, and its entry timeout in seconds. */
static uint64_t lookup(struct guest *g, unsigned q, uint64_t parent, const char *name,
		       uint64_t *entry_valid)
{
	uint32_t n = 0;

	if (fuse_call(g, q, FUSE_LOOKUP, parent, name, (uint32_t)strlen(name) + 1, &n) != 0 ||
	    n < 40)
		return 0;
	*entry_valid = get64(g->m.ram + REP_BUF + 16 + 16);
	return get64(g->m.ram + REP_BUF + 16);
}

/* Give the notification queue its buffers. */
static void give_buffers(struct guest *g)
{
	struct vdrv *d = &g->q[1];

	for (unsigned i = 0; i < NNOTES; i++) {
		vd_desc(d, i, NOTE_BUF + NOTE_SIZE * i, NOTE_SIZE, VD_F_WRITE, 0);
		vd_publish(d, (uint16_t)i);
	}
	wr(g->t, VIRTIO_MMIO_QUEUE_NOTIFY, 1);
}

struct note {
	uint32_t code, flags; /* flags: INVAL_ENTRY's */
	uint64_t node;
	char name[64];
};

/* The next notification; code 0 on timeout, ~0 if malformed (§5.11.6.1: unique 0). */
static struct note next_note(struct guest *g)
{
	struct note nt = { 0 };
	uint32_t id, len;
	const uint8_t *m;

	if (!wait_used(g, 1, &id, &len))
		return nt;
	m = g->m.ram + NOTE_BUF + NOTE_SIZE * (id % NNOTES);
	if (id >= NNOTES || len < 16 + 16 || vd_get32(m) != len || get64(m + 8) != 0) {
		nt.code = ~0u;
		return nt;
	}
	nt.code = vd_get32(m + 4);
	nt.node = get64(m + 16);
	if (nt.code == FUSE_NOTIFY_INVAL_ENTRY)
		nt.flags = vd_get32(m + 28);
	if (nt.code == FUSE_NOTIFY_INVAL_ENTRY && 32 + vd_get32(m + 24) <= len)
		snprintf(nt.name, sizeof(nt.name), "%.*s", (int)vd_get32(m + 24),
			 (const char *)m + 32);
	else if (nt.code == FUSE_NOTIFY_DELETE && 40 + vd_get32(m + 32) <= len)
		snprintf(nt.name, sizeof(nt.name), "%.*s", (int)vd_get32(m + 32),
			 (const char *)m + 40);
	/* the buffer goes back, as the driver's work item does */
	vd_publish(&g->q[1], (uint16_t)id);
	wr(g->t, VIRTIO_MMIO_QUEUE_NOTIFY, 1);
	return nt;
}

/* Notifications until one has this code (and node, name and flags, if given), at most 8. */
static bool saw(struct guest *g, uint32_t code, uint64_t node, const char *name, uint32_t flags)
{
	for (int i = 0; i < 8; i++) {
		struct note nt = next_note(g);

		if (!nt.code)
			return false;
		if (nt.code == code && (!node || nt.node == node) &&
		    (!name || !strcmp(nt.name, name)) && (nt.flags & flags) == flags)
			return true;
	}
	return false;
}

/* A host edit: another process (fanotify skips the server's own). */
static void host(const char *root, const char *what, const char *name)
{
	char p[160];
	pid_t pid = fork();

	if (pid == 0) {
		snprintf(p, sizeof(p), "%s/sub/%s", root, name);
		if (!strcmp(what, "write")) {
			int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

			_exit(fd < 0 || write(fd, "host edit\n", 10) != 10);
		}
		_exit(unlink(p) < 0);
	}
	waitpid(pid, NULL, 0);
}

static void test_acked(const char *root)
{
	struct server s;
	struct guest g;
	uint64_t sub, file, valid = 0;
	uint8_t c[4];

	if (!ok(server_start(&s, root, 1) == 0 && guest_init(&g, s.sock) == 0,
		"lbx-vmm connected to lbx-fsd with the tree watched"))
		return;
	wr(g.t, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0);
	ok(rd(g.t, VIRTIO_MMIO_DEVICE_FEATURES) & BIT(F_NOTIFICATION),
	   "VIRTIO_FS_F_NOTIFICATION (bit 0) reaches the driver");
	wr(g.t, VIRTIO_MMIO_QUEUE_SEL, 2);
	ok(rd(g.t, VIRTIO_MMIO_QUEUE_NUM_MAX) > 0,
	   "queue 2 exists (hiprio, notifications, requests)");
	wr(g.t, VIRTIO_MMIO_QUEUE_SEL, 3);
	is_int(rd(g.t, VIRTIO_MMIO_QUEUE_NUM_MAX), 0, "and no queue 3");
	vmm_virtio_mmio_io(g.t, VIRTIO_MMIO_CONFIG + 36, c, 4, false);
	is_int(vd_get32(c), 1, "config: one request queue");
	vmm_virtio_mmio_io(g.t, VIRTIO_MMIO_CONFIG + 40, c, 4, false);
	is_int(vd_get32(c), 512, "config: notify_buf_size 512 after num_request_queues (§5.11.4)");

	uint32_t st = bring_up(&g, BIT(LBX_VIRTIO_F_VERSION_1) | BIT(F_NOTIFICATION), 3);

	ok((st & VIRTIO_STATUS_DRIVER_OK) && !(st & VIRTIO_STATUS_NEEDS_RESET),
	   "the driver acked it and set up three queues: DRIVER_OK");
	give_buffers(&g);
	ok(fuse_init(&g, 2), "FUSE_INIT answered on queue 2");
	sub = lookup(&g, 2, FUSE_ROOT_ID, "sub", &valid);
	file = sub ? lookup(&g, 2, sub, "file", &valid) : 0;
	ok(sub && file, "LOOKUP sub, sub/file");
	is_int(valid, 60, "entry timeout 60 s: host edits are notified");

	host(root, "write", "file");
	ok(saw(&g, FUSE_NOTIFY_INVAL_INODE, file, NULL, 0),
	   "a host write: FUSE_NOTIFY_INVAL_INODE of sub/file in a queue 1 buffer");
	ok(saw(&g, FUSE_NOTIFY_INVAL_ENTRY, sub, "file",
	       FSD_NOTIFY_F_EXPIRE_ONLY | FSD_NOTIFY_F_MODIFY),
	   "and an event-only INVAL_ENTRY of sub/file saying MODIFY (for the guest's inotify)");
	host(root, "write", "new");
	ok(saw(&g, FUSE_NOTIFY_INVAL_ENTRY, sub, "new", FSD_NOTIFY_F_CREATE),
	   "a host create: FUSE_NOTIFY_INVAL_ENTRY of sub/new saying CREATE");
	host(root, "unlink", "file");
	ok(saw(&g, FUSE_NOTIFY_DELETE, sub, "file", 0),
	   "a host unlink of a name the guest holds: FUSE_NOTIFY_DELETE of sub/file");
	host(root, "unlink", "new");
	ok(saw(&g, FUSE_NOTIFY_INVAL_ENTRY, sub, "new", FSD_NOTIFY_F_DELETE),
	   "of a name it never looked up: INVAL_ENTRY of sub/new saying DELETE");
	guest_free(&g);
	server_stop(&s);
}

static void test_unacked(const char *root)
{
	struct server s;
	struct guest g;
	uint64_t sub, valid = 0;

	if (!ok(server_start(&s, root, 2) == 0 && guest_init(&g, s.sock) == 0,
		"a second device, for a driver without the feature"))
		return;
	uint32_t st = bring_up(&g, BIT(LBX_VIRTIO_F_VERSION_1), 2);

	ok((st & VIRTIO_STATUS_DRIVER_OK) && !(st & VIRTIO_STATUS_NEEDS_RESET),
	   "two queues only: DRIVER_OK");
	ok(fuse_init(&g, 1), "FUSE_INIT answered on queue 1 (no notification queue)");
	sub = lookup(&g, 1, FUSE_ROOT_ID, "sub", &valid);
	ok(sub != 0, "LOOKUP sub");
	is_int(valid, 1, "entry timeout 1 s: nobody tells the guest of host edits");
	guest_free(&g);
	server_stop(&s);
}

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st, (void)flag, (void)ftw;
	remove(p);
	return 0;
}

int main(void)
{
	const char *tmp = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
	char root[64], p[96];
	int fd;

	lbx_log_init("test-vhost-fs");
	lbx_log_set_level(LBX_LOG_ERROR);
	snprintf(root, sizeof(root), "%.40s/lbx-vfs-XXXXXX", tmp);
	if (!mkdtemp(root)) {
		printf("1..0 # SKIP no temporary directory in %s\n", tmp);
		return 0;
	}
	snprintf(p, sizeof(p), "%s/sub", root);
	mkdir(p, 0755);
	snprintf(p, sizeof(p), "%s/sub/file", root);
	fd = open(p, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0 || write(fd, "original\n", 9) != 9)
		abort();
	close(fd);

	test_acked(root);
	test_unacked(root);
	nftw(root, rm_one, 8, FTW_DEPTH | FTW_PHYS);
	return tap_done();
}
