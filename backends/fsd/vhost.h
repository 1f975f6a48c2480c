/* SPDX-License-Identifier: MIT */
/* lbx-fsd's vhost-user-fs transport (virtio 1.2 §5.11 over common/vhost_user_backend.h). */
#ifndef LBX_FSD_VHOST_H
#define LBX_FSD_VHOST_H

#include <stdbool.h>

#include "compiler.h"
#include "fsd.h"

/*
 * Bind a unix socket at path and wait for the one front-end (lbx-vmm or
 * QEMU) to connect; the socket file is removed once it has. Returns the
 * connected fd or -errno. Done before the sandbox, which forbids sockets.
 */
LBX_MUST_CHECK int fsd_vhost_accept(const char *path);
/*
 * Serve the device on the connected fd until the front-end goes away.
 * tag is the file system tag (1-36 bytes), checked here; the front-end
 * puts it in the config space.
 * notify: watch the tree for host edits and offer VIRTIO_FS_F_NOTIFICATION
 * (vhost.c). restrict_self runs once the event loop, signal handling and the
 * connection are set up, before the first message is read (the sandbox).
 * Returns 0 after a clean end of the session, -errno on failure.
 */
LBX_MUST_CHECK int fsd_vhost_serve(struct fsd *fsd, int fd, const char *tag, bool notify,
				   int (*restrict_self)(void *), void *arg);

/*
 * The device alone, on the caller's loop (what fsd_vhost_serve runs; tests
 * attach a socketpair to fsd_vhost_dev and pump the loop themselves). The
 * end of a session stops the loop. NULL when out of memory.
 */
struct fsd_vu;
struct lbx_loop;
struct lbx_vu_dev;
struct fsd_vu *fsd_vhost_new(struct fsd *fsd, struct lbx_loop *loop, bool notify);
/* The notification queue once the driver acked VIRTIO_FS_F_NOTIFICATION, else NULL (tests). */
struct fsd_notify_queue *fsd_vhost_notify_queue(struct fsd_vu *v);
struct lbx_vu_dev *fsd_vhost_dev(struct fsd_vu *v);
void fsd_vhost_free(struct fsd_vu *v);

#endif
