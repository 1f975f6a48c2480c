/* SPDX-License-Identifier: MIT */
/*
 * lbx build [NAME]: (re)make a box's root tree from its image (image.h):
 * build its Containerfile with podman, or the Debian base, and swap the
 * result in. The box's home and the project are kept; the box must be
 * stopped.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "box.h"
#include "cli.h"
#include "image.h"
#include "log.h"
#include "resolve.h"
#include "trust.h"

static void usage(FILE *f)
{
	fprintf(f, "usage: lbx build [NAME]\n"
		   "Build the box's image (its Containerfile, or the Debian base) into its root\n"
		   "tree, replacing the old one; its home and the project are kept.\n");
}

int lbx_cmd_build(int argc, char **argv)
{
	static const struct option opts[] = { { "help", no_argument, NULL, 'h' }, { 0 } };
	struct box_config cfg;
	struct box_paths paths;
	char err[1200];
	int opt, rc;

	optind = 1;
	while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		if (opt == 'h') {
			usage(stdout);
			return 0;
		}
		usage(stderr);
		return 2;
	}
	if (argc - optind > 1) {
		usage(stderr);
		return 2;
	}
	if (box_resolve(optind < argc ? argv[optind] : NULL, &cfg, err, sizeof(err)) < 0) {
		lbx_err("build: %s", err);
		return 1;
	}
	if (box_paths_init(&paths, cfg.name) < 0) {
		lbx_err("build: box %s: cannot work out its directories (is HOME set?)", cfg.name);
		box_config_free(&cfg);
		return 1;
	}
	if (box_running(&paths)) {
		lbx_err("build: box %s is running; 'lbx down %s' first", cfg.name, cfg.name);
		box_config_free(&cfg);
		return 1;
	}
	/* The definition and its recipe are requests (trust.h). */
	if (trust_gate(&cfg, TRUST_BUILD, err, sizeof(err)) < 0) {
		lbx_err("build: %s", err);
		box_config_free(&cfg);
		return 1;
	}
	box_mkdirs(paths.data, 0700);
	box_record(&cfg, &paths);
	rc = image_make_root(&cfg, &paths, true, err, sizeof(err));
	if (rc < 0)
		lbx_err("build: box %s: %s", cfg.name, err);
	else
		fprintf(stderr, "lbx: box %s is built; 'lbx up %s' starts it\n", cfg.name, cfg.name);
	box_config_free(&cfg);
	return rc < 0 ? 1 : 0;
}
