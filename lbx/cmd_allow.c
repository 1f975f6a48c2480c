/* SPDX-License-Identifier: MIT */
/*
 * lbx allow [NAME] [--show] [--json]: approve a box's definition as it is
 * now (trust.h), outside the box. --show lists what it widens beyond the
 * approved version and approves nothing; --json prints that and the
 * canonical definition that would be approved, as JSON.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "cli.h"
#include "log.h"
#include "resolve.h"
#include "trust.h"

static void usage(FILE *f)
{
	fprintf(f, "usage: lbx allow [NAME] [--show] [--json]\n"
		   "Approve the box's definition (its lbx.json, Containerfile and build context)\n"
		   "as it is now, so 'lbx up' and 'lbx build' use what it grants. --show lists\n"
		   "what it grants beyond the approved version and approves nothing; --json\n"
		   "prints that and the definition as JSON (and approves nothing).\n");
}

static void print_json(const struct box_config *c, const struct trust_diff *d,
		       const struct trust_recipe *nr)
{
	char *canon = trust_canonical(c, nr), *text;
	cJSON *out = cJSON_CreateObject(), *widens;

	cJSON_AddStringToObject(out, "name", c->name);
	cJSON_AddStringToObject(out, "definition", c->file ? c->file : "");
	widens = cJSON_AddArrayToObject(out, "widens");
	for (unsigned i = 0; i < d->n; i++) {
		cJSON *w = cJSON_CreateObject();

		cJSON_AddStringToObject(w, "key", d->items[i].key);
		cJSON_AddStringToObject(w, "what", d->items[i].what);
		cJSON_AddItemToArray(widens, w);
	}
	cJSON_AddItemToObject(out, "approve", canon ? cJSON_Parse(canon) : cJSON_CreateNull());
	text = cJSON_Print(out);
	if (text)
		printf("%s\n", text);
	free(text);
	free(canon);
	cJSON_Delete(out);
}

static void print_show(const struct box_config *c, const struct trust_diff *d)
{
	printf("box %s: %s\n", c->name, c->file && c->file[0] ? c->file : "(defaults)");
	if (!d->n)
		printf("  nothing beyond what is approved\n");
	for (unsigned i = 0; i < d->n; i++)
		printf("  + %s: %s\n", d->items[i].key, d->items[i].what);
	if (d->truncated)
		printf("  + ... and more\n");
}

/* The diff of c against its approval (or the defaults), with the recipe hashed now. */
static int diff_now(const struct box_config *c, const struct box_paths *p, struct trust_diff *d,
		    struct trust_recipe *nr, char *err, size_t errsz)
{
	struct trust_recipe ar;
	struct box_config a;
	int rc;

	if (trust_load(p, c->project, &a, &ar) < 0) {
		memset(&ar, 0, sizeof(ar));
		if (box_config_defaults(&a, c->project) < 0)
			return -ENOMEM;
	}
	rc = trust_hash_recipe(c, nr, err, errsz);
	if (rc == 0)
		trust_diff(&a, &ar, c, nr, trust_definition_is_own(c), d);
	box_config_free(&a);
	return rc;
}

int lbx_cmd_allow(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "show", no_argument, NULL, 's' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct trust_recipe nr;
	struct box_config cfg, view;
	struct box_paths paths;
	struct trust_diff *d;
	char err[1200], keys[400];
	bool show = false, json = false;
	int opt, rc;

	optind = 1;
	while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		if (opt == 'h') {
			usage(stdout);
			return 0;
		}
		if (opt == 's' || opt == 'j') {
			show |= opt == 's';
			json |= opt == 'j';
			continue;
		}
		usage(stderr);
		return 2;
	}
	if (argc - optind > 1) {
		usage(stderr);
		return 2;
	}
	if (box_resolve(optind < argc ? argv[optind] : NULL, &cfg, err, sizeof(err)) < 0) {
		lbx_err("allow: %s", err);
		return 1;
	}
	d = malloc(sizeof(*d));
	rc = d ? box_paths_init(&paths, cfg.name) : -ENOMEM;
	if (rc < 0)
		snprintf(err, sizeof(err), "box %s: cannot work out its directories (is HOME set?)",
			 cfg.name);
	if (rc == 0)
		rc = trust_check_owner(&cfg, &paths, err, sizeof(err));
	if (rc == 0)
		rc = trust_check_state_hidden(&cfg, err, sizeof(err));
	if (rc == 0 && (rc = trust_view_init(&cfg, &view)) < 0)
		snprintf(err, sizeof(err), "box %s: out of memory", cfg.name);
	if (rc == 0) {
		rc = diff_now(&view, &paths, d, &nr, err, sizeof(err));
		if (rc == 0 && json)
			print_json(&view, d, &nr);
		else if (rc == 0 && show)
			print_show(&view, d);
		else if (rc == 0 && (rc = trust_store(&paths, &view, &nr)) < 0)
			snprintf(err, sizeof(err), "box %s: cannot record its approval in %s: %s",
				 cfg.name, paths.data, strerror(-rc));
		trust_view_free(&view);
	}
	if (rc < 0) {
		lbx_err("allow: %s", err);
	} else if (!json && !show) {
		trust_diff_keys(d, keys, sizeof(keys));
		fprintf(stderr, "lbx: box %s: approved %s%s%s%s\n", cfg.name,
			cfg.file && cfg.file[0] ? cfg.file : "its definition",
			d->n ? " (it widens " : "", keys, d->n ? ")" : "");
	}
	free(d);
	box_config_free(&cfg);
	return rc < 0 ? 1 : 0;
}
