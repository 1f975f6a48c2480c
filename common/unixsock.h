/* SPDX-License-Identifier: MIT */
/*
 * Unix stream sockets by path, as every lbx process uses them: the host
 * ends of vhost-user, vsock ports, exec and control sockets.
 */
#ifndef LBX_UNIXSOCK_H
#define LBX_UNIXSOCK_H

#include "compiler.h"

#define LBX_UNIX_NONBLOCK 0x1u /* the socket (not an accepted one) is non-blocking */

/*
 * Listen at path. A stale socket there is replaced; any other kind of file
 * is left alone (-EEXIST). The socket is the owner's only (mode 0600):
 * whoever connects reaches a box or its backend. Call it while the process
 * is single-threaded (it sets the umask around bind). fd or -errno.
 */
LBX_MUST_CHECK int lbx_unix_listen(const char *path, int backlog, unsigned flags);
/* Connect to path; fd or -errno (-ENAMETOOLONG for a path that cannot be an address). */
LBX_MUST_CHECK int lbx_unix_connect(const char *path, unsigned flags);

#endif
