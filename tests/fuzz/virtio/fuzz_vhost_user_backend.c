/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for the vhost-user back-end library as a whole
 * (common/vhost_user_backend.c): a fuzzed front-end session against an
 * echo device, over a socketpair, with real fds.
 *
 * Input: a flags byte, a u16 length L and L bytes copied to the start of a
 * 64 KiB memfd (the guest memory image: rings, descriptors, buffers), then
 * a stream of vhost-user messages. With flag bit 0 the harness first
 * plays a valid QEMU-style set-up (features, the whole memfd as one region
 * at uva CANNED_UVA, queue 0 of 16 with its descriptor table at offset 0,
 * avail ring at 0x100 and used ring at 0x200, kick and call), so that the
 * image is processed as a running ring from the first kick. The harness attaches fds the way a
 * front-end would: the memfd once per region to SET_MEM_TABLE, a fresh eventfd to
 * SET_VRING_KICK/CALL/ERR (unless the no-fd bit is set) and to the log
 * requests. After each message it kicks every kick eventfd it has handed
 * out, so rings that got started are processed with the image's contents.
 *
 * Invariants: no crash or sanitizer report; replies always parse as
 * replies; the session either survives the stream or ends, and once the
 * harness hangs up the device is disconnected with its memory unmapped;
 * and no fd leaks from one input to the next.
 */
#include <dirent.h>
#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "evloop.h"
#include "log.h"
#include "vhost_user.h"
#include "vhost_user_backend.h"
#include "vfrontend.h"
#include "virtq.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                                                \
	do {                                                                                       \
		if (!(cond))                                                                       \
			abort();                                                                   \
	} while (0)

#define MEM_SIZE     65536
#define MAX_EVENTFDS 64
#define CANNED_UVA   0x7f0000000000ull

static int memfd = -1;
static uint8_t *image;

static void echo_kicked(struct lbx_vu_dev *dev, unsigned qidx, struct lbx_virtq *q)
{
	static struct lbx_virtq_chain c;
	static uint8_t tmp[4096];

	while (lbx_virtq_pop(q, &c) == 1) {
		size_t n = lbx_iov_to_buf(c.rd, c.nrd, 0, tmp, LBX_MIN(sizeof(tmp), c.wr_len));

		lbx_vu_dev_push(dev, qidx, c.head,
				(uint32_t)lbx_iov_from_buf(c.wr, c.nwr, 0, tmp, n));
	}
	lbx_vu_dev_notify(dev, qidx);
}

static int echo_get_config(struct lbx_vu_dev *dev, uint32_t off, void *buf, uint32_t len)
{
	memset(buf, 0x5a, len);
	return 0;
}

static const struct lbx_vu_ops ops = {
	.name = "fuzz",
	.num_queues = 2,
	.config_size = 16,
	.queue_kicked = echo_kicked,
	.get_config = echo_get_config,
};

struct harness {
	struct lbx_loop *loop;
	struct lbx_vu_dev *dev;
	int sock;
	int efds[MAX_EVENTFDS];
	unsigned nefds;
};

static void pump(struct harness *h)
{
	while (lbx_loop_run_once(h->loop, 0) > 0)
		;
}

/* Read every reply waiting; each must be a well-formed reply. */
static void drain_replies(struct harness *h)
{
	struct pollfd p = { .fd = h->sock, .events = POLLIN };
	struct lbx_vu_msg r;

	while (poll(&p, 1, 0) == 1 && (p.revents & POLLIN)) {
		int err = lbx_vu_recv(h->sock, &r);

		if (err)
			return; /* the back-end hung up */
		CHECK(r.flags & LBX_VU_FLAG_REPLY);
		CHECK(r.nfds == 0);
		lbx_vu_msg_close_fds(&r);
	}
}

static int new_eventfd(struct harness *h)
{
	int fd;

	if (h->nefds == MAX_EVENTFDS)
		return -1;
	fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (fd >= 0)
		h->efds[h->nefds++] = fd;
	return fd;
}

/* The fds a front-end would send with this message. */
static unsigned pick_fds(struct harness *h, const struct lbx_vu_msg *m, int *fds)
{
	unsigned n = 0;

	switch (m->request) {
	case LBX_VU_SET_MEM_TABLE:
		n = m->size >= 1 ? m->payload[0] % (LBX_VU_MAX_FDS + 1) : 0;
		for (unsigned i = 0; i < n; i++)
			fds[i] = memfd;
		return n;
	case LBX_VU_SET_VRING_KICK:
	case LBX_VU_SET_VRING_CALL:
	case LBX_VU_SET_VRING_ERR:
		if (m->size >= 2 && (m->payload[1] & 1))
			return 0; /* the no-fd bit */
				  /* fall through */
	case LBX_VU_SET_LOG_BASE:
	case LBX_VU_SET_LOG_FD: fds[0] = new_eventfd(h); return fds[0] >= 0;
	default: return 0;
	}
}

static void kick_all(struct harness *h)
{
	uint64_t one = 1;

	for (unsigned i = 0; i < h->nefds; i++)
		if (write(h->efds[i], &one, sizeof(one)) < 0)
			continue;
	pump(h);
}

static void send_and_run(struct harness *h, struct lbx_vu_msg *m)
{
	if (lbx_vu_send(h->sock, m))
		return;
	pump(h);
	drain_replies(h);
	kick_all(h);
	drain_replies(h);
}

static void canned_setup(struct harness *h)
{
	struct lbx_vu_mem_table t = {
		.nregions = 1, .regions = { { .gpa = 0, .size = MEM_SIZE, .uva = CANNED_UVA } }
	};
	struct lbx_vu_vring_state num = { 0, 16 };
	struct lbx_vu_vring_addr a = { .index = 0,
				       .desc_uva = CANNED_UVA,
				       .avail_uva = CANNED_UVA + 0x100,
				       .used_uva = CANNED_UVA + 0x200 };
	uint64_t features = (1ull << LBX_VIRTIO_F_VERSION_1) |
			    (1ull << LBX_VIRTIO_F_INDIRECT_DESC) | (1ull << LBX_VIRTIO_F_EVENT_IDX);
	struct lbx_vu_msg m;

	CHECK(lbx_vu_encode_u64(&m, LBX_VU_SET_FEATURES, 0, features) == 0);
	send_and_run(h, &m);
	CHECK(lbx_vu_encode_mem_table(&m, 0, &t, &memfd) == 0);
	send_and_run(h, &m);
	CHECK(lbx_vu_encode_vring_state(&m, LBX_VU_SET_VRING_NUM, 0, &num) == 0);
	send_and_run(h, &m);
	CHECK(lbx_vu_encode_vring_addr(&m, 0, &a) == 0);
	send_and_run(h, &m);
	CHECK(lbx_vu_encode_vring_file(&m, LBX_VU_SET_VRING_CALL, 0, 0, new_eventfd(h)) == 0);
	send_and_run(h, &m);
	CHECK(lbx_vu_encode_vring_file(&m, LBX_VU_SET_VRING_KICK, 0, 0, new_eventfd(h)) == 0);
	send_and_run(h, &m);
	CHECK(lbx_vu_dev_queue(h->dev, 0) != NULL || lbx_vu_dev_mem(h->dev)->nregions == 1);
}

static void play(struct harness *h, const uint8_t *data, size_t size)
{
	while (size >= LBX_VU_HDR_SIZE && lbx_vu_dev_connected(h->dev)) {
		struct lbx_vu_msg m;
		int err = lbx_vu_decode_hdr(data, LBX_VU_HDR_SIZE, &m);

		if (err || m.size > size - LBX_VU_HDR_SIZE)
			break;
		memcpy(m.payload, data + LBX_VU_HDR_SIZE, m.size);
		data += LBX_VU_HDR_SIZE + m.size;
		size -= LBX_VU_HDR_SIZE + m.size;
		m.nfds = pick_fds(h, &m, m.fds);
		send_and_run(h, &m);
	}
	/* Whatever is left goes out raw: truncated and garbage messages. */
	if (size && lbx_vu_dev_connected(h->dev) && send(h->sock, data, size, MSG_NOSIGNAL) < 0)
		return;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct harness h = { 0 };
	int sv[2], fds_before;
	bool canned;
	size_t len;

	if (memfd < 0) {
		lbx_log_set_level(LBX_LOG_ERROR);
		lbx_log_set_fd(-1); /* refusals are expected, and logged by the dozen */
		memfd = memfd_create("fuzz-guest", MFD_CLOEXEC);
		CHECK(memfd >= 0 && ftruncate(memfd, MEM_SIZE) == 0);
		image = mmap(NULL, MEM_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, memfd, 0);
		CHECK(image != MAP_FAILED);
	}
	if (size < 3)
		return 0;
	canned = data[0] & 1;
	len = LBX_MIN((size_t)(data[1] | data[2] << 8), size - 3);
	memset(image, 0, MEM_SIZE);
	memcpy(image, data + 3, LBX_MIN(len, (size_t)MEM_SIZE));
	data += 3 + len;
	size -= 3 + len;

	fds_before = vfe_count_fds();
	h.loop = lbx_loop_new();
	h.dev = lbx_vu_dev_new(h.loop, &ops, NULL);
	CHECK(h.loop && h.dev);
	CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
	CHECK(lbx_vu_dev_attach(h.dev, sv[1]) == 0);
	h.sock = sv[0];

	if (canned)
		canned_setup(&h);
	play(&h, data, size);
	/* Hang up: the back-end must notice, whatever state it is in. */
	shutdown(h.sock, SHUT_WR);
	pump(&h);
	CHECK(!lbx_vu_dev_connected(h.dev));
	CHECK(lbx_vu_dev_mem(h.dev)->nregions == 0);
	close(h.sock);
	lbx_vu_dev_free(h.dev);
	lbx_loop_free(h.loop);
	for (unsigned i = 0; i < h.nefds; i++)
		close(h.efds[i]);
	CHECK(vfe_count_fds() == fds_before);
	return 0;
}
