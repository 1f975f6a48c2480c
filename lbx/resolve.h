/* SPDX-License-Identifier: MIT */
/* Which box a command means, and what `up` recorded about it. */
#ifndef LBX_RESOLVE_H
#define LBX_RESOLVE_H

#include <stddef.h>

#include "box.h"
#include "config.h"

/*
 * The definition of box `name` (NULL: the project in the current
 * directory). See docs/box.md for the search order. 0 or -errno with a
 * one-line reason.
 */
int box_resolve(const char *name, struct box_config *c, char *err, size_t errsz);
/* Remember where a box came from (DATA/box.json), so NAME works anywhere. */
int box_record(const struct box_config *c, const struct box_paths *p);
/* The project's path in the guest, from the record ("" if unknown). */
int box_recorded_workdir(const struct box_paths *p, char *buf, size_t sz);
/* The project the record names (-ENOENT if there is no record). */
int box_recorded_project(const struct box_paths *p, char *buf, size_t sz);

#endif
