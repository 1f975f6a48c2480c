/* SPDX-License-Identifier: MIT */
/*
 * lbx device: the host's USB devices and the boxes' rules for them.
 *
 *   lbx device ls [NAME...] [--json]   each host device and, per box, the
 *                                      rule of devices.usb it matches
 *   lbx device attach NAME DEV         give DEV (a name `ls` shows) to the
 *                                      running box NAME, if a rule names it
 *   lbx device detach NAME DEV         take it back
 *
 * The rules are the approved definition's (docs/box.md "Approval"): the
 * project can edit lbx.json from inside the box, so what it asks for now
 * is not what the user granted. Each attached device is one lbx-usbipd
 * at a USB slot (RUNTIME/vsock.sock_1100+N, manifest.h), named by its
 * --name; detach asks it to stop offering the device (SIGUSR2), attach to
 * offer it again (SIGHUP) or starts one at a free slot. lbx-usbipd stops
 * by itself when the box's clean-up removes its socket.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "box.h"
#include "cli.h"
#include "log.h"
#include "manifest.h"
#include "resolve.h"
#include "trust.h"
#include "unixsock.h"
#include "../passthrough/usb_host.h"

struct dev_box {
	struct box_config cfg; /* the definition as approved */
	struct box_paths paths;
	struct usb_rules rules; /* its devices.usb (none: n 0) */
	const char *rules_text; /* cfg.usb_rules */
};

static void usage(FILE *f)
{
	fprintf(f, "usage: lbx device ls [NAME...] [--json]\n"
		   "       lbx device attach NAME DEV\n"
		   "       lbx device detach NAME DEV\n"
		   "USB devices of the host, the rule of each box's \"devices\" that names them,\n"
		   "and giving one to a running box (DEV as `lbx device ls` names it).\n");
}

/* Box name's approved definition and its rules; 0 or -errno with a message. */
static int load_box(const char *name, struct dev_box *b, char *err, size_t errsz)
{
	struct box_config now;
	struct trust_recipe r;
	int rc;

	memset(b, 0, sizeof(*b));
	rc = box_resolve(name, &now, err, errsz);
	if (rc < 0)
		return rc;
	if (box_paths_init(&b->paths, now.name) < 0) {
		snprintf(err, errsz, "box %s: bad name", now.name);
		box_config_free(&now);
		return -EINVAL;
	}
	if (trust_definition_is_own(&now)) {
		b->cfg = now;
	} else {
		rc = trust_load(&b->paths, now.project, &b->cfg, &r);
		box_config_free(&now);
		if (rc < 0) {
			snprintf(err, errsz,
				 "box %s: its definition has not been approved; run "
				 "`lbx allow` in its project first",
				 b->paths.name);
			return rc;
		}
	}
	b->rules_text = b->cfg.usb_rules;
	if (b->rules_text && usb_rules_parse(b->rules_text, strlen(b->rules_text), b->cfg.file,
					     &b->rules, err, errsz) < 0) {
		box_config_free(&b->cfg);
		return -EINVAL;
	}
	return 0;
}

static const char *rule_for(const struct dev_box *b, const struct usb_host_dev *d)
{
	int i = usb_rules_match(&b->rules, &d->ident);

	return i >= 0 ? b->rules.rule[i].name : NULL;
}

/* Every box lbx knows (its data directories). */
static unsigned all_boxes(char names[][64], unsigned max)
{
	char root[PATH_MAX];
	struct dirent *e;
	unsigned n = 0;
	DIR *d;

	if (box_data_root(root, sizeof(root)) < 0 || !(d = opendir(root)))
		return 0;
	while (n < max && (e = readdir(d)))
		if (e->d_name[0] != '.' && lbx_valid_box_name(e->d_name))
			snprintf(names[n++], 64, "%s", e->d_name);
	closedir(d);
	return n;
}

static int cmd_ls(int argc, char **argv, bool json)
{
	static struct usb_host_dev devs[USB_HOST_MAX];
	static struct dev_box boxes[16];
	char names[16][64], err[512], id[16];
	unsigned nbox = 0, n = argc > 0 ? (unsigned)argc : all_boxes(names, 16);
	unsigned ndev = usb_host_list(NULL, devs, USB_HOST_MAX);
	cJSON *doc = cJSON_CreateObject(), *arr = cJSON_AddArrayToObject(doc, "devices");

	for (unsigned i = 0; i < n && nbox < 16; i++) {
		const char *name = argc > 0 ? argv[i] : names[i];

		if (load_box(name, &boxes[nbox], err, sizeof(err)) == 0)
			nbox++;
		else if (argc > 0)
			lbx_warn("device: %s", err);
	}
	for (unsigned i = 0; i < ndev; i++) {
		cJSON *o = cJSON_CreateObject(), *per = NULL;

		snprintf(id, sizeof(id), "%04x:%04x", devs[i].ident.vendor, devs[i].ident.product);
		cJSON_AddStringToObject(o, "name", devs[i].name);
		cJSON_AddStringToObject(o, "id", id);
		cJSON_AddStringToObject(o, "serial", devs[i].ident.serial);
		cJSON_AddStringToObject(o, "product", devs[i].product);
		if (devs[i].sim[0])
			cJSON_AddBoolToObject(o, "simulated", true);
		per = cJSON_AddObjectToObject(o, "boxes");
		if (!json)
			printf("%-14s %s  %-24.24s serial %-20.20s", devs[i].name, id,
			       devs[i].product,
			       devs[i].ident.serial[0] ? devs[i].ident.serial : "-");
		for (unsigned k = 0; k < nbox; k++) {
			const char *rule = rule_for(&boxes[k], &devs[i]);

			if (rule)
				cJSON_AddStringToObject(per, boxes[k].paths.name, rule);
			else
				cJSON_AddNullToObject(per, boxes[k].paths.name);
			if (!json)
				printf("  %s: %s", boxes[k].paths.name, rule ? rule : "refused");
		}
		if (!json)
			printf("\n");
		cJSON_AddItemToArray(arr, o);
	}
	if (json) {
		char *text = cJSON_Print(doc);

		printf("%s\n", text ? text : "{}");
		free(text);
	} else if (ndev == 0) {
		printf("no USB devices on this host\n");
	}
	cJSON_Delete(doc);
	for (unsigned k = 0; k < nbox; k++)
		box_config_free(&boxes[k].cfg);
	return 0;
}

/* The lbx-usbipd serving slot i of box b, and the device it was started for (--name). */
static pid_t slot_server(const struct dev_box *b, unsigned i, char *name, size_t namesz)
{
	char file[64], path[PATH_MAX + 64], cmdline[4096];
	struct ucred cred;
	socklen_t len = sizeof(cred);
	ssize_t n;
	int fd;

	name[0] = '\0';
	snprintf(file, sizeof(file), MF_VSOCK_UDS "_%u", LBX_USB_PORT + i);
	box_path(b->paths.runtime, file, path, sizeof(path));
	fd = lbx_unix_connect(path, 0);
	if (fd < 0)
		return 0;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0)
		cred.pid = 0;
	close(fd);
	snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)cred.pid);
	n = cred.pid > 0 ? box_read_file(path, cmdline, sizeof(cmdline) - 1) : -1;
	for (ssize_t k = 0; n > 0 && k < n; k += (ssize_t)strlen(cmdline + k) + 1)
		if (!strcmp(cmdline + k, "--name") && k + 7 < n)
			snprintf(name, namesz, "%s", cmdline + k + 7);
	return cred.pid;
}

/* Start lbx-usbipd for d at slot i, outside the supervisor (it stops with the box's socket). */
static int start_server(const struct dev_box *b, unsigned i, const struct usb_host_dev *d,
			char *err, size_t errsz)
{
	char exe[PATH_MAX], file[64], sock[PATH_MAX + 64], rules[PATH_MAX + 32],
	    audit[PATH_MAX + 32], log[PATH_MAX + 32];
	struct timespec step = { 0, 20 * 1000000L };
	int status;
	pid_t pid;

	if (lbx_asset(ASSET_USBIPD, exe, sizeof(exe), err, errsz) < 0)
		return -ENOENT;
	snprintf(file, sizeof(file), MF_VSOCK_UDS "_%u", LBX_USB_PORT + i);
	box_path(b->paths.runtime, file, sock, sizeof(sock));
	box_path(b->paths.data, "usb-rules.json", rules, sizeof(rules));
	box_path(b->paths.data, "usb-audit.log", audit, sizeof(audit));
	box_path(b->paths.data, "backends.log", log, sizeof(log));
	if (box_write_file(rules, b->rules_text) < 0) {
		snprintf(err, errsz, "cannot write %s", rules);
		return -EIO;
	}
	pid = fork();
	if (pid < 0) {
		snprintf(err, errsz, "fork: %s", strerror(errno));
		return -errno;
	}
	if (pid == 0) {
		int fd = open(log, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);

		setsid();
		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		execl(exe, exe, "--listen", sock, d->sim[0] ? "--sim" : "--device",
		      d->sim[0] ? d->sim : d->node, "--rules", rules, "--box", b->paths.name,
		      "--audit-log", audit, "--name", d->name, (char *)NULL);
		_exit(127);
	}
	for (int k = 0; k < 500; k++) {
		if (access(sock, F_OK) == 0)
			return 0;
		if (waitpid(pid, &status, WNOHANG) == pid) {
			snprintf(err, errsz, "lbx-usbipd for %s exited with status %d (see %s)",
				 d->name, WIFEXITED(status) ? WEXITSTATUS(status) : -1, log);
			return -ECHILD;
		}
		nanosleep(&step, NULL);
	}
	snprintf(err, errsz, "lbx-usbipd for %s did not start (see %s)", d->name, log);
	return -ETIMEDOUT;
}

static void refused(const struct dev_box *b, const struct usb_host_dev *d)
{
	char ident[512], names[512] = "";
	size_t n = 0;

	for (unsigned k = 0; k < b->rules.n && n < sizeof(names); k++)
		n += (size_t)snprintf(names + n, sizeof(names) - n, "%s%s", k ? ", " : "",
				      b->rules.rule[k].name);
	usb_ident_format(&d->ident, ident, sizeof(ident));
	lbx_err("device: box %s: USB device %s (%s) matches no rule of devices.usb in %s (%u "
		"rule%s%s%s); refused: add a rule naming it to the box definition",
		b->paths.name, d->name, ident, b->cfg.file && b->cfg.file[0] ? b->cfg.file : "?",
		b->rules.n, b->rules.n == 1 ? "" : "s", b->rules.n ? ": " : "", names);
}

static int cmd_attach(struct dev_box *b, const char *devname, bool attach)
{
	struct usb_host_dev d;
	char name[64], err[512];
	int free_slot = -1;

	if (!box_running(&b->paths)) {
		lbx_err("device: box %s is not running", b->paths.name);
		return 1;
	}
	for (unsigned i = 0; i < MF_USB_SLOTS; i++) {
		pid_t pid = slot_server(b, i, name, sizeof(name));

		if (pid > 0 && !strcmp(name, devname)) {
			kill(pid, attach ? SIGHUP : SIGUSR2);
			printf("%s %s %s box %s\n", attach ? "attached" : "detached", devname,
			       attach ? "to" : "from", b->paths.name);
			return 0;
		}
		if (pid == 0 && free_slot < 0)
			free_slot = (int)i;
	}
	if (!attach) {
		lbx_err("device: %s is not attached to box %s", devname, b->paths.name);
		return 1;
	}
	if (usb_host_find(NULL, devname, &d) < 0) {
		lbx_err("device: no USB device %s on this host (see `lbx device ls`)", devname);
		return 1;
	}
	if (!rule_for(b, &d)) {
		refused(b, &d);
		return 1;
	}
	if (!b->rules_text || free_slot < 0) {
		lbx_err("device: box %s has no free USB slot (%d in use)", b->paths.name,
			MF_USB_SLOTS);
		return 1;
	}
	if (start_server(b, (unsigned)free_slot, &d, err, sizeof(err)) < 0) {
		lbx_err("device: box %s: %s", b->paths.name, err);
		return 1;
	}
	printf("attached %s to box %s (rule %s)\n", devname, b->paths.name, rule_for(b, &d));
	return 0;
}

int lbx_cmd_device(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct dev_box b;
	char err[512];
	bool json = false;
	int opt, rc;

	optind = 1;
	while ((opt = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
		if (opt == 'j') {
			json = true;
		} else {
			usage(opt == 'h' ? stdout : stderr);
			return opt == 'h' ? 0 : 2;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return 2;
	}
	if (!strcmp(argv[optind], "ls")) {
		for (int i = optind + 1; i < argc; i++)
			if (!strcmp(argv[i], "--json"))
				json = true;
		int k = 0;
		for (int i = optind + 1; i < argc; i++)
			if (strcmp(argv[i], "--json"))
				argv[optind + 1 + k++] = argv[i];
		return cmd_ls(k, argv + optind + 1, json);
	}
	if ((strcmp(argv[optind], "attach") && strcmp(argv[optind], "detach")) ||
	    optind + 3 != argc) {
		usage(stderr);
		return 2;
	}
	if (load_box(argv[optind + 1], &b, err, sizeof(err)) < 0) {
		lbx_err("device: %s", err);
		return 1;
	}
	if (!b.rules_text && !strcmp(argv[optind], "attach")) {
		lbx_err(
		    "device: box %s has no \"devices\": {\"usb\": [...]} rules: every USB device "
		    "is refused",
		    b.paths.name);
		box_config_free(&b.cfg);
		return 1;
	}
	rc = cmd_attach(&b, argv[optind + 2], !strcmp(argv[optind], "attach"));
	box_config_free(&b.cfg);
	return rc;
}
