/* SPDX-License-Identifier: MIT */
#include "connect.h"
#include "unixsock.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>


/* Read the reply line byte by byte: what follows it is the guest's stream. */
static int read_line(int fd, char *buf, size_t sz)
{
	size_t n = 0;

	while (n + 1 < sz) {
		ssize_t r = read(fd, buf + n, 1);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return -ETIMEDOUT;
		if (r <= 0)
			return -ECONNREFUSED;
		if (buf[n] == '\n') {
			buf[n] = '\0';
			return 0;
		}
		n++;
	}
	return -EBADMSG;
}

int lbx_connect_vsock(const char *uds_path, uint32_t port, char *err, size_t errsz)
{
	char line[64];
	int fd = lbx_unix_connect(uds_path, 0), rc, n;

	if (fd < 0) {
		snprintf(err, errsz, "cannot reach the box's vsock socket %s: %s", uds_path,
			 strerror(-fd));
		return fd;
	}
	n = snprintf(line, sizeof(line), "CONNECT %u\n", port);
	if (write(fd, line, (size_t)n) != n) {
		rc = -errno;
		close(fd);
		snprintf(err, errsz, "cannot write to %s: %s", uds_path, strerror(-rc));
		return rc;
	}
	/* A hung guest must not hang us: bound the wait for the reply. */
	struct timeval tv = { .tv_sec = 30 }, none = { 0 };

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	rc = read_line(fd, line, sizeof(line));
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &none, sizeof(none));
	if (rc == 0 && strncmp(line, "OK ", 3) != 0)
		rc = -EBADMSG;
	if (rc < 0) {
		close(fd);
		snprintf(err, errsz,
			 rc == -ECONNREFUSED ? "nothing listens on port %u in the box"
			 : rc == -ETIMEDOUT  ? "the box did not answer on port %u within 30 s"
					     : "unexpected reply from the box's vsock socket (port %u)",
			 port);
		return rc;
	}
	return fd;
}
