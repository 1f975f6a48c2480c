/* SPDX-License-Identifier: MIT */
/*
 * The box life-cycle commands: up, down, status, ls, logs, rm.
 * Options may stand before or after NAME (GNU getopt permutes).
 */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "box.h"
#include "cli.h"
#include "config.h"
#include "engine.h"
#include "engine_libvirt.h"
#include "image.h"
#include "manifest.h"
#include "log.h"
#include "resolve.h"
#include "supervisor.h"
#include "termsafe.h"
#include "trust.h"

/* Parse "[--json] [--engine E] [--light] [-f] [NAME]"; flags the command does not take are refused. */
struct box_args {
	const char *name;
	bool json, light, follow;
	const char *engine;
	const char *connect; /* engine libvirt's URI */
};

static int parse_box_args(int argc, char **argv, const char *allowed, struct box_args *a,
			  void (*usage)(FILE *))
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "engine", required_argument, NULL, 'E' },
		{ "light", no_argument, NULL, 'L' },
		{ "follow", no_argument, NULL, 'f' },
		{ "connect", required_argument, NULL, 'C' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	int opt;

	memset(a, 0, sizeof(*a));
	optind = 1;
	while ((opt = getopt_long(argc, argv, "fh", opts, NULL)) != -1) {
		if (opt == 'h') {
			usage(stdout);
			return 1;
		}
		if (opt == '?' || !strchr(allowed, opt)) {
			usage(stderr);
			return -EINVAL;
		}
		switch (opt) {
		case 'j': a->json = true; break;
		case 'E': a->engine = optarg; break;
		case 'L': a->light = true; break;
		case 'f': a->follow = true; break;
		case 'C': a->connect = optarg; break;
		}
	}
	if (optind < argc)
		a->name = argv[optind++];
	if (optind < argc) {
		lbx_err("%s: unexpected argument '%s'", argv[0], argv[optind]);
		return -EINVAL;
	}
	return 0;
}

/* A JSON answer on stdout (--json), one line. */
static void print_json(cJSON *doc)
{
	char *text = doc ? cJSON_PrintUnformatted(doc) : NULL;

	if (text)
		puts(text);
	else
		lbx_err("out of memory");
	free(text);
	cJSON_Delete(doc);
}

static void up_usage(FILE *f)
{
	fprintf(f, "usage: lbx up [NAME] [--engine auto|vm|qemu|light|libvirt] [--light]\n"
		   "              [--connect URI] [--json]\n"
		   "Start the box NAME, or the box of the project in the current directory.\n"
		   "--light runs it as a podman container (sharing the host kernel). An engine\n"
		   "given here is remembered for the box's next 'lbx up'. --connect names\n"
		   "engine libvirt's connection (default " LBX_LIBVIRT_DEFAULT_URI
		   "), remembered too.\n");
}

/*
 * DATA/engine: the engine last asked for with --engine or --light, used
 * while the definition says "auto" and no flag is given.
 */
static void engine_remember(const struct box_paths *p, const char *engine)
{
	char file[PATH_MAX + 16], line[32];

	box_path(p->data, "engine", file, sizeof(file));
	snprintf(line, sizeof(line), "%s\n", engine);
	box_mkdirs(p->data, 0700);
	box_write_file(file, line);
}

static bool engine_recalled(const struct box_paths *p, enum box_engine *e)
{
	char file[PATH_MAX + 16], line[32] = "";

	box_path(p->data, "engine", file, sizeof(file));
	if (box_read_file(file, line, sizeof(line)) <= 0)
		return false;
	line[strcspn(line, "\n")] = '\0';
	for (int i = 0; i < ENGINE_COUNT; i++)
		if (!strcmp(line, box_engine_name((enum box_engine)i)))
			return *e = (enum box_engine)i, true;
	return false;
}

/*
 * DATA/libvirt-uri: engine libvirt's URI last given with --connect to an
 * `lbx up` that worked, used by a later one that gives none (NULL: the
 * default); connect_remember() writes it.
 */
static const char *connect_recalled(const struct box_paths *p, const char *given)
{
	static char uri[1024];
	char file[PATH_MAX + 16];

	if (given)
		return given;
	box_path(p->data, "libvirt-uri", file, sizeof(file));
	if (box_read_file(file, uri, sizeof(uri)) <= 0)
		return NULL;
	uri[strcspn(uri, "\n")] = '\0';
	return uri[0] ? uri : NULL;
}

static void connect_remember(const struct box_paths *p, const char *uri)
{
	char file[PATH_MAX + 16], line[1024];

	box_path(p->data, "libvirt-uri", file, sizeof(file));
	snprintf(line, sizeof(line), "%s\n", uri);
	box_write_file(file, line);
}

static unsigned ready_timeout(void)
{
	const char *env = getenv("LBX_READY_TIMEOUT");
	unsigned long v = env ? strtoul(env, NULL, 10) : 0;

	return v > 0 && v < 3600 ? (unsigned)v : 180;
}

int lbx_cmd_up(int argc, char **argv)
{
	struct supervisor_opts o = { 0 };
	struct box_config cfg;
	struct box_paths paths;
	struct box_args a;
	char err[600], why[200];
	unsigned ms = 0;
	int rc = parse_box_args(argc, argv, "jELC", &a, up_usage);

	if (rc)
		return rc > 0 ? 0 : 2;
	if (box_resolve(a.name, &cfg, err, sizeof(err)) < 0) {
		lbx_err("up: %s", err);
		return 1;
	}
	/* The definition is a request: what it widens needs approval (trust.h). */
	if (trust_gate(&cfg, TRUST_UP, err, sizeof(err)) < 0) {
		lbx_err("up: %s", err);
		box_config_free(&cfg);
		return 1;
	}
	if (a.engine) {
		enum box_engine e = ENGINE_AUTO;
		bool known = false;

		for (int i = 0; i < ENGINE_COUNT; i++)
			if (!strcmp(a.engine, box_engine_name((enum box_engine)i)))
				e = (enum box_engine)i, known = true;
		if (!known) {
			lbx_err("up: --engine %s: expected auto, vm, qemu, light or libvirt",
				a.engine);
			box_config_free(&cfg);
			return 2;
		}
		cfg.engine = e;
	}
	if (a.light)
		cfg.engine = ENGINE_LIGHT;
	if (box_paths_init(&paths, cfg.name) == 0) {
		if (a.light || a.engine)
			engine_remember(&paths, box_engine_name(cfg.engine));
		else if (cfg.engine == ENGINE_AUTO)
			engine_recalled(&paths, &cfg.engine);
	}
	if (cfg.engine == ENGINE_VM && !engine_host_has_kvm(why, sizeof(why))) {
		lbx_err("up: box %s: engine vm needs hardware virtualisation, but %s; use --engine "
			"qemu", cfg.name, why);
		box_config_free(&cfg);
		return 1;
	}
	o.engine = engine_resolve(cfg.engine, why, sizeof(why));
	if (a.connect && o.engine != ENGINE_LIBVIRT) {
		lbx_err("up: box %s: --connect is for engine libvirt (add --engine libvirt)",
			cfg.name);
		box_config_free(&cfg);
		return 2;
	}
	if (a.connect && !engine_libvirt_uri_local(a.connect)) {
		lbx_err("up: box %s: --connect %s: engine libvirt runs the box's backends on this "
			"machine, so it needs a local URI (qemu:///session, qemu:///system); see "
			"docs/remote.md",
			cfg.name, a.connect);
		box_config_free(&cfg);
		return 2;
	}
	if (why[0] && !a.json)
		fprintf(stderr, "lbx: engine auto: using qemu (TCG, slower): %s.\n", why);
	if (o.engine == ENGINE_VM && !engine_vm_proven() && !a.json)
		fprintf(stderr, "lbx: note: Linux on lbx-vmm is tested on AMD SVM (kvm_amd), not yet on "
				"Intel VMX; --engine qemu is the other path\n");
	if (box_paths_init(&paths, cfg.name) < 0) {
		lbx_err("up: box %s: cannot work out its directories (is HOME set?)", cfg.name);
		box_config_free(&cfg);
		return 1;
	}
	if (o.engine == ENGINE_LIBVIRT)
		o.libvirt_uri = connect_recalled(&paths, a.connect);
	if (box_running(&paths)) {
		if (!a.json)
			fprintf(stderr, "lbx: box %s is already up\n", cfg.name);
		box_config_free(&cfg);
		return 0;
	}
	o.cfg = &cfg;
	o.paths = &paths;
	o.ready_timeout_s = ready_timeout();
	/* The root tree first, here, so its progress shows on the terminal. */
	if (image_make_root(&cfg, &paths, false, err, sizeof(err)) < 0) {
		lbx_err("up: box %s: %s", cfg.name, err);
		box_config_free(&cfg);
		return 1;
	}
	if (!a.json)
		fprintf(stderr, "lbx: starting box %s (engine %s, project %s)...\n", cfg.name,
			box_engine_name(o.engine), cfg.project);
	box_mkdirs(paths.data, 0700);
	box_record(&cfg, &paths);
	rc = supervisor_start(&o, &ms, err, sizeof(err));
	if (rc < 0) {
		lbx_err("up: box %s: %s", cfg.name, err);
		box_config_free(&cfg);
		return 1;
	}
	if (a.connect)
		connect_remember(&paths, a.connect);
	if (a.json) {
		cJSON *up = cJSON_CreateObject();

		cJSON_AddStringToObject(up, "name", cfg.name);
		cJSON_AddStringToObject(up, "engine", box_engine_name(o.engine));
		cJSON_AddNumberToObject(up, "ready_ms", ms);
		print_json(up);
	} else
		fprintf(stderr, "lbx: box %s is up (%.1f s); 'lbx enter %s' opens a shell\n",
			cfg.name, ms / 1000.0, cfg.name);
	box_config_free(&cfg);
	return 0;
}

static void down_usage(FILE *f)
{
	fprintf(f, "usage: lbx down NAME\nPower the box off and stop its backends.\n");
}

int lbx_cmd_down(int argc, char **argv)
{
	struct timespec step = { 0, 50 * 1000000L };
	struct box_paths p;
	struct box_args a;
	pid_t pid;
	int rc = parse_box_args(argc, argv, "", &a, down_usage);

	if (rc)
		return rc > 0 ? 0 : 2;
	if (!a.name) {
		down_usage(stderr);
		return 2;
	}
	if (box_paths_init(&p, a.name) < 0) {
		lbx_err("down: '%s' is not a box name", a.name);
		return 2;
	}
	pid = box_running(&p);
	if (!pid) {
		fprintf(stderr, "lbx: box %s is not running\n", a.name);
		return 0;
	}
	if (pid < 0 || kill(pid, SIGTERM) < 0) {
		lbx_err("down: box %s: cannot signal its supervisor", a.name);
		return 1;
	}
	/* The supervisor powers the guest off (up to 20 s), then the backends. */
	for (int i = 0; i < 1200 && box_running(&p); i++)
		nanosleep(&step, NULL);
	if (box_running(&p)) {
		lbx_err("down: box %s: still running after 60 s; see 'lbx logs %s'", a.name, a.name);
		return 1;
	}
	fprintf(stderr, "lbx: box %s is down\n", a.name);
	return 0;
}

/*
 * Engine libvirt: the domain in the box's state (state.json's "libvirt":
 * uri, domain) gets libvirt's own word for it, asked now ("state", or
 * "error" when the daemon cannot be reached).
 */
static void libvirt_live(cJSON *state)
{
	cJSON *lv = cJSON_GetObjectItemCaseSensitive(state, "libvirt");
	const char *uri = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(lv, "uri"));
	const char *dom = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(lv, "domain"));
	char live[64], err[300];

	if (!uri || !dom)
		return;
	if (engine_libvirt_state(uri, dom, live, sizeof(live), err, sizeof(err)) == 0)
		cJSON_AddStringToObject(lv, "state", live);
	else
		cJSON_AddStringToObject(lv, "error", err);
}

/* One box's status as a JSON object (cJSON; NULL when out of memory). */
static cJSON *status_json(const char *name)
{
	char file[PATH_MAX + 32], last[600] = "", state[8192] = "";
	cJSON *o = cJSON_CreateObject(), *st;
	struct box_paths p;
	pid_t pid;

	if (!o || box_paths_init(&p, name) < 0)
		return o;
	pid = box_running(&p);
	box_path(p.data, "last-exit", file, sizeof(file));
	if (box_read_file(file, last, sizeof(last)) > 0)
		last[strcspn(last, "\n")] = '\0';
	box_path(p.runtime, MF_STATE, file, sizeof(file));
	cJSON_AddStringToObject(o, "name", name);
	cJSON_AddBoolToObject(o, "running", pid != 0);
	cJSON_AddStringToObject(o, "last_exit", pid ? "" : last);
	if (pid && box_read_file(file, state, sizeof(state)) > 0 && (st = cJSON_Parse(state))) {
		libvirt_live(st);
		cJSON_AddItemToObject(o, "state", st);
	}
	return o;
}

/* One box's status as a line, or appended to list as JSON. */
static void print_status(const char *name, cJSON *list)
{
	char file[PATH_MAX + 32], last[600] = "";
	struct box_paths p;
	pid_t pid;

	if (list) {
		cJSON_AddItemToArray(list, status_json(name));
		return;
	}
	if (box_paths_init(&p, name) < 0)
		return;
	pid = box_running(&p);
	box_path(p.data, "last-exit", file, sizeof(file));
	if (box_read_file(file, last, sizeof(last)) > 0)
		last[strcspn(last, "\n")] = '\0';
	if (pid) {
		cJSON *o = status_json(name), *st = cJSON_GetObjectItemCaseSensitive(o, "state");
		cJSON *lv = cJSON_GetObjectItemCaseSensitive(st, "libvirt");
		const char *dom =
		    cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(lv, "domain"));
		const char *live =
		    cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(lv, "state"));

		if (dom)
			printf("%-20s running  (supervisor pid %d; libvirt domain %s: %s)\n", name,
			       (int)pid, dom, live ? live : "unreachable");
		else
			printf("%-20s running  (supervisor pid %d)\n", name, (int)pid);
		cJSON_Delete(o);
	} else
		printf("%-20s stopped  %s\n", name, last[0] ? last : "");
}


static void status_usage(FILE *f)
{
	fprintf(f, "usage: lbx status NAME [--json]\n");
}

int lbx_cmd_status(int argc, char **argv)
{
	struct box_args a;
	struct box_paths p;
	int rc = parse_box_args(argc, argv, "j", &a, status_usage);

	if (rc)
		return rc > 0 ? 0 : 2;
	if (!a.name || box_paths_init(&p, a.name) < 0) {
		status_usage(stderr);
		return 2;
	}
	if (access(p.data, F_OK) < 0 && !box_running(&p)) {
		lbx_err("status: no box named %s", a.name);
		return 1;
	}
	if (a.json)
		print_json(status_json(a.name));
	else
		print_status(a.name, NULL);
	return box_running(&p) ? 0 : 3;
}

static void ls_usage(FILE *f)
{
	fprintf(f, "usage: lbx ls [--json]\n");
}

static int cmp_str(const void *x, const void *y)
{
	return strcmp(*(char *const *)x, *(char *const *)y);
}

int lbx_cmd_ls(int argc, char **argv)
{
	char root[PATH_MAX], *names[1024];
	cJSON *list = NULL;
	struct box_args a;
	struct dirent *e;
	size_t n = 0;
	DIR *d;
	int rc = parse_box_args(argc, argv, "j", &a, ls_usage);

	if (rc)
		return rc > 0 ? 0 : 2;
	if (a.name) {
		ls_usage(stderr);
		return 2;
	}
	if (box_data_root(root, sizeof(root)) == 0 && (d = opendir(root))) {
		while ((e = readdir(d)) && n < LBX_ARRAY_SIZE(names))
			if (lbx_valid_box_name(e->d_name))
				names[n++] = strdup(e->d_name);
		closedir(d);
	}
	qsort(names, n, sizeof(names[0]), cmp_str);
	list = a.json ? cJSON_CreateArray() : NULL;
	for (size_t i = 0; i < n; i++) {
		print_status(names[i], list);
		free(names[i]);
	}
	if (a.json)
		print_json(list);
	return 0;
}

static void logs_usage(FILE *f)
{
	fprintf(f, "usage: lbx logs NAME [-f]\nThe supervisor's, the engine's and the backends' logs, then the box's\nconsole; -f follows the console while the box runs.\n");
}

/* The file's guest bytes, made safe for the terminal (termsafe.h). */
static int cat_file(const char *path, bool follow, const struct box_paths *p)
{
	static char buf[16384], safe[4 * (sizeof(buf) + 4)];
	struct lbx_termsafe ts = { 0 };
	FILE *f = fopen(path, "re");
	size_t n;

	if (!f)
		return -errno;
	for (;;) {
		while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
			fwrite(safe, 1, lbx_termsafe(&ts, buf, n, safe), stdout);
		if (!follow || !box_running(p))
			fwrite(safe, 1, lbx_termsafe_flush(&ts, safe), stdout);
		fflush(stdout);
		if (!follow || !box_running(p))
			break;
		clearerr(f);
		usleep(200 * 1000);
	}
	fclose(f);
	return 0;
}

int lbx_cmd_logs(int argc, char **argv)
{
	char file[PATH_MAX + 32];
	struct box_paths p;
	struct box_args a;
	int rc = parse_box_args(argc, argv, "f", &a, logs_usage);

	if (rc)
		return rc > 0 ? 0 : 2;
	if (!a.name || box_paths_init(&p, a.name) < 0) {
		logs_usage(stderr);
		return 2;
	}
	/* what the host's processes said (the backends name themselves), then the guest's */
	static const char *const host_logs[] = { "supervisor.log", "engine.log", "backends.log" };
	for (size_t i = 0; i < LBX_ARRAY_SIZE(host_logs) && !a.follow; i++) {
		box_path(p.data, host_logs[i], file, sizeof(file));
		(void)cat_file(file, false, &p);
	}
	box_path(p.data, "console.log", file, sizeof(file));
	if (cat_file(file, a.follow, &p) < 0) {
		lbx_err("logs: box %s has no console log yet", a.name);
		return 1;
	}
	return 0;
}

static void rm_usage(FILE *f)
{
	fprintf(f, "usage: lbx rm NAME\nForget a stopped box: its root tree, home, logs and records, and the podman\nimage lbx build made for it (never the project).\n");
}

int lbx_cmd_rm(int argc, char **argv)
{
	struct box_paths p;
	struct box_args a;
	int rc = parse_box_args(argc, argv, "", &a, rm_usage);

	if (rc)
		return rc > 0 ? 0 : 2;
	if (!a.name || box_paths_init(&p, a.name) < 0) {
		rm_usage(stderr);
		return 2;
	}
	if (box_running(&p)) {
		lbx_err("rm: box %s is running; 'lbx down %s' first", a.name, a.name);
		return 1;
	}
	if (access(p.data, F_OK) < 0) {
		lbx_err("rm: no box named %s", a.name);
		return 1;
	}
	/*
	 * Everything under the box's data directory is lbx's own: records,
	 * logs, its root tree and home. The project lives elsewhere.
	 */
	if (box_remove_tree(p.data) < 0) {
		lbx_err("rm: box %s: cannot remove %s: %s", a.name, p.data, strerror(errno));
		return 1;
	}
	if (image_remove_box_image(a.name) < 0)
		lbx_warn("rm: box %s: podman could not remove its image localhost/lbx-box:%s; "
			 "'podman rmi localhost/lbx-box:%s' removes it",
			 a.name, a.name, a.name);
	fprintf(stderr, "lbx: box %s removed\n", a.name);
	return 0;
}
