/* SPDX-License-Identifier: MIT */
/*
 * Host edits reach a /dev/fuse mount at once although names and
 * attributes are cached for 60 s (watch.c): lbx-fsd watches the tree and
 * sends FUSE_NOTIFY_INVAL_ENTRY / INVAL_INODE. Each host change (write in
 * place, an editor's save by rename, rename, delete, chmod, a new file in
 * a listed directory) is made after the mount has cached the old state,
 * and the mount must show the new state within a few seconds (well inside
 * the 60 s it would otherwise keep the old one; the wait is printed, not
 * asserted). The control run, --no-watch with the same 60 s, must still
 * show the old state: that proves the cache was there to invalidate.
 *
 *   test-fsd-watch LBX_FSD
 */
#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <sys/stat.h>
#include <time.h>

#include "../../../tests/unit/tap.h"
#include "fuse_mount.h"

static char base[256], src[300], mnt[300];

static void at(char *out, const char *dir, const char *name)
{
	if (snprintf(out, 600, "%s/%s", dir, name) >= 600)
		abort();
}

static void put(const char *dir, const char *name, const char *text)
{
	char p[600];
	int fd;

	at(p, dir, name);
	fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text))
		abort();
	close(fd);
}

static const char *get(const char *dir, const char *name)
{
	static char buf[256];
	char p[600];
	ssize_t n;
	int fd;

	at(p, dir, name);
	fd = open(p, O_RDONLY);
	if (fd < 0)
		return "<missing>";
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	buf[n > 0 ? n : 0] = '\0';
	return buf;
}

static bool exists(const char *dir, const char *name)
{
	char p[600];
	struct stat st;

	at(p, dir, name);
	return lstat(p, &st) == 0;
}

static mode_t mode_of(const char *dir, const char *name)
{
	char p[600];
	struct stat st;

	at(p, dir, name);
	return lstat(p, &st) == 0 ? st.st_mode & 07777 : 0;
}

static bool listed(const char *dir, const char *name)
{
	char p[600];
	struct dirent *d;
	bool found = false;
	DIR *dd;

	at(p, dir, "d");
	dd = opendir(p);
	while (dd && (d = readdir(dd)))
		found |= !strcmp(d->d_name, name);
	if (dd)
		closedir(dd);
	return found;
}

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* Poll cond for up to wait_polls ms (5 s; 0.5 s in the control run); how long it took, or -1. */
static int wait_polls = 5000;

#define SEEN(cond)                                                                                 \
	({                                                                                         \
		double t0_ = now_ms(), got_ = -1;                                                  \
		for (int i_ = 0; i_ < wait_polls; i_++) {                                          \
			if (cond) {                                                                \
				got_ = now_ms() - t0_;                                             \
				break;                                                             \
			}                                                                          \
			usleep(1000);                                                              \
		}                                                                                  \
		got_;                                                                              \
	})

static void report(const char *what, double ms, bool watch)
{
	if (watch) {
		if (ok(ms >= 0, "%s: seen through the mount", what))
			printf("#   after %.1f ms\n", ms);
	} else {
		ok(ms < 0, "--no-watch: %s is not seen (the 60 s cache holds)", what);
	}
}

/* The old state cached, one host change, then the new state expected. */
static void scenario(bool watch)
{
	char p[600], q[600];
	double ms;

	wait_polls = watch ? 5000 : 500;
	put(src, "inplace", "one");
	put(src, "saved", "old text");
	put(src, "moved", "m");
	put(src, "gone", "g");
	put(src, "perm", "p");
	at(p, src, "d");
	mkdir(p, 0755);
	/* the mount caches every one of them */
	ok(!strcmp(get(mnt, "inplace"), "one") && !strcmp(get(mnt, "saved"), "old text") &&
	       exists(mnt, "moved") && exists(mnt, "gone") && mode_of(mnt, "perm") == 0644 &&
	       !listed(mnt, "new"),
	   "%s: the mount shows the tree", watch ? "watch" : "no-watch");

	put(src, "inplace", "two!");
	ms = SEEN(!strcmp(get(mnt, "inplace"), "two!"));
	report("a write in place (new size and data)", ms, watch);

	put(src, ".saved.swp", "new text, longer");
	at(p, src, ".saved.swp");
	at(q, src, "saved");
	rename(p, q);
	ms = SEEN(!strcmp(get(mnt, "saved"), "new text, longer"));
	report("an editor's save (write a copy, rename it over)", ms, watch);

	at(p, src, "moved");
	at(q, src, "moved-to");
	rename(p, q);
	ms = SEEN(!exists(mnt, "moved") && exists(mnt, "moved-to"));
	report("a rename", ms, watch);

	at(p, src, "gone");
	unlink(p);
	ms = SEEN(!exists(mnt, "gone"));
	report("a delete", ms, watch);

	at(p, src, "perm");
	chmod(p, 0600);
	ms = SEEN(mode_of(mnt, "perm") == 0600);
	report("a chmod", ms, watch);

	/*
	 * Listings: without the watch every opendir reads the host; with it the
	 * guest caches them (FOPEN_CACHE_DIR) and the watch drops them, also
	 * for a second host change within the directory's mtime tick, which
	 * the guest's own mtime check would miss.
	 */
	put(src, "d/new", "n");
	if (watch) {
		ms = SEEN(listed(mnt, "new"));
		ok(ms >= 0,
		   "a new file in a listed directory is listed (the cached listing dropped)");
		put(src, "d/new2", "n");
		ms = SEEN(listed(mnt, "new2"));
		ok(ms >= 0,
		   "and a second one just after it, in the same mtime tick as likely as not");
		at(p, src, "d/new");
		unlink(p);
		ms = SEEN(!listed(mnt, "new"));
		ok(ms >= 0, "a file deleted on the host leaves the cached listing");
	} else {
		ok(listed(mnt, "new"),
		   "a new file in a listed directory is listed (listings are not cached)");
	}
}

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st, (void)flag, (void)ftw;
	remove(p);
	return 0;
}

static void run(const char *bin, bool watch)
{
	const char *on[] = { NULL };
	const char *off[] = { "--no-watch", "--cache-timeout", "60", NULL };
	struct fm fm;
	bool gone;

	snprintf(src, sizeof(src), "%s/%s-src", base, watch ? "watch" : "nowatch");
	snprintf(mnt, sizeof(mnt), "%s/%s-mnt", base, watch ? "watch" : "nowatch");
	mkdir(src, 0755);
	mkdir(mnt, 0755);
	if (!ok(fm_start(&fm, bin, src, mnt, watch ? on : off) == 0, "lbx-fsd%s starts and mounts",
		watch ? "" : " --no-watch"))
		return;
	scenario(watch);
	ok(fm_stop(&fm, &gone) == 0 && gone, "lbx-fsd unmounts and exits 0");
}

int main(int argc, char **argv)
{
	const char *why = argc < 2 ? "usage: test-fsd-watch LBX_FSD" : fm_unusable();

	if (why) {
		printf("1..0 # SKIP %s\n", why);
		return 0;
	}
	snprintf(base, sizeof(base), "/tmp/lbx-fsd-watch.XXXXXX");
	if (!mkdtemp(base) || chmod(base, 0755))
		abort();
	run(argv[1], true);
	run(argv[1], false);
	nftw(base, rm_one, 64, FTW_DEPTH | FTW_PHYS);
	return tap_done();
}
