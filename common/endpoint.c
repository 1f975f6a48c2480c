/* SPDX-License-Identifier: MIT */
#include "endpoint.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <linux/vm_sockets.h>

#include "unixsock.h"

static bool has_prefix(const char *s, size_t n, const char *p)
{
	size_t pl = strlen(p);

	return n >= pl && !memcmp(s, p, pl);
}

static int parse_port(const char *s, size_t n, unsigned *port)
{
	uint64_t v = 0;

	if (n == 0 || n > 10)
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -EINVAL;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	/* 0 is no port; VMADDR_PORT_ANY (-1) and -2 are reserved. */
	if (v == 0 || v > UINT32_MAX - 2)
		return -EINVAL;
	*port = (unsigned)v;
	return 0;
}

int lbx_endpoint_parse(const char *s, size_t n, struct lbx_endpoint *ep)
{
	*ep = (struct lbx_endpoint){ .kind = LBX_EP_NONE };
	if (has_prefix(s, n, "unix:")) {
		s += 5;
		n -= 5;
		if (n == 0 || s[0] != '/' || n >= sizeof(ep->path) || memchr(s, '\0', n))
			return -EINVAL;
		memcpy(ep->path, s, n);
		ep->path[n] = '\0';
		ep->kind = LBX_EP_UNIX;
		return 0;
	}
	if (has_prefix(s, n, "vsock:")) {
		s += 6;
		n -= 6;
	}
	if (parse_port(s, n, &ep->port) < 0)
		return -EINVAL;
	ep->kind = LBX_EP_VSOCK;
	return 0;
}

int lbx_endpoint_format(const struct lbx_endpoint *ep, char *buf, size_t sz)
{
	int n;

	switch (ep->kind) {
	case LBX_EP_VSOCK: n = snprintf(buf, sz, "vsock:%u", ep->port); break;
	case LBX_EP_UNIX: n = snprintf(buf, sz, "unix:%s", ep->path); break;
	default: n = snprintf(buf, sz, "none"); break;
	}
	return n < 0 || (size_t)n >= sz ? -ENAMETOOLONG : 0;
}

struct lbx_endpoint lbx_endpoint_vsock(unsigned port)
{
	return (struct lbx_endpoint){ .kind = LBX_EP_VSOCK, .port = port };
}

int lbx_endpoint_unix(const char *path, struct lbx_endpoint *ep)
{
	*ep = (struct lbx_endpoint){ .kind = LBX_EP_NONE };
	if (path[0] != '/')
		return -EINVAL;
	if (strlen(path) >= sizeof(ep->path))
		return -ENAMETOOLONG;
	strcpy(ep->path, path);
	ep->kind = LBX_EP_UNIX;
	return 0;
}

static int vsock_socket(const struct lbx_endpoint *ep, bool listen_side, int backlog)
{
	struct sockaddr_vm addr = {
		.svm_family = AF_VSOCK,
		.svm_cid = listen_side ? VMADDR_CID_ANY : VMADDR_CID_HOST,
		.svm_port = ep->port,
	};
	int fd = socket(AF_VSOCK, SOCK_STREAM | SOCK_CLOEXEC | (listen_side ? SOCK_NONBLOCK : 0),
			0);
	int rc;

	if (fd < 0)
		return -errno;
	if (listen_side)
		rc = bind(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0 || listen(fd, backlog) < 0;
	else
		rc = connect(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0;
	if (rc) {
		int e = errno;

		close(fd);
		return -e;
	}
	return fd;
}

int lbx_endpoint_listen(const struct lbx_endpoint *ep, int backlog)
{
	switch (ep->kind) {
	case LBX_EP_VSOCK: return vsock_socket(ep, true, backlog);
	case LBX_EP_UNIX: return lbx_unix_listen(ep->path, backlog, LBX_UNIX_NONBLOCK);
	default: return -EINVAL;
	}
}

int lbx_endpoint_connect(const struct lbx_endpoint *ep)
{
	switch (ep->kind) {
	case LBX_EP_VSOCK: return vsock_socket(ep, false, 0);
	case LBX_EP_UNIX: return lbx_unix_connect(ep->path, 0);
	default: return -EINVAL;
	}
}
