/* SPDX-License-Identifier: MIT */
/*
 * The inode fd budget (inode.c), with raw FUSE requests against the core:
 * a tree of far more files than the budget. The process never holds more
 * inode fds than the budget; an evicted inode is reopened by its name as
 * the very object it was, also after renames through the server; a host
 * that renames, replaces or removes an evicted file or directory makes its
 * node id ESTALE, never another file and nothing outside the tree.
 */
#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <pthread.h>
#include <stdio.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../../tests/unit/tap.h"
#include "fsd_client.h"

#define BUDGET	 32
#define ND	 20 /* tree/dNN/sN/fN: ND * NS * NF files */
#define NS	 10
#define NF	 10
#define NTHREADS 4

static char root[256], tree[300], outside[300];
static uint64_t dnode[ND], snode[ND][NS], fnode[ND][NS][NF];
static int base_fds, max_fds; /* fds before any lookup; most inode fds seen since */

/* Every node id the test was given, to FORGET at the end. */
static uint64_t *known;
static size_t nknown, known_cap;

static void remember(uint64_t id)
{
	if (nknown == known_cap) {
		known_cap = known_cap ? known_cap * 2 : 4096;
		known = realloc(known, known_cap * sizeof(*known));
		if (!known)
			abort();
	}
	known[nknown++] = id;
}

/* The host path of tree/dD, tree/dD/sS or tree/dD/sS/fF (s or f negative: stop there). */
static void path_of(char *p, size_t n, int d, int s, int f)
{
	if (s < 0)
		snprintf(p, n, "%s/d%02d", tree, d);
	else if (f < 0)
		snprintf(p, n, "%s/d%02d/s%d", tree, d, s);
	else
		snprintf(p, n, "%s/d%02d/s%d/f%d", tree, d, s, f);
}

static void expected(char *buf, size_t n, int d, int s, int f)
{
	snprintf(buf, n, "file d%02d/s%d/f%d\n", d, s, f);
}

static void make_trees(void)
{
	char p[512], text[64];

	fc_make_dirs("lbx-fsd-evict", root, tree, outside);
	for (int f = 0; f < NF; f++) {
		snprintf(p, sizeof(p), "%s/f%d", outside, f);
		fc_put(p, "OUTSIDE\n");
	}
	for (int d = 0; d < ND; d++) {
		path_of(p, sizeof(p), d, -1, -1);
		if (mkdir(p, 0755))
			abort();
		for (int s = 0; s < NS; s++) {
			path_of(p, sizeof(p), d, s, -1);
			if (mkdir(p, 0755))
				abort();
			for (int f = 0; f < NF; f++) {
				path_of(p, sizeof(p), d, s, f);
				expected(text, sizeof(text), d, s, f);
				fc_put(p, text);
			}
		}
	}
}

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(p);
}

static int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0;

	if (!d)
		abort();
	while ((e = readdir(d)))
		n += e->d_name[0] != '.';
	closedir(d);
	return n - 1; /* the directory stream's own */
}

static void note_fds(void)
{
	int n = count_fds() - base_fds;

	if (n > max_fds)
		max_fds = n;
}

static int lookup(struct fc *c, uint64_t parent, const char *name, uint64_t *id, uint32_t *mode)
{
	int err = fc_lookup(c, parent, name, id, mode);

	if (!err)
		remember(*id);
	note_fds();
	return err;
}

/* OPEN, READ, RELEASE of a node id as it stands: no lookup, so no fresh fd. */
static int read_node(struct fc *c, uint64_t id, char *out, size_t cap)
{
	uint8_t rel[24] = { 0 };
	uint64_t fh;
	size_t n = 0;
	int err = fc_open(c, FUSE_OPEN, id, O_RDONLY, &fh);

	if (!err) {
		err = fc_read(c, id, fh, 0, (uint32_t)cap - 1, out, &n);
		lbx_put_u64le(rel, fh);
		fc_call(c, FUSE_RELEASE, id, rel, sizeof(rel));
	}
	out[err ? 0 : n] = 0;
	return err;
}

static bool reads_as(struct fc *c, uint64_t id, int d, int s, int f)
{
	char buf[128], want[64];

	expected(want, sizeof(want), d, s, f);
	return read_node(c, id, buf, sizeof(buf)) == 0 && !strcmp(buf, want);
}

/* GETATTR: the host inode number and size the server reports. */
static int attr_of(struct fc *c, uint64_t id, uint64_t *ino, uint64_t *size)
{
	uint8_t a[16] = { 0 };
	int err = fc_call(c, FUSE_GETATTR, id, a, sizeof(a));

	if (err)
		return err;
	/* fuse_attr_out: valid, valid_nsec, dummy, then fuse_attr { ino, size, ... } */
	if (lbx_read_skip(&c->body, 16) || lbx_read_u64le(&c->body, ino) ||
	    lbx_read_u64le(&c->body, size))
		return -EPROTO;
	return 0;
}

static int rename_via(struct fc *c, uint64_t dir, const char *from, uint64_t newdir, const char *to,
		      uint32_t flags)
{
	uint8_t a[600];
	size_t l1 = strlen(from) + 1, l2 = strlen(to) + 1;

	lbx_put_u64le(a, newdir);
	lbx_put_u32le(a + 8, flags);
	lbx_put_u32le(a + 12, 0);
	memcpy(a + 16, from, l1);
	memcpy(a + 16 + l1, to, l2);
	return fc_call(c, FUSE_RENAME2, dir, a, 16 + l1 + l2);
}

/* Use other inodes until everything above was evicted (the budget is far smaller). */
static void flush(struct fc *c)
{
	uint64_t ino, size;

	for (int s = 0; s < NS; s++)
		for (int f = 0; f < NF; f++)
			attr_of(c, fnode[ND - 1][s][f], &ino, &size);
	note_fds();
}

static uint64_t host_ino(int d, int s, int f)
{
	char p[512];
	struct stat st;

	path_of(p, sizeof(p), d, s, f);
	return lstat(p, &st) ? 0 : st.st_ino;
}

static void test_lookup_all(struct fc *c)
{
	struct fsd_stats st;
	unsigned failed = 0, n = 0;
	char name[16];

	for (int d = 0; d < ND; d++) {
		snprintf(name, sizeof(name), "d%02d", d);
		failed += lookup(c, FUSE_ROOT_ID, name, &dnode[d], NULL) != 0;
		for (int s = 0; s < NS; s++) {
			snprintf(name, sizeof(name), "s%d", s);
			failed += lookup(c, dnode[d], name, &snode[d][s], NULL) != 0;
			for (int f = 0; f < NF; f++) {
				snprintf(name, sizeof(name), "f%d", f);
				failed += lookup(c, snode[d][s], name, &fnode[d][s][f], NULL) != 0;
				n++;
			}
		}
	}
	fsd_get_stats(c->fsd, &st);
	ok(failed == 0 && st.inodes == 1 + ND + ND * NS + n,
	   "%u files and %d directories looked up, %llu inodes held", n, ND + ND * NS,
	   (unsigned long long)st.inodes);
	ok(max_fds <= BUDGET && st.inode_fds <= BUDGET,
	   "never more than the budget of %d inode fds open (at most %d, now %llu)", BUDGET,
	   max_fds, (unsigned long long)st.inode_fds);
}

static void test_read_all(struct fc *c)
{
	unsigned good = 0, n = 0;

	for (int d = 0; d < ND; d++)
		for (int s = 0; s < NS; s++)
			for (int f = 0; f < NF; f++, n++) {
				good += reads_as(c, fnode[d][s][f], d, s, f);
				note_fds();
			}
	ok(good == n, "every file read through OPEN/READ by its evicted node id: %u of %u right",
	   good, n);
	ok(max_fds <= BUDGET, "still at most %d inode fds (%d)", BUDGET, max_fds);
}

static void test_getattr_evicted(struct fc *c)
{
	unsigned good = 0;
	uint64_t ino, size;
	char want[64];

	for (int f = 0; f < NF; f++) {
		expected(want, sizeof(want), 0, 0, f);
		good += attr_of(c, fnode[0][0][f], &ino, &size) == 0 && ino == host_ino(0, 0, f) &&
			size == strlen(want);
	}
	ok(good == NF, "GETATTR of %d long evicted files: the host's inode and size (%u right)", NF,
	   good);
	ok(attr_of(c, dnode[0], &ino, &size) == 0 && ino == host_ino(0, -1, -1),
	   "and of an evicted directory");
}

static void test_renames(struct fc *c)
{
	unsigned good = 0;

	is_int(rename_via(c, snode[1][1], "f1", dnode[2], "moved-file", 0), 0,
	       "RENAME a file to another directory");
	is_int(rename_via(c, dnode[3], "s3", dnode[4], "moved-dir", 0), 0,
	       "RENAME a directory of evicted files to another directory");
	is_int(rename_via(c, snode[5][5], "f5", snode[6][6], "f6", RENAME_EXCHANGE), 0,
	       "RENAME2 EXCHANGE two files");
	is_int(rename_via(c, dnode[7], "s7", dnode[8], "s8", RENAME_EXCHANGE), 0,
	       "RENAME2 EXCHANGE two directories");
	ok(attr_of(c, fnode[9][9][8], &(uint64_t){ 0 }, &(uint64_t){ 0 }) == 0,
	   "GETATTR reopens a file");
	is_int(rename_via(c, snode[9][9], "f9", snode[9][9], "f8", 0), 0,
	       "RENAME another file over it");
	flush(c);
	ok(reads_as(c, fnode[1][1][1], 1, 1, 1),
	   "the moved file reads by its node id once evicted");
	for (int f = 0; f < NF; f++)
		good += reads_as(c, fnode[3][3][f], 3, 3, f);
	ok(good == NF, "the moved directory's evicted children read by their node ids (%u of %d)",
	   good, NF);
	ok(reads_as(c, fnode[5][5][5], 5, 5, 5) && reads_as(c, fnode[6][6][6], 6, 6, 6),
	   "each exchanged file is still itself");
	good = 0;
	for (int f = 0; f < NF; f++)
		good +=
		    reads_as(c, fnode[7][7][f], 7, 7, f) && reads_as(c, fnode[8][8][f], 8, 8, f);
	ok(good == NF, "so are the exchanged directories' children (%u of %d)", good, NF);
	ok(reads_as(c, fnode[9][9][9], 9, 9, 9), "the file renamed over another reads");
	ok(reads_as(c, fnode[9][9][8], 9, 9, 8),
	   "the one it replaced stays open though nameless, and reads");
}

static void test_unlinked(struct fc *c)
{
	uint64_t ino, size;

	ok(attr_of(c, fnode[10][0][0], &ino, &size) == 0, "GETATTR reopens a file");
	is_int(fc_named(c, FUSE_UNLINK, snode[10][0], NULL, 0, "f0"), 0, "then it is UNLINKed");
	flush(c);
	ok(attr_of(c, fnode[10][0][0], &ino, &size) == 0 && reads_as(c, fnode[10][0][0], 10, 0, 0),
	   "a nameless inode is never evicted: it still reads");
	is_int(fc_named(c, FUSE_UNLINK, snode[10][0], NULL, 0, "f1"), 0,
	       "UNLINK of an evicted file");
	is_int(attr_of(c, fnode[10][0][1], &ino, &size), -ESTALE, "leaves its node id ESTALE");
}

static void test_hardlink(struct fc *c)
{
	uint8_t a[64];
	char p[512];

	lbx_put_u64le(a, fnode[11][0][0]);
	memcpy(a + 8, "hard", 5);
	is_int(fc_call(c, FUSE_LINK, snode[11][1], a, 13), 0, "LINK a second name");
	remember(fnode[11][0][0]);
	path_of(p, sizeof(p), 11, 0, 0);
	ok(unlink(p) == 0, "the host removes the first name");
	flush(c);
	ok(reads_as(c, fnode[11][0][0], 11, 0, 0), "the inode is reopened by the last name it got");
}

static void test_host_rename(struct fc *c)
{
	char p[512], q[512], buf[128];
	uint64_t ino, size, id;

	path_of(p, sizeof(p), 12, 2, 2);
	snprintf(q, sizeof(q), "%s.moved", p);
	ok(rename(p, q) == 0, "the host renames an evicted file");
	fc_put(p, "IMPOSTOR\n");
	is_int(attr_of(c, fnode[12][2][2], &ino, &size), -ESTALE,
	       "another file at its name: GETATTR of the old node id is ESTALE");
	is_int(read_node(c, fnode[12][2][2], buf, sizeof(buf)), -ESTALE, "OPEN too");
	ok(strcmp(buf, "IMPOSTOR\n"), "the other file's content never comes back");
	ok(lookup(c, snode[12][2], "f2", &id, NULL) == 0 && id != fnode[12][2][2] &&
	       read_node(c, id, buf, sizeof(buf)) == 0 && !strcmp(buf, "IMPOSTOR\n"),
	   "a new LOOKUP gives the new file a new node id");
	ok(unlink(q) == 0, "the host removes a file");
	path_of(p, sizeof(p), 12, 3, 3);
	ok(unlink(p) == 0, "the host removes an evicted file");
	is_int(attr_of(c, fnode[12][3][3], &ino, &size), -ESTALE, "its node id is ESTALE");
}

/*
 * The host removes an evicted file and makes a FIFO at its name; file
 * systems like ext4 give the FIFO the freed inode number. The old node id
 * must not become the FIFO (an OPEN of it would block), nor may a new
 * lookup hand out the old node id for it.
 */
static void test_host_reuse(struct fc *c)
{
	uint64_t ino, size, id = 0, want = host_ino(12, 4, 4);
	uint32_t mode = 0;
	char p[512], buf[128];

	path_of(p, sizeof(p), 12, 4, 4);
	ok(unlink(p) == 0 && mkfifo(p, 0644) == 0, "the host replaces an evicted file by a FIFO");
	if (host_ino(12, 4, 4) != want) {
		tap_skip("this file system gave the FIFO a new inode number");
		return;
	}
	is_int(attr_of(c, fnode[12][4][4], &ino, &size), -ESTALE,
	       "with the same inode number: the old node id is ESTALE");
	if (ino == want && size == 0)
		return; /* do not OPEN a FIFO: it would block */
	is_int(read_node(c, fnode[12][4][4], buf, sizeof(buf)), -ESTALE, "OPEN too");
	ok(lookup(c, snode[12][4], "f4", &id, &mode) == 0 && id != fnode[12][4][4] &&
	       S_ISFIFO(mode),
	   "a new LOOKUP gives the FIFO a new node id");
}

static void test_host_dir_swap(struct fc *c)
{
	char p[512], q[512], buf[128];
	unsigned stale = 0, leaked = 0;
	uint64_t fh, ino, size, id;
	uint32_t mode;

	path_of(p, sizeof(p), 13, 3, -1);
	snprintf(q, sizeof(q), "%s/away", root);
	ok(rename(p, q) == 0 && symlink(outside, p) == 0,
	   "the host moves an evicted directory out of the tree, a symlink to outside in its "
	   "place");
	is_int(attr_of(c, snode[13][3], &ino, &size), -ESTALE, "the directory's node id is ESTALE");
	for (int f = 0; f < NF; f++) {
		int err = read_node(c, fnode[13][3][f], buf, sizeof(buf));

		stale += err == -ESTALE;
		leaked += strstr(buf, "OUTSIDE") != NULL || (err == 0);
	}
	ok(stale == NF && leaked == 0, "its children are ESTALE (%u of %d), none read (%u)", stale,
	   NF, leaked);
	is_int(fc_named(c, FUSE_LOOKUP, snode[13][3], NULL, 0, "f1"), -ESTALE,
	       "LOOKUP under the stale directory: ESTALE");
	is_int(fc_open(c, FUSE_OPENDIR, snode[13][3], O_RDONLY, &fh), -ESTALE, "OPENDIR: ESTALE");
	ok(lookup(c, dnode[13], "s3", &id, &mode) == 0 && S_ISLNK(mode),
	   "a new LOOKUP of the name finds the symlink");
	is_int(fc_named(c, FUSE_LOOKUP, id, NULL, 0, "f1"), -ENOTDIR, "and nothing through it");

	path_of(p, sizeof(p), 14, 4, -1);
	snprintf(q, sizeof(q), "%s.old", p);
	ok(rename(p, q) == 0 && mkdir(p, 0755) == 0,
	   "the host puts a new directory in place of one");
	for (int f = 0; f < NF; f++) {
		path_of(q, sizeof(q), 14, 4, f);
		fc_put(q, "NEW\n");
	}
	stale = 0;
	for (int f = 0; f < NF; f++)
		stale += read_node(c, fnode[14][4][f], buf, sizeof(buf)) == -ESTALE;
	ok(stale == NF, "the old directory's children are ESTALE, not the new files (%u of %d)",
	   stale, NF);
}

struct worker {
	struct fsd *fsd;
	unsigned seed, ops, bad;
};

/* READ, GETATTR, LOOKUP+FORGET at random in d15..d19, from several threads at once. */
static void *work(void *arg)
{
	struct worker *w = arg;
	struct fc c;

	fc_init(&c, w->fsd);
	for (unsigned i = 0; i < w->ops; i++) {
		int d = 15 + rand_r(&w->seed) % 5, s = rand_r(&w->seed) % NS,
		    f = rand_r(&w->seed) % NF;
		uint64_t ino, size, id = 0;
		char name[16];

		switch (rand_r(&w->seed) % 3) {
		case 0: w->bad += !reads_as(&c, fnode[d][s][f], d, s, f); break;
		case 1:
			w->bad += attr_of(&c, fnode[d][s][f], &ino, &size) != 0 ||
				  ino != host_ino(d, s, f);
			break;
		default:
			snprintf(name, sizeof(name), "f%d", f);
			w->bad += fc_lookup(&c, snode[d][s], name, &id, NULL) != 0 ||
				  id != fnode[d][s][f];
			fc_forget(&c, id, 1);
		}
	}
	fc_free(&c);
	return NULL;
}

static void test_threads(struct fsd *fsd)
{
	struct worker w[NTHREADS];
	pthread_t t[NTHREADS];
	struct fsd_stats st;
	unsigned bad = 0;

	for (int i = 0; i < NTHREADS; i++) {
		w[i] = (struct worker){ .fsd = fsd, .seed = 1234u + (unsigned)i, .ops = 3000 };
		pthread_create(&t[i], NULL, work, &w[i]);
	}
	for (int i = 0; i < NTHREADS; i++) {
		pthread_join(t[i], NULL);
		bad += w[i].bad;
	}
	fsd_get_stats(fsd, &st);
	ok(bad == 0, "%d threads, %d random READ/GETATTR/LOOKUP each: all right (%u wrong)",
	   NTHREADS, 3000, bad);
	ok(st.inode_fds <= BUDGET, "afterwards %llu inode fds open",
	   (unsigned long long)st.inode_fds);
}

/*
 * Out of fds although within the budget: a second server with a budget far
 * above an open file limit lowered to 48 more fds. Lookups and reopens
 * close idle inode fds and try again instead of failing with EMFILE.
 */
static void test_emfile(void)
{
	struct rlimit old, low;
	struct fsd_options o;
	struct fsd *fsd;
	unsigned found = 0, good = 0;
	uint64_t id[300];
	char name[16];
	struct fc c;

	fsd_options_default(&o);
	o.max_inode_fds = 100000;
	if (fsd_new(tree, &o, &fsd))
		abort();
	fc_init(&c, fsd);
	fc_init_session(&c);
	getrlimit(RLIMIT_NOFILE, &old);
	low = old;
	low.rlim_cur = (rlim_t)count_fds() + 48;
	setrlimit(RLIMIT_NOFILE, &low);
	for (int i = 0; i < 300; i++) {
		uint64_t d = 0, sub = 0;

		snprintf(name, sizeof(name), "d%02d", 15 + i / 100);
		fc_lookup(&c, FUSE_ROOT_ID, name, &d, NULL);
		snprintf(name, sizeof(name), "s%d", i / NF % NS);
		fc_lookup(&c, d, name, &sub, NULL);
		snprintf(name, sizeof(name), "f%d", i % NF);
		found += fc_lookup(&c, sub, name, &id[i], NULL) == 0;
	}
	for (int i = 0; i < 300; i++)
		good += reads_as(&c, id[i], 15 + i / 100, i / NF % NS, i % NF);
	setrlimit(RLIMIT_NOFILE, &old);
	ok(found == 300, "open file limit of %llu, budget %u: 300 LOOKUPs work (%u)",
	   (unsigned long long)low.rlim_cur, o.max_inode_fds, found);
	ok(good == 300, "and 300 READs by node id after (%u)", good);
	fc_free(&c);
	fsd_free(fsd);
}

static void test_forget(struct fc *c)
{
	struct fsd_stats st;
	uint64_t ino, size;

	for (size_t i = 0; i < nknown; i++)
		fc_forget(c, known[i], 1u << 30);
	fsd_get_stats(c->fsd, &st);
	ok(st.inodes == 1 && st.inode_fds == 0,
	   "FORGET of every node id frees all but the root (%llu inodes, %llu inode fds)",
	   (unsigned long long)st.inodes, (unsigned long long)st.inode_fds);
	is_int(count_fds() - base_fds, 0, "the process is back to the fds it had before");
	is_int(attr_of(c, fnode[0][0][0], &ino, &size), -ESTALE, "a forgotten node id is ESTALE");
}

int main(void)
{
	struct fsd_options o;
	struct fsd *fsd;
	struct fc c;

	make_trees();
	fsd_options_default(&o);
	o.max_inode_fds = BUDGET;
	if (fsd_new(tree, &o, &fsd))
		abort();
	fc_init(&c, fsd);
	is_int(fc_init_session(&c), 0, "INIT");
	base_fds = count_fds();
	test_lookup_all(&c);
	test_read_all(&c);
	test_getattr_evicted(&c);
	test_renames(&c);
	test_unlinked(&c);
	test_hardlink(&c);
	test_host_rename(&c);
	test_host_reuse(&c);
	test_host_dir_swap(&c);
	test_threads(fsd);
	test_emfile();
	ok(max_fds <= BUDGET, "at most %d inode fds were ever open (%d)", BUDGET, max_fds);
	test_forget(&c);
	fc_free(&c);
	fsd_free(fsd);
	free(known);
	nftw(root, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	return tap_done();
}
