/* SPDX-License-Identifier: MIT */
/*
 * Benchmark client: median latency of N SIGN_REQUESTs (SSHSIG data,
 * namespace "git") to one agent socket, one request in flight at a time.
 *
 *   ssh-sign-bench SOCKET KEYBLOB_FILE N
 *
 * Prints "median_us=... p90_us=... n=N". Driven by ssh-sign.py, which
 * runs it against ssh-agent directly and through lbx-ssh-proxy.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "agent_msg.h"

static int connect_to(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		perror(path);
		exit(1);
	}
	return fd;
}

static int io_all(int fd, uint8_t *p, size_t n, int writing)
{
	while (n) {
		ssize_t r = writing ? write(fd, p, n) : read(fd, p, n);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		p += r;
		n -= (size_t)r;
	}
	return 0;
}

/* One request and its reply; 0 if the reply is a SIGN_RESPONSE. */
static int round_trip(int fd, const struct lbx_writer *req, uint8_t *reply, size_t cap)
{
	struct lbx_reader r;
	uint32_t len;
	uint8_t type;

	if (io_all(fd, (uint8_t *)lbx_writer_data(req), lbx_writer_len(req), 1) ||
	    io_all(fd, reply, 4, 0))
		return -1;
	lbx_reader_init(&r, reply, 4);
	if (lbx_read_u32be(&r, &len) || len == 0 || len > cap || io_all(fd, reply, len, 0))
		return -1;
	lbx_reader_init(&r, reply, len);
	return lbx_read_u8(&r, &type) || type != SSH_AGENT_SIGN_RESPONSE ? -1 : 0;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static size_t read_file(const char *path, uint8_t *buf, size_t cap)
{
	FILE *f = fopen(path, "rb");
	size_t n;

	if (!f) {
		perror(path);
		exit(1);
	}
	n = fread(buf, 1, cap, f);
	fclose(f);
	return n;
}

static void build(struct lbx_writer *w, const uint8_t *key, size_t keylen)
{
	static const uint8_t hash[64] = { 0 };
	struct lbx_writer d;
	struct sshp_blob k = { key, keylen }, data;
	int err;

	lbx_writer_init_dynamic(&d, 4096);
	err = lbx_write_bytes(&d, SSHP_SSHSIG_MAGIC, 6);
	err = err ?: lbx_write_blob(&d, LBX_LEN_U32BE, "git", 3);
	err = err ?: lbx_write_blob(&d, LBX_LEN_U32BE, "", 0);
	err = err ?: lbx_write_blob(&d, LBX_LEN_U32BE, "sha512", 6);
	err = err ?: lbx_write_blob(&d, LBX_LEN_U32BE, hash, sizeof(hash));
	data = (struct sshp_blob){ lbx_writer_data(&d), lbx_writer_len(&d) };
	lbx_writer_init_dynamic(w, 8192);
	err = err ?: sshp_msg_write_sign_request(w, &k, &data, 0);
	lbx_writer_free(&d);
	if (err) {
		fprintf(stderr, "cannot build the request\n");
		exit(1);
	}
}

int main(int argc, char **argv)
{
	uint8_t key[SSHP_KEYBLOB_MAX], reply[SSHP_MSG_MAX];
	struct lbx_writer req;
	struct timespec a, b;
	double *lat;
	int n, fd, warmup = 50;

	if (argc != 4 || (n = atoi(argv[3])) < 1) {
		fprintf(stderr, "usage: %s SOCKET KEYBLOB_FILE N\n", argv[0]);
		return 2;
	}
	build(&req, key, read_file(argv[2], key, sizeof(key)));
	fd = connect_to(argv[1]);
	lat = calloc((size_t)n, sizeof(*lat));
	for (int i = -warmup; i < n; i++) {
		clock_gettime(CLOCK_MONOTONIC, &a);
		if (round_trip(fd, &req, reply, sizeof(reply))) {
			fprintf(stderr, "request %d was not signed\n", i);
			return 1;
		}
		clock_gettime(CLOCK_MONOTONIC, &b);
		if (i >= 0)
			lat[i] = (double)(b.tv_sec - a.tv_sec) * 1e6 +
				 (double)(b.tv_nsec - a.tv_nsec) / 1e3;
	}
	qsort(lat, (size_t)n, sizeof(*lat), cmp);
	printf("median_us=%.1f p90_us=%.1f n=%d\n", lat[n / 2], lat[n * 9 / 10], n);
	free(lat);
	lbx_writer_free(&req);
	close(fd);
	return 0;
}
