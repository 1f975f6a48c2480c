/* SPDX-License-Identifier: MIT */
/* lbx-usbipd's server (usbipd.h). */
#include "usbipd.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "bytequeue.h"
#include "evloop.h"
#include "log.h"

#define IN_CAP	(USBIP_HDR_LEN + USBIP_MAX_TRANSFER + 4096)
#define OUT_CAP (4 * USBIP_MAX_TRANSFER)
/* Stop reading the guest while the replies could not all be queued. */
#define OUT_LOW	    (2 * (USBIP_HDR_LEN + USBIP_MAX_TRANSFER) + 64 * 1024)
#define MAX_PENDING 1024

struct usbipd {
	struct lbx_loop *loop;
	struct usbd *dev;
	const struct usbipd_config *cfg;
	int lfd, fd;
	uint32_t want;
	bool imported;
	bool attached_once;
	int rule;
	uint32_t devid;
	struct lbx_bq in, out;
	struct usbd_urb *pending; /* the device holds these */
	unsigned npending;
	bool closing; /* flush what is queued, then close */
	bool held;    /* detached by the user: not offered */
};

/* --- policy and audit --- */

int usbipd_policy(const struct usbipd_config *cfg, const struct usbd *dev, char *msg, size_t msgsz)
{
	char ident[512], names[512] = "";
	size_t n = 0;
	int i = usb_rules_match(cfg->rules, &dev->ident);

	if (i >= 0)
		return i;
	for (unsigned k = 0; k < cfg->rules->n && n < sizeof(names); k++)
		n += (size_t)snprintf(names + n, sizeof(names) - n, "%s%s", k ? ", " : "",
				      cfg->rules->rule[k].name);
	usb_ident_format(&dev->ident, ident, sizeof(ident));
	snprintf(msg, msgsz,
		 "box %s: USB device %s matches no rule of devices.usb in %s (%u rule%s%s%s%s); "
		 "refused: add a rule naming it to the box definition",
		 cfg->box, ident, cfg->rules_file, cfg->rules->n, cfg->rules->n == 1 ? "" : "s",
		 cfg->rules->n ? ": " : "", names, "");
	return -1;
}

static void add_str(cJSON *o, const char *k, const char *v)
{
	char esc[1024];

	if (!v || !*v)
		return;
	lbx_log_escape(esc, sizeof(esc), v, strlen(v));
	cJSON_AddStringToObject(o, k, esc);
}

void usbipd_audit(const struct usbipd_config *cfg, const char *event, const struct usbd *dev,
		  const char *rule, const char *reason)
{
	struct timespec ts;
	struct tm tm;
	char t[64], id[16];
	cJSON *o;
	char *line;

	if (cfg->audit_fd < 0)
		return;
	o = cJSON_CreateObject();
	if (!o)
		return;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(t, sizeof(t), "%Y-%m-%dT%H:%M:%SZ", &tm);
	snprintf(id, sizeof(id), "%04x:%04x", dev->ident.vendor, dev->ident.product);
	add_str(o, "time", t);
	add_str(o, "box", cfg->box);
	add_str(o, "event", event);
	add_str(o, "device", id);
	add_str(o, "serial", dev->ident.serial);
	add_str(o, "busid", dev->info.busid);
	add_str(o, "rule", rule);
	add_str(o, "reason", reason);
	line = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	if (!line)
		return;
	if (write(cfg->audit_fd, line, strlen(line)) < 0 || write(cfg->audit_fd, "\n", 1) < 0)
		lbx_warn("cannot write the audit log: %s", strerror(errno));
	free(line);
}

static const char *rule_name(const struct usbipd *s)
{
	return s->rule >= 0 ? s->cfg->rules->rule[s->rule].name : NULL;
}

/* --- output --- */

static void on_conn(struct lbx_loop *loop, int fd, uint32_t events, void *data);

static void update_watch(struct usbipd *s)
{
	uint32_t ev = 0;

	if (s->fd < 0)
		return;
	if (!s->closing && lbx_bq_room(&s->out) >= OUT_LOW)
		ev |= EPOLLIN;
	if (lbx_bq_len(&s->out))
		ev |= EPOLLOUT;
	if (lbx_loop_want(s->loop, s->fd, &s->want, ev, on_conn, s) < 0)
		lbx_warn("cannot watch the guest's connection");
}

/* Queue the writer's message; a reply that does not fit ends the connection. */
static int queue(struct usbipd *s, struct lbx_writer *w)
{
	int rc = lbx_writer_error(w);

	if (rc == 0)
		rc = lbx_bq_append(&s->out, lbx_writer_data(w), lbx_writer_len(w));
	lbx_writer_free(w);
	if (rc < 0) {
		usbipd_disconnect(s, "a reply does not fit the output queue");
		return rc;
	}
	return 0;
}

static void send_ret_submit(struct usbipd *s, const struct usbd_urb *u)
{
	struct lbx_writer w;
	uint32_t actual = LBX_MIN(u->actual, u->length);

	lbx_writer_init_dynamic(&w, USBIP_HDR_LEN + USBIP_MAX_TRANSFER);
	if (usbip_ret_submit_write(&w, u->seqnum, u->status, actual, u->in ? u->buf : NULL,
				   u->in ? actual : 0) < 0)
		lbx_debug("ret_submit: %s", strerror(-lbx_writer_error(&w)));
	queue(s, &w);
}

static void send_ret_unlink(struct usbipd *s, uint32_t seqnum, int32_t status)
{
	struct lbx_writer w;

	lbx_writer_init_dynamic(&w, USBIP_HDR_LEN);
	if (usbip_ret_unlink_write(&w, seqnum, status) < 0)
		lbx_debug("ret_unlink: %s", strerror(-lbx_writer_error(&w)));
	queue(s, &w);
}

/* --- URBs --- */

static void urb_free(struct usbd_urb *u)
{
	free(u->buf);
	free(u);
}

static bool pending_remove(struct usbipd *s, struct usbd_urb *u)
{
	for (struct usbd_urb **p = &s->pending; *p; p = &(*p)->next)
		if (*p == u) {
			*p = u->next;
			s->npending--;
			return true;
		}
	return false;
}

static struct usbd_urb *pending_find(struct usbipd *s, uint32_t seqnum)
{
	for (struct usbd_urb *u = s->pending; u; u = u->next)
		if (u->seqnum == seqnum)
			return u;
	return NULL;
}

/* The device is done with u: answer it (RET_SUBMIT, or RET_UNLINK if it was unlinked). */
static void on_complete(struct usbd *d, struct usbd_urb *u)
{
	struct usbipd *s = d->server;

	if (u->orphan) {
		urb_free(u);
		return;
	}
	pending_remove(s, u);
	if (s->fd >= 0 && u->unlinked)
		send_ret_unlink(s, u->unlink_seq, -ECONNRESET);
	else if (s->fd >= 0)
		send_ret_submit(s, u);
	urb_free(u);
	update_watch(s);
}

/* Give back every URB the device holds; those it cannot cancel at once complete as orphans. */
static void drop_pending(struct usbipd *s)
{
	while (s->pending) {
		struct usbd_urb *u = s->pending;

		s->pending = u->next;
		s->npending--;
		u->orphan = true;
		if (s->dev->ops->cancel(s->dev, u))
			urb_free(u);
	}
}

static int protocol_error(struct usbipd *s, const char *fmt, ...) LBX_PRINTF(2, 3);
static int protocol_error(struct usbipd *s, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	lbx_warn("box %s: %s; closing the guest's connection", s->cfg->box, msg);
	usbipd_disconnect(s, msg);
	return -EPROTO;
}

static bool dfu_refused(struct usbipd *s, const struct usbip_hdr *h)
{
	if (h->ep != 0 || !usb_dfu_request(h->u.submit.setup, &s->dev->ident))
		return false;
	if (s->rule >= 0 && s->cfg->rules->rule[s->rule].allow_dfu)
		return false;
	lbx_warn(
	    "box %s: a DFU request to %04x:%04x was refused: rule %s has no \"allow_dfu\": true",
	    s->cfg->box, s->dev->ident.vendor, s->dev->ident.product,
	    rule_name(s) ? rule_name(s) : "?");
	usbipd_audit(s->cfg, "refuse", s->dev, rule_name(s),
		     "a request that reflashes the device needs allow_dfu");
	return true;
}

static int do_submit(struct usbipd *s, const struct usbip_hdr *h, const uint8_t *data, size_t n)
{
	struct usbd_urb *u;
	int rc;

	if (pending_find(s, h->seqnum))
		return protocol_error(s, "CMD_SUBMIT seqnum %u is already in flight", h->seqnum);
	if (s->npending >= MAX_PENDING)
		return protocol_error(s, "more than %d URBs in flight", MAX_PENDING);
	u = calloc(1, sizeof(*u));
	if (!u || !(u->buf = calloc(1, h->u.submit.length ? h->u.submit.length : 1))) {
		free(u);
		return protocol_error(s, "out of memory for a %u-byte transfer",
				      h->u.submit.length);
	}
	u->seqnum = h->seqnum;
	u->ep = (uint8_t)h->ep;
	u->in = h->direction == USBIP_DIR_IN;
	u->length = h->u.submit.length;
	memcpy(u->setup, h->u.submit.setup, 8);
	if (n)
		memcpy(u->buf, data, n);
	if (dfu_refused(s, h)) {
		u->status = -EPIPE;
		send_ret_submit(s, u);
		urb_free(u);
		return 0;
	}
	u->next = s->pending;
	s->pending = u;
	s->npending++;
	rc = s->dev->ops->submit(s->dev, u);
	if (rc == 1)
		return 0;
	if (rc < 0) {
		u->status = rc;
		u->actual = 0;
	}
	on_complete(s->dev, u);
	return 0;
}

static void do_unlink(struct usbipd *s, const struct usbip_hdr *h)
{
	struct usbd_urb *u = pending_find(s, h->u.unlink.seqnum);

	if (!u) {
		/* Answered already: its RET_SUBMIT is queued ahead of this. */
		send_ret_unlink(s, h->seqnum, 0);
		return;
	}
	if (u->unlinked)
		return;
	if (s->dev->ops->cancel(s->dev, u)) {
		pending_remove(s, u);
		urb_free(u);
		send_ret_unlink(s, h->seqnum, -ECONNRESET);
		return;
	}
	/* The device completes it later; on_complete answers with RET_UNLINK then. */
	u->unlinked = true;
	u->unlink_seq = h->seqnum;
}

static int urb_message(struct usbipd *s, struct lbx_reader *r)
{
	struct usbip_hdr h;
	const uint8_t *data;
	size_t n;
	int rc = usbip_cmd_read(r, &h, &data, &n);

	if (rc == -ENODATA)
		return rc;
	if (rc == -EOPNOTSUPP)
		return protocol_error(s,
				      "isochronous transfers (endpoint %u) are not supported by "
				      "lbx-usbipd",
				      h.ep);
	if (rc < 0)
		return protocol_error(s, "malformed USB/IP command (%s)", strerror(-rc));
	if (h.devid != s->devid)
		return protocol_error(s, "%s names devid %#x, not the imported device's %#x",
				      usbip_command_name(h.command), h.devid, s->devid);
	if (h.command == USBIP_CMD_SUBMIT)
		return do_submit(s, &h, data, n);
	do_unlink(s, &h);
	return 0;
}

/* --- operations: the device list and the import --- */

static void reply_devlist(struct usbipd *s)
{
	struct lbx_writer w;
	char msg[1024];
	bool show =
	    s->dev->present && !s->held && usbipd_policy(s->cfg, s->dev, msg, sizeof(msg)) >= 0;

	lbx_writer_init_dynamic(&w, 4096);
	if (usbip_rep_devlist_write(&w, &s->dev->info, show ? 1 : 0) < 0)
		lbx_debug("devlist: %s", strerror(-lbx_writer_error(&w)));
	if (queue(s, &w) == 0)
		s->closing = true;
}

static void reply_import(struct usbipd *s, const char *busid)
{
	struct lbx_writer w;
	char msg[1024] = "";
	int rule = -1;

	if (s->held)
		snprintf(msg, sizeof(msg), "the device was detached (lbx device detach)");
	else if (!s->dev->present)
		snprintf(msg, sizeof(msg), "the device is off the bus (re-enumerating)");
	else if (strcmp(busid, s->dev->info.busid))
		snprintf(msg, sizeof(msg), "no device %.32s here (this server exports %s)", busid,
			 s->dev->info.busid);
	else if ((rule = usbipd_policy(s->cfg, s->dev, msg, sizeof(msg))) < 0)
		usbipd_audit(s->cfg, "refuse", s->dev, NULL, msg);
	lbx_writer_init_dynamic(&w, 1024);
	if (usbip_rep_import_write(&w, msg[0] ? NULL : &s->dev->info) < 0)
		lbx_debug("import: %s", strerror(-lbx_writer_error(&w)));
	if (queue(s, &w) < 0)
		return;
	if (msg[0]) {
		lbx_info("box %s: import refused: %s", s->cfg->box, msg);
		s->closing = true;
		return;
	}
	s->imported = true;
	s->rule = rule;
	s->devid = (s->dev->info.busnum << 16) | s->dev->info.devnum;
	usbipd_audit(s->cfg, s->attached_once ? "reattach" : "attach", s->dev, rule_name(s), NULL);
	lbx_info("box %s: %04x:%04x attached (rule %s)", s->cfg->box, s->dev->ident.vendor,
		 s->dev->ident.product, rule_name(s));
	s->attached_once = true;
}

static int op_message(struct usbipd *s, struct lbx_reader *r)
{
	char busid[USBIP_BUSID_LEN];
	uint16_t code;
	int rc = usbip_op_request_read(r, &code, busid);

	if (rc == -ENODATA)
		return rc;
	if (rc < 0)
		return protocol_error(s, "not a USB/IP request (%s)", strerror(-rc));
	if (code == USBIP_OP_REQ_DEVLIST)
		reply_devlist(s);
	else
		reply_import(s, busid);
	return 0;
}

static void process(struct usbipd *s)
{
	while (s->fd >= 0 && !s->closing && lbx_bq_len(&s->in) && lbx_bq_room(&s->out) >= OUT_LOW) {
		struct lbx_reader r;
		int rc;

		lbx_reader_init(&r, lbx_bq_head(&s->in), lbx_bq_len(&s->in));
		rc = s->imported ? urb_message(s, &r) : op_message(s, &r);
		if (rc < 0 || s->fd < 0)
			return;
		lbx_bq_consume(&s->in, lbx_reader_pos(&r));
	}
}

/* --- the connection --- */

void usbipd_disconnect(struct usbipd *s, const char *why)
{
	if (s->fd < 0)
		return;
	drop_pending(s);
	lbx_loop_want(s->loop, s->fd, &s->want, 0, on_conn, s);
	close(s->fd);
	s->fd = -1;
	if (s->imported) {
		usbipd_audit(s->cfg, "detach", s->dev, rule_name(s), why);
		lbx_info("box %s: %04x:%04x detached: %s", s->cfg->box, s->dev->ident.vendor,
			 s->dev->ident.product, why);
	}
	s->imported = false;
	s->closing = false;
	lbx_bq_consume(&s->in, lbx_bq_len(&s->in));
	lbx_bq_consume(&s->out, lbx_bq_len(&s->out));
}

static void on_conn(struct lbx_loop *loop, int fd, uint32_t events, void *data)
{
	struct usbipd *s = data;
	ssize_t n;

	if (events & EPOLLOUT) {
		n = lbx_bq_write_fd(&s->out, fd);
		if (n < 0 && n != -EAGAIN) {
			usbipd_disconnect(s, "the guest's connection broke");
			return;
		}
		if (s->closing && !lbx_bq_len(&s->out)) {
			usbipd_disconnect(s, "done");
			return;
		}
		/* Room again: take what waited in the input queue. */
		process(s);
		if (s->fd < 0)
			return;
	}
	if (events & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
		n = lbx_bq_read_fd(&s->in, fd, SIZE_MAX);
		if (n == 0 || (n < 0 && n != -EAGAIN && n != -ENOSPC)) {
			usbipd_disconnect(s, n == 0 ? "the guest closed the connection"
						    : "the guest's connection broke");
			return;
		}
		process(s);
	}
	update_watch(s);
}

static void on_listen(struct lbx_loop *loop, int lfd, uint32_t events, void *data)
{
	struct usbipd *s = data;
	int fd = lbx_loop_accept(loop, lfd, SOCK_NONBLOCK | SOCK_CLOEXEC, "the USB/IP socket");

	if (fd < 0)
		return;
	if (s->fd >= 0) {
		/* One guest connection at a time: the device is in use. */
		close(fd);
		return;
	}
	s->fd = fd;
	s->want = 0;
	update_watch(s);
}

void usbipd_hold(struct usbipd *s, bool held)
{
	if (s->held == held)
		return;
	s->held = held;
	lbx_info("box %s: %04x:%04x %s", s->cfg->box, s->dev->ident.vendor, s->dev->ident.product,
		 held ? "detached by the user" : "offered again");
	if (held)
		usbipd_disconnect(s, "lbx device detach");
}

static void on_gone(struct usbd *d)
{
	struct usbipd *s = d->server;

	usbipd_audit(s->cfg, "reenumerate", d, rule_name(s), "the device left the bus");
	usbipd_disconnect(s, "the device left the bus");
}

static void on_back(struct usbd *d)
{
	/* The guest's agent imports it again; the import checks the rules again. */
}

struct usbipd *usbipd_new(struct lbx_loop *loop, int listen_fd, struct usbd *dev,
			  const struct usbipd_config *cfg)
{
	struct usbipd *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	*s = (struct usbipd){
		.loop = loop, .dev = dev, .cfg = cfg, .lfd = listen_fd, .fd = -1, .rule = -1
	};
	if (lbx_bq_init(&s->in, IN_CAP) < 0 || lbx_bq_init(&s->out, OUT_CAP) < 0 ||
	    lbx_loop_add(loop, listen_fd, EPOLLIN, on_listen, s) < 0) {
		usbipd_free(s);
		return NULL;
	}
	dev->server = s;
	dev->complete = on_complete;
	dev->gone = on_gone;
	dev->back = on_back;
	return s;
}

void usbipd_free(struct usbipd *s)
{
	if (!s)
		return;
	usbipd_disconnect(s, "lbx-usbipd is stopping");
	lbx_loop_del(s->loop, s->lfd);
	lbx_bq_free(&s->in);
	lbx_bq_free(&s->out);
	free(s);
}
