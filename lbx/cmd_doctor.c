/* SPDX-License-Identifier: MIT */
/*
 * lbx doctor [--json] [--quiet]: what this host can do for lbx, one line
 * per check, each with the fix when it falls short.
 */
#include "doctor.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "arch.h"
#include "assets.h"
#include "compiler.h"
#include "engine.h"
#include "log.h"
#include "sandbox.h"

struct check {
	const char *name;    /* short, stable: the JSON key */
	const char *feature; /* what needs it */
	bool ok;
	char detail[300];
	char fix[300];
};

static const char *user_name(void)
{
	struct passwd *pw = getpwuid(getuid());

	return pw ? pw->pw_name : "$USER";
}

static bool cpu_flag(const char *flag)
{
	char line[8192], want[16];
	FILE *f = fopen("/proc/cpuinfo", "re");
	bool found = false;

	if (!f)
		return false;
	snprintf(want, sizeof(want), " %s", flag);
	while (!found && fgets(line, sizeof(line), f))
		if (!strncmp(line, "flags", 5)) {
			char *p = strstr(line, want);

			found = p && (p[strlen(want)] == ' ' || p[strlen(want)] == '\n');
		}
	fclose(f);
	return found;
}

/* Is name or uid listed in an /etc/subuid-style file? */
static bool listed(const char *file, const char *name, unsigned uid)
{
	char line[512], uidstr[16];
	FILE *f = fopen(file, "re");
	bool found = false;

	if (!f)
		return false;
	snprintf(uidstr, sizeof(uidstr), "%u", uid);
	while (!found && fgets(line, sizeof(line), f)) {
		char *colon = strchr(line, ':');

		if (!colon)
			continue;
		*colon = '\0';
		found = !strcmp(line, name) || !strcmp(line, uidstr);
	}
	fclose(f);
	return found;
}

bool doctor_has_subids(char *why, size_t sz)
{
	const char *name = user_name();
	bool u, g;

	if (getuid() == 0)
		return true;
	u = listed("/etc/subuid", name, getuid());
	g = listed("/etc/subgid", name, getuid());
	if (u && g)
		return true;
	snprintf(why, sz,
		 "%s has no subordinate %s (%s): rootless podman and mmdebstrap need them; "
		 "'sudo usermod --add-subuids 100000-165535 --add-subgids 100000-165535 "
		 "%s' adds them",
		 name,
		 !u && !g ? "uids or gids"
		 : !u	  ? "uids"
			  : "gids",
		 !u && !g ? "/etc/subuid, /etc/subgid"
		 : !u	  ? "/etc/subuid"
			  : "/etc/subgid",
		 name);
	return false;
}

bool doctor_tun_usable(char *why, size_t sz)
{
	int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);

	if (fd >= 0) {
		close(fd);
		return true;
	}
	snprintf(why, sz, "/dev/net/tun cannot be opened (%s): engine light's network needs it; %s",
		 strerror(errno),
		 errno == ENOENT ? "'sudo modprobe tun' loads it"
				 : "'sudo chmod 0666 /dev/net/tun' (udev's default mode) opens it");
	return false;
}

static void check_arch(struct check *c)
{
	enum lbx_arch a = lbx_arch();

	c->name = "arch";
	c->feature = "every VM box (its kernel, lbx-vmm and QEMU are of the host's architecture)";
	c->ok = a != LBX_ARCH_OTHER;
	if (a == LBX_ARCH_ARM64)
		snprintf(c->detail, sizeof(c->detail),
			 "aarch64: boxes are arm64 VMs (lbx-vmm's arm64 machine with a device "
			 "tree; engine qemu: qemu-system-aarch64 -M virt)");
	else if (a == LBX_ARCH_X86_64)
		snprintf(c->detail, sizeof(c->detail),
			 "x86_64: boxes are x86_64 microVMs (engine qemu: qemu-system-x86_64 -M "
			 "microvm)");
	else {
		snprintf(c->detail, sizeof(c->detail),
			 "this machine is neither x86_64 nor aarch64");
		snprintf(c->fix, sizeof(c->fix),
			 "none: VM boxes need an x86_64 or aarch64 host; --light may still work");
	}
}

static void check_kvm(struct check *c)
{
	bool vmx = cpu_flag("vmx"), svm = cpu_flag("svm");
	int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC), e = errno;
	char why[200] = "";

	c->name = "kvm";
	c->feature = "engine vm (lbx-vmm); without it boxes run on engine qemu (TCG, slower)";
	if (fd >= 0)
		close(fd);
	c->ok = engine_host_has_kvm(why, sizeof(why));
	if (c->ok && lbx_arch() == LBX_ARCH_ARM64) {
		snprintf(c->detail, sizeof(c->detail),
			 "/dev/kvm opens on arm64: KVM (the CPU's EL2) can run Linux guests");
		return;
	}
	if (!c->ok && fd >= 0 && lbx_arch() == LBX_ARCH_ARM64) {
		snprintf(c->detail, sizeof(c->detail), "%s", why);
		snprintf(c->fix, sizeof(c->fix),
			 "none on this host: boxes run on engine qemu (TCG)");
		return;
	}
	if (c->ok) {
		snprintf(c->detail, sizeof(c->detail),
			 "/dev/kvm opens and the CPU has %s: KVM can "
			 "run Linux guests",
			 vmx ? "vmx" : "svm");
		return;
	}
	if (fd < 0 && e == ENOENT) {
		snprintf(c->detail, sizeof(c->detail), "no /dev/kvm%s",
			 vmx || svm ? "" : ", and the CPU has no vmx/svm");
		snprintf(c->fix, sizeof(c->fix),
			 vmx || svm ? "'sudo modprobe %s'"
				    : "enable hardware virtualisation in the "
				      "firmware (or use a host that has it)",
			 vmx ? "kvm_intel" : "kvm_amd");
	} else if (fd < 0) {
		snprintf(c->detail, sizeof(c->detail), "/dev/kvm cannot be opened: %s",
			 strerror(e));
		snprintf(c->fix, sizeof(c->fix), "'sudo usermod -aG kvm %s', then log in again",
			 user_name());
	} else {
		snprintf(c->detail, sizeof(c->detail),
			 "/dev/kvm opens, but the CPU has no vmx/svm: "
			 "this KVM cannot run a Linux guest");
		snprintf(c->fix, sizeof(c->fix),
			 "none on this host: boxes run on engine qemu (TCG) "
			 "or --light");
	}
}

static void check_landlock(struct check *c)
{
	int abi = lbx_sandbox_landlock_abi();

	c->name = "landlock";
	c->feature = "the sandbox of engine light's sessions and of every backend";
	c->ok = abi > 0;
	if (c->ok) {
		snprintf(c->detail, sizeof(c->detail), "ABI %d%s", abi,
			 abi < 6 ? " (below 6: no scoping of signals and abstract sockets)" : "");
		if (abi < 6)
			snprintf(c->fix, sizeof(c->fix), "a kernel of 6.12 or later gives ABI 6");
		return;
	}
	snprintf(c->detail, sizeof(c->detail), "not enabled in this kernel");
	snprintf(c->fix, sizeof(c->fix),
		 "boot with lsm=landlock,... (CONFIG_SECURITY_LANDLOCK); "
		 "VM guests have their own");
}

/* Run argv quietly: its exit status, or -1 if it could not run. */
static int quiet_status(char *const argv[])
{
	pid_t pid = fork();
	int status;

	if (pid < 0)
		return -1;
	if (pid == 0) {
		int devnull = open("/dev/null", O_RDWR);

		if (devnull < 0 || dup2(devnull, 0) < 0 || dup2(devnull, 1) < 0 ||
		    dup2(devnull, 2) < 0)
			_exit(127);
		execvp(argv[0], argv);
		_exit(127);
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static void check_podman(struct check *c)
{
	char *version[] = { "podman", "--version", NULL };
	char *unshare[] = { "podman", "unshare", "true", NULL };

	c->name = "podman";
	c->feature = "engine light, Containerfile images and the Debian base";
	if (quiet_status(version) != 0) {
		snprintf(c->detail, sizeof(c->detail), "podman is not installed");
		snprintf(c->fix, sizeof(c->fix),
			 "'sudo apt-get install podman runc uidmap' (make "
			 "setup does)");
		return;
	}
	if (getuid() == 0) {
		c->ok = true;
		snprintf(c->detail, sizeof(c->detail), "installed (rootful: lbx runs as root)");
		return;
	}
	c->ok = quiet_status(unshare) == 0;
	snprintf(c->detail, sizeof(c->detail),
		 c->ok ? "rootless podman makes its user namespace"
		       : "rootless podman cannot make its user "
			 "namespace ('podman unshare true' failed)");
	if (!c->ok)
		snprintf(c->fix, sizeof(c->fix),
			 "give %s subordinate ids (see subids) and install "
			 "uidmap; then 'podman system migrate'",
			 user_name());
}

static void check_subids(struct check *c)
{
	char why[400] = "";

	c->name = "subids";
	c->feature = "rootless podman and the Debian base (mmdebstrap) as an ordinary user";
	c->ok = doctor_has_subids(why, sizeof(why));
	if (c->ok) {
		snprintf(c->detail, sizeof(c->detail),
			 getuid() == 0 ? "not needed: root"
				       : "%s has subordinate uids "
					 "and gids",
			 user_name());
		return;
	}
	snprintf(c->detail, sizeof(c->detail), "%s has no subordinate uids/gids", user_name());
	snprintf(c->fix, sizeof(c->fix),
		 "'sudo usermod --add-subuids 100000-165535 --add-subgids "
		 "100000-165535 %s'",
		 user_name());
}

static void check_tun(struct check *c)
{
	char why[300] = "";

	c->name = "tun";
	c->feature = "engine light's network (a tap relayed to lbx-netd)";
	c->ok = doctor_tun_usable(why, sizeof(why));
	if (c->ok) {
		snprintf(c->detail, sizeof(c->detail), "/dev/net/tun opens");
		return;
	}
	snprintf(c->detail, sizeof(c->detail), "/dev/net/tun cannot be opened");
	char *semi = strchr(why, ';');
	snprintf(c->fix, sizeof(c->fix), "%s", semi ? semi + 2 : why);
}

static void check_qemu(struct check *c)
{
	enum lbx_arch a = lbx_arch();
	char *argv[] = { (char *)lbx_arch_qemu(a), "--version", NULL };

	c->name = "qemu";
	c->feature = "engine qemu (where KVM cannot run Linux, boxes run here)";
	c->ok = quiet_status(argv) == 0;
	snprintf(c->detail, sizeof(c->detail), "%s is %s", lbx_arch_qemu(a),
		 c->ok ? "installed" : "not installed");
	if (!c->ok)
		snprintf(c->fix, sizeof(c->fix), "'sudo apt-get install %s'",
			 lbx_arch_qemu_package(a));
}

static void check_kernel(struct check *c)
{
	char path[4096], err[600];

	c->name = "kernel";
	c->feature = "engines vm and qemu (the guest kernel)";
	c->ok = lbx_asset(ASSET_KERNEL, path, sizeof(path), err, sizeof(err)) == 0;
	/* The asset's message ends in its own advice; the fix column has that. */
	char *advice = c->ok ? NULL : strstr(err, ": 'lbx up' builds");
	if (advice)
		*advice = '\0';
	snprintf(c->detail, sizeof(c->detail), "%s", c->ok ? path : err);
	if (!c->ok)
		snprintf(c->fix, sizeof(c->fix),
			 "the first 'lbx up' builds it into your cache "
			 "(minutes), or 'make %s'",
			 lbx_arch() == LBX_ARCH_ARM64 ? "kernel-arm64" : "kernel");
}

static void check_layout(struct check *c)
{
	char dir[4096], path[4096], err[600];
	const char *layout = lbx_asset_layout(dir, sizeof(dir));

	c->name = "install";
	c->feature = "every box (helper programs, initramfs)";
	c->ok = lbx_asset(ASSET_FSD, path, sizeof(path), err, sizeof(err)) == 0 &&
		lbx_asset(ASSET_INITRAMFS, path, sizeof(path), err, sizeof(err)) == 0;
	snprintf(c->detail, sizeof(c->detail), "lbx %s, from the %s %s", LBX_VERSION, layout, dir);
	if (!c->ok)
		snprintf(c->fix, sizeof(c->fix), "%s", err);
}

static void (*const checks[])(struct check *) = {
	check_arch,   check_kvm,    check_landlock, check_qemu, check_kernel,
	check_podman, check_subids, check_tun,      check_layout,
};

static void usage(FILE *f)
{
	fprintf(f,
		"usage: lbx doctor [--json] [--quiet]\n"
		"What this host can do for lbx: its architecture, KVM, Landlock, QEMU, the guest\n"
		"kernel, rootless podman, subordinate ids, /dev/net/tun; one line each, with the\n"
		"fix.\n"
		"--quiet prints only the problems. The exit status is 1 if there is any.\n");
}

static int print_json(const struct check *c, size_t n)
{
	cJSON *doc = cJSON_CreateObject(), *arr = cJSON_AddArrayToObject(doc, "checks");
	char why[200] = "", *text;

	cJSON_AddStringToObject(doc, "version", LBX_VERSION);
	cJSON_AddStringToObject(doc, "arch", lbx_arch_name(lbx_arch()));
	cJSON_AddStringToObject(
	    doc, "engine_auto",
	    engine_resolve(ENGINE_AUTO, why, sizeof(why)) == ENGINE_VM ? "vm" : "qemu");
	for (size_t i = 0; i < n; i++) {
		cJSON *o = cJSON_CreateObject();

		cJSON_AddStringToObject(o, "name", c[i].name);
		cJSON_AddBoolToObject(o, "ok", c[i].ok);
		cJSON_AddStringToObject(o, "detail", c[i].detail);
		if (c[i].fix[0])
			cJSON_AddStringToObject(o, "fix", c[i].fix);
		else
			cJSON_AddNullToObject(o, "fix");
		cJSON_AddStringToObject(o, "needed_for", c[i].feature);
		cJSON_AddItemToArray(arr, o);
	}
	text = cJSON_Print(doc);
	cJSON_Delete(doc);
	if (!text)
		return -ENOMEM;
	printf("%s\n", text);
	cJSON_free(text);
	return 0;
}

int lbx_cmd_doctor(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct check c[LBX_ARRAY_SIZE(checks)];
	bool json = false, quiet = false, problems = false;
	int opt;

	optind = 1;
	while ((opt = getopt_long(argc, argv, "qh", opts, NULL)) != -1) {
		switch (opt) {
		case 'j': json = true; break;
		case 'q': quiet = true; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind < argc) {
		lbx_err("doctor: unexpected argument '%s'", argv[optind]);
		return 2;
	}
	memset(c, 0, sizeof(c));
	for (size_t i = 0; i < LBX_ARRAY_SIZE(checks); i++) {
		checks[i](&c[i]);
		problems |= !c[i].ok;
	}
	if (json)
		return print_json(c, LBX_ARRAY_SIZE(c)) < 0 ? 1 : problems;
	for (size_t i = 0; i < LBX_ARRAY_SIZE(c); i++) {
		if (quiet && c[i].ok)
			continue;
		if (quiet)
			printf("lbx: %s: %s; needed for %s. Fix: %s\n", c[i].name, c[i].detail,
			       c[i].feature, c[i].fix);
		else
			printf("%-9s %-3s %s%s%s\n", c[i].name, c[i].ok ? "ok" : "NO", c[i].detail,
			       c[i].fix[0] ? ". Fix: " : "", c[i].fix);
	}
	return problems;
}
