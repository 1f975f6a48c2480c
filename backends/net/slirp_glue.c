/* SPDX-License-Identifier: MIT */
/*
 * libslirp inside common/evloop.
 *
 * slirp is written for a poll() loop: slirp_pollfds_fill asks, through
 * add_poll, which of its sockets to watch and how long it may sleep (its
 * TCP timers); slirp_pollfds_poll then reads what happened through
 * get_revents. Here its sockets live in an epoll set of their own, which is
 * one readable fd in our loop, so they never mix with the loop's other
 * watches, and the sleep bound is a timerfd. After anything that runs
 * slirp (a frame from the guest, a socket event, a timer) we ask again
 * (netd_slirp_repoll). slirp's own timers (timer_new_opaque: the IPv6
 * router advertisements) are a timerfd each, armed at the absolute time
 * slirp gives on its clock (clock_get_ns: CLOCK_MONOTONIC).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "log.h"
#include "netd.h"

struct netd_pollfd {
	int fd;
	int events; /* SLIRP_POLL_* asked */
	int revents;
};

struct netd_watch {
	uint32_t events; /* epoll events registered, 0: not in the set */
	unsigned round;	 /* the fill that last asked for it */
	unsigned idx;	 /* its index in that fill's pollfds */
};

struct netd_timer {
	struct netd_timer *next;
	struct netd *d;
	int fd;
	SlirpTimerId id;
	void *cb_opaque;
	SlirpTimerCb cb; /* timer_new (older API); NULL for timer_new_opaque */
};

static int64_t clock_get_ns(void *opaque)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static ssize_t send_packet(const void *buf, size_t len, void *opaque)
{
	struct netd *d = opaque;

	netd_snoop(d, buf, len);
	netd_to_guest(d, buf, len);
	return (ssize_t)len;
}

static void guest_error(const char *msg, void *opaque)
{
	lbx_warn("net: slirp: %s", msg);
}

static void timer_fired(struct lbx_loop *loop, int fd, uint32_t events, void *data)
{
	struct netd_timer *t = data;
	uint64_t n;

	if (read(fd, &n, sizeof(n)) != sizeof(n))
		return;
	if (t->cb)
		t->cb(t->cb_opaque);
	else
		slirp_handle_timer(t->d->slirp, t->id, t->cb_opaque);
	netd_slirp_repoll(t->d);
}

static struct netd_timer *timer_create_common(struct netd *d)
{
	struct netd_timer *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	t->d = d;
	t->fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (t->fd < 0 || lbx_loop_add(d->loop, t->fd, EPOLLIN, timer_fired, t) < 0) {
		lbx_err("net: cannot create a timer for slirp: %s", strerror(errno));
		if (t->fd >= 0)
			close(t->fd);
		free(t);
		return NULL;
	}
	t->next = d->timers;
	d->timers = t;
	return t;
}

static void *timer_new_opaque(SlirpTimerId id, void *cb_opaque, void *opaque)
{
	struct netd_timer *t = timer_create_common(opaque);

	if (t) {
		t->id = id;
		t->cb_opaque = cb_opaque;
	}
	return t;
}

static void *timer_new(SlirpTimerCb cb, void *cb_opaque, void *opaque)
{
	struct netd_timer *t = timer_create_common(opaque);

	if (t) {
		t->cb = cb;
		t->cb_opaque = cb_opaque;
	}
	return t;
}

static void timer_free(void *timer, void *opaque)
{
	struct netd *d = opaque;
	struct netd_timer **pp = &d->timers;

	while (*pp && *pp != timer)
		pp = &(*pp)->next;
	if (!*pp)
		return;
	*pp = ((struct netd_timer *)timer)->next;
	lbx_loop_del(d->loop, ((struct netd_timer *)timer)->fd);
	close(((struct netd_timer *)timer)->fd);
	free(timer);
}

/* expire_ms is absolute, in milliseconds of clock_get_ns. */
static void timer_mod(void *timer, int64_t expire_ms, void *opaque)
{
	struct netd_timer *t = timer;
	struct itimerspec its = { 0 };

	if (expire_ms <= 0)
		expire_ms = 1; /* zero would disarm it */
	its.it_value.tv_sec = (time_t)(expire_ms / 1000);
	its.it_value.tv_nsec = (long)(expire_ms % 1000) * 1000000L;
	if (timerfd_settime(t->fd, TFD_TIMER_ABSTIME, &its, NULL) < 0)
		lbx_warn("net: cannot arm a slirp timer: %s", strerror(errno));
}

/* slirp is about to close fd: take it out of the set first. */
static void unregister_poll_fd(int fd, void *opaque)
{
	struct netd *d = opaque;

	if (fd >= 0 && (unsigned)fd < d->nwatched && d->watched[fd].events) {
		epoll_ctl(d->slirp_epfd, EPOLL_CTL_DEL, fd, NULL);
		d->watched[fd].events = 0;
	}
}

static void register_poll_fd(int fd, void *opaque)
{
	/* Watched from the next fill on, with the events slirp asks for then. */
}

static void notify(void *opaque)
{
	/* Only for guestfwd sockets, which lbx-netd does not use. */
}

static const SlirpCb netd_slirp_cb = {
	.send_packet = send_packet,
	.guest_error = guest_error,
	.clock_get_ns = clock_get_ns,
	.timer_new = timer_new,
	.timer_free = timer_free,
	.timer_mod = timer_mod,
	.register_poll_fd = register_poll_fd,
	.unregister_poll_fd = unregister_poll_fd,
	.notify = notify,
	.timer_new_opaque = timer_new_opaque,
};

static int add_poll(int fd, int events, void *opaque)
{
	struct netd *d = opaque;

	if (d->npollfds == d->cap_pollfds) {
		unsigned cap = d->cap_pollfds ? d->cap_pollfds * 2 : 64;
		struct netd_pollfd *p = realloc(d->pollfds, cap * sizeof(*p));

		if (!p)
			return -1; /* slirp treats a negative index as "not polled" */
		d->pollfds = p;
		d->cap_pollfds = cap;
	}
	d->pollfds[d->npollfds] = (struct netd_pollfd){ .fd = fd, .events = events };
	return (int)d->npollfds++;
}

static int get_revents(int idx, void *opaque)
{
	struct netd *d = opaque;

	if (idx < 0 || (unsigned)idx >= d->npollfds)
		return 0;
	return d->pollfds[idx].revents;
}

static uint32_t to_epoll(int ev)
{
	return (ev & SLIRP_POLL_IN ? EPOLLIN : 0u) | (ev & SLIRP_POLL_OUT ? EPOLLOUT : 0u) |
	       (ev & SLIRP_POLL_PRI ? EPOLLPRI : 0u);
}

static int from_epoll(uint32_t ev)
{
	return (ev & EPOLLIN ? SLIRP_POLL_IN : 0) | (ev & EPOLLOUT ? SLIRP_POLL_OUT : 0) |
	       (ev & EPOLLPRI ? SLIRP_POLL_PRI : 0) | (ev & EPOLLERR ? SLIRP_POLL_ERR : 0) |
	       (ev & EPOLLHUP ? SLIRP_POLL_HUP : 0);
}

static int grow_watched(struct netd *d, int fd)
{
	unsigned n = d->nwatched ? d->nwatched : 64;
	struct netd_watch *w;

	if ((unsigned)fd < d->nwatched)
		return 0;
	while (n <= (unsigned)fd)
		n *= 2;
	w = realloc(d->watched, n * sizeof(*w));
	if (!w)
		return -ENOMEM;
	memset(w + d->nwatched, 0, (n - d->nwatched) * sizeof(*w));
	d->watched = w;
	d->nwatched = n;
	return 0;
}

/* Register fd with events; an fd slirp closed and reopened may be stale in the set. */
static void watch_fd(struct netd *d, int fd, uint32_t events, unsigned idx)
{
	struct epoll_event ev = { .events = events, .data.fd = fd };
	struct netd_watch *w;

	if (fd < 0 || grow_watched(d, fd))
		return;
	w = &d->watched[fd];
	w->round = d->round;
	w->idx = idx;
	if (w->events == (events | EPOLLERR))
		return;
	if (epoll_ctl(d->slirp_epfd, w->events ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, fd, &ev) < 0 &&
	    epoll_ctl(d->slirp_epfd, w->events ? EPOLL_CTL_ADD : EPOLL_CTL_MOD, fd, &ev) < 0)
		return;
	w->events = events | EPOLLERR; /* never 0 once registered */
}

static void arm_poll_timer(struct netd *d, uint32_t timeout_ms)
{
	struct itimerspec its = { 0 };

	if (timeout_ms != UINT32_MAX) {
		its.it_value.tv_sec = timeout_ms / 1000;
		its.it_value.tv_nsec = (long)(timeout_ms % 1000) * 1000000L;
		if (timeout_ms == 0)
			its.it_value.tv_nsec = 1;
	}
	timerfd_settime(d->poll_timerfd, 0, &its, NULL);
}

void netd_slirp_repoll(struct netd *d)
{
	uint32_t timeout = UINT32_MAX;

	if (!d->slirp)
		return;
	d->npollfds = 0;
	d->round++;
	slirp_pollfds_fill(d->slirp, &timeout, add_poll, d);
	for (unsigned i = 0; i < d->npollfds; i++)
		watch_fd(d, d->pollfds[i].fd, to_epoll(d->pollfds[i].events), i);
	/* What slirp no longer asks for leaves the set. */
	for (unsigned fd = 0; fd < d->nwatched; fd++)
		if (d->watched[fd].events && d->watched[fd].round != d->round) {
			epoll_ctl(d->slirp_epfd, EPOLL_CTL_DEL, (int)fd, NULL);
			d->watched[fd].events = 0;
		}
	arm_poll_timer(d, timeout);
}

/* The revents of this round's pollfds from the epoll set, then slirp's turn. */
static void run_slirp(struct netd *d, bool sockets)
{
	struct epoll_event evs[64];
	int n = sockets ? epoll_wait(d->slirp_epfd, evs, 64, 0) : 0;

	for (int i = 0; i < n; i++) {
		int fd = evs[i].data.fd;
		const struct netd_watch *w;

		if (fd < 0 || (unsigned)fd >= d->nwatched)
			continue;
		w = &d->watched[fd];
		if (w->round == d->round && w->idx < d->npollfds && d->pollfds[w->idx].fd == fd)
			d->pollfds[w->idx].revents = from_epoll(evs[i].events);
	}
	slirp_pollfds_poll(d->slirp, 0, get_revents, d);
	for (unsigned j = 0; j < d->npollfds; j++)
		d->pollfds[j].revents = 0;
	netd_slirp_repoll(d);
}

static void sockets_ready(struct lbx_loop *loop, int fd, uint32_t events, void *data)
{
	run_slirp(data, true);
}

static void poll_timeout(struct lbx_loop *loop, int fd, uint32_t events, void *data)
{
	uint64_t n;

	if (read(fd, &n, sizeof(n)) != sizeof(n))
		return;
	run_slirp(data, false);
}

void netd_slirp_input(struct netd *d, const uint8_t *frame, size_t len)
{
	d->st.frames_to_slirp++;
	slirp_input(d->slirp, frame, (int)len);
}

static struct in_addr in4(const struct net_addr *a)
{
	return (struct in_addr){ .s_addr = htonl(net_addr_v4(a)) };
}

static struct in6_addr in6(const struct net_addr *a)
{
	struct in6_addr r;

	memcpy(r.s6_addr, a->b, 16);
	return r;
}

static int add_forward(struct netd *d, const struct net_forward *fw)
{
	bool udp = fw->proto == NET_PROTO_UDP;
	char addr[NET_ADDR_STRLEN];
	int rc;

	if (net_addr_is_v4(&fw->host)) {
		rc = slirp_add_hostfwd(d->slirp, udp, in4(&fw->host), fw->host_port,
				       (struct in_addr){ 0 }, fw->guest_port);
	} else {
		struct sockaddr_in6 h = { .sin6_family = AF_INET6, .sin6_addr = in6(&fw->host),
					  .sin6_port = htons(fw->host_port) };
		struct sockaddr_in g = { .sin_family = AF_INET,
					 .sin_addr.s_addr = htonl(0x0a00020fu),
					 .sin_port = htons(fw->guest_port) };

		rc = slirp_add_hostxfwd(d->slirp, (struct sockaddr *)&h, sizeof(h),
					(struct sockaddr *)&g, sizeof(g),
					(udp ? SLIRP_HOSTFWD_UDP : 0) | SLIRP_HOSTFWD_V6ONLY);
	}
	if (rc < 0) {
		net_addr_format(&fw->host, addr, sizeof(addr));
		lbx_err("net: cannot forward %s %s port %u to the guest's port %u "
			"(is the port in use?)", udp ? "udp" : "tcp", addr, fw->host_port,
			fw->guest_port);
		return -EADDRINUSE;
	}
	return 0;
}

static void fill_config(const struct netd *d, SlirpConfig *c)
{
	const struct net_policy *p = &d->policy;

	*c = (SlirpConfig){
		.version = 4,
		.in_enabled = true,
		.vnetwork = in4(&p->vnet4.addr),
		.vnetmask = { .s_addr = htonl(~0u << (128 - p->vnet4.len)) },
		.vhost = in4(&p->gateway4),
		.in6_enabled = true,
		.vprefix_addr6 = in6(&p->vnet6.addr),
		.vprefix_len = p->vnet6.len,
		.vhost6 = in6(&p->gateway6),
		.vdhcp_start = { .s_addr = htonl(0x0a00020fu) },
		.vnameserver = in4(&p->dns4),
		.vnameserver6 = in6(&p->dns6),
		/*
		 * Defence in depth: with no `host` ports slirp itself refuses
		 * to connect to the host's loopback, whatever the policy says.
		 */
		.disable_host_loopback = p->nhost == 0,
		.enable_emu = false, /* slirp's FTP/IRC rewriting: "not safe" (libslirp.h) */
	};
}

int netd_slirp_start(struct netd *d)
{
	SlirpConfig cfg;

	fill_config(d, &cfg);
	d->slirp_epfd = epoll_create1(EPOLL_CLOEXEC);
	d->poll_timerfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (d->slirp_epfd < 0 || d->poll_timerfd < 0 ||
	    lbx_loop_add(d->loop, d->slirp_epfd, EPOLLIN, sockets_ready, d) < 0 ||
	    lbx_loop_add(d->loop, d->poll_timerfd, EPOLLIN, poll_timeout, d) < 0)
		return -errno ? -errno : -ENOMEM;
	d->slirp = slirp_new(&cfg, &netd_slirp_cb, d);
	if (!d->slirp)
		return -ENOMEM;
	for (size_t i = 0; i < d->policy.nforward; i++) {
		int err = add_forward(d, &d->policy.forward[i]);

		if (err)
			return err;
	}
	netd_slirp_repoll(d);
	return 0;
}

void netd_slirp_stop(struct netd *d)
{
	if (d->slirp)
		slirp_cleanup(d->slirp); /* frees its timers through timer_free */
	d->slirp = NULL;
	while (d->timers)
		timer_free(d->timers, d);
	if (d->slirp_epfd >= 0) {
		lbx_loop_del(d->loop, d->slirp_epfd);
		close(d->slirp_epfd);
	}
	if (d->poll_timerfd >= 0) {
		lbx_loop_del(d->loop, d->poll_timerfd);
		close(d->poll_timerfd);
	}
	d->slirp_epfd = d->poll_timerfd = -1;
	free(d->pollfds);
	free(d->watched);
	d->pollfds = NULL;
	d->watched = NULL;
	d->npollfds = d->cap_pollfds = d->nwatched = 0;
}
