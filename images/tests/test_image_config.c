/* SPDX-License-Identifier: MIT */
/* The "image" key of a box definition (docs/box.md): kinds, paths, one-line errors. */
#include <string.h>

#include "config.h"
#include "tap.h"

static int parse(const char *json, struct box_config *c, char *err)
{
	return box_config_parse(c, "lbx.json", json, strlen(json), "/src/app", err, 512);
}

static void expect_error(const char *json, const char *needle, const char *what)
{
	struct box_config c;
	char err[512] = "";
	int rc = parse(json, &c, err);

	ok(rc < 0 && strstr(err, needle) && !strchr(err, '\n'), "%s: %s", what, err);
	box_config_free(&c);
}

int main(void)
{
	static const char outside[] =
		"{\"project\": \"/srv/web\", \"image\": {\"containerfile\": \"Cf\"}}";
	struct box_config c;
	char err[512] = "";
	int rc;

	box_config_defaults(&c, "/src/app");
	ok(!strcmp(c.image, "debian") && !c.containerfile, "the default image is debian");
	box_config_free(&c);

	ok(parse("{\"image\": \"busybox\"}", &c, err) == 0 && !strcmp(c.image, "busybox"),
	   "busybox stays an explicit choice");
	box_config_free(&c);
	ok(parse("{\"image\": \"debian\"}", &c, err) == 0 && !strcmp(c.image, "debian"),
	   "debian by name");
	box_config_free(&c);

	ok(parse("{\"image\": {\"containerfile\": \"box/Containerfile\"}}", &c, err) == 0,
	   "a Containerfile (%s)", err);
	ok(!strcmp(c.image, "containerfile") &&
		   !strcmp(c.containerfile, "/src/app/box/Containerfile") &&
		   !strcmp(c.build_context, "/src/app/box"),
	   "its path is in the project, the context its directory: %s, %s", c.containerfile,
	   c.build_context);
	box_config_free(&c);
	rc = parse("{\"image\": {\"containerfile\": \"Containerfile\", \"context\": \".\"}}", &c,
		   err);
	ok(rc == 0 && !strcmp(c.build_context, "/src/app/.") &&
		   !strcmp(c.containerfile, "/src/app/Containerfile"),
	   "an explicit context: %s", c.build_context);
	box_config_free(&c);
	rc = box_config_parse(&c, "/cfg/web.json", outside, strlen(outside), NULL, err,
			      sizeof(err));
	ok(rc == 0 && !strcmp(c.containerfile, "/srv/web/Cf"),
	   "outside the project, paths are relative to \"project\": %s", c.containerfile);
	box_config_free(&c);

	expect_error("{\"image\": \"windows\"}", "lbx.json: image: expected \"debian\"",
		     "an unknown image is named");
	expect_error("{\"image\": 7}", "image: expected", "a number is not an image");
	expect_error("{\"image\": {}}", "image.containerfile: missing", "an object needs a file");
	expect_error("{\"image\": {\"containerfile\": \"/etc/Containerfile\"}}",
		     "image.containerfile: expected a path relative", "an absolute path is refused");
	expect_error("{\"image\": {\"containerfile\": \"../x/Containerfile\"}}",
		     "image.containerfile", "a path out of the project is refused");
	expect_error("{\"image\": {\"containerfile\": \"a/../../b\"}}", "image.containerfile",
		     "a path with .. inside is refused");
	expect_error("{\"image\": {\"containerfile\": \"C\", \"context\": \"..\"}}",
		     "image.context", "a context out of the project is refused");
	expect_error("{\"image\": {\"containerfile\": \"C\", \"from\": \"x\"}}", "image.from",
		     "an unknown key inside image is named");
	expect_error("{\"image\": {\"containerfile\": 1}}", "image.containerfile",
		     "a number for a path is named");
	return tap_done();
}
