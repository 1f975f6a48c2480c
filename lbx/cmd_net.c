/* SPDX-License-Identifier: MIT */
/*
 * lbx net NAME [--json]: the box's live network policy and counters, as
 * lbx-netd's control socket reports them (docs/lbx-netd.1). Without
 * --json the document is shown as indented text.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "box.h"
#include "manifest.h"
#include "cli.h"
#include "connect.h"
#include "log.h"
#include "unixsock.h"

#define NET_REPLY_MAX (1u << 20)

static void usage(FILE *f)
{
	fprintf(f, "usage: lbx net NAME [--json]\n"
		   "The box's network policy and its counters of allowed and dropped flows.\n");
}

/* Everything the control socket says, up to a bound. */
static char *read_reply(int fd, size_t *len)
{
	size_t cap = 65536, n = 0;
	char *buf = malloc(cap + 1);
	ssize_t r;

	while (buf && (r = read(fd, buf + n, cap - n)) > 0) {
		n += (size_t)r;
		if (n == cap) {
			char *grown = cap >= NET_REPLY_MAX ? NULL : realloc(buf, cap * 2 + 1);

			if (!grown) {
				free(buf);
				return NULL;
			}
			buf = grown;
			cap *= 2;
		}
	}
	if (buf)
		buf[n] = '\0';
	*len = n;
	return buf;
}

static void print_text(const cJSON *v, int depth)
{
	const cJSON *c;

	cJSON_ArrayForEach(c, v)
	{
		printf("%*s", depth * 2, "");
		if (c->string)
			printf("%s:", c->string);
		if (cJSON_IsObject(c) || cJSON_IsArray(c)) {
			printf("\n");
			print_text(c, depth + 1);
		} else {
			char *s = cJSON_PrintUnformatted(c);

			printf("%s%s\n", c->string ? " " : "- ", s ? s : "?");
			free(s);
		}
	}
}

int lbx_cmd_net(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	char path[PATH_MAX + 32];
	struct box_paths p;
	bool json = false;
	size_t len;
	cJSON *doc;
	char *text;
	int opt, fd;

	optind = 1;
	while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		if (opt == 'j') {
			json = true;
		} else {
			usage(opt == 'h' ? stdout : stderr);
			return opt == 'h' ? 0 : 2;
		}
	}
	if (optind + 1 != argc || box_paths_init(&p, argv[optind]) < 0) {
		usage(stderr);
		return 2;
	}
	if (!box_running(&p)) {
		lbx_err("net: box %s is not running", p.name);
		return 1;
	}
	box_path(p.runtime, MF_NETD_CONTROL, path, sizeof(path));
	fd = lbx_unix_connect(path, 0);
	if (fd < 0) {
		lbx_err("net: box %s has no network (its definition says \"mode\": \"none\")",
			p.name);
		return 1;
	}
	text = read_reply(fd, &len);
	close(fd);
	doc = text ? cJSON_ParseWithLength(text, len) : NULL;
	if (!doc) {
		lbx_err("net: box %s: lbx-netd's answer is not JSON", p.name);
		free(text);
		return 1;
	}
	if (json) {
		char *out = cJSON_Print(doc);

		printf("%s\n", out ? out : "");
		free(out);
	} else {
		print_text(doc, 0);
	}
	cJSON_Delete(doc);
	free(text);
	return 0;
}
