/* SPDX-License-Identifier: MIT */
/* The host's USB devices (usb_host.h). sysfs is the kernel's, trusted; sizes are still checked. */
#include "usb_host.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compiler.h"

static int read_attr(const char *dir, const char *name, char *buf, size_t sz)
{
	char path[512];
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	n = fread(buf, 1, sz - 1, f);
	fclose(f);
	while (n && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
		n--;
	buf[n] = '\0';
	return 0;
}

static unsigned hex_attr(const char *dir, const char *name)
{
	char v[16];

	return read_attr(dir, name, v, sizeof(v)) == 0 ? (unsigned)strtoul(v, NULL, 16) : 0;
}

/* The interfaces of device dir (its entries "NAME:C.I"), by interface number. */
static void interfaces(const char *dir, const char *name, struct usb_ident *id)
{
	char path[512];
	struct dirent *e;
	size_t n = strlen(name);
	DIR *d = opendir(dir);

	if (!d)
		return;
	while ((e = readdir(d))) {
		unsigned num;

		if (strncmp(e->d_name, name, n) || e->d_name[n] != ':')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		num = hex_attr(path, "bInterfaceNumber");
		if (num >= LBX_ARRAY_SIZE(id->ifs))
			continue;
		id->ifs[num].cls = (uint8_t)hex_attr(path, "bInterfaceClass");
		id->ifs[num].subclass = (uint8_t)hex_attr(path, "bInterfaceSubClass");
		id->ifs[num].protocol = (uint8_t)hex_attr(path, "bInterfaceProtocol");
		if (num + 1 > id->nifs)
			id->nifs = num + 1;
	}
	closedir(d);
}

static int host_device(const char *root, const char *name, struct usb_host_dev *out)
{
	char dir[512], v[16];
	unsigned bus, dev;

	snprintf(dir, sizeof(dir), "%s/bus/usb/devices/%s", root, name);
	if (read_attr(dir, "idVendor", v, sizeof(v)) < 0)
		return -ENOENT;
	memset(out, 0, sizeof(*out));
	snprintf(out->name, sizeof(out->name), "%s", name);
	out->ident.vendor = (uint16_t)hex_attr(dir, "idVendor");
	out->ident.product = (uint16_t)hex_attr(dir, "idProduct");
	if (read_attr(dir, "serial", out->ident.serial, sizeof(out->ident.serial)) < 0)
		out->ident.serial[0] = '\0';
	if (read_attr(dir, "product", out->product, sizeof(out->product)) < 0)
		out->product[0] = '\0';
	bus = read_attr(dir, "busnum", v, sizeof(v)) == 0 ? (unsigned)atoi(v) : 0;
	dev = read_attr(dir, "devnum", v, sizeof(v)) == 0 ? (unsigned)atoi(v) : 0;
	snprintf(out->node, sizeof(out->node), "/dev/bus/usb/%03u/%03u", bus, dev);
	snprintf(dir, sizeof(dir), "%s/bus/usb/devices", root);
	interfaces(dir, name, &out->ident);
	return 0;
}

static unsigned sim_devices(struct usb_host_dev *out, unsigned max)
{
	const char *env = getenv("LBX_USB_SIM");
	char kinds[128], *save = NULL;
	unsigned n = 0;

	if (!env)
		return 0;
	snprintf(kinds, sizeof(kinds), "%s", env);
	for (char *k = strtok_r(kinds, ",", &save); k && n < max; k = strtok_r(NULL, ",", &save)) {
		struct usb_host_dev *d = &out[n];

		memset(d, 0, sizeof(*d));
		if (usbd_sim_ident(k, &d->ident, d->product, sizeof(d->product)) < 0)
			continue;
		snprintf(d->name, sizeof(d->name), "sim:%s", k);
		snprintf(d->sim, sizeof(d->sim), "%s", k);
		n++;
	}
	return n;
}

unsigned usb_host_list(const char *sysfs, struct usb_host_dev *out, unsigned max)
{
	const char *root = sysfs ? sysfs : "/sys";
	char dir[512];
	struct dirent *e;
	unsigned n = sim_devices(out, max);
	DIR *d;

	snprintf(dir, sizeof(dir), "%s/bus/usb/devices", root);
	d = opendir(dir);
	if (!d)
		return n;
	while (n < max && (e = readdir(d))) {
		/* Interfaces have a ':', root hubs are "usbN". */
		if (e->d_name[0] == '.' || strchr(e->d_name, ':') || !strncmp(e->d_name, "usb", 3))
			continue;
		if (host_device(root, e->d_name, &out[n]) == 0)
			n++;
	}
	closedir(d);
	return n;
}

int usb_host_find(const char *sysfs, const char *name, struct usb_host_dev *out)
{
	static struct usb_host_dev all[USB_HOST_MAX];
	unsigned n = usb_host_list(sysfs, all, USB_HOST_MAX);

	for (unsigned i = 0; i < n; i++)
		if (!strcmp(all[i].name, name)) {
			*out = all[i];
			return 0;
		}
	return -ENOENT;
}
