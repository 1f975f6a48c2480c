/* SPDX-License-Identifier: MIT */
/*
 * Simulated USB devices (usbdev.h), selected only by lbx-usbipd --sim:
 * every layer (USB/IP, vhci-hcd, the guest's drivers, the policy) can be
 * tested without hardware.
 *
 *   cdc-acm      1209:0001, a CDC-ACM serial port (USB CDC 1.2, PSTN
 *                §6.3) whose bulk OUT comes back on bulk IN; line coding
 *                and control line state changes are logged.
 *   vendor-bulk  1209:0002, a vendor interface (ff:00:00) whose bulk OUT
 *                comes back on bulk IN, and a DFU runtime interface
 *                (fe:01:01) to exercise the allow_dfu rule.
 *
 * 1209:0001 and 1209:0002 are pid.codes' test product ids.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bytequeue.h"
#include "evloop.h"
#include "log.h"
#include "reader.h"
#include "usb_host.h"
#include "usbdev.h"
#include "writer.h"

#define SIM_FIFO      (64 * 1024)
#define SIM_REPLUG_MS 500

struct sim_kind {
	const char *name;
	uint16_t vendor, product;
	uint8_t dev_class;
	const char *product_name, *serial;
	const uint8_t *config;
	size_t config_len;
	uint8_t ifs[4][3];
	unsigned nifs;
	uint8_t ep_out, ep_in, ep_intr; /* endpoint numbers; ep_intr 0: none */
};

/* Configuration descriptors (USB 2.0 §9.6.3-9.6.6), little-endian fields. */
static const uint8_t acm_config[] = {
	9,    2,    67,	  0,	2,    1,    0,
	0x80, 50, /* configuration: 2 interfaces */
	9,    4,    0,	  0,	1,    0x02, 0x02,
	0x01, 0,				  /* interface 0: CDC communications, ACM, AT */
	5,    0x24, 0x00, 0x10, 0x01,		  /* CDC header 1.10 */
	5,    0x24, 0x01, 0x00, 0x01,		  /* call management: data interface 1 */
	4,    0x24, 0x02, 0x02,			  /* ACM: line coding and control line state */
	5,    0x24, 0x06, 0x00, 0x01,		  /* union: master 0, slave 1 */
	7,    5,    0x83, 0x03, 0x10, 0,    0x10, /* endpoint 3 IN, interrupt, 16 bytes */
	9,    4,    1,	  0,	2,    0x0a, 0x00,
	0x00, 0,			       /* interface 1: CDC data */
	7,    5,    0x02, 0x02, 0x40, 0,    0, /* endpoint 2 OUT, bulk, 64 bytes */
	7,    5,    0x81, 0x02, 0x40, 0,    0, /* endpoint 1 IN, bulk, 64 bytes */
};

static const uint8_t bulk_config[] = {
	9, 2,	 50,   0,    2,	   1,	 0,    0x80, 50,   /* configuration: 2 interfaces */
	9, 4,	 0,    0,    2,	   0xff, 0x00, 0x00, 0,	   /* interface 0: vendor */
	7, 5,	 0x01, 0x02, 0x40, 0,	 0,		   /* endpoint 1 OUT, bulk */
	7, 5,	 0x81, 0x02, 0x40, 0,	 0,		   /* endpoint 1 IN, bulk */
	9, 4,	 1,    0,    0,	   0xfe, 0x01, 0x01, 0,	   /* interface 1: DFU runtime */
	9, 0x21, 0x0b, 0xff, 0,	   0x00, 0x04, 0x10, 0x01, /* DFU functional 1.1 */
};

static const struct sim_kind kinds[] = {
	{ "cdc-acm",
	  0x1209,
	  0x0001,
	  0x02,
	  "lbx simulated CDC-ACM",
	  "LBXSIM-ACM",
	  acm_config,
	  sizeof(acm_config),
	  { { 0x02, 0x02, 0x01 }, { 0x0a, 0x00, 0x00 } },
	  2,
	  2,
	  1,
	  3 },
	{ "vendor-bulk",
	  0x1209,
	  0x0002,
	  0x00,
	  "lbx simulated vendor bulk",
	  "LBXSIM-BULK",
	  bulk_config,
	  sizeof(bulk_config),
	  { { 0xff, 0x00, 0x00 }, { 0xfe, 0x01, 0x01 } },
	  2,
	  1,
	  1,
	  0 },
};

struct sim {
	const struct sim_kind *k;
	struct lbx_bq fifo;
	struct usbd_urb *in_q, *out_q, *intr_q; /* waiting URBs, oldest first */
	uint8_t line_coding[7];
	uint16_t line_state;
	uint8_t config;
	int replug_timer;
};

static void q_push(struct usbd_urb **q, struct usbd_urb *u)
{
	while (*q)
		q = &(*q)->dev_next;
	u->dev_next = NULL;
	*q = u;
}

static bool q_remove(struct usbd_urb **q, struct usbd_urb *u)
{
	for (; *q; q = &(*q)->dev_next)
		if (*q == u) {
			*q = u->dev_next;
			return true;
		}
	return false;
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static void device_descriptor(const struct sim_kind *k, uint8_t out[18])
{
	const uint8_t d[18] = { 18, 1, 0x00, 0x02, k->dev_class, 0, 0, 64, 0,
				0,  0, 0,    0x00, 0x01,	 1, 2, 3,  1 };

	memcpy(out, d, sizeof(d));
	put16(out + 8, k->vendor);
	put16(out + 10, k->product);
}

/* A string descriptor (USB 2.0 §9.6.7): UTF-16LE of an ASCII string. */
static size_t string_descriptor(const struct sim_kind *k, unsigned idx, uint8_t *out, size_t max)
{
	const char *s = idx == 1 ? "lbx" : idx == 2 ? k->product_name : idx == 3 ? k->serial : NULL;
	size_t n = 0;

	if (idx == 0) {
		const uint8_t langs[4] = { 4, 3, 0x09, 0x04 };

		memcpy(out, langs, 4);
		return 4;
	}
	if (!s)
		return 0;
	out[n++] = (uint8_t)(2 + 2 * strlen(s));
	out[n++] = 3;
	for (; *s && n + 2 <= max; s++) {
		out[n++] = (uint8_t)*s;
		out[n++] = 0;
	}
	return n;
}

static int reply(struct usbd_urb *u, const void *p, size_t n)
{
	u->actual = (uint32_t)LBX_MIN(n, (size_t)u->length);
	if (u->actual)
		memcpy(u->buf, p, u->actual);
	u->status = 0;
	return 0;
}

static int stall(struct usbd_urb *u)
{
	u->status = -EPIPE;
	u->actual = 0;
	return 0;
}

static int get_descriptor(struct sim *s, struct usbd_urb *u, uint16_t value)
{
	uint8_t buf[256];
	size_t n;

	switch (value >> 8) {
	case 1: device_descriptor(s->k, buf); return reply(u, buf, 18);
	case 2: return reply(u, s->k->config, s->k->config_len);
	case 3:
		n = string_descriptor(s->k, value & 0xff, buf, sizeof(buf));
		return n ? reply(u, buf, n) : stall(u);
	default: /* device qualifier, BOS...: a full-speed USB 2.0 device has none */
		return stall(u);
	}
}

/* CDC PSTN §6.3.10-12: the requests a serial port driver sends. */
static int acm_request(struct sim *s, struct usbd_urb *u, uint8_t req, uint16_t value)
{
	static const char parity[] = "NOEMS";
	struct lbx_reader r;
	uint32_t rate;
	uint8_t stop, par, bits;

	switch (req) {
	case 0x20: /* SET_LINE_CODING */
		lbx_reader_init(&r, u->buf, u->length);
		if (lbx_read_u32le(&r, &rate) < 0 || lbx_read_u8(&r, &stop) < 0 ||
		    lbx_read_u8(&r, &par) < 0 || lbx_read_u8(&r, &bits) < 0)
			return stall(u);
		memcpy(s->line_coding, u->buf, 7);
		lbx_info("sim %s: line coding %u %u%c%s", s->k->name, rate, bits,
			 par < 5 ? parity[par] : '?',
			 stop == 0   ? "1"
			 : stop == 1 ? "1.5"
				     : "2");
		u->actual = 7;
		u->status = 0;
		return 0;
	case 0x21: /* GET_LINE_CODING */ return reply(u, s->line_coding, 7);
	case 0x22: /* SET_CONTROL_LINE_STATE */
		if (value != s->line_state)
			lbx_info("sim %s: control lines DTR=%d RTS=%d", s->k->name, value & 1,
				 (value >> 1) & 1);
		s->line_state = value;
		return reply(u, NULL, 0);
	case 0x23: /* SEND_BREAK */
		lbx_info("sim %s: break %u ms", s->k->name, value);
		return reply(u, NULL, 0);
	default: return stall(u);
	}
}

static int control(struct sim *s, struct usbd_urb *u)
{
	struct lbx_reader r;
	uint8_t type, req;
	uint16_t value, index, len;

	lbx_reader_init(&r, u->setup, 8);
	if (lbx_read_u8(&r, &type) < 0 || lbx_read_u8(&r, &req) < 0 ||
	    lbx_read_u16le(&r, &value) < 0 || lbx_read_u16le(&r, &index) < 0 ||
	    lbx_read_u16le(&r, &len) < 0)
		return stall(u);
	if ((type & 0x60) == 0x00) { /* standard */
		switch (req) {
		case 6: /* GET_DESCRIPTOR */ return get_descriptor(s, u, value);
		case 9: /* SET_CONFIGURATION */
			s->config = (uint8_t)value;
			return reply(u, NULL, 0);
		case 8: /* GET_CONFIGURATION */ return reply(u, &s->config, 1);
		case 0: /* GET_STATUS */ return reply(u, "\0", 2);
		case 1: /* CLEAR_FEATURE */
		case 3: /* SET_FEATURE */
		case 11: /* SET_INTERFACE */ return reply(u, NULL, 0);
		default: return stall(u);
		}
	}
	if ((type & 0x60) == 0x20 && s->k->ep_intr)
		return acm_request(s, u, req, value);
	if ((type & 0x60) == 0x20 && req == 0 && index == 1) {
		lbx_info("sim %s: DFU detach", s->k->name);
		return reply(u, NULL, 0);
	}
	return stall(u);
}

/* Move bytes: OUT URBs into the FIFO, the FIFO into IN URBs, while either can go. */
static void pump(struct usbd *d)
{
	struct sim *s = d->priv;
	bool moved = true;

	while (moved) {
		moved = false;
		if (s->out_q && lbx_bq_room(&s->fifo) >= s->out_q->length) {
			struct usbd_urb *u = s->out_q;

			s->out_q = u->dev_next;
			if (lbx_bq_append(&s->fifo, u->buf, u->length) < 0)
				u->status = -EPIPE;
			else
				u->actual = u->length, u->status = 0;
			d->complete(d, u);
			moved = true;
		}
		if (s->in_q && lbx_bq_len(&s->fifo)) {
			struct usbd_urb *u = s->in_q;
			size_t n = LBX_MIN(lbx_bq_len(&s->fifo), (size_t)u->length);

			s->in_q = u->dev_next;
			memcpy(u->buf, lbx_bq_head(&s->fifo), n);
			lbx_bq_consume(&s->fifo, n);
			u->actual = (uint32_t)n;
			u->status = 0;
			d->complete(d, u);
			moved = true;
		}
	}
}

static int sim_submit(struct usbd *d, struct usbd_urb *u)
{
	struct sim *s = d->priv;

	if (u->ep == 0)
		return control(s, u);
	if (s->k->ep_intr && u->ep == s->k->ep_intr && u->in) {
		q_push(&s->intr_q, u); /* no serial state to notify: it waits to be unlinked */
		return 1;
	}
	if (u->in && u->ep == s->k->ep_in)
		q_push(&s->in_q, u);
	else if (!u->in && u->ep == s->k->ep_out)
		q_push(&s->out_q, u);
	else
		return stall(u);
	/* The server holds u as pending already: pump may complete it, or older ones, now. */
	pump(d);
	return 1;
}

static bool sim_cancel(struct usbd *d, struct usbd_urb *u)
{
	struct sim *s = d->priv;

	return q_remove(&s->in_q, u) || q_remove(&s->out_q, u) || q_remove(&s->intr_q, u);
}

static void sim_close(struct usbd *d)
{
	struct sim *s = d->priv;

	if (s->replug_timer >= 0)
		lbx_loop_del(d->loop, s->replug_timer);
	lbx_bq_free(&s->fifo);
	free(s);
	d->priv = NULL;
}

static void on_back(struct lbx_loop *loop, int fd, uint32_t events, void *data)
{
	struct usbd *d = data;
	struct sim *s = d->priv;

	lbx_loop_del(loop, fd);
	s->replug_timer = -1;
	d->present = true;
	lbx_info("sim %s: back on the bus", s->k->name);
	d->back(d);
}

/* Off the bus (the server drops the guest's connection and its URBs), back after a while. */
static void sim_replug(struct usbd *d)
{
	struct sim *s = d->priv;

	if (!d->present || s->replug_timer >= 0)
		return;
	lbx_info("sim %s: re-enumerating", s->k->name);
	d->present = false;
	d->gone(d);
	lbx_bq_consume(&s->fifo, lbx_bq_len(&s->fifo));
	s->replug_timer = lbx_loop_add_timer(d->loop, SIM_REPLUG_MS, false, on_back, d);
	if (s->replug_timer < 0)
		on_back(d->loop, -1, 0, d);
}

static const struct usbd_ops sim_ops = { sim_submit, sim_cancel, sim_close, sim_replug };

int usbd_sim_ident(const char *kind, struct usb_ident *ident, char *product, size_t psz)
{
	for (size_t i = 0; i < LBX_ARRAY_SIZE(kinds); i++) {
		const struct sim_kind *k = &kinds[i];

		if (strcmp(k->name, kind))
			continue;
		memset(ident, 0, sizeof(*ident));
		ident->vendor = k->vendor;
		ident->product = k->product;
		snprintf(ident->serial, sizeof(ident->serial), "%s", k->serial);
		ident->nifs = k->nifs;
		for (unsigned j = 0; j < k->nifs; j++) {
			ident->ifs[j].cls = k->ifs[j][0];
			ident->ifs[j].subclass = k->ifs[j][1];
			ident->ifs[j].protocol = k->ifs[j][2];
		}
		snprintf(product, psz, "%s", k->product_name);
		return 0;
	}
	return -ENOENT;
}

int usbd_sim_open(struct usbd *d, const char *kind, struct lbx_loop *loop, char *err, size_t errsz)
{
	const struct sim_kind *k = NULL;
	struct sim *s;

	for (size_t i = 0; i < LBX_ARRAY_SIZE(kinds); i++)
		if (!strcmp(kinds[i].name, kind))
			k = &kinds[i];
	if (!k) {
		snprintf(err, errsz, "--sim %s: no such simulated device (cdc-acm, vendor-bulk)",
			 kind);
		return -EINVAL;
	}
	s = calloc(1, sizeof(*s));
	if (!s || lbx_bq_init(&s->fifo, SIM_FIFO) < 0) {
		free(s);
		snprintf(err, errsz, "out of memory");
		return -ENOMEM;
	}
	s->k = k;
	s->replug_timer = -1;
	/* 9600 8N1 until the driver says otherwise. */
	memcpy(s->line_coding, (const uint8_t[7]){ 0x80, 0x25, 0, 0, 0, 0, 8 }, 7);
	*d = (struct usbd){ .ops = &sim_ops, .present = true, .loop = loop, .priv = s };
	snprintf(d->info.path, sizeof(d->info.path), "/sys/devices/lbx-sim/%s", k->name);
	snprintf(d->info.busid, sizeof(d->info.busid), "1-1");
	d->info.busnum = 1;
	d->info.devnum = 2;
	d->info.speed = USBIP_SPEED_FULL;
	d->info.vendor = k->vendor;
	d->info.product = k->product;
	d->info.bcd_device = 0x0100;
	d->info.dev_class = k->dev_class;
	d->info.config_value = 1;
	d->info.nconfigs = 1;
	d->info.ninterfaces = (uint8_t)k->nifs;
	d->ident.vendor = k->vendor;
	d->ident.product = k->product;
	snprintf(d->ident.serial, sizeof(d->ident.serial), "%s", k->serial);
	d->ident.nifs = k->nifs;
	for (unsigned i = 0; i < k->nifs; i++) {
		d->info.ifs[i] =
		    (struct usbip_interface){ k->ifs[i][0], k->ifs[i][1], k->ifs[i][2] };
		d->ident.ifs[i].cls = k->ifs[i][0];
		d->ident.ifs[i].subclass = k->ifs[i][1];
		d->ident.ifs[i].protocol = k->ifs[i][2];
	}
	return 0;
}
