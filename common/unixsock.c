/* SPDX-License-Identifier: MIT */
#include "unixsock.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

static int address(const char *path, struct sockaddr_un *sa)
{
	*sa = (struct sockaddr_un){ .sun_family = AF_UNIX };
	if (strlen(path) >= sizeof(sa->sun_path))
		return -ENAMETOOLONG;
	memcpy(sa->sun_path, path, strlen(path) + 1);
	return 0;
}

static int new_socket(unsigned flags)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC |
				     (flags & LBX_UNIX_NONBLOCK ? SOCK_NONBLOCK : 0),
			0);

	return fd < 0 ? -errno : fd;
}

int lbx_unix_listen(const char *path, int backlog, unsigned flags)
{
	struct sockaddr_un sa;
	struct stat st;
	mode_t old;
	int fd, rc = address(path, &sa);

	if (rc)
		return rc;
	/* Replace a stale socket, never some other file. */
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode))
			return -EEXIST;
		if (unlink(path) < 0)
			return -errno;
	}
	fd = new_socket(flags);
	if (fd < 0)
		return fd;
	old = umask(0177);
	rc = bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, backlog) < 0 ? -errno : 0;
	umask(old);
	if (rc) {
		close(fd);
		return rc;
	}
	return fd;
}

int lbx_unix_connect(const char *path, unsigned flags)
{
	struct sockaddr_un sa;
	int fd, rc = address(path, &sa);

	if (rc)
		return rc;
	fd = new_socket(flags);
	if (fd < 0)
		return fd;
	/* A unix connect completes at once or fails (EAGAIN: the backlog is full). */
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		rc = -errno;
		close(fd);
		return rc;
	}
	return fd;
}
