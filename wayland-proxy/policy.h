/* SPDX-License-Identifier: MIT */
/*
 * What lbx-wayland-proxy lets a box's clients see and do: the globals they
 * may bind (each with a version cap), the clipboard and primary selection
 * in each direction, and the prefix of their window titles.
 *
 * Only interfaces in the generated tables (wl_proto.h) can be allowed, and
 * the tables hold none of the privileged ones (screencopy, data-control,
 * virtual input, layer shell, output management, the compositor's own
 * weston_* or kde_* globals, ...): those are hidden always.
 */
#ifndef WLP_POLICY_H
#define WLP_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "compiler.h"
#include "wl_proto.h"

enum wlp_clip { WLP_CLIP_DENY, WLP_CLIP_ASK, WLP_CLIP_ALLOW };

#define WLP_POLICY_GLOBALS 64

struct wlp_global_rule {
	const struct wlp_iface *iface;
	uint32_t max_version;
};

struct wlp_policy {
	struct wlp_global_rule globals[WLP_POLICY_GLOBALS];
	size_t nglobals;
	enum wlp_clip to_host;	 /* the host reads the box's selection */
	enum wlp_clip from_host; /* the box reads the host's selection */
	char title_prefix[32];
	uint64_t shm_max; /* bytes of shm pools per client */
	unsigned ask_timeout_s;
};

/* The defaults: an application window's globals, box->host allow, host->box ask. */
void wlp_policy_default(struct wlp_policy *p);
/* The version a client may bind of a global the compositor offers, 0: hidden. */
uint32_t wlp_policy_global(const struct wlp_policy *p, const char *iface, uint32_t offered);
const char *wlp_clip_name(enum wlp_clip c);
LBX_MUST_CHECK int wlp_clip_parse(const char *s, enum wlp_clip *c);
/* Replace the allowlist entry for iface (adds it). -ENOENT: not in the tables. */
LBX_MUST_CHECK int wlp_policy_allow(struct wlp_policy *p, const char *iface, uint32_t max);

#endif
