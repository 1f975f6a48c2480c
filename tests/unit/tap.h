/* SPDX-License-Identifier: MIT */
/* Minimal TAP producer for lbx unit tests (meson runs them with protocol tap). */
#ifndef LBX_TAP_H
#define LBX_TAP_H

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

static int tap_count, tap_failures;

__attribute__((format(printf, 4, 5))) static int tap_check(int pass, const char *file, int line,
							     const char *fmt, ...)
{
	char desc[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(desc, sizeof(desc), fmt, ap);
	va_end(ap);
	/* A description is one line: newlines from captured output would break TAP. */
	printf("%s %d - ", pass ? "ok" : "not ok", ++tap_count);
	for (const char *c = desc; *c; c++) {
		if (*c == '\n')
			fputs("\\n", stdout);
		else
			putchar(*c);
	}
	printf("\n");
	if (!pass) {
		printf("# failed at %s:%d\n", file, line);
		tap_failures++;
	}
	fflush(stdout);
	return pass;
}

#define ok(cond, ...) tap_check(!!(cond), __FILE__, __LINE__, __VA_ARGS__)
#define is_int(got, want, ...)                                                        \
	do {                                                                          \
		long long g_ = (long long)(got), w_ = (long long)(want);              \
		if (!ok(g_ == w_, __VA_ARGS__))                                       \
			printf("#   got %lld, want %lld\n", g_, w_);                  \
	} while (0)

__attribute__((unused)) static void tap_skip(const char *why)
{
	printf("ok %d # SKIP %s\n", ++tap_count, why);
}

static int tap_done(void)
{
	printf("1..%d\n", tap_count);
	return tap_failures ? 1 : 0;
}

#endif
