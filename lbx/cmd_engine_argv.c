/* SPDX-License-Identifier: MIT */
/*
 * lbx engine-argv [--engine qemu|vm|light] [--arch x86_64|aarch64] [NAME]
 *   (hidden; for tests)
 *
 * What `lbx up` would run for the box, as JSON, from the same manifest and
 * the same argv builders: the engine's command line and each backend's,
 * with the socket it serves and its policy. The box's root tree is made
 * and the policy files are written as `lbx up` does, so a test can start
 * exactly these processes and boot what users boot. --arch plans the box
 * as lbx on a host of that architecture would (arch.h); a box of another
 * architecture than this machine's never gets KVM.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "arch.h"
#include "assets.h"
#include "cli.h"
#include "engine_args.h"
#include "image.h"
#include "log.h"
#include "manifest.h"
#include "resolve.h"

static cJSON *argv_json(char **argv)
{
	cJSON *a = cJSON_CreateArray();

	for (size_t i = 0; a && argv && argv[i]; i++)
		cJSON_AddItemToArray(a, cJSON_CreateString(argv[i]));
	return a;
}

static char **engine_argv(const struct box_manifest *m, const char *console, char *err,
			  size_t errsz)
{
	char kernel[PATH_MAX], initrd[PATH_MAX], vmm[PATH_MAX], agent[PATH_MAX];

	if (m->engine == ENGINE_LIGHT)
		return lbx_asset(ASSET_AGENT, agent, sizeof(agent), err, errsz) < 0
			       ? NULL
			       : engine_light_argv(m, agent, err, errsz);
	if (lbx_asset(ASSET_KERNEL, kernel, sizeof(kernel), err, errsz) < 0 ||
	    lbx_asset(ASSET_INITRAMFS, initrd, sizeof(initrd), err, errsz) < 0 ||
	    (m->engine == ENGINE_VM && lbx_asset(ASSET_VMM, vmm, sizeof(vmm), err, errsz) < 0))
		return NULL;
	return m->engine == ENGINE_VM ? engine_vm_argv(m, vmm, kernel, initrd, console, err, errsz)
				      : engine_qemu_argv(m, kernel, initrd, console, err, errsz);
}

static cJSON *backends_json(const struct box_manifest *m, char *err, size_t errsz)
{
	cJSON *list = cJSON_CreateArray();

	for (unsigned i = 0; list && i < m->ndev; i++) {
		const struct mf_device *d = &m->dev[i];
		struct argv_buf a = { 0 };
		char exe[PATH_MAX], **argv;
		cJSON *b;

		if (!d->spawn)
			continue;
		if (lbx_asset(manifest_program(d), exe, sizeof(exe), err, errsz) < 0)
			goto fail;
		if (d->policy_text && box_write_file(d->policy, d->policy_text) < 0) {
			snprintf(err, errsz, "cannot write %s", d->policy);
			goto fail;
		}
		manifest_backend_argv(d, exe, &a);
		argv = argv_finish(&a, NULL, err, errsz);
		b = cJSON_CreateObject();
		if (!argv || !b) {
			engine_argv_free(argv);
			cJSON_Delete(b);
			goto fail;
		}
		cJSON_AddStringToObject(b, "role", d->role);
		cJSON_AddStringToObject(b, "socket", d->socket);
		cJSON_AddItemToObject(b, "argv", argv_json(argv));
		cJSON_AddItemToArray(list, b);
		engine_argv_free(argv);
	}
	return list;
fail:
	cJSON_Delete(list);
	return NULL;
}

int lbx_cmd_engine_argv(int argc, char **argv)
{
	const char *name = NULL, *engine = "qemu";
	char err[600], console[PATH_MAX + 16], **eargv = NULL;
	enum box_engine e = ENGINE_AUTO;
	struct box_manifest m = { 0 };
	struct box_config cfg;
	struct box_paths paths;
	cJSON *out = NULL, *backends = NULL;
	char *text = NULL;
	int rc = 1;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--engine") && i + 1 < argc)
			engine = argv[++i];
		else if (!strcmp(argv[i], "--arch") && i + 1 < argc) {
			enum lbx_arch a = lbx_arch_of_machine(argv[++i]);

			if (a == LBX_ARCH_OTHER) {
				lbx_err("engine-argv: --arch %s: expected x86_64 or aarch64",
					argv[i]);
				return 2;
			}
			lbx_arch_override(a);
		} else if (!name && argv[i][0] != '-')
			name = argv[i];
		else {
			fprintf(stderr, "usage: lbx engine-argv [--engine qemu|vm|light] "
					"[--arch x86_64|aarch64] [NAME]\n");
			return 2;
		}
	}
	for (int i = ENGINE_VM; i <= ENGINE_LIGHT; i++)
		if (!strcmp(engine, box_engine_name((enum box_engine)i)))
			e = (enum box_engine)i;
	if (e == ENGINE_AUTO) {
		lbx_err("engine-argv: --engine %s: expected vm, qemu or light", engine);
		return 2;
	}
	if (box_resolve(name, &cfg, err, sizeof(err)) < 0) {
		lbx_err("engine-argv: %s", err);
		return 1;
	}
	if (box_paths_init(&paths, cfg.name) < 0 || box_mkdirs(paths.runtime, 0700) < 0 ||
	    box_mkdirs(paths.data, 0700) < 0) {
		lbx_err("engine-argv: box %s: cannot make its directories", cfg.name);
		goto out;
	}
	box_path(paths.data, "console.log", console, sizeof(console));
	if (image_make_root(&cfg, &paths, false, err, sizeof(err)) < 0 ||
	    manifest_build(&m, &cfg, &paths, e, err, sizeof(err)) < 0 ||
	    !(eargv = engine_argv(&m, console, err, sizeof(err))) ||
	    !(backends = backends_json(&m, err, sizeof(err)))) {
		lbx_err("engine-argv: box %s: %s", cfg.name, err[0] ? err : "out of memory");
		goto out;
	}
	box_record(&cfg, &paths);
	out = cJSON_CreateObject();
	cJSON_AddStringToObject(out, "name", cfg.name);
	cJSON_AddStringToObject(out, "engine", box_engine_name(e));
	cJSON_AddStringToObject(out, "arch", lbx_arch_name(lbx_arch()));
	cJSON_AddStringToObject(out, "runtime", paths.runtime);
	cJSON_AddStringToObject(out, "ready", m.ready);
	cJSON_AddStringToObject(out, "console", console);
	cJSON_AddItemToObject(out, "argv", argv_json(eargv));
	cJSON_AddItemToObject(out, "backends", backends);
	backends = NULL;
	text = cJSON_Print(out);
	if (text) {
		puts(text);
		rc = 0;
	}
out:
	free(text);
	cJSON_Delete(out);
	cJSON_Delete(backends);
	engine_argv_free(eargv);
	manifest_free(&m);
	box_config_free(&cfg);
	return rc;
}
