/* SPDX-License-Identifier: MIT */
/*
 * lbx-own-tree: convert an unpacked image into a box root tree (owntree.h).
 *
 *   lbx-own-tree DIR UID GID
 *
 * lbx runs it after unpacking an image: directly as root, or for an
 * ordinary user inside podman's user namespace (`podman unshare`), where
 * the image's owners are the namespace's ids and UID 0 is the user.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "log.h"
#include "owntree.h"

static int parse_id(const char *s, unsigned *out)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (!s[0] || *end || errno || v >= 0xffffffffUL)
		return -EINVAL;
	*out = (unsigned)v;
	return 0;
}

int main(int argc, char **argv)
{
	struct owntree_stats st;
	unsigned uid, gid;
	char err[4200];

	lbx_log_init("lbx-own-tree");
	if (argc != 4 || parse_id(argv[2], &uid) || parse_id(argv[3], &gid)) {
		fprintf(stderr, "usage: lbx-own-tree DIR UID GID\n");
		return 2;
	}
	if (owntree_convert(argv[1], uid, gid, &st, err, sizeof(err)) < 0) {
		lbx_err("%s", err);
		return 1;
	}
	printf("%lu files, %lu directories, %lu symbolic links, %lu special files\n", st.files,
	       st.dirs, st.links, st.specials);
	return 0;
}
