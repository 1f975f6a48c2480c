/* SPDX-License-Identifier: MIT */
/*
 * One box manifest: what a box is made of, computed once from its resolved
 * definition and engine (ARCHITECTURE.md "One box manifest").
 *
 * Every device and channel of a box is one entry: its kind, the backend
 * program the supervisor starts for it (if this engine needs one), the
 * socket that backend serves (its length checked here, once, with a clear
 * error), its virtio-fs tag, vsock port and files. The supervisor starts
 * the entries, each engine renders them (engine_qemu.c, engine_vm.c,
 * engine_light.c, engine_libvirt.c: QEMU argv, lbx-vmm argv, podman argv,
 * libvirt XML), clean-up walks
 * them, and the agent's parameters (common/agent_params.h) come from here
 * too. A new kind of device is one row of kinds[] in manifest.c plus its
 * own folder.
 */
#ifndef LBX_MANIFEST_H
#define LBX_MANIFEST_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "assets.h"
#include "box.h"
#include "config.h"
#include "engine_args.h"

/* The agent's vsock ports (guest side) and the host ports it reaches. */
#define LBX_AGENT_EXEC_PORT 1024
#define LBX_AGENT_READY_PORT 1025
#define LBX_SSH_PORT 1026
/* USB slots: lbx-usbipd for the box's Nth device serves host port LBX_USB_PORT + N. */
#define LBX_USB_PORT 1100
#define MF_USB_SLOTS 4
#define LBX_WAYLAND_PORT 1027

/* Files of the runtime directory that outlive a single device. */
#define MF_VSOCK_UDS "vsock.sock"	  /* lbx-vsockd's host side (VMs) */
#define MF_NETD_CONTROL "netd-control.sock" /* `lbx net` */
#define MF_STATE "state.json"
#define MF_LIGHT_DIR "light"			/* engine light: bound at MF_LIGHT_GUEST_DIR */
#define MF_LIGHT_AGENT_SOCK "light/agent.sock" /* the agent's exec service */
#define MF_LIGHT_GUEST_DIR "/run/lbx/host"

#define MF_SOCK_MAX 108 /* sizeof(sockaddr_un.sun_path) */
#define MF_MAX_DEVICES (4 + BOX_MAX_MOUNTS + MF_USB_SLOTS)
#define MF_MAX_FILES (3 * MF_MAX_DEVICES + 8)

enum mf_kind { MF_VSOCK, MF_FS, MF_NET, MF_SSH, MF_USB, MF_WAYLAND, MF_GPU, MF_KIND_COUNT };

struct mf_device {
	enum mf_kind kind;
	char role[48];	      /* "lbx-fsd (project)": logs, lbx status */
	bool spawn;	      /* the supervisor starts its backend on this engine */
	char socket[MF_SOCK_MAX]; /* what the backend listens on */
	/* fs */
	char tag[37];		/* virtio-fs tag (virtio 1.2 §5.11.4: at most 36 bytes) */
	const char *host_dir;	/* the shared tree */
	const char *guest_path; /* where the agent (or podman) puts it; NULL: the root */
	bool read_only;
	const char *ownership; /* lbx-fsd --ownership */
	char *const *protect;  /* lbx-fsd --protect: read-only paths in the tree */
	unsigned nprotect;
	unsigned long long quota; /* lbx-fsd --quota-bytes (0: none) */
	/* net, ssh */
	char policy[PATH_MAX];	  /* policy file, written before the backend starts */
	const char *policy_text;
	char control[MF_SOCK_MAX]; /* net: lbx-netd --control; vsock: the host side's base path;
				      gpu, wayland: lbx-gpud's frames socket (both on) */
	bool stream;		   /* net: a framed stream (a container's tap relay) */
	char audit[PATH_MAX];	   /* ssh: audit log */
	const char *upstream;	   /* ssh: the user's agent */
	const char *box;	   /* ssh, usb, wayland: the box's name, for its audit lines */
	/* usb: the host device (usbfs node) or simulated kind lbx-usbipd exports */
	char usb_node[64];
	char usb_sim[16];
	char usb_name[48]; /* its host name ("1-1.2", "sim:cdc-acm"): lbx-usbipd --name */
	const char *usb_tty; /* a serial port that is not USB (devices.serial): --tty */
	const char *compositor;	   /* wayland: the host compositor's socket */
};

struct box_manifest {
	enum box_engine engine;
	bool kvm; /* the host's KVM runs Linux guests (engine qemu: -accel kvm) */
	const struct box_config *cfg;
	const struct box_paths *paths;
	struct mf_device dev[MF_MAX_DEVICES];
	unsigned ndev;
	char root[PATH_MAX]; /* the box's root tree, DATA/root */
	char ready[MF_SOCK_MAX]; /* where the supervisor waits for the agent's READY */
	/* The agent's parameters, "lbx.KEY=VALUE" words (heap). */
	char **agent;
	unsigned nagent;
	/* Runtime files the box makes, for clean-up (relative to the runtime dir). */
	char files[MF_MAX_FILES][64];
	unsigned nfiles;
};

/*
 * The manifest of box c on engine e (vm, qemu, light or libvirt). 0, or -errno with
 * one line in err (a socket path too long for its runtime directory, an
 * ssh section without SSH_AUTH_SOCK, out of memory).
 */
int manifest_build(struct box_manifest *m, const struct box_config *c,
		   const struct box_paths *p, enum box_engine e, char *err, size_t errsz);
void manifest_free(struct box_manifest *m);

/* The backend's program and its command line (argv[0] is exe). */
enum lbx_asset manifest_program(const struct mf_device *d);
void manifest_backend_argv(const struct mf_device *d, const char *exe, struct argv_buf *a);

/* Each engine's rendering of one device (the kinds[] table's columns). */
void manifest_qemu_device(const struct mf_device *d, unsigned idx, struct argv_buf *a);
void manifest_vmm_device(const struct mf_device *d, struct argv_buf *a);
/* Engine light: 0, or -1 with err (podman cannot take the path). */
int manifest_light_device(const struct mf_device *d, struct argv_buf *a, char *err,
			  size_t errsz);

/*
 * Engine libvirt (engine_libvirt.c): each device as elements of the
 * domain's <devices> (dev), and, where libvirt 9.0 has no element for it,
 * as QEMU arguments for <qemu:commandline> (qemu). Values are escaped.
 */
struct mf_xml {
	FILE *dev;
	FILE *qemu;
	bool oom;
};
void manifest_libvirt_device(const struct mf_device *d, unsigned idx, struct mf_xml *x);
/* s as XML text or attribute value (& < > ' " escaped). */
void mf_xml_escape(FILE *f, const char *s);
/* One line: fmt's text as it is, each %s or %u argument escaped (no other conversions). */
void mf_xml_line(FILE *f, const char *fmt, ...) LBX_PRINTF(2, 3);
/* One <qemu:arg value='...'/> line (printf format, the result escaped). */
void mf_xml_qemu_arg(struct mf_xml *x, const char *fmt, ...) LBX_PRINTF(2, 3);

/* "console=... lbx.KEY=VALUE ..." for a VM, reboot= as the engine ends the machine. */
char *manifest_kernel_cmdline(const struct box_manifest *m, const char *reboot);
/* The same with console=CONSOLE instead of ttyS0 (QEMU's arm64 virt machine: ttyAMA0). */
char *manifest_kernel_cmdline_on(const struct box_manifest *m, const char *console,
				 const char *reboot);

#endif
