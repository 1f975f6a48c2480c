/* SPDX-License-Identifier: MIT */
/*
 * Who may widen a box (ARCHITECTURE.md "Who may change a box's policy",
 * docs/box.md "Approval").
 *
 * The project tree is writable from inside the box, so a definition read
 * from it (lbx.json, its Containerfile and build context) is a request.
 * What it grants beyond the version the host user last approved takes
 * effect only once approved outside the box: at the terminal of `lbx up`
 * or `lbx build` (y/N), or with `lbx allow`.
 *
 *   store   DATA/approved.json (DATA: $XDG_DATA_HOME/lbx/boxes/NAME, which
 *           no engine shares into the box; only DATA/root is the guest's):
 *           the canonical resolved definition last approved or accepted,
 *           the project it belongs to, and the recipe's hash.
 *   diff    trust_diff: what a definition grants that the approved one did
 *           not, key by key (mounts, network, ssh, engine, image recipe,
 *           workdir, Landlock). Narrowing needs no approval.
 *   owner   a box name belongs to one project: the one its record
 *           (DATA/box.json), its approval or its $XDG_CONFIG_HOME
 *           definition names.
 *
 * Definitions in $XDG_CONFIG_HOME/lbx/boxes/NAME.json are the host user's
 * own and count as approved; the Containerfile and context they name live
 * in the project, so the recipe is still checked.
 */
#ifndef LBX_TRUST_H
#define LBX_TRUST_H

#include <stdbool.h>
#include <stddef.h>

#include "box.h"
#include "config.h"

/* The build context walk's bounds: beyond them lbx refuses to approve it. */
#define TRUST_CONTEXT_MAX_FILES 100000ull
#define TRUST_CONTEXT_MAX_BYTES (1ull << 30)
#define TRUST_CONTEXT_MAX_DEPTH 64

/* A recipe's fingerprint: the Containerfile and its build context. */
struct trust_recipe {
	bool known; /* hashed now, or read from the store */
	char sha256[65];
	unsigned long long files, bytes;
};

#define TRUST_DIFF_MAX 48
#define TRUST_WHAT_MAX 600

/* One way a definition reaches further than the approved one. */
struct trust_widening {
	const char *key;	   /* "mounts", "network.host", "landlock.root_sessions", ... */
	char what[TRUST_WHAT_MAX]; /* for the terminal: control characters escaped */
};

struct trust_diff {
	struct trust_widening items[TRUST_DIFF_MAX];
	unsigned n;
	bool truncated; /* more than TRUST_DIFF_MAX */
};

/*
 * What now (with recipe nr) grants that approved (recipe ar) did not.
 * recipe_only: only the recipe counts (the definition is the user's own).
 * A recipe is compared only when nr->known.
 */
void trust_diff(const struct box_config *approved, const struct trust_recipe *ar,
		const struct box_config *now, const struct trust_recipe *nr, bool recipe_only,
		struct trust_diff *d);
/* Do both build the same Containerfile with the same context (paths only)? */
bool trust_same_recipe_spec(const struct box_config *a, const struct box_config *n);
/* "mounts, network.host" : the distinct keys of a diff, for one line. */
void trust_diff_keys(const struct trust_diff *d, char *buf, size_t sz);

/*
 * Hash the recipe of a box whose image is a Containerfile: the file (what
 * podman reads, so through a link), then the context tree, walked without
 * following links, skipping .git and the definition itself, within the
 * bounds above. 0 (r->known), or -errno with a one-line reason.
 */
int trust_hash_recipe(const struct box_config *c, struct trust_recipe *r, char *err, size_t errsz);

/* The store's text for a definition (malloc'd JSON), and back. */
char *trust_canonical(const struct box_config *c, const struct trust_recipe *r);
int trust_parse(const char *text, size_t len, struct box_config *c, struct trust_recipe *r,
		char *err, size_t errsz);
/* DATA/approved.json: 0, -ENOENT if there is none (or another project's), -errno. */
int trust_load(const struct box_paths *p, const char *project, struct box_config *c,
	       struct trust_recipe *r);
int trust_store(const struct box_paths *p, const struct box_config *c,
		const struct trust_recipe *r);

/* Is c the host user's own definition ($XDG_CONFIG_HOME/lbx/boxes/NAME.json)? */
bool trust_definition_is_own(const struct box_config *c);
/*
 * May c use its name? Not if the name's record, approval or own definition
 * names another project. 0, or -EEXIST with a one-line reason.
 */
int trust_check_owner(const struct box_config *c, const struct box_paths *p, char *err,
		      size_t errsz);
/*
 * Would the box reach lbx's own state (its data, config or runtime
 * directory) through a tree it writes (the project, a read-write mount)?
 * It could then approve itself. 0, or -EPERM with a one-line reason.
 */
int trust_check_state_hidden(const struct box_config *c, char *err, size_t errsz);

/*
 * The definition as it reaches the host now: c with each mount's host path
 * resolved through links (a link in a tree the box writes could otherwise
 * move an approved mount). v shares c's other fields: free it only with
 * trust_view_free, and keep c alive while v is used.
 */
int trust_view_init(const struct box_config *c, struct box_config *v);
void trust_view_free(struct box_config *v);

/* path without "." components or a trailing slash ("/p/./d/." is "/p/d"). */
void trust_norm_path(const char *path, char *out, size_t sz);
/* Do two paths name the same place, "." components aside? */
bool trust_same_path(const char *a, const char *b);

/* Print a string for a terminal: control characters and bad UTF-8 as \xNN. */
void trust_escape(const char *s, char *out, size_t sz);

enum trust_op { TRUST_UP, TRUST_BUILD };

/*
 * The gate `lbx up` and `lbx build` pass once the definition is loaded:
 * owner and state checks, then the widening diff against the approval.
 * Nothing widened: the version is recorded as accepted. Widened: with a
 * terminal (stdin and stderr), the list and a y/N question; without, a
 * refusal naming `lbx allow`. A running box passes (nothing starts).
 * 0, or -errno with one line in err.
 */
int trust_gate(const struct box_config *c, enum trust_op op, char *err, size_t errsz);

#endif
