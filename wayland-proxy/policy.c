/* SPDX-License-Identifier: MIT */
#include "policy.h"

#include <errno.h>
#include <string.h>

/* What an application window needs, and the versions we parse. */
static const struct {
	const char *name;
	uint32_t max;
} default_globals[] = {
	{ "wl_compositor", 6 },
	{ "wl_subcompositor", 1 },
	{ "wl_shm", 1 },
	{ "wl_seat", 9 },
	{ "wl_output", 4 },
	{ "wl_data_device_manager", 3 },
	{ "xdg_wm_base", 6 },
	{ "zxdg_decoration_manager_v1", 1 },
	{ "zxdg_output_manager_v1", 3 },
	{ "wp_viewporter", 1 },
	{ "wp_fractional_scale_manager_v1", 1 },
	{ "wp_cursor_shape_manager_v1", 1 },
	{ "zwp_primary_selection_device_manager_v1", 1 },
	{ "zwp_text_input_manager_v3", 1 },
	{ "zwp_pointer_constraints_v1", 1 },
	{ "zwp_relative_pointer_manager_v1", 1 },
	{ "wp_presentation", 1 },
	{ "xdg_activation_v1", 1 },
	/* zwp_linux_dmabuf_v1: only once a GPU path exists. */
};

int wlp_policy_allow(struct wlp_policy *p, const char *iface, uint32_t max)
{
	const struct wlp_iface *i = wlp_iface_find(iface, strlen(iface));

	if (!i)
		return -ENOENT;
	if (max > i->version)
		max = i->version;
	for (size_t k = 0; k < p->nglobals; k++)
		if (p->globals[k].iface == i) {
			p->globals[k].max_version = max;
			return 0;
		}
	if (p->nglobals == WLP_POLICY_GLOBALS)
		return -ENOSPC;
	p->globals[p->nglobals].iface = i;
	p->globals[p->nglobals++].max_version = max;
	return 0;
}

void wlp_policy_default(struct wlp_policy *p)
{
	memset(p, 0, sizeof(*p));
	for (size_t k = 0; k < LBX_ARRAY_SIZE(default_globals); k++)
		/* An interface this build's XML lacks (cursor-shape) is just not offered. */
		(void)!wlp_policy_allow(p, default_globals[k].name, default_globals[k].max);
	p->to_host = WLP_CLIP_ALLOW;
	p->from_host = WLP_CLIP_ASK;
	strcpy(p->title_prefix, "[box] ");
	p->shm_max = 256u << 20;
	p->ask_timeout_s = 60;
}

uint32_t wlp_policy_global(const struct wlp_policy *p, const char *iface, uint32_t offered)
{
	for (size_t k = 0; k < p->nglobals; k++)
		if (strcmp(p->globals[k].iface->name, iface) == 0)
			return LBX_MIN(offered, p->globals[k].max_version);
	return 0;
}

static const char *const clip_names[] = { "deny", "ask", "allow" };

const char *wlp_clip_name(enum wlp_clip c)
{
	return clip_names[c];
}

int wlp_clip_parse(const char *s, enum wlp_clip *c)
{
	for (size_t k = 0; k < LBX_ARRAY_SIZE(clip_names); k++)
		if (strcmp(s, clip_names[k]) == 0) {
			*c = (enum wlp_clip)k;
			return 0;
		}
	return -EINVAL;
}
