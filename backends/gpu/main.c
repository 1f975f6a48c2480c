/* SPDX-License-Identifier: MIT */
/*
 * lbx-gpud --socket PATH [--render-node /dev/dri/renderDN] [--frames-socket PATH]
 *
 * Serves one box's virtio-gpu device to a vhost-user front-end (QEMU's
 * vhost-user-gpu, lbx-vmm's vmm/vhost_gpu.c) and renders with
 * virglrenderer: on the render node given, else on Mesa's surfaceless EGL
 * platform (llvmpipe where the host has no GPU). The start-up line says
 * which renderer it got. With --frames-socket, the host half of the box's
 * Wayland proxy reads the guest's GPU buffers back through it
 * (frames_proto.h). Start-up order: renderer (loads the GL driver),
 * listening socket, then the sandbox (gpud_sandbox.c), then the first
 * byte from the front-end.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gpud.h"
#include "gpud_sandbox.h"
#include "log.h"

static void usage(FILE *f)
{
	fprintf(f, "usage: lbx-gpud --socket PATH [--render-node PATH] [--frames-socket PATH]\n"
		   "  --socket PATH       vhost-user socket to listen on for the VMM\n"
		   "  --render-node PATH  the host GPU's DRM render node (/dev/dri/renderD128);\n"
		   "                      without it, Mesa's surfaceless EGL (llvmpipe on a host\n"
		   "                      without a GPU)\n"
		   "  --frames-socket PATH  where the box's Wayland proxy reads back what the\n"
		   "                      guest drew with the GPU (mode 0600)\n"
		   "  -h, --help          this text\n");
}

static void on_signal(struct lbx_loop *loop, int signo, void *data)
{
	lbx_loop_stop(loop, 0);
}

static int serve(const char *sock, const char *node, const char *frames)
{
	static const int sigs[] = { SIGINT, SIGTERM };
	struct lbx_loop *loop = lbx_loop_new();
	struct gpud *g = loop ? gpud_new(loop, node) : NULL;
	int rc;

	if (!g) {
		lbx_loop_free(loop);
		return 1;
	}
	lbx_info("renderer: %s, through %s", g->renderer ? g->renderer : "unknown",
		 node ? node : "EGL surfaceless (no render node given)");
	rc = lbx_vu_dev_listen(gpud_vu(g), sock);
	if (rc < 0)
		lbx_err("cannot listen on %s: %s", sock, strerror(-rc));
	if (rc >= 0 && frames) {
		rc = gpud_frames_listen(g, frames);
		if (rc < 0)
			lbx_err("cannot listen on the frames socket %s: %s", frames, strerror(-rc));
	}
	if (rc >= 0)
		rc = lbx_loop_add_signals(loop, sigs, 2, on_signal, NULL);
	if (rc >= 0) {
		rc = gpud_sandbox_apply(node);
		if (rc < 0)
			lbx_err("cannot restrict myself: %s", strerror(-rc));
	}
	if (rc >= 0)
		rc = lbx_loop_run(loop);
	gpud_free(g);
	lbx_loop_free(loop);
	return rc < 0 ? 1 : 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "render-node", required_argument, NULL, 'r' },
		{ "frames-socket", required_argument, NULL, 'f' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	const char *sock = NULL, *node = NULL, *frames = NULL;
	int opt;

	lbx_log_init("lbx-gpud");
	while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (opt) {
		case 's': sock = optarg; break;
		case 'r': node = optarg; break;
		case 'f': frames = optarg; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (!sock || optind != argc) {
		usage(stderr);
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	/* Mesa's shader cache would write under $HOME: not this daemon's business. */
	setenv("MESA_SHADER_CACHE_DISABLE", "true", 1);
	return serve(sock, node, frames);
}
