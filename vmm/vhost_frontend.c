/* SPDX-License-Identifier: MIT */
#include "vhost_frontend.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "log.h"
#include "unixsock.h"

/* What we ask for: acknowledgements, config space from the backend, MQ's queue count. */
#define WANT_PROTOCOL                                                             \
	(1ULL << LBX_VU_PROTOCOL_F_REPLY_ACK | 1ULL << LBX_VU_PROTOCOL_F_CONFIG | \
	 1ULL << LBX_VU_PROTOCOL_F_MQ)

static int fail(struct vmm_vu *vu, const char *what, int rc)
{
	lbx_err("%s: %s: %s", vu->name, what, strerror(-rc));
	return rc;
}

/* Send msg; read the reply into reply when the request has one. */
static int call(struct vmm_vu *vu, struct lbx_vu_msg *msg, struct lbx_vu_msg *reply)
{
	uint32_t request = msg->request;
	int rc = lbx_vu_send(vu->sock, msg);

	if (rc || !reply)
		return rc;
	rc = lbx_vu_recv(vu->sock, reply);
	if (rc == 0 && reply->nfds) {
		lbx_vu_msg_close_fds(reply);
		rc = -EPROTO; /* no reply we read carries fds */
	}
	return rc ? rc : lbx_vu_check_reply(reply, request);
}

/* A setting request: with REPLY_ACK, wait for the backend's u64 0. */
static int set(struct vmm_vu *vu, struct lbx_vu_msg *msg)
{
	struct lbx_vu_msg reply;
	uint64_t status;
	int rc;

	if (!vu->reply_ack)
		return call(vu, msg, NULL);
	msg->flags |= LBX_VU_FLAG_NEED_REPLY;
	rc = call(vu, msg, &reply);
	if (rc == 0 && (rc = lbx_vu_decode_u64(&reply, &status)) == 0 && status)
		rc = -EREMOTEIO;
	return rc;
}

static int get_u64(struct vmm_vu *vu, uint32_t request, uint64_t *v)
{
	struct lbx_vu_msg msg, reply;
	int rc;

	lbx_vu_encode_empty(&msg, request, 0);
	rc = call(vu, &msg, &reply);
	return rc ? rc : lbx_vu_decode_u64(&reply, v);
}

static int open_socket(const char *path)
{
	struct timeval tv = { VMM_VU_TIMEOUT_MS / 1000, (VMM_VU_TIMEOUT_MS % 1000) * 1000 };
	int fd = lbx_unix_connect(path, 0);

	if (fd < 0)
		return fd;
	if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0) {
		int e = errno;

		close(fd);
		return -e;
	}
	return fd;
}

static int negotiate_protocol(struct vmm_vu *vu)
{
	struct lbx_vu_msg msg;
	uint64_t theirs;
	int rc;

	if (!(vu->features & 1ULL << LBX_VU_F_PROTOCOL_FEATURES))
		return 0;
	rc = get_u64(vu, LBX_VU_GET_PROTOCOL_FEATURES, &theirs);
	if (rc)
		return fail(vu, "GET_PROTOCOL_FEATURES", rc);
	vu->protocol = theirs & WANT_PROTOCOL;
	rc = lbx_vu_encode_u64(&msg, LBX_VU_SET_PROTOCOL_FEATURES, 0, vu->protocol);
	if (rc == 0)
		rc = call(vu, &msg, NULL);
	if (rc)
		return fail(vu, "SET_PROTOCOL_FEATURES", rc);
	vu->reply_ack = vu->protocol & 1ULL << LBX_VU_PROTOCOL_F_REPLY_ACK;
	return 0;
}

int vmm_vu_connect(struct vmm_vu *vu, const char *path, const char *name)
{
	struct lbx_vu_msg msg;
	int rc;

	memset(vu, 0, sizeof(*vu));
	vu->name = name;
	vu->sock = open_socket(path);
	if (vu->sock < 0)
		return fail(vu, "cannot connect", vu->sock);
	rc = get_u64(vu, LBX_VU_GET_FEATURES, &vu->features);
	if (rc)
		return fail(vu, "GET_FEATURES", rc);
	rc = negotiate_protocol(vu);
	if (rc)
		return rc;
	lbx_vu_encode_empty(&msg, LBX_VU_SET_OWNER, 0);
	rc = set(vu, &msg);
	return rc ? fail(vu, "SET_OWNER", rc) : 0;
}

void vmm_vu_close(struct vmm_vu *vu)
{
	if (vu->sock >= 0)
		close(vu->sock);
	vu->sock = -1;
}

int vmm_vu_get_config(struct vmm_vu *vu, uint8_t *buf, uint32_t len)
{
	struct lbx_vu_config c = { .offset = 0, .size = len };
	struct lbx_vu_msg msg, reply;
	int rc;

	if (!(vu->protocol & 1ULL << LBX_VU_PROTOCOL_F_CONFIG) || len > LBX_VU_MAX_CONFIG_SIZE)
		return fail(vu, "device configuration", -ENOTSUP);
	rc = lbx_vu_encode_config(&msg, LBX_VU_GET_CONFIG, 0, &c);
	if (rc == 0)
		rc = call(vu, &msg, &reply);
	if (rc == 0)
		rc = lbx_vu_decode_config(&reply, &c);
	if (rc == 0 && c.size != len)
		rc = -EBADMSG;
	if (rc)
		return fail(vu, "GET_CONFIG", rc);
	memcpy(buf, c.data, len);
	return 0;
}

int vmm_vu_set_features(struct vmm_vu *vu, uint64_t features)
{
	struct lbx_vu_msg msg;
	int rc = lbx_vu_encode_u64(&msg, LBX_VU_SET_FEATURES, 0, features);

	if (rc == 0)
		rc = set(vu, &msg);
	return rc ? fail(vu, "SET_FEATURES", rc) : 0;
}

int vmm_vu_set_mem_table(struct vmm_vu *vu, const struct lbx_guest_mem *mem, int fd,
			 const uint64_t *fd_offsets)
{
	struct lbx_vu_mem_table t = { .nregions = mem->nregions };
	int fds[LBX_VU_MAX_MEM_REGIONS];
	struct lbx_vu_msg msg;
	int rc;

	for (unsigned i = 0; i < mem->nregions && i < LBX_VU_MAX_MEM_REGIONS; i++) {
		t.regions[i] = (struct lbx_vu_mem_region){
			.gpa = mem->regions[i].gpa,
			.size = mem->regions[i].size,
			.uva = (uint64_t)(uintptr_t)mem->regions[i].hva,
			.mmap_offset = fd_offsets[i],
		};
		fds[i] = fd;
	}
	rc = lbx_vu_encode_mem_table(&msg, 0, &t, fds);
	if (rc == 0)
		rc = set(vu, &msg);
	return rc ? fail(vu, "SET_MEM_TABLE", rc) : 0;
}

static int vring_state(struct vmm_vu *vu, uint32_t request, unsigned index, uint32_t num)
{
	struct lbx_vu_vring_state s = { index, num };
	struct lbx_vu_msg msg;
	int rc = lbx_vu_encode_vring_state(&msg, request, 0, &s);

	return rc ? rc : set(vu, &msg);
}

static int vring_file(struct vmm_vu *vu, uint32_t request, unsigned index, int fd)
{
	struct lbx_vu_msg msg;
	int rc = lbx_vu_encode_vring_file(&msg, request, 0, index, fd);

	return rc ? rc : set(vu, &msg);
}

int vmm_vu_start_ring(struct vmm_vu *vu, const struct vmm_vu_ring *r)
{
	struct lbx_vu_vring_addr a = {
		.index = r->index,
		.desc_uva = (uint64_t)(uintptr_t)r->desc,
		.used_uva = (uint64_t)(uintptr_t)r->used,
		.avail_uva = (uint64_t)(uintptr_t)r->avail,
	};
	struct lbx_vu_msg msg;
	int rc = vring_state(vu, LBX_VU_SET_VRING_NUM, r->index, r->num);

	if (rc == 0 && (rc = lbx_vu_encode_vring_addr(&msg, 0, &a)) == 0)
		rc = set(vu, &msg);
	if (rc == 0)
		rc = vring_state(vu, LBX_VU_SET_VRING_BASE, r->index, 0);
	if (rc == 0)
		rc = vring_file(vu, LBX_VU_SET_VRING_KICK, r->index, r->kick_fd);
	if (rc == 0)
		rc = vring_file(vu, LBX_VU_SET_VRING_CALL, r->index, r->call_fd);
	if (rc == 0 && r->err_fd >= 0)
		rc = vring_file(vu, LBX_VU_SET_VRING_ERR, r->index, r->err_fd);
	/* With protocol features, rings start disabled (spec "Ring states"). */
	if (rc == 0 && (vu->features & 1ULL << LBX_VU_F_PROTOCOL_FEATURES))
		rc = vring_state(vu, LBX_VU_SET_VRING_ENABLE, r->index, 1);
	return rc ? fail(vu, "starting a ring", rc) : 0;
}

int vmm_vu_stop_ring(struct vmm_vu *vu, unsigned index)
{
	struct lbx_vu_vring_state s = { index, 0 };
	struct lbx_vu_msg msg, reply;
	int rc = lbx_vu_encode_vring_state(&msg, LBX_VU_GET_VRING_BASE, 0, &s);

	if (rc == 0)
		rc = call(vu, &msg, &reply);
	return rc ? fail(vu, "GET_VRING_BASE", rc) : 0;
}
