/* SPDX-License-Identifier: MIT */
/*
 * usb-bulk-echo: a small libusb client for lbx-usbipd's simulated
 * vendor-bulk device (and any device that echoes bulk OUT on bulk IN):
 *
 *   usb-bulk-echo VVVV:PPPP COUNT SIZE
 *
 * writes COUNT transfers of SIZE bytes to endpoint 0x01, reads each back
 * from 0x81, compares, and prints round trips per second and MB/s. The
 * e2e test runs it in the guest; tests/bench/usb.py compares it with the
 * same transfers made on the host straight over USB/IP.
 */
#include <libusb-1.0/libusb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int echo_once(libusb_device_handle *h, unsigned char *out, unsigned char *in, int size)
{
	int done = 0, n = 0, rc;

	rc = libusb_bulk_transfer(h, 0x01, out, size, &n, 5000);
	if (rc < 0 || n != size) {
		fprintf(stderr, "usb-bulk-echo: bulk OUT: %s (%d of %d bytes)\n",
			libusb_error_name(rc), n, size);
		return -1;
	}
	while (done < size) {
		rc = libusb_bulk_transfer(h, 0x81, in + done, size - done, &n, 5000);
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
	unsigned vid, pid;
	libusb_device_handle *h;
	unsigned char *out, *in;
	int count, size, rc;
	double t0, dt;

	if (argc != 4 || sscanf(argv[1], "%x:%x", &vid, &pid) != 2 ||
	    (count = atoi(argv[2])) <= 0 || (size = atoi(argv[3])) <= 0 || size > (1 << 20)) {
		fprintf(stderr, "usage: usb-bulk-echo VVVV:PPPP COUNT SIZE\n");
		return 2;
	}
	rc = libusb_init(NULL);
	if (rc < 0) {
		fprintf(stderr, "usb-bulk-echo: libusb_init: %s\n", libusb_error_name(rc));
		return 1;
	}
	h = libusb_open_device_with_vid_pid(NULL, (uint16_t)vid, (uint16_t)pid);
	if (!h) {
		fprintf(stderr, "usb-bulk-echo: no device %04x:%04x (or no permission)\n", vid,
			pid);
		return 1;
	}
	rc = libusb_claim_interface(h, 0);
	if (rc < 0) {
		fprintf(stderr, "usb-bulk-echo: claim interface 0: %s\n", libusb_error_name(rc));
		return 1;
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
	libusb_release_interface(h, 0);
	libusb_close(h);
	libusb_exit(NULL);
	return 0;
}
