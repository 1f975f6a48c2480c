/* SPDX-License-Identifier: MIT */
/*
 * The box's USB device policy ("devices": {"usb": [...]}, docs/box.md),
 * USBGuard-like: each rule names a device by what identifies it (vendor
 * and product id, serial number, the classes of its interfaces), never by
 * bus or device number, so a different device plugged into the same port
 * is not let in. The first rule that matches wins; a device no rule
 * matches is refused.
 *
 *   { "id": "0483:3748", "serial": "...", "interfaces": ["ff:*:*"],
 *     "allow_dfu": false, "name": "st-link" }
 *
 * "id" is VVVV:PPPP in hex, either half may be "*". "serial" is exact.
 * "interfaces" lists class:subclass:protocol patterns (hex bytes or "*");
 * when given, every interface of the device must match one of them.
 * "allow_dfu" lets requests through that reflash the device (DFU detach
 * and download, usbipd_dfu_request); they are refused without it.
 */
#ifndef LBX_USB_RULES_H
#define LBX_USB_RULES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "compiler.h"

#define USB_RULES_MAX	 64
#define USB_RULE_IFS_MAX 16
#define USB_SERIAL_MAX	 128
#define USB_ANY		 -1

struct usb_if_pattern {
	int cls, subclass, protocol; /* 0..255 or USB_ANY */
};

struct usb_rule {
	char name[64];		     /* "name", else "usb[N]" */
	int vendor, product;	     /* 0..0xffff or USB_ANY */
	char serial[USB_SERIAL_MAX]; /* "" matches any */
	bool has_serial;
	struct usb_if_pattern ifs[USB_RULE_IFS_MAX];
	unsigned nifs; /* 0: any interfaces */
	bool allow_dfu;
};

struct usb_rules {
	struct usb_rule rule[USB_RULES_MAX];
	unsigned n;
};

/* What identifies a device (from its descriptors). */
struct usb_ident {
	uint16_t vendor, product;
	char serial[USB_SERIAL_MAX];
	struct {
		uint8_t cls, subclass, protocol;
	} ifs[32];
	unsigned nifs;
};

/*
 * The rules from JSON text: the array that "devices.usb" holds. file names
 * the source in errors ("box.json: devices.usb[1].id: expected VVVV:PPPP").
 */
LBX_MUST_CHECK int usb_rules_parse(const char *text, size_t len, const char *file,
				   struct usb_rules *rules, char *err, size_t errsz);
/* The index of the first rule that matches dev, or -1. */
int usb_rules_match(const struct usb_rules *rules, const struct usb_ident *dev);
/* "0483:3748 serial ABC, interfaces ff:00:00 0a:00:00" for messages. */
void usb_ident_format(const struct usb_ident *dev, char *buf, size_t sz);

/*
 * A control request that reflashes a device: DFU_DETACH or DFU_DNLOAD to a
 * DFU interface (USB DFU 1.1 §3, class fe subclass 01), which if_class
 * tells (the classes of the device's interfaces by number).
 */
bool usb_dfu_request(const uint8_t setup[8], const struct usb_ident *dev);

#endif
