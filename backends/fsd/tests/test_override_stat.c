/* SPDX-License-Identifier: MIT */
/*
 * common/override_stat.c, the one codec of the ownership records that
 * lbx-own-tree writes and lbx-fsd --ownership xattr reads and writes: the
 * override_stat value and a directory's per-name records.
 */
#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "override_stat.h"
#include "tap.h"

static void test_value(void)
{
	struct lbx_override ov;
	char buf[LBX_OVERRIDE_VALUE_MAX];

	ok(lbx_override_parse("0:5:0620:char-136-0", 19, &ov) == 0 && ov.gid == 5 &&
	       ov.mode == (S_IFCHR | 0620) && ov.rdev == makedev(136, 0),
	   "a device stand-in parses");
	ok(lbx_override_parse("1:2:0100755", 11, &ov) == 0 && ov.mode == 0755,
	   "a whole st_mode gives its permission bits only");
	ok(lbx_override_parse("1:2:0755:pipe", 13, &ov) == 0 && ov.mode == (S_IFIFO | 0755),
	   "pipe");
	is_int(lbx_override_parse("1:2", 3, &ov), -EINVAL, "no mode: EINVAL");
	is_int(lbx_override_parse("1:2:0755:", 9, &ov), -EINVAL, "an empty TYPE: EINVAL");
	is_int(lbx_override_parse("1:2:0755x", 9, &ov), -EINVAL, "trailing bytes: EINVAL");
	is_int(lbx_override_parse("4294967296:0:0", 14, &ov), -EINVAL, "a uid past 32 bits");
	is_int(lbx_override_parse("0:0:0755", 4, &ov), -EINVAL, "a value cut before its mode");
	ov = (struct lbx_override){ 7, 8, S_IFSOCK | 01777, 0 };
	ok(lbx_override_format(&ov, buf, sizeof(buf)) > 0 && !strcmp(buf, "7:8:01777:socket"),
	   "format: %s", buf);
	is_int(lbx_override_format(&ov, buf, 6), -ENOSPC, "a short buffer: ENOSPC");
}

static void test_names(void)
{
	struct lbx_override a = { 1, 2, 0640, 0 }, b = { 3, 4, 04755, 0 }, got;
	char v[256];
	int n;

	n = lbx_override_names_set(v, 0, sizeof(v), "fifo", &a);
	ok(n == 14 && !memcmp(v,
			      "fifo\0"
			      "1:2:0640\0",
			      14),
	   "one record: NAME NUL VALUE NUL");
	n = lbx_override_names_set(v, (size_t)n, sizeof(v), "link", &b);
	ok(n > 14 && lbx_override_names_find(v, (size_t)n, "link", &got) == 0 && got.uid == 3 &&
	       got.mode == 04755,
	   "a second record, found with its set-uid bit");
	ok(lbx_override_names_find(v, (size_t)n, "fifo", &got) == 0 && got.gid == 2,
	   "the first is still there");
	is_int(lbx_override_names_find(v, (size_t)n, "fif", &got), -ENOENT,
	       "a prefix is not a name");
	n = lbx_override_names_set(v, (size_t)n, sizeof(v), "fifo", &b);
	ok(lbx_override_names_find(v, (size_t)n, "fifo", &got) == 0 && got.uid == 3,
	   "set again: replaced, not added");
	n = lbx_override_names_set(v, (size_t)n, sizeof(v), "fifo", NULL);
	ok(n > 0 && lbx_override_names_find(v, (size_t)n, "fifo", &got) == -ENOENT &&
	       lbx_override_names_find(v, (size_t)n, "link", &got) == 0,
	   "removed: the other stays");
	is_int(lbx_override_names_set(v, (size_t)n, (size_t)n + 4, "longer-name", &a), -ENOSPC,
	       "past the room: ENOSPC");
	is_int(lbx_override_names_set(v, (size_t)n, sizeof(v), "a/b", &a), -EINVAL,
	       "a name with a slash: EINVAL");
	memcpy(v,
	       "x\0"
	       "1:2",
	       5);
	is_int(lbx_override_names_find(v, 5, "x", &got), -EINVAL, "a record cut short: EINVAL");
	memcpy(v,
	       "\0"
	       "1:2:0\0",
	       7);
	is_int(lbx_override_names_find(v, 7, "x", &got), -EINVAL, "an empty name: EINVAL");
	memcpy(v,
	       "x\0"
	       "1:2:0\0",
	       8);
	is_int(lbx_override_names_set(v, 8, sizeof(v), "x", NULL), 0,
	       "the last record removed: empty");
}

int main(void)
{
	test_value();
	test_names();
	return tap_done();
}
