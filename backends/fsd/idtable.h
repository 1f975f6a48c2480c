/* SPDX-License-Identifier: MIT */
/*
 * Ids the guest holds (FUSE node ids, file handles) are never pointers: an
 * id is a slot index plus the slot's generation, so a stale or forged id
 * finds nothing instead of a freed or foreign object. The caller locks.
 */
#ifndef LBX_FSD_IDTABLE_H
#define LBX_FSD_IDTABLE_H

#include <stddef.h>
#include <stdint.h>

#include "compiler.h"

struct fsd_idtable {
	void **slots;
	uint32_t *gens;
	uint32_t *freelist;
	uint32_t nfree;
	uint32_t cap;	/* slots allocated */
	uint32_t next;	/* next never-used index */
	uint32_t max;	/* ceiling on slots */
	size_t count;	/* live entries */
};

/* Ids start at index first (FUSE_ROOT_ID is 1; file handle 0 means none). */
LBX_MUST_CHECK int fsd_idtable_init(struct fsd_idtable *t, uint32_t first, uint32_t max);
void fsd_idtable_free(struct fsd_idtable *t);
/* -ENFILE when full, -ENOMEM. */
LBX_MUST_CHECK int fsd_idtable_add(struct fsd_idtable *t, void *p, uint64_t *id);
void *fsd_idtable_find(const struct fsd_idtable *t, uint64_t id);
void *fsd_idtable_remove(struct fsd_idtable *t, uint64_t id);
/* The i-th slot's object (NULL if free), for tear-down walks. */
void *fsd_idtable_at(const struct fsd_idtable *t, uint32_t i);

#endif
