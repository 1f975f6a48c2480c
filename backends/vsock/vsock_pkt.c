/* SPDX-License-Identifier: MIT */
#include "vsock_pkt.h"

#include <errno.h>

int vsock_hdr_decode(struct lbx_reader *r, struct vsock_hdr *h)
{
	int err;

	if ((err = lbx_read_u64le(r, &h->src_cid)) || (err = lbx_read_u64le(r, &h->dst_cid)) ||
	    (err = lbx_read_u32le(r, &h->src_port)) || (err = lbx_read_u32le(r, &h->dst_port)) ||
	    (err = lbx_read_u32le(r, &h->len)) || (err = lbx_read_u16le(r, &h->type)) ||
	    (err = lbx_read_u16le(r, &h->op)) || (err = lbx_read_u32le(r, &h->flags)) ||
	    (err = lbx_read_u32le(r, &h->buf_alloc)) || (err = lbx_read_u32le(r, &h->fwd_cnt)))
		return err;
	if (h->op < VSOCK_OP_REQUEST || h->op > VSOCK_OP_CREDIT_REQUEST)
		return -EBADMSG;
	if (h->len > VSOCK_MAX_PAYLOAD)
		return -EBADMSG;
	/* Only RW carries a payload (§5.10.6.4). */
	if (h->op != VSOCK_OP_RW && h->len != 0)
		return -EBADMSG;
	return 0;
}

void vsock_hdr_encode(const struct vsock_hdr *h, uint8_t out[VSOCK_HDR_SIZE])
{
	struct lbx_writer w;

	lbx_writer_init_fixed(&w, out, VSOCK_HDR_SIZE);
	/* The buffer is exactly the header's size: none of these can fail. */
	(void)!lbx_write_u64le(&w, h->src_cid);
	(void)!lbx_write_u64le(&w, h->dst_cid);
	(void)!lbx_write_u32le(&w, h->src_port);
	(void)!lbx_write_u32le(&w, h->dst_port);
	(void)!lbx_write_u32le(&w, h->len);
	(void)!lbx_write_u16le(&w, h->type);
	(void)!lbx_write_u16le(&w, h->op);
	(void)!lbx_write_u32le(&w, h->flags);
	(void)!lbx_write_u32le(&w, h->buf_alloc);
	(void)!lbx_write_u32le(&w, h->fwd_cnt);
}

const char *vsock_op_name(uint16_t op)
{
	static const char *const names[] = {
		[VSOCK_OP_REQUEST] = "REQUEST",	 [VSOCK_OP_RESPONSE] = "RESPONSE",
		[VSOCK_OP_RST] = "RST",		 [VSOCK_OP_SHUTDOWN] = "SHUTDOWN",
		[VSOCK_OP_RW] = "RW",		 [VSOCK_OP_CREDIT_UPDATE] = "CREDIT_UPDATE",
		[VSOCK_OP_CREDIT_REQUEST] = "CREDIT_REQUEST",
	};

	return op < LBX_ARRAY_SIZE(names) && names[op] ? names[op] : "?";
}
