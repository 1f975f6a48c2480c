/* SPDX-License-Identifier: MIT */
/*
 * Engine libvirt's domain XML, parsed back with libxml2: every device of
 * the manifest is its element (or its QEMU arguments where libvirt 9.0 has
 * no element), on virtio-mmio, with the values the other engines get.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libxml/parser.h>
#include <libxml/xpath.h>
#include <libxml/xpathInternals.h>

#include "config.h"
#include "engine_libvirt.h"
#include "manifest.h"
#include "tap.h"

static xmlXPathContextPtr ctx;

#define is_str(got, want, desc)                                                                    \
	do {                                                                                       \
		const char *got_ = (got);                                                          \
		if (!ok(!strcmp(got_, (want)), "%s", desc))                                        \
			printf("#   got '%s', want '%s'\n", got_, (want));                         \
	} while (0)

LBX_PRINTF(1, 0) static xmlXPathObjectPtr eval(const char *fmt, va_list ap)
{
	char expr[1024];

	vsnprintf(expr, sizeof(expr), fmt, ap);
	return xmlXPathEvalExpression((const xmlChar *)expr, ctx);
}

/* How many nodes the XPath expression selects. */
LBX_PRINTF(1, 2) static int nodes(const char *fmt, ...)
{
	xmlXPathObjectPtr o;
	va_list ap;
	int n;

	va_start(ap, fmt);
	o = eval(fmt, ap);
	va_end(ap);
	n = o && o->nodesetval ? o->nodesetval->nodeNr : -1;
	xmlXPathFreeObject(o);
	return n;
}

/* The string value of the expression (static buffer). */
LBX_PRINTF(1, 2) static const char *text(const char *fmt, ...)
{
	static char buf[4096];
	xmlXPathObjectPtr o;
	xmlChar *s;
	va_list ap;

	va_start(ap, fmt);
	o = eval(fmt, ap);
	va_end(ap);
	s = o ? xmlXPathCastToString(o) : NULL;
	snprintf(buf, sizeof(buf), "%s", s ? (const char *)s : "");
	xmlFree(s);
	xmlXPathFreeObject(o);
	return buf;
}

/* Whether a <qemu:arg> has exactly this value. */
static bool qemu_arg(const char *value)
{
	xmlXPathObjectPtr o =
	    xmlXPathEvalExpression((const xmlChar *)"//qemu:commandline/qemu:arg/@value", ctx);
	bool found = false;

	for (int i = 0; o && o->nodesetval && i < o->nodesetval->nodeNr; i++) {
		xmlChar *v = xmlNodeGetContent(o->nodesetval->nodeTab[i]);

		found |= v && !strcmp((const char *)v, value);
		xmlFree(v);
	}
	xmlXPathFreeObject(o);
	return found;
}

static bool has_agent_words(const struct box_manifest *m, const char *cl)
{
	for (unsigned i = 0; i < m->nagent; i++) {
		const char *at = strstr(cl, m->agent[i]);
		size_t n = strlen(m->agent[i]);

		if (!at || at[-1] != ' ' || (at[n] != ' ' && at[n] != '\0'))
			return false;
	}
	return true;
}

static void machine(const struct box_manifest *m)
{
	ok(!strcmp(text("string(/domain/@type)"), "qemu") &&
	       !strcmp(text("string(/domain/cpu/@mode)"), "maximum"),
	   "TCG with -cpu max, as engine qemu");
	is_str(text("string(/domain/name)"), "lbx-my'box", "the domain is named after the box");
	ok(!strcmp(text("string(/domain/os/type/@machine)"), "microvm") &&
	       !strcmp(text("string(/domain/os/type)"), "hvm"),
	   "machine microvm");
	is_int(nodes("/domain/features"), 0,
	       "no <features>: no ACPI (microvm lists devices itself)");
	is_str(text("string(/domain/memory[@unit='MiB'])"), "768", "memory in MiB");
	is_str(text("string(/domain/vcpu)"), "3", "cpus");
	is_int(nodes("/domain/memoryBacking[source/@type='memfd' and access/@mode='shared']"), 1,
	       "guest RAM a shared memfd (the vhost-user backends map it)");
	is_str(text("string(/domain/os/kernel)"), "/k/vm&linux", "the kernel, escaped and back");
	is_str(text("string(/domain/os/initrd)"), "/r/<initrd>.cpio", "the initramfs");
	ok(strstr(text("string(/domain/os/cmdline)"), "reboot=t ") != NULL,
	   "reboot=t: the agent's power-off ends the domain");
	ok(has_agent_words(m, text("string(/domain/os/cmdline)")),
	   "the agent's parameters are the manifest's words");
	ok(!strcmp(text("string(/domain/on_poweroff)"), "destroy") &&
	       !strcmp(text("string(/domain/on_reboot)"), "destroy"),
	   "power-off and reboot end the domain");
	is_int(nodes("/domain/devices/controller[@type='usb' and @model='none']"), 1,
	       "no USB controller (libvirt would want PCI)");
	is_int(nodes("/domain/devices/memballoon[@model='none']"), 1, "no balloon (PCI too)");
	is_str(text("string(/domain/devices/serial[@type='file']/source/@path)"),
	       "/d/console 'log'", "the serial console goes to the console log");
	is_int(nodes("/domain/devices/rng[@model='virtio']/address[@type='virtio-mmio']"), 1,
	       "virtio-rng on virtio-mmio");
	is_int(nodes("/domain/devices/*[address and not(address/@type='virtio-mmio')]"), 0,
	       "every addressed device is on virtio-mmio");
	ok(qemu_arg("-global") && qemu_arg("virtio-mmio.force-legacy=false"),
	   "modern virtio-mmio, in the QEMU namespace (libvirt 9.0 has no element)");
}

static void devices(const struct box_manifest *m)
{
	int fs = 0, net = 0;

	for (unsigned i = 0; i < m->ndev; i++) {
		const struct mf_device *d = &m->dev[i];
		char arg[256];

		switch (d->kind) {
		case MF_FS:
			fs++;
			is_int(nodes("/domain/devices/filesystem[@type='mount' and "
				     "driver/@type='virtiofs' and source/@socket=\"%s\" and "
				     "target/@dir=\"%s\" and address/@type='virtio-mmio']",
				     d->socket, d->tag),
			       1, "%s: a virtiofs <filesystem> on its socket, tag %s", d->role,
			       d->tag);
			break;
		case MF_NET:
			net++;
			is_int(nodes("/domain/devices/interface[@type='vhostuser' and "
				     "source/@type='unix' and source/@path=\"%s\" and "
				     "source/@mode='client' and model/@type='virtio' and "
				     "mac/@address='52:54:00:12:34:56' and "
				     "address/@type='virtio-mmio']",
				     d->socket),
			       1, "%s: a vhostuser <interface> on its socket, QEMU's MAC", d->role);
			break;
		case MF_VSOCK:
			snprintf(arg, sizeof(arg), "socket,id=lbx-dev%u,path=%s", i, d->socket);
			ok(qemu_arg(arg), "%s: a vhost-user chardev on its socket", d->role);
			snprintf(arg, sizeof(arg), "vhost-user-vsock-device,chardev=lbx-dev%u", i);
			ok(qemu_arg(arg), "%s: vhost-user-vsock-device in the QEMU namespace",
			   d->role);
			is_int(nodes("/domain/devices/vsock"), 0,
			       "no <vsock>: that is the kernel's vhost-vsock, not lbx-vsockd");
			break;
		case MF_SSH:
			ok(strstr(text("string(/domain/os/cmdline)"), "lbx.ssh=vsock:1026") !=
				   NULL &&
			       nodes("//*[@path=\"%s\" or @socket=\"%s\"]", d->socket, d->socket) ==
				   0,
			   "%s: no device, the guest reaches it by vsock", d->role);
			break;
		case MF_USB:
			ok(strstr(text("string(/domain/os/cmdline)"), "lbx.usb=") != NULL &&
				   nodes("//*[@path=\"%s\" or @socket=\"%s\"]", d->socket,
					 d->socket) == 0,
			   "%s: no device, the guest reaches lbx-usbipd by vsock", d->role);
			break;
		case MF_WAYLAND:
			ok(strstr(text("string(/domain/os/cmdline)"), "lbx.wayland=") != NULL &&
				   nodes("//*[@path=\"%s\" or @socket=\"%s\"]", d->socket,
					 d->socket) == 0,
			   "%s: no device, the guest reaches the proxy by vsock", d->role);
			break;
		case MF_GPU: /* engine libvirt refuses "gpu" (manifest.c gpu_add) */
		case MF_KIND_COUNT: break;
		}
	}
	is_int(fs, 3, "root, project and the mount");
	is_int(nodes("/domain/devices/filesystem"), fs, "no other <filesystem>");
	is_int(net, 1, "one network card");
	is_int(nodes("/domain/devices/interface"), net, "no other <interface>");
}

int main(void)
{
	struct box_paths paths = { .name = "my'box",
				   .runtime = "/run/user/1000/lbx/my'box",
				   .data = "/home/u/.local/share/lbx/boxes/my'box" };
	struct box_manifest m;
	struct box_config c;
	char err[256], *xml;
	xmlDocPtr doc;

	box_config_defaults(&c, "/home/u/src/a&b <c>");
	snprintf(c.name, sizeof(c.name), "my'box");
	c.cpus = 3;
	c.memory_mib = 768;
	c.mounts[0] = (struct box_mount){ strdup("/data"), strdup("/mnt/da ta"), true };
	c.nmounts = 1;
	setenv("SSH_AUTH_SOCK", "/tmp/agent.sock", 1);
	c.ssh_policy = strdup("{}");

	if (!ok(manifest_build(&m, &c, &paths, ENGINE_LIBVIRT, err, sizeof(err)) == 0,
		"libvirt manifest of every device (%s)", err))
		return tap_done();
	xml = engine_libvirt_xml(&m, "qemu:///session", "/k/vm&linux", "/r/<initrd>.cpio",
				 "/d/console 'log'", err, sizeof(err));
	if (!ok(xml != NULL, "the domain XML (%s)", err))
		return tap_done();
	doc = xmlReadMemory(xml, (int)strlen(xml), "domain.xml", NULL, XML_PARSE_NONET);
	if (!ok(doc != NULL, "it is well-formed XML")) {
		printf("# %s\n", xml);
		return tap_done();
	}
	ctx = xmlXPathNewContext(doc);
	xmlXPathRegisterNs(ctx, (const xmlChar *)"qemu",
			   (const xmlChar *)"http://libvirt.org/schemas/domain/qemu/1.0");
	machine(&m);
	devices(&m);
	is_int(nodes("/domain/seclabel"), 0, "qemu:///session: no seclabel (QEMU is the user's)");
	ok(strstr(text("string(/domain/os/cmdline)"),
		  "lbx.mount=project:/home/u/src/a%26b%20%3Cc%3E") != NULL,
	   "the project path as the agent's escaped word, inside XML escaping: %s",
	   text("string(/domain/os/cmdline)"));

	xmlXPathFreeContext(ctx);
	xmlFreeDoc(doc);
	free(xml);
	manifest_free(&m);
	c.net_none = true;
	if (ok(manifest_build(&m, &c, &paths, ENGINE_LIBVIRT, err, sizeof(err)) == 0,
	       "a box without network") &&
	    (xml = engine_libvirt_xml(&m, "qemu:///system", "/k", "/i", "/c", err, sizeof(err)))) {
		doc = xmlReadMemory(xml, (int)strlen(xml), "domain.xml", NULL, XML_PARSE_NONET);
		ctx = xmlXPathNewContext(doc);
		char label[64];

		is_int(nodes("/domain/devices/interface"), 0, "mode none: no <interface>");
		snprintf(label, sizeof(label), "+%u:+%u", (unsigned)getuid(), (unsigned)getgid());
		is_int(
		    nodes("/domain/seclabel[@type='static' and @model='dac' and @relabel='no' and "
			  "label='%s']",
			  label),
		    1, "qemu:///system: QEMU runs as the user (DAC label %s), nothing relabelled",
		    label);
		xmlXPathFreeContext(ctx);
		xmlFreeDoc(doc);
		free(xml);
		manifest_free(&m);
	}
	box_config_free(&c);
	ok(engine_libvirt_uri_local("qemu:///session") &&
	       engine_libvirt_uri_local("qemu:///system") &&
	       !engine_libvirt_uri_local("qemu+ssh://big/system") &&
	       !engine_libvirt_uri_local("qemu://h/session") && !engine_libvirt_uri_local("junk"),
	   "local URIs are told from remote ones");
	return tap_done();
}
