/* SPDX-License-Identifier: MIT */
/*
 * Box definitions (docs/box.md): lbx.json in a project, or
 * $XDG_CONFIG_HOME/lbx/boxes/NAME.json. Parsed strictly with common/json:
 * an unknown key or a bad value is an error naming the file and the key.
 */
#ifndef LBX_CONFIG_H
#define LBX_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#define BOX_MAX_MOUNTS 16
#define BOX_MAX_ENV 64
#define BOX_MAX_PATHS 32
#define BOX_NAME_MAX 63
#define BOX_MAX_PROTECT 16
#define BOX_MAX_SERIAL 4

enum box_engine { ENGINE_AUTO, ENGINE_VM, ENGINE_QEMU, ENGINE_LIGHT, ENGINE_LIBVIRT, ENGINE_COUNT };

struct box_mount {
	char *host;
	char *guest;
	bool read_only;
};

struct box_config {
	char name[BOX_NAME_MAX + 1];
	char *file;	 /* where it was read from ("" for defaults) */
	char *project;	 /* host path of the project tree */
	char *workdir;	 /* where the project appears in the guest */
	char *image;	 /* "debian", "busybox" or "containerfile" (docs/box.md) */
	char *containerfile; /* image "containerfile": host paths of the file and */
	char *build_context; /* the build context (NULL otherwise) */
	enum box_engine engine;
	unsigned cpus;
	unsigned memory_mib;
	struct box_mount mounts[BOX_MAX_MOUNTS];
	unsigned nmounts;
	char *env[BOX_MAX_ENV]; /* "K=V" */
	unsigned nenv;
	/* Landlock for sessions (besides the project, home and /tmp). */
	char *rw_paths[BOX_MAX_PATHS];
	unsigned nrw;
	char *ro_paths[BOX_MAX_PATHS];
	unsigned nro;
	bool elsewhere_readable; /* "elsewhere": "read-only" (true) or "none" */
	bool root_sessions;
	/* The "ssh" section as JSON text for lbx-ssh-proxy (NULL: no SSH agent in the box). */
	char *ssh_policy;
	/* The "network" section as JSON text for lbx-netd (NULL: the default, nat). */
	char *net_policy;
	bool net_none; /* "mode": "none": no network card at all */
	/*
	 * "protect": paths in the project, relative, read-only to the box
	 * (lbx-fsd --protect; default .git/config and .git/hooks, which host
	 * git runs).
	 */
	char *protect[BOX_MAX_PROTECT];
	unsigned nprotect;
	/* "quota": bytes each tree the box writes through lbx-fsd may hold (0: none). */
	unsigned long long quota_bytes;
	/* "devices": {"usb": [...]}: the rules as JSON text for lbx-usbipd --rules (NULL: none). */
	char *usb_rules;
	/* "devices": {"serial": [PATH...]}: host ttys that are not USB, bridged (lbx-usbipd --tty). */
	char *serial_ports[BOX_MAX_SERIAL];
	unsigned nserial;
	/* The "wayland" section as JSON text for lbx-wayland-proxy (NULL: no Wayland). */
	char *wayland_policy;
	/* "gpu": true: a virtio-gpu served by lbx-gpud (virglrenderer); off by default. */
	bool gpu;
};

/* Defaults for a project directory (name from its base name). */
int box_config_defaults(struct box_config *c, const char *project);
/*
 * Read a definition over the defaults. project_dir: the directory that
 * holds an lbx.json (NULL for a file under $XDG_CONFIG_HOME, which must
 * then name its "project"). Returns 0 or -errno with a one-line message.
 */
int box_config_load(struct box_config *c, const char *path, const char *project_dir,
		    char *err, size_t errsz);
/* Same, from text (for tests and the fuzz target). */
int box_config_parse(struct box_config *c, const char *file, const char *text, size_t len,
		     const char *project_dir, char *err, size_t errsz);
void box_config_free(struct box_config *c);
const char *box_engine_name(enum box_engine e);

#endif
