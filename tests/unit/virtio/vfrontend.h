/* SPDX-License-Identifier: MIT */
/*
 * The vhost-user front-end's side (QEMU docs/interop/vhost-user.rst), for
 * device-model tests: the test is the VMM, talking to a back-end over one
 * end of a socketpair, with guest RAM in a memfd that it maps itself and
 * hands over with SET_MEM_TABLE. Together with vdriver.h (the guest
 * driver's rings) a test drives a whole vhost-user device without KVM or
 * QEMU.
 *
 * The back-end runs on an lbx_loop in the same process: every message and
 * kick is followed by a pump of that loop (every ready event dispatched,
 * no waiting), so each step of a test is deterministic. Guest-physical
 * address 0 is the first byte of the memfd; the front-end's "user virtual
 * address" of a gpa is our mapping's address plus the gpa.
 *
 * Header-only, like vdriver.h; nothing here reports TAP results, so the
 * caller decides what a failure means.
 */
#ifndef LBX_TEST_VFRONTEND_H
#define LBX_TEST_VFRONTEND_H

#include <dirent.h>
#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "evloop.h"
#include "vdriver.h"
#include "vhost_user.h"
#include "vhost_user_backend.h"
#include "virtq.h"

#define VFE_F(b) (1ull << (b))

struct vfe {
	struct lbx_loop *loop;	/* the back-end's loop, pumped after each step */
	struct lbx_vu_dev *dev; /* what vfe_connect attaches the socket to */
	int sock;		/* our end of the vhost-user socket; -1: none */
	int memfd;		/* guest RAM */
	uint8_t *mem;		/* our mapping of it: gpa 0 is mem[0] */
	size_t mem_size;
};

/* One virtqueue as front-end and guest driver see it. */
struct vfe_vq {
	unsigned index;
	struct vdrv d;
	int kick, call, err; /* non-blocking eventfds */
};

/* Guest RAM of size bytes in a memfd, mapped shared. 0 or -errno. */
static inline int vfe_mem_init(struct vfe *f, size_t size)
{
	f->memfd = memfd_create("lbx-test-vfe", MFD_CLOEXEC);
	if (f->memfd < 0)
		return -errno;
	if (ftruncate(f->memfd, (off_t)size) < 0)
		return -errno;
	f->mem = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, f->memfd, 0);
	if (f->mem == MAP_FAILED) {
		f->mem = NULL;
		return -errno;
	}
	f->mem_size = size;
	return 0;
}

static inline void vfe_mem_free(struct vfe *f)
{
	if (f->mem)
		munmap(f->mem, f->mem_size);
	if (f->memfd >= 0)
		close(f->memfd);
	f->mem = NULL;
	f->memfd = -1;
}

static inline uint64_t vfe_uva(const struct vfe *f, uint64_t gpa)
{
	return (uint64_t)(uintptr_t)f->mem + gpa;
}

/* Let the back-end handle everything that is ready now. */
static inline void vfe_pump(struct vfe *f)
{
	if (f->loop)
		while (lbx_loop_run_once(f->loop, 0) > 0)
			;
}

static inline bool vfe_readable(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	return poll(&p, 1, 0) == 1;
}

/* Send, let the back-end run, collect a reply: 1 reply, 0 none, <0 session gone. */
static inline int vfe_request(struct vfe *f, struct lbx_vu_msg *m, struct lbx_vu_msg *reply)
{
	int err = lbx_vu_send(f->sock, m);

	if (err)
		return err;
	vfe_pump(f);
	if (!vfe_readable(f->sock))
		return 0;
	err = lbx_vu_recv(f->sock, reply);
	return err ? err : 1;
}

/* A request with NEED_REPLY: the REPLY_ACK value, or -1 without a proper ack. */
static inline int64_t vfe_acked(struct vfe *f, struct lbx_vu_msg *m)
{
	struct lbx_vu_msg r;
	uint64_t v;

	m->flags |= LBX_VU_FLAG_NEED_REPLY;
	if (vfe_request(f, m, &r) != 1 || lbx_vu_check_reply(&r, m->request) ||
	    lbx_vu_decode_u64(&r, &v))
		return -1;
	return (int64_t)v;
}

/* GET_FEATURES, GET_PROTOCOL_FEATURES, GET_QUEUE_NUM: the value, UINT64_MAX on failure. */
static inline uint64_t vfe_get_u64(struct vfe *f, uint32_t req)
{
	struct lbx_vu_msg m, r;
	uint64_t v;

	lbx_vu_encode_empty(&m, req, 0);
	if (vfe_request(f, &m, &r) != 1 || lbx_vu_check_reply(&r, req) || lbx_vu_decode_u64(&r, &v))
		return UINT64_MAX;
	return v;
}

static inline int64_t vfe_set_state(struct vfe *f, uint32_t req, uint32_t index, uint32_t num)
{
	struct lbx_vu_msg m;
	struct lbx_vu_vring_state s = { index, num };

	if (lbx_vu_encode_vring_state(&m, req, 0, &s))
		return -1;
	return vfe_acked(f, &m);
}

static inline int64_t vfe_set_fd(struct vfe *f, uint32_t req, uint32_t index, int fd)
{
	struct lbx_vu_msg m;

	if (lbx_vu_encode_vring_file(&m, req, 0, index, fd))
		return -1;
	return vfe_acked(f, &m);
}

static inline int64_t vfe_set_u64(struct vfe *f, uint32_t req, uint64_t v)
{
	struct lbx_vu_msg m;

	if (lbx_vu_encode_u64(&m, req, 0, v))
		return -1;
	return vfe_acked(f, &m);
}

static inline int64_t vfe_set_mem(struct vfe *f, const struct lbx_vu_mem_region *regions,
				  uint32_t n, const int *fds)
{
	struct lbx_vu_mem_table t = { .nregions = n };
	struct lbx_vu_msg m;

	memcpy(t.regions, regions, n * sizeof(*regions));
	if (lbx_vu_encode_mem_table(&m, 0, &t, fds))
		return -1;
	return vfe_acked(f, &m);
}

static inline int64_t vfe_set_addr(struct vfe *f, uint32_t index, uint64_t desc, uint64_t avail,
				   uint64_t used)
{
	struct lbx_vu_msg m;
	struct lbx_vu_vring_addr a = {
		.index = index, .desc_uva = desc, .avail_uva = avail, .used_uva = used
	};

	if (lbx_vu_encode_vring_addr(&m, 0, &a))
		return -1;
	return vfe_acked(f, &m);
}

/* All of guest RAM as one region at gpa 0. */
static inline struct lbx_vu_mem_region vfe_whole_mem(const struct vfe *f)
{
	return (struct lbx_vu_mem_region){
		.gpa = 0, .size = f->mem_size, .uva = vfe_uva(f, 0), .mmap_offset = 0
	};
}

/* GET_CONFIG of [offset, offset + len): 0, or -1 without a reply of that size. */
static inline int vfe_get_config(struct vfe *f, uint32_t offset, void *buf, uint32_t len)
{
	struct lbx_vu_config c = { .offset = offset, .size = len }, got;
	struct lbx_vu_msg m, r;

	if (len > LBX_VU_MAX_CONFIG_SIZE || lbx_vu_encode_config(&m, LBX_VU_GET_CONFIG, 0, &c) ||
	    vfe_request(f, &m, &r) != 1 || lbx_vu_check_reply(&r, LBX_VU_GET_CONFIG) ||
	    lbx_vu_decode_config(&r, &got) || got.size != len)
		return -1;
	memcpy(buf, got.data, len);
	return 0;
}

/* A socketpair, the back-end's end attached to f->dev. 0 or -errno. */
static inline int vfe_connect(struct vfe *f)
{
	int sv[2], err;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return -errno;
	err = lbx_vu_dev_attach(f->dev, sv[1]);
	if (err < 0) {
		close(sv[0]);
		return err;
	}
	f->sock = sv[0];
	return 0;
}

static inline void vfe_disconnect(struct vfe *f)
{
	close(f->sock);
	f->sock = -1;
	vfe_pump(f);
}

/* Read and reset an eventfd: its count, 0 if it was not signalled. */
static inline uint64_t vfe_drain(int fd)
{
	uint64_t v = 0;

	return read(fd, &v, sizeof(v)) == sizeof(v) ? v : 0;
}

/* Kick the queue and let the back-end run. 0 or -1 if the eventfd write failed. */
static inline int vfe_kick(struct vfe *f, const struct vfe_vq *q)
{
	uint64_t one = 1;
	int rc = write(q->kick, &one, sizeof(one)) == sizeof(one) ? 0 : -1;

	vfe_pump(f);
	return rc;
}

/*
 * Lay out queue index of qsize descriptors in guest RAM from base (a
 * multiple of 4096) with vd_layout, and make its eventfds. 0 or -errno.
 */
static inline int vfe_vq_init(struct vfe *f, struct vfe_vq *q, unsigned index, uint64_t base,
			      uint16_t qsize)
{
	q->index = index;
	q->d.mem = f->mem + base;
	q->d.mem_gpa = base;
	q->d.mem_size = f->mem_size - base;
	vd_layout(&q->d, qsize);
	q->kick = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	q->call = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	q->err = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	return q->kick < 0 || q->call < 0 || q->err < 0 ? -EMFILE : 0;
}

static inline void vfe_vq_free(struct vfe_vq *q)
{
	if (q->kick >= 0)
		close(q->kick);
	if (q->call >= 0)
		close(q->call);
	if (q->err >= 0)
		close(q->err);
	q->kick = q->call = q->err = -1;
}

/*
 * Start the queue as QEMU does: NUM, BASE 0, ADDR, CALL, ERR, KICK, then
 * ENABLE 1. 0 when every step was acked 0.
 */
static inline int vfe_vq_start(struct vfe *f, struct vfe_vq *q)
{
	const struct vdrv *d = &q->d;

	if (vfe_set_state(f, LBX_VU_SET_VRING_NUM, q->index, d->size) ||
	    vfe_set_state(f, LBX_VU_SET_VRING_BASE, q->index, 0) ||
	    vfe_set_addr(f, q->index, vfe_uva(f, d->desc_gpa), vfe_uva(f, d->avail_gpa),
			 vfe_uva(f, d->used_gpa)) ||
	    vfe_set_fd(f, LBX_VU_SET_VRING_CALL, q->index, q->call) ||
	    vfe_set_fd(f, LBX_VU_SET_VRING_ERR, q->index, q->err) ||
	    vfe_set_fd(f, LBX_VU_SET_VRING_KICK, q->index, q->kick) ||
	    vfe_set_state(f, LBX_VU_SET_VRING_ENABLE, q->index, 1))
		return -1;
	return 0;
}

/*
 * The session set-up QEMU does before any ring: GET_FEATURES, SET_OWNER,
 * GET/SET_PROTOCOL_FEATURES (what is offered of MQ, REPLY_ACK, CONFIG;
 * REPLY_ACK is required, every later step is acked), SET_FEATURES with
 * everything offered except dirty logging, SET_MEM_TABLE of all RAM.
 * Returns the features acked, or 0 if a step failed.
 */
static inline uint64_t vfe_handshake(struct vfe *f)
{
	uint64_t want = VFE_F(LBX_VU_PROTOCOL_F_MQ) | VFE_F(LBX_VU_PROTOCOL_F_REPLY_ACK) |
			VFE_F(LBX_VU_PROTOCOL_F_CONFIG);
	uint64_t feats = vfe_get_u64(f, LBX_VU_GET_FEATURES), proto;
	struct lbx_vu_mem_region reg = vfe_whole_mem(f);
	struct lbx_vu_msg m, r;

	if (feats == UINT64_MAX || !(feats & VFE_F(LBX_VU_F_PROTOCOL_FEATURES)))
		return 0;
	feats &= ~VFE_F(LBX_VU_F_LOG_ALL);
	lbx_vu_encode_empty(&m, LBX_VU_SET_OWNER, 0);
	if (vfe_request(f, &m, &r) != 0)
		return 0;
	proto = vfe_get_u64(f, LBX_VU_GET_PROTOCOL_FEATURES);
	if (proto == UINT64_MAX || !(proto & VFE_F(LBX_VU_PROTOCOL_F_REPLY_ACK)))
		return 0;
	if (lbx_vu_encode_u64(&m, LBX_VU_SET_PROTOCOL_FEATURES, 0, proto & want) ||
	    vfe_request(f, &m, &r) != 0)
		return 0;
	if (vfe_set_u64(f, LBX_VU_SET_FEATURES, feats) || vfe_set_mem(f, &reg, 1, &f->memfd))
		return 0;
	return feats;
}

/* Open file descriptors of this process (for "no fd leaked" checks). */
static inline int vfe_count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	int n = 0;

	if (!d)
		return -1;
	while (readdir(d))
		n++;
	closedir(d);
	return n;
}

#endif
