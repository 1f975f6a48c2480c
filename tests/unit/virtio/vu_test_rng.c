/* SPDX-License-Identifier: MIT */
/*
 * vu-test-rng: a virtio-rng device (virtio 1.2 §5.4) served over vhost-user
 * with the back-end library, for tests against QEMU's vhost-user-rng.
 *
 *   vu-test-rng --socket PATH [--pattern TEXT]
 *
 * Listens on PATH, serves one front-end, and exits 0 when it disconnects
 * (or on SIGTERM/SIGINT), printing "served N bytes in M requests". Bytes
 * come from getrandom(2); with --pattern (tests only) they are TEXT
 * repeated as one endless stream, so a guest can prove that what it read
 * came from this back-end.
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "evloop.h"
#include "log.h"
#include "vhost_user_backend.h"
#include "virtq.h"

struct rng {
	struct lbx_loop *loop;
	const char *pattern; /* NULL: real randomness */
	size_t pattern_len;
	uint64_t served, requests;
	int status;
};

/* Fill len bytes: the pattern continues where the last request stopped. */
static int fill(struct rng *r, uint8_t *buf, size_t len)
{
	if (!r->pattern) {
		ssize_t n = getrandom(buf, len, 0);

		return n == (ssize_t)len ? 0 : -EIO;
	}
	for (size_t i = 0; i < len; i++)
		buf[i] = (uint8_t)r->pattern[(r->served + i) % r->pattern_len];
	return 0;
}

/* §5.4.6: the driver offers writable buffers; the device fills them. */
static void rng_kicked(struct lbx_vu_dev *dev, unsigned qidx, struct lbx_virtq *q)
{
	static struct lbx_virtq_chain c;
	struct rng *r = lbx_vu_dev_data(dev);
	uint8_t buf[4096];

	while (lbx_virtq_pop(q, &c) == 1) {
		size_t done = 0;

		while (done < c.wr_len) {
			size_t n = LBX_MIN(sizeof(buf), c.wr_len - done);

			if (fill(r, buf, n))
				break;
			done += lbx_iov_from_buf(c.wr, c.nwr, done, buf, n);
			r->served += n;
		}
		lbx_vu_dev_push(dev, qidx, c.head, (uint32_t)done);
		r->requests++;
	}
	lbx_vu_dev_notify(dev, qidx);
}

static void rng_disconnected(struct lbx_vu_dev *dev)
{
	struct rng *r = lbx_vu_dev_data(dev);

	lbx_loop_stop(r->loop, r->status);
}

static void on_signal(struct lbx_loop *loop, int signo, void *data)
{
	lbx_loop_stop(loop, 0);
}

static const struct lbx_vu_ops rng_ops = {
	.name = "rng",
	.num_queues = 1,
	.queue_kicked = rng_kicked,
	.disconnected = rng_disconnected,
};

static int usage(void)
{
	lbx_err("usage: vu-test-rng --socket PATH [--pattern TEXT]");
	return 2;
}

int main(int argc, char **argv)
{
	static const int sigs[] = { SIGTERM, SIGINT };
	struct rng r = { 0 };
	const char *path = NULL;
	struct lbx_vu_dev *dev;
	int err;

	lbx_log_init(argv[0]);
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--socket") && i + 1 < argc)
			path = argv[++i];
		else if (!strcmp(argv[i], "--pattern") && i + 1 < argc && argv[i + 1][0])
			r.pattern = argv[++i];
		else
			return usage();
	}
	if (!path)
		return usage();
	r.pattern_len = r.pattern ? strlen(r.pattern) : 0;
	signal(SIGPIPE, SIG_IGN); /* a dead front-end is an error return, not a signal */
	r.loop = lbx_loop_new();
	dev = r.loop ? lbx_vu_dev_new(r.loop, &rng_ops, &r) : NULL;
	if (!dev || lbx_loop_add_signals(r.loop, sigs, 2, on_signal, NULL) < 0)
		return 1;
	err = lbx_vu_dev_listen(dev, path);
	if (err) {
		lbx_err("cannot listen on %s: %s", path, strerror(-err));
		return 1;
	}
	err = lbx_loop_run(r.loop);
	lbx_info("served %llu bytes in %llu requests", (unsigned long long)r.served,
		 (unsigned long long)r.requests);
	lbx_vu_dev_free(dev);
	lbx_loop_free(r.loop);
	return err ? 1 : 0;
}
