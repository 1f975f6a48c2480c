/* SPDX-License-Identifier: MIT */
/* common/json: typed access, unknown keys, paths in messages. */
#include <errno.h>
#include <string.h>

#include "json.h"
#include "tap.h"

static const char *const known[] = { "name", "cpus", "tags", "gui", NULL };

static int load(struct lbx_json_doc *doc, const char *text, struct lbx_json_val *root)
{
	int err = lbx_json_parse(doc, "box.json", text, strlen(text));

	if (!err)
		lbx_json_root(doc, "box", root);
	return err;
}

static void test_access(void)
{
	struct lbx_json_doc doc;
	struct lbx_json_val root, v, e;
	struct lbx_json_iter it;
	const char *s = NULL;
	long long n = 0;
	bool b = false;
	size_t count = 0, seen = 0;

	ok(!load(&doc, "{\"name\":\"dev\",\"cpus\":4,\"tags\":[\"a\",\"b\"],\"gui\":true}", &root),
	   "parses");
	ok(!lbx_json_object(&root, known), "known keys only");
	ok(!lbx_json_require(&root, "name", &v) && !lbx_json_string(&v, &s) && !strcmp(s, "dev"),
	   "string member");
	ok(!lbx_json_require(&root, "cpus", &v) && !lbx_json_int(&v, 1, 64, &n) && n == 4,
	   "integer member");
	ok(!lbx_json_require(&root, "gui", &v) && !lbx_json_bool(&v, &b) && b, "bool member");
	ok(!lbx_json_require(&root, "tags", &v) && !lbx_json_array(&v, &count) && count == 2,
	   "array member");
	lbx_json_iter_init(&it, &v);
	while (lbx_json_iter_next(&it, &e))
		seen += !lbx_json_string(&e, &s) &&
			!strcmp(e.path, seen ? "box.tags[1]" : "box.tags[0]");
	is_int(seen, 2, "iteration yields indexed paths");
	ok(lbx_json_member(&root, "absent", &v) == -ENOENT && !lbx_json_error(&doc)[0],
	   "an absent optional member is not an error");
	lbx_json_doc_free(&doc);
}

static void expect(const char *text, int (*check)(struct lbx_json_val *), const char *want)
{
	struct lbx_json_doc doc;
	struct lbx_json_val root;
	int rc = load(&doc, text, &root);

	if (!rc)
		rc = check(&root);
	if (!ok(rc == -EINVAL && !strcmp(lbx_json_error(&doc), want), "%s", want))
		printf("#   got: %s\n", lbx_json_error(&doc));
	lbx_json_doc_free(&doc);
}

static int check_object(struct lbx_json_val *root)
{
	return lbx_json_object(root, known);
}

static int check_cpus(struct lbx_json_val *root)
{
	struct lbx_json_val v;
	long long n;

	return lbx_json_require(root, "cpus", &v) ?: lbx_json_int(&v, 1, 64, &n);
}

static int check_gui(struct lbx_json_val *root)
{
	struct lbx_json_val v;
	bool b;

	return lbx_json_require(root, "gui", &v) ?: lbx_json_bool(&v, &b);
}

static int check_sticky(struct lbx_json_val *root)
{
	struct lbx_json_val v;
	const char *s;

	check_gui(root);
	/* After the first error every accessor fails and the message stays. */
	return lbx_json_require(root, "name", &v) ?: lbx_json_string(&v, &s);
}

static void test_errors(void)
{
	expect("{\"name\":\"x\",\"colour\":1}", check_object,
	       "box.json: box.colour: unknown key (known: name, cpus, tags, gui)");
	expect("{\"cpus\":1,\"cpus\":2}", check_object, "box.json: box.cpus: repeated key");
	expect("[1]", check_object, "box.json: box: expected an object");
	expect("{\"cpus\":1.5}", check_cpus,
	       "box.json: box.cpus: expected a whole number from 1 to 64");
	expect("{\"cpus\":65}", check_cpus,
	       "box.json: box.cpus: expected a whole number from 1 to 64");
	expect("{\"cpus\":1e300}", check_cpus,
	       "box.json: box.cpus: expected a whole number from 1 to 64");
	expect("{\"cpus\":\"4\"}", check_cpus,
	       "box.json: box.cpus: expected a whole number from 1 to 64");
	expect("{}", check_cpus, "box.json: box.cpus: missing");
	expect("{\"gui\":1}", check_gui, "box.json: box.gui: expected true or false");
	expect("{\"gui\":1,\"name\":\"n\"}", check_sticky,
	       "box.json: box.gui: expected true or false");
	expect("{\"\\u0001bad\":1}", check_object,
	       "box.json: box.\\x01bad: unknown key (known: name, cpus, tags, gui)");
}

static void test_parse_errors(void)
{
	struct lbx_json_doc doc;
	static const char nul[] = "{\"a\":\0}", bad[] = "{\n  \"a\": tru\n}";

	ok(lbx_json_parse(&doc, "f.json", bad, strlen(bad)) == -EINVAL &&
	       !strcmp(lbx_json_error(&doc), "f.json:2:8: invalid JSON"),
	   "syntax error with line and column");
	lbx_json_doc_free(&doc);
	ok(lbx_json_parse(&doc, "f.json", nul, sizeof(nul) - 1) == -EINVAL &&
	       strstr(lbx_json_error(&doc), "NUL"),
	   "a NUL byte is refused");
	lbx_json_doc_free(&doc);
	ok(lbx_json_load(&doc, "/nonexistent/box.json") == -EINVAL &&
	       strstr(lbx_json_error(&doc), "/nonexistent/box.json: cannot open"),
	   "a missing file names the file");
	lbx_json_doc_free(&doc);
}

int main(void)
{
	test_access();
	test_errors();
	test_parse_errors();
	return tap_done();
}
