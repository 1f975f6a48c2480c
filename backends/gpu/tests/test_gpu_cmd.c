/* SPDX-License-Identifier: MIT */
/*
 * The virtio-gpu command decoder (gpu_cmd.c) on requests built here by
 * hand from the spec's layout (virtio 1.2 §5.7.6.7): what it must accept
 * and, for each rule gpu_cmd.h states, a request that breaks it.
 */
#include <stdio.h>
#include <string.h>

#include "gpu_cmd.h"
#include "tap.h"
#include "writer.h"

static uint8_t buf[1 << 16];
static size_t len;

static void put32(uint32_t v)
{
	lbx_put_u32le(buf + len, v);
	len += 4;
}

static void put64(uint64_t v)
{
	lbx_put_u64le(buf + len, v);
	len += 8;
}

static void hdr(uint32_t type, uint32_t ctx)
{
	len = 0;
	put32(type);
	put32(0);   /* flags */
	put64(0);   /* fence_id */
	put32(ctx); /* ctx_id */
	put32(0);   /* ring_idx, padding */
}

/* Decode buf[0, len): 0 ok, else the response code. */
static uint32_t decode(struct gpu_cmd *c)
{
	struct gpu_cmd_error e;

	if (gpu_cmd_decode(buf, len, c, &e) == 0)
		return 0;
	return e.resp;
}

static void create_2d(uint32_t id, uint32_t fmt, uint32_t w, uint32_t h)
{
	hdr(VIRTIO_GPU_CMD_RESOURCE_CREATE_2D, 0);
	put32(id);
	put32(fmt);
	put32(w);
	put32(h);
}

static void attach(uint32_t id, uint32_t n, const uint64_t *addr, const uint32_t *lens)
{
	hdr(VIRTIO_GPU_CMD_RESOURCE_ATTACH_BACKING, 0);
	put32(id);
	put32(n);
	for (uint32_t i = 0; i < n; i++) {
		put64(addr[i]);
		put32(lens[i]);
		put32(0);
	}
}

static void test_create_2d(void)
{
	struct gpu_cmd c;

	create_2d(7, VIRTIO_GPU_FORMAT_B8G8R8X8_UNORM, 640, 480);
	is_int(decode(&c), 0, "CREATE_2D decodes");
	ok(c.u.create_2d.resource_id == 7 && c.u.create_2d.width == 640 &&
	       c.u.create_2d.height == 480,
	   "its fields are the guest's");
	gpu_cmd_release(&c);
	create_2d(0, VIRTIO_GPU_FORMAT_B8G8R8X8_UNORM, 640, 480);
	is_int(decode(&c), VIRTIO_GPU_RESP_ERR_INVALID_RESOURCE_ID, "resource id 0 refused");
	create_2d(1, 99, 640, 480);
	is_int(decode(&c), VIRTIO_GPU_RESP_ERR_INVALID_PARAMETER, "unknown format refused");
	create_2d(1, VIRTIO_GPU_FORMAT_B8G8R8X8_UNORM, 0, 480);
	is_int(decode(&c), VIRTIO_GPU_RESP_ERR_INVALID_PARAMETER, "width 0 refused");
	create_2d(1, VIRTIO_GPU_FORMAT_B8G8R8X8_UNORM, 640, 16385);
	is_int(decode(&c), VIRTIO_GPU_RESP_ERR_INVALID_PARAMETER, "height 16385 refused");
	create_2d(1, VIRTIO_GPU_FORMAT_B8G8R8X8_UNORM, 640, 480);
	len -= 1;
	is_int(decode(&c), VIRTIO_GPU_RESP_ERR_UNSPEC, "one byte short refused");
	create_2d(1, VIRTIO_GPU_FORMAT_B8G8R8X8_UNORM, 640, 480);
	put32(0);
	is_int(decode(&c), VIRTIO_GPU_RESP_ERR_UNSPEC, "trailing bytes refused");
	len = 10;
	is_int(decode(&c), VIRTIO_GPU_RESP_ERR_UNSPEC, "shorter than a header refused");
	hdr(0x0999, 0);
	is_int(decode(&c), VIRTIO_GPU_RESP_ERR_UNSPEC, "unknown command refused");
}

static void test_attach(void)
{
	uint64_t a[3] = { 0x10000, 0x20000, 0x30000 };
	uint32_t l[3] = { 0x1000, 0x1000, 0x1000 };
	struct gpu_cmd c;

	attach(3, 3, a, l);
	is_int(decode(&c), 0, "ATTACH_BACKING with 3 entries decodes");
	ok(c.nentries == 3 && c.entries_len == 0x3000 && c.entries[1].addr == 0x20000,
	   "entries kept in order with their total");
	gpu_cmd_release(&c);
	a[1] = 0x10800; /* inside the first */
	attach(3, 3, a, l);
	is_int(decode(&c), VIRTIO_GPU_RESP_ERR_INVALID_PARAMETER, "overlapping entries refused");
	a[1] = 0x40000;
	a[2] = 0x3f800; /* ends inside the second, listed after it */
	attach(3, 3, a, l);
	is_int(decode(&c), VIRTIO_GPU_RESP_ERR_INVALID_PARAMETER,
	       "overlap found whatever the order");
	a[2] = 0x30000;
	l[1] = 0;
	attach(3, 3, a, l);
	is_int(decode(&c), VIRTIO_GPU_RESP_ERR_INVALID_PARAMETER, "an empty entry refused");
	l[1] = 0x1000;
	a[2] = UINT64_MAX - 0x10;
	attach(3, 3, a, l);
	is_int(decode(&c), VIRTIO_GPU_RESP_ERR_INVALID_PARAMETER, "a wrapping entry refused");
	a[2] = 0x30000;
	attach(3, 3, a, l);
	len -= 16;
	is_int(decode(&c), VIRTIO_GPU_RESP_ERR_UNSPEC, "nr_entries beyond the request refused");
	attach(3, 0, a, l);
	is_int(decode(&c), VIRTIO_GPU_RESP_ERR_INVALID_PARAMETER, "nr_entries 0 refused");
	hdr(VIRTIO_GPU_CMD_RESOURCE_ATTACH_BACKING, 0);
	put32(3);
	put32(GPU_MAX_ENTRIES + 1);
	is_int(decode(&c), VIRTIO_GPU_RESP_ERR_INVALID_PARAMETER, "nr_entries 16385 refused");
}

static void test_submit(void)
{
	struct gpu_cmd c;

	hdr(VIRTIO_GPU_CMD_SUBMIT_3D, 5);
	put32(8);
	put32(0);
	put32(0x11);
	put32(0x22);
	is_int(decode(&c), 0, "SUBMIT_3D with 2 dwords decodes");
	ok(c.stream == buf + 32 && c.stream_len == 8, "the stream points into the request");
	gpu_cmd_release(&c);
	hdr(VIRTIO_GPU_CMD_SUBMIT_3D, 5);
	put32(12);
	put32(0);
	put32(0x11);
	put32(0x22);
	is_int(decode(&c), VIRTIO_GPU_RESP_ERR_UNSPEC, "size beyond the request refused");
	hdr(VIRTIO_GPU_CMD_SUBMIT_3D, 5);
	put32(6);
	put32(0);
	put32(0x11);
	put32(0x22);
	is_int(decode(&c), VIRTIO_GPU_RESP_ERR_INVALID_PARAMETER, "size not in dwords refused");
	hdr(VIRTIO_GPU_CMD_SUBMIT_3D, 0);
	put32(0);
	put32(0);
	is_int(decode(&c), VIRTIO_GPU_RESP_ERR_INVALID_CONTEXT_ID, "context 0 refused");
}

static void test_rects(void)
{
	struct gpu_cmd c;

	hdr(VIRTIO_GPU_CMD_TRANSFER_TO_HOST_2D, 0);
	put32(UINT32_MAX - 1); /* x */
	put32(0);
	put32(4); /* width: x + width wraps in 32 bits */
	put32(1);
	put64(0);
	put32(9);
	put32(0);
	is_int(decode(&c), VIRTIO_GPU_RESP_ERR_INVALID_PARAMETER,
	       "a transfer rectangle whose end wraps refused");
	hdr(VIRTIO_GPU_CMD_SET_SCANOUT, 0);
	put32(0);
	put32(0);
	put32(1280);
	put32(800);
	put32(0);
	put32(0); /* resource 0: disable */
	is_int(decode(&c), 0, "SET_SCANOUT to resource 0 (disable) decodes");
	hdr(VIRTIO_GPU_CMD_RESOURCE_FLUSH, 0);
	put32(0);
	put32(0);
	put32(16);
	put32(16);
	put32(0);
	put32(0);
	is_int(decode(&c), VIRTIO_GPU_RESP_ERR_INVALID_RESOURCE_ID, "flush of resource 0 refused");
	hdr(VIRTIO_GPU_CMD_CTX_CREATE, 4);
	put32(65);
	put32(0);
	memset(buf + len, 'a', 64);
	len += 64;
	is_int(decode(&c), VIRTIO_GPU_RESP_ERR_INVALID_PARAMETER, "debug name of 65 bytes refused");
}

int main(void)
{
	test_create_2d();
	test_attach();
	test_submit();
	test_rects();
	ok(!strcmp(gpu_cmd_name(VIRTIO_GPU_CMD_SUBMIT_3D), "SUBMIT_3D"), "commands have names");
	return tap_done();
}
