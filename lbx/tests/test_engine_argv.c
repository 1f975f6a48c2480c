/* SPDX-License-Identifier: MIT */
/* The command lines lbx gives QEMU and lbx-vmm for a box, and the agent's part of them. */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "arch.h"
#include "assets.h"
#include "config.h"
#include "engine.h"
#include "engine_args.h"
#include "manifest.h"
#include "supervisor.h"
#include "tap.h"

static const char *find_after(char **argv, const char *flag)
{
	for (size_t i = 0; argv && argv[i]; i++)
		if (!strcmp(argv[i], flag))
			return argv[i + 1];
	return NULL;
}

static int count_with(char **argv, const char *needle)
{
	int n = 0;

	for (size_t i = 0; argv && argv[i]; i++)
		n += strstr(argv[i], needle) != NULL;
	return n;
}

static int count(char **argv, const char *prefix)
{
	int n = 0;

	for (size_t i = 0; argv && argv[i]; i++)
		n += !strncmp(argv[i], prefix, strlen(prefix));
	return n;
}

/* Whether every word of the manifest's agent parameters is in argv (or, cl, one string). */
static bool has_agent_words(const struct box_manifest *m, char **argv, const char *cl)
{
	for (unsigned i = 0; i < m->nagent; i++) {
		bool found = false;

		for (size_t j = 0; argv && argv[j]; j++)
			found |= !strcmp(argv[j], m->agent[i]);
		if (cl) {
			const char *at = strstr(cl, m->agent[i]);
			size_t n = strlen(m->agent[i]);

			found = at && at[-1] == ' ' && (at[n] == ' ' || at[n] == '\0');
		}
		if (!found)
			return false;
	}
	return true;
}

/* A box with every kind of device, against the argv of each engine. */
/* lbx-usbipd's command line exports the simulated device. */
static bool usb_sim_argv(const struct mf_device *d)
{
	struct argv_buf b = { 0 };
	char err[256], **argv;
	bool found;

	manifest_backend_argv(d, "/exe", &b);
	argv = argv_finish(&b, NULL, err, sizeof(err));
	found = argv && ((find_after(argv, "--sim") && !strcmp(find_after(argv, "--sim"), "cdc-acm") &&
			  find_after(argv, "--rules")) ||
			 (find_after(argv, "--tty") && !strcmp(find_after(argv, "--tty"), "/dev/ttyS9") &&
			  !find_after(argv, "--rules")));
	engine_argv_free(argv);
	return found;
}

static void every_device(struct box_config *c, const struct box_paths *paths)
{
	static const enum box_engine engines[] = { ENGINE_QEMU, ENGINE_VM, ENGINE_LIGHT };
	char err[256];

	setenv("SSH_AUTH_SOCK", "/tmp/agent.sock", 1);
	setenv("WAYLAND_DISPLAY", "/tmp/wayland-0", 1);
	c->ssh_policy = strdup("{}");
	/* A simulated USB device (the test flag) that the box's rule names. */
	setenv("LBX_USB_SIM", "cdc-acm", 1);
	c->usb_rules = strdup("[{\"id\": \"1209:0001\"}]");
	/* And a serial port that is not USB, granted by its path. */
	c->serial_ports[c->nserial++] = strdup("/dev/ttyS9");
	for (size_t e = 0; e < sizeof(engines) / sizeof(engines[0]); e++) {
		const char *name = box_engine_name(engines[e]);
		struct box_manifest m;
		char **argv, *cl = NULL;
		int fs = 0, usb = 0, wl = 0;

		free(c->wayland_policy);
		c->wayland_policy = engines[e] == ENGINE_LIGHT ? NULL : strdup("{}");

		if (!ok(manifest_build(&m, c, paths, engines[e], err, sizeof(err)) == 0,
			"%s: manifest of every device (%s)", name, err))
			continue;
		if (engines[e] == ENGINE_QEMU)
			argv = engine_qemu_argv(&m, "/k", "/i", "/c", err, sizeof(err));
		else if (engines[e] == ENGINE_VM)
			argv = engine_vm_argv(&m, "/vmm", "/k", "/i", "/c", err, sizeof(err));
		else
			argv = engine_light_argv(&m, "/agent", err, sizeof(err));
		ok(argv != NULL, "%s: argv", name);
		if (engines[e] != ENGINE_LIGHT)
			cl = (char *)find_after(argv, engines[e] == ENGINE_QEMU ? "-append" : "--cmdline");
		for (unsigned i = 0; i < m.ndev; i++) {
			const struct mf_device *d = &m.dev[i];
			struct argv_buf b = { 0 };
			char **bargv;

			manifest_backend_argv(d, "/exe", &b);
			bargv = argv_finish(&b, NULL, err, sizeof(err));
			ok(count_with(bargv, d->socket) == 1, "%s: %s serves %s", name, d->role,
			   d->socket);
			engine_argv_free(bargv);
			fs += d->kind == MF_FS;
			usb += d->kind == MF_USB;
			wl += d->kind == MF_WAYLAND;
			if (engines[e] == ENGINE_LIGHT) {
				ok(!d->spawn == (d->kind == MF_FS), "light: %s %s", d->role,
				   d->spawn ? "runs" : "is a bind, no server");
				if (d->kind == MF_FS && d->guest_path)
					ok(count_with(argv, d->guest_path) >= 1,
					   "light: %s bound at %s", d->role, d->guest_path);
			} else if (d->kind == MF_USB) {
				ok(count_with(argv, d->socket) == 0 && cl &&
					   strstr(cl, "lbx.usb=vsock:1100") &&
					   strstr(d->socket, "vsock.sock_110") &&
					   usb_sim_argv(d),
				   "%s: lbx-usbipd serves a USB slot for the guest's vhci, no device",
				   name);
			} else if (d->kind == MF_WAYLAND) {
				ok(count_with(argv, d->socket) == 0 && cl &&
					   strstr(cl, "lbx.wayland=vsock:1027") &&
					   strstr(d->socket, "vsock.sock_1027"),
				   "%s: the guest reaches the Wayland proxy by vsock, no device", name);
			} else if (d->kind != MF_SSH) {
				ok(d->spawn && count_with(argv, d->socket) == 1,
				   "%s: the engine connects %s at %s", name, d->role, d->socket);
			} else {
				ok(count_with(argv, d->socket) == 0 && cl && strstr(cl, "lbx.ssh=vsock:1026"),
				   "%s: the guest reaches the SSH proxy by vsock, no device", name);
			}
		}
		is_int(fs, engines[e] == ENGINE_LIGHT ? 3 : 3, "%s: root, project and the mount", name);
		is_int(usb, engines[e] == ENGINE_LIGHT ? 0 : 2,
		       "%s: the serial port and the USB device on the VM engines, none in a container",
		       name);
		if (engines[e] != ENGINE_LIGHT)
			is_int(wl, 1, "%s: one Wayland proxy", name);
		ok(has_agent_words(&m, argv, cl), "%s: the agent's parameters are the manifest's words",
		   name);
		if (engines[e] == ENGINE_LIGHT) {
			ok(count(argv, "lbx.serve=unix:/run/lbx/host/agent.sock") == 1 &&
				   count(argv, "lbx.ssh=unix:/run/lbx/host/ssh.sock") == 1 &&
				   count(argv, "lbx.net-stream=unix:/run/lbx/host/net.sock") == 1,
			   "light: the agent's endpoints are sockets in the bound directory");
			ok(count(argv, "/dev/net/tun") == 1 && !strcmp(find_after(argv, "--rootfs"), m.root),
			   "light: the tap device, and the root tree as --rootfs");
		}
		engine_argv_free(argv);
		manifest_free(&m);
	}
	free(c->ssh_policy);
	c->ssh_policy = NULL;
	/* engine light does not carry Wayland yet: one clear line, not a box without it */
	struct box_manifest m;
	c->wayland_policy = strdup("{}");
	ok(manifest_build(&m, c, paths, ENGINE_LIGHT, err, sizeof(err)) < 0 &&
		   strstr(err, "wayland"),
	   "light: a wayland section is refused: %s", err);
	free(c->wayland_policy);
	c->wayland_policy = NULL;
	unsetenv("WAYLAND_DISPLAY");
}

/* "gpu": lbx-gpud and QEMU's vhost-user-gpu on engine qemu; one clear line elsewhere. */
static void gpu_box(struct box_config *c, const struct box_paths *paths)
{
	static const enum box_engine refusing[] = { ENGINE_LIGHT, ENGINE_LIBVIRT };
	struct box_manifest m;
	char err[256], dev[64];
	char **argv;
	int n = 0;

	c->gpu = true;
	/* QEMU's vhost-user-gpu needs KVM: where KVM cannot run Linux, one clear line. */
	if (!engine_kvm_runs_linux())
		ok(manifest_build(&m, c, paths, ENGINE_QEMU, err, sizeof(err)) < 0 &&
			   strstr(err, "needs engine qemu with KVM"),
		   "qemu under TCG: gpu refused in one line: %s", err);
	else if (ok(manifest_build(&m, c, paths, ENGINE_QEMU, err, sizeof(err)) == 0,
		    "qemu: a box with gpu (%s)", err)) {
		argv = engine_qemu_argv(&m, "/k", "/i", "/c", err, sizeof(err));
		for (unsigned i = 0; i < m.ndev; i++) {
			if (m.dev[i].kind != MF_GPU)
				continue;
			n++;
			snprintf(dev, sizeof(dev), "vhost-user-gpu,chardev=dev%u", i);
			ok(argv && count(argv, dev) == 1 && count_with(argv, m.dev[i].socket) == 1 &&
				   manifest_program(&m.dev[i]) == ASSET_GPUD,
			   "qemu: lbx-gpud on %s, QEMU's %s", m.dev[i].socket, dev);
		}
		is_int(n, 1, "qemu: one GPU");
		engine_argv_free(argv);
		manifest_free(&m);
	}
	{
		/* What engine qemu renders for the entry, whichever branch ran above. */
		struct mf_device d = { .kind = MF_GPU };
		struct argv_buf b = { 0 }, q = { 0 };
		char **bargv, **qargv;

		snprintf(d.socket, sizeof(d.socket), "/r/gpu-vu.sock");
		manifest_backend_argv(&d, "/exe", &b);
		manifest_qemu_device(&d, 4, &q);
		bargv = argv_finish(&b, NULL, err, sizeof(err));
		qargv = argv_finish(&q, NULL, err, sizeof(err));
		ok(bargv && qargv && count(bargv, "/r/gpu-vu.sock") == 1 &&
			   count(qargv, "socket,id=dev4,path=/r/gpu-vu.sock") == 1 &&
			   count(qargv, "vhost-user-gpu,chardev=dev4") == 1,
		   "qemu: lbx-gpud --socket S; -chardev socket on S, -device vhost-user-gpu");
		engine_argv_free(bargv);
		engine_argv_free(qargv);
	}
	if (ok(manifest_build(&m, c, paths, ENGINE_VM, err, sizeof(err)) == 0,
	       "vm: a box with gpu (%s)", err)) {
		argv = engine_vm_argv(&m, "/vmm", "/k", "/i", "/c", err, sizeof(err));
		for (unsigned i = 0; i < m.ndev; i++)
			if (m.dev[i].kind == MF_GPU) {
				snprintf(dev, sizeof(dev), "gpu,%s", m.dev[i].socket);
				ok(argv && count(argv, dev) == 1, "vm: lbx-vmm --vhost-user %s", dev);
			}
		engine_argv_free(argv);
		manifest_free(&m);
	}
	/* gpu and wayland: lbx-gpud's frames socket, given to both. */
	setenv("WAYLAND_DISPLAY", "/tmp/wayland-0", 1);
	c->wayland_policy = strdup("{}");
	if (ok(manifest_build(&m, c, paths, ENGINE_VM, err, sizeof(err)) == 0,
	       "vm: a box with gpu and wayland (%s)", err)) {
		const char *gf = NULL, *wf = NULL;

		for (unsigned i = 0; i < m.ndev; i++) {
			struct argv_buf b = { 0 };
			char **bargv;

			if (m.dev[i].kind != MF_GPU && m.dev[i].kind != MF_WAYLAND)
				continue;
			manifest_backend_argv(&m.dev[i], "/exe", &b);
			bargv = argv_finish(&b, NULL, err, sizeof(err));
			if (m.dev[i].kind == MF_GPU && bargv && find_after(bargv, "--frames-socket"))
				gf = strdup(find_after(bargv, "--frames-socket"));
			if (m.dev[i].kind == MF_WAYLAND && bargv && find_after(bargv, "--gpu-frames"))
				wf = strdup(find_after(bargv, "--gpu-frames"));
			engine_argv_free(bargv);
		}
		ok(gf && wf && !strcmp(gf, wf) && strstr(gf, "gpu-frames.sock"),
		   "vm: lbx-gpud --frames-socket and lbx-wayland-proxy --gpu-frames on the same "
		   "socket in the box's runtime directory (%s)",
		   gf ? gf : "none");
		free((void *)gf);
		free((void *)wf);
		manifest_free(&m);
	}
	free(c->wayland_policy);
	c->wayland_policy = NULL;
	unsetenv("WAYLAND_DISPLAY");
	if (ok(manifest_build(&m, c, paths, ENGINE_VM, err, sizeof(err)) == 0, "vm: gpu alone")) {
		bool none = true;

		for (unsigned i = 0; i < m.ndev; i++)
			none &= m.dev[i].control[0] == 0 || m.dev[i].kind != MF_GPU;
		ok(none, "vm: without wayland, lbx-gpud has no frames socket");
		manifest_free(&m);
	}
	for (size_t e = 0; e < sizeof(refusing) / sizeof(refusing[0]); e++)
		ok(manifest_build(&m, c, paths, refusing[e], err, sizeof(err)) < 0 &&
			   strstr(err, "\"gpu\" needs engine vm or qemu"),
		   "%s: gpu refused in one line: %s", box_engine_name(refusing[e]), err);
	c->gpu = false;
}

/* A socket path that cannot be a unix address fails once, with a clear line. */
static void long_runtime(const struct box_config *c)
{
	struct box_paths p = { .name = "my-box", .data = "/d" };
	struct box_manifest m;
	char err[256];

	memset(p.runtime, 'r', 100);
	p.runtime[0] = '/';
	is_int(manifest_build(&m, c, &p, ENGINE_QEMU, err, sizeof(err)), -EINVAL,
	       "a runtime directory too long for its sockets is refused");
	ok(strstr(err, "unix socket") && strstr(err, "XDG_RUNTIME_DIR"), "and says what to do: %s",
	   err);
}

/* Which kernel file lbx looks for in LBX_KERNEL_DIR on each architecture. */
static void arm64_kernel_asset(void)
{
	char dir[] = "/tmp/lbx-test-kernel-XXXXXX", path[4096], err[600], file[4200];
	FILE *f;

	if (!ok(mkdtemp(dir) != NULL, "a temporary kernel directory"))
		return;
	setenv("LBX_KERNEL_DIR", dir, 1);
	snprintf(file, sizeof(file), "%s/vmlinux", dir);
	f = fopen(file, "w");
	if (f)
		fclose(f);
	ok(lbx_asset(ASSET_KERNEL, path, sizeof(path), err, sizeof(err)) < 0 &&
		   strstr(err, "/Image") && strstr(err, "make kernel-arm64"),
	   "arm64: an x86 vmlinux is not the kernel; the error names Image and make kernel-arm64: %s",
	   err);
	snprintf(file, sizeof(file), "%s/Image", dir);
	f = fopen(file, "w");
	if (f)
		fclose(f);
	ok(lbx_asset(ASSET_KERNEL, path, sizeof(path), err, sizeof(err)) == 0 &&
		   !strcmp(path, file),
	   "arm64: the kernel is the cache directory's Image");
	unlink(file);
	snprintf(file, sizeof(file), "%s/vmlinux", dir);
	unlink(file);
	rmdir(dir);
	unsetenv("LBX_KERNEL_DIR");
}

/* An arm64 host's command lines (arch.h), planned here with the architecture overridden. */
static void arm64_argv(struct box_config *c, const struct box_paths *paths)
{
	struct box_manifest m;
	char err[256], why[200], **argv;
	const char *cl, *mach;

	is_int(lbx_arch_of_machine("aarch64"), LBX_ARCH_ARM64, "uname's aarch64 is arm64");
	is_int(lbx_arch_of_machine("x86_64"), LBX_ARCH_X86_64, "x86_64 is x86_64");
	is_int(lbx_arch_of_machine("riscv64"), LBX_ARCH_OTHER, "riscv64 is not supported");
	lbx_arch_override(LBX_ARCH_ARM64);
	ok(lbx_arch() == LBX_ARCH_ARM64 && !strcmp(lbx_arch_name(lbx_arch()), "aarch64"),
	   "overridden: boxes are aarch64");
	arm64_kernel_asset();
	if (lbx_arch_of_machine("x86_64") == LBX_ARCH_X86_64 && !lbx_arch_native())
		ok(!engine_host_has_kvm(why, sizeof(why)) && !engine_kvm_runs_linux(),
		   "an arm64 box on this x86_64 machine never gets KVM: %s", why);
	c->net_none = false;
	if (!ok(manifest_build(&m, c, paths, ENGINE_QEMU, err, sizeof(err)) == 0,
		"arm64: qemu manifest (%s)", err))
		goto out;
	argv = engine_qemu_argv(&m, "/k/Image", "/r/initrd.cpio", "/d/console.log", err,
				sizeof(err));
	mach = find_after(argv, "-M");
	ok(argv && !strcmp(argv[0], "qemu-system-aarch64"), "arm64: runs qemu-system-aarch64");
	ok(mach && !strncmp(mach, "virt,", 5) && strstr(mach, "gic-version=3") &&
		   strstr(mach, "acpi=off") && strstr(mach, "memory-backend=mem"),
	   "arm64: the virt machine with a GICv3, no ACPI, RAM from the shared memfd: %s",
	   mach ? mach : "");
	ok(!strcmp(find_after(argv, "-global"), "virtio-mmio.force-legacy=false") &&
		   !strcmp(find_after(argv, "-object"),
			   "memory-backend-memfd,id=mem,size=768M,share=on"),
	   "arm64: modern virtio-mmio and the memfd, as on x86");
	ok(!m.kvm && !strcmp(find_after(argv, "-accel"), "tcg") &&
		   !strcmp(find_after(argv, "-cpu"), "max"),
	   "arm64 without KVM: TCG, -cpu max");
	is_int(count(argv, "vhost-user-fs-device"), 3, "arm64: a vhost-user-fs-device per tree");
	is_int(count(argv, "vhost-user-vsock-device"), 1, "arm64: the vsock device");
	is_int(count(argv, "virtio-net-device"), 1, "arm64: virtio-net on virtio-mmio");
	is_int(count(argv, "virtio-rng-device"), 1, "arm64: virtio-rng");
	ok(!strcmp(find_after(argv, "-kernel"), "/k/Image"), "arm64: the Image as -kernel");
	cl = find_after(argv, "-append");
	ok(cl && !strncmp(cl, "console=ttyAMA0 ", 16) && !strstr(cl, "ttyS0"),
	   "arm64: the console is virt's PL011, ttyAMA0: %s", cl ? cl : "");
	ok(has_agent_words(&m, NULL, cl), "arm64: the agent's parameters are the manifest's words");
	engine_argv_free(argv);
	m.kvm = true;
	argv = engine_qemu_argv(&m, "/k/Image", "/r/initrd.cpio", "/d/console.log", err,
				sizeof(err));
	ok(!strcmp(find_after(argv, "-accel"), "kvm") && !strcmp(find_after(argv, "-cpu"), "host"),
	   "arm64 with KVM: -accel kvm -cpu host");
	engine_argv_free(argv);
	manifest_free(&m);

	if (!ok(manifest_build(&m, c, paths, ENGINE_VM, err, sizeof(err)) == 0, "arm64: vm manifest"))
		goto out;
	argv = engine_vm_argv(&m, "/b/lbx-vmm", "/k/Image", "/r/initrd.cpio", "/d/console.log", err,
			      sizeof(err));
	cl = find_after(argv, "--cmdline");
	ok(argv && !strcmp(find_after(argv, "--kernel"), "/k/Image") && cl &&
		   !strncmp(cl, "console=ttyS0 ", 14),
	   "arm64 vm: lbx-vmm boots the Image, console on its 16550 (ttyS0)");
	ok(count(argv, "vsock,") == 1 && count(argv, "fs,") == 3 && count(argv, "net,") == 1,
	   "arm64 vm: vsock, every tree and the network over vhost-user, as on x86");
	engine_argv_free(argv);
	manifest_free(&m);
out:
	lbx_arch_override_end();
}

int main(void)
{
	struct box_paths paths = { .name = "my-box", .runtime = "/run/user/1000/lbx/my-box",
				   .data = "/home/u/.local/share/lbx/boxes/my-box" };
	struct box_manifest m;
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

	ok(manifest_build(&m, &c, &paths, ENGINE_QEMU, err, sizeof(err)) == 0, "manifest (%s)", err);
	argv = engine_qemu_argv(&m, "/k/vmlinux", "/r/initrd.cpio", "/d/console.log", err,
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
	ok(!strcmp(find_after(argv, "-accel"), engine_kvm_runs_linux() ? "kvm" : "tcg") &&
		   !strcmp(find_after(argv, "-cpu"), engine_kvm_runs_linux() ? "host" : "max"),
	   "-accel kvm where KVM runs Linux guests, else tcg (here: %s)", find_after(argv, "-accel"));
	is_int(count(argv, "vhost-user-fs-device"), 3, "one vhost-user-fs device per tree (root, project, mount)");
	is_int(count(argv, "vhost-user-vsock-device"), 1, "a vsock device");
	ok(count_with(argv, ",path=/run/user/1000/lbx/my-box/fs-mount0.sock") == 1,
	   "the extra mount's backend socket is in the runtime directory");
	cl = find_after(argv, "-append");
	ok(cl && strstr(cl, "reboot=t "), "QEMU boxes power off by triple fault: %s", cl ? cl : "");
	ok(cl && strstr(cl, " lbx.mount=project:/home/u/src/my%20box%251"),
	   "the project path is escaped for the agent");
	ok(cl && strstr(cl, " lbx.mount=mount0:/mnt/da%20ta:ro"), "extra mounts, read-only flag");
	ok(cl && strstr(cl, " lbx.env=GREETING=hello%20world"), "environment");
	ok(cl && strstr(cl, " lbx.root=0") && strstr(cl, " lbx.serve=vsock:1024 lbx.notify=vsock:1025"),
	   "root sessions denied; exec and ready ports");
	ok(cl && !strstr(cl, "lbx.ssh="), "no SSH agent without an ssh section");
	ok(cl && strstr(cl, "lbx.hostname=my-box"), "hostname is the box name");
	ok(cl && strstr(cl, " lbx.rootfs=root"), "the root tree is virtio-fs 'root'");
	ok(cl && strstr(cl, " lbx.net=10.0.2.15/24,10.0.2.2,10.0.2.3"), "eth0 with slirp's addresses");
	ok(find_after(argv, "-netdev") && !strncmp(find_after(argv, "-netdev"), "vhost-user,", 11) &&
		   count_with(argv, ",path=/run/user/1000/lbx/my-box/net-vu.sock") == 1,
	   "virtio-net through lbx-netd's socket");
	engine_argv_free(argv);
	manifest_free(&m);

	ok(manifest_build(&m, &c, &paths, ENGINE_VM, err, sizeof(err)) == 0, "vm manifest");
	argv = engine_vm_argv(&m, "/b/lbx-vmm", "/k/vmlinux", "/r/initrd.cpio", "/d/console.log",
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

	manifest_free(&m);
	c.net_none = true;
	ok(manifest_build(&m, &c, &paths, ENGINE_QEMU, err, sizeof(err)) == 0, "manifest");
	argv = engine_qemu_argv(&m, "/k/vmlinux", "/r/initrd.cpio", "/d/console.log", err,
				sizeof(err));
	cl = find_after(argv, "-append");
	ok(!find_after(argv, "-netdev") && cl && !strstr(cl, "lbx.net="),
	   "mode none: no network device and nothing for eth0");
	engine_argv_free(argv);
	manifest_free(&m);
	c.net_none = false;
	arm64_argv(&c, &paths);
	every_device(&c, &paths);
	gpu_box(&c, &paths);
	long_runtime(&c);
	box_config_free(&c);
	return tap_done();
}
