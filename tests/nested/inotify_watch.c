/* SPDX-License-Identifier: MIT */
/*
 * A file watcher for the nested layer's guest (the busybox image has no
 * inotifyd): inotify on one directory, as an editor, vite or cargo-watch
 * would watch a project. It prints "ready", then one line per event:
 *
 *   EVENT NAME [CONTENT]
 *
 * where EVENT is MODIFY, CLOSE_WRITE, ATTRIB, CREATE, DELETE, MOVED_FROM
 * or MOVED_TO and CONTENT the first line of the file as the guest reads it
 * at once (a watcher that rebuilds reads what changed), or "-" when it is
 * gone. It stops after SECONDS without an event.
 *
 *   lbx-test-inotify DIR SECONDS
 *
 * Static, so it runs in any guest image.
 */
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <unistd.h>

static const struct {
	uint32_t mask;
	const char *name;
} names[] = {
	{ IN_MODIFY, "MODIFY" },     { IN_CLOSE_WRITE, "CLOSE_WRITE" },
	{ IN_ATTRIB, "ATTRIB" },     { IN_CREATE, "CREATE" },
	{ IN_DELETE, "DELETE" },     { IN_MOVED_FROM, "MOVED_FROM" },
	{ IN_MOVED_TO, "MOVED_TO" },
};

/* The first line of dir/name as read now, or "-". */
static void first_line(int dir, const char *name, char *out, size_t cap)
{
	int fd = openat(dir, name, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	ssize_t n = fd >= 0 ? read(fd, out, cap - 1) : -1;

	if (fd >= 0)
		close(fd);
	if (n <= 0) {
		snprintf(out, cap, "-");
		return;
	}
	out[n] = 0;
	out[strcspn(out, "\n")] = 0;
}

static void report(int dir, const struct inotify_event *ev)
{
	char content[128];

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (!(ev->mask & names[i].mask) || !ev->len)
			continue;
		first_line(dir, ev->name, content, sizeof(content));
		printf("%s %s %s\n", names[i].name, ev->name, content);
	}
	fflush(stdout);
}

int main(int argc, char **argv)
{
	char buf[8192] __attribute__((aligned(8)));
	int fd, dir, secs;

	if (argc != 3 || (secs = atoi(argv[2])) <= 0) {
		fprintf(stderr, "usage: lbx-test-inotify DIR SECONDS\n");
		return 2;
	}
	fd = inotify_init1(IN_CLOEXEC);
	dir = open(argv[1], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || dir < 0 ||
	    inotify_add_watch(fd, argv[1],
			      IN_MODIFY | IN_CLOSE_WRITE | IN_ATTRIB | IN_CREATE | IN_DELETE |
				  IN_MOVED_FROM | IN_MOVED_TO) < 0) {
		perror("lbx-test-inotify");
		return 1;
	}
	printf("ready\n");
	fflush(stdout);
	for (;;) {
		struct pollfd p = { fd, POLLIN, 0 };
		ssize_t n;

		if (poll(&p, 1, secs * 1000) <= 0)
			return 0;
		n = read(fd, buf, sizeof(buf));
		if (n <= 0)
			return 1;
		for (char *q = buf; q < buf + n;) {
			const struct inotify_event *ev = (const struct inotify_event *)q;

			report(dir, ev);
			q += sizeof(*ev) + ev->len;
		}
	}
}
