/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <signal.h>
#include <sys/reboot.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "agent.h"

/*
 * Reap until no child is left or ms have passed. PID 1 inherits every
 * orphan, so ECHILD means no user process remains. (kill(-1, 0) cannot
 * tell: it counts kernel threads too.)
 */
static void reap_for(long ms)
{
	struct timespec step = { 0, 5 * 1000000L };

	for (long waited = 0; waited < ms; waited += 5) {
		pid_t pid;

		while ((pid = waitpid(-1, NULL, WNOHANG)) > 0)
			;
		if (pid < 0 && errno == ECHILD)
			return;
		nanosleep(&step, NULL);
	}
}

void agent_poweroff(void)
{
	kill(-1, SIGTERM);
	reap_for(500);
	kill(-1, SIGKILL);
	reap_for(500);
	sync();
	agent_report("poweroff");
	/*
	 * Without ACPI there is no power-off device: the agent asks for a
	 * reset and the monitor treats the reset as the end of the box.
	 * QEMU's microvm has no i8042, so boxes there boot with reboot=t (a
	 * triple fault, which -no-reboot turns into exit); reboot=k makes the
	 * kernel try the keyboard controller for about a second first.
	 */
	reboot(RB_AUTOBOOT);
	for (;;)
		pause();
}
