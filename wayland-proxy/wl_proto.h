/* SPDX-License-Identifier: MIT */
/*
 * The Wayland protocols both halves of the proxy know, as tables that
 * gen_tables.py writes at build time from the protocol XML (libwayland's
 * wayland.xml and wayland-protocols). A message the tables do not describe
 * cannot cross the proxy.
 */
#ifndef WLP_PROTO_H
#define WLP_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct wlp_iface;

/*
 * One argument (wayland.dtd): type is 'i' int, 'u' uint, 'f' fixed,
 * 's' string, 'o' object, 'n' new_id, 'a' array, 'h' fd. An 'n' without
 * an interface (wl_registry.bind) is sent as string, uint version, id.
 */
struct wlp_arg {
	char type;
	bool nullable;
	const struct wlp_iface *iface;
};

struct wlp_msg {
	const char *name;
	uint32_t since;
	bool destructor;
	uint8_t nargs;
	const struct wlp_arg *args;
};

struct wlp_iface {
	const char *name;
	uint32_t version;
	uint16_t nreq, nev;
	const struct wlp_msg *req, *ev;
};

/* Sorted by name. */
extern const struct wlp_iface *const wlp_ifaces[];
extern const size_t wlp_niface;

extern const struct wlp_iface wlp_iface_wl_display;

/* The interface called name (n bytes), or NULL. */
const struct wlp_iface *wlp_iface_find(const char *name, size_t n);

#endif
