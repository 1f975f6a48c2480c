/* SPDX-License-Identifier: MIT */
/*
 * lbx-wayland-proxy: the host half. Serves the streams lbx-wayland-guest
 * opens (one per Wayland client in the box), connects each to the real
 * compositor, and lets through only what the box's policy allows.
 * See docs/lbx-wayland-proxy.1.
 */
#include <errno.h>
#include <limits.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "confirm.h"
#include "conn.h"
#include "evloop.h"
#include "frames_client.h"
#include "log.h"
#include "policy_json.h"
#include "sandbox.h"
#include "unixsock.h"

static const char usage[] =
    "Usage: lbx-wayland-proxy --listen PATH [OPTION]...\n"
    "Carry a box's Wayland clients to the compositor, filtered.\n"
    "\n"
    "  -l, --listen PATH          unix socket lbx-wayland-guest connects to\n"
    "  -c, --compositor PATH      the compositor's socket (default:\n"
    "                             $XDG_RUNTIME_DIR/$WAYLAND_DISPLAY)\n"
    "  -p, --policy FILE          the box's wayland policy (JSON, the \"wayland\" section)\n"
    "  -b, --box NAME             box name for prompts and the audit log\n"
    "  -a, --audit-log PATH       append one JSON line per refusal; - for stdout\n"
    "  -A, --askpass PROGRAM      confirmation program for \"ask\" (default: $SSH_ASKPASS)\n"
    "  -m, --max-clients N        clients served at once; more are refused (default 64)\n"
    "  -g, --gpu-frames PATH      lbx-gpud's frames socket: offer the box zwp_linux_dmabuf_v1\n"
    "                             and read its GPU buffers back from there\n"
    "  -C, --check                check the policy file and exit\n"
    "  -h, --help                 show this help and exit\n"
    "  -V, --version              show the version and exit\n";

static const struct option long_opts[] = {
	{ "listen", required_argument, NULL, 'l' },
	{ "compositor", required_argument, NULL, 'c' },
	{ "policy", required_argument, NULL, 'p' },
	{ "box", required_argument, NULL, 'b' },
	{ "audit-log", required_argument, NULL, 'a' },
	{ "askpass", required_argument, NULL, 'A' },
	{ "max-clients", required_argument, NULL, 'm' },
	{ "gpu-frames", required_argument, NULL, 'g' },
	{ "check", no_argument, NULL, 'C' },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, 'V' },
	{ NULL, 0, NULL, 0 },
};

struct client {
	struct wlp_conn *conn;
	struct client *next, **pprev;
	unsigned id;
};

struct proxy {
	struct lbx_loop *loop;
	struct wlp_policy policy;
	const char *listen, *compositor, *box, *askpass, *audit_path, *gpu_frames;
	struct wlp_frames *frames; /* connected at the first client, again after lbx-gpud left */
	FILE *audit;
	int lfd;
	unsigned max_clients, nclients, next_id;
	struct client *clients;
	char compositor_buf[256];
};

struct ask {
	struct proxy *px;
	struct wlp_conn *conn;
	uint32_t token;
	struct sshp_confirm *confirm;
};

static void audit_line(void *ctx, const char *event, const char *iface, const char *detail)
{
	struct proxy *px = ctx;
	cJSON *o = cJSON_CreateObject();
	char *s;

	if (!o)
		return;
	cJSON_AddStringToObject(o, "event", event);
	if (px->box)
		cJSON_AddStringToObject(o, "box", px->box);
	if (iface)
		cJSON_AddStringToObject(o, "interface", iface);
	if (detail)
		cJSON_AddStringToObject(o, "detail", detail);
	s = cJSON_PrintUnformatted(o);
	if (s) {
		fprintf(px->audit, "%s\n", s);
		fflush(px->audit);
	}
	cJSON_free(s);
	cJSON_Delete(o);
}

static void ask_done(void *ctx, bool allowed, const char *why)
{
	struct ask *a = ctx;

	if (!allowed)
		lbx_info("clipboard transfer refused: %s", why ? why : "no");
	wlp_conn_answer(a->conn, a->token, allowed);
	free(a);
}

static void *ask_start(void *ctx, struct wlp_conn *c, const char *what, uint32_t token)
{
	struct proxy *px = ctx;
	char prompt[256];
	struct ask *a;

	if (!px->askpass)
		return NULL;
	a = calloc(1, sizeof(*a));
	if (!a)
		return NULL;
	*a = (struct ask){ px, c, token, NULL };
	snprintf(prompt, sizeof(prompt), "Box %s: allow %s?", px->box ? px->box : "(unnamed)",
		 what);
	if (sshp_confirm_start(px->loop, px->askpass, prompt, px->policy.ask_timeout_s, ask_done, a,
			       &a->confirm) < 0) {
		free(a);
		return NULL;
	}
	return a;
}

static void ask_cancel(void *ctx, void *handle)
{
	struct ask *a = handle;

	sshp_confirm_cancel(a->confirm);
	free(a);
}

static void client_closed(struct wlp_conn *c, const char *why, void *ctx);

static const struct wlp_conn_ops ops = {
	.closed = client_closed,
	.audit = audit_line,
	.ask = ask_start,
	.ask_cancel = ask_cancel,
};

static struct client *find_client(struct proxy *px, struct wlp_conn *c)
{
	for (struct client *cl = px->clients; cl; cl = cl->next)
		if (cl->conn == c)
			return cl;
	return NULL;
}

static void client_closed(struct wlp_conn *c, const char *why, void *ctx)
{
	struct proxy *px = ctx;
	struct client *cl = find_client(px, c);
	const struct wlp_conn_counters *k = wlp_conn_counters(c);

	if (why)
		lbx_warn("client %u ended: %s", cl ? cl->id : 0, why);
	lbx_info("client %u closed: %llu bytes from the box, %llu to it, %llu commits, "
		 "%llu bytes read back from the GPU in %llu copies, %llu dmabuf feedbacks",
		 cl ? cl->id : 0, (unsigned long long)k->link_in, (unsigned long long)k->link_out,
		 (unsigned long long)k->commits, (unsigned long long)k->gpu_bytes,
		 (unsigned long long)k->gpu_copies, (unsigned long long)k->feedbacks);
	if (why && px->frames && strstr(why, "lbx-gpud") && strstr(why, "pipe")) {
		wlp_frames_free(px->frames); /* gone: connect again for the next client */
		px->frames = NULL;
	}
	wlp_conn_free(c);
	if (cl) {
		*cl->pprev = cl->next;
		if (cl->next)
			cl->next->pprev = cl->pprev;
		free(cl);
		px->nclients--;
	}
}

static void on_accept(struct lbx_loop *loop, int lfd, uint32_t events, void *data)
{
	struct proxy *px = data;
	int fd = lbx_loop_accept(loop, lfd, SOCK_NONBLOCK | SOCK_CLOEXEC, "box Wayland client");

	if (fd < 0)
		return;
	if (px->nclients >= px->max_clients) {
		lbx_warn("refusing a Wayland client: %u already served (--max-clients)",
			 px->nclients);
		close(fd);
		return;
	}
	int wl = lbx_unix_connect(px->compositor, LBX_UNIX_NONBLOCK);
	if (wl < 0) {
		lbx_err("cannot connect to the compositor at %s: %s; is it running?",
			px->compositor, strerror(-wl));
		close(fd);
		return;
	}
	struct client *cl = calloc(1, sizeof(*cl));
	if (!cl) {
		close(fd);
		close(wl);
		return;
	}
	cl->id = ++px->next_id;
	cl->conn = wlp_conn_new(loop, WLP_HOST, wl, fd, &px->policy, &ops, px);
	if (!cl->conn) {
		free(cl);
		return;
	}
	if (px->gpu_frames && !px->frames && !(px->frames = wlp_frames_connect(px->gpu_frames)))
		lbx_warn("cannot reach lbx-gpud's frames socket %s: %s; client %u gets no GPU "
			 "buffers",
			 px->gpu_frames, strerror(errno), cl->id);
	if (px->frames && wlp_conn_set_frames(cl->conn, px->frames) < 0)
		lbx_warn("client %u: no GPU buffers: %s", cl->id, wlp_conn_error(cl->conn));
	cl->next = px->clients;
	if (cl->next)
		cl->next->pprev = &cl->next;
	cl->pprev = &px->clients;
	px->clients = cl;
	px->nclients++;
	lbx_debug("client %u connected", cl->id);
}

/*
 * Before the first byte from a box: the proxy may read or write no file of
 * the host's (its listening socket, the audit log and the policy are open
 * already). Reaching the compositor is a connect to a path socket, which
 * Landlock leaves alone. The askpass program inherits the domain, so it
 * gets what a program needs to run, and the X authority file.
 */
static int restrict_self(const struct proxy *px)
{
	static const char *const sys[] = { "/usr", "/bin", "/lib", "/lib64", "/etc", "/dev" };
	struct lbx_landlock_rule rules[LBX_ARRAY_SIZE(sys) + 2];
	char xauth[PATH_MAX];
	const char *xa = getenv("XAUTHORITY"), *home = getenv("HOME");
	size_t n = 0;

	if (px->askpass) {
		for (size_t i = 0; i < LBX_ARRAY_SIZE(sys); i++)
			if (access(sys[i], F_OK) == 0)
				rules[n++] =
				    (struct lbx_landlock_rule){ sys[i], LBX_FS_READ | LBX_FS_EXEC };
		if (!xa && home &&
		    (size_t)snprintf(xauth, sizeof(xauth), "%s/.Xauthority", home) < sizeof(xauth))
			xa = xauth;
		if (xa && access(xa, R_OK) == 0)
			rules[n++] = (struct lbx_landlock_rule){ xa, LBX_FS_READ };
		if (access(px->askpass, F_OK) == 0)
			rules[n++] =
			    (struct lbx_landlock_rule){ px->askpass, LBX_FS_READ | LBX_FS_EXEC };
	}
	int abi = lbx_sandbox_landlock(rules, n, LBX_LANDLOCK_BEST_EFFORT | LBX_LANDLOCK_NO_TCP);
	if (abi == 0)
		lbx_warn("Landlock is not available: the proxy runs unrestricted");
	return abi < 0 ? abi : 0;
}

static void on_signal(struct lbx_loop *loop, int signo, void *data)
{
	lbx_loop_stop(loop, 0);
}

static int parse_args(int argc, char **argv, struct proxy *px, const char **policy, bool *check)
{
	int c;
	char *end;

	while ((c = getopt_long(argc, argv, "l:c:p:b:a:A:m:g:ChV", long_opts, NULL)) != -1) {
		switch (c) {
		case 'l': px->listen = optarg; break;
		case 'c': px->compositor = optarg; break;
		case 'p': *policy = optarg; break;
		case 'b': px->box = optarg; break;
		case 'a': px->audit_path = optarg; break;
		case 'A': px->askpass = optarg; break;
		case 'g': px->gpu_frames = optarg; break;
		case 'm':
			px->max_clients = (unsigned)strtoul(optarg, &end, 10);
			if (*end || !*optarg || px->max_clients == 0 || px->max_clients > 4096) {
				lbx_err("--max-clients: expected a number from 1 to 4096");
				return -EINVAL;
			}
			break;
		case 'C': *check = true; break;
		case 'h': fputs(usage, stdout); exit(0);
		case 'V': puts("lbx-wayland-proxy " LBX_VERSION); exit(0);
		default: fputs(usage, stderr); return -EINVAL;
		}
	}
	if (optind < argc) {
		lbx_err("unexpected argument \"%s\"", argv[optind]);
		return -EINVAL;
	}
	if (*check)
		return *policy ? 0 : (lbx_err("--check needs --policy"), -EINVAL);
	if (!px->listen) {
		lbx_err("--listen is required");
		fputs(usage, stderr);
		return -EINVAL;
	}
	if (!px->compositor) {
		const char *rt = getenv("XDG_RUNTIME_DIR"), *d = getenv("WAYLAND_DISPLAY");
		if (d && d[0] == '/')
			px->compositor = d;
		else if (rt && d) {
			snprintf(px->compositor_buf, sizeof(px->compositor_buf), "%s/%s", rt, d);
			px->compositor = px->compositor_buf;
		} else {
			lbx_err("no compositor: give --compositor or set WAYLAND_DISPLAY");
			return -EINVAL;
		}
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct proxy px = { .max_clients = 64, .audit = stderr };
	const char *policy = NULL;
	bool check = false;
	char msg[LBX_JSON_ERROR_MAX];
	static const int sigs[] = { SIGTERM, SIGINT };

	lbx_log_init("lbx-wayland-proxy");
	px.askpass = getenv("SSH_ASKPASS");
	if (px.askpass && !*px.askpass)
		px.askpass = NULL;
	if (parse_args(argc, argv, &px, &policy, &check) < 0)
		return 2;
	wlp_policy_default(&px.policy);
	if (policy && wlp_policy_load(policy, &px.policy, msg, sizeof(msg)) < 0) {
		lbx_err("%s", msg);
		return 1;
	}
	if (check)
		return 0;
	if (px.audit_path && strcmp(px.audit_path, "-") == 0)
		px.audit = stdout;
	else if (px.audit_path && !(px.audit = fopen(px.audit_path, "ae"))) {
		lbx_err("cannot open the audit log %s: %s", px.audit_path, strerror(errno));
		return 1;
	}
	signal(SIGPIPE, SIG_IGN);
	px.loop = lbx_loop_new();
	px.lfd = lbx_unix_listen(px.listen, 64, LBX_UNIX_NONBLOCK);
	if (!px.loop || px.lfd < 0) {
		lbx_err("cannot listen on %s: %s", px.listen,
			strerror(px.lfd < 0 ? -px.lfd : ENOMEM));
		return 1;
	}
	if (lbx_loop_add(px.loop, px.lfd, EPOLLIN, on_accept, &px) < 0 ||
	    lbx_loop_add_signals(px.loop, sigs, 2, on_signal, &px) < 0) {
		lbx_err("cannot set up the event loop");
		return 1;
	}
	if (restrict_self(&px) < 0) {
		lbx_err("cannot restrict the proxy with Landlock");
		return 1;
	}
	lbx_info("serving %s for %s", px.listen, px.compositor);
	int rc = lbx_loop_run(px.loop);
	while (px.clients)
		client_closed(px.clients->conn, NULL, &px);
	/* Under Landlock this may fail; a stale socket is replaced by the next listen. */
	unlink(px.listen);
	wlp_frames_free(px.frames);
	lbx_loop_free(px.loop);
	return rc < 0 ? 1 : 0;
}
