/* SPDX-License-Identifier: MIT */
#include <signal.h>
#include <sys/reboot.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "agent.h"

static void reap_for(long ms)
{
	struct timespec step = { 0, 10 * 1000000L };

	for (long waited = 0; waited < ms; waited += 10) {
		while (waitpid(-1, NULL, WNOHANG) > 0)
			;
		if (kill(-1, 0) < 0)
			return; /* nobody left */
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
	 * reset and the monitor treats the reset as the end of the box
	 * (lbx-vmm stops on the i8042 reset, QEMU runs with -no-reboot).
	 */
	reboot(RB_AUTOBOOT);
	for (;;)
		pause();
}
