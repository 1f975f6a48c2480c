/* SPDX-License-Identifier: MIT */
/*
 * Where a stream service is: a vsock port or a unix socket path. One type
 * for every channel between a box's agent and the host (exec service,
 * ready notification, SSH agent, network stream), so each is listened on
 * and connected to in one place, whichever engine carries it.
 *
 * Text form (the agent's parameters, agent_params.h):
 *   vsock:PORT   a vsock port (the host's, CID 2, when connecting)
 *   unix:PATH    an absolute unix socket path
 *   PORT         the same as vsock:PORT
 */
#ifndef LBX_ENDPOINT_H
#define LBX_ENDPOINT_H

#include <stdbool.h>
#include <stddef.h>

#include "compiler.h"

enum lbx_ep_kind { LBX_EP_NONE, LBX_EP_VSOCK, LBX_EP_UNIX };

#define LBX_EP_PATH_MAX 108 /* sizeof(sockaddr_un.sun_path) */

struct lbx_endpoint {
	enum lbx_ep_kind kind;
	unsigned port;		     /* vsock: 1 .. 0xfffffffd */
	char path[LBX_EP_PATH_MAX]; /* unix: absolute, NUL-terminated */
};

/* Parse the text form (n bytes, no NUL needed); 0 or -EINVAL. */
LBX_MUST_CHECK int lbx_endpoint_parse(const char *s, size_t n, struct lbx_endpoint *ep);
/* The text form into buf; -ENAMETOOLONG if it does not fit. */
int lbx_endpoint_format(const struct lbx_endpoint *ep, char *buf, size_t sz);
struct lbx_endpoint lbx_endpoint_vsock(unsigned port);
/* -ENAMETOOLONG if path cannot be a unix socket address, -EINVAL if relative. */
LBX_MUST_CHECK int lbx_endpoint_unix(const char *path, struct lbx_endpoint *ep);
/*
 * Listen (non-blocking, close-on-exec): vsock on any CID, unix as
 * lbx_unix_listen does. fd or -errno.
 */
LBX_MUST_CHECK int lbx_endpoint_listen(const struct lbx_endpoint *ep, int backlog);
/* Connect (blocking): vsock to the host (CID 2). fd or -errno. */
LBX_MUST_CHECK int lbx_endpoint_connect(const struct lbx_endpoint *ep);

#endif
