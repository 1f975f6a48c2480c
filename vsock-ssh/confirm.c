/* SPDX-License-Identifier: MIT */
#include "confirm.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/pidfd.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

struct sshp_confirm {
	struct lbx_loop *loop;
	pid_t pid;
	int pidfd;
	int outfd;
	int timerfd;
	sshp_confirm_fn fn;
	void *ctx;
};

/* The proxy's environment with SSH_ASKPASS_PROMPT=confirm. */
static char **confirm_env(void)
{
	size_t n = 0, o = 0;
	char **env;

	while (environ[n])
		n++;
	env = calloc(n + 2, sizeof(*env));
	if (!env)
		return NULL;
	for (size_t i = 0; i < n; i++)
		if (strncmp(environ[i], "SSH_ASKPASS_PROMPT=", 19) != 0)
			env[o++] = environ[i];
	env[o] = "SSH_ASKPASS_PROMPT=confirm";
	return env;
}

static int spawn(const char *askpass, const char *prompt, int outfd, pid_t *pid)
{
	char *argv[] = { (char *)askpass, (char *)prompt, NULL };
	posix_spawn_file_actions_t fa;
	char **env = confirm_env();
	int err;

	if (!env)
		return -ENOMEM;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, outfd, STDOUT_FILENO);
	err = posix_spawn(pid, askpass, &fa, NULL, argv, env);
	posix_spawn_file_actions_destroy(&fa);
	free(env);
	return -err;
}

static void release(struct sshp_confirm *c, bool kill_it)
{
	int status;

	/* pid is -1 once reaped; never pass that to kill() or waitpid(). */
	if (c->pid > 0) {
		if (kill_it)
			kill(c->pid, SIGKILL);
		waitpid(c->pid, &status, 0);
	}
	lbx_loop_del(c->loop, c->pidfd);
	lbx_loop_del(c->loop, c->timerfd);
	close(c->pidfd);
	close(c->outfd);
	free(c);
}

/* OpenSSH's rule (ssh-agent confirm_key): empty output or "yes" confirms. */
static bool said_yes(int fd)
{
	char buf[256];
	ssize_t n = read(fd, buf, sizeof(buf) - 1);

	if (n < 0)
		n = 0;
	buf[n] = '\0';
	buf[strcspn(buf, "\r\n")] = '\0';
	return buf[0] == '\0' || strcasecmp(buf, "yes") == 0;
}

static void finish(struct sshp_confirm *c, bool allowed, const char *why, bool kill_it)
{
	sshp_confirm_fn fn = c->fn;
	void *ctx = c->ctx;

	release(c, kill_it);
	fn(ctx, allowed, why);
}

static void on_exit_event(struct lbx_loop *loop, int fd, uint32_t events, void *data)
{
	struct sshp_confirm *c = data;
	int status = 0;
	pid_t r = waitpid(c->pid, &status, WNOHANG);
	bool yes;

	if (r == 0)
		return;
	if (r < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		/* Reaped already: release() must not wait for it again. */
		c->pid = -1;
		finish(c, false, "askpass said no", false);
		return;
	}
	yes = said_yes(c->outfd);
	c->pid = -1;
	finish(c, yes, yes ? "confirmed" : "askpass said no", false);
}

static void on_timeout(struct lbx_loop *loop, int fd, uint32_t events, void *data)
{
	finish(data, false, "askpass did not answer in time", true);
}

static int watch(struct sshp_confirm *c, unsigned timeout_s)
{
	int err = lbx_loop_add(c->loop, c->pidfd, EPOLLIN, on_exit_event, c);

	if (err)
		return err;
	c->timerfd = lbx_loop_add_timer(c->loop, (uint64_t)timeout_s * 1000, false, on_timeout, c);
	if (c->timerfd < 0) {
		lbx_loop_del(c->loop, c->pidfd);
		return c->timerfd;
	}
	return 0;
}

int sshp_confirm_start(struct lbx_loop *loop, const char *askpass, const char *prompt,
		       unsigned timeout_s, sshp_confirm_fn fn, void *ctx, struct sshp_confirm **out)
{
	struct sshp_confirm *c = calloc(1, sizeof(*c));
	int pipefd[2] = { -1, -1 }, err;

	if (!c)
		return -ENOMEM;
	*c = (struct sshp_confirm){ .loop = loop,
				    .pid = -1,
				    .pidfd = -1,
				    .outfd = -1,
				    .timerfd = -1,
				    .fn = fn,
				    .ctx = ctx };
	if (pipe2(pipefd, O_CLOEXEC) < 0) {
		free(c);
		return -errno;
	}
	c->outfd = pipefd[0];
	fcntl(c->outfd, F_SETFL, O_NONBLOCK);
	err = spawn(askpass, prompt, pipefd[1], &c->pid);
	close(pipefd[1]);
	if (!err) {
		c->pidfd = pidfd_open(c->pid, 0);
		err = c->pidfd < 0 ? -errno : watch(c, timeout_s);
	}
	if (err) {
		if (c->pid > 0) {
			kill(c->pid, SIGKILL);
			waitpid(c->pid, NULL, 0);
		}
		if (c->pidfd >= 0)
			close(c->pidfd);
		close(c->outfd);
		free(c);
		return err;
	}
	*out = c;
	return 0;
}

void sshp_confirm_cancel(struct sshp_confirm *c)
{
	if (c)
		release(c, true);
}
