/* SPDX-License-Identifier: MIT */
/*
 * wl-paint: a tiny static Wayland client for the e2e test and the
 * benchmark, speaking the wire protocol by hand (the busybox box has no
 * libwayland). It opens one xdg_toplevel titled TITLE, fills a WxH shm
 * buffer with one colour, then commits FRAMES frames, each repainting a
 * DAMAGE x DAMAGE square (paced by frame callbacks), and keeps the window
 * up HOLD seconds, answering pings.
 *
 *   wl-paint [-w W] [-h H] [-f FRAMES] [-d DAMAGE] [-t TITLE] [-s HOLD] [-c RRGGBB]
 *
 * Prints "frames N seconds S" at the end.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

enum { DISPLAY = 1, REGISTRY, SYNC, COMPOSITOR, SHM, WM_BASE, SURFACE, XDG_SURFACE, TOPLEVEL,
       POOL, BUFFER, FIRST_CALLBACK };

static int sock;
static uint8_t out[8192];
static size_t outlen;
static uint8_t in[65536];
static size_t inlen;

static void put32(uint32_t v)
{
	memcpy(out + outlen, &v, 4);
	outlen += 4;
}

static void putstr(const char *s)
{
	size_t n = strlen(s) + 1;
	put32((uint32_t)n);
	memcpy(out + outlen, s, n);
	outlen += (n + 3) & ~3u;
	memset(out + outlen - ((n + 3) & ~3u) + n, 0, ((n + 3) & ~3u) - n);
}

static size_t begin(uint32_t id)
{
	size_t start = outlen;
	put32(id);
	put32(0);
	return start;
}

static void end(size_t start, uint16_t op)
{
	uint32_t w = (uint32_t)(outlen - start) << 16 | op;
	memcpy(out + start + 4, &w, 4);
}

static void flush_fd(int fd)
{
	union {
		char b[CMSG_SPACE(sizeof(int))];
		struct cmsghdr a;
	} u;
	struct iovec iov = { out, outlen };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };

	if (fd >= 0) {
		memset(&u, 0, sizeof(u));
		mh.msg_control = u.b;
		mh.msg_controllen = sizeof(u.b);
		struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &fd, sizeof(int));
	}
	if (outlen && sendmsg(sock, &mh, MSG_NOSIGNAL) != (ssize_t)outlen) {
		perror("wl-paint: send");
		exit(1);
	}
	outlen = 0;
}

struct ev {
	uint32_t id;
	uint16_t op;
	const uint8_t *args;
	size_t len;
};

static uint32_t names[3], vers[3]; /* compositor, shm, xdg_wm_base */
static uint32_t configure_serial, done_callback;
static int released = 1, configured;

static uint32_t arg32(const struct ev *e, size_t i)
{
	uint32_t v = 0;
	if (4 * i + 4 <= e->len)
		memcpy(&v, e->args + 4 * i, 4);
	return v;
}

static void handle(const struct ev *e)
{
	if (e->id == DISPLAY && e->op == 0) {
		fprintf(stderr, "wl-paint: protocol error on object %u code %u: %.*s\n", arg32(e, 0),
			arg32(e, 1), (int)(e->len > 12 ? e->len - 12 : 0), e->args + 12);
		exit(1);
	}
	if (e->id == REGISTRY && e->op == 0) {
		static const char *want[] = { "wl_compositor", "wl_shm", "xdg_wm_base" };
		const char *iface = (const char *)e->args + 8;
		uint32_t slen = arg32(e, 1);
		for (int i = 0; i < 3; i++)
			if (slen == strlen(want[i]) + 1 && !memcmp(iface, want[i], slen)) {
				names[i] = arg32(e, 0);
				vers[i] = arg32(e, 2 + (slen + 3) / 4);
			}
	}
	if (e->id == WM_BASE && e->op == 0) { /* ping */
		size_t s = begin(WM_BASE);
		put32(arg32(e, 0));
		end(s, 3);
	}
	if (e->id == XDG_SURFACE && e->op == 0) {
		configure_serial = arg32(e, 0);
		configured = 1;
	}
	if (e->id == BUFFER && e->op == 0)
		released = 1;
	if (e->id >= SYNC && e->op == 0 && (e->id == SYNC || e->id >= FIRST_CALLBACK))
		done_callback = e->id;
}

static void dispatch(void)
{
	ssize_t r = read(sock, in + inlen, sizeof(in) - inlen);
	if (r <= 0) {
		fprintf(stderr, "wl-paint: the compositor closed the connection\n");
		exit(1);
	}
	inlen += (size_t)r;
	size_t off = 0;
	while (inlen - off >= 8) {
		uint32_t id, w;
		memcpy(&id, in + off, 4);
		memcpy(&w, in + off + 4, 4);
		size_t size = w >> 16;
		if (size < 8 || inlen - off < size)
			break;
		struct ev e = { id, (uint16_t)(w & 0xffff), in + off + 8, size - 8 };
		handle(&e);
		off += size;
	}
	memmove(in, in + off, inlen - off);
	inlen -= off;
	flush_fd(-1);
}

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	int w = 256, h = 256, frames = 0, damage = 32, hold = 0, opt;
	const char *title = "wl-paint";
	uint32_t colour = 0xff00ff;

	while ((opt = getopt(argc, argv, "w:h:f:d:t:s:c:")) != -1) {
		switch (opt) {
		case 'w': w = atoi(optarg); break;
		case 'h': h = atoi(optarg); break;
		case 'f': frames = atoi(optarg); break;
		case 'd': damage = atoi(optarg); break;
		case 't': title = optarg; break;
		case 's': hold = atoi(optarg); break;
		case 'c': colour = (uint32_t)strtoul(optarg, NULL, 16); break;
		default: return 2;
		}
	}
	const char *rt = getenv("XDG_RUNTIME_DIR"), *d = getenv("WAYLAND_DISPLAY");
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	if (!d)
		d = "wayland-0";
	if (d[0] == '/')
		snprintf(a.sun_path, sizeof(a.sun_path), "%s", d);
	else
		snprintf(a.sun_path, sizeof(a.sun_path), "%s/%s", rt ? rt : "", d);
	sock = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (connect(sock, (struct sockaddr *)&a, sizeof(a)) < 0) {
		fprintf(stderr, "wl-paint: connect %s: %s\n", a.sun_path, strerror(errno));
		return 1;
	}
	size_t s = begin(DISPLAY);
	put32(REGISTRY);
	end(s, 1);
	s = begin(DISPLAY);
	put32(SYNC);
	end(s, 0);
	flush_fd(-1);
	while (done_callback != SYNC)
		dispatch();
	static const char *ifn[] = { "wl_compositor", "wl_shm", "xdg_wm_base" };
	for (int i = 0; i < 3; i++) {
		if (!names[i]) {
			fprintf(stderr, "wl-paint: no %s\n", ifn[i]);
			return 1;
		}
		s = begin(REGISTRY);
		put32(names[i]);
		putstr(ifn[i]);
		put32(i == 0 ? (vers[0] < 4 ? vers[0] : 4) : 1);
		put32(COMPOSITOR + (uint32_t)i);
		end(s, 0);
	}
	s = begin(COMPOSITOR);
	put32(SURFACE);
	end(s, 0);
	s = begin(WM_BASE);
	put32(XDG_SURFACE);
	put32(SURFACE);
	end(s, 2);
	s = begin(XDG_SURFACE);
	put32(TOPLEVEL);
	end(s, 1);
	s = begin(TOPLEVEL);
	putstr(title);
	end(s, 2);
	s = begin(SURFACE);
	end(s, 6);
	flush_fd(-1);
	while (!configured)
		dispatch();
	s = begin(XDG_SURFACE);
	put32(configure_serial);
	end(s, 4);

	size_t size = (size_t)w * (size_t)h * 4;
	int fd = memfd_create("wl-paint", MFD_CLOEXEC);
	if (fd < 0) /* a kernel without memfd: an unnamed file will do */
		fd = open(rt ? rt : "/tmp", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (fd < 0 || ftruncate(fd, (off_t)size) < 0) {
		fprintf(stderr, "wl-paint: no file for the buffer: %s\n", strerror(errno));
		return 1;
	}
	uint32_t *px = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	for (size_t i = 0; i < size / 4; i++)
		px[i] = 0xff000000u | colour;
	s = begin(SHM);
	put32(POOL);
	put32((uint32_t)size);
	end(s, 0);
	flush_fd(fd);
	s = begin(POOL);
	put32(BUFFER);
	put32(0);
	put32((uint32_t)w);
	put32((uint32_t)h);
	put32((uint32_t)w * 4);
	put32(1); /* xrgb8888 */
	end(s, 0);

	uint32_t cb = FIRST_CALLBACK;
	double t0 = now();
	int n;
	for (n = 0; n <= frames; n++) {
		if (n > 0) {
			/* repaint a small square that moves */
			int x0 = (n * 7) % (w - damage > 0 ? w - damage : 1);
			int y0 = (n * 5) % (h - damage > 0 ? h - damage : 1);
			for (int y = y0; y < y0 + damage && y < h; y++)
				for (int x = x0; x < x0 + damage && x < w; x++)
					px[(size_t)y * (size_t)w + (size_t)x] ^= 0x00ffffffu;
		}
		s = begin(SURFACE);
		put32(BUFFER);
		put32(0);
		put32(0);
		end(s, 1);
		s = begin(SURFACE);
		if (n == 0) {
			put32(0), put32(0), put32((uint32_t)w), put32((uint32_t)h);
		} else {
			put32((uint32_t)((n * 7) % (w - damage > 0 ? w - damage : 1)));
			put32((uint32_t)((n * 5) % (h - damage > 0 ? h - damage : 1)));
			put32((uint32_t)damage), put32((uint32_t)damage);
		}
		end(s, 2);
		s = begin(SURFACE);
		put32(cb);
		end(s, 3);
		s = begin(SURFACE);
		end(s, 6);
		released = 0;
		flush_fd(-1);
		while (done_callback != cb)
			dispatch();
		cb++;
	}
	double t = now() - t0;
	printf("frames %d seconds %.3f\n", frames, t);
	fflush(stdout);
	for (double until = now() + hold; now() < until;) {
		struct timeval tv = { 0, 100000 };
		fd_set fds;
		FD_ZERO(&fds);
		FD_SET(sock, &fds);
		if (select(sock + 1, &fds, NULL, NULL, &tv) > 0)
			dispatch();
	}
	return 0;
}
