/* SPDX-License-Identifier: MIT */
#include "objmap.h"

#include <stdlib.h>
#include <string.h>

#include "wire.h"

void wlp_objmap_init(struct wlp_objmap *m)
{
	memset(m, 0, sizeof(*m));
}

void wlp_objmap_free(struct wlp_objmap *m)
{
	free(m->side[0]);
	free(m->side[1]);
	memset(m, 0, sizeof(*m));
}

static bool split(uint32_t id, int *side, uint32_t *idx)
{
	if (id == 0)
		return false;
	*side = id >= WLP_SERVER_ID_MIN;
	*idx = *side ? id - WLP_SERVER_ID_MIN : id;
	return *idx < WLP_OBJ_MAX;
}

struct wlp_obj *wlp_obj_get(struct wlp_objmap *m, uint32_t id)
{
	int s;
	uint32_t i;

	if (!split(id, &s, &i) || i >= m->cap[s] || m->side[s][i].state == WLP_OBJ_FREE)
		return NULL;
	return &m->side[s][i];
}

struct wlp_obj *wlp_obj_new(struct wlp_objmap *m, uint32_t id, const struct wlp_iface *iface,
			    uint32_t version)
{
	int s;
	uint32_t i;

	if (!split(id, &s, &i))
		return NULL;
	if (i >= m->cap[s]) {
		uint32_t cap = m->cap[s] ? m->cap[s] : 64;
		while (cap <= i)
			cap *= 2;
		if (cap > WLP_OBJ_MAX)
			cap = WLP_OBJ_MAX;
		struct wlp_obj *n = realloc(m->side[s], cap * sizeof(*n));
		if (!n)
			return NULL;
		memset(n + m->cap[s], 0, (cap - m->cap[s]) * sizeof(*n));
		m->side[s] = n;
		m->cap[s] = cap;
	}
	struct wlp_obj *o = &m->side[s][i];
	if (o->state != WLP_OBJ_FREE)
		return NULL;
	memset(o, 0, sizeof(*o));
	o->iface = iface;
	o->version = version;
	o->state = WLP_OBJ_LIVE;
	return o;
}

void wlp_obj_remove(struct wlp_objmap *m, uint32_t id)
{
	struct wlp_obj *o = wlp_obj_get(m, id);

	if (o)
		memset(o, 0, sizeof(*o));
}

void wlp_objmap_each(struct wlp_objmap *m, void (*fn)(struct wlp_obj *o, void *ctx), void *ctx)
{
	for (int s = 0; s < 2; s++)
		for (uint32_t i = 0; i < m->cap[s]; i++)
			if (m->side[s][i].state != WLP_OBJ_FREE && m->side[s][i].data)
				fn(&m->side[s][i], ctx);
}
