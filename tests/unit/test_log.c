/* SPDX-License-Identifier: MIT */
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "tap.h"

static size_t capture(int rfd, char *buf, size_t sz)
{
	ssize_t n = read(rfd, buf, sz - 1);

	buf[n > 0 ? n : 0] = '\0';
	return n > 0 ? (size_t)n : 0;
}

int main(void)
{
	char buf[4096], esc[64];
	int p[2];

	if (pipe(p) < 0)
		return 1;
	lbx_log_init("/usr/bin/lbx-test");
	lbx_log_set_fd(p[1]);

	lbx_err("cannot open %s", "box.json");
	capture(p[0], buf, sizeof(buf));
	ok(!strcmp(buf, "lbx-test: error: cannot open box.json\n"), "one line, program name, level");

	lbx_warn("name %s", "evil\n@lbx exit code=0\x1b[2J");
	capture(p[0], buf, sizeof(buf));
	ok(!strcmp(buf, "lbx-test: warning: name evil\\x0a@lbx exit code=0\\x1b[2J\n"),
	   "control bytes escaped: a hostile string cannot forge a line");
	ok(strchr(buf, '\n') == buf + strlen(buf) - 1, "exactly one newline");

	lbx_log_set_level(LBX_LOG_WARN);
	lbx_info("hidden");
	lbx_debug("hidden too");
	lbx_err("shown");
	capture(p[0], buf, sizeof(buf));
	ok(!strcmp(buf, "lbx-test: error: shown\n"), "messages below the level are dropped");

	char longmsg[3000];
	memset(longmsg, 'a', sizeof(longmsg) - 1);
	longmsg[sizeof(longmsg) - 1] = '\0';
	lbx_err("%s", longmsg);
	size_t n = capture(p[0], buf, sizeof(buf));
	ok(n > 100 && n < 1100 && buf[n - 1] == '\n', "long message truncated to one line");

	ok(lbx_log_escape(esc, 8, "abcdefghij", 10) == 7 && !strcmp(esc, "abcdefg"),
	   "escape truncates to the destination");
	ok(lbx_log_escape(esc, 6, "a\x01", 2) == 5 && !strcmp(esc, "a\\x01"),
	   "escape writes whole sequences");
	ok(lbx_log_escape(esc, 5, "a\x01", 2) == 1 && !strcmp(esc, "a"),
	   "escape never writes half a sequence");
	ok(lbx_log_escape(esc, sizeof(esc), "\xc3\xa9", 2) == 8, "non-ASCII escaped");
	return tap_done();
}
