/* SPDX-License-Identifier: MIT */
/*
 * The box manifest (manifest.h). kinds[] is the one table of what a
 * device of each kind needs: which engines carry it, how the box
 * definition gives rise to its entries, its backend's command line, and
 * how each engine renders it.
 */
#include "manifest.h"

#include <errno.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent_params.h"
#include "engine.h"
#include "image.h"
#include "../passthrough/usb_host.h"

#define ENG(e) (1u << (e))
#define ENG_VMS (ENG(ENGINE_VM) | ENG(ENGINE_QEMU) | ENG(ENGINE_LIBVIRT))
#define ENG_ALL (ENG_VMS | ENG(ENGINE_LIGHT))

struct mf_build {
	struct box_manifest *m;
	char *err;
	size_t errsz;
};

LBX_PRINTF(2, 3) static int build_fail(struct mf_build *b, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(b->err, b->errsz, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

static bool light(const struct mf_build *b)
{
	return b->m->engine == ENGINE_LIGHT;
}

/*
 * RUNTIME/file into buf, which a unix socket address must hold: the one
 * place a box's socket paths are checked.
 */
static int runtime_socket(struct mf_build *b, const char *file, char *buf, size_t sz)
{
	const char *rt = b->m->paths->runtime;

	if (box_path(rt, file, buf, sz) < 0 || strlen(buf) >= MF_SOCK_MAX)
		return build_fail(b, "the socket %s/%s would be longer than the %d bytes a unix "
				     "socket path may have; set XDG_RUNTIME_DIR to a shorter directory",
				  rt, file, MF_SOCK_MAX - 1);
	return 0;
}

static int data_file(struct mf_build *b, const char *file, char *buf, size_t sz)
{
	if (box_path(b->m->paths->data, file, buf, sz) < 0)
		return build_fail(b, "the path %s/%s is too long", b->m->paths->data, file);
	return 0;
}

static int note_file(struct mf_build *b, const char *file)
{
	struct box_manifest *m = b->m;

	for (unsigned i = 0; i < m->nfiles; i++)
		if (!strcmp(m->files[i], file))
			return 0;
	if (m->nfiles >= MF_MAX_FILES || strlen(file) >= sizeof(m->files[0]))
		return build_fail(b, "too many runtime files");
	strcpy(m->files[m->nfiles++], file);
	return 0;
}

/* A new entry whose backend serves RUNTIME/sock (noted for clean-up). */
static struct mf_device *add_device(struct mf_build *b, enum mf_kind kind, const char *role,
				    const char *sock)
{
	struct box_manifest *m = b->m;
	struct mf_device *d;

	if (m->ndev >= MF_MAX_DEVICES) {
		build_fail(b, "box %s has more than %d devices", m->paths->name, MF_MAX_DEVICES);
		return NULL;
	}
	d = &m->dev[m->ndev];
	*d = (struct mf_device){ .kind = kind, .spawn = true };
	snprintf(d->role, sizeof(d->role), "%s", role);
	if (runtime_socket(b, sock, d->socket, sizeof(d->socket)) < 0 || note_file(b, sock) < 0)
		return NULL;
	m->ndev++;
	return d;
}

/* --- vsock: lbx-vsockd; the host's side of every vsock port is RUNTIME/vsock.sock[_PORT] --- */

static int vsock_add(struct mf_build *b)
{
	struct mf_device *d = add_device(b, MF_VSOCK, "lbx-vsockd", "vsock-vu.sock");
	char port[32];

	if (!d || runtime_socket(b, MF_VSOCK_UDS, d->control, sizeof(d->control)) < 0 ||
	    note_file(b, MF_VSOCK_UDS) < 0)
		return -EINVAL;
	snprintf(port, sizeof(port), MF_VSOCK_UDS "_%d", LBX_AGENT_READY_PORT);
	return note_file(b, port);
}

static void vsock_argv(const struct mf_device *d, struct argv_buf *a)
{
	argv_add(a, "--socket");
	argv_add(a, "%s", d->socket);
	argv_add(a, "--uds-path");
	argv_add(a, "%s", d->control);
	argv_add(a, "--guest-cid");
	argv_add(a, "3");
}

static void vsock_qemu(const struct mf_device *d, unsigned idx, struct argv_buf *a)
{
	argv_add(a, "-chardev");
	argv_add(a, "socket,id=dev%u,path=%s", idx, d->socket);
	argv_add(a, "-device");
	argv_add(a, "vhost-user-vsock-device,chardev=dev%u", idx);
}

static void vsock_vmm(const struct mf_device *d, struct argv_buf *a)
{
	argv_add(a, "--vhost-user");
	argv_add(a, "vsock,%s", d->socket);
}

/*
 * libvirt 9.0's <vsock> is the kernel's vhost-vsock (/dev/vhost-vsock),
 * which would bypass lbx-vsockd: QEMU's vhost-user-vsock-device goes in
 * the QEMU namespace instead.
 */
static void vsock_libvirt(const struct mf_device *d, unsigned idx, struct mf_xml *x)
{
	mf_xml_qemu_arg(x, "-chardev");
	mf_xml_qemu_arg(x, "socket,id=lbx-dev%u,path=%s", idx, d->socket);
	mf_xml_qemu_arg(x, "-device");
	mf_xml_qemu_arg(x, "vhost-user-vsock-device,chardev=lbx-dev%u", idx);
}

/* --- fs: one lbx-fsd per tree (root, project, each mount); binds in a container --- */

static int fs_add_one(struct mf_build *b, const char *tag, const char *host, const char *guest,
		      bool ro, const char *ownership)
{
	char sock[64], role[48];
	struct mf_device *d;

	snprintf(sock, sizeof(sock), "fs-%s.sock", tag);
	snprintf(role, sizeof(role), "lbx-fsd (%s)", tag);
	d = add_device(b, MF_FS, role, sock);
	if (!d)
		return -EINVAL;
	snprintf(d->tag, sizeof(d->tag), "%s", tag);
	d->host_dir = host;
	d->guest_path = guest;
	d->read_only = ro;
	d->ownership = ownership;
	d->quota = ro ? 0 : b->m->cfg->quota_bytes;
	/* A container shares the host kernel: podman binds the trees, no server. */
	d->spawn = !light(b);
	return 0;
}

static int fs_add(struct mf_build *b)
{
	const struct box_config *c = b->m->cfg;
	int rc;

	if (data_file(b, "root", b->m->root, sizeof(b->m->root)) < 0)
		return -EINVAL;
	/* The root tree keeps guest owners in xattrs; the others are the user's files as they are. */
	rc = fs_add_one(b, "root", b->m->root, NULL, false, "xattr");
	if (rc == 0)
		rc = fs_add_one(b, "project", c->project, c->workdir, false, "identity");
	if (rc == 0) {
		b->m->dev[b->m->ndev - 1].protect = c->protect;
		b->m->dev[b->m->ndev - 1].nprotect = c->nprotect;
	}
	for (unsigned i = 0; rc == 0 && i < c->nmounts; i++) {
		char tag[16];

		snprintf(tag, sizeof(tag), "mount%u", i);
		rc = fs_add_one(b, tag, c->mounts[i].host, c->mounts[i].guest,
				c->mounts[i].read_only, "identity");
	}
	return rc;
}

static void fs_argv(const struct mf_device *d, struct argv_buf *a)
{
	argv_add(a, "--socket");
	argv_add(a, "%s", d->socket);
	argv_add(a, "--tag");
	argv_add(a, "%s", d->tag);
	argv_add(a, "--shared-dir");
	argv_add(a, "%s", d->host_dir);
	argv_add(a, "--ownership");
	argv_add(a, "%s", d->ownership);
	if (d->read_only)
		argv_add(a, "--read-only");
	for (unsigned i = 0; i < d->nprotect; i++) {
		argv_add(a, "--protect");
		argv_add(a, "%s", d->protect[i]);
	}
	if (d->quota) {
		argv_add(a, "--quota-bytes");
		argv_add(a, "%llu", d->quota);
	}
}

static void fs_qemu(const struct mf_device *d, unsigned idx, struct argv_buf *a)
{
	argv_add(a, "-chardev");
	argv_add(a, "socket,id=dev%u,path=%s", idx, d->socket);
	argv_add(a, "-device");
	argv_add(a, "vhost-user-fs-device,chardev=dev%u,tag=%s", idx, d->tag);
}

static void fs_vmm(const struct mf_device *d, struct argv_buf *a)
{
	argv_add(a, "--vhost-user");
	argv_add(a, "fs,%s,tag=%s", d->socket, d->tag);
}

/*
 * A virtiofs <filesystem> whose daemon runs outside libvirt (<source
 * socket>): QEMU's vhost-user-fs-device on lbx-fsd's socket. libvirt
 * takes no <readonly/> for virtiofs; lbx-fsd --read-only and the agent's
 * read-only mount enforce it, as on engine qemu.
 */
static void fs_libvirt(const struct mf_device *d, unsigned idx, struct mf_xml *x)
{
	fputs("    <filesystem type='mount'>\n      <driver type='virtiofs'/>\n", x->dev);
	mf_xml_line(x->dev, "      <source socket='%s'/>", d->socket);
	mf_xml_line(x->dev, "      <target dir='%s'/>", d->tag);
	fputs("      <address type='virtio-mmio'/>\n    </filesystem>\n", x->dev);
}

/* podman --mount splits on ',' and '='; such a path cannot be given to it. */
static int bind_mount(struct argv_buf *a, const char *src, const char *dst, bool ro, char *err,
		      size_t errsz)
{
	const char *bad = strpbrk(src, ",=") ? src : (strpbrk(dst, ",=") ? dst : NULL);

	if (bad) {
		snprintf(err, errsz, "engine light cannot mount %s: podman takes no ',' or '=' in "
				     "mount paths", bad);
		return -1;
	}
	argv_add(a, "--mount");
	argv_add(a, "type=bind,source=%s,destination=%s%s", src, dst, ro ? ",ro=true" : "");
	return 0;
}

/*
 * The root tree is podman's --rootfs, given last (engine_light.c). The
 * protected paths that exist are bound read-only over themselves: weaker
 * than lbx-fsd's --protect (a path made later, or a parent renamed, is not
 * covered), as the README's threat model says.
 */
static int fs_light(const struct mf_device *d, struct argv_buf *a, char *err, size_t errsz)
{
	char host[PATH_MAX], guest[PATH_MAX];
	struct stat st;

	if (!d->guest_path)
		return 0;
	if (bind_mount(a, d->host_dir, d->guest_path, d->read_only, err, errsz) < 0)
		return -1;
	for (unsigned i = 0; i < d->nprotect; i++) {
		if (box_path(d->host_dir, d->protect[i], host, sizeof(host)) < 0 ||
		    box_path(d->guest_path, d->protect[i], guest, sizeof(guest)) < 0 ||
		    lstat(host, &st) < 0 || !(S_ISREG(st.st_mode) || S_ISDIR(st.st_mode)))
			continue;
		if (bind_mount(a, host, guest, true, err, errsz) < 0)
			return -1;
	}
	return 0;
}

/* --- net: lbx-netd, virtio-net over vhost-user, or a container's framed stream --- */

static int net_add(struct mf_build *b)
{
	const struct box_config *c = b->m->cfg;
	struct mf_device *d;

	if (c->net_none)
		return 0;
	d = add_device(b, MF_NET, "lbx-netd", light(b) ? MF_LIGHT_DIR "/net.sock" : "net-vu.sock");
	if (!d || runtime_socket(b, MF_NETD_CONTROL, d->control, sizeof(d->control)) < 0 ||
	    note_file(b, MF_NETD_CONTROL) < 0 ||
	    data_file(b, "net-policy.json", d->policy, sizeof(d->policy)) < 0)
		return -EINVAL;
	d->stream = light(b);
	d->policy_text = c->net_policy ? c->net_policy : "{}";
	return 0;
}

static void net_argv(const struct mf_device *d, struct argv_buf *a)
{
	argv_add(a, d->stream ? "--stream" : "--socket");
	argv_add(a, "%s", d->socket);
	argv_add(a, "--policy");
	argv_add(a, "%s", d->policy);
	argv_add(a, "--control");
	argv_add(a, "%s", d->control);
}

static void net_qemu(const struct mf_device *d, unsigned idx, struct argv_buf *a)
{
	argv_add(a, "-chardev");
	argv_add(a, "socket,id=dev%u,path=%s", idx, d->socket);
	argv_add(a, "-netdev");
	argv_add(a, "vhost-user,id=net%u,chardev=dev%u", idx, idx);
	argv_add(a, "-device");
	argv_add(a, "virtio-net-device,netdev=net%u", idx);
}

static void net_vmm(const struct mf_device *d, struct argv_buf *a)
{
	argv_add(a, "--vhost-user");
	argv_add(a, "net,%s", d->socket);
}

/* QEMU's own default MAC, so the guest's card is the same as on engine qemu. */
static void net_libvirt(const struct mf_device *d, unsigned idx, struct mf_xml *x)
{
	fputs("    <interface type='vhostuser'>\n      <mac address='52:54:00:12:34:56'/>\n",
	      x->dev);
	mf_xml_line(x->dev, "      <source type='unix' path='%s' mode='client'/>", d->socket);
	fputs("      <model type='virtio'/>\n      <address type='virtio-mmio'/>\n"
	      "    </interface>\n",
	      x->dev);
}

/* The tap the agent relays (agent_params.h net-stream); it drops the capability after. */
static int net_light(const struct mf_device *d, struct argv_buf *a, char *err, size_t errsz)
{
	argv_add(a, "--device");
	argv_add(a, "/dev/net/tun");
	argv_add(a, "--cap-add");
	argv_add(a, "NET_ADMIN");
	return 0;
}

/*
 * A host proxy that filters by a policy and audits (ssh, wayland): its
 * entry on sock, with DATA/NAME-policy.json written from text and
 * DATA/NAME-audit.log.
 */
static struct mf_device *add_policy_proxy(struct mf_build *b, enum mf_kind kind, const char *role,
					  const char *sock, const char *name, const char *text)
{
	struct mf_device *d = add_device(b, kind, role, sock);
	char file[64];

	if (!d)
		return NULL;
	snprintf(file, sizeof(file), "%s-policy.json", name);
	if (data_file(b, file, d->policy, sizeof(d->policy)) < 0)
		return NULL;
	snprintf(file, sizeof(file), "%s-audit.log", name);
	if (data_file(b, file, d->audit, sizeof(d->audit)) < 0)
		return NULL;
	d->policy_text = text;
	d->box = b->m->paths->name;
	return d;
}

/* The arguments every policy proxy takes after its own. */
static void policy_proxy_argv(const struct mf_device *d, struct argv_buf *a)
{
	argv_add(a, "--policy");
	argv_add(a, "%s", d->policy);
	argv_add(a, "--box");
	argv_add(a, "%s", d->box);
	argv_add(a, "--audit-log");
	argv_add(a, "%s", d->audit);
}

/* --- ssh: lbx-ssh-proxy between the box and the user's agent --- */

static int ssh_add(struct mf_build *b)
{
	const struct box_config *c = b->m->cfg;
	const char *upstream = getenv("SSH_AUTH_SOCK");
	char sock[64];
	struct mf_device *d;

	if (!c->ssh_policy)
		return 0;
	if (!upstream || !upstream[0])
		return build_fail(b, "the box's ssh section needs an SSH agent on the host, and "
				     "SSH_AUTH_SOCK is not set");
	/* A VM's guest reaches host port N at RUNTIME/vsock.sock_N (lbx-vsockd). */
	if (light(b))
		snprintf(sock, sizeof(sock), MF_LIGHT_DIR "/ssh.sock");
	else
		snprintf(sock, sizeof(sock), MF_VSOCK_UDS "_%d", LBX_SSH_PORT);
	d = add_policy_proxy(b, MF_SSH, "lbx-ssh-proxy", sock, "ssh", c->ssh_policy);
	if (!d)
		return -EINVAL;
	d->upstream = upstream;
	return 0;
}

static void ssh_argv(const struct mf_device *d, struct argv_buf *a)
{
	argv_add(a, "--listen");
	argv_add(a, "%s", d->socket);
	argv_add(a, "--upstream");
	argv_add(a, "%s", d->upstream);
	policy_proxy_argv(d, a);
}

/* --- usb: one lbx-usbipd per host device a rule of devices.usb names (VMs: vhci-hcd) --- */

/* RUNTIME/vsock.sock_PORT of USB slot i: lbx-vsockd's host side of guest port LBX_USB_PORT + i. */
static void usb_slot_file(unsigned i, char *buf, size_t sz)
{
	snprintf(buf, sz, MF_VSOCK_UDS "_%u", LBX_USB_PORT + i);
}

static int usb_add(struct mf_build *b)
{
	static struct usb_host_dev host[USB_HOST_MAX];
	static struct usb_rules rules;
	const struct box_config *c = b->m->cfg;
	char sock[64], err[512], role[48];
	unsigned n, slot = 0;

	if (!c->usb_rules && !c->nserial)
		return 0;
	/* Every slot's socket is the box's, whether a device is there now or not (clean-up). */
	for (unsigned i = 0; i < MF_USB_SLOTS; i++) {
		usb_slot_file(i, sock, sizeof(sock));
		if (note_file(b, sock) < 0)
			return -EINVAL;
	}
	/* Serial ports first: the definition names each by its path. */
	for (unsigned i = 0; i < c->nserial && slot < MF_USB_SLOTS; i++) {
		struct mf_device *d;

		usb_slot_file(slot++, sock, sizeof(sock));
		snprintf(role, sizeof(role), "lbx-usbipd (%s)", c->serial_ports[i]);
		d = add_device(b, MF_USB, role, sock);
		if (!d || data_file(b, "usb-audit.log", d->audit, sizeof(d->audit)) < 0)
			return -EINVAL;
		d->box = b->m->paths->name;
		d->usb_tty = c->serial_ports[i];
		snprintf(d->usb_name, sizeof(d->usb_name), "%s", c->serial_ports[i]);
	}
	if (!c->usb_rules)
		return 0;
	if (usb_rules_parse(c->usb_rules, strlen(c->usb_rules), c->file, &rules, err,
			    sizeof(err)) < 0)
		return build_fail(b, "%s", err);
	n = usb_host_list(NULL, host, USB_HOST_MAX);
	for (unsigned i = 0; i < n && slot < MF_USB_SLOTS; i++) {
		struct mf_device *d;

		if (usb_rules_match(&rules, &host[i].ident) < 0)
			continue;
		usb_slot_file(slot++, sock, sizeof(sock));
		snprintf(role, sizeof(role), "lbx-usbipd (%s)", host[i].name);
		d = add_device(b, MF_USB, role, sock);
		if (!d || data_file(b, "usb-rules.json", d->policy, sizeof(d->policy)) < 0 ||
		    data_file(b, "usb-audit.log", d->audit, sizeof(d->audit)) < 0)
			return -EINVAL;
		d->policy_text = c->usb_rules;
		d->box = b->m->paths->name;
		snprintf(d->usb_node, sizeof(d->usb_node), "%s", host[i].node);
		snprintf(d->usb_sim, sizeof(d->usb_sim), "%s", host[i].sim);
		snprintf(d->usb_name, sizeof(d->usb_name), "%s", host[i].name);
	}
	return 0;
}

static void usb_argv(const struct mf_device *d, struct argv_buf *a)
{
	argv_add(a, "--listen");
	argv_add(a, "%s", d->socket);
	if (d->usb_tty) {
		/* Granted by its path: no rules to match. */
		argv_add(a, "--tty");
		argv_add(a, "%s", d->usb_tty);
	} else {
		argv_add(a, d->usb_sim[0] ? "--sim" : "--device");
		argv_add(a, "%s", d->usb_sim[0] ? d->usb_sim : d->usb_node);
		argv_add(a, "--rules");
		argv_add(a, "%s", d->policy);
	}
	argv_add(a, "--box");
	argv_add(a, "%s", d->box);
	argv_add(a, "--audit-log");
	argv_add(a, "%s", d->audit);
	argv_add(a, "--name");
	argv_add(a, "%s", d->usb_name);
}

/* --- wayland: lbx-wayland-proxy between the box's clients and the compositor --- */

static int wayland_add(struct mf_build *b)
{
	const struct box_config *c = b->m->cfg;
	const char *rt = getenv("XDG_RUNTIME_DIR"), *disp = getenv("WAYLAND_DISPLAY");
	static char compositor[PATH_MAX];
	char sock[64];
	struct mf_device *d;

	if (!c->wayland_policy)
		return 0;
	if (light(b))
		return build_fail(b, "the box's wayland section needs a VM engine (engine light "
				     "does not carry Wayland yet)");
	if (!disp || !disp[0] || (disp[0] != '/' && (!rt || !rt[0])))
		return build_fail(b, "the box's wayland section needs a Wayland session on the "
				     "host, and WAYLAND_DISPLAY (or XDG_RUNTIME_DIR) is not set");
	if (disp[0] == '/')
		snprintf(compositor, sizeof(compositor), "%s", disp);
	else
		snprintf(compositor, sizeof(compositor), "%s/%s", rt, disp);
	snprintf(sock, sizeof(sock), MF_VSOCK_UDS "_%d", LBX_WAYLAND_PORT);
	d = add_policy_proxy(b, MF_WAYLAND, "lbx-wayland-proxy", sock, "wayland",
			     c->wayland_policy);
	if (!d)
		return -EINVAL;
	d->compositor = compositor;
	return 0;
}

static void wayland_argv(const struct mf_device *d, struct argv_buf *a)
{
	argv_add(a, "--listen");
	argv_add(a, "%s", d->socket);
	argv_add(a, "--compositor");
	argv_add(a, "%s", d->compositor);
	if (d->control[0]) {
		argv_add(a, "--gpu-frames");
		argv_add(a, "%s", d->control);
	}
	policy_proxy_argv(d, a);
}

/* --- gpu: lbx-gpud, virtio-gpu on virglrenderer (QEMU's vhost-user-gpu) --- */

#define MF_GPU_FRAMES "gpu-frames.sock"

static int gpu_add(struct mf_build *b)
{
	struct mf_device *d;

	if (!b->m->cfg->gpu)
		return 0;
	/* libvirt's rendering and a container's are not there yet. */
	if (b->m->engine != ENGINE_QEMU && b->m->engine != ENGINE_VM)
		return build_fail(b, "the box's \"gpu\" needs engine vm or qemu (engine %s has no "
				     "virtio-gpu yet); use lbx up --engine vm or set \"gpu\": false",
				  box_engine_name(b->m->engine));
	/* QEMU 7.2's vhost-user-gpu (vhost_user_backend_dev_init) wants KVM's ioeventfds. */
	if (b->m->engine == ENGINE_QEMU && !b->m->kvm)
		return build_fail(b, "the box's \"gpu\" needs engine qemu with KVM: QEMU's "
				     "vhost-user-gpu refuses TCG (\"requires kvm\"), and this host's "
				     "KVM cannot run a Linux guest; set \"gpu\": false here");
	d = add_device(b, MF_GPU, "lbx-gpud", "gpu-vu.sock");
	if (!d)
		return -EINVAL;
	/*
	 * With Wayland too, the proxy reads what the guest draws on the GPU back
	 * from lbx-gpud's frames socket (backends/gpu/frames_proto.h).
	 */
	for (unsigned i = 0; i < b->m->ndev; i++) {
		struct mf_device *w = &b->m->dev[i];

		if (w->kind != MF_WAYLAND)
			continue;
		if (runtime_socket(b, MF_GPU_FRAMES, d->control, sizeof(d->control)) < 0 ||
		    note_file(b, MF_GPU_FRAMES) < 0)
			return -EINVAL;
		snprintf(w->control, sizeof(w->control), "%s", d->control);
	}
	return 0;
}

static void gpu_argv(const struct mf_device *d, struct argv_buf *a)
{
	argv_add(a, "--socket");
	argv_add(a, "%s", d->socket);
	if (d->control[0]) {
		argv_add(a, "--frames-socket");
		argv_add(a, "%s", d->control);
	}
}

/* vhost-user-gpu sits on the virtio bus, so microvm's virtio-mmio carries it. */
static void gpu_qemu(const struct mf_device *d, unsigned idx, struct argv_buf *a)
{
	argv_add(a, "-chardev");
	argv_add(a, "socket,id=dev%u,path=%s", idx, d->socket);
	argv_add(a, "-device");
	argv_add(a, "vhost-user-gpu,chardev=dev%u", idx);
}

/* lbx-vmm's vhost-user-gpu front-end (vmm/vhost_gpu.c). */
static void gpu_vmm(const struct mf_device *d, struct argv_buf *a)
{
	argv_add(a, "--vhost-user");
	argv_add(a, "gpu,%s", d->socket);
}

/* Neither engine has a device for it: the guest reaches the proxy through vsock or a socket. */
static void no_qemu(const struct mf_device *d, unsigned idx, struct argv_buf *a)
{
}

static void no_vmm(const struct mf_device *d, struct argv_buf *a)
{
}

static int no_light(const struct mf_device *d, struct argv_buf *a, char *err, size_t errsz)
{
	return 0;
}

static void no_libvirt(const struct mf_device *d, unsigned idx, struct mf_xml *x)
{
}

/*
 * The table. Rows are in start-up order: the supervisor starts backends
 * in this order, and each engine lists its devices in it.
 */
static const struct mf_kind_ops {
	const char *name;
	enum lbx_asset program;
	unsigned engines; /* which engines carry the kind */
	int (*add)(struct mf_build *b);
	void (*argv)(const struct mf_device *d, struct argv_buf *a);
	void (*qemu)(const struct mf_device *d, unsigned idx, struct argv_buf *a);
	void (*vmm)(const struct mf_device *d, struct argv_buf *a);
	int (*light)(const struct mf_device *d, struct argv_buf *a, char *err, size_t errsz);
	void (*libvirt)(const struct mf_device *d, unsigned idx, struct mf_xml *x);
} kinds[MF_KIND_COUNT] = {
	[MF_VSOCK] = { "vsock", ASSET_VSOCKD, ENG_VMS, vsock_add, vsock_argv, vsock_qemu, vsock_vmm,
		       no_light, vsock_libvirt },
	[MF_FS] = { "fs", ASSET_FSD, ENG_ALL, fs_add, fs_argv, fs_qemu, fs_vmm, fs_light,
		    fs_libvirt },
	[MF_SSH] = { "ssh", ASSET_SSH_PROXY, ENG_ALL, ssh_add, ssh_argv, no_qemu, no_vmm, no_light,
		     no_libvirt },
	[MF_NET] = { "net", ASSET_NETD, ENG_ALL, net_add, net_argv, net_qemu, net_vmm, net_light,
		     net_libvirt },
	/* A container has no vhci-hcd of its own: USB passthrough is for the VM engines. */
	[MF_USB] = { "usb", ASSET_USBIPD, ENG_VMS, usb_add, usb_argv, no_qemu, no_vmm, no_light,
		     no_libvirt },
	[MF_WAYLAND] = { "wayland", ASSET_WAYLAND_PROXY, ENG_ALL, wayland_add, wayland_argv,
			 no_qemu, no_vmm, no_light, no_libvirt },
	/* Every engine, so that those without virtio-gpu refuse "gpu" in gpu_add. */
	[MF_GPU] = { "gpu", ASSET_GPUD, ENG_ALL, gpu_add, gpu_argv, gpu_qemu, gpu_vmm, no_light,
		     no_libvirt },
};

/* Start-up order (the table is indexed by kind; this is the order entries are added in). */
static const enum mf_kind order[] = { MF_VSOCK, MF_FS, MF_SSH, MF_NET, MF_USB, MF_WAYLAND,
				       MF_GPU };

enum lbx_asset manifest_program(const struct mf_device *d)
{
	return kinds[d->kind].program;
}

void manifest_backend_argv(const struct mf_device *d, const char *exe, struct argv_buf *a)
{
	argv_add(a, "%s", exe);
	kinds[d->kind].argv(d, a);
}

void manifest_qemu_device(const struct mf_device *d, unsigned idx, struct argv_buf *a)
{
	kinds[d->kind].qemu(d, idx, a);
}

void manifest_vmm_device(const struct mf_device *d, struct argv_buf *a)
{
	kinds[d->kind].vmm(d, a);
}

int manifest_light_device(const struct mf_device *d, struct argv_buf *a, char *err, size_t errsz)
{
	return kinds[d->kind].light(d, a, err, errsz);
}

void manifest_libvirt_device(const struct mf_device *d, unsigned idx, struct mf_xml *x)
{
	kinds[d->kind].libvirt(d, idx, x);
}

/* --- XML for engine libvirt: every value passes through one escaper --- */

void mf_xml_escape(FILE *f, const char *s)
{
	for (; *s; s++) {
		switch (*s) {
		case '&': fputs("&amp;", f); break;
		case '<': fputs("&lt;", f); break;
		case '>': fputs("&gt;", f); break;
		case '\'': fputs("&apos;", f); break;
		case '"': fputs("&quot;", f); break;
		default: fputc(*s, f);
		}
	}
}

/* fmt's literal text as it is, each %s / %u value escaped (the only conversions used). */
void mf_xml_line(FILE *f, const char *fmt, ...)
{
	va_list ap;
	char num[24];

	va_start(ap, fmt);
	for (const char *p = fmt; *p; p++) {
		if (p[0] != '%' || (p[1] != 's' && p[1] != 'u')) {
			fputc(*p, f);
			continue;
		}
		if (p[1] == 's') {
			mf_xml_escape(f, va_arg(ap, const char *));
		} else {
			snprintf(num, sizeof(num), "%u", va_arg(ap, unsigned));
			fputs(num, f);
		}
		p++;
	}
	va_end(ap);
	fputc('\n', f);
}

void mf_xml_qemu_arg(struct mf_xml *x, const char *fmt, ...)
{
	va_list ap;
	char *arg = NULL;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&arg, fmt, ap);
	va_end(ap);
	if (n < 0) {
		x->oom = true;
		return;
	}
	mf_xml_line(x->qemu, "    <qemu:arg value='%s'/>", arg);
	free(arg);
}

/* --- the agent's parameters (common/agent_params.h), the same words for every engine --- */

static int word(struct mf_build *b, enum agent_param k, const char *fmt, ...) LBX_PRINTF(3, 4);
static int word(struct mf_build *b, enum agent_param k, const char *fmt, ...)
{
	struct box_manifest *m = b->m;
	char *value = NULL, *w, **grown;
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&value, fmt, ap);
	va_end(ap);
	w = n < 0 ? NULL : agent_param_word(k, value);
	free(value);
	grown = w ? realloc(m->agent, (m->nagent + 1) * sizeof(*m->agent)) : NULL;
	if (!grown) {
		free(w);
		return build_fail(b, "out of memory");
	}
	m->agent = grown;
	m->agent[m->nagent++] = w;
	return 0;
}

/* How the agent reaches the host, per engine: a vsock port, or a socket in the bound dir. */
static int host_endpoint(struct mf_build *b, enum agent_param k, unsigned port, const char *file)
{
	if (light(b))
		return word(b, k, "unix:" MF_LIGHT_GUEST_DIR "/%s", file);
	return word(b, k, "vsock:%u", port);
}

static int agent_user(struct mf_build *b)
{
	struct passwd *pw = getpwuid(getuid());
	char home[PATH_MAX];
	int rc = 0;

	image_box_home(home, sizeof(home));
	rc |= word(b, AP_UID, "%u", (unsigned)getuid());
	rc |= word(b, AP_GID, "%u", (unsigned)getgid());
	rc |= word(b, AP_USER, "%s", getuid() == 0 ? "root" : (pw ? pw->pw_name : "user"));
	rc |= word(b, AP_HOME, "%s", home);
	return rc ? -ENOMEM : 0;
}

static int agent_words(struct mf_build *b)
{
	const struct box_manifest *m = b->m;
	const struct box_config *c = m->cfg;
	int rc = 0;

	rc |= word(b, AP_HOSTNAME, "%s", c->name);
	rc |= host_endpoint(b, AP_SERVE, LBX_AGENT_EXEC_PORT, "agent.sock");
	rc |= host_endpoint(b, AP_NOTIFY, LBX_AGENT_READY_PORT, "ready.sock");
	rc |= agent_user(b);
	if (!c->root_sessions)
		rc |= word(b, AP_ROOT, "0");
	if (!c->elsewhere_readable)
		rc |= word(b, AP_ELSEWHERE, "none");
	for (unsigned i = 0; i < c->nrw; i++)
		rc |= word(b, AP_RW, "%s", c->rw_paths[i]);
	for (unsigned i = 0; i < c->nro; i++)
		rc |= word(b, AP_RO, "%s", c->ro_paths[i]);
	for (unsigned i = 0; i < m->ndev; i++) {
		const struct mf_device *d = &m->dev[i];

		if (d->kind == MF_SSH)
			rc |= host_endpoint(b, AP_SSH, LBX_SSH_PORT, "ssh.sock");
		if (d->kind == MF_WAYLAND)
			rc |= host_endpoint(b, AP_WAYLAND, LBX_WAYLAND_PORT, "wayland.sock");
		if (d->kind == MF_NET) {
			if (d->stream)
				rc |= word(b, AP_NET_STREAM, "unix:" MF_LIGHT_GUEST_DIR "/net.sock");
			rc |= word(b, AP_NET, "%s", LBX_GUEST_NET);
		}
		if (d->kind != MF_FS)
			continue;
		/* A VM mounts its virtio-fs trees; in a container podman bound them already. */
		if (!light(b) && !d->guest_path)
			rc |= word(b, AP_ROOTFS, "%s", d->tag);
		else if (!light(b))
			rc |= word(b, AP_MOUNT, "%s:%s%s", d->tag, d->guest_path,
				   d->read_only ? ":ro" : "");
		else if (d->guest_path)
			rc |= word(b, d->read_only ? AP_RO : AP_RW, "%s", d->guest_path);
	}
	/* Every USB slot, so `lbx device attach` can fill one while the box runs. */
	for (unsigned i = 0; (c->usb_rules || c->nserial) && !light(b) && i < MF_USB_SLOTS; i++)
		rc |= word(b, AP_USB, "vsock:%u", LBX_USB_PORT + i);
	for (unsigned i = 0; i < c->nenv; i++)
		rc |= word(b, AP_ENV, "%s", c->env[i]);
	/*
	 * A container's files are the host's: no session may give them set-id
	 * bits, device nodes, other owners or xattrs (the ownership xattr of
	 * the VM engines' lbx-fsd among them), as lbx-fsd refuses for a VM.
	 */
	if (light(b))
		rc |= word(b, AP_FS_GUARD, "1");
	return rc ? -ENOMEM : 0;
}

char *manifest_kernel_cmdline(const struct box_manifest *m, const char *reboot)
{
	return manifest_kernel_cmdline_on(m, "ttyS0", reboot);
}

char *manifest_kernel_cmdline_on(const struct box_manifest *m, const char *console,
				 const char *reboot)
{
	char *line = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&line, &len);

	if (!f)
		return NULL;
	fprintf(f, "console=%s reboot=%s panic=-1 quiet", console, reboot);
	for (unsigned i = 0; i < m->nagent; i++)
		fprintf(f, " %s", m->agent[i]);
	if (fclose(f) != 0) {
		free(line);
		return NULL;
	}
	return line;
}

int manifest_build(struct box_manifest *m, const struct box_config *c, const struct box_paths *p,
		   enum box_engine e, char *err, size_t errsz)
{
	struct mf_build b = { m, err, errsz };
	int rc = 0;

	*m = (struct box_manifest){ .engine = e, .cfg = c, .paths = p };
	m->kvm = e == ENGINE_QEMU && engine_kvm_runs_linux();
	err[0] = '\0';
	if (e != ENGINE_VM && e != ENGINE_QEMU && e != ENGINE_LIGHT && e != ENGINE_LIBVIRT)
		return build_fail(&b, "engine %s is not available in this version",
				  box_engine_name(e));
	for (size_t i = 0; rc == 0 && i < LBX_ARRAY_SIZE(order); i++)
		if (kinds[order[i]].engines & ENG(e))
			rc = kinds[order[i]].add(&b);
	if (rc == 0 && e == ENGINE_LIGHT)
		rc = runtime_socket(&b, MF_LIGHT_DIR "/ready.sock", m->ready, sizeof(m->ready));
	else if (rc == 0)
		rc = runtime_socket(&b, MF_VSOCK_UDS "_" LBX_STR(LBX_AGENT_READY_PORT), m->ready,
				    sizeof(m->ready));
	if (rc == 0 && e == ENGINE_LIGHT) {
		char agent[MF_SOCK_MAX];

		rc = runtime_socket(&b, MF_LIGHT_AGENT_SOCK, agent, sizeof(agent));
		rc = rc ?: note_file(&b, MF_LIGHT_AGENT_SOCK);
		rc = rc ?: note_file(&b, MF_LIGHT_DIR "/ready.sock");
		/* Last: the directory goes once its sockets have. */
		rc = rc ?: note_file(&b, MF_LIGHT_DIR);
	}
	rc = rc ?: note_file(&b, MF_STATE);
	rc = rc ?: agent_words(&b);
	if (rc < 0) {
		manifest_free(m);
		if (!err[0])
			snprintf(err, errsz, "out of memory");
	}
	return rc < 0 ? rc : 0;
}

void manifest_free(struct box_manifest *m)
{
	for (unsigned i = 0; i < m->nagent; i++)
		free(m->agent[i]);
	free(m->agent);
	m->agent = NULL;
	m->nagent = 0;
}
