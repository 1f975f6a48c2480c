/* SPDX-License-Identifier: MIT */
/*
 * lbx-exec-probe UDS [--ready] [--poweroff] -- ARGV...
 *   (tests/nested-arm64, static arm64)
 *
 * What lbx does with a box's agent, for the arm64 L1 that has no lbx of
 * its own. With --ready, first wait for the agent's ready notice: listen
 * on UDS_1025, where lbx-vsockd puts the guest's connection to host port
 * 1025 (lbx.notify=vsock:1025), and print "@ready TEXT". Then one exec
 * session through lbx-vsockd's host socket UDS (CONNECT to the exec port,
 * lbx/connect.c), the command's output on our stdout and stderr, then
 * "@exec code=N" on stdout. With --poweroff, a second connection asks the
 * agent to power the box off (as `lbx down`).
 * The socket and the agent's listener appear while the box boots, so the
 * first connection is retried for up to two minutes. Exit status: the
 * command's (128 + N on signal N), 125 when no session ran.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sys/socket.h>

#include "connect.h"
#include "exec_client.h"
#include "exec_proto.h"
#include "unixsock.h"
#include "writer.h"

#define CONNECT_TRIES 600 /* every 200 ms */

static int connect_agent(const char *uds, char *err, size_t errsz)
{
	const struct timespec pause = { 0, 200 * 1000000L };
	int fd = -ENOENT;

	for (int i = 0; i < CONNECT_TRIES; i++) {
		fd = lbx_connect_vsock(uds, EXEC_VSOCK_PORT, err, errsz);
		if (fd >= 0 || (fd != -ENOENT && fd != -ECONNREFUSED && fd != -ECONNRESET))
			break;
		nanosleep(&pause, NULL);
	}
	return fd;
}

/* Bound before the box boots (the caller starts us first): the agent's one ready notice. */
static int listen_ready(const char *uds)
{
	char path[256];

	snprintf(path, sizeof(path), "%s_%u", uds, 1025u);
	unlink(path);
	return lbx_unix_listen(path, 1, 0);
}

static int wait_ready(int lfd)
{
	char buf[128];
	int fd = accept(lfd, NULL, NULL);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -EIO;
	buf[n] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	printf("@ready %s\n", buf);
	fflush(stdout);
	return 0;
}

static int poweroff(const char *uds)
{
	uint8_t buf[EXEC_HEADER_SIZE];
	struct lbx_writer w;
	char err[256];
	int fd = connect_agent(uds, err, sizeof(err)), rc = 0;

	if (fd < 0) {
		fprintf(stderr, "lbx-exec-probe: poweroff: %s\n", err);
		return -1;
	}
	lbx_writer_init_fixed(&w, buf, sizeof(buf));
	if (exec_frame_write(&w, EXEC_MSG_POWEROFF, NULL, 0) < 0 ||
	    write(fd, lbx_writer_data(&w), lbx_writer_len(&w)) != (ssize_t)lbx_writer_len(&w))
		rc = -1;
	close(fd);
	return rc;
}

int main(int argc, char **argv)
{
	struct lbx_exec_opts o = { .in_fd = -1,
				   .out_fd = STDOUT_FILENO,
				   .err_fd = STDERR_FILENO,
				   .winch_fd = -1,
				   .tty_fd = -1,
				   .signal_fd = -1 };
	struct lbx_exec_result res = { 0 };
	bool off = false, ready = false;
	char err[256];
	int i = 2, fd, rc, code, lfd = -1;

	for (; i < argc && strcmp(argv[i], "--"); i++) {
		if (!strcmp(argv[i], "--poweroff"))
			off = true;
		else if (!strcmp(argv[i], "--ready"))
			ready = true;
		else
			break;
	}
	if (argc < 2 || i + 1 >= argc || strcmp(argv[i], "--")) {
		fprintf(stderr, "usage: lbx-exec-probe UDS [--ready] [--poweroff] -- ARGV...\n");
		return 125;
	}
	o.argv = argv + i + 1;
	if (ready && ((lfd = listen_ready(argv[1])) < 0 || wait_ready(lfd) < 0)) {
		fprintf(stderr, "lbx-exec-probe: no ready notice on %s_1025\n", argv[1]);
		return 125;
	}
	if (lfd >= 0)
		close(lfd);
	fd = connect_agent(argv[1], err, sizeof(err));
	if (fd < 0) {
		fprintf(stderr, "lbx-exec-probe: %s: %s\n", argv[1], err);
		return 125;
	}
	rc = lbx_exec_run(fd, &o, &res);
	close(fd);
	if (rc < 0 || !res.exited) {
		fprintf(stderr, "lbx-exec-probe: the session failed: %s\n", res.error);
		code = 125;
	} else {
		code = lbx_exec_exit_code(&res);
	}
	printf("@exec code=%d pid=%u\n", code, (unsigned)res.pid);
	fflush(stdout);
	if (off && poweroff(argv[1]) < 0)
		fprintf(stderr, "lbx-exec-probe: cannot ask the agent to power off\n");
	return code;
}
