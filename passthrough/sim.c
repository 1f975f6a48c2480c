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
 *   tty          1209:0003 (usbd_tty_open, not --sim): the same CDC-ACM
 *                function in front of a host tty that is not a USB device
 *                (/dev/ttyS*, a non-USB adapter): bulk OUT is written to it,
 *                what it reads comes back on bulk IN, SET_LINE_CODING sets
 *                its baud rate, parity, data and stop bits (termios),
 *                SET_CONTROL_LINE_STATE its DTR and RTS (TIOCMBIS/BIC),
 *                SEND_BREAK sends a break. The guest sees a ttyACM port.
 *
 * 1209:0001, 1209:0002 and 1209:0003 are pid.codes' test product ids.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

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
	{ .name = "cdc-acm",
	  .vendor = 0x1209,
	  .product = 0x0001,
	  .dev_class = 0x02,
	  .product_name = "lbx simulated CDC-ACM",
	  .serial = "LBXSIM-ACM",
	  .config = acm_config,
	  .config_len = sizeof(acm_config),
	  .ifs = { { 0x02, 0x02, 0x01 }, { 0x0a, 0x00, 0x00 } },
	  .nifs = 2,
	  .ep_out = 2,
	  .ep_in = 1,
	  .ep_intr = 3 },
	{ .name = "vendor-bulk",
	  .vendor = 0x1209,
	  .product = 0x0002,
	  .dev_class = 0x00,
	  .product_name = "lbx simulated vendor bulk",
	  .serial = "LBXSIM-BULK",
	  .config = bulk_config,
	  .config_len = sizeof(bulk_config),
	  .ifs = { { 0xff, 0x00, 0x00 }, { 0xfe, 0x01, 0x01 } },
	  .nifs = 2,
	  .ep_out = 1,
	  .ep_in = 1,
	  .ep_intr = 0 },
	/* Last: usbd_tty_open's, never --sim's. */
	{ .name = "tty",
	  .vendor = 0x1209,
	  .product = 0x0003,
	  .dev_class = 0x02,
	  .product_name = "lbx serial bridge",
	  .serial = "tty",
	  .config = acm_config,
	  .config_len = sizeof(acm_config),
	  .ifs = { { 0x02, 0x02, 0x01 }, { 0x0a, 0x00, 0x00 } },
	  .nifs = 2,
	  .ep_out = 2,
	  .ep_in = 1,
	  .ep_intr = 3 },
};

struct sim {
	const struct sim_kind *k;
	struct lbx_bq fifo;
	struct usbd_urb *in_q, *out_q, *intr_q; /* waiting URBs, oldest first */
	uint8_t line_coding[7];
	uint16_t line_state;
	uint8_t config;
	int replug_timer;
	int tty; /* the host tty of a serial bridge, -1 */
	uint32_t tty_want;
	char tty_path[64];
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
	if (p && u->actual)
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

static const struct {
	uint32_t rate;
	speed_t speed;
} tty_speeds[] = {
	{ 300, B300 },	       { 1200, B1200 },	      { 2400, B2400 },	     { 4800, B4800 },
	{ 9600, B9600 },       { 19200, B19200 },     { 38400, B38400 },     { 57600, B57600 },
	{ 115200, B115200 },   { 230400, B230400 },   { 460800, B460800 },   { 921600, B921600 },
	{ 1000000, B1000000 }, { 2000000, B2000000 }, { 3000000, B3000000 },
};

/* The guest's line coding onto the host tty (termios). */
static int tty_line_coding(struct sim *s, uint32_t rate, uint8_t stop, uint8_t par, uint8_t bits)
{
	struct termios t;
	speed_t speed = 0;

	for (size_t i = 0; i < LBX_ARRAY_SIZE(tty_speeds); i++)
		if (tty_speeds[i].rate == rate)
			speed = tty_speeds[i].speed;
	if (!speed || bits < 5 || bits > 8 || par > 2 || stop == 1 || tcgetattr(s->tty, &t) < 0) {
		lbx_warn("serial %s: line coding %u baud, %u bits, parity %u, stop %u refused",
			 s->tty_path, rate, bits, par, stop);
		return -EINVAL;
	}
	cfmakeraw(&t);
	cfsetispeed(&t, speed);
	cfsetospeed(&t, speed);
	t.c_cflag &= ~(tcflag_t)(CSIZE | PARENB | PARODD | CSTOPB);
	t.c_cflag |= (bits == 5 ? CS5 : bits == 6 ? CS6 : bits == 7 ? CS7 : CS8) | CLOCAL | CREAD;
	if (par)
		t.c_cflag |= PARENB | (par == 1 ? PARODD : 0);
	if (stop == 2)
		t.c_cflag |= CSTOPB;
	return tcsetattr(s->tty, TCSANOW, &t) < 0 ? -errno : 0;
}

/* DTR (bit 0) and RTS (bit 1) onto the host tty's modem lines (boards reset on them). */
static void tty_lines(struct sim *s, uint16_t value)
{
	int dtr = TIOCM_DTR, rts = TIOCM_RTS;

	if (ioctl(s->tty, (value & 1) ? TIOCMBIS : TIOCMBIC, &dtr) < 0 ||
	    ioctl(s->tty, (value & 2) ? TIOCMBIS : TIOCMBIC, &rts) < 0)
		lbx_debug("serial %s: modem lines: %s", s->tty_path, strerror(errno));
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
		if (s->tty >= 0 && tty_line_coding(s, rate, stop, par, bits) < 0)
			return stall(u);
		u->actual = 7;
		u->status = 0;
		return 0;
	case 0x21: /* GET_LINE_CODING */ return reply(u, s->line_coding, 7);
	case 0x22: /* SET_CONTROL_LINE_STATE */
		if (value != s->line_state)
			lbx_info("sim %s: control lines DTR=%d RTS=%d", s->k->name, value & 1,
				 (value >> 1) & 1);
		s->line_state = value;
		if (s->tty >= 0)
			tty_lines(s, value);
		return reply(u, NULL, 0);
	case 0x23: /* SEND_BREAK */
		lbx_info("sim %s: break %u ms", s->k->name, value);
		if (s->tty >= 0)
			tcsendbreak(s->tty, 0);
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

static void on_tty(struct lbx_loop *loop, int fd, uint32_t events, void *data);

/* A serial bridge: OUT URBs to the tty, the tty into IN URBs, as far as it goes now. */
static void tty_pump(struct usbd *d)
{
	struct sim *s = d->priv;
	uint32_t want = 0;

	while (s->out_q) {
		struct usbd_urb *u = s->out_q;
		ssize_t n = u->length > u->actual
				? write(s->tty, u->buf + u->actual, u->length - u->actual)
				: 0;

		if (n < 0 && errno == EAGAIN)
			break;
		if (n < 0) {
			u->status = -EPIPE;
		} else {
			u->actual += (uint32_t)n;
			if (u->actual < u->length)
				continue;
			u->status = 0;
		}
		s->out_q = u->dev_next;
		d->complete(d, u);
	}
	while (s->in_q) {
		struct usbd_urb *u = s->in_q;
		ssize_t n = read(s->tty, u->buf, u->length);

		if (n < 0 && errno == EAGAIN)
			break;
		if (n <= 0 && errno == EIO)
			break; /* a pty whose other side is closed: nothing to read now */
		if (n == 0)
			break;
		u->status = n < 0 ? -EPIPE : 0;
		u->actual = n < 0 ? 0 : (uint32_t)n;
		s->in_q = u->dev_next;
		d->complete(d, u);
	}
	if (s->in_q)
		want |= EPOLLIN;
	if (s->out_q)
		want |= EPOLLOUT;
	if (lbx_loop_want(d->loop, s->tty, &s->tty_want, want, on_tty, d) < 0)
		lbx_warn("serial %s: cannot watch it", s->tty_path);
}

static void on_tty(struct lbx_loop *loop, int fd, uint32_t events, void *data)
{
	tty_pump(data);
}

/* Move bytes: OUT URBs into the FIFO, the FIFO into IN URBs, while either can go. */
static void pump(struct usbd *d)
{
	struct sim *s = d->priv;
	bool moved = true;

	if (s->tty >= 0) {
		tty_pump(d);
		return;
	}
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
	if (s->tty >= 0) {
		lbx_loop_want(d->loop, s->tty, &s->tty_want, 0, on_tty, d);
		close(s->tty);
	}
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
/* A serial bridge does not re-enumerate. */
static const struct usbd_ops tty_ops = { sim_submit, sim_cancel, sim_close, NULL };

int usbd_sim_ident(const char *kind, struct usb_ident *ident, char *product, size_t psz)
{
	for (size_t i = 0; i < LBX_ARRAY_SIZE(kinds); i++) {
		const struct sim_kind *k = &kinds[i];

		if (strcmp(k->name, kind) || !strcmp(kind, "tty"))
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
		if (!strcmp(kinds[i].name, kind) && strcmp(kind, "tty"))
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
	s->tty = -1;
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

int usbd_tty_open(struct usbd *d, const char *path, struct lbx_loop *loop, char *err, size_t errsz)
{
	const char *base = strrchr(path, '/');
	int fd = open(path, O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC), rc;
	struct sim *s;

	if (fd < 0) {
		snprintf(err, errsz, "cannot open the serial port %s: %s", path, strerror(errno));
		return -errno;
	}
	if (!isatty(fd)) {
		snprintf(err, errsz, "%s is not a tty", path);
		close(fd);
		return -ENOTTY;
	}
	rc = usbd_sim_open(d, "cdc-acm", loop, err, errsz);
	if (rc < 0) {
		close(fd);
		return rc;
	}
	/* The same function as the simulated port, in front of the tty. */
	s = d->priv;
	s->k = &kinds[LBX_ARRAY_SIZE(kinds) - 1];
	s->tty = fd;
	snprintf(s->tty_path, sizeof(s->tty_path), "%s", path);
	d->ops = &tty_ops;
	d->info.product = d->ident.product = s->k->product;
	snprintf(d->info.path, sizeof(d->info.path), "%s", path);
	/* The serial number is the tty's name, so a rule can name the port. */
	snprintf(d->ident.serial, sizeof(d->ident.serial), "%s", base ? base + 1 : path);
	tty_line_coding(s, 9600, 0, 0, 8);
	return 0;
}
