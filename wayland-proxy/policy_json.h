/* SPDX-License-Identifier: MIT */
/*
 * The "wayland" section of a box definition (and lbx-wayland-proxy's
 * --policy file), read strictly: errors name the key.
 *
 *   { "globals": { "wl_compositor": 6, "xdg_wm_base": 5, ... },
 *     "clipboard": { "to_host": "allow", "from_host": "ask" },
 *     "shm_max_mib": 256 }
 *
 * "globals" replaces the default allowlist; each value caps the version.
 * "clipboard" covers the clipboard and the primary selection.
 */
#ifndef WLP_POLICY_JSON_H
#define WLP_POLICY_JSON_H

#include "compiler.h"
#include "json.h"
#include "policy.h"

/* p starts as wlp_policy_default. 0 or -EINVAL (message in the document). */
LBX_MUST_CHECK int wlp_policy_from_json(const struct lbx_json_val *v, struct wlp_policy *p);
/* Parse text (a "wayland" section); file names it in the one-line error. */
LBX_MUST_CHECK int wlp_policy_parse(const char *text, size_t len, const char *file,
				    struct wlp_policy *p, char *err, size_t errsz);
/* Load a policy file; on error msg holds one line. */
LBX_MUST_CHECK int wlp_policy_load(const char *path, struct wlp_policy *p, char *msg, size_t msgsz);

#endif
