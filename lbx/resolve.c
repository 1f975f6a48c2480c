/* SPDX-License-Identifier: MIT */
#include "resolve.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "json.h"

static int load_project(const char *dir, struct box_config *c, char *err, size_t errsz)
{
	char file[PATH_MAX + 16];

	box_path(dir, "lbx.json", file, sizeof(file));
	if (access(file, F_OK) == 0)
		return box_config_load(c, file, dir, err, errsz);
	return box_config_defaults(c, dir);
}

/* DATA/box.json: {"definition": FILE or "", "project": DIR, "workdir": DIR} */
static int read_record(const struct box_paths *p, char *def, char *project, char *workdir,
		       size_t sz)
{
	static const char *const keys[] = { "definition", "project", "workdir", NULL };
	char file[PATH_MAX + 16];
	struct lbx_json_doc doc;
	struct lbx_json_val root, v;
	const char *s;
	int rc;

	box_path(p->data, "box.json", file, sizeof(file));
	if (access(file, F_OK) < 0)
		return -ENOENT;
	rc = lbx_json_load(&doc, file);
	if (rc == 0) {
		lbx_json_root(&doc, "", &root);
		rc = lbx_json_object(&root, keys);
	}
	const char *names[] = { "definition", "project", "workdir" };
	char *outs[] = { def, project, workdir };
	for (int i = 0; rc == 0 && i < 3; i++) {
		rc = lbx_json_require(&root, names[i], &v);
		if (rc == 0)
			rc = lbx_json_string(&v, &s);
		if (rc == 0)
			snprintf(outs[i], sz, "%s", s);
	}
	lbx_json_doc_free(&doc);
	return rc;
}

int box_resolve(const char *name, struct box_config *c, char *err, size_t errsz)
{
	char cwd[PATH_MAX], cfgfile[PATH_MAX], def[PATH_MAX], project[PATH_MAX], workdir[PATH_MAX];
	struct box_paths p;
	int rc;

	if (!getcwd(cwd, sizeof(cwd))) {
		snprintf(err, errsz, "cannot read the current directory: %s", strerror(errno));
		return -errno;
	}
	if (!name)
		return load_project(cwd, c, err, errsz);
	if (!lbx_valid_box_name(name)) {
		snprintf(err, errsz, "'%s' is not a box name (1-63 of a-z A-Z 0-9 . _ -)", name);
		return -EINVAL;
	}
	if (box_config_path(name, cfgfile, sizeof(cfgfile)) == 0 && access(cfgfile, F_OK) == 0)
		return box_config_load(c, cfgfile, NULL, err, errsz);
	if (box_paths_init(&p, name) == 0 &&
	    read_record(&p, def, project, workdir, sizeof(def)) == 0) {
		rc = def[0] ? box_config_load(c, def, project, err, errsz)
			    : box_config_defaults(c, project);
		if (rc == 0 && strcmp(c->name, name) != 0) {
			snprintf(err, errsz, "box %s: its definition %s now names it '%s'", name, def,
				 c->name);
			return -EINVAL;
		}
		return rc;
	}
	rc = load_project(cwd, c, err, errsz);
	if (rc == 0 && !strcmp(c->name, name))
		return 0;
	if (rc == 0) {
		box_config_free(c);
		snprintf(err, errsz,
			 "no box named %s: define %s, or run 'lbx up' in its project directory",
			 name, cfgfile);
		return -ENOENT;
	}
	return rc;
}

int box_record(const struct box_config *c, const struct box_paths *p)
{
	char file[PATH_MAX + 16], *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	int rc;

	if (!f)
		return -ENOMEM;
	/* Paths are written as JSON strings: escape what JSON needs. */
	const char *vals[] = { c->file, c->project, c->workdir };
	const char *keys[] = { "definition", "project", "workdir" };
	fputs("{", f);
	for (int i = 0; i < 3; i++) {
		fprintf(f, "%s\n  \"%s\": \"", i ? "," : "", keys[i]);
		for (const char *s = vals[i]; *s; s++) {
			if (*s == '"' || *s == '\\')
				fprintf(f, "\\%c", *s);
			else if ((unsigned char)*s < 0x20)
				fprintf(f, "\\u%04x", (unsigned char)*s);
			else
				fputc(*s, f);
		}
		fputs("\"", f);
	}
	fputs("\n}\n", f);
	fclose(f);
	box_path(p->data, "box.json", file, sizeof(file));
	rc = box_write_file(file, text);
	free(text);
	return rc;
}

int box_recorded_workdir(const struct box_paths *p, char *buf, size_t sz)
{
	char def[PATH_MAX], project[PATH_MAX];

	buf[0] = '\0';
	return read_record(p, def, project, buf, sz < PATH_MAX ? sz : PATH_MAX);
}

int box_recorded_project(const struct box_paths *p, char *buf, size_t sz)
{
	char def[PATH_MAX], workdir[PATH_MAX];

	buf[0] = '\0';
	return read_record(p, def, buf, workdir, sz < PATH_MAX ? sz : PATH_MAX);
}
