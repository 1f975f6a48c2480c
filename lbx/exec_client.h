/* SPDX-License-Identifier: MIT */
/*
 * The host side of an exec session (common/exec_proto.h): send EXEC,
 * stream stdin from one fd and stdout/stderr to others, forward window
 * size changes, and return how the command ended.
 */
#ifndef LBX_EXEC_CLIENT_H
#define LBX_EXEC_CLIENT_H

#include <stdbool.h>
#include <stdint.h>

struct lbx_exec_opts {
	char *const *argv;
	char *const *env; /* extra "K=V" entries, may be NULL */
	const char *cwd;  /* NULL: the agent's default (the user's home) */
	bool tty;
	bool root;
	uint16_t rows, cols;
	int in_fd;	  /* -1: no stdin (EOF at once) */
	int out_fd, err_fd;
	/* When >= 0, readable means "window size changed": send RESIZE with tty_fd's size. */
	int winch_fd;
	int tty_fd;
	/* When >= 0, a pending signal number (int) to forward is read from it. */
	int signal_fd;
};

struct lbx_exec_result {
	bool exited;	    /* EXITED received */
	bool signaled;	    /* the command was killed by signal (status = signal) */
	int status;	    /* exit code or signal number */
	uint32_t pid;	    /* in the guest, from STARTED (0 if never started) */
	char error[512];    /* ERROR text from the agent, or a local error */
};

/*
 * Run one session over the connected stream fd (blocks until the session
 * ends; fd is switched to non-blocking and polled). Returns 0 when the session ended with
 * EXITED, -errno otherwise (result->error says why).
 */
int lbx_exec_run(int fd, const struct lbx_exec_opts *opts, struct lbx_exec_result *result);
/* The shell convention: code, or 128 + signal. */
int lbx_exec_exit_code(const struct lbx_exec_result *result);

#endif
