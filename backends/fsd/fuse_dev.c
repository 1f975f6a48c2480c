/* SPDX-License-Identifier: MIT */
/*
 * /dev/fuse transport. Each worker thread reads whole requests from the
 * same fd (the kernel hands each request to one reader), runs fsd_handle
 * on it and writes the reply. One read returns exactly one request, and
 * the kernel refuses a read buffer smaller than max_write plus headers
 * (fuse_dev_do_read), so the buffers are sized from fsd_max_request.
 */
#include "fuse_dev.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/uio.h>
#include <unistd.h>

#include "fsd_priv.h"
#include "log.h"

int fsd_fuse_mount(const char *mountpoint, const struct fsd_options *opt, int *fd)
{
	char data[256];
	int f = open("/dev/fuse", O_RDWR | O_CLOEXEC);

	if (f < 0) {
		lbx_err("cannot open /dev/fuse: %s (is the fuse module loaded?)", strerror(errno));
		return -errno;
	}
	/* default_permissions: the kernel checks modes, as virtio-fs guests do. */
	snprintf(data, sizeof(data),
		 "fd=%d,rootmode=40000,user_id=%u,group_id=%u,default_permissions,allow_other,"
		 "max_read=%u",
		 f, getuid(), getgid(), opt->max_write);
	if (mount("lbx-fsd", mountpoint, "fuse.lbx-fsd", MS_NOSUID | MS_NODEV, data) < 0) {
		int err = -errno;

		lbx_err("cannot mount on %s: %s%s", mountpoint, strerror(errno),
			errno == EPERM ? " (mounting needs root)" : "");
		close(f);
		return err;
	}
	*fd = f;
	return 0;
}

int fsd_fuse_unmount(const char *mountpoint)
{
	if (umount2(mountpoint, UMOUNT_NOFOLLOW) == 0)
		return 0;
	if (errno == EBUSY && umount2(mountpoint, MNT_DETACH | UMOUNT_NOFOLLOW) == 0)
		return 0;
	return -errno;
}

/* Notifications (watch.c) are writes to /dev/fuse with unique 0 (fuse.h). */
static int notify_send(void *ctx, const void *msg, size_t len)
{
	const int *fd = ctx;

	return write(*fd, msg, len) < 0 ? -errno : 0;
}

int fsd_fuse_watch(struct fsd *fsd, const int *fd)
{
	struct fsd_notify_sink sink = { notify_send, (void *)fd, false }; /* the host kernel: no events */
	int err = fsd_watch_start(fsd, &sink);

	if (!err) {
		fsd_notified(fsd); /* the kernel always takes notifications on /dev/fuse */
		lbx_info("host edits are watched (%s) and notified", fsd_watch_kind(fsd));
	}
	return err;
}

struct worker {
	struct fsd *fsd;
	int fd;
	int err;
	pthread_t tid;
};

static int serve_one(struct worker *w, uint8_t *in, size_t insz, uint8_t *out, size_t outsz)
{
	struct iovec req, reply = { out, outsz };
	size_t len = 0;
	ssize_t n = read(w->fd, in, insz);

	if (n < 0) {
		if (errno == EINTR || errno == EAGAIN || errno == ENOENT)
			return 0; /* ENOENT: the request was interrupted before we got it */
		return errno == ENODEV ? 1 : -errno;
	}
	req.iov_base = in;
	req.iov_len = (size_t)n;
	if (fsd_handle(w->fsd, &req, 1, &reply, 1, &len) < 0 || len == 0)
		return 0;
	if (write(w->fd, out, len) < 0 && errno != ENOENT) {
		if (errno == ENODEV)
			return 1;
		lbx_warn("writing a reply to /dev/fuse: %s", strerror(errno));
	}
	return 0;
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	size_t insz = fsd_max_request(w->fsd);
	size_t outsz = LBX_MAX((size_t)w->fsd->opt.max_write, (size_t)FSD_MAX_LIST + FSD_XATTR_MAX) +
		       4096;
	uint8_t *in = malloc(insz), *out = malloc(outsz);
	int r = 0;

	if (!in || !out)
		r = -ENOMEM;
	while (r == 0)
		r = serve_one(w, in, insz, out, outsz);
	w->err = r < 0 ? r : 0;
	if (r < 0)
		lbx_err("reading /dev/fuse: %s", strerror(-r));
	free(in);
	free(out);
	return NULL;
}

int fsd_fuse_serve(struct fsd *fsd, int fd, unsigned nthreads)
{
	struct worker *w = calloc(nthreads, sizeof(*w));
	unsigned started = 0;
	int err = 0;

	if (!w)
		return -ENOMEM;
	for (; started < nthreads; started++) {
		w[started].fsd = fsd;
		w[started].fd = fd;
		if (started == 0)
			continue; /* the calling thread is worker 0 */
		if ((err = -pthread_create(&w[started].tid, NULL, worker_main, &w[started])))
			break;
	}
	worker_main(&w[0]);
	for (unsigned i = 1; i < started; i++) {
		pthread_join(w[i].tid, NULL);
		if (!err)
			err = w[i].err;
	}
	if (!err)
		err = w[0].err;
	free(w);
	return err;
}
