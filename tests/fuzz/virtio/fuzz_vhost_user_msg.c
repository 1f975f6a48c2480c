/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for the vhost-user message decoders (common/vhost_user.c).
 *
 * Input: a stream of messages, each one byte giving how many fds "came
 * with it" (0-8, as placeholders), a 12-byte header, and its payload. Every
 * payload decoder runs on every message, whatever its request code, and
 * each successful decode must describe exactly the bytes it was given: the
 * payload size matches the layout, counts are within their limits, and
 * encoding the decoded value again reproduces the payload byte for byte.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vhost_user.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                                                \
	do {                                                                                       \
		if (!(cond))                                                                       \
			abort();                                                                   \
	} while (0)

static void same_payload(const struct lbx_vu_msg *a, const struct lbx_vu_msg *b)
{
	CHECK(a->size == b->size && !memcmp(a->payload, b->payload, a->size));
}

static void check_decoders(const struct lbx_vu_msg *m)
{
	struct lbx_vu_msg e;
	struct lbx_vu_vring_state s;
	struct lbx_vu_vring_addr a;
	struct lbx_vu_mem_table t;
	struct lbx_vu_vring_file f;
	struct lbx_vu_config c;
	struct lbx_vu_log l;
	uint64_t v;

	if (!lbx_vu_decode_u64(m, &v)) {
		CHECK(lbx_vu_encode_u64(&e, m->request, 0, v) == 0);
		same_payload(m, &e);
	}
	if (!lbx_vu_decode_vring_state(m, &s)) {
		CHECK(lbx_vu_encode_vring_state(&e, m->request, 0, &s) == 0);
		same_payload(m, &e);
	}
	if (!lbx_vu_decode_vring_addr(m, &a)) {
		CHECK(lbx_vu_encode_vring_addr(&e, 0, &a) == 0);
		same_payload(m, &e);
	}
	if (!lbx_vu_decode_mem_table(m, &t)) {
		static const int fds[LBX_VU_MAX_MEM_REGIONS] = { 0 };

		CHECK(t.nregions >= 1 && t.nregions <= LBX_VU_MAX_MEM_REGIONS);
		CHECK(m->nfds == t.nregions && m->size == 8 + 32 * t.nregions);
		CHECK(lbx_vu_encode_mem_table(&e, 0, &t, fds) == 0);
		/* Bytes 4-7 are padding, written as zero. */
		CHECK(e.size == m->size && !memcmp(e.payload, m->payload, 4) &&
		      !memcmp(e.payload + 8, m->payload + 8, m->size - 8));
		CHECK(e.nfds == t.nregions);
	}
	if (!lbx_vu_decode_vring_file(m, &f)) {
		CHECK(f.index <= LBX_VU_VRING_IDX_MASK);
		CHECK(m->nfds == (f.nofd ? 0u : 1u));
		CHECK(lbx_vu_encode_vring_file(&e, m->request, 0, f.index, f.nofd ? -1 : 0) == 0);
		same_payload(m, &e);
	}
	if (!lbx_vu_decode_config(m, &c)) {
		CHECK(c.size <= LBX_VU_MAX_CONFIG_SIZE &&
		      m->size == LBX_VU_CONFIG_HDR_SIZE + c.size);
		CHECK(lbx_vu_encode_config(&e, m->request, 0, &c) == 0);
		same_payload(m, &e);
	}
	if (!lbx_vu_decode_log(m, &l))
		CHECK(m->size == 16);
	(void)lbx_vu_request_name(m->request);
	(void)lbx_vu_check_reply(m, m->request);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct lbx_vu_msg m;

	while (size > 1 + LBX_VU_HDR_SIZE) {
		unsigned nfds = data[0] % (LBX_VU_MAX_FDS + 1);
		int err = lbx_vu_decode_hdr(data + 1, LBX_VU_HDR_SIZE, &m);

		data += 1 + LBX_VU_HDR_SIZE;
		size -= 1 + LBX_VU_HDR_SIZE;
		if (err) {
			CHECK(err == -EPROTO || err == -EMSGSIZE);
			return 0;
		}
		CHECK(m.size <= LBX_VU_MAX_PAYLOAD);
		CHECK((m.flags & LBX_VU_VERSION_MASK) == LBX_VU_VERSION);
		if (m.size > size)
			return 0;
		memcpy(m.payload, data, m.size);
		data += m.size;
		size -= m.size;
		m.nfds = nfds;
		for (unsigned i = 0; i < nfds; i++)
			m.fds[i] = -1; /* placeholders: decoders only count them */
		check_decoders(&m);
	}
	return 0;
}
