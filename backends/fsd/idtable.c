/* SPDX-License-Identifier: MIT */
#include "idtable.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int fsd_idtable_init(struct fsd_idtable *t, uint32_t first, uint32_t max)
{
	memset(t, 0, sizeof(*t));
	t->next = first;
	t->max = max;
	return 0;
}

void fsd_idtable_free(struct fsd_idtable *t)
{
	free(t->slots);
	free(t->gens);
	free(t->freelist);
	memset(t, 0, sizeof(*t));
}

static int grow(struct fsd_idtable *t)
{
	uint32_t cap = t->cap ? t->cap * 2 : 64;
	void **slots;
	uint32_t *gens, *freelist;

	if (cap > t->max)
		cap = t->max;
	if (cap <= t->cap)
		return -ENFILE;
	slots = realloc(t->slots, cap * sizeof(*slots));
	if (!slots)
		return -ENOMEM;
	t->slots = slots;
	gens = realloc(t->gens, cap * sizeof(*gens));
	if (!gens)
		return -ENOMEM;
	t->gens = gens;
	freelist = realloc(t->freelist, cap * sizeof(*freelist));
	if (!freelist)
		return -ENOMEM;
	t->freelist = freelist;
	memset(slots + t->cap, 0, (cap - t->cap) * sizeof(*slots));
	memset(gens + t->cap, 0, (cap - t->cap) * sizeof(*gens));
	t->cap = cap;
	return 0;
}

int fsd_idtable_add(struct fsd_idtable *t, void *p, uint64_t *id)
{
	uint32_t i;

	if (t->nfree) {
		i = t->freelist[--t->nfree];
	} else {
		if (t->next >= t->cap) {
			int err = grow(t);

			if (err)
				return err;
		}
		i = t->next++;
	}
	t->slots[i] = p;
	t->count++;
	*id = (uint64_t)t->gens[i] << 32 | i;
	return 0;
}

static uint32_t slot_of(const struct fsd_idtable *t, uint64_t id)
{
	uint32_t i = (uint32_t)id, gen = (uint32_t)(id >> 32);

	if (i >= t->next || i >= t->cap || !t->slots[i] || t->gens[i] != gen)
		return UINT32_MAX;
	return i;
}

void *fsd_idtable_find(const struct fsd_idtable *t, uint64_t id)
{
	uint32_t i = slot_of(t, id);

	return i == UINT32_MAX ? NULL : t->slots[i];
}

void *fsd_idtable_remove(struct fsd_idtable *t, uint64_t id)
{
	uint32_t i = slot_of(t, id);
	void *p;

	if (i == UINT32_MAX)
		return NULL;
	p = t->slots[i];
	t->slots[i] = NULL;
	t->gens[i]++; /* the old id now finds nothing */
	t->freelist[t->nfree++] = i;
	t->count--;
	return p;
}

void *fsd_idtable_at(const struct fsd_idtable *t, uint32_t i)
{
	return i < t->cap ? t->slots[i] : NULL;
}
