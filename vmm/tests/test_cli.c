/* SPDX-License-Identifier: MIT */
/* lbx-vmm's command line: accepted forms, defaults, and one-line errors. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "tap.h"

/* getopt wants writable strings; the config points into them until the next parse. */
static char *copies[64];

static void free_copies(void)
{
	for (int i = 0; copies[i]; i++) {
		free(copies[i]);
		copies[i] = NULL;
	}
}

static int parse(struct vmm_config *c, char *err, const char *const *args)
{
	char *argv[64];
	int argc = 0;

	free_copies();
	argv[argc++] = (char *)"lbx-vmm";
	for (int i = 0; *args && argc < 63; args++, i++)
		argv[argc++] = copies[i] = strdup(*args);
	argv[argc] = NULL;
	err[0] = 0;
	return vmm_cli_parse(argc, argv, c, err, 256);
}

#define PARSE(...) parse(&c, err, (const char *const[]){ __VA_ARGS__, NULL })

int main(void)
{
	struct vmm_config c;
	char err[256];

	is_int(PARSE("--kernel", "K"), 0, "--kernel alone is enough");
	ok(c.mem_mib == 256 && c.cpus == 1 && !strcmp(c.console, "stdio") && c.seccomp &&
		   c.protocol == VMM_BOOT_AUTO && !c.rng && c.nvhost == 0,
	   "defaults: 256 MiB, 1 vCPU, stdio, seccomp on, auto boot, no devices");
	is_int(PARSE("--kernel", "K", "--initrd", "I", "--cmdline", "console=ttyS0", "--mem", "512",
		     "--cpus", "4", "--console", "/tmp/log", "--rng", "--virtio-console", "--boot",
		     "pvh", "--vhost-user", "fs,/run/fs.sock,tag=root", "--vhost-user",
		     "vsock,/run/v.sock", "--vhost-user", "blk,/run/b.sock"),
	       0, "every option");
	ok(c.mem_mib == 512 && c.cpus == 4 && !strcmp(c.initrd, "I") && c.rng && c.virtio_console &&
		   c.protocol == VMM_BOOT_PVH && !strcmp(c.console, "/tmp/log"),
	   "values taken");
	ok(c.nvhost == 3 && c.vhost[0].type == VMM_VHOST_FS && !strcmp(c.vhost[0].tag, "root") &&
		   !strcmp(c.vhost[0].socket, "/run/fs.sock") && c.vhost[1].type == VMM_VHOST_VSOCK &&
		   c.vhost[2].type == VMM_VHOST_BLK,
	   "vhost-user devices in order, with the fs tag");
	{
		/* A box with the 16 mounts its lbx.json may list: 20 vhost-user devices. */
		static char specs[20][48];
		const char *args[2 + 2 * 20 + 1] = { "--kernel", "K" };
		int n = 2;

		for (int i = 0; i < 20; i++) {
			snprintf(specs[i], sizeof(specs[i]), i < 4 ? "vsock,/r/%d.sock" : "fs,/r/%d.sock,tag=m%d",
				 i, i);
			args[n++] = "--vhost-user";
			args[n++] = specs[i];
		}
		args[n] = NULL;
		is_int(parse(&c, err, args), 0, "20 vhost-user devices (a box with 16 mounts): %s", err);
		is_int(c.nvhost, 20, "all 20 taken");
	}
	ok(PARSE("--mem", "64") < 0 && strstr(err, "--kernel"), "missing --kernel: %s", err);
	ok(PARSE("--kernel", "K", "--mem", "abc") < 0 && strstr(err, "--mem"), "bad --mem: %s", err);
	ok(PARSE("--kernel", "K", "--mem", "8") < 0, "--mem below 16 MiB refused");
	ok(PARSE("--kernel", "K", "--mem", "-5") < 0, "negative --mem refused");
	ok(PARSE("--kernel", "K", "--cpus", "65") < 0 && strstr(err, "--cpus"), "65 vCPUs refused: %s", err);
	ok(PARSE("--kernel", "K", "--cpus", "0") < 0, "0 vCPUs refused");
	ok(PARSE("--kernel", "K", "--vhost-user", "scsi,/s") < 0 && strstr(err, "type"),
	   "unknown vhost-user type: %s", err);
	ok(PARSE("--kernel", "K", "--vhost-user", "fs,/s") < 0 && strstr(err, "tag"),
	   "fs without a tag: %s", err);
	ok(PARSE("--kernel", "K", "--vhost-user", "net") < 0 && strstr(err, "socket"),
	   "vhost-user without a socket: %s", err);
	ok(PARSE("--kernel", "K", "--vhost-user", "fs,/s,tag=0123456789012345678901234567890123456") < 0,
	   "37-byte tag refused (virtio-fs tags are 36 bytes)");
	ok(PARSE("--kernel", "K", "--vhost-user", "net,/s,tag=x") < 0, "tag only for fs");
	ok(PARSE("--kernel", "K", "--boot", "bios") < 0 && strstr(err, "--boot"), "bad --boot: %s", err);
	ok(PARSE("--kernel", "K", "--frobnicate") < 0 && strstr(err, "--frobnicate"),
	   "unknown option named: %s", err);
	ok(PARSE("--kernel") < 0 && strstr(err, "--kernel"), "option without its argument: %s", err);
	ok(PARSE("--kernel", "K", "extra") < 0 && strstr(err, "extra"), "stray argument: %s", err);
	ok(!strchr(err, '\n'), "errors are one line");
	ok(strstr(vmm_cli_usage(), "--vhost-user") && strstr(vmm_cli_usage(), "--dump-boot-info"),
	   "usage lists the options");
	free_copies();
	return tap_done();
}
