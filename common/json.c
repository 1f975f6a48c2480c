/* SPDX-License-Identifier: MIT */
#include "json.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"

const char *lbx_json_error(const struct lbx_json_doc *doc)
{
	return doc->error;
}

static int doc_fail(struct lbx_json_doc *doc, const char *fmt, ...) LBX_PRINTF(2, 3);

static int doc_fail(struct lbx_json_doc *doc, const char *fmt, ...)
{
	va_list ap;

	if (doc->error[0])
		return -EINVAL;
	va_start(ap, fmt);
	vsnprintf(doc->error, sizeof(doc->error), fmt, ap);
	va_end(ap);
	return -EINVAL;
}

int lbx_json_fail(const struct lbx_json_val *v, const char *fmt, ...)
{
	char msg[LBX_JSON_ERROR_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	/* The top level has no path of its own: "file: message". */
	if (!v->path[0])
		return doc_fail(v->doc, "%s: %s", v->doc->file, msg);
	return doc_fail(v->doc, "%s: %s: %s", v->doc->file, v->path, msg);
}

int lbx_json_fail_as_is(const struct lbx_json_val *v, const char *msg)
{
	return doc_fail(v->doc, "%s", msg);
}

/* A path that does not fit ends in "..." rather than silently short. */
static void path_printf(char *dst, const char *fmt, ...) LBX_PRINTF(2, 3);

static void path_printf(char *dst, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(dst, LBX_JSON_PATH_MAX, fmt, ap);
	va_end(ap);
	if (n >= LBX_JSON_PATH_MAX)
		memcpy(dst + LBX_JSON_PATH_MAX - 4, "...", 4);
}

/* Line and column (1-based) of offset off in text, for parse errors. */
static void locate(const char *text, size_t off, unsigned *line, unsigned *col)
{
	*line = 1;
	*col = 1;
	for (size_t i = 0; i < off; i++) {
		if (text[i] == '\n') {
			(*line)++;
			*col = 1;
		} else {
			(*col)++;
		}
	}
}

static void set_file(struct lbx_json_doc *doc, const char *file)
{
	lbx_log_escape(doc->file, sizeof(doc->file), file, strlen(file));
}

int lbx_json_parse(struct lbx_json_doc *doc, const char *file, const char *text, size_t len)
{
	const char *end = NULL;
	unsigned line, col;
	char *copy;

	memset(doc, 0, sizeof(*doc));
	set_file(doc, file);
	/* cJSON wants a terminated buffer; a NUL inside the text ends it early. */
	if (memchr(text, '\0', len))
		return doc_fail(doc, "%s: contains a NUL byte", doc->file);
	copy = malloc(len + 1);
	if (!copy)
		return doc_fail(doc, "%s: out of memory", doc->file);
	memcpy(copy, text, len);
	copy[len] = '\0';
	doc->root = cJSON_ParseWithLengthOpts(copy, len + 1, &end, 1);
	if (!doc->root) {
		size_t off = end && end >= copy && end <= copy + len ? (size_t)(end - copy) : len;

		locate(copy, off, &line, &col);
		free(copy);
		return doc_fail(doc, "%s:%u:%u: invalid JSON", doc->file, line, col);
	}
	free(copy);
	return 0;
}

static int read_all(int fd, char *buf, size_t max, size_t *len)
{
	*len = 0;
	for (;;) {
		ssize_t n = read(fd, buf + *len, max - *len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return 0;
		*len += (size_t)n;
		if (*len == max)
			return -EFBIG;
	}
}

int lbx_json_load(struct lbx_json_doc *doc, const char *path)
{
	/* One byte more than allowed, to tell "exactly max" from "too big". */
	size_t max = LBX_JSON_FILE_MAX + 1, len;
	char *buf;
	int fd, err;

	memset(doc, 0, sizeof(*doc));
	set_file(doc, path);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return doc_fail(doc, "%s: cannot open: %s", doc->file, strerror(errno));
	buf = malloc(max);
	if (!buf) {
		close(fd);
		return doc_fail(doc, "%s: out of memory", doc->file);
	}
	err = read_all(fd, buf, max, &len);
	close(fd);
	if (err == -EFBIG)
		doc_fail(doc, "%s: larger than %u bytes", doc->file, LBX_JSON_FILE_MAX);
	else if (err)
		doc_fail(doc, "%s: cannot read: %s", doc->file, strerror(-err));
	else
		err = lbx_json_parse(doc, path, buf, len);
	free(buf);
	return err ? -EINVAL : 0;
}

void lbx_json_doc_free(struct lbx_json_doc *doc)
{
	cJSON_Delete(doc->root);
	doc->root = NULL;
}

void lbx_json_root(struct lbx_json_doc *doc, const char *name, struct lbx_json_val *out)
{
	out->node = doc->root;
	out->doc = doc;
	path_printf(out->path, "%s", name);
}

/* Hostile keys go into messages: escape them. */
static void child_path(const struct lbx_json_val *parent, const char *key, char *dst)
{
	char esc[64];

	lbx_log_escape(esc, sizeof(esc), key, strlen(key));
	/* Members of an unnamed top level are named by their key alone. */
	if (parent->path[0])
		path_printf(dst, "%s.%s", parent->path, esc);
	else
		path_printf(dst, "%s", esc);
}

static void child(const struct lbx_json_val *parent, const cJSON *node, const char *key,
		  struct lbx_json_val *out)
{
	char path[LBX_JSON_PATH_MAX];

	child_path(parent, key, path);
	out->node = node;
	out->doc = parent->doc;
	memcpy(out->path, path, sizeof(path));
}

static bool known_key(const char *key, const char *const *known, size_t *idx)
{
	for (size_t i = 0; known[i]; i++) {
		if (!strcmp(key, known[i])) {
			*idx = i;
			return true;
		}
	}
	return false;
}

static void list_known(const char *const *known, char *dst, size_t dstsz)
{
	size_t o = 0;

	dst[0] = '\0';
	for (size_t i = 0; known[i] && o < dstsz; i++)
		o += (size_t)snprintf(dst + o, dstsz - o, "%s%s", i ? ", " : "", known[i]);
}

int lbx_json_object(const struct lbx_json_val *v, const char *const *known)
{
	unsigned char seen[64] = { 0 };
	struct lbx_json_val c;
	char names[256];

	if (v->doc->error[0])
		return -EINVAL;
	if (!cJSON_IsObject(v->node))
		return lbx_json_fail(v, "expected an object");
	for (const cJSON *m = v->node->child; m; m = m->next) {
		size_t idx = 0;

		child(v, m, m->string ? m->string : "", &c);
		if (!m->string || !known_key(m->string, known, &idx)) {
			list_known(known, names, sizeof(names));
			return lbx_json_fail(&c, "unknown key (known: %s)", names);
		}
		if (idx < sizeof(seen) && seen[idx]++)
			return lbx_json_fail(&c, "repeated key");
	}
	return 0;
}

int lbx_json_member(const struct lbx_json_val *obj, const char *key, struct lbx_json_val *out)
{
	const cJSON *m;

	if (obj->doc->error[0])
		return -EINVAL;
	if (!cJSON_IsObject(obj->node))
		return lbx_json_fail(obj, "expected an object");
	m = cJSON_GetObjectItemCaseSensitive(obj->node, key);
	if (!m)
		return -ENOENT;
	child(obj, m, key, out);
	return 0;
}

int lbx_json_require(const struct lbx_json_val *obj, const char *key, struct lbx_json_val *out)
{
	int err = lbx_json_member(obj, key, out);

	if (err == -ENOENT) {
		child(obj, NULL, key, out);
		return lbx_json_fail(out, "missing");
	}
	return err;
}

int lbx_json_bool(const struct lbx_json_val *v, bool *out)
{
	if (v->doc->error[0])
		return -EINVAL;
	if (!cJSON_IsBool(v->node))
		return lbx_json_fail(v, "expected true or false");
	*out = cJSON_IsTrue(v->node);
	return 0;
}

int lbx_json_string(const struct lbx_json_val *v, const char **out)
{
	if (v->doc->error[0])
		return -EINVAL;
	if (!cJSON_IsString(v->node) || !v->node->valuestring)
		return lbx_json_fail(v, "expected a string");
	*out = v->node->valuestring;
	return 0;
}

int lbx_json_int(const struct lbx_json_val *v, long long min, long long max, long long *out)
{
	double d;

	if (v->doc->error[0])
		return -EINVAL;
	if (!cJSON_IsNumber(v->node))
		return lbx_json_fail(v, "expected a whole number from %lld to %lld", min, max);
	d = v->node->valuedouble;
	/* Compare as doubles first: converting an out-of-range double is UB. */
	if (!isfinite(d) || d != floor(d) || d < (double)min || d > (double)max)
		return lbx_json_fail(v, "expected a whole number from %lld to %lld", min, max);
	*out = (long long)d;
	return 0;
}

int lbx_json_array(const struct lbx_json_val *v, size_t *n)
{
	size_t count = 0;

	if (v->doc->error[0])
		return -EINVAL;
	if (!cJSON_IsArray(v->node))
		return lbx_json_fail(v, "expected an array");
	for (const cJSON *e = v->node->child; e; e = e->next)
		count++;
	*n = count;
	return 0;
}

void lbx_json_iter_init(struct lbx_json_iter *it, const struct lbx_json_val *array)
{
	it->parent = array;
	it->next = cJSON_IsArray(array->node) ? array->node->child : NULL;
	it->index = 0;
}

bool lbx_json_iter_next(struct lbx_json_iter *it, struct lbx_json_val *out)
{
	char path[LBX_JSON_PATH_MAX];

	if (!it->next)
		return false;
	path_printf(path, "%s[%zu]", it->parent->path, it->index);
	out->node = it->next;
	out->doc = it->parent->doc;
	memcpy(out->path, path, sizeof(path));
	it->next = it->next->next;
	it->index++;
	return true;
}
