/* SPDX-License-Identifier: MIT */
/*
 * Device-model test of lbx-vmm's vhost-user frontend, without KVM.
 *
 * This program plays three parts. The guest driver programs the
 * virtio-mmio registers of a vhost-user vsock device (vhost_dev.c) the way
 * the vCPU threads would deliver them, over guest RAM in a memfd, and
 * builds its virtqueues with tests/unit/virtio/vdriver.h. The main loop
 * part runs an lbx_loop with the device's call and socket watches, as
 * lbx-vmm's main thread does. The backend is a small vsock-like loopback
 * built on common/vhost_user_backend.h: what the driver sends on the
 * transmit queue comes back, prefixed with "echo:", in a buffer of the
 * receive queue.
 *
 * The backend runs on its own thread and event loop behind a relay that
 * records every vhost-user message lbx-vmm sends (so the test can check
 * the requests themselves: the memory table's fd, ring addresses, kick and
 * call fds) and forwards it unchanged over a socketpair. For the backend
 * that dies, the backend runs in a forked process that the test kills.
 *
 * No vmm/ seam was needed: vmm_vhost_dev_connect takes a struct
 * vmm_machine, of which it uses only the RAM memfd, its mapping and
 * vmm_machine_stop (an eventfd), so the test fills one in without
 * /dev/kvm; queue kick eventfds and the interrupt hook are what
 * devices.c would wire.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "evloop.h"
#include "log.h"
#include "tap.h"
#include "vhost_dev.h"
#include "vhost_user.h"
#include "vhost_user_backend.h"
#include "virtio/vdriver.h"
#include "virtio_mmio.h"
#include "unixsock.h"

#define RAM_SIZE    (2ULL << 20)
#define QSZ	    16
#define RXQ	    0 /* virtio 1.2 §5.10.2: rx, tx, event */
#define TXQ	    1
#define NQ	    3
#define RING_GPA(q) (0x10000ULL + 0x10000ULL * (q))
#define TX_BUF	    0x80000ULL
#define RX_BUF	    0x90000ULL
#define IND_TABLE   0xa0000ULL
#define SLOT_SIZE   0x100
#define WAIT_MS	    3000

/* Feature bits the backend offers and lbx-vmm must (or may) show the guest. */
#define VSOCK_F_SEQPACKET	  0
#define VSOCK_F_NO_IMPLIED_STREAM 2 /* virtio 1.3; lbx-vmm passes only bit 0 */
#define F_ACCESS_PLATFORM	  33
#define F_RING_PACKED		  34
#define BIT(n)			  (1ULL << (n))
#define DRIVER_FEATURES                                                                            \
	(BIT(LBX_VIRTIO_F_VERSION_1) | BIT(LBX_VIRTIO_F_INDIRECT_DESC) | BIT(VSOCK_F_SEQPACKET))

#define SEEN_MAX   64
#define REPLY_TEXT "echo:"

/* ---- the backend: a vsock-like loopback on the library ---- */

/* One message lbx-vmm sent, as the relay decoded it. */
struct seen {
	uint32_t request, flags;
	unsigned nfds;
	uint64_t u64;
	struct lbx_vu_vring_state state;
	struct lbx_vu_vring_addr addr;
	struct lbx_vu_mem_table table;
	struct lbx_vu_vring_file file;
	bool fd_is_ram, fd_is_kick, fd_is_eventfd;
};

struct backend {
	struct lbx_loop *loop;
	struct lbx_vu_dev *dev;
	pthread_t thread;
	int listen_fd, front_fd, relay_fd, quit_fd;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	/* under lock */
	struct seen seen[SEEN_MAX];
	unsigned nseen;
	uint64_t offered; /* the backend's answer to GET_FEATURES */
	unsigned tx_kicks, bad_pops;
	uint8_t payload[64]; /* what the device last read from the transmit queue */
	size_t payload_len;
};

static struct vmm_machine m;	     /* the machine lbx-vmm sees; no KVM */
static int log_pipe[2] = { -1, -1 }; /* every lbx_log line of this process */
static char log_text[16384];
static int kick_fd[NQ] = { -1, -1, -1 }; /* transport kick eventfds (main scenario) */
static int irqs;
/*
 * How long to wait for the backend or an interrupt. After the first wait
 * that times out, later ones are short, so that a broken frontend gives a
 * list of failures within meson's timeout instead of a timeout.
 */
static int wait_ms = WAIT_MS;

static void timed_out(void)
{
	if (wait_ms == WAIT_MS)
		printf("# a wait timed out; later waits are 100 ms\n");
	wait_ms = 100;
}

static void backend_sync_init(struct backend *b)
{
	pthread_condattr_t ca;

	pthread_mutex_init(&b->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&b->cond, &ca);
	pthread_condattr_destroy(&ca);
}

/* Put bytes read from the transmit queue into the next receive buffer. */
static void echo_deliver(struct lbx_vu_dev *dev, const uint8_t *buf, size_t n)
{
	static struct lbx_virtq_chain c;
	struct lbx_virtq *rx = lbx_vu_dev_queue(dev, RXQ);
	size_t done;

	if (!rx || lbx_virtq_pop(rx, &c) != 1)
		return; /* no receive buffer: dropped (the test always posts one) */
	done = lbx_iov_from_buf(c.wr, c.nwr, 0, REPLY_TEXT, strlen(REPLY_TEXT));
	done += lbx_iov_from_buf(c.wr, c.nwr, done, buf, n);
	lbx_vu_dev_push(dev, RXQ, c.head, (uint32_t)done);
	lbx_vu_dev_notify(dev, RXQ);
}

static void echo_kicked(struct lbx_vu_dev *dev, unsigned qidx, struct lbx_virtq *q)
{
	static struct lbx_virtq_chain c;
	struct backend *b = lbx_vu_dev_data(dev);
	uint8_t buf[64];
	size_t n;
	int rc;

	if (qidx != TXQ)
		return; /* receive buffers wait for data; the event queue is unused */
	while ((rc = lbx_virtq_pop(q, &c)) == 1) {
		n = lbx_iov_to_buf(c.rd, c.nrd, 0, buf, sizeof(buf));
		lbx_vu_dev_push(dev, qidx, c.head, 0);
		echo_deliver(dev, buf, n);
		pthread_mutex_lock(&b->lock);
		memcpy(b->payload, buf, n);
		b->payload_len = n;
		pthread_mutex_unlock(&b->lock);
	}
	lbx_vu_dev_notify(dev, qidx);
	pthread_mutex_lock(&b->lock);
	b->tx_kicks++;
	b->bad_pops += rc < 0;
	pthread_cond_broadcast(&b->cond);
	pthread_mutex_unlock(&b->lock);
}

static void echo_disconnected(struct lbx_vu_dev *dev)
{
	struct backend *b = lbx_vu_dev_data(dev);

	lbx_loop_stop(b->loop, 0);
}

static const struct lbx_vu_ops echo_ops = {
	.name = "test-vsock",
	.num_queues = NQ,
	.features = BIT(VSOCK_F_SEQPACKET) | BIT(VSOCK_F_NO_IMPLIED_STREAM) |
		    BIT(F_ACCESS_PLATFORM) | BIT(F_RING_PACKED),
	.queue_kicked = echo_kicked,
	.disconnected = echo_disconnected,
};

/* ---- the relay between lbx-vmm and the backend, which records requests ---- */

static bool is_eventfd(int fd)
{
	char path[64], buf[512];
	ssize_t n;
	int f;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	f = open(path, O_RDONLY | O_CLOEXEC);
	if (f < 0)
		return false;
	n = read(f, buf, sizeof(buf) - 1);
	close(f);
	if (n <= 0)
		return false;
	buf[n] = 0;
	return strstr(buf, "eventfd-count") != NULL;
}

static bool same_file(int a, int b)
{
	struct stat sa, sb;

	return fstat(a, &sa) == 0 && fstat(b, &sb) == 0 && sa.st_dev == sb.st_dev &&
	       sa.st_ino == sb.st_ino;
}

/*
 * Whether fd is the transport's kick eventfd of queue q: a count written
 * to one is read back from the other. Runs while lbx-vmm waits for the
 * reply to SET_VRING_KICK, before the backend watches the fd.
 */
static bool is_kick_fd(int fd, uint32_t q)
{
	uint64_t mark = 0x5a5a, got = 0;

	if (q >= NQ || kick_fd[q] < 0 || write(fd, &mark, sizeof(mark)) != sizeof(mark))
		return false;
	if (read(kick_fd[q], &got, sizeof(got)) == sizeof(got))
		return got == mark;
	/* Not the same eventfd: take the mark back so the backend sees no kick. */
	if (read(fd, &got, sizeof(got)) < 0)
		lbx_debug("mark: %s", strerror(errno));
	return false;
}

static void record(struct backend *b, const struct lbx_vu_msg *msg)
{
	struct seen s = { .request = msg->request, .flags = msg->flags, .nfds = msg->nfds };

	switch (msg->request) {
	case LBX_VU_SET_FEATURES:
	case LBX_VU_SET_PROTOCOL_FEATURES:
		if (lbx_vu_decode_u64(msg, &s.u64))
			s.u64 = ~0ULL;
		break;
	case LBX_VU_SET_MEM_TABLE:
		if (lbx_vu_decode_mem_table(msg, &s.table) == 0)
			s.fd_is_ram = same_file(msg->fds[0], m.ram_fd);
		else
			s.table.nregions = 0;
		break;
	case LBX_VU_SET_VRING_NUM:
	case LBX_VU_SET_VRING_BASE:
	case LBX_VU_GET_VRING_BASE:
	case LBX_VU_SET_VRING_ENABLE:
		if (lbx_vu_decode_vring_state(msg, &s.state))
			s.state.index = ~0U;
		break;
	case LBX_VU_SET_VRING_ADDR:
		if (lbx_vu_decode_vring_addr(msg, &s.addr))
			s.addr.index = ~0U;
		break;
	case LBX_VU_SET_VRING_KICK:
	case LBX_VU_SET_VRING_CALL:
	case LBX_VU_SET_VRING_ERR:
		if (lbx_vu_decode_vring_file(msg, &s.file)) {
			s.file.index = ~0U;
			break;
		}
		if (s.file.nofd)
			break;
		s.fd_is_eventfd = is_eventfd(msg->fds[0]);
		if (msg->request == LBX_VU_SET_VRING_KICK)
			s.fd_is_kick = is_kick_fd(msg->fds[0], s.file.index);
		break;
	default: break;
	}
	pthread_mutex_lock(&b->lock);
	if (b->nseen < SEEN_MAX)
		b->seen[b->nseen++] = s;
	pthread_mutex_unlock(&b->lock);
}

static void close_watched(struct lbx_loop *loop, int *fd)
{
	if (*fd < 0)
		return;
	lbx_loop_del(loop, *fd);
	close(*fd);
	*fd = -1;
}

/* Either side hung up: so does the relay (the library then ends its session). */
static void relay_end(struct backend *b)
{
	close_watched(b->loop, &b->front_fd);
	close_watched(b->loop, &b->relay_fd);
}

static void on_front(struct lbx_loop *loop, int fd, uint32_t events, void *data)
{
	struct backend *b = data;
	struct lbx_vu_msg msg;

	if (lbx_vu_recv(fd, &msg)) {
		relay_end(b);
		return;
	}
	record(b, &msg);
	if (b->relay_fd < 0 || lbx_vu_send(b->relay_fd, &msg))
		relay_end(b);
	lbx_vu_msg_close_fds(&msg);
}

static void on_relay(struct lbx_loop *loop, int fd, uint32_t events, void *data)
{
	struct backend *b = data;
	struct lbx_vu_msg msg;
	uint64_t v;

	if (lbx_vu_recv(fd, &msg)) {
		relay_end(b);
		return;
	}
	if (msg.request == LBX_VU_GET_FEATURES && lbx_vu_decode_u64(&msg, &v) == 0) {
		pthread_mutex_lock(&b->lock);
		b->offered = v;
		pthread_mutex_unlock(&b->lock);
	}
	if (b->front_fd < 0 || lbx_vu_send(b->front_fd, &msg))
		relay_end(b);
	lbx_vu_msg_close_fds(&msg);
}

static void on_accept(struct lbx_loop *loop, int fd, uint32_t events, void *data)
{
	struct backend *b = data;
	int c = accept4(fd, NULL, NULL, SOCK_CLOEXEC);

	if (c < 0)
		return;
	lbx_loop_del(loop, fd); /* one frontend */
	b->front_fd = c;
	if (lbx_loop_add(loop, c, EPOLLIN, on_front, b))
		relay_end(b);
}

static void on_quit(struct lbx_loop *loop, int fd, uint32_t events, void *data)
{
	lbx_loop_stop(loop, 0);
}

static void *backend_main(void *arg)
{
	struct backend *b = arg;

	lbx_loop_run(b->loop);
	return NULL;
}

static int backend_start(struct backend *b, const char *path)
{
	int sp[2];

	memset(b, 0, sizeof(*b));
	b->listen_fd = b->front_fd = b->relay_fd = b->quit_fd = -1;
	backend_sync_init(b);
	b->loop = lbx_loop_new();
	b->dev = b->loop ? lbx_vu_dev_new(b->loop, &echo_ops, b) : NULL;
	b->listen_fd = lbx_unix_listen(path, 1, 0);
	b->quit_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (!b->dev || b->listen_fd < 0 || b->quit_fd < 0 ||
	    socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) < 0)
		return -1;
	b->relay_fd = sp[0];
	if (lbx_vu_dev_attach(b->dev, sp[1]) ||
	    lbx_loop_add(b->loop, b->listen_fd, EPOLLIN, on_accept, b) ||
	    lbx_loop_add(b->loop, b->relay_fd, EPOLLIN, on_relay, b) ||
	    lbx_loop_add(b->loop, b->quit_fd, EPOLLIN, on_quit, b))
		return -1;
	return pthread_create(&b->thread, NULL, backend_main, b) ? -1 : 0;
}

static void backend_stop(struct backend *b)
{
	uint64_t one = 1;

	if (write(b->quit_fd, &one, sizeof(one)) != sizeof(one))
		return; /* cannot stop the thread: leave it */
	pthread_join(b->thread, NULL);
	lbx_vu_dev_free(b->dev);
	relay_end(b);
	close_watched(b->loop, &b->listen_fd);
	close_watched(b->loop, &b->quit_fd);
	lbx_loop_free(b->loop);
	pthread_cond_destroy(&b->cond);
	pthread_mutex_destroy(&b->lock);
}

/* Copy out and forget what the relay recorded. */
static unsigned seen_take(struct backend *b, struct seen *out)
{
	unsigned n;

	pthread_mutex_lock(&b->lock);
	n = b->nseen;
	memcpy(out, b->seen, n * sizeof(*out));
	b->nseen = 0;
	pthread_mutex_unlock(&b->lock);
	return n;
}

/* A counter the backend thread keeps, read under its lock. */
static unsigned counter(struct backend *b, const unsigned *field)
{
	unsigned n;

	pthread_mutex_lock(&b->lock);
	n = *field;
	pthread_mutex_unlock(&b->lock);
	return n;
}

/* Wait until the device has processed its transmit queue target times. */
static bool wait_kicks(struct backend *b, unsigned target)
{
	struct timespec until;
	bool done;

	clock_gettime(CLOCK_MONOTONIC, &until);
	until.tv_nsec += (long)(wait_ms % 1000) * 1000000;
	until.tv_sec += wait_ms / 1000 + until.tv_nsec / 1000000000;
	until.tv_nsec %= 1000000000;
	pthread_mutex_lock(&b->lock);
	while (b->tx_kicks < target)
		if (pthread_cond_timedwait(&b->cond, &b->lock, &until) == ETIMEDOUT)
			break;
	done = b->tx_kicks >= target;
	pthread_mutex_unlock(&b->lock);
	if (!done)
		timed_out();
	return done;
}

/* A backend in a process of its own, serving one connection on path. */
static pid_t backend_process(const char *path)
{
	static struct backend cb;
	int lfd = lbx_unix_listen(path, 1, 0), c;
	pid_t pid;

	if (lfd < 0)
		return -1;
	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid != 0) {
		close(lfd);
		return pid;
	}
	memset(&cb, 0, sizeof(cb));
	backend_sync_init(&cb);
	cb.loop = lbx_loop_new();
	cb.dev = cb.loop ? lbx_vu_dev_new(cb.loop, &echo_ops, &cb) : NULL;
	c = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	close(lfd);
	if (!cb.dev || c < 0 || lbx_vu_dev_attach(cb.dev, c))
		_exit(1);
	lbx_loop_run(cb.loop);
	_exit(0);
}

/* ---- what was logged ---- */

/*
 * Send lbx_log lines through a pipe, set before any thread or child
 * exists. Non-blocking: a full pipe drops lines rather than stall a thread.
 */
static int log_capture_start(void)
{
	if (pipe2(log_pipe, O_CLOEXEC | O_NONBLOCK) < 0)
		return -1;
	lbx_log_set_fd(log_pipe[1]);
	return 0;
}

/* What was logged since the last call; it is copied on to stderr as well. */
static const char *log_take(void)
{
	size_t len = 0;
	ssize_t n;

	while (len < sizeof(log_text) - 1 &&
	       (n = read(log_pipe[0], log_text + len, sizeof(log_text) - 1 - len)) > 0)
		len += (size_t)n;
	log_text[len] = 0;
	if (len && write(STDERR_FILENO, log_text, len) < 0) {
		/* stderr gone: nowhere to copy it */
	}
	return log_text;
}

static void log_capture_end(void)
{
	log_take();
	lbx_log_set_fd(STDERR_FILENO);
	close(log_pipe[0]);
	close(log_pipe[1]);
}

/* ---- the machine and the guest driver ---- */

static int machine_init(struct vmm_machine *mm, const char *name)
{
	memset(mm, 0, sizeof(*mm));
	mm->kvm_fd = mm->vm_fd = -1;
	mm->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	mm->ram_fd = memfd_create(name, MFD_CLOEXEC);
	if (mm->stop_fd < 0 || mm->ram_fd < 0 || ftruncate(mm->ram_fd, (off_t)RAM_SIZE))
		return -1;
	mm->ram =
	    mmap(NULL, RAM_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_NORESERVE, mm->ram_fd, 0);
	if (mm->ram == MAP_FAILED) {
		mm->ram = NULL;
		return -1;
	}
	mm->ram_bytes = RAM_SIZE;
	lbx_guest_mem_init(&mm->mem);
	return lbx_guest_mem_add_mapped(&mm->mem, 0, RAM_SIZE, mm->ram);
}

struct guest {
	struct vmm_machine *m;
	struct vmm_vhost_dev *v;
	struct vmm_virtio_mmio *t;
	struct lbx_loop *loop; /* lbx-vmm's main loop: call fds and the socket */
	struct vdrv q[NQ];
};

static void count_irq(void *ctx, struct vmm_virtio_mmio *t)
{
	irqs++;
}

/* What devices.c does for a vhost-user device: kick eventfds, the interrupt hook. */
static int guest_init(struct guest *g, struct vmm_machine *mm, const char *socket)
{
	struct vmm_vhost_spec spec = { .type = VMM_VHOST_VSOCK, .socket = socket };
	int rc;

	memset(g, 0, sizeof(*g));
	g->m = mm;
	rc = vmm_vhost_dev_connect(&g->v, &spec, mm);
	if (rc)
		return rc;
	g->t = vmm_vhost_dev_transport(g->v);
	g->t->raise_irq = count_irq;
	for (unsigned q = 0; q < g->t->nqueues; q++) {
		g->t->q[q].kick_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (g->t->q[q].kick_fd < 0)
			return -errno;
	}
	g->loop = lbx_loop_new();
	if (!g->loop || vmm_vhost_dev_watch(g->v, g->loop))
		return -ENOMEM;
	return 0;
}

static void guest_free(struct guest *g)
{
	if (g->loop)
		lbx_loop_free(g->loop);
	if (g->t)
		for (unsigned q = 0; q < g->t->nqueues; q++)
			if (g->t->q[q].kick_fd >= 0)
				close(g->t->q[q].kick_fd);
	vmm_vhost_dev_free(g->v);
	memset(g, 0, sizeof(*g));
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

static uint8_t *gp(struct guest *g, uint64_t gpa)
{
	return g->m->ram + gpa;
}

/* §3.1.1 steps 1-6: reset, ACKNOWLEDGE, DRIVER, features, FEATURES_OK. */
static uint32_t negotiate(struct vmm_virtio_mmio *t, uint64_t features)
{
	wr(t, VIRTIO_MMIO_STATUS, 0);
	wr(t, VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE);
	wr(t, VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
	wr(t, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
	wr(t, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)features);
	wr(t, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	wr(t, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)(features >> 32));
	wr(t, VIRTIO_MMIO_STATUS,
	   VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK);
	return rd(t, VIRTIO_MMIO_STATUS);
}

/* §4.2.3.2: lay the rings out in RAM and hand them to the device. */
static bool setup_queue(struct guest *g, unsigned q)
{
	struct vdrv *d = &g->q[q];
	struct vmm_virtio_mmio *t = g->t;

	d->mem_gpa = RING_GPA(q);
	d->mem = gp(g, d->mem_gpa);
	d->mem_size = 0x10000;
	vd_layout(d, QSZ);
	wr(t, VIRTIO_MMIO_QUEUE_SEL, q);
	wr(t, VIRTIO_MMIO_QUEUE_NUM, QSZ);
	wr(t, VIRTIO_MMIO_QUEUE_DESC_LOW, (uint32_t)d->desc_gpa);
	wr(t, VIRTIO_MMIO_QUEUE_DESC_HIGH, (uint32_t)(d->desc_gpa >> 32));
	wr(t, VIRTIO_MMIO_QUEUE_DRIVER_LOW, (uint32_t)d->avail_gpa);
	wr(t, VIRTIO_MMIO_QUEUE_DRIVER_HIGH, (uint32_t)(d->avail_gpa >> 32));
	wr(t, VIRTIO_MMIO_QUEUE_DEVICE_LOW, (uint32_t)d->used_gpa);
	wr(t, VIRTIO_MMIO_QUEUE_DEVICE_HIGH, (uint32_t)(d->used_gpa >> 32));
	wr(t, VIRTIO_MMIO_QUEUE_READY, 1);
	return rd(t, VIRTIO_MMIO_QUEUE_READY) == 1;
}

static uint32_t driver_ok(struct vmm_virtio_mmio *t)
{
	wr(t, VIRTIO_MMIO_STATUS, rd(t, VIRTIO_MMIO_STATUS) | VIRTIO_STATUS_DRIVER_OK);
	return rd(t, VIRTIO_MMIO_STATUS);
}

/* The whole initialisation with receive and transmit queues; returns Status. */
static uint32_t bring_up(struct guest *g)
{
	negotiate(g->t, DRIVER_FEATURES);
	setup_queue(g, RXQ);
	setup_queue(g, TXQ);
	return driver_ok(g->t);
}

/* Post a 64-byte receive buffer; returns its descriptor index. */
static uint16_t post_rx(struct guest *g)
{
	struct vdrv *d = &g->q[RXQ];
	uint16_t i = d->avail_idx % QSZ;

	memset(gp(g, RX_BUF + SLOT_SIZE * i), 0, 64);
	vd_desc(d, i, RX_BUF + SLOT_SIZE * i, 64, VD_F_WRITE, 0);
	vd_publish(d, i);
	return i;
}

/* Queue text on the transmit queue; returns its descriptor index. */
static uint16_t send_tx(struct guest *g, const char *text)
{
	struct vdrv *d = &g->q[TXQ];
	uint16_t i = d->avail_idx % QSZ;

	memcpy(gp(g, TX_BUF + SLOT_SIZE * i), text, strlen(text));
	vd_desc(d, i, TX_BUF + SLOT_SIZE * i, (uint32_t)strlen(text), 0, 0);
	vd_publish(d, i);
	return i;
}

/* Run lbx-vmm's main loop until the interrupt status shows a used buffer. */
static bool wait_isr(struct guest *g)
{
	for (int i = 0; i < wait_ms / 10; i++) {
		if (rd(g->t, VIRTIO_MMIO_INTERRUPT_STATUS) & VIRTIO_MMIO_INT_VRING)
			return true;
		lbx_loop_run_once(g->loop, 10);
	}
	if (rd(g->t, VIRTIO_MMIO_INTERRUPT_STATUS) & VIRTIO_MMIO_INT_VRING)
		return true;
	timed_out();
	return false;
}

/*
 * Run the main loop until the device shows DEVICE_NEEDS_RESET with a
 * configuration change interrupt: the backend's SET_VRING_ERR eventfd.
 */
static bool wait_needs_reset(struct guest *g)
{
	for (int i = 0; i < wait_ms / 10; i++) {
		if ((rd(g->t, VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_NEEDS_RESET) &&
		    (rd(g->t, VIRTIO_MMIO_INTERRUPT_STATUS) & VIRTIO_MMIO_INT_CONFIG))
			return true;
		lbx_loop_run_once(g->loop, 10);
	}
	timed_out();
	return false;
}

/* Let pending call fds through, then acknowledge every interrupt. */
static void settle(struct guest *g)
{
	for (int i = 0; i < 3; i++)
		lbx_loop_run_once(g->loop, 5);
	wr(g->t, VIRTIO_MMIO_INTERRUPT_ACK, rd(g->t, VIRTIO_MMIO_INTERRUPT_STATUS));
}

/* One round trip: text out on tx, "echo:text" back on rx. */
static bool echo_works(struct guest *g, const char *text)
{
	char want[80];
	uint16_t head = post_rx(g);
	uint32_t id, len;

	send_tx(g, text);
	wr(g->t, VIRTIO_MMIO_QUEUE_NOTIFY, RXQ);
	wr(g->t, VIRTIO_MMIO_QUEUE_NOTIFY, TXQ);
	if (!wait_isr(g))
		return false;
	settle(g);
	snprintf(want, sizeof(want), REPLY_TEXT "%s", text);
	return vd_get_used(&g->q[RXQ], &id, &len) == 1 && id == head && len == strlen(want) &&
	       !memcmp(gp(g, RX_BUF + SLOT_SIZE * head), want, len);
}

/* ---- the tests ---- */

static bool requests_are(const struct seen *s, unsigned n, const uint32_t *want, unsigned nwant)
{
	bool same = n == nwant;

	for (unsigned i = 0; same && i < n; i++)
		same = s[i].request == want[i];
	if (!same) {
		printf("#   got:");
		for (unsigned i = 0; i < n; i++)
			printf(" %s", lbx_vu_request_name(s[i].request));
		printf("\n");
	}
	return same;
}

static void test_handshake(struct guest *g, struct backend *b)
{
	static const uint32_t want[] = { LBX_VU_GET_FEATURES, LBX_VU_GET_PROTOCOL_FEATURES,
					 LBX_VU_SET_PROTOCOL_FEATURES, LBX_VU_SET_OWNER };
	struct seen s[SEEN_MAX];
	unsigned n = seen_take(b, s);
	uint8_t cid[8];
	uint32_t num_max[4];

	ok(requests_are(s, n, want, 4),
	   "connect: GET_FEATURES, GET/SET_PROTOCOL_FEATURES, SET_OWNER, nothing else");
	is_int(n == 4 ? s[2].u64 : 0, BIT(LBX_VU_PROTOCOL_F_MQ) | BIT(LBX_VU_PROTOCOL_F_REPLY_ACK),
	       "protocol features: REPLY_ACK and MQ, which the backend offers");
	is_int(rd(g->t, VIRTIO_MMIO_DEVICE_ID), 19, "DeviceID 19 (vsock)");
	vmm_virtio_mmio_io(g->t, VIRTIO_MMIO_CONFIG, cid, 8, false);
	is_int((uint64_t)vd_get32(cid) | (uint64_t)vd_get32(cid + 4) << 32, 3,
	       "config space: le64 guest_cid 3");
	for (unsigned q = 0; q < 4; q++) {
		wr(g->t, VIRTIO_MMIO_QUEUE_SEL, q);
		num_max[q] = rd(g->t, VIRTIO_MMIO_QUEUE_NUM_MAX);
	}
	ok(num_max[0] == 256 && num_max[1] == 256 && num_max[2] == 256 && num_max[3] == 0,
	   "three queues (rx, tx, event) of at most 256, no fourth");
}

static void test_features(struct guest *g, struct backend *b)
{
	uint64_t offered, hidden = BIT(VSOCK_F_NO_IMPLIED_STREAM) |
				   BIT(LBX_VU_F_PROTOCOL_FEATURES) | BIT(F_ACCESS_PLATFORM) |
				   BIT(F_RING_PACKED);

	pthread_mutex_lock(&b->lock);
	offered = b->offered;
	pthread_mutex_unlock(&b->lock);
	ok((offered & hidden) == hidden && (offered & BIT(VSOCK_F_SEQPACKET)),
	   "the backend offers SEQPACKET and bits lbx-vmm must hide (%#llx)",
	   (unsigned long long)offered);
	wr(g->t, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0);
	is_int(rd(g->t, VIRTIO_MMIO_DEVICE_FEATURES),
	       BIT(VSOCK_F_SEQPACKET) | BIT(LBX_VIRTIO_F_INDIRECT_DESC) |
		   BIT(LBX_VIRTIO_F_EVENT_IDX),
	       "features 0-31: SEQPACKET, INDIRECT_DESC, EVENT_IDX; not bit 2, not "
	       "PROTOCOL_FEATURES");
	wr(g->t, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 1);
	is_int(rd(g->t, VIRTIO_MMIO_DEVICE_FEATURES), 1,
	       "features 32-63: VERSION_1 only; not ACCESS_PLATFORM, not RING_PACKED");
	ok(!(negotiate(g->t, DRIVER_FEATURES | BIT(F_RING_PACKED)) & VIRTIO_STATUS_FEATURES_OK),
	   "driver acking RING_PACKED: FEATURES_OK refused");
	ok(!(negotiate(g->t, DRIVER_FEATURES | BIT(VSOCK_F_NO_IMPLIED_STREAM)) &
	     VIRTIO_STATUS_FEATURES_OK),
	   "driver acking hidden device bit 2: FEATURES_OK refused");
	ok(negotiate(g->t, DRIVER_FEATURES) & VIRTIO_STATUS_FEATURES_OK,
	   "driver acking VERSION_1, INDIRECT_DESC, SEQPACKET: FEATURES_OK");
}

static bool ring_addr_is(const struct guest *g, const struct seen *s, unsigned q)
{
	const struct vdrv *d = &g->q[q];

	return s->addr.index == q && s->addr.flags == 0 &&
	       s->addr.desc_uva == (uint64_t)(uintptr_t)(g->m->ram + d->desc_gpa) &&
	       s->addr.avail_uva == (uint64_t)(uintptr_t)(g->m->ram + d->avail_gpa) &&
	       s->addr.used_uva == (uint64_t)(uintptr_t)(g->m->ram + d->used_gpa);
}

/* The requests DRIVER_OK makes: features, memory, then each ready ring in full. */
static void test_driver_ok(struct guest *g, struct backend *b)
{
	static const uint32_t ring[] = { LBX_VU_SET_VRING_NUM,	LBX_VU_SET_VRING_ADDR,
					 LBX_VU_SET_VRING_BASE, LBX_VU_SET_VRING_KICK,
					 LBX_VU_SET_VRING_CALL, LBX_VU_SET_VRING_ERR,
					 LBX_VU_SET_VRING_ENABLE };
	uint32_t want[2 + 2 * 7] = { LBX_VU_SET_FEATURES, LBX_VU_SET_MEM_TABLE };
	struct seen s[SEEN_MAX];
	bool acked = true;
	unsigned n;

	for (unsigned i = 0; i < 14; i++)
		want[2 + i] = ring[i % 7];
	for (unsigned q = 0; q < NQ; q++)
		kick_fd[q] = g->t->q[q].kick_fd;
	ok(setup_queue(g, RXQ) && setup_queue(g, TXQ), "receive and transmit queues ready");
	n = seen_take(b, s);
	is_int(n, 0, "nothing reaches the backend before DRIVER_OK");
	ok((driver_ok(g->t) & (VIRTIO_STATUS_DRIVER_OK | VIRTIO_STATUS_NEEDS_RESET)) ==
	       VIRTIO_STATUS_DRIVER_OK,
	   "DRIVER_OK accepted, no DEVICE_NEEDS_RESET");
	n = seen_take(b, s);
	ok(requests_are(s, n, want, 16),
	   "DRIVER_OK: SET_FEATURES, SET_MEM_TABLE, then NUM ADDR BASE KICK CALL ERR ENABLE for "
	   "rings 0 and 1 (the event queue was not made ready)");
	if (n != 16)
		return;
	for (unsigned i = 0; i < n; i++)
		acked = acked && (s[i].flags & LBX_VU_FLAG_NEED_REPLY);
	ok(acked, "every setting request asks for REPLY_ACK");
	is_int(s[0].u64, DRIVER_FEATURES | BIT(LBX_VU_F_PROTOCOL_FEATURES),
	       "SET_FEATURES: what the driver acked, plus PROTOCOL_FEATURES");
	ok(s[1].table.nregions == 1 && s[1].nfds == 1 && s[1].table.regions[0].gpa == 0 &&
	       s[1].table.regions[0].size == RAM_SIZE &&
	       s[1].table.regions[0].uva == (uint64_t)(uintptr_t)g->m->ram &&
	       s[1].table.regions[0].mmap_offset == 0,
	   "SET_MEM_TABLE: one region, gpa 0, all of RAM, at lbx-vmm's mapping, offset 0");
	ok(s[1].fd_is_ram, "SET_MEM_TABLE carries the guest RAM memfd itself");
	for (unsigned q = 0; q < 2; q++) {
		const struct seen *r = &s[2 + 7 * q];

		ok(r[0].state.index == q && r[0].state.num == QSZ && r[2].state.index == q &&
		       r[2].state.num == 0,
		   "ring %u: SET_VRING_NUM %d, SET_VRING_BASE 0", q, QSZ);
		ok(ring_addr_is(g, &r[1], q),
		   "ring %u: SET_VRING_ADDR gives the driver's rings at lbx-vmm's mapping", q);
		ok(r[3].file.index == q && !r[3].file.nofd && r[3].fd_is_kick,
		   "ring %u: SET_VRING_KICK carries the transport's QueueNotify eventfd", q);
		ok(r[4].file.index == q && !r[4].file.nofd && r[4].fd_is_eventfd,
		   "ring %u: SET_VRING_CALL carries an eventfd", q);
		ok(r[5].file.index == q && !r[5].file.nofd && r[5].fd_is_eventfd && !r[5].fd_is_kick,
		   "ring %u: SET_VRING_ERR carries an eventfd of its own", q);
		ok(r[6].state.index == q && r[6].state.num == 1, "ring %u: SET_VRING_ENABLE 1", q);
	}
}

/* A buffer goes out on tx, through the backend, and comes back on rx. */
static void test_round_trip(struct guest *g, struct backend *b)
{
	static const char text[] = "hello, backend";
	unsigned kicks = counter(b, &b->tx_kicks);
	uint16_t rx_head, tx_head;
	uint32_t id = ~0U, len = ~0U;
	char got[64] = "";
	bool used;
	size_t n;

	irqs = 0;
	rx_head = post_rx(g);
	tx_head = send_tx(g, text);
	wr(g->t, VIRTIO_MMIO_QUEUE_NOTIFY, TXQ);
	ok(wait_kicks(b, kicks + 1), "QueueNotify reaches the backend through the kick eventfd");
	pthread_mutex_lock(&b->lock);
	n = b->payload_len;
	memcpy(got, b->payload, n < sizeof(got) - 1 ? n : sizeof(got) - 1);
	pthread_mutex_unlock(&b->lock);
	ok(n == strlen(text) && !strcmp(got, text), "the backend read the driver's bytes: '%s'",
	   got);
	is_int(rd(g->t, VIRTIO_MMIO_INTERRUPT_STATUS), 0,
	       "InterruptStatus still 0 before the main loop reads a call eventfd");
	ok(wait_isr(g) && irqs >= 1,
	   "the backend's call eventfd sets InterruptStatus bit 0 and raises the interrupt");
	settle(g);
	is_int(rd(g->t, VIRTIO_MMIO_INTERRUPT_STATUS), 0, "InterruptACK clears it");
	used = vd_get_used(&g->q[TXQ], &id, &len) == 1;
	ok(used && id == tx_head && len == 0,
	   "tx used ring: the sent buffer returned (id %u, len %u)", id, len);
	id = len = ~0U;
	used = vd_get_used(&g->q[RXQ], &id, &len) == 1;
	ok(used && id == rx_head && len == strlen(REPLY_TEXT) + strlen(text) &&
	       !memcmp(gp(g, RX_BUF + SLOT_SIZE * rx_head), REPLY_TEXT "hello, backend", len),
	   "rx used ring: '" REPLY_TEXT "%s' came back (id %u, len %u)", text, id, len);
	ok(echo_works(g, "second") && echo_works(g, "third"),
	   "later buffers in the next ring slots come back too");
}

/* Status 0: the backend is told to stop exactly the rings that were running. */
static void test_reset(struct guest *g, struct backend *b)
{
	static const uint32_t want[] = { LBX_VU_GET_VRING_BASE, LBX_VU_GET_VRING_BASE };
	struct seen s[SEEN_MAX];
	unsigned n;

	seen_take(b, s);
	wr(g->t, VIRTIO_MMIO_STATUS, 0);
	n = seen_take(b, s);
	ok(requests_are(s, n, want, 2) && s[0].state.index == 0 && s[1].state.index == 1,
	   "reset: GET_VRING_BASE for rings 0 and 1, nothing else");
	ok((bring_up(g) & VIRTIO_STATUS_DRIVER_OK) && echo_works(g, "after reset"),
	   "after a reset the driver brings the device up again and it works");
}

/* ---- malformed descriptor chains, queued on the transmit ring ---- */

static void put_table(struct guest *g, unsigned i, uint64_t addr, uint32_t len, uint16_t flags,
		      uint16_t next)
{
	vd_put_desc(gp(g, IND_TABLE), i, addr, len, flags, next);
}

static void chain_loop(struct guest *g, struct vdrv *d)
{
	vd_desc(d, 0, TX_BUF, 8, VD_F_NEXT, 1);
	vd_desc(d, 1, TX_BUF + 8, 8, VD_F_NEXT, 0);
	vd_publish(d, 0);
}

static void chain_past_ram(struct guest *g, struct vdrv *d)
{
	vd_desc(d, 0, RAM_SIZE - 4, 64, 0, 0);
	vd_publish(d, 0);
}

static void chain_far_away(struct guest *g, struct vdrv *d)
{
	vd_desc(d, 0, 1ULL << 40, 8, 0, 0);
	vd_publish(d, 0);
}

static void chain_huge_len(struct guest *g, struct vdrv *d)
{
	vd_desc(d, 0, TX_BUF, 0xffffffff, 0, 0);
	vd_publish(d, 0);
}

static void chain_bad_next(struct guest *g, struct vdrv *d)
{
	vd_desc(d, 0, TX_BUF, 8, VD_F_NEXT, 200);
	vd_publish(d, 0);
}

static void chain_bad_head(struct guest *g, struct vdrv *d)
{
	vd_desc(d, 0, TX_BUF, 8, 0, 0);
	vd_publish(d, 99);
}

static void chain_zero_len(struct guest *g, struct vdrv *d)
{
	vd_desc(d, 0, TX_BUF, 0, 0, 0);
	vd_publish(d, 0);
}

static void chain_read_after_write(struct guest *g, struct vdrv *d)
{
	vd_desc(d, 0, TX_BUF, 8, VD_F_WRITE | VD_F_NEXT, 1);
	vd_desc(d, 1, TX_BUF + 8, 8, 0, 0);
	vd_publish(d, 0);
}

static void chain_avail_jump(struct guest *g, struct vdrv *d)
{
	vd_desc(d, 0, TX_BUF, 8, 0, 0);
	vd_set_avail_idx(d, 100); /* more entries than the ring holds */
}

static void chain_ind_len(struct guest *g, struct vdrv *d)
{
	put_table(g, 0, TX_BUF, 8, 0, 0);
	put_table(g, 1, TX_BUF + 8, 8, 0, 0);
	vd_desc(d, 0, IND_TABLE, 24, VD_F_INDIRECT, 0);
	vd_publish(d, 0);
}

static void chain_ind_past_ram(struct guest *g, struct vdrv *d)
{
	vd_desc(d, 0, RAM_SIZE - 16, 32, VD_F_INDIRECT, 0);
	vd_publish(d, 0);
}

static void chain_ind_nested(struct guest *g, struct vdrv *d)
{
	put_table(g, 0, IND_TABLE + 0x100, 16, VD_F_INDIRECT, 0);
	vd_put_desc(gp(g, IND_TABLE + 0x100), 0, TX_BUF, 8, 0, 0);
	vd_desc(d, 0, IND_TABLE, 16, VD_F_INDIRECT, 0);
	vd_publish(d, 0);
}

static void chain_ind_next(struct guest *g, struct vdrv *d)
{
	put_table(g, 0, TX_BUF, 8, 0, 0);
	vd_desc(d, 0, IND_TABLE, 16, VD_F_INDIRECT | VD_F_NEXT, 1);
	vd_desc(d, 1, TX_BUF + 8, 8, 0, 0);
	vd_publish(d, 0);
}

static void chain_ind_loop(struct guest *g, struct vdrv *d)
{
	put_table(g, 0, TX_BUF, 8, VD_F_NEXT, 1);
	put_table(g, 1, TX_BUF + 8, 8, VD_F_NEXT, 0);
	vd_desc(d, 0, IND_TABLE, 32, VD_F_INDIRECT, 0);
	vd_publish(d, 0);
}

/* Each case with a fragment of the line the backend logs for it, proving which rule refused it. */
static const struct {
	const char *what;
	void (*build)(struct guest *g, struct vdrv *d);
	const char *why;
} bad_chains[] = {
	{ "descriptor loop", chain_loop, "chain loops (more than 16" },
	{ "buffer past the end of RAM", chain_past_ram, "0x1ffffc + 64 is not in guest memory" },
	{ "buffer at 1 TiB", chain_far_away, "0x10000000000 + 8 is not in guest memory" },
	{ "4 GiB buffer length", chain_huge_len, "+ 4294967295 is not in guest memory" },
	{ "next index out of range", chain_bad_next, "next index 200 out of range" },
	{ "head index out of range", chain_bad_head, "head index 99 out of range" },
	{ "zero-length buffer", chain_zero_len, "zero-length descriptor" },
	{ "readable after writable", chain_read_after_write, "follows a device-writable one" },
	{ "avail index a ring ahead", chain_avail_jump, "available index 100 is more than a ring" },
	{ "indirect table of 24 bytes", chain_ind_len, "indirect table length 24" },
	{ "indirect table past RAM", chain_ind_past_ram, "0x1ffff0 + 32 is not in guest memory" },
	{ "nested indirect", chain_ind_nested, "nested indirect descriptor" },
	{ "indirect with NEXT", chain_ind_next, "has NEXT set" },
	{ "loop in an indirect table", chain_ind_loop, "chain loops (more than 2 " },
};

static void test_bad_chains(struct guest *g, struct backend *b)
{
	for (size_t i = 0; i < LBX_ARRAY_SIZE(bad_chains); i++) {
		const char *what = bad_chains[i].what;
		unsigned kicks, bad;
		bool refused, told;

		wr(g->t, VIRTIO_MMIO_STATUS, 0);
		bring_up(g);
		post_rx(g);
		log_take();
		bad_chains[i].build(g, &g->q[TXQ]);
		kicks = counter(b, &b->tx_kicks);
		bad = counter(b, &b->bad_pops);
		wr(g->t, VIRTIO_MMIO_QUEUE_NOTIFY, TXQ);
		refused = wait_kicks(b, kicks + 1) && counter(b, &b->bad_pops) == bad + 1;
		told = wait_needs_reset(g);
		settle(g);
		ok(refused && strstr(log_take(), bad_chains[i].why) &&
		       vd_used_idx(&g->q[TXQ]) == 0 && vd_used_idx(&g->q[RXQ]) == 0 &&
		       !vmm_machine_stopping(g->m),
		   "%s: refused by the backend ('%s'), nothing used, the box keeps running", what,
		   bad_chains[i].why);
		ok(told, "%s: the driver is told (SET_VRING_ERR: DEVICE_NEEDS_RESET and a "
			 "configuration change interrupt)",
		   what);
		wr(g->t, VIRTIO_MMIO_STATUS, 0);
		ok((bring_up(g) & VIRTIO_STATUS_DRIVER_OK) && echo_works(g, what),
		   "%s: after a reset the device works again", what);
	}
}

/* ---- a backend that dies ---- */

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static bool killed(pid_t pid)
{
	int st = 0;

	return kill(pid, SIGKILL) == 0 && waitpid(pid, &st, 0) == pid && WIFSIGNALED(st);
}

static bool names_backend(const struct vmm_machine *mm, const char *path)
{
	return strstr(mm->stop_reason, "vhost-user vsock backend") && strstr(mm->stop_reason, path);
}

/* The backend process is killed while the device runs. */
static void test_backend_dies(const char *path)
{
	struct vmm_machine mm;
	struct guest g;
	char reason[sizeof(mm.stop_reason)];
	uint64_t n = 0;
	pid_t pid;
	double t0;

	if (machine_init(&mm, "lbx-test-ram-2") || (pid = backend_process(path)) < 0) {
		ok(0, "backend process started");
		return;
	}
	ok(guest_init(&g, &mm, path) == 0 && (bring_up(&g) & VIRTIO_STATUS_DRIVER_OK) &&
	       echo_works(&g, "to another process"),
	   "a backend in its own process serves the device");
	ok(killed(pid), "the backend process is killed (SIGKILL)");
	for (int i = 0; i < WAIT_MS / 10 && g.loop && !vmm_machine_stopping(&mm); i++)
		lbx_loop_run_once(g.loop, 10);
	ok(vmm_machine_stopping(&mm) && mm.exit_code == 1,
	   "the main loop sees the hang-up and stops the box with exit code 1");
	printf("# stop reason: %s\n", mm.stop_reason);
	ok(names_backend(&mm, path) && strstr(mm.stop_reason, "hung up"),
	   "the stop reason names the backend and says it hung up");
	ok(read(mm.stop_fd, &n, sizeof(n)) == sizeof(n) && n == 1,
	   "the stop eventfd wakes lbx-vmm's main loop");
	snprintf(reason, sizeof(reason), "%s", mm.stop_reason);
	t0 = now_s();
	if (g.t) {
		wr(g.t, VIRTIO_MMIO_QUEUE_NOTIFY, TXQ);
		wr(g.t, VIRTIO_MMIO_STATUS, 0);
	}
	ok(g.t && now_s() - t0 < 1.0 && !strcmp(reason, mm.stop_reason),
	   "afterwards QueueNotify and reset return at once; the first reason stands");
	ok(g.t && (bring_up(&g) & VIRTIO_STATUS_NEEDS_RESET),
	   "DRIVER_OK after the death: DEVICE_NEEDS_RESET");
	guest_free(&g);
	vmm_machine_destroy(&mm);
	unlink(path);
}

/* The backend dies between connecting and DRIVER_OK. */
static void test_backend_dies_before_driver_ok(const char *path)
{
	struct vmm_machine mm;
	struct guest g;
	uint32_t status = 0;
	pid_t pid;
	double t0;

	if (machine_init(&mm, "lbx-test-ram-3") || (pid = backend_process(path)) < 0) {
		ok(0, "backend process started");
		return;
	}
	if (guest_init(&g, &mm, path) == 0) {
		negotiate(g.t, DRIVER_FEATURES);
		setup_queue(&g, RXQ);
		setup_queue(&g, TXQ);
	}
	ok(killed(pid) && g.t, "connected, then the backend process is killed");
	t0 = now_s();
	if (g.t)
		status = driver_ok(g.t);
	ok((status & VIRTIO_STATUS_NEEDS_RESET) && now_s() - t0 < 1.0,
	   "DRIVER_OK with a dead backend: DEVICE_NEEDS_RESET at once");
	printf("# stop reason: %s\n", mm.stop_reason);
	ok(vmm_machine_stopping(&mm) && mm.exit_code == 1 && names_backend(&mm, path),
	   "the box stops with a reason naming the backend");
	guest_free(&g);
	vmm_machine_destroy(&mm);
	unlink(path);
}

static void test_no_backend(const char *path)
{
	struct vmm_machine mm;
	struct vmm_vhost_dev *v = NULL;
	struct vmm_vhost_spec spec = { .type = VMM_VHOST_VSOCK, .socket = path };

	if (machine_init(&mm, "lbx-test-ram-4")) {
		ok(0, "machine");
		return;
	}
	is_int(vmm_vhost_dev_connect(&v, &spec, &mm), -ENOENT,
	       "no backend at the socket path: connect fails with ENOENT");
	vmm_vhost_dev_free(v);
	vmm_machine_destroy(&mm);
}

int main(void)
{
	static struct backend b;
	char dir[] = "/tmp/lbx-vhost-frontend-XXXXXX", path[96], path2[96], path3[96];
	struct guest g;
	int rc;

	lbx_log_init("test-vhost-frontend");
	signal(SIGPIPE, SIG_IGN);
	if (!mkdtemp(dir) || machine_init(&m, "lbx-test-ram") || log_capture_start()) {
		printf("Bail out! cannot create a temporary directory or guest RAM\n");
		return 1;
	}
	snprintf(path, sizeof(path), "%s/vsock.sock", dir);
	snprintf(path2, sizeof(path2), "%s/dies.sock", dir);
	snprintf(path3, sizeof(path3), "%s/none.sock", dir);
	if (backend_start(&b, path)) {
		printf("Bail out! cannot start the test backend\n");
		return 1;
	}
	rc = guest_init(&g, &m, path);
	is_int(rc, 0, "lbx-vmm connects to the backend");
	if (rc == 0) {
		test_handshake(&g, &b);
		test_features(&g, &b);
		test_driver_ok(&g, &b);
		test_round_trip(&g, &b);
		test_reset(&g, &b);
		test_bad_chains(&g, &b);
	}
	guest_free(&g);
	backend_stop(&b);
	unlink(path);
	test_backend_dies(path2);
	test_backend_dies_before_driver_ok(path2);
	test_no_backend(path3);
	log_capture_end();
	vmm_machine_destroy(&m);
	rmdir(dir);
	return tap_done();
}
