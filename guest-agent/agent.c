/* SPDX-License-Identifier: MIT */
/*
 * lbx-agent: the guest's init. This first version mounts the basics, sets
 * the hostname, reports readiness, runs the command from the kernel
 * command line, reports its exit status and powers the box off.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "agent.h"
#include "log.h"

static void fatal(const char *msg) __attribute__((noreturn));
static void fatal(const char *msg)
{
	agent_report("error %s", msg);
	agent_poweroff();
}

/* stdin, stdout and stderr on the console; the kernel may not have opened it. */
static void open_console(void)
{
	int fd = open("/dev/console", O_RDWR | O_NOCTTY | O_CLOEXEC);

	if (fd < 0)
		return;
	for (int i = 0; i < 3; i++)
		dup2(fd, i);
	if (fd > 2)
		close(fd);
}

static char *read_cmdline(size_t *len)
{
	static char buf[16384];
	int fd = open("/proc/cmdline", O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return NULL;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n < 0)
		return NULL;
	*len = (size_t)n;
	buf[n] = '\0';
	return buf;
}

static unsigned long uptime_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_BOOTTIME, &ts);
	return (unsigned long)ts.tv_sec * 1000UL + (unsigned long)ts.tv_nsec / 1000000UL;
}

int main(int argc, char **argv)
{
	struct agent_config cfg;
	char err[256];
	size_t len = 0;
	char *cmdline;
	pid_t pid;
	int status;

	(void)argc;
	lbx_log_init(argv[0]);
	if (getpid() != 1) {
		fprintf(stderr, "lbx-agent: must run as PID 1 of a box (it mounts, "
				"and powers the machine off when done)\n");
		return 2;
	}
	if (agent_mount_basics(err, sizeof(err)) < 0) {
		open_console();
		fatal(err);
	}
	open_console();
	cmdline = read_cmdline(&len);
	if (!cmdline)
		fatal("cannot read /proc/cmdline");
	if (agent_cmdline_parse(cmdline, len, &cfg, err, sizeof(err)) < 0)
		fatal(err);
	if (sethostname(cfg.hostname, strlen(cfg.hostname)) < 0)
		lbx_warn("sethostname %s: %s", cfg.hostname, strerror(errno));
	agent_report("ready uptime_ms=%lu", uptime_ms());
	if (cfg.argc == 0)
		fatal("no command: give one with lbx.argv= on the kernel command line");

	pid = agent_run_start(&cfg);
	if (pid < 0) {
		snprintf(err, sizeof(err), "cannot start %s: %s", cfg.argv[0], strerror(-pid));
		fatal(err);
	}
	status = agent_run_wait(pid);
	if (status < 0)
		agent_report("error waiting for the command: %s", strerror(-status));
	else if (WIFEXITED(status))
		agent_report("exit code=%d", WEXITSTATUS(status));
	else
		agent_report("exit signal=%d", WTERMSIG(status));
	agent_config_free(&cfg);
	agent_poweroff();
}
