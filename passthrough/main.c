/* SPDX-License-Identifier: MIT */
/*
 * lbx-usbipd: one USB device of the host, exported to one box over USB/IP
 * (usbipd.h), under the box's device rules (rules.h).
 *
 * Start-up order: parse the options, read the rules, open the device
 * (usbfs, or a simulated one with --sim), check it against the rules
 * (refused: one line naming the rule set, an audit line, exit 2), listen,
 * restrict ourselves (sandbox.c), serve until SIGTERM.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "evloop.h"
#include "log.h"
#include "unixsock.h"
#include "usbipd.h"
#include "usbipd_sandbox.h"

#ifndef LBX_VERSION
#define LBX_VERSION "0"
#endif

#define RULES_FILE_MAX (1u << 20)

static const char usage[] =
    "usage: lbx-usbipd --listen SOCKET (--device /dev/bus/usb/BBB/DDD | --tty PATH | --sim KIND)\n"
    "                  [--rules FILE] [--box NAME] [--audit-log FILE]\n"
    "  --listen SOCKET   the unix socket the box's vsock port reaches (USB/IP)\n"
    "  --device PATH     the host device to export, through usbfs\n"
    "  --tty PATH        a host serial port that is not USB, as a CDC-ACM port (1209:0003)\n"
    "  --sim KIND        a simulated device instead (tests): cdc-acm, vendor-bulk;\n"
    "                    SIGUSR1 makes it re-enumerate\n"
    "  --rules FILE      the box's devices.usb rules (JSON array); none: refuse all\n"
    "                    (but the --tty, which its path grants)\n"
    "  --box NAME        the box, for messages and audit lines\n"
    "  --audit-log FILE  append a JSON line for every attach, detach and refusal\n"
    "  --name NAME       the busid the device is offered as (lbx: its host name)\n"
    "SIGUSR2 detaches the device (it is no longer offered), SIGHUP offers it again;\n"
    "lbx-usbipd exits when SOCKET is removed (the box's clean-up).\n";

static const struct option opts[] = {
	{ "listen", required_argument, NULL, 'l' },
	{ "device", required_argument, NULL, 'd' },
	{ "sim", required_argument, NULL, 's' },
	{ "rules", required_argument, NULL, 'r' },
	{ "box", required_argument, NULL, 'b' },
	{ "audit-log", required_argument, NULL, 'a' },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, 'V' },
	{ "name", required_argument, NULL, 'n' },
	{ "tty", required_argument, NULL, 't' },
	{ NULL, 0, NULL, 0 },
};

struct options {
	const char *listen, *device, *sim, *rules, *box, *audit, *name, *tty;
};

static int read_rules(const char *path, struct usb_rules *rules, char *err, size_t errsz)
{
	static char buf[RULES_FILE_MAX];
	ssize_t n;
	int fd;

	if (!path) {
		memset(rules, 0, sizeof(*rules));
		return 0;
	}
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		snprintf(err, errsz, "cannot open the rules %s: %s", path, strerror(errno));
		return -errno;
	}
	n = read(fd, buf, sizeof(buf));
	close(fd);
	if (n < 0 || (size_t)n >= sizeof(buf)) {
		snprintf(err, errsz, "cannot read the rules %s: %s", path,
			 n < 0 ? strerror(errno) : "larger than 1 MiB");
		return -EINVAL;
	}
	return usb_rules_parse(buf, (size_t)n, path, rules, err, errsz);
}

static struct usbd *g_dev;
static struct usbipd *g_srv;
static struct stat g_sock;
static const char *g_listen;

static void on_signal(struct lbx_loop *loop, int signo, void *data)
{
	if (signo == SIGUSR1 && g_dev->ops->replug)
		g_dev->ops->replug(g_dev);
	else if (signo == SIGUSR2 || signo == SIGHUP)
		usbipd_hold(g_srv, signo == SIGUSR2);
	else if (signo == SIGTERM || signo == SIGINT)
		lbx_loop_stop(loop, 0);
}

/* The socket removed or replaced (the box went down): nobody can reach us, stop. */
static void on_check(struct lbx_loop *loop, int fd, uint32_t events, void *data)
{
	struct stat st;

	if (stat(g_listen, &st) < 0 || st.st_ino != g_sock.st_ino || st.st_dev != g_sock.st_dev) {
		lbx_info("%s is gone: stopping", g_listen);
		lbx_loop_stop(loop, 0);
	}
}

static int parse(int argc, char **argv, struct options *o)
{
	int c;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'l': o->listen = optarg; break;
		case 'd': o->device = optarg; break;
		case 's': o->sim = optarg; break;
		case 'r': o->rules = optarg; break;
		case 'b': o->box = optarg; break;
		case 'a': o->audit = optarg; break;
		case 'n': o->name = optarg; break;
		case 't': o->tty = optarg; break;
		case 'h': fputs(usage, stdout); exit(0);
		case 'V': printf("lbx-usbipd %s\n", LBX_VERSION); exit(0);
		default: fputs(usage, stderr); return -1;
		}
	}
	if (optind != argc || !o->listen || !!o->device + !!o->sim + !!o->tty != 1) {
		fputs(usage, stderr);
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	static const int sigs[] = { SIGTERM, SIGINT, SIGUSR1, SIGUSR2, SIGHUP };
	static struct usb_rules rules;
	struct options o = { .box = "?" };
	struct usbipd_config cfg;
	struct usbd dev;
	struct lbx_loop *loop;
	struct usbipd *srv;
	char err[1024];
	struct stat st;
	int lfd, rc;

	lbx_log_init("lbx-usbipd");
	if (parse(argc, argv, &o) < 0)
		return 1;
	signal(SIGPIPE, SIG_IGN);
	cfg = (struct usbipd_config){ .box = o.box,
				      .rules_file = o.rules ? o.rules : "(no rules)",
				      .rules = &rules,
				      .audit_fd = -1 };
	if (read_rules(o.rules, &rules, err, sizeof(err)) < 0) {
		lbx_err("box %s: %s", o.box, err);
		return 1;
	}
	if (o.audit) {
		cfg.audit_fd = open(o.audit, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
		if (cfg.audit_fd < 0) {
			lbx_err("box %s: cannot open the audit log %s: %s", o.box, o.audit,
				strerror(errno));
			return 1;
		}
	}
	loop = lbx_loop_new();
	if (!loop)
		return 1;
	rc = o.sim   ? usbd_sim_open(&dev, o.sim, loop, err, sizeof(err))
	     : o.tty ? usbd_tty_open(&dev, o.tty, loop, err, sizeof(err))
		     : usbd_usbfs_open(&dev, o.device, loop, err, sizeof(err));
	if (rc < 0) {
		lbx_err("box %s: %s", o.box, err);
		return 1;
	}
	g_dev = &dev;
	/* A serial port is granted by its path (devices.serial): it has no USB identity to match. */
	if (o.tty && !o.rules) {
		struct usb_rule *r = &rules.rule[0];

		*r = (struct usb_rule){ .vendor = dev.ident.vendor, .product = dev.ident.product,
					.has_serial = true };
		snprintf(r->name, sizeof(r->name), "devices.serial");
		snprintf(r->serial, sizeof(r->serial), "%s", dev.ident.serial);
		rules.n = 1;
		cfg.rules_file = "the box's devices.serial";
	}
	if (o.name) {
		if (strlen(o.name) >= sizeof(dev.info.busid)) {
			lbx_err("box %s: --name %s: at most %zu bytes", o.box, o.name,
				sizeof(dev.info.busid) - 1);
			return 1;
		}
		snprintf(dev.info.busid, sizeof(dev.info.busid), "%s", o.name);
	}
	if (usbipd_policy(&cfg, &dev, err, sizeof(err)) < 0) {
		usbipd_audit(&cfg, "refuse", &dev, NULL, err);
		lbx_err("%s", err);
		dev.ops->close(&dev);
		lbx_loop_free(loop);
		return 2;
	}
	lfd = lbx_unix_listen(o.listen, 4, LBX_UNIX_NONBLOCK);
	if (lfd < 0) {
		lbx_err("box %s: cannot listen on %s: %s", o.box, o.listen, strerror(-lfd));
		return 1;
	}
	srv = usbipd_new(loop, lfd, &dev, &cfg);
	g_srv = srv;
	g_listen = o.listen;
	if (!srv || stat(o.listen, &g_sock) < 0 ||
	    lbx_loop_add_timer(loop, 1000, true, on_check, NULL) < 0 ||
	    lbx_loop_add_signals(loop, sigs, (int)LBX_ARRAY_SIZE(sigs), on_signal, NULL) < 0) {
		lbx_err("box %s: out of memory", o.box);
		return 1;
	}
	rc = usbipd_sandbox_apply(o.device != NULL);
	if (rc < 0) {
		lbx_err("box %s: cannot restrict lbx-usbipd: %s", o.box, strerror(-rc));
		return 1;
	}
	lbx_info("box %s: serving %04x:%04x on %s", o.box, dev.ident.vendor, dev.ident.product,
		 o.listen);
	lbx_loop_run(loop);
	usbipd_free(srv);
	dev.ops->close(&dev);
	if (stat(o.listen, &st) == 0 && st.st_ino == g_sock.st_ino)
		unlink(o.listen);
	lbx_loop_free(loop);
	return 0;
}
