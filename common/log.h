/* SPDX-License-Identifier: MIT */
/*
 * Logging: one line per event on stderr, "prog: level: message".
 *
 * Messages often carry strings that came from a guest (file names, key
 * comments, commands). Control bytes in the formatted message are escaped
 * as \xNN so a hostile name cannot forge log lines or drive a terminal.
 * The level comes from LBX_LOG (error, warn, info, debug; default info).
 */
#ifndef LBX_LOG_H
#define LBX_LOG_H

#include <stdarg.h>
#include <stddef.h>

#include "compiler.h"

enum lbx_log_level {
	LBX_LOG_ERROR,
	LBX_LOG_WARN,
	LBX_LOG_INFO,
	LBX_LOG_DEBUG,
};

void lbx_log_init(const char *prog);
void lbx_log_set_level(enum lbx_log_level level);
enum lbx_log_level lbx_log_get_level(void);
/* Send lines to fd instead of stderr (the guest agent logs to the console). */
void lbx_log_set_fd(int fd);
void lbx_log(enum lbx_log_level level, const char *fmt, ...) LBX_PRINTF(2, 3);
void lbx_vlog(enum lbx_log_level level, const char *fmt, va_list ap) LBX_PRINTF(2, 0);
/*
 * Escape control bytes and non-ASCII of src into dst (always terminated).
 * Returns the length written, excluding the NUL.
 */
size_t lbx_log_escape(char *dst, size_t dstsz, const char *src, size_t srclen);

/*
 * The one way a function tells its caller why it failed: one line into
 * err[0..errsz) (what failed, with ": strerror(e)" appended), returning
 * -e. The caller that knows the box or command prints it once, with
 * lbx_err (README, "Errors").
 */
int lbx_fail(char *err, size_t errsz, int e, const char *fmt, ...) LBX_PRINTF(4, 5);
/*
 * The same for a failure the line says all of (a malformed kernel image,
 * a value out of range): no strerror appended; returns rc as given.
 */
int lbx_fail_msg(char *err, size_t errsz, int rc, const char *fmt, ...) LBX_PRINTF(4, 5);

#define lbx_err(...) lbx_log(LBX_LOG_ERROR, __VA_ARGS__)
#define lbx_warn(...) lbx_log(LBX_LOG_WARN, __VA_ARGS__)
#define lbx_info(...) lbx_log(LBX_LOG_INFO, __VA_ARGS__)
#define lbx_debug(...)                                            \
	do {                                                      \
		if (lbx_log_get_level() >= LBX_LOG_DEBUG)         \
			lbx_log(LBX_LOG_DEBUG, __VA_ARGS__);      \
	} while (0)

#endif
