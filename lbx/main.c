/* SPDX-License-Identifier: MIT */
/* lbx: boxes for projects. Dispatches to one subcommand per file. */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "doctor.h"
#include "log.h"

struct subcommand {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *help;
};

static const struct subcommand subcommands[] = {
	{ "up", lbx_cmd_up, "start a box (the project's in this directory, or NAME)" },
	{ "enter", lbx_cmd_enter, "open a shell in a running box" },
	{ "exec", lbx_cmd_exec, "run a command in a box and return its exit status" },
	{ "down", lbx_cmd_down, "power a box off and stop its backends" },
	{ "status", lbx_cmd_status, "is a box running, and if not, why it stopped" },
	{ "ls", lbx_cmd_ls, "list boxes" },
	{ "logs", lbx_cmd_logs, "show a box's console and supervisor log" },
	{ "rm", lbx_cmd_rm, "forget a stopped box (never touches the project)" },
	{ "net", lbx_cmd_net, "a box's network policy and counters" },
	{ "build", lbx_cmd_build, "build a box's image (Containerfile or Debian) into its root" },
	{ "allow", lbx_cmd_allow, "approve a box's definition as it is now (or --show it)" },
	{ "doctor", lbx_cmd_doctor, "what this host can do for lbx (KVM, Landlock, podman...)" },
	{ "device", lbx_cmd_device, "host USB devices, the rules that name them, attach/detach" },
};

static void usage(FILE *f)
{
	fprintf(f, "usage: lbx COMMAND [OPTIONS] [NAME] [-- ARGS]\n\ncommands:\n");
	for (size_t i = 0; i < LBX_ARRAY_SIZE(subcommands); i++)
		fprintf(f, "  %-8s %s\n", subcommands[i].name, subcommands[i].help);
	fprintf(f, "\n'lbx COMMAND --help' describes a command; 'man lbx' describes them all.\n"
		   "'lbx --version' prints the version.\n");
}

int main(int argc, char **argv)
{
	lbx_log_init("lbx");
	/* A socket the box closed is an error to handle, not a reason to die. */
	signal(SIGPIPE, SIG_IGN);
	if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	/* Hidden, for tests: the engine's and backends' command lines `up` would run. */
	if (!strcmp(argv[1], "engine-argv"))
		return lbx_cmd_engine_argv(argc - 1, argv + 1);
	if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "-V")) {
		printf("lbx %s\n", LBX_VERSION);
		return 0;
	}
	for (size_t i = 0; i < LBX_ARRAY_SIZE(subcommands); i++)
		if (!strcmp(argv[1], subcommands[i].name))
			return subcommands[i].fn(argc - 1, argv + 1);
	lbx_err("unknown command '%s' (see 'lbx --help')", argv[1]);
	return 2;
}
