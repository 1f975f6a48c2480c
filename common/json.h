/* SPDX-License-Identifier: MIT */
/*
 * Strict, typed access to JSON documents (box definitions, policies).
 *
 * A thin layer over cJSON that every config reader uses, so all of them
 * report errors the same way: one line naming the file and the JSON path
 * of the offending value, e.g.
 *
 *   box.json: ssh.keys[1].confirm: expected true or false
 *
 * Config files are hostile input: objects are checked against the list of
 * keys the caller knows (an unknown or repeated key is an error naming it),
 * every value is type-checked, integers are range-checked. The first error
 * is kept in the document and every accessor returns -EINVAL after it.
 */
#ifndef LBX_JSON_H
#define LBX_JSON_H

#include <stdbool.h>
#include <stddef.h>

#include "compiler.h"

struct cJSON;

#define LBX_JSON_PATH_MAX  160
#define LBX_JSON_ERROR_MAX 512
/* Largest config file lbx_json_load reads. */
#define LBX_JSON_FILE_MAX (1u << 20)

struct lbx_json_doc {
	struct cJSON *root;
	char file[128];
	char error[LBX_JSON_ERROR_MAX];
};

/* A value inside a document, with its path for messages. */
struct lbx_json_val {
	const struct cJSON *node;
	struct lbx_json_doc *doc;
	char path[LBX_JSON_PATH_MAX];
};

struct lbx_json_iter {
	const struct lbx_json_val *parent;
	const struct cJSON *next;
	size_t index;
};

/*
 * Parse text (len bytes, no NUL needed). file names the source in messages.
 * 0, or -EINVAL with "file:LINE:COL: invalid JSON" in doc->error.
 */
LBX_MUST_CHECK int lbx_json_parse(struct lbx_json_doc *doc, const char *file, const char *text,
				  size_t len);
/* Read and parse a file of at most LBX_JSON_FILE_MAX bytes. */
LBX_MUST_CHECK int lbx_json_load(struct lbx_json_doc *doc, const char *path);
void lbx_json_doc_free(struct lbx_json_doc *doc);
/* The message of the first error ("" if none). */
const char *lbx_json_error(const struct lbx_json_doc *doc);

/* The document's top value; name starts every path ("ssh" gives "ssh.keys[0]"). */
void lbx_json_root(struct lbx_json_doc *doc, const char *name, struct lbx_json_val *out);

/*
 * v must be an object whose keys are all in known (NULL-terminated), each at
 * most once. Errors: "PATH: expected an object", "PATH.KEY: unknown key
 * (known: a, b)", "PATH.KEY: repeated key".
 */
LBX_MUST_CHECK int lbx_json_object(const struct lbx_json_val *v, const char *const *known);
/* Member key of object obj: 0 (out set), -ENOENT if absent (not an error). */
LBX_MUST_CHECK int lbx_json_member(const struct lbx_json_val *obj, const char *key,
				   struct lbx_json_val *out);
/* Like lbx_json_member, but absence is an error "PATH.KEY: missing". */
LBX_MUST_CHECK int lbx_json_require(const struct lbx_json_val *obj, const char *key,
				    struct lbx_json_val *out);

LBX_MUST_CHECK int lbx_json_bool(const struct lbx_json_val *v, bool *out);
/* A string; *out points into the document (valid until lbx_json_doc_free). */
LBX_MUST_CHECK int lbx_json_string(const struct lbx_json_val *v, const char **out);
/* A whole number in [min, max]. */
LBX_MUST_CHECK int lbx_json_int(const struct lbx_json_val *v, long long min, long long max,
				long long *out);
/* An array; *n is its length. */
LBX_MUST_CHECK int lbx_json_array(const struct lbx_json_val *v, size_t *n);

/* Walk the elements of an array already checked with lbx_json_array. */
void lbx_json_iter_init(struct lbx_json_iter *it, const struct lbx_json_val *array);
bool lbx_json_iter_next(struct lbx_json_iter *it, struct lbx_json_val *out);

/* Record "file: PATH: message" as the error (first one wins); returns -EINVAL. */
int lbx_json_fail(const struct lbx_json_val *v, const char *fmt, ...) LBX_PRINTF(2, 3);
/* Record a whole message that already names file and path (a nested parser's). */
int lbx_json_fail_as_is(const struct lbx_json_val *v, const char *msg);

#endif
