/* SPDX-License-Identifier: MIT */
/*
 * usb-bulk-echo: a small libusb client for lbx-usbipd's simulated
 * vendor-bulk device (and any device that echoes bulk OUT on bulk IN):
 *
 *   usb-bulk-echo VVVV:PPPP COUNT SIZE
 *   usb-bulk-echo --usbip SOCKET COUNT SIZE
 *
 * writes COUNT transfers of SIZE bytes to endpoint 0x01, reads each back
 * from 0x81, compares, and prints round trips per second and MB/s. The
 * e2e test runs it in the guest (libusb, through vhci-hcd and vsock);
 * with --usbip the same loop speaks USB/IP itself to lbx-usbipd's socket
 * on the host, the peer tests/bench/usb.py compares the guest with.
 */
#include <errno.h>
#include <libusb-1.0/libusb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "unixsock.h"
#include "usbip_proto.h"

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The USB/IP transport: one socket, one transfer at a time. */
static int usbip_fd = -1;
static uint32_t usbip_seq, usbip_devid;
static uint8_t usbip_buf[USBIP_HDR_LEN + USBIP_MAX_TRANSFER];

static int read_full(int fd, uint8_t *p, size_t n)
{
	while (n) {
		ssize_t got = read(fd, p, n);

		if (got <= 0)
			return -1;
		p += got;
		n -= (size_t)got;
	}
	return 0;
}

static int usbip_in_dir(void *ctx, uint32_t seq)
{
	return seq == usbip_seq ? *(int *)ctx : -1;
}

/* One bulk transfer on ep (0x81 IN, 0x01 OUT) over USB/IP; the bytes moved, or -1. */
static int usbip_bulk(unsigned char ep, unsigned char *data, int len)
{
	struct usbip_hdr h = { .command = USBIP_CMD_SUBMIT,
			       .seqnum = ++usbip_seq,
			       .devid = usbip_devid,
			       .direction = ep & 0x80 ? 1 : 0,
			       .ep = ep & 0x0f };
	int dir = (int)h.direction;
	struct lbx_writer w;
	struct lbx_reader r;
	const uint8_t *p;
	size_t n, have;

	h.u.submit.length = (uint32_t)len;
	h.u.submit.npackets = USBIP_NOT_ISO;
	lbx_writer_init_fixed(&w, usbip_buf, sizeof(usbip_buf));
	if (usbip_cmd_submit_write(&w, &h, data, dir ? 0 : (size_t)len) < 0 ||
	    write(usbip_fd, usbip_buf, lbx_writer_len(&w)) != (ssize_t)lbx_writer_len(&w))
		return -1;
	if (read_full(usbip_fd, usbip_buf, USBIP_HDR_LEN) < 0)
		return -1;
	lbx_reader_init(&r, usbip_buf, USBIP_HDR_LEN);
	if (usbip_hdr_read(&r, &h) < 0 || h.command != USBIP_RET_SUBMIT || h.u.ret_submit.status)
		return -1;
	have = dir ? h.u.ret_submit.actual_length : 0;
	if (have > (size_t)len || read_full(usbip_fd, usbip_buf + USBIP_HDR_LEN, have) < 0)
		return -1;
	lbx_reader_init(&r, usbip_buf, USBIP_HDR_LEN + have);
	if (usbip_ret_read(&r, usbip_in_dir, &dir, &h, &p, &n) < 0)
		return -1;
	if (dir)
		memcpy(data, p, n);
	return (int)h.u.ret_submit.actual_length;
}

static int usbip_open(const char *sock)
{
	static uint8_t reply[USBIP_OP_HDR_LEN + USBIP_DEVICE_LEN];
	struct usbip_device d;
	struct lbx_writer w;
	struct lbx_reader r;
	uint8_t req[64];
	bool okay;
	int fd = lbx_unix_connect(sock, 0);

	lbx_writer_init_fixed(&w, req, sizeof(req));
	if (fd < 0 || usbip_req_import_write(&w, "1-1") < 0 ||
	    write(fd, req, lbx_writer_len(&w)) != (ssize_t)lbx_writer_len(&w) ||
	    read_full(fd, reply, USBIP_OP_HDR_LEN) < 0)
		return -1;
	if (read_full(fd, reply + USBIP_OP_HDR_LEN, USBIP_DEVICE_LEN) < 0)
		return -1;
	lbx_reader_init(&r, reply, sizeof(reply));
	if (usbip_rep_import_read(&r, &okay, &d) < 0 || !okay)
		return -1;
	usbip_devid = (d.busnum << 16) | d.devnum;
	usbip_fd = fd;
	return 0;
}

static int bulk(libusb_device_handle *h, unsigned char ep, unsigned char *data, int len, int *n)
{
	if (usbip_fd >= 0) {
		*n = usbip_bulk(ep, data, len);
		return *n < 0 ? LIBUSB_ERROR_IO : 0;
	}
	return libusb_bulk_transfer(h, ep, data, len, n, 5000);
}

static int echo_once(libusb_device_handle *h, unsigned char *out, unsigned char *in, int size)
{
	int done = 0, n = 0, rc;

	rc = bulk(h, 0x01, out, size, &n);
	if (rc < 0 || n != size) {
		fprintf(stderr, "usb-bulk-echo: bulk OUT: %s (%d of %d bytes)\n",
			libusb_error_name(rc), n, size);
		return -1;
	}
	while (done < size) {
		rc = bulk(h, 0x81, in + done, size - done, &n);
		if (rc < 0) {
			fprintf(stderr, "usb-bulk-echo: bulk IN: %s after %d of %d bytes\n",
				libusb_error_name(rc), done, size);
			return -1;
		}
		done += n;
	}
	if (memcmp(in, out, (size_t)size)) {
		fprintf(stderr, "usb-bulk-echo: the bytes that came back differ\n");
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	unsigned vid = 0, pid = 0;
	libusb_device_handle *h = NULL;
	unsigned char *out, *in;
	int count, size, rc;
	double t0, dt;
	bool via_usbip = argc == 5 && !strcmp(argv[1], "--usbip");

	if (via_usbip) {
		argv++;
		argc--;
	}
	if (argc != 4 || (!via_usbip && sscanf(argv[1], "%x:%x", &vid, &pid) != 2) ||
	    (count = atoi(argv[2])) <= 0 || (size = atoi(argv[3])) <= 0 || size > (1 << 20)) {
		fprintf(stderr, "usage: usb-bulk-echo VVVV:PPPP COUNT SIZE\n"
				"       usb-bulk-echo --usbip SOCKET COUNT SIZE\n");
		return 2;
	}
	if (via_usbip && usbip_open(argv[1]) < 0) {
		fprintf(stderr, "usb-bulk-echo: cannot import the device at %s\n", argv[1]);
		return 1;
	}
	if (!via_usbip) {
		rc = libusb_init(NULL);
		if (rc < 0) {
			fprintf(stderr, "usb-bulk-echo: libusb_init: %s\n", libusb_error_name(rc));
			return 1;
		}
		h = libusb_open_device_with_vid_pid(NULL, (uint16_t)vid, (uint16_t)pid);
		if (!h) {
			fprintf(stderr, "usb-bulk-echo: no device %04x:%04x (or no permission)\n",
				vid, pid);
			return 1;
		}
		rc = libusb_claim_interface(h, 0);
		if (rc < 0) {
			fprintf(stderr, "usb-bulk-echo: claim interface 0: %s\n",
				libusb_error_name(rc));
			return 1;
		}
	}
	out = malloc((size_t)size);
	in = malloc((size_t)size);
	if (!out || !in)
		return 1;
	for (int i = 0; i < size; i++)
		out[i] = (unsigned char)(i * 7 + 1);
	t0 = now();
	for (int i = 0; i < count; i++) {
		out[0] = (unsigned char)i;
		if (echo_once(h, out, in, size) < 0)
			return 1;
	}
	dt = now() - t0;
	printf("echoed %d x %d bytes in %.3f s: %.0f round trips/s, %.2f MB/s\n", count, size, dt,
	       count / dt, 2.0 * count * size / dt / 1e6);
	if (h) {
		libusb_release_interface(h, 0);
		libusb_close(h);
		libusb_exit(NULL);
	}
	return 0;
}
