/* SPDX-License-Identifier: MIT */
/*
 * lbx-usbipd's server: one exported device, one guest connection at a
 * time (usbip_protocol.rst). A connection asks for the device list or
 * imports the device; after an import it carries URBs: each CMD_SUBMIT
 * goes to the device (usbdev.h), each completion goes back as RET_SUBMIT
 * in the order the device completes them, and CMD_UNLINK is answered
 * after every RET_SUBMIT already queued (a RET_UNLINK with -ECONNRESET
 * for a URB the device still held, which then gets no RET_SUBMIT; status
 * 0 for one already answered).
 *
 * The device is checked against the box's rules (rules.h) when the
 * server starts and on every import (a device that re-enumerated may
 * have come back as another); control requests that reflash it need the
 * matching rule's allow_dfu. Every attach, detach and refusal is one
 * JSON line in the audit log.
 */
#ifndef LBX_USBIPD_H
#define LBX_USBIPD_H

#include <stdbool.h>

#include "rules.h"
#include "usbdev.h"

struct lbx_loop;
struct usbipd;

struct usbipd_config {
	const char *box;	/* for messages and audit lines */
	const char *rules_file; /* where the rules came from, for messages */
	const struct usb_rules *rules;
	int audit_fd; /* -1: none */
};

/*
 * The rule dev matches (its index), or -1 with a message that names the
 * device, the box and its rule set in msg.
 */
int usbipd_policy(const struct usbipd_config *cfg, const struct usbd *dev, char *msg, size_t msgsz);
/* One audit line: event (attach, detach, refuse, dfu-refused...), the device, details. */
void usbipd_audit(const struct usbipd_config *cfg, const char *event, const struct usbd *dev,
		  const char *rule, const char *reason);

/* Serve dev on listen_fd (a listening socket; the server does not close it). */
struct usbipd *usbipd_new(struct lbx_loop *loop, int listen_fd, struct usbd *dev,
			  const struct usbipd_config *cfg);
/*
 * Held: the device is not offered (the list is empty, an import is
 * refused) and the guest's connection is dropped: `lbx device detach`.
 * Released: offered again (`lbx device attach`).
 */
void usbipd_hold(struct usbipd *s, bool held);
/* Drop the guest's connection (audited as a detach if it had imported the device). */
void usbipd_disconnect(struct usbipd *s, const char *why);
void usbipd_free(struct usbipd *s);

#endif
