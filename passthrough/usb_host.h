/* SPDX-License-Identifier: MIT */
/*
 * The host's USB devices, as lbx sees them to match a box's rules
 * (`lbx device ls`, the attachments `lbx up` makes): from sysfs
 * (/sys/bus/usb/devices, root hubs left out), plus the simulated devices
 * LBX_USB_SIM names ("cdc-acm,vendor-bulk"), a test flag: simulated
 * devices reach nothing of the host.
 */
#ifndef LBX_USB_HOST_H
#define LBX_USB_HOST_H

#include "rules.h"

#define USB_HOST_MAX 64

struct usb_host_dev {
	char name[48]; /* "1-1.2" (the sysfs name), or "sim:cdc-acm" */
	char node[64]; /* "/dev/bus/usb/001/004", "" for a simulated device */
	char sim[16];  /* the simulated kind, "" for a host device */
	char product[64];
	struct usb_ident ident;
};

/* Up to max devices into out; returns how many. sysfs: the sysfs root (tests), NULL for /sys. */
unsigned usb_host_list(const char *sysfs, struct usb_host_dev *out, unsigned max);
/* The device named name (as usb_host_list names it): 0, or -ENOENT. */
int usb_host_find(const char *sysfs, const char *name, struct usb_host_dev *out);

/* What a simulated kind looks like to the rules (sim.c). 0, or -ENOENT for no such kind. */
int usbd_sim_ident(const char *kind, struct usb_ident *ident, char *product, size_t psz);

#endif
