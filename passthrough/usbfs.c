/* SPDX-License-Identifier: MIT */
/*
 * A host USB device through usbfs (/dev/bus/usb/BBB/DDD; the kernel's
 * Documentation/driver-api/usb/usb.rst "The USB character device nodes"):
 * every interface is claimed from its host driver, URBs are submitted
 * with USBDEVFS_SUBMITURB and reaped when the descriptor turns writable,
 * CMD_UNLINK becomes USBDEVFS_DISCARDURB (the URB is then reaped with
 * -ENOENT and answered with RET_UNLINK). SET_CONFIGURATION, SET_INTERFACE
 * and CLEAR_FEATURE(ENDPOINT_HALT) go to their usbfs ioctls, as the
 * kernel's own usbip-host does, so the host's view of the device stays
 * right. Isochronous endpoints are refused.
 *
 * The descriptors come from the device: they are parsed with
 * common/reader.h like any other hostile bytes. When the device leaves
 * (ENODEV) the server drops the guest's connection; a device with the
 * same id and serial that appears later is opened again.
 *
 * Tested only where a real device exists (tests/e2e/test_usb.py); the
 * machines this was written on have none.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/usbdevice_fs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "evloop.h"
#include "log.h"
#include "reader.h"
#include "usb_host.h"
#include "usbdev.h"

#define USBFS_DESC_MAX	65536
#define USBFS_RESCAN_MS 500

struct usbfs {
	int fd;
	uint32_t want;
	uint8_t ep_type[32]; /* USBDEVFS_URB_TYPE_* by (ep | in << 4); 0xff unknown */
	uint8_t config;
	int rescan_timer;
	char node[64];
};

/*
 * usbfs gives back the address of k; its usercontext leads to the whole
 * struct (k comes last: it ends in a flexible array of iso packets).
 */
struct usbfs_urb {
	struct usbd_urb *u;
	uint8_t *buf;
	struct usbdevfs_urb k;
};

static void ep_types_from(struct usbfs *f, const uint8_t *p, size_t n)
{
	struct lbx_reader r;

	memset(f->ep_type, 0xff, sizeof(f->ep_type));
	lbx_reader_init(&r, p, n);
	while (lbx_reader_left(&r) >= 2) {
		uint8_t len, type, addr, attr;
		struct lbx_reader d;

		if (lbx_read_u8(&r, &len) < 0 || len < 2 || lbx_read_sub(&r, len - 1, &d) < 0)
			return;
		if (lbx_read_u8(&d, &type) < 0)
			return;
		if (type == 5 && lbx_read_u8(&d, &addr) == 0 && lbx_read_u8(&d, &attr) == 0) {
			static const uint8_t kinds[4] = { USBDEVFS_URB_TYPE_CONTROL,
							  USBDEVFS_URB_TYPE_ISO,
							  USBDEVFS_URB_TYPE_BULK,
							  USBDEVFS_URB_TYPE_INTERRUPT };

			f->ep_type[(addr & 0x0f) | ((addr & 0x80) ? 16 : 0)] = kinds[attr & 3];
		}
	}
}

/* The sysfs entry of node (/dev/bus/usb/BBB/DDD) as usb_host_list sees it. */
static int find_host(const char *node, struct usb_host_dev *out)
{
	static struct usb_host_dev all[USB_HOST_MAX];
	unsigned n = usb_host_list(NULL, all, USB_HOST_MAX);

	for (unsigned i = 0; i < n; i++)
		if (!all[i].sim[0] && !strcmp(all[i].node, node)) {
			*out = all[i];
			return 0;
		}
	return -ENOENT;
}

static void on_fd(struct lbx_loop *loop, int fd, uint32_t events, void *data);

static void gone(struct usbd *d);

static int claim_all(struct usbd *d)
{
	struct usbfs *f = d->priv;

	for (unsigned i = 0; i < d->ident.nifs; i++) {
		struct usbdevfs_disconnect_claim c = {
			.interface = i, .flags = USBDEVFS_DISCONNECT_CLAIM_EXCEPT_DRIVER
		};

		/* "usbfs" excepted: an interface we hold already stays ours. */
		snprintf(c.driver, sizeof(c.driver), "usbfs");
		if (ioctl(f->fd, USBDEVFS_DISCONNECT_CLAIM, &c) < 0 && errno != EBUSY) {
			lbx_warn("usbfs %s: cannot claim interface %u: %s", f->node, i,
				 strerror(errno));
			return -errno;
		}
	}
	return 0;
}

static int open_node(struct usbd *d, const char *node, char *err, size_t errsz)
{
	static uint8_t desc[USBFS_DESC_MAX];
	struct usbfs *f = d->priv;
	struct usb_host_dev h;
	ssize_t n;
	int speed;

	f->fd = open(node, O_RDWR | O_CLOEXEC | O_NONBLOCK);
	if (f->fd < 0) {
		snprintf(err, errsz, "cannot open %s: %s (is it yours? see lbx device ls)", node,
			 strerror(errno));
		return -errno;
	}
	snprintf(f->node, sizeof(f->node), "%s", node);
	n = read(f->fd, desc, sizeof(desc));
	if (n < 18 || find_host(node, &h) < 0) {
		snprintf(err, errsz, "%s: no USB device descriptor or sysfs entry", node);
		close(f->fd);
		f->fd = -1;
		return -ENODEV;
	}
	ep_types_from(f, desc + 18, (size_t)n - 18);
	d->ident = h.ident;
	d->info.vendor = h.ident.vendor;
	d->info.product = h.ident.product;
	d->info.ninterfaces = (uint8_t)LBX_MIN(h.ident.nifs, USBIP_MAX_INTERFACES);
	for (unsigned i = 0; i < d->info.ninterfaces; i++)
		d->info.ifs[i] =
		    (struct usbip_interface){ h.ident.ifs[i].cls, h.ident.ifs[i].subclass,
					      h.ident.ifs[i].protocol };
	d->info.dev_class = desc[4];
	d->info.dev_subclass = desc[5];
	d->info.dev_protocol = desc[6];
	d->info.bcd_device = (uint16_t)(desc[12] | desc[13] << 8);
	d->info.nconfigs = desc[17];
	d->info.config_value = 1;
	if (sscanf(node, "/dev/bus/usb/%u/%u", &d->info.busnum, &d->info.devnum) != 2)
		d->info.busnum = d->info.devnum = 0;
	snprintf(d->info.path, sizeof(d->info.path), "%s", node);
	speed = ioctl(f->fd, USBDEVFS_GET_SPEED);
	d->info.speed = speed > 0 ? (uint32_t)speed : USBIP_SPEED_HIGH;
	if (claim_all(d) < 0) {
		snprintf(err, errsz, "%s: cannot claim its interfaces from their host drivers",
			 node);
		close(f->fd);
		f->fd = -1;
		return -EBUSY;
	}
	f->want = 0;
	if (lbx_loop_want(d->loop, f->fd, &f->want, EPOLLOUT, on_fd, d) < 0) {
		snprintf(err, errsz, "%s: cannot watch it", node);
		return -ENOMEM;
	}
	d->present = true;
	return 0;
}

static void complete(struct usbd *d, struct usbfs_urb *k)
{
	struct usbd_urb *u = k->u;

	u->status = k->k.status;
	u->actual = k->k.actual_length > 0 ? (uint32_t)k->k.actual_length : 0;
	if (u->ep == 0 && u->in && u->actual)
		memcpy(u->buf, k->buf + 8, LBX_MIN(u->actual, u->length));
	else if (u->in && u->actual)
		memcpy(u->buf, k->buf, LBX_MIN(u->actual, u->length));
	free(k->buf);
	free(k);
	u->priv = NULL;
	d->complete(d, u);
}

static void on_fd(struct lbx_loop *loop, int fd, uint32_t events, void *data)
{
	struct usbd *d = data;
	struct usbdevfs_urb *k;

	for (;;) {
		if (ioctl(fd, USBDEVFS_REAPURBNDELAY, &k) == 0) {
			complete(d, k->usercontext);
			continue;
		}
		if (errno == ENODEV)
			gone(d);
		return;
	}
}

/* Requests usbfs must do itself, as usbip-host does (stub_rx.c): 1 if handled. */
static int standard(struct usbd *d, struct usbd_urb *u)
{
	struct usbfs *f = d->priv;
	uint8_t type = u->setup[0], req = u->setup[1];
	unsigned value = u->setup[2] | u->setup[3] << 8, index = u->setup[4] | u->setup[5] << 8;
	int rc;

	if (type == 0x00 && req == 9) { /* SET_CONFIGURATION */
		rc = value == f->config ? 0 : ioctl(f->fd, USBDEVFS_SETCONFIGURATION, &value);
		if (rc == 0)
			f->config = (uint8_t)value;
		if (rc == 0)
			claim_all(d);
	} else if (type == 0x01 && req == 11) { /* SET_INTERFACE */
		struct usbdevfs_setinterface si = { .interface = index, .altsetting = value };

		rc = ioctl(f->fd, USBDEVFS_SETINTERFACE, &si);
	} else if (type == 0x02 && req == 1 && value == 0) { /* CLEAR_FEATURE(ENDPOINT_HALT) */
		rc = ioctl(f->fd, USBDEVFS_CLEAR_HALT, &index);
	} else {
		return 0;
	}
	u->status = rc < 0 ? -errno : 0;
	u->actual = 0;
	return 1;
}

static int usbfs_submit(struct usbd *d, struct usbd_urb *u)
{
	struct usbfs *f = d->priv;
	struct usbfs_urb *k;
	uint8_t type;

	if (f->fd < 0 || !d->present)
		return -ENODEV;
	if (u->ep == 0 && standard(d, u))
		return 0;
	type = u->ep == 0 ? USBDEVFS_URB_TYPE_CONTROL : f->ep_type[u->ep | (u->in ? 16 : 0)];
	if (type == USBDEVFS_URB_TYPE_ISO) {
		lbx_warn("usbfs %s: isochronous endpoint %u refused: not supported", f->node,
			 u->ep);
		return -EOPNOTSUPP;
	}
	if (type == 0xff)
		return -EPIPE;
	k = calloc(1, sizeof(*k));
	if (!k || !(k->buf = calloc(1, (size_t)u->length + 8))) {
		free(k);
		return -ENOMEM;
	}
	k->u = u;
	k->k.type = type;
	k->k.endpoint = (unsigned char)(u->ep | (u->in ? 0x80 : 0));
	k->k.usercontext = k;
	if (type == USBDEVFS_URB_TYPE_CONTROL) {
		memcpy(k->buf, u->setup, 8);
		if (!u->in)
			memcpy(k->buf + 8, u->buf, u->length);
		k->k.buffer_length = (int)u->length + 8;
	} else {
		if (!u->in)
			memcpy(k->buf, u->buf, u->length);
		k->k.buffer_length = (int)u->length;
	}
	k->k.buffer = k->buf;
	if (ioctl(f->fd, USBDEVFS_SUBMITURB, &k->k) < 0) {
		int e = errno;

		free(k->buf);
		free(k);
		if (e == ENODEV)
			gone(d);
		return -e;
	}
	u->priv = k;
	return 1;
}

static bool usbfs_cancel(struct usbd *d, struct usbd_urb *u)
{
	struct usbfs *f = d->priv;
	struct usbfs_urb *k = u->priv;

	/* Discarded or not, usbfs gives it back through REAPURB: answered then. */
	if (k && f->fd >= 0)
		ioctl(f->fd, USBDEVFS_DISCARDURB, &k->k);
	return false;
}

static void close_fd(struct usbd *d)
{
	struct usbfs *f = d->priv;

	if (f->fd < 0)
		return;
	lbx_loop_want(d->loop, f->fd, &f->want, 0, on_fd, d);
	/*
	 * The server has given up on every URB (they are orphans): reap what
	 * usbfs still holds so each is freed (usbfs reaps after a disconnect).
	 */
	for (int i = 0; i < 1000; i++) {
		struct usbdevfs_urb *k;

		if (ioctl(f->fd, USBDEVFS_REAPURBNDELAY, &k) < 0)
			break;
		complete(d, k->usercontext);
	}
	close(f->fd);
	f->fd = -1;
}

static void on_rescan(struct lbx_loop *loop, int fd, uint32_t events, void *data)
{
	static struct usb_host_dev all[USB_HOST_MAX];
	struct usbd *d = data;
	struct usbfs *f = d->priv;
	unsigned n = usb_host_list(NULL, all, USB_HOST_MAX);
	char err[256];

	for (unsigned i = 0; i < n; i++) {
		if (all[i].sim[0] || all[i].ident.vendor != d->ident.vendor ||
		    all[i].ident.product != d->ident.product ||
		    strcmp(all[i].ident.serial, d->ident.serial))
			continue;
		if (open_node(d, all[i].node, err, sizeof(err)) < 0) {
			lbx_debug("usbfs: %s", err);
			return;
		}
		lbx_loop_del(loop, f->rescan_timer);
		f->rescan_timer = -1;
		lbx_info("usbfs: %04x:%04x is back at %s", d->ident.vendor, d->ident.product,
			 all[i].node);
		d->back(d);
		return;
	}
}

static void gone(struct usbd *d)
{
	struct usbfs *f = d->priv;

	if (!d->present)
		return;
	lbx_info("usbfs %s: %04x:%04x left the bus", f->node, d->ident.vendor, d->ident.product);
	d->present = false;
	d->gone(d);
	close_fd(d);
	f->rescan_timer = lbx_loop_add_timer(d->loop, USBFS_RESCAN_MS, true, on_rescan, d);
}

static void usbfs_close(struct usbd *d)
{
	struct usbfs *f = d->priv;

	if (f->rescan_timer >= 0)
		lbx_loop_del(d->loop, f->rescan_timer);
	close_fd(d);
	free(f);
	d->priv = NULL;
}

static const struct usbd_ops usbfs_ops = { usbfs_submit, usbfs_cancel, usbfs_close, NULL };

int usbd_usbfs_open(struct usbd *d, const char *path, struct lbx_loop *loop, char *err,
		    size_t errsz)
{
	struct usbfs *f = calloc(1, sizeof(*f));
	int rc;

	if (!f) {
		snprintf(err, errsz, "out of memory");
		return -ENOMEM;
	}
	*d = (struct usbd){ .ops = &usbfs_ops, .loop = loop, .priv = f };
	f->fd = -1;
	f->rescan_timer = -1;
	f->config = 1;
	snprintf(d->info.busid, sizeof(d->info.busid), "1-1");
	rc = open_node(d, path, err, errsz);
	if (rc < 0) {
		free(f);
		d->priv = NULL;
	}
	return rc;
}
