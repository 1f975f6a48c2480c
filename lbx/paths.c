/* SPDX-License-Identifier: MIT */
/* Where a box's files live (ARCHITECTURE.md "Files and state"). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

int lbx_valid_box_name(const char *name)
{
	size_t n = strlen(name);

	if (n == 0 || n > 63 || name[0] == '.' || name[0] == '-')
		return 0;
	for (size_t i = 0; i < n; i++) {
		char c = name[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '_' || c == '-'))
			return 0;
	}
	return 1;
}

int lbx_runtime_path(const char *name, const char *file, char *buf, size_t sz)
{
	const char *rt = getenv("XDG_RUNTIME_DIR");
	int n;

	if (!lbx_valid_box_name(name))
		return -EINVAL;
	if (rt && rt[0] == '/')
		n = snprintf(buf, sz, "%s/lbx/%s/%s", rt, name, file);
	else
		n = snprintf(buf, sz, "/tmp/lbx-%u/%s/%s", (unsigned)getuid(), name, file);
	return n < 0 || (size_t)n >= sz ? -ENAMETOOLONG : 0;
}
