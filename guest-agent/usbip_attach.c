/* SPDX-License-Identifier: MIT */
/*
 * The guest half of USB passthrough: each USB slot (agent_params.h usb=)
 * is a vsock port where the host's lbx-usbipd may serve one device. A
 * child of the agent asks each empty slot for its device list and, when
 * it lists one, imports it (usbip_protocol.rst OP_REQ_IMPORT) and hands
 * the connected socket to vhci-hcd:
 *
 *   echo "PORT SOCKFD DEVID SPEED" > /sys/devices/platform/vhci_hcd.0/attach
 *
 * (drivers/usb/usbip/vhci_sysfs.c attach_store: any SOCK_STREAM socket,
 * which an AF_VSOCK stream is: no socket pair is needed). The kernel
 * keeps the socket; the child closes its descriptor. When the host drops
 * the connection (detach, the device re-enumerating), vhci frees the port
 * and the child imports again once the slot lists a device again.
 *
 * USB device nodes and serial ports that appear are given to the box user
 * (mode 0660), as probe-rs's udev rules give them to the plugdev group.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "agent.h"
#include "log.h"
#include "usbip_proto.h"

#define VHCI	     "/sys/devices/platform/vhci_hcd.0"
#define VDEV_ST_NULL 4 /* drivers/usb/usbip/usbip_common.h: a free port */
#define POLL_MS	     500
#define REPLY_MAX    (64 * 1024)

struct slot {
	struct lbx_endpoint ep;
	int port; /* vhci port in use, -1 */
	char what[32];
};

/* Read one whole reply: parse(buf, n) returns -ENODATA until it is all there. */
static int read_reply(int fd, uint8_t *buf, size_t max,
		      int (*parse)(const uint8_t *, size_t, void *), void *ctx)
{
	size_t n = 0;

	for (;;) {
		ssize_t got = read(fd, buf + n, max - n);
		int rc;

		if (got <= 0)
			return got == 0 ? -ECONNRESET : -errno;
		n += (size_t)got;
		rc = parse(buf, n, ctx);
		if (rc != -ENODATA || n == max)
			return rc;
	}
}

struct devlist_ctx {
	struct usbip_device dev[1];
	unsigned n;
};

static int parse_devlist(const uint8_t *buf, size_t n, void *ctx)
{
	struct devlist_ctx *c = ctx;
	struct lbx_reader r;

	lbx_reader_init(&r, buf, n);
	return usbip_rep_devlist_read(&r, c->dev, 1, &c->n);
}

struct import_ctx {
	struct usbip_device dev;
	bool ok;
};

static int parse_import(const uint8_t *buf, size_t n, void *ctx)
{
	struct import_ctx *c = ctx;
	struct lbx_reader r;

	lbx_reader_init(&r, buf, n);
	return usbip_rep_import_read(&r, &c->ok, &c->dev);
}

static int request(const struct lbx_endpoint *ep, const char *busid)
{
	struct timeval tv = { .tv_sec = 5 };
	struct lbx_writer w;
	uint8_t msg[64];
	int fd = lbx_endpoint_connect(ep), rc;

	if (fd < 0)
		return fd;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	lbx_writer_init_fixed(&w, msg, sizeof(msg));
	rc = busid ? usbip_req_import_write(&w, busid) : usbip_req_devlist_write(&w);
	if (rc == 0 && write(fd, msg, lbx_writer_len(&w)) != (ssize_t)lbx_writer_len(&w))
		rc = -EIO;
	if (rc < 0) {
		close(fd);
		return rc;
	}
	return fd;
}

static unsigned nports(void)
{
	FILE *f = fopen(VHCI "/nports", "re");
	unsigned n = 0;

	if (f) {
		if (fscanf(f, "%u", &n) != 1)
			n = 0;
		fclose(f);
	}
	return n;
}

/* Whether vhci port is taken (its status line says anything but free). */
static bool port_in_use(int port)
{
	FILE *f = fopen(VHCI "/status", "re");
	char line[256], hub[8];
	unsigned p, st;
	bool used = false;

	if (!f)
		return false;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "%7s %u %u", hub, &p, &st) == 3 && (int)p == port)
			used = st != VDEV_ST_NULL;
	fclose(f);
	return used;
}

/* Hand fd to vhci at a free port of the right hub (high speed first, super speed after). */
static int vhci_attach(int fd, const struct usbip_device *d)
{
	unsigned total = nports(), half = total / 2;
	unsigned first = d->speed >= USBIP_SPEED_SUPER ? half : 0;
	uint32_t devid = (d->busnum << 16) | d->devnum;
	char cmd[64];
	int rc = -ENOSPC;

	for (unsigned port = first; port < first + half; port++) {
		int afd = open(VHCI "/attach", O_WRONLY | O_CLOEXEC);
		int n = snprintf(cmd, sizeof(cmd), "%u %d %u %u", port, fd, devid, d->speed);

		if (afd < 0)
			return -errno;
		rc = write(afd, cmd, (size_t)n) == n ? (int)port : -errno;
		close(afd);
		if (rc != -EBUSY)
			return rc;
	}
	return rc;
}

static void try_attach(struct slot *s)
{
	static uint8_t buf[REPLY_MAX];
	struct devlist_ctx list = { .n = 0 };
	struct import_ctx imp = { .ok = false };
	int fd = request(&s->ep, NULL), rc;

	if (fd < 0)
		return; /* nothing serves the slot now */
	rc = read_reply(fd, buf, sizeof(buf), parse_devlist, &list);
	close(fd);
	if (rc < 0 || list.n == 0)
		return;
	fd = request(&s->ep, list.dev[0].busid);
	if (fd < 0)
		return;
	/* The reply is exactly as long as read_reply needs: nothing of the URB stream is taken. */
	rc = read_reply(fd, buf, USBIP_OP_HDR_LEN + USBIP_DEVICE_LEN, parse_import, &imp);
	if (rc < 0 || !imp.ok) {
		close(fd);
		return;
	}
	rc = vhci_attach(fd, &imp.dev);
	close(fd);
	snprintf(s->what, sizeof(s->what), "%04x:%04x", imp.dev.vendor, imp.dev.product);
	if (rc < 0) {
		lbx_warn("usb: cannot attach %s to vhci-hcd: %s", s->what, strerror(-rc));
		return;
	}
	s->port = rc;
	lbx_info("usb: %s attached at vhci port %d", s->what, rc);
}

/* Give the box user the USB device nodes and USB serial ports (as probe-rs's udev rules do). */
static void own(const char *path, unsigned uid, unsigned gid)
{
	struct stat st;

	if (lstat(path, &st) < 0 || !(S_ISCHR(st.st_mode)))
		return;
	if (st.st_uid != uid || (st.st_mode & 0777) != 0660) {
		if (chown(path, uid, gid) < 0 || chmod(path, 0660) < 0)
			lbx_warn("usb: cannot give %s to the box user: %s", path, strerror(errno));
	}
}

static void own_nodes(unsigned uid, unsigned gid)
{
	char path[300];
	DIR *d, *bus;
	struct dirent *e, *b;

	if ((d = opendir("/dev"))) {
		while ((e = readdir(d)))
			if (!strncmp(e->d_name, "ttyACM", 6) || !strncmp(e->d_name, "ttyUSB", 6)) {
				snprintf(path, sizeof(path), "/dev/%s", e->d_name);
				own(path, uid, gid);
			}
		closedir(d);
	}
	if (!(d = opendir("/dev/bus/usb")))
		return;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/dev/bus/usb/%s", e->d_name);
		if (!(bus = opendir(path)))
			continue;
		while ((b = readdir(bus))) {
			/* 001 is the root hub: vhci's own, the box user gets nothing of it. */
			if (b->d_name[0] == '.' || !strcmp(b->d_name, "001"))
				continue;
			snprintf(path, sizeof(path), "/dev/bus/usb/%s/%s", e->d_name, b->d_name);
			own(path, uid, gid);
		}
		closedir(bus);
	}
	closedir(d);
}

static void attach_loop(const struct agent_config *cfg) __attribute__((noreturn));
static void attach_loop(const struct agent_config *cfg)
{
	struct slot slots[AGENT_MAX_USB];
	const struct timespec pause = { 0, POLL_MS * 1000000L };

	for (unsigned i = 0; i < cfg->nusb; i++)
		slots[i] = (struct slot){ .ep = cfg->usb[i], .port = -1 };
	for (;;) {
		for (unsigned i = 0; i < cfg->nusb; i++) {
			struct slot *s = &slots[i];

			if (s->port >= 0 && port_in_use(s->port))
				continue;
			if (s->port >= 0) {
				lbx_info("usb: %s detached from vhci port %d", s->what, s->port);
				s->port = -1;
			}
			try_attach(s);
		}
		if (cfg->uid != 0)
			own_nodes(cfg->uid, cfg->gid);
		nanosleep(&pause, NULL);
	}
}

void agent_usb_start(const struct agent_config *cfg)
{
	sigset_t none;
	pid_t pid;

	if (cfg->nusb == 0)
		return;
	if (access(VHCI "/attach", W_OK) < 0) {
		lbx_warn("usb: this kernel has no vhci-hcd (%s): no USB devices in this box",
			 strerror(errno));
		return;
	}
	pid = fork();
	if (pid < 0)
		lbx_warn("usb: cannot start the USB attacher: %s", strerror(errno));
	if (pid != 0)
		return;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	signal(SIGTERM, SIG_DFL);
	signal(SIGINT, SIG_DFL);
	attach_loop(cfg);
}
