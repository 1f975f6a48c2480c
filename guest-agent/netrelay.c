/* SPDX-License-Identifier: MIT */
#include "netrelay.h"

#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>
#include <linux/if_tun.h>

#include "bytequeue.h"
#include "lenframe.h"
#include "log.h"
#include "unixsock.h"

/* An Ethernet frame for a 1500-byte MTU, with a VLAN tag: as lbx-netd's NETD_FRAME_MAX. */
#define TAP_FRAME_MAX 1518
/* Bytes buffered each way: enough for a burst, small enough to bound memory. */
#define TAP_QUEUE_BYTES (256u << 10)

struct tap_relay {
	struct lbx_loop *loop;
	int tap, sock;
	uint32_t tap_events, sock_events;
	struct lbx_bq to_sock, from_sock;
	unsigned long dropped; /* frames the tap would not take */
	bool dead;
};

static int parse_mac(const char *s, unsigned char mac[6])
{
	unsigned v[6];
	char end;

	if (strlen(s) != 17 || sscanf(s, "%2x:%2x:%2x:%2x:%2x:%2x%c", &v[0], &v[1], &v[2], &v[3],
				      &v[4], &v[5], &end) != 6)
		return -EINVAL;
	for (int i = 0; i < 6; i++)
		mac[i] = (unsigned char)v[i];
	return 0;
}

/* /dev/net/tun, IFF_TAP without packet information: one read is one frame. */
static int open_tap(const char *ifname, const char *mac, char *err, size_t errsz)
{
	struct ifreq ifr = { 0 };
	int fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC), s, rc = 0;

	if (fd < 0 && (errno == EACCES || errno == EPERM))
		return lbx_fail(err, errsz, errno,
			    "cannot open /dev/net/tun (on the host it must be usable by the user "
			    "podman runs as: udev's default mode is 0666; or give the box "
			    "\"network\": {\"mode\": \"none\"})");
	if (fd < 0)
		return lbx_fail(err, errsz, errno, "cannot open /dev/net/tun");
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
	if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
		rc = lbx_fail(err, errsz, errno, "cannot make the tap interface");
		close(fd);
		return rc;
	}
	memset(&ifr.ifr_hwaddr, 0, sizeof(ifr.ifr_hwaddr));
	ifr.ifr_hwaddr.sa_family = ARPHRD_ETHER;
	if (parse_mac(mac, (unsigned char *)ifr.ifr_hwaddr.sa_data) < 0) {
		close(fd);
		return lbx_fail(err, errsz, EINVAL, "bad MAC address");
	}
	s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s < 0 || ioctl(s, SIOCSIFHWADDR, &ifr) < 0)
		rc = lbx_fail(err, errsz, errno, "cannot set the tap interface's MAC address");
	if (s >= 0)
		close(s);
	if (rc < 0) {
		close(fd);
		return rc;
	}
	return fd;
}

static void on_event(struct lbx_loop *loop, int fd, uint32_t events, void *data);

static void end_relay(struct tap_relay *t, const char *why)
{
	if (t->dead)
		return;
	lbx_warn("network: the relay to lbx-netd ended: %s", why);
	t->dead = true;
	lbx_loop_want(t->loop, t->tap, &t->tap_events, 0, on_event, t);
	lbx_loop_want(t->loop, t->sock, &t->sock_events, 0, on_event, t);
}

static void rearm(struct tap_relay *t)
{
	uint32_t tap = 0, sock = EPOLLIN;

	if (t->dead)
		return;
	/* Read the tap only while a whole frame fits the queue to the socket. */
	if (lbx_bq_room(&t->to_sock) >= LBX_LENFRAME_HDR + TAP_FRAME_MAX)
		tap |= EPOLLIN;
	if (lbx_bq_len(&t->to_sock) > 0)
		sock |= EPOLLOUT;
	lbx_loop_want(t->loop, t->tap, &t->tap_events, tap, on_event, t);
	lbx_loop_want(t->loop, t->sock, &t->sock_events, sock, on_event, t);
}

/* Frames from the container: one read(2) is one frame. */
static void from_tap(struct tap_relay *t)
{
	uint8_t frame[TAP_FRAME_MAX + 1];

	while (lbx_bq_room(&t->to_sock) >= LBX_LENFRAME_HDR + TAP_FRAME_MAX) {
		ssize_t n = read(t->tap, frame, sizeof(frame));

		if (n < 0) {
			if (errno != EAGAIN && errno != EINTR)
				end_relay(t, strerror(errno));
			return;
		}
		if (n == 0)
			return;
		/* Longer than the MTU allows (the tap's MTU was raised): not sent. */
		if (n > TAP_FRAME_MAX)
			continue;
		if (lbx_lenframe_put(&t->to_sock, frame, (size_t)n) < 0)
			return; /* not reached: room was checked */
	}
}

static void to_sock(struct tap_relay *t)
{
	while (lbx_bq_len(&t->to_sock) > 0) {
		ssize_t n = lbx_bq_write_fd(&t->to_sock, t->sock);

		if (n == -EAGAIN)
			return;
		if (n < 0) {
			end_relay(t, strerror((int)-n));
			return;
		}
	}
}

/* Frames from lbx-netd, cut through the bounded reader, written to the tap. */
static void from_sock(struct tap_relay *t)
{
	for (;;) {
		ssize_t n = lbx_bq_read_fd(&t->from_sock, t->sock, SIZE_MAX);
		const uint8_t *frame;
		size_t len;
		int rc;

		if (n == 0) {
			end_relay(t, "lbx-netd closed the connection");
			return;
		}
		if (n == -EINTR)
			continue;
		if (n < 0 && n != -EAGAIN && n != -ENOSPC) {
			end_relay(t, strerror((int)-n));
			return;
		}
		while ((rc = lbx_lenframe_peek(&t->from_sock, TAP_FRAME_MAX, &frame, &len)) == 1) {
			if (write(t->tap, frame, len) != (ssize_t)len)
				t->dropped++;
			lbx_lenframe_consume(&t->from_sock, len);
		}
		if (rc < 0) {
			end_relay(t, "a frame length out of step (0 or over the MTU)");
			return;
		}
		if (n == -EAGAIN)
			return;
	}
}

static void on_event(struct lbx_loop *loop, int fd, uint32_t events, void *data)
{
	struct tap_relay *t = data;

	if (fd == t->sock && (events & (EPOLLIN | EPOLLHUP | EPOLLERR)))
		from_sock(t);
	if (fd == t->tap && (events & EPOLLIN))
		from_tap(t);
	if (!t->dead)
		to_sock(t);
	rearm(t);
}

struct tap_relay *tap_relay_new(const char *ifname, const char *mac, const char *path, char *err,
				size_t errsz)
{
	struct tap_relay *t = calloc(1, sizeof(*t));

	if (!t) {
		lbx_fail(err, errsz, ENOMEM, "network relay");
		return NULL;
	}
	t->tap = t->sock = -1;
	if (lbx_bq_init(&t->to_sock, TAP_QUEUE_BYTES) < 0 ||
	    lbx_bq_init(&t->from_sock, TAP_QUEUE_BYTES) < 0) {
		lbx_fail(err, errsz, ENOMEM, "network relay");
		tap_relay_free(t);
		return NULL;
	}
	t->tap = open_tap(ifname, mac, err, errsz);
	if (t->tap < 0) {
		tap_relay_free(t);
		return NULL;
	}
	t->sock = lbx_unix_connect(path, LBX_UNIX_NONBLOCK);
	if (t->sock < 0) {
		char what[160];

		snprintf(what, sizeof(what), "cannot reach lbx-netd at %s", path);
		lbx_fail(err, errsz, -t->sock, "%s", what);
		tap_relay_free(t);
		return NULL;
	}
	return t;
}

void tap_relay_attach(struct tap_relay *t, struct lbx_loop *loop)
{
	t->loop = loop;
	rearm(t);
}

void tap_relay_detach(struct tap_relay *t)
{
	if (!t->loop)
		return;
	lbx_loop_want(t->loop, t->sock, &t->sock_events, 0, on_event, t);
	lbx_loop_want(t->loop, t->tap, &t->tap_events, 0, on_event, t);
	t->loop = NULL;
}

void tap_relay_free(struct tap_relay *t)
{
	if (!t)
		return;
	if (t->sock >= 0 && t->tap >= 0)
		tap_relay_detach(t);
	if (t->sock >= 0)
		close(t->sock);
	if (t->tap >= 0)
		close(t->tap);
	if (t->dropped)
		lbx_info("network: %lu frames from lbx-netd were dropped at the tap", t->dropped);
	lbx_bq_free(&t->to_sock);
	lbx_bq_free(&t->from_sock);
	free(t);
}
