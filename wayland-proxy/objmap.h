/* SPDX-License-Identifier: MIT */
/*
 * The objects of one Wayland connection, by id, as both ends see them:
 * ids below WLP_SERVER_ID_MIN are the client's, the rest the server's.
 * An object a destructor ended stays as a zombie until the server's
 * wl_display.delete_id, so late events to it can still be parsed (and
 * dropped) and its id is not reused too early.
 */
#ifndef WLP_OBJMAP_H
#define WLP_OBJMAP_H

#include <stdbool.h>
#include <stdint.h>

#include "compiler.h"
#include "wl_proto.h"

/* Ids per side a client may use: bounds the map's memory. */
#define WLP_OBJ_MAX (1u << 18)

enum wlp_obj_state { WLP_OBJ_FREE, WLP_OBJ_LIVE, WLP_OBJ_ZOMBIE };

struct wlp_obj {
	const struct wlp_iface *iface;
	uint32_t version;
	uint8_t state;
	uint8_t flags;	 /* the owner's: WLP_OF_* */
	uint32_t handle; /* pools, buffers: the shm pool's handle; globals: the name */
	void *data;	 /* the owner's, freed by the owner's hook */
};

struct wlp_objmap {
	struct wlp_obj *side[2];
	uint32_t cap[2];
};

void wlp_objmap_init(struct wlp_objmap *m);
void wlp_objmap_free(struct wlp_objmap *m);
/* The object with that id if live or a zombie, else NULL. */
struct wlp_obj *wlp_obj_get(struct wlp_objmap *m, uint32_t id);
/* A new object at a free id: NULL if the id is taken or out of range. */
struct wlp_obj *wlp_obj_new(struct wlp_objmap *m, uint32_t id, const struct wlp_iface *iface,
			    uint32_t version);
/* Forget the object (its data must be released first). */
void wlp_obj_remove(struct wlp_objmap *m, uint32_t id);

/* Calls fn for every object that has data (on close). */
void wlp_objmap_each(struct wlp_objmap *m, void (*fn)(struct wlp_obj *o, void *ctx), void *ctx);

#endif
