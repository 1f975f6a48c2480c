/* SPDX-License-Identifier: MIT */
/*
 * Engine libvirt: the box as a transient libvirt domain (QEMU microvm)
 * with the same kernel, initramfs and vhost-user backends as engine qemu,
 * through libvirt's C API. qemu:///session by default: a daemon the user
 * runs, started on demand.
 */
#ifndef LBX_ENGINE_LIBVIRT_H
#define LBX_ENGINE_LIBVIRT_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#define LBX_LIBVIRT_DEFAULT_URI "qemu:///session"

struct box_manifest;

/* The domain's name for box NAME: "lbx-NAME" (a box name is a valid domain name). */
void engine_libvirt_domain(const char *box, char *buf, size_t sz);

/*
 * Whether uri names a daemon on this machine (no host part): the box's
 * backends and files are here, so a remote one cannot run it yet
 * (docs/remote.md).
 */
bool engine_libvirt_uri_local(const char *uri);

/*
 * The transient domain's XML for box manifest m on connection uri (heap;
 * NULL with a reason in err). console_log: the file the guest's serial
 * console goes to.
 */
char *engine_libvirt_xml(const struct box_manifest *m, const char *uri, const char *kernel,
			 const char *initrd, const char *console_log, char *err, size_t errsz);

/*
 * Fork the engine process: it connects to uri, creates the domain from
 * xml (destroyed by libvirt if that connection closes) and follows the
 * domain's life-cycle events. It exits 0 when the guest powered off or
 * when SIGTERM made it destroy the domain, and 1 after one error line
 * saying why the domain stopped otherwise (or could not start). Its
 * output goes to log. Returns its pid, or -errno.
 */
pid_t engine_libvirt_start(const char *uri, const char *domain, const char *xml, const char *log);

/*
 * libvirt's state of the domain ("running", "paused", "shut off", ...,
 * "not defined" when libvirt has no such domain) into buf. 0, or -1 with
 * a reason in err (the daemon cannot be reached).
 */
int engine_libvirt_state(const char *uri, const char *domain, char *buf, size_t sz, char *err,
			 size_t errsz);

#endif
