/* SPDX-License-Identifier: MIT */
#include "wl_proto.h"

#include <string.h>

const struct wlp_iface *wlp_iface_find(const char *name, size_t n)
{
	size_t lo = 0, hi = wlp_niface;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		const char *m = wlp_ifaces[mid]->name;
		int c = strncmp(m, name, n);

		if (c == 0 && m[n] != 0)
			c = 1;
		if (c == 0)
			return wlp_ifaces[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}
