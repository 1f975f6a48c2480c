/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agent.h"
#include "log.h"

static const char *const default_env[] = {
	"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
	"HOME=/root",
	"TERM=linux",
	"USER=root",
	"LOGNAME=root",
};

/* Default environment, with lbx.env entries replacing or adding. */
static char **build_env(const struct agent_config *cfg)
{
	size_t n = LBX_ARRAY_SIZE(default_env) + (size_t)cfg->envc, o = 0;
	char **env = calloc(n + 1, sizeof(*env));

	if (!env)
		return NULL;
	for (size_t i = 0; i < LBX_ARRAY_SIZE(default_env); i++) {
		size_t klen = (size_t)(strchr(default_env[i], '=') - default_env[i]) + 1;
		bool overridden = false;

		for (int j = 0; j < cfg->envc; j++)
			if (!strncmp(cfg->env[j], default_env[i], klen))
				overridden = true;
		if (!overridden)
			env[o++] = (char *)default_env[i];
	}
	for (int j = 0; j < cfg->envc; j++)
		env[o++] = cfg->env[j];
	return env;
}

/* In the child: never returns. Exit status 126/127 as a shell would. */
static void child_exec(const struct agent_config *cfg) __attribute__((noreturn));
static void child_exec(const struct agent_config *cfg)
{
	char **env = build_env(cfg);
	sigset_t none;

	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	setsid();
	if (cfg->tty && ioctl(STDIN_FILENO, TIOCSCTTY, 1) < 0)
		lbx_warn("cannot make the console the controlling terminal: %s",
			 strerror(errno));
	if (chdir(cfg->cwd ? cfg->cwd : "/") < 0) {
		lbx_err("chdir %s: %s", cfg->cwd, strerror(errno));
		_exit(126);
	}
	if (!env)
		_exit(126);
	/* PATH search uses the command's PATH, not the agent's. */
	for (char **e = env; *e; e++)
		if (!strncmp(*e, "PATH=", 5))
			setenv("PATH", *e + 5, 1);
	execvpe(cfg->argv[0], cfg->argv, env);
	lbx_err("cannot run %s: %s", cfg->argv[0], strerror(errno));
	_exit(errno == ENOENT ? 127 : 126);
}

pid_t agent_run_start(const struct agent_config *cfg)
{
	pid_t pid;

	if (cfg->argc == 0)
		return -EINVAL;
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0)
		child_exec(cfg);
	return pid;
}

int agent_run_wait(pid_t pid)
{
	for (;;) {
		int status;
		pid_t got = waitpid(-1, &status, 0);

		if (got < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		/* Orphans re-parented to PID 1 are reaped here too. */
		if (got == pid)
			return status;
	}
}
