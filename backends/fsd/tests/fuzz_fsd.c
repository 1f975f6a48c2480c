/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for lbx-fsd's request decoder: arbitrary bytes go to
 * fsd_handle() over a real (throw-away) tree, as a transport would pass
 * them, split into iovecs like virtio descriptors.
 *
 * Input: byte 0 = iovec size (low 7 bits, 0 = one iovec) and bit 7 = keep
 * the input's own in_header.len (else it is patched to the real length so
 * the fuzzer gets past the length check); then records of u16le length +
 * request bytes. Invariants after every request: a reply fits the reply
 * buffer, its header length equals the bytes written, its unique is the
 * request's, its error is 0 or a negative errno.
 *
 * The tree lives on a 64 MiB tmpfs in a private mount namespace when we
 * may make one (root), so FALLOCATE and WRITE at wild offsets cannot fill
 * the disk; otherwise in /tmp with RLIMIT_FSIZE.
 */
#include <errno.h>
#include <ftw.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fsd.h"
#include "reader.h"
#include "writer.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

#define CHECK(c)                   \
	do {                       \
		if (!(c))          \
			abort();   \
	} while (0)

#define REPLY_CAP (1u << 20)
#define MAX_IOV 256

static struct fsd *fsd;
static uint8_t *reply;
static char dir[] = "/tmp/lbx-fsd-fuzz.XXXXXX";

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
	return ftw->level ? remove(p) : 0;
}

/* Best effort: the tmpfs goes with our mount namespace, the directory stays unless removed. */
static void cleanup(void)
{
	umount2(dir, MNT_DETACH);
	nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	rmdir(dir);
}

static void make_tree(const char *root)
{
	char p[300];
	FILE *f;

	snprintf(p, sizeof(p), "%s/file", root);
	f = fopen(p, "w");
	if (f) {
		fputs("some content", f);
		fclose(f);
	}
	snprintf(p, sizeof(p), "%s/sub", root);
	mkdir(p, 0755);
	snprintf(p, sizeof(p), "%s/link", root);
	symlink("file", p);
	snprintf(p, sizeof(p), "%s/fifo", root); /* never opened: CREATE and OPEN say ENXIO */
	mkfifo(p, 0644);
	snprintf(p, sizeof(p), "%s/sub/hooks", root);
	mkdir(p, 0755);
}

/* The protect checks on every modifying request (protect.c). */
static const char *const protect[] = { "sub/hooks", "file", "absent/config" };

static void send_init(void)
{
	uint8_t req[40 + 64];
	struct iovec in = { req, sizeof(req) }, out = { reply, REPLY_CAP };
	size_t len;

	memset(req, 0, sizeof(req));
	lbx_put_u32le(req, sizeof(req));
	lbx_put_u32le(req + 4, 26); /* FUSE_INIT */
	lbx_put_u64le(req + 8, 1);
	lbx_put_u32le(req + 40, 7);
	lbx_put_u32le(req + 44, 38);
	lbx_put_u32le(req + 52, 0xffffffff);
	CHECK(fsd_handle(fsd, &in, 1, &out, 1, &len) == 0 && len > 16);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct fsd_options o;
	struct rlimit fs = { 16 << 20, 16 << 20 };

	if (!mkdtemp(dir))
		abort();
	atexit(cleanup);
	if (unshare(CLONE_NEWNS) == 0 && mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) == 0)
		mount("tmpfs", dir, "tmpfs", 0, "size=64m");
	signal(SIGXFSZ, SIG_IGN);
	setrlimit(RLIMIT_FSIZE, &fs);
	make_tree(dir);
	fsd_options_default(&o);
	o.max_write = 1 << 16;
	o.max_inode_fds = 4; /* evict and reopen by name all the time */
	o.protect = protect;
	o.nprotect = sizeof(protect) / sizeof(protect[0]);
	o.quota_bytes = 8 << 20; /* the accounting on every write, truncate and unlink */
	if (fsd_new(dir, &o, &fsd))
		abort();
	reply = malloc(REPLY_CAP);
	send_init();
	return 0;
}

static unsigned cut(uint8_t *buf, size_t len, unsigned split, struct iovec *iov)
{
	unsigned n = 0;

	if (!split || len / split + 1 > MAX_IOV) {
		iov[0].iov_base = buf;
		iov[0].iov_len = len;
		return 1;
	}
	for (size_t off = 0; off < len || n == 0; off += split) {
		iov[n].iov_base = buf + off;
		iov[n++].iov_len = len - off < split ? len - off : split;
	}
	return n;
}

static void one(uint8_t *req, size_t len, unsigned split, bool keep_len)
{
	struct iovec in[MAX_IOV], out[MAX_IOV];
	unsigned nin, nout;
	size_t rlen = 0;
	uint32_t hlen, herr;
	uint64_t unique, want_unique = 0;
	struct lbx_reader r;

	if (!keep_len && len >= 4)
		lbx_put_u32le(req, (uint32_t)len);
	if (len >= 16) {
		lbx_reader_init(&r, req + 8, 8);
		CHECK(lbx_read_u64le(&r, &want_unique) == 0);
	}
	nin = cut(req, len, split, in);
	nout = cut(reply, REPLY_CAP, split ? split * 97 : 0, out);
	if (fsd_handle(fsd, in, nin, out, nout, &rlen) < 0) {
		CHECK(rlen == 0);
		return;
	}
	CHECK(rlen <= REPLY_CAP);
	if (!rlen)
		return;
	CHECK(rlen >= 16);
	lbx_reader_init(&r, reply, rlen);
	CHECK(lbx_read_u32le(&r, &hlen) == 0 && lbx_read_u32le(&r, &herr) == 0 &&
	      lbx_read_u64le(&r, &unique) == 0);
	CHECK(hlen == rlen);
	CHECK(unique == want_unique);
	CHECK(herr == 0 || ((int32_t)herr < 0 && (int32_t)herr > -4096));
	CHECK(herr == 0 || rlen == 16);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct lbx_reader r;
	uint8_t mode, *copy;

	lbx_reader_init(&r, data, size);
	if (lbx_read_u8(&r, &mode))
		return 0;
	while (lbx_reader_left(&r)) {
		uint16_t l;
		const uint8_t *p;

		if (lbx_read_u16le(&r, &l))
			break;
		if (l > lbx_reader_left(&r))
			l = (uint16_t)lbx_reader_left(&r);
		if (lbx_read_bytes(&r, l, &p))
			break;
		copy = malloc(l ? l : 1);
		memcpy(copy, p, l);
		one(copy, l, mode & 0x7f, mode & 0x80);
		free(copy);
	}
	return 0;
}
