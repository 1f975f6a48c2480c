/* SPDX-License-Identifier: MIT */
/*
 * A USB device lbx-usbipd exports: the host's, through usbfs (usbfs.c),
 * or a simulated one (sim.c, selected only by --sim, for tests). The
 * server (usbipd.c) hands each CMD_SUBMIT to the device as a usbd_urb;
 * the device completes it at once or later (usbd_complete), and is asked
 * to cancel it on CMD_UNLINK.
 */
#ifndef LBX_USBDEV_H
#define LBX_USBDEV_H

#include <stdbool.h>
#include <stdint.h>

#include "rules.h"
#include "usbip_proto.h"

struct lbx_loop;
struct usbd;

struct usbd_urb {
	uint32_t seqnum;
	uint8_t ep; /* endpoint number 0..15 */
	bool in;
	uint8_t setup[8]; /* endpoint 0 */
	uint32_t length;  /* transfer_buffer_length */
	uint8_t *buf;	  /* length bytes (OUT data in, IN data out) */
	uint32_t actual;
	int32_t status;		   /* 0 or -errno, as the URB's status */
	bool unlinked;		   /* CMD_UNLINK came while the device held it */
	uint32_t unlink_seq;	   /* that CMD_UNLINK's seqnum */
	bool orphan;		   /* its connection is gone: free it, answer nobody */
	struct usbd_urb *next;	   /* the server's list of URBs in flight */
	struct usbd_urb *dev_next; /* the device's own queues */
	void *priv;		   /* the device's */
};

struct usbd_ops {
	/*
	 * 0: done now (status, actual set); 1: the device completes it with
	 * usbd->complete, maybe before submit returns (the server holds it as
	 * pending first).
	 */
	int (*submit)(struct usbd *d, struct usbd_urb *u);
	/* true: cancelled, it never completes; false: it will complete (usbfs reaps it). */
	bool (*cancel)(struct usbd *d, struct usbd_urb *u);
	void (*close)(struct usbd *d);
	/* Simulated devices: leave the bus and come back (tests of re-enumeration). */
	void (*replug)(struct usbd *d);
};

struct usbd {
	const struct usbd_ops *ops;
	struct usbip_device info; /* what OP_REP_IMPORT says */
	struct usb_ident ident;	  /* what the rules match */
	bool present;		  /* false while it is off the bus */
	/* Set by the server: where completions and departures go. */
	void (*complete)(struct usbd *d, struct usbd_urb *u);
	void (*gone)(struct usbd *d);
	void (*back)(struct usbd *d);
	void *server;
	struct lbx_loop *loop;
	void *priv;
};

/* Simulated devices: "cdc-acm" (a loopback serial port) or "vendor-bulk" (echoes). */
int usbd_sim_open(struct usbd *d, const char *kind, struct lbx_loop *loop, char *err, size_t errsz);
/* A host tty that is not a USB device, as a CDC-ACM serial port (1209:0003, sim.c). */
int usbd_tty_open(struct usbd *d, const char *path, struct lbx_loop *loop, char *err, size_t errsz);
/* The host device at /dev/bus/usb/BBB/DDD. */
int usbd_usbfs_open(struct usbd *d, const char *path, struct lbx_loop *loop, char *err,
		    size_t errsz);

#endif
