/* SPDX-License-Identifier: MIT */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "agent.h"
#include "log.h"

static int report_fd = STDOUT_FILENO;

void agent_report_set_fd(int fd)
{
	report_fd = fd;
}

void agent_report(const char *fmt, ...)
{
	char msg[512], line[2100];
	va_list ap;
	size_t n;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	/*
	 * Start on a fresh line: the command's output may not end with one.
	 * Control bytes are escaped so a report is always exactly one line.
	 */
	n = (size_t)snprintf(line, sizeof(line), "\n@lbx ");
	n += lbx_log_escape(line + n, sizeof(line) - n - 1, msg, strnlen(msg, sizeof(msg)));
	line[n++] = '\n';
	if (write(report_fd, line, n) < 0) {
		/* The console is gone; nothing else can carry the report. */
	}
}
