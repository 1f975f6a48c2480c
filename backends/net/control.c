/* SPDX-License-Identifier: MIT */
/*
 * The control socket (--control PATH): a client that connects gets one
 * JSON document with the live policy and counters, then end of file. It
 * is what `lbx net NAME` prints. The socket is created mode 0600: the
 * counters say where the box connects, which is the user's business only.
 */
#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "log.h"
#include "netd.h"
#include "unixsock.h"

struct control_client {
	struct netd *d;
	char *doc;
	size_t len, off;
};

static const char *proto_name(uint8_t p)
{
	switch (p) {
	case NET_PROTO_TCP: return "tcp";
	case NET_PROTO_UDP: return "udp";
	case NET_PROTO_ICMP: return "icmp";
	case NET_PROTO_ICMPV6: return "icmpv6";
	default: return "ip";
	}
}

static void add_policy(cJSON *o, const struct net_policy *p)
{
	cJSON *mode = cJSON_AddStringToObject(o, "mode", net_mode_name(p->mode));
	cJSON *allow = cJSON_AddArrayToObject(o, "allow");
	cJSON *host = cJSON_AddArrayToObject(o, "host");
	cJSON *fwd = cJSON_AddArrayToObject(o, "forward");
	char buf[NET_RULE_TEXT_MAX], addr[NET_ADDR_STRLEN];

	(void)mode;
	for (size_t i = 0; i < p->nallow; i++)
		cJSON_AddItemToArray(allow, cJSON_CreateString(p->allow[i].text));
	for (size_t i = 0; i < p->nhost; i++) {
		const struct net_service *s = &p->host[i];

		if (s->port_lo == s->port_hi)
			snprintf(buf, sizeof(buf), "%s:%u", proto_name(s->proto), s->port_lo);
		else
			snprintf(buf, sizeof(buf), "%s:%u-%u", proto_name(s->proto), s->port_lo,
				 s->port_hi);
		cJSON_AddItemToArray(host, cJSON_CreateString(buf));
	}
	for (size_t i = 0; i < p->nforward; i++) {
		const struct net_forward *f = &p->forward[i];
		bool v6 = !net_addr_is_v4(&f->host);

		net_addr_format(&f->host, addr, sizeof(addr));
		snprintf(buf, sizeof(buf), "%s:%s%s%s:%u:%u", proto_name(f->proto), v6 ? "[" : "",
			 addr, v6 ? "]" : "", f->host_port, f->guest_port);
		cJSON_AddItemToArray(fwd, cJSON_CreateString(buf));
	}
}

static void add_counters(cJSON *o, struct netd *d)
{
	cJSON *c = cJSON_AddObjectToObject(o, "counters");
	cJSON *bad = cJSON_AddObjectToObject(c, "malformed");
	static const char *const extra[] = { "virtio-header", "size", "dns-query" };
	uint64_t allowed, denied, total = 0;

	netd_flows_totals(d->flows, &allowed, &denied);
	cJSON_AddNumberToObject(c, "flows_allowed", (double)allowed);
	cJSON_AddNumberToObject(c, "flows_denied", (double)denied);
	cJSON_AddNumberToObject(c, "frames_from_guest", (double)d->st.frames_from_guest);
	cJSON_AddNumberToObject(c, "frames_to_slirp", (double)d->st.frames_to_slirp);
	cJSON_AddNumberToObject(c, "frames_denied", (double)d->st.frames_denied);
	cJSON_AddNumberToObject(c, "frames_to_guest", (double)d->st.frames_to_guest);
	cJSON_AddNumberToObject(c, "frames_to_guest_dropped", (double)d->st.rx_dropped);
	cJSON_AddNumberToObject(c, "resets_sent", (double)d->st.resets_sent);
	cJSON_AddNumberToObject(c, "dns_answers", (double)d->st.dns_answers);
	cJSON_AddNumberToObject(c, "dns_refused", (double)d->st.dns_refused);
	cJSON_AddNumberToObject(c, "names_known", (double)net_names_count(d->names));
	for (unsigned i = 1; i < NETD_BAD_COUNT; i++) {
		const char *name = i < NET_FRAME_ERR_COUNT ? net_frame_err_name(i)
							   : extra[i - NET_FRAME_ERR_COUNT];

		cJSON_AddNumberToObject(bad, name, (double)d->st.malformed[i]);
		total += d->st.malformed[i];
	}
	cJSON_AddNumberToObject(c, "frames_malformed", (double)total);
}

static void add_destinations(cJSON *o, struct netd *d)
{
	cJSON *arr = cJSON_AddArrayToObject(o, "destinations");
	char addr[NET_ADDR_STRLEN];

	for (unsigned i = 0; i < netd_flows_ndest(d->flows); i++) {
		const struct netd_dest *e = netd_flows_dest(d->flows, i);
		cJSON *j = cJSON_CreateObject();

		if (e->proto == 0) {
			cJSON_AddStringToObject(j, "address", "(others)");
		} else {
			net_addr_format(&e->addr, addr, sizeof(addr));
			cJSON_AddStringToObject(j, "proto", proto_name(e->proto));
			cJSON_AddStringToObject(j, "address", addr);
			cJSON_AddNumberToObject(j, "port", e->port);
			if (e->name[0])
				cJSON_AddStringToObject(j, "name", e->name);
			cJSON_AddStringToObject(j, "reason", net_reason_name(e->last));
		}
		cJSON_AddNumberToObject(j, "allowed", (double)e->allowed);
		cJSON_AddNumberToObject(j, "denied", (double)e->denied);
		cJSON_AddItemToArray(arr, j);
	}
}

/* Which transport serves the guest; for the stream, its peer. */
static void add_transport(cJSON *o, const struct netd *d)
{
	struct netd_stream_status st;
	cJSON *j;

	if (d->transport == NETD_VHOST_USER) {
		cJSON_AddStringToObject(o, "transport", "vhost-user");
		cJSON_AddBoolToObject(o, "guest_connected", lbx_vu_dev_connected(d->dev));
		return;
	}
	netd_stream_status(d, &st);
	cJSON_AddStringToObject(o, "transport", "stream");
	cJSON_AddBoolToObject(o, "guest_connected", st.connected);
	j = cJSON_AddObjectToObject(o, "stream");
	cJSON_AddBoolToObject(j, "peer_connected", st.connected);
	cJSON_AddNumberToObject(j, "peers", (double)st.peers);
	cJSON_AddNumberToObject(j, "peers_refused", (double)st.refused);
	cJSON_AddNumberToObject(j, "queued_bytes", (double)st.queued_bytes);
}

char *netd_status_json(struct netd *d)
{
	cJSON *o = cJSON_CreateObject();
	char *s;

	if (!o)
		return NULL;
	add_policy(o, &d->policy);
	add_transport(o, d);
	cJSON_AddNumberToObject(o, "uptime_s", (double)((netd_now_ms() - d->start_ms) / 1000));
	add_counters(o, d);
	add_destinations(o, d);
	s = cJSON_Print(o);
	cJSON_Delete(o);
	return s;
}

static void client_done(struct control_client *c, int fd)
{
	lbx_loop_del(c->d->loop, fd);
	close(fd);
	free(c->doc);
	free(c);
}

static void client_writable(struct lbx_loop *loop, int fd, uint32_t events, void *data)
{
	struct control_client *c = data;

	while (c->off < c->len) {
		ssize_t n = send(fd, c->doc + c->off, c->len - c->off, MSG_NOSIGNAL);

		if (n < 0 && errno == EAGAIN)
			return;
		if (n <= 0)
			break;
		c->off += (size_t)n;
	}
	client_done(c, fd);
}

static void control_accept(struct lbx_loop *loop, int fd, uint32_t events, void *data)
{
	struct netd *d = data;
	struct control_client *c;
	int cfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

	if (cfd < 0)
		return;
	c = calloc(1, sizeof(*c));
	if (c) {
		c->d = d;
		c->doc = netd_status_json(d);
	}
	if (!c || !c->doc || lbx_loop_add(loop, cfd, EPOLLOUT, client_writable, c) < 0) {
		if (c)
			free(c->doc);
		free(c);
		close(cfd);
		return;
	}
	c->len = strlen(c->doc);
}

int netd_control_listen(struct netd *d, const char *path)
{
	int fd = lbx_unix_listen(path, 8, LBX_UNIX_NONBLOCK), err;

	if (fd < 0)
		return fd;
	err = lbx_loop_add(d->loop, fd, EPOLLIN, control_accept, d);
	if (err) {
		close(fd);
		return err;
	}
	d->control_fd = fd;
	d->control_path = strdup(path);
	return 0;
}

void netd_control_close(struct netd *d)
{
	if (d->control_fd < 0)
		return;
	lbx_loop_del(d->loop, d->control_fd);
	close(d->control_fd);
	if (d->control_path)
		unlink(d->control_path);
	free(d->control_path);
	d->control_fd = -1;
	d->control_path = NULL;
}
