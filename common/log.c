/* SPDX-License-Identifier: MIT */
#include "log.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *log_prog = "lbx";
static enum lbx_log_level log_level = LBX_LOG_INFO;
static int log_fd = STDERR_FILENO;

static const char *const level_names[] = {
	[LBX_LOG_ERROR] = "error",
	[LBX_LOG_WARN] = "warning",
	[LBX_LOG_INFO] = "info",
	[LBX_LOG_DEBUG] = "debug",
};

void lbx_log_init(const char *prog)
{
	const char *env = getenv("LBX_LOG");
	const char *slash = strrchr(prog, '/');

	log_prog = slash ? slash + 1 : prog;
	if (!env)
		return;
	if (!strcmp(env, "error"))
		log_level = LBX_LOG_ERROR;
	else if (!strcmp(env, "warn") || !strcmp(env, "warning"))
		log_level = LBX_LOG_WARN;
	else if (!strcmp(env, "info"))
		log_level = LBX_LOG_INFO;
	else if (!strcmp(env, "debug"))
		log_level = LBX_LOG_DEBUG;
}

void lbx_log_set_level(enum lbx_log_level level)
{
	log_level = level;
}

enum lbx_log_level lbx_log_get_level(void)
{
	return log_level;
}

void lbx_log_set_fd(int fd)
{
	log_fd = fd;
}

size_t lbx_log_escape(char *dst, size_t dstsz, const char *src, size_t srclen)
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0;

	if (dstsz == 0)
		return 0;
	for (size_t i = 0; i < srclen; i++) {
		unsigned char c = (unsigned char)src[i];

		if (c >= 0x20 && c < 0x7f) {
			if (o + 1 >= dstsz)
				break;
			dst[o++] = (char)c;
		} else {
			if (o + 4 >= dstsz)
				break;
			dst[o++] = '\\';
			dst[o++] = 'x';
			dst[o++] = hex[c >> 4];
			dst[o++] = hex[c & 15];
		}
	}
	dst[o] = '\0';
	return o;
}

void lbx_vlog(enum lbx_log_level level, const char *fmt, va_list ap)
{
	char msg[1024], line[4200];
	int saved = errno, n, head;

	if (level > log_level)
		return;
	n = vsnprintf(msg, sizeof(msg), fmt, ap);
	if (n < 0)
		n = 0;
	if ((size_t)n >= sizeof(msg))
		n = sizeof(msg) - 1;
	head = snprintf(line, sizeof(line), "%s: %s: ", log_prog,
			level_names[level <= LBX_LOG_DEBUG ? level : LBX_LOG_DEBUG]);
	head += (int)lbx_log_escape(line + head, sizeof(line) - (size_t)head - 1, msg, (size_t)n);
	line[head++] = '\n';
	/* One write per line so concurrent writers do not interleave. */
	if (write(log_fd, line, (size_t)head) < 0) {
		/* Nowhere left to report it. */
	}
	errno = saved;
}

void lbx_log(enum lbx_log_level level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	lbx_vlog(level, fmt, ap);
	va_end(ap);
}

int lbx_fail(char *err, size_t errsz, int e, const char *fmt, ...)
{
	char what[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	snprintf(err, errsz, "%s: %s", what, strerror(e));
	return -e;
}

int lbx_fail_msg(char *err, size_t errsz, int rc, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errsz, fmt, ap);
	va_end(ap);
	return rc;
}
