/* SPDX-License-Identifier: MIT */
/* The command lines lbx gives QEMU and lbx-vmm for a box, and the agent's part of them. */
#include <string.h>

#include "config.h"
#include "engine_args.h"
#include "supervisor.h"
#include "tap.h"

static const char *find_after(char **argv, const char *flag)
{
	for (size_t i = 0; argv && argv[i]; i++)
		if (!strcmp(argv[i], flag))
			return argv[i + 1];
	return NULL;
}

static int count(char **argv, const char *prefix)
{
	int n = 0;

	for (size_t i = 0; argv && argv[i]; i++)
		n += !strncmp(argv[i], prefix, strlen(prefix));
	return n;
}

int main(void)
{
	struct box_paths paths = { .name = "my-box", .runtime = "/run/user/1000/lbx/my-box",
				   .data = "/home/u/.local/share/lbx/boxes/my-box" };
	struct supervisor_opts o = { .paths = &paths, .engine = ENGINE_QEMU };
	struct box_config c;
	char err[256], **argv;
	const char *cl;

	box_config_defaults(&c, "/home/u/src/my box%1");
	c.cpus = 3;
	c.memory_mib = 768;
	c.mounts[0] = (struct box_mount){ strdup("/data"), strdup("/mnt/da ta"), true };
	c.nmounts = 1;
	c.env[0] = strdup("GREETING=hello world");
	c.nenv = 1;
	c.root_sessions = false;
	o.cfg = &c;

	argv = engine_qemu_argv(&o, "/k/vmlinux", "/r/initrd.cpio", "/d/console.log", err,
				sizeof(err));
	ok(argv != NULL, "qemu command line built");
	ok(argv && !strcmp(argv[0], "qemu-system-x86_64"), "runs qemu-system-x86_64");
	ok(!strcmp(find_after(argv, "-M"), "microvm,acpi=off,isa-serial=on,rtc=on,memory-backend=mem"),
	   "microvm without ACPI");
	ok(!strcmp(find_after(argv, "-global"), "virtio-mmio.force-legacy=false"),
	   "modern virtio-mmio (vhost-user refuses legacy)");
	ok(!strcmp(find_after(argv, "-object"), "memory-backend-memfd,id=mem,size=768M,share=on"),
	   "guest RAM in a shared memfd of the box's size");
	ok(!strcmp(find_after(argv, "-smp"), "3"), "cpus");
	is_int(count(argv, "vhost-user-fs-device"), 3, "one vhost-user-fs device per tree (root, project, mount)");
	is_int(count(argv, "vhost-user-vsock-device"), 1, "a vsock device");
	ok(count(argv, "socket,id=fs2,path=/run/user/1000/lbx/my-box/fs-mount0.sock") == 1,
	   "the extra mount's backend socket is in the runtime directory");
	cl = find_after(argv, "-append");
	ok(cl && strstr(cl, "reboot=t "), "QEMU boxes power off by triple fault: %s", cl ? cl : "");
	ok(cl && strstr(cl, " lbx.mount=project:/home/u/src/my%20box%251"),
	   "the project path is escaped for the agent");
	ok(cl && strstr(cl, " lbx.mount=mount0:/mnt/da%20ta:ro"), "extra mounts, read-only flag");
	ok(cl && strstr(cl, " lbx.env=GREETING=hello%20world"), "environment");
	ok(cl && strstr(cl, " lbx.root=0") && strstr(cl, " lbx.serve=1024 lbx.notify=1025"),
	   "root sessions denied; exec and ready ports");
	ok(cl && !strstr(cl, "lbx.ssh="), "no SSH agent without an ssh section");
	ok(cl && strstr(cl, "lbx.hostname=my-box"), "hostname is the box name");
	ok(cl && strstr(cl, " lbx.rootfs=root"), "the root tree is virtio-fs 'root'");
	ok(cl && strstr(cl, " lbx.net=10.0.2.15/24,10.0.2.2,10.0.2.3"), "eth0 with slirp's addresses");
	ok(!strcmp(find_after(argv, "-netdev"), "vhost-user,id=n0,chardev=net0") &&
		   count(argv, "socket,id=net0,path=/run/user/1000/lbx/my-box/net-vu.sock") == 1,
	   "virtio-net through lbx-netd's socket");
	engine_argv_free(argv);

	o.engine = ENGINE_VM;
	argv = engine_vm_argv(&o, "/b/lbx-vmm", "/k/vmlinux", "/r/initrd.cpio", "/d/console.log",
			      err, sizeof(err));
	ok(argv && !strcmp(argv[0], "/b/lbx-vmm"), "vm runs lbx-vmm");
	ok(!strcmp(find_after(argv, "--mem"), "768") && !strcmp(find_after(argv, "--cpus"), "3"),
	   "memory and cpus");
	ok(!strcmp(find_after(argv, "--vhost-user"), "vsock,/run/user/1000/lbx/my-box/vsock-vu.sock"),
	   "vsock through the same lbx-vsockd socket");
	is_int(count(argv, "fs,"), 3, "every tree as a vhost-user fs device");
	ok(count(argv, "fs,/run/user/1000/lbx/my-box/fs-project.sock,tag=project") == 1,
	   "the project tree with its tag");
	cl = find_after(argv, "--cmdline");
	ok(cl && strstr(cl, "reboot=k "), "lbx-vmm ends on the i8042 reset: reboot=k");
	ok(count(argv, "net,/run/user/1000/lbx/my-box/net-vu.sock") == 1, "vm: the same lbx-netd");
	engine_argv_free(argv);

	c.net_none = true;
	o.engine = ENGINE_QEMU;
	argv = engine_qemu_argv(&o, "/k/vmlinux", "/r/initrd.cpio", "/d/console.log", err,
				sizeof(err));
	cl = find_after(argv, "-append");
	ok(!find_after(argv, "-netdev") && cl && !strstr(cl, "lbx.net="),
	   "mode none: no network device and nothing for eth0");
	engine_argv_free(argv);
	box_config_free(&c);
	return tap_done();
}
