/* SPDX-License-Identifier: MIT */
#include "vhost_user.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "reader.h"
#include "writer.h"

static const char *const request_names[] = {
	[LBX_VU_GET_FEATURES] = "GET_FEATURES",
	[LBX_VU_SET_FEATURES] = "SET_FEATURES",
	[LBX_VU_SET_OWNER] = "SET_OWNER",
	[LBX_VU_RESET_OWNER] = "RESET_OWNER",
	[LBX_VU_SET_MEM_TABLE] = "SET_MEM_TABLE",
	[LBX_VU_SET_LOG_BASE] = "SET_LOG_BASE",
	[LBX_VU_SET_LOG_FD] = "SET_LOG_FD",
	[LBX_VU_SET_VRING_NUM] = "SET_VRING_NUM",
	[LBX_VU_SET_VRING_ADDR] = "SET_VRING_ADDR",
	[LBX_VU_SET_VRING_BASE] = "SET_VRING_BASE",
	[LBX_VU_GET_VRING_BASE] = "GET_VRING_BASE",
	[LBX_VU_SET_VRING_KICK] = "SET_VRING_KICK",
	[LBX_VU_SET_VRING_CALL] = "SET_VRING_CALL",
	[LBX_VU_SET_VRING_ERR] = "SET_VRING_ERR",
	[LBX_VU_GET_PROTOCOL_FEATURES] = "GET_PROTOCOL_FEATURES",
	[LBX_VU_SET_PROTOCOL_FEATURES] = "SET_PROTOCOL_FEATURES",
	[LBX_VU_GET_QUEUE_NUM] = "GET_QUEUE_NUM",
	[LBX_VU_SET_VRING_ENABLE] = "SET_VRING_ENABLE",
	[LBX_VU_SEND_RARP] = "SEND_RARP",
	[LBX_VU_NET_SET_MTU] = "NET_SET_MTU",
	[LBX_VU_SET_BACKEND_REQ_FD] = "SET_BACKEND_REQ_FD",
	[LBX_VU_IOTLB_MSG] = "IOTLB_MSG",
	[LBX_VU_SET_VRING_ENDIAN] = "SET_VRING_ENDIAN",
	[LBX_VU_GET_CONFIG] = "GET_CONFIG",
	[LBX_VU_SET_CONFIG] = "SET_CONFIG",
	[LBX_VU_GET_INFLIGHT_FD] = "GET_INFLIGHT_FD",
	[LBX_VU_SET_INFLIGHT_FD] = "SET_INFLIGHT_FD",
	[LBX_VU_RESET_DEVICE] = "RESET_DEVICE",
	[LBX_VU_GET_MAX_MEM_SLOTS] = "GET_MAX_MEM_SLOTS",
	[LBX_VU_ADD_MEM_REG] = "ADD_MEM_REG",
	[LBX_VU_REM_MEM_REG] = "REM_MEM_REG",
	[LBX_VU_SET_STATUS] = "SET_STATUS",
	[LBX_VU_GET_STATUS] = "GET_STATUS",
};

const char *lbx_vu_request_name(uint32_t request)
{
	if (request < LBX_ARRAY_SIZE(request_names) && request_names[request])
		return request_names[request];
	return "unknown";
}

/* ---- header and transport ---- */

int lbx_vu_decode_hdr(const void *buf, size_t len, struct lbx_vu_msg *msg)
{
	struct lbx_reader r;
	int err;

	lbx_reader_init(&r, buf, len);
	err = lbx_read_u32le(&r, &msg->request);
	if (!err)
		err = lbx_read_u32le(&r, &msg->flags);
	if (!err)
		err = lbx_read_u32le(&r, &msg->size);
	if (err)
		return err;
	if ((msg->flags & LBX_VU_VERSION_MASK) != LBX_VU_VERSION)
		return -EPROTO;
	if (msg->size > LBX_VU_MAX_PAYLOAD)
		return -EMSGSIZE;
	return 0;
}

void lbx_vu_msg_close_fds(struct lbx_vu_msg *msg)
{
	for (unsigned i = 0; i < msg->nfds; i++)
		if (msg->fds[i] >= 0)
			close(msg->fds[i]);
	msg->nfds = 0;
}

/* Keep the fds of one SCM_RIGHTS block; beyond the limit they are closed. */
static int take_fds(struct lbx_vu_msg *msg, struct msghdr *mh)
{
	int err = (mh->msg_flags & MSG_CTRUNC) ? -E2BIG : 0;

	for (struct cmsghdr *c = CMSG_FIRSTHDR(mh); c; c = CMSG_NXTHDR(mh, c)) {
		size_t n;

		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (size_t i = 0; i < n; i++) {
			int fd;

			memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(fd));
			if (msg->nfds < LBX_VU_MAX_FDS) {
				msg->fds[msg->nfds++] = fd;
			} else {
				close(fd);
				err = -E2BIG;
			}
		}
	}
	return err;
}

/* Read exactly len bytes of header, collecting fds from every segment. */
static int recv_hdr(int sock, struct lbx_vu_msg *msg, uint8_t *hdr, size_t len)
{
	size_t got = 0;
	int err = 0;

	while (got < len) {
		union {
			char buf[CMSG_SPACE(sizeof(int) * LBX_VU_MAX_FDS)];
			struct cmsghdr align;
		} ctl;
		struct iovec iov = { hdr + got, len - got };
		struct msghdr mh = { .msg_iov = &iov,
				     .msg_iovlen = 1,
				     .msg_control = ctl.buf,
				     .msg_controllen = sizeof(ctl.buf) };
		ssize_t n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC | MSG_WAITALL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return got ? -EPIPE : -ECONNRESET;
		if (take_fds(msg, &mh))
			err = -E2BIG;
		got += (size_t)n;
	}
	return err;
}

static int recv_all(int sock, void *buf, size_t len)
{
	size_t got = 0;

	while (got < len) {
		ssize_t n = recv(sock, (uint8_t *)buf + got, len - got, MSG_WAITALL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -EPIPE;
		got += (size_t)n;
	}
	return 0;
}

int lbx_vu_recv(int sock, struct lbx_vu_msg *msg)
{
	uint8_t hdr[LBX_VU_HDR_SIZE];
	int err;

	msg->nfds = 0;
	msg->size = 0;
	err = recv_hdr(sock, msg, hdr, sizeof(hdr));
	if (!err)
		err = lbx_vu_decode_hdr(hdr, sizeof(hdr), msg);
	if (!err)
		err = recv_all(sock, msg->payload, msg->size);
	if (err)
		lbx_vu_msg_close_fds(msg);
	return err;
}

int lbx_vu_send(int sock, const struct lbx_vu_msg *msg)
{
	uint8_t hdr[LBX_VU_HDR_SIZE];
	union {
		char buf[CMSG_SPACE(sizeof(int) * LBX_VU_MAX_FDS)];
		struct cmsghdr align;
	} ctl;
	struct iovec iov[2] = { { hdr, sizeof(hdr) }, { (void *)msg->payload, msg->size } };
	struct msghdr mh = { .msg_iov = iov, .msg_iovlen = 2 };
	size_t total = sizeof(hdr) + msg->size, sent = 0;

	if (msg->size > LBX_VU_MAX_PAYLOAD || msg->nfds > LBX_VU_MAX_FDS)
		return -EINVAL;
	lbx_put_u32le(hdr, msg->request);
	lbx_put_u32le(hdr + 4, msg->flags);
	lbx_put_u32le(hdr + 8, msg->size);
	if (msg->nfds) {
		struct cmsghdr *c;

		memset(&ctl, 0, sizeof(ctl));
		mh.msg_control = ctl.buf;
		mh.msg_controllen = CMSG_SPACE(sizeof(int) * msg->nfds);
		c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int) * msg->nfds);
		memcpy(CMSG_DATA(c), msg->fds, sizeof(int) * msg->nfds);
	}
	while (sent < total) {
		ssize_t n = sendmsg(sock, &mh, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		sent += (size_t)n;
		/* A short send: the fds went with the first part; send the rest. */
		mh.msg_control = NULL;
		mh.msg_controllen = 0;
		for (size_t skip = (size_t)n; skip;) {
			size_t step = LBX_MIN(skip, mh.msg_iov[0].iov_len);

			mh.msg_iov[0].iov_base = (uint8_t *)mh.msg_iov[0].iov_base + step;
			mh.msg_iov[0].iov_len -= step;
			skip -= step;
			if (mh.msg_iov[0].iov_len == 0 && mh.msg_iovlen > 1) {
				mh.msg_iov++;
				mh.msg_iovlen--;
			}
		}
	}
	return 0;
}

/* ---- payload decoders ---- */

static void payload_reader(const struct lbx_vu_msg *msg, struct lbx_reader *r)
{
	/* An oversized size cannot come from lbx_vu_recv; read nothing if it does. */
	lbx_reader_init(r, msg->payload, msg->size <= LBX_VU_MAX_PAYLOAD ? msg->size : 0);
}

/* The reader's result, with trailing bytes or any short read as -EBADMSG. */
static int finish(struct lbx_reader *r)
{
	return lbx_read_end(r) ? -EBADMSG : 0;
}

int lbx_vu_decode_u64(const struct lbx_vu_msg *msg, uint64_t *v)
{
	struct lbx_reader r;

	payload_reader(msg, &r);
	if (lbx_read_u64le(&r, v))
		return -EBADMSG;
	return finish(&r);
}

int lbx_vu_decode_vring_state(const struct lbx_vu_msg *msg, struct lbx_vu_vring_state *s)
{
	struct lbx_reader r;

	payload_reader(msg, &r);
	if (lbx_read_u32le(&r, &s->index) || lbx_read_u32le(&r, &s->num))
		return -EBADMSG;
	return finish(&r);
}

int lbx_vu_decode_vring_addr(const struct lbx_vu_msg *msg, struct lbx_vu_vring_addr *a)
{
	struct lbx_reader r;

	payload_reader(msg, &r);
	/* The spec's order: index, flags, descriptor, used, available, log. */
	if (lbx_read_u32le(&r, &a->index) || lbx_read_u32le(&r, &a->flags) ||
	    lbx_read_u64le(&r, &a->desc_uva) || lbx_read_u64le(&r, &a->used_uva) ||
	    lbx_read_u64le(&r, &a->avail_uva) || lbx_read_u64le(&r, &a->log_gpa))
		return -EBADMSG;
	return finish(&r);
}

int lbx_vu_decode_mem_table(const struct lbx_vu_msg *msg, struct lbx_vu_mem_table *t)
{
	struct lbx_reader r;
	uint32_t padding;

	payload_reader(msg, &r);
	if (lbx_read_u32le(&r, &t->nregions) || lbx_read_u32le(&r, &padding))
		return -EBADMSG;
	if (t->nregions == 0 || t->nregions > LBX_VU_MAX_MEM_REGIONS)
		return -EBADMSG;
	for (uint32_t i = 0; i < t->nregions; i++) {
		struct lbx_vu_mem_region *m = &t->regions[i];

		if (lbx_read_u64le(&r, &m->gpa) || lbx_read_u64le(&r, &m->size) ||
		    lbx_read_u64le(&r, &m->uva) || lbx_read_u64le(&r, &m->mmap_offset))
			return -EBADMSG;
	}
	if (finish(&r))
		return -EBADMSG;
	/* One fd per region, in order (spec: SET_MEM_TABLE). */
	return msg->nfds == t->nregions ? 0 : -EBADMSG;
}

int lbx_vu_decode_vring_file(const struct lbx_vu_msg *msg, struct lbx_vu_vring_file *f)
{
	uint64_t v;

	if (lbx_vu_decode_u64(msg, &v))
		return -EBADMSG;
	if (v & ~(uint64_t)(LBX_VU_VRING_IDX_MASK | LBX_VU_VRING_NOFD))
		return -EBADMSG;
	f->index = (uint32_t)(v & LBX_VU_VRING_IDX_MASK);
	f->nofd = v & LBX_VU_VRING_NOFD;
	return msg->nfds == (f->nofd ? 0u : 1u) ? 0 : -EBADMSG;
}

int lbx_vu_decode_config(const struct lbx_vu_msg *msg, struct lbx_vu_config *c)
{
	struct lbx_reader r;

	payload_reader(msg, &r);
	if (lbx_read_u32le(&r, &c->offset) || lbx_read_u32le(&r, &c->size) ||
	    lbx_read_u32le(&r, &c->flags))
		return -EBADMSG;
	if (c->size > LBX_VU_MAX_CONFIG_SIZE || lbx_read_copy(&r, c->data, c->size))
		return -EBADMSG;
	return finish(&r);
}

int lbx_vu_decode_log(const struct lbx_vu_msg *msg, struct lbx_vu_log *l)
{
	struct lbx_reader r;

	payload_reader(msg, &r);
	if (lbx_read_u64le(&r, &l->size) || lbx_read_u64le(&r, &l->offset))
		return -EBADMSG;
	return finish(&r);
}

/* ---- encoders ---- */

void lbx_vu_encode_empty(struct lbx_vu_msg *msg, uint32_t request, uint32_t flags)
{
	msg->request = request;
	msg->flags = LBX_VU_VERSION | (flags & ~LBX_VU_VERSION_MASK);
	msg->size = 0;
	msg->nfds = 0;
}

static void start(struct lbx_vu_msg *msg, uint32_t request, uint32_t flags, struct lbx_writer *w)
{
	lbx_vu_encode_empty(msg, request, flags);
	lbx_writer_init_fixed(w, msg->payload, sizeof(msg->payload));
}

static int end(struct lbx_vu_msg *msg, struct lbx_writer *w)
{
	int err = lbx_writer_error(w);

	msg->size = err ? 0 : (uint32_t)lbx_writer_len(w);
	return err;
}

int lbx_vu_encode_u64(struct lbx_vu_msg *msg, uint32_t request, uint32_t flags, uint64_t v)
{
	struct lbx_writer w;
	int err;

	start(msg, request, flags, &w);
	err = lbx_write_u64le(&w, v);
	return err ? err : end(msg, &w);
}

int lbx_vu_encode_vring_state(struct lbx_vu_msg *msg, uint32_t request, uint32_t flags,
			      const struct lbx_vu_vring_state *s)
{
	struct lbx_writer w;

	start(msg, request, flags, &w);
	(void)(lbx_write_u32le(&w, s->index) || lbx_write_u32le(&w, s->num));
	return end(msg, &w);
}

int lbx_vu_encode_vring_addr(struct lbx_vu_msg *msg, uint32_t flags,
			     const struct lbx_vu_vring_addr *a)
{
	struct lbx_writer w;

	start(msg, LBX_VU_SET_VRING_ADDR, flags, &w);
	(void)(lbx_write_u32le(&w, a->index) || lbx_write_u32le(&w, a->flags) ||
	       lbx_write_u64le(&w, a->desc_uva) || lbx_write_u64le(&w, a->used_uva) ||
	       lbx_write_u64le(&w, a->avail_uva) || lbx_write_u64le(&w, a->log_gpa));
	return end(msg, &w);
}

int lbx_vu_encode_mem_table(struct lbx_vu_msg *msg, uint32_t flags,
			    const struct lbx_vu_mem_table *t, const int *fds)
{
	struct lbx_writer w;
	int err;

	start(msg, LBX_VU_SET_MEM_TABLE, flags, &w);
	if (t->nregions == 0 || t->nregions > LBX_VU_MAX_MEM_REGIONS)
		return -EINVAL;
	(void)(lbx_write_u32le(&w, t->nregions) || lbx_write_u32le(&w, 0));
	for (uint32_t i = 0; i < t->nregions; i++) {
		const struct lbx_vu_mem_region *m = &t->regions[i];

		(void)(lbx_write_u64le(&w, m->gpa) || lbx_write_u64le(&w, m->size) ||
		       lbx_write_u64le(&w, m->uva) || lbx_write_u64le(&w, m->mmap_offset));
	}
	err = end(msg, &w);
	if (err)
		return err;
	memcpy(msg->fds, fds, sizeof(int) * t->nregions);
	msg->nfds = t->nregions;
	return 0;
}

int lbx_vu_encode_vring_file(struct lbx_vu_msg *msg, uint32_t request, uint32_t flags,
			     uint32_t index, int fd)
{
	int err;

	if (index > LBX_VU_VRING_IDX_MASK)
		return -EINVAL;
	err = lbx_vu_encode_u64(msg, request, flags, index | (fd < 0 ? LBX_VU_VRING_NOFD : 0));
	if (!err && fd >= 0) {
		msg->fds[0] = fd;
		msg->nfds = 1;
	}
	return err;
}

int lbx_vu_encode_config(struct lbx_vu_msg *msg, uint32_t request, uint32_t flags,
			 const struct lbx_vu_config *c)
{
	struct lbx_writer w;

	start(msg, request, flags, &w);
	if (c->size > LBX_VU_MAX_CONFIG_SIZE)
		return -EINVAL;
	(void)(lbx_write_u32le(&w, c->offset) || lbx_write_u32le(&w, c->size) ||
	       lbx_write_u32le(&w, c->flags) || lbx_write_bytes(&w, c->data, c->size));
	return end(msg, &w);
}

int lbx_vu_check_reply(const struct lbx_vu_msg *reply, uint32_t request)
{
	if ((reply->flags & LBX_VU_VERSION_MASK) != LBX_VU_VERSION ||
	    !(reply->flags & LBX_VU_FLAG_REPLY) || reply->request != request)
		return -EPROTO;
	return 0;
}
