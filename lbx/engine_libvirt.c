/* SPDX-License-Identifier: MIT */
/*
 * Engine libvirt (engine_libvirt.h). The domain is what engine qemu runs,
 * said in libvirt's terms (libvirt 9.0, Debian 12):
 *
 * - machine microvm, <kernel>/<initrd>/<cmdline>, no <features> (so no
 *   ACPI: libvirt passes -no-acpi, and microvm lists the virtio-mmio
 *   devices on the kernel command line), TCG with -cpu max (<domain
 *   type='qemu'>, <cpu mode='maximum'/>), as engine qemu chooses them;
 * - guest RAM a shared memfd (<memoryBacking> memfd, shared), which the
 *   vhost-user backends map;
 * - <controller type='usb' model='none'/> and <memballoon model='none'/>:
 *   without them libvirt asks for a PCI bus microvm does not have;
 * - every device at <address type='virtio-mmio'/>; the manifest renders
 *   each (manifest.c, the kinds[] table's libvirt column): virtio-fs as
 *   <filesystem> with lbx-fsd's socket, virtio-net as <interface
 *   type='vhostuser'> on lbx-netd's;
 * - in <qemu:commandline>, only what libvirt 9.0 has no element for:
 *   lbx-vsockd's vhost-user-vsock-device (libvirt's <vsock> is the
 *   kernel's vhost-vsock) and -global virtio-mmio.force-legacy=false
 *   (libvirt leaves microvm's virtio-mmio at version 1, which vhost-user
 *   backends refuse);
 * - reboot=t and on_reboot destroy: the agent's power-off ends the domain.
 *
 * The engine is a process of the supervisor's like engine qemu's QEMU: it
 * creates the domain with VIR_DOMAIN_START_AUTODESTROY (libvirt destroys
 * it when our connection goes, so nothing is left defined whatever happens
 * to us) and exits when libvirt's life-cycle events say it stopped.
 */
#include "engine_libvirt.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>

#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>

#include "log.h"
#include "manifest.h"

void engine_libvirt_domain(const char *box, char *buf, size_t sz)
{
	snprintf(buf, sz, "lbx-%s", box);
}

bool engine_libvirt_uri_local(const char *uri)
{
	const char *sep = strstr(uri, "://");

	return sep && sep[3] == '/';
}

/* A session daemon runs QEMU as the user already. */
static bool uri_session(const char *uri)
{
	const char *path = strstr(uri, ":///");

	return path && !strncmp(path + 4, "session", 7) && (path[11] == '\0' || path[11] == '?');
}

/* --- the domain's XML --- */

static void xml_head(FILE *f, const struct box_manifest *m, const char *kernel, const char *initrd,
		     const char *cmdline)
{
	const struct box_config *c = m->cfg;
	char name[BOX_NAME_MAX + 8];

	engine_libvirt_domain(m->paths->name, name, sizeof(name));
	/* TCG, as engine qemu runs (engine_qemu.c): -accel tcg -cpu max. */
	fputs("<domain type='qemu' xmlns:qemu='http://libvirt.org/schemas/domain/qemu/1.0'>\n", f);
	mf_xml_line(f, "  <name>%s</name>", name);
	mf_xml_line(f, "  <title>lbx box %s</title>", m->paths->name);
	mf_xml_line(f, "  <memory unit='MiB'>%u</memory>", c->memory_mib);
	mf_xml_line(f, "  <vcpu>%u</vcpu>", c->cpus);
	fputs("  <memoryBacking>\n    <source type='memfd'/>\n    <access mode='shared'/>\n"
	      "  </memoryBacking>\n",
	      f);
	fputs("  <os>\n    <type arch='x86_64' machine='microvm'>hvm</type>\n", f);
	mf_xml_line(f, "    <kernel>%s</kernel>", kernel);
	mf_xml_line(f, "    <initrd>%s</initrd>", initrd);
	mf_xml_line(f, "    <cmdline>%s</cmdline>", cmdline);
	fputs("  </os>\n  <cpu mode='maximum'/>\n  <clock offset='utc'/>\n", f);
	fputs("  <on_poweroff>destroy</on_poweroff>\n  <on_reboot>destroy</on_reboot>\n"
	      "  <on_crash>destroy</on_crash>\n",
	      f);
}

/*
 * A system daemon would run QEMU as its own user (libvirt-qemu), which can
 * open neither the box's sockets in the user's runtime directory (0700)
 * nor its files: the user's own ids, with nothing relabelled.
 */
static void xml_seclabel(FILE *f, const char *uri)
{
	if (uri_session(uri))
		return;
	fputs("  <seclabel type='static' model='dac' relabel='no'>\n", f);
	mf_xml_line(f, "    <label>+%u:+%u</label>", (unsigned)getuid(), (unsigned)getgid());
	fputs("  </seclabel>\n", f);
}

static void xml_fixed_devices(FILE *f, const char *console_log)
{
	fputs("    <controller type='usb' model='none'/>\n    <memballoon model='none'/>\n", f);
	fputs("    <serial type='file'>\n", f);
	mf_xml_line(f, "      <source path='%s'/>", console_log);
	fputs("      <target port='0'/>\n    </serial>\n", f);
	fputs("    <rng model='virtio'>\n      <backend model='random'>/dev/urandom</backend>\n"
	      "      <address type='virtio-mmio'/>\n    </rng>\n",
	      f);
}

char *engine_libvirt_xml(const struct box_manifest *m, const char *uri, const char *kernel,
			 const char *initrd, const char *console_log, char *err, size_t errsz)
{
	char *cmdline = manifest_kernel_cmdline(m, "t");
	char *dev = NULL, *qemu = NULL, *out = NULL;
	size_t devlen = 0, qemulen = 0, outlen = 0;
	struct mf_xml x = { .dev = open_memstream(&dev, &devlen),
			    .qemu = open_memstream(&qemu, &qemulen) };
	FILE *f = open_memstream(&out, &outlen);
	bool ok = cmdline && x.dev && x.qemu && f;

	if (ok) {
		mf_xml_qemu_arg(&x, "-global");
		mf_xml_qemu_arg(&x, "virtio-mmio.force-legacy=false");
		for (unsigned i = 0; i < m->ndev; i++)
			manifest_libvirt_device(&m->dev[i], i, &x);
	}
	ok &= x.dev && fclose(x.dev) == 0;
	ok &= x.qemu && fclose(x.qemu) == 0;
	ok &= !x.oom;
	if (ok) {
		xml_head(f, m, kernel, initrd, cmdline);
		fputs("  <devices>\n", f);
		xml_fixed_devices(f, console_log);
		fputs(dev, f);
		fputs("  </devices>\n", f);
		xml_seclabel(f, uri);
		fputs("  <qemu:commandline>\n", f);
		fputs(qemu, f);
		fputs("  </qemu:commandline>\n</domain>\n", f);
	}
	ok &= f && fclose(f) == 0;
	free(cmdline);
	free(dev);
	free(qemu);
	if (!ok) {
		free(out);
		snprintf(err, errsz, "out of memory");
		return NULL;
	}
	return out;
}

/* --- the engine process --- */

struct lv_run {
	const char *uri;
	const char *name;
	virConnectPtr conn;
	virDomainPtr dom;
	bool stopped; /* libvirt says the domain is gone */
	bool term;    /* SIGTERM: destroy it */
	bool destroying;
	bool closed; /* the connection went, the domain perhaps not */
	int status;  /* the exit status once stopped */
};

static int term_pipe[2] = { -1, -1 };

static void on_term_signal(int signo)
{
	char c = (char)signo;

	if (write(term_pipe[1], &c, 1) < 0) {
		/* The pipe is full: a wake-up is pending anyway. */
	}
}

static void on_term_readable(int watch, int fd, int events, void *opaque)
{
	struct lv_run *r = opaque;
	char buf[16];

	while (read(fd, buf, sizeof(buf)) > 0)
		;
	r->term = true;
}

/* libvirt prints its errors itself by default; we say them once, with context. */
static void quiet_errors(void *data, virErrorPtr e)
{
}

static const char *last_error(void)
{
	const char *msg = virGetLastErrorMessage();

	return msg ? msg : "unknown error";
}

/* Why a domain stopped, from a STOPPED event's detail (libvirt-domain.h). */
static void stopped(struct lv_run *r, int detail)
{
	r->stopped = true;
	r->status = 1;
	switch (detail) {
	case VIR_DOMAIN_EVENT_STOPPED_SHUTDOWN:
		lbx_info("domain %s: the guest powered off", r->name);
		r->status = 0;
		break;
	case VIR_DOMAIN_EVENT_STOPPED_DESTROYED:
		if (r->destroying) {
			lbx_info("domain %s destroyed, as the supervisor asked", r->name);
			r->status = 0;
		} else {
			lbx_err("domain %s stopped: it was destroyed outside lbx (virsh destroy?)",
				r->name);
		}
		break;
	case VIR_DOMAIN_EVENT_STOPPED_CRASHED:
		lbx_err("domain %s stopped: the guest crashed", r->name);
		break;
	case VIR_DOMAIN_EVENT_STOPPED_FAILED:
		lbx_err("domain %s stopped: libvirt reports its QEMU process failed (it exited or "
			"was killed)",
			r->name);
		break;
	case VIR_DOMAIN_EVENT_STOPPED_MIGRATED:
	case VIR_DOMAIN_EVENT_STOPPED_SAVED:
	case VIR_DOMAIN_EVENT_STOPPED_FROM_SNAPSHOT:
		lbx_err("domain %s stopped: it was saved or migrated away (libvirt detail %d)",
			r->name, detail);
		break;
	default: lbx_err("domain %s stopped (libvirt detail %d)", r->name, detail);
	}
}

static int on_lifecycle(virConnectPtr conn, virDomainPtr dom, int event, int detail, void *opaque)
{
	struct lv_run *r = opaque;
	const char *name = virDomainGetName(dom);

	if (!name || strcmp(name, r->name))
		return 0;
	if (event == VIR_DOMAIN_EVENT_STOPPED)
		stopped(r, detail);
	else if (event == VIR_DOMAIN_EVENT_SUSPENDED)
		lbx_warn("domain %s was paused (libvirt detail %d)", r->name, detail);
	else if (event == VIR_DOMAIN_EVENT_RESUMED)
		lbx_info("domain %s resumed", r->name);
	return 0;
}

static void on_close(virConnectPtr conn, int reason, void *opaque)
{
	struct lv_run *r = opaque;

	if (r->stopped)
		return;
	r->stopped = true;
	r->closed = true;
	r->status = 1;
	lbx_err("domain %s stopped: the connection to %s closed (reason %d): the libvirt daemon "
		"stopped or cannot be reached",
		r->name, r->uri, reason);
}

/*
 * A daemon that dies leaves its QEMU running (auto-destroy is its memory
 * of our connection), and the box's backends are about to go: a new
 * connection (the session daemon starts again and finds the domain)
 * destroys it, so nothing outlives the box.
 */
static void destroy_after_close(struct lv_run *r)
{
	/*
	 * The dying daemon's socket may still be there, or the new one not yet
	 * started: a few tries, half a second apart, before giving up.
	 */
	for (int attempt = 0; attempt < 20; attempt++) {
		virConnectPtr conn = virConnectOpen(r->uri);
		virDomainPtr dom = conn ? virDomainLookupByName(conn, r->name) : NULL;
		bool done = false;

		if (dom && virDomainDestroy(dom) == 0) {
			lbx_info("domain %s destroyed through a new connection to %s", r->name,
				 r->uri);
			done = true;
		} else if (conn && (!dom || virGetLastErrorCode() == VIR_ERR_NO_DOMAIN)) {
			lbx_info("domain %s is gone", r->name);
			done = true;
		} else if (attempt == 19) {
			lbx_warn("domain %s may still run: cannot destroy it through %s (%s); "
				 "'virsh -c %s destroy %s' does",
				 r->name, r->uri, last_error(), r->uri, r->name);
		}
		if (dom)
			virDomainFree(dom);
		if (conn)
			virConnectClose(conn);
		if (done)
			return;
		usleep(500 * 1000);
	}
}

static const char *connect_hint(const char *uri)
{
	/* libvirt gives root no session daemon: its qemu:///session is the system one. */
	if (uri_session(uri) && getuid() == 0)
		return "root's qemu:///session is the system daemon (libvirt-daemon-system); "
		       "run lbx as an ordinary user for a session daemon";
	if (uri_session(uri))
		return "are libvirt-daemon and libvirt-daemon-driver-qemu installed?";
	return "is the libvirt daemon for this URI running?";
}

static int connect_and_watch(struct lv_run *r)
{
	virDomainPtr old;

	r->conn = virConnectOpen(r->uri);
	if (!r->conn) {
		lbx_err("cannot connect to libvirt at %s: %s (%s)", r->uri, last_error(),
			connect_hint(r->uri));
		return -1;
	}
	/* Registered before the domain exists, so that no early stop is missed. */
	if (virConnectDomainEventRegisterAny(r->conn, NULL, VIR_DOMAIN_EVENT_ID_LIFECYCLE,
					     VIR_DOMAIN_EVENT_CALLBACK(on_lifecycle), r,
					     NULL) < 0 ||
	    virConnectRegisterCloseCallback(r->conn, on_close, r, NULL) < 0) {
		lbx_err("cannot follow libvirt's events at %s: %s", r->uri, last_error());
		return -1;
	}
	/* A remote daemon that vanishes is noticed (the session daemon is local: no-op). */
	virConnectSetKeepAlive(r->conn, 5, 3);
	old = virDomainLookupByName(r->conn, r->name);
	if (old) {
		virDomainFree(old);
		lbx_err("a libvirt domain named %s already exists at %s; if it is a leftover, "
			"'virsh -c %s destroy %s' removes it",
			r->name, r->uri, r->uri, r->name);
		return -1;
	}
	virResetLastError();
	return 0;
}

static long ms_between(const struct timespec *a, const struct timespec *b)
{
	return (long)((b->tv_sec - a->tv_sec) * 1000 + (b->tv_nsec - a->tv_nsec) / 1000000);
}

static int run_engine(struct lv_run *r, const char *xml)
{
	struct timespec t0, t1;

	if (virEventRegisterDefaultImpl() < 0 ||
	    virEventAddHandle(term_pipe[0], VIR_EVENT_HANDLE_READABLE, on_term_readable, r, NULL) <
		0) {
		lbx_err("cannot set up libvirt's event loop: %s", last_error());
		return 1;
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (connect_and_watch(r) < 0)
		return 1;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	lbx_debug("connected to %s in %ld ms", r->uri, ms_between(&t0, &t1));
	t0 = t1;
	r->dom = virDomainCreateXML(r->conn, xml, VIR_DOMAIN_START_AUTODESTROY);
	if (!r->dom) {
		lbx_err("libvirt at %s cannot start domain %s: %s", r->uri, r->name, last_error());
		return 1;
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	lbx_info("domain %s started at %s (id %d) in %ld ms", r->name, r->uri,
		 (int)virDomainGetID(r->dom), ms_between(&t0, &t1));
	while (!r->stopped) {
		if (r->term && !r->destroying) {
			r->destroying = true;
			if (virDomainDestroy(r->dom) < 0) {
				lbx_err("cannot destroy domain %s: %s", r->name, last_error());
				return 1;
			}
			/* Gone now; its STOPPED event may or may not come before we go. */
			lbx_info("domain %s destroyed, as the supervisor asked", r->name);
			return 0;
		}
		if (virEventRunDefaultImpl() < 0) {
			lbx_err("libvirt's event loop failed: %s", last_error());
			return 1;
		}
	}
	if (r->closed)
		destroy_after_close(r);
	return r->status;
}

/* The child's set-up: its log, no inherited descriptors, signals of its own. */
static void child_setup(const char *log, pid_t parent)
{
	struct sigaction sa = { .sa_handler = on_term_signal };
	int devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
	int out = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	sigset_t none;

	if (devnull < 0 || out < 0 || dup2(devnull, 0) < 0 || dup2(out, 1) < 0 || dup2(out, 2) < 0)
		_exit(127);
	/* The supervisor's lock, its pipe to `lbx up` and its sockets are not ours to hold. */
	close_range(3, ~0U, 0);
	if (pipe2(term_pipe, O_CLOEXEC | O_NONBLOCK) < 0)
		_exit(127);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	signal(SIGCHLD, SIG_DFL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	/* A supervisor killed outright still gets its domain destroyed. */
	prctl(PR_SET_PDEATHSIG, SIGTERM);
	if (getppid() != parent)
		on_term_signal(SIGTERM);
	lbx_log_init("lbx-libvirt");
}

pid_t engine_libvirt_start(const char *uri, const char *domain, const char *xml, const char *log)
{
	struct lv_run r = { .uri = uri, .name = domain };
	pid_t parent = getpid(), pid = fork();
	int status;

	if (pid != 0)
		return pid < 0 ? -errno : pid;
	child_setup(log, parent);
	virSetErrorFunc(NULL, quiet_errors);
	status = run_engine(&r, xml);
	if (r.dom)
		virDomainFree(r.dom);
	if (r.conn)
		virConnectClose(r.conn);
	_exit(status);
}

int engine_libvirt_state(const char *uri, const char *domain, char *buf, size_t sz, char *err,
			 size_t errsz)
{
	static const char *const names[] = {
		[VIR_DOMAIN_NOSTATE] = "no state",	 [VIR_DOMAIN_RUNNING] = "running",
		[VIR_DOMAIN_BLOCKED] = "blocked",	 [VIR_DOMAIN_PAUSED] = "paused",
		[VIR_DOMAIN_SHUTDOWN] = "shutting down", [VIR_DOMAIN_SHUTOFF] = "shut off",
		[VIR_DOMAIN_CRASHED] = "crashed",	 [VIR_DOMAIN_PMSUSPENDED] = "suspended",
	};
	virConnectPtr conn;
	virDomainPtr dom;
	int state = -1, reason;

	virSetErrorFunc(NULL, quiet_errors);
	conn = virConnectOpen(uri);
	if (!conn) {
		snprintf(err, errsz, "cannot connect to libvirt at %s: %s", uri, last_error());
		return -1;
	}
	dom = virDomainLookupByName(conn, domain);
	if (dom && virDomainGetState(dom, &state, &reason, 0) < 0)
		state = -1;
	if (!dom)
		snprintf(buf, sz, "not defined");
	else if (state >= 0 && (size_t)state < LBX_ARRAY_SIZE(names) && names[state])
		snprintf(buf, sz, "%s", names[state]);
	else
		snprintf(buf, sz, "unknown");
	if (dom)
		virDomainFree(dom);
	virConnectClose(conn);
	return 0;
}
