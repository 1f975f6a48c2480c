/* SPDX-License-Identifier: MIT */
/*
 * gpu-draw -W: the same drawing (dark blue, a red triangle) rendered on
 * the GPU into a GBM buffer and shown in a Wayland window through
 * zwp_linux_dmabuf_v1 (create_immed), as a GL toolkit's swapchain would,
 * for the box test of the Wayland proxy's GPU path. Prints
 *
 *   presented: N
 *
 * once the compositor has shown N frames, then keeps the window up for
 * the given seconds (so the host can take its screenshot).
 */
#define EGL_EGLEXT_PROTOTYPES
#include <EGL/egl.h>
#include <EGL/eglext.h>
#include <GLES2/gl2.h>
#include <GLES2/gl2ext.h>
#include <gbm.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <wayland-client.h>

#include "gpu_draw_wl.h"
#include "linux-dmabuf-unstable-v1-client-protocol.h"
#include "xdg-shell-client-protocol.h"

#define FOURCC_XR24 0x34325258u

static struct wl_compositor *comp;
static struct xdg_wm_base *wm;
static struct zwp_linux_dmabuf_v1 *dmabuf;
static int configured, frame_done;

static void global(void *d, struct wl_registry *r, uint32_t name, const char *iface, uint32_t v)
{
	if (!strcmp(iface, "wl_compositor"))
		comp = wl_registry_bind(r, name, &wl_compositor_interface, 4);
	else if (!strcmp(iface, "xdg_wm_base"))
		wm = wl_registry_bind(r, name, &xdg_wm_base_interface, 1);
	else if (!strcmp(iface, "zwp_linux_dmabuf_v1") && v >= 2)
		dmabuf = wl_registry_bind(r, name, &zwp_linux_dmabuf_v1_interface, v < 3 ? v : 3);
}

static void global_remove(void *d, struct wl_registry *r, uint32_t name)
{
}

static const struct wl_registry_listener reg_l = { global, global_remove };

static void ping(void *d, struct xdg_wm_base *b, uint32_t serial)
{
	xdg_wm_base_pong(b, serial);
}

static const struct xdg_wm_base_listener wm_l = { ping };

static void xs_configure(void *d, struct xdg_surface *s, uint32_t serial)
{
	xdg_surface_ack_configure(s, serial);
	configured = 1;
}

static const struct xdg_surface_listener xs_l = { xs_configure };

static void tl_configure(void *d, struct xdg_toplevel *t, int32_t w, int32_t h, struct wl_array *a)
{
}

static void tl_close(void *d, struct xdg_toplevel *t)
{
}

static const struct xdg_toplevel_listener tl_l = { .configure = tl_configure, .close = tl_close };

static void frame(void *d, struct wl_callback *cb, uint32_t t)
{
	wl_callback_destroy(cb);
	frame_done = 1;
}

static const struct wl_callback_listener frame_l = { frame };

int gpu_draw_wayland(EGLDisplay dpy, struct gbm_device *gbm, int w, int h, int frames, int hold_s,
		     void (*draw)(void))
{
	PFNEGLCREATEIMAGEKHRPROC create_image =
	    (PFNEGLCREATEIMAGEKHRPROC)eglGetProcAddress("eglCreateImageKHR");
	PFNGLEGLIMAGETARGETRENDERBUFFERSTORAGEOESPROC target =
	    (PFNGLEGLIMAGETARGETRENDERBUFFERSTORAGEOESPROC)eglGetProcAddress(
		"glEGLImageTargetRenderbufferStorageOES");
	struct gbm_bo *bo =
	    gbm_bo_create(gbm, (uint32_t)w, (uint32_t)h, GBM_FORMAT_XRGB8888, GBM_BO_USE_RENDERING);
	struct wl_display *dpy_wl = wl_display_connect(NULL);
	GLuint fb, rb;

	if (!bo || !create_image || !target) {
		fprintf(stderr, "gpu-draw: no GBM buffer or EGLImage support\n");
		return 1;
	}
	if (!dpy_wl) {
		fprintf(stderr, "gpu-draw: cannot connect to the Wayland display\n");
		return 1;
	}
	EGLImageKHR img =
	    create_image(dpy, EGL_NO_CONTEXT, EGL_NATIVE_PIXMAP_KHR, (EGLClientBuffer)bo, NULL);
	if (img == EGL_NO_IMAGE_KHR) {
		fprintf(stderr, "gpu-draw: eglCreateImageKHR on the GBM buffer failed (0x%x)\n",
			eglGetError());
		return 1;
	}
	glGenFramebuffers(1, &fb);
	glGenRenderbuffers(1, &rb);
	glBindRenderbuffer(GL_RENDERBUFFER, rb);
	target(GL_RENDERBUFFER, img);
	glBindFramebuffer(GL_FRAMEBUFFER, fb);
	glFramebufferRenderbuffer(GL_FRAMEBUFFER, GL_COLOR_ATTACHMENT0, GL_RENDERBUFFER, rb);
	if (glCheckFramebufferStatus(GL_FRAMEBUFFER) != GL_FRAMEBUFFER_COMPLETE) {
		fprintf(stderr, "gpu-draw: the GBM buffer is not a complete framebuffer\n");
		return 1;
	}
	glViewport(0, 0, w, h);

	struct wl_registry *reg = wl_display_get_registry(dpy_wl);
	wl_registry_add_listener(reg, &reg_l, NULL);
	wl_display_roundtrip(dpy_wl);
	if (!comp || !wm || !dmabuf) {
		fprintf(stderr, "gpu-draw: the compositor offers no %s\n",
			!dmabuf ? "zwp_linux_dmabuf_v1 (version 2 or later)"
				: "wl_compositor or xdg_wm_base");
		return 1;
	}
	xdg_wm_base_add_listener(wm, &wm_l, NULL);
	struct wl_surface *surf = wl_compositor_create_surface(comp);
	struct xdg_surface *xs = xdg_wm_base_get_xdg_surface(wm, surf);
	struct xdg_toplevel *tl = xdg_surface_get_toplevel(xs);
	xdg_surface_add_listener(xs, &xs_l, NULL);
	xdg_toplevel_add_listener(tl, &tl_l, NULL);
	xdg_toplevel_set_title(tl, "gpu-draw");
	wl_surface_commit(surf);
	while (!configured && wl_display_dispatch(dpy_wl) >= 0)
		;

	uint64_t mod = gbm_bo_get_modifier(bo);
	struct zwp_linux_buffer_params_v1 *params = zwp_linux_dmabuf_v1_create_params(dmabuf);
	int fd = gbm_bo_get_fd(bo);
	zwp_linux_buffer_params_v1_add(params, fd, 0, 0, gbm_bo_get_stride(bo),
				       (uint32_t)(mod >> 32), (uint32_t)mod);
	struct wl_buffer *buf =
	    zwp_linux_buffer_params_v1_create_immed(params, w, h, FOURCC_XR24, 0);
	zwp_linux_buffer_params_v1_destroy(params);
	close(fd);

	int shown = 0;
	for (int i = 0; i < frames; i++) {
		draw();
		glFinish();
		frame_done = 0;
		struct wl_callback *cb = wl_surface_frame(surf);
		wl_callback_add_listener(cb, &frame_l, NULL);
		wl_surface_attach(surf, buf, 0, 0);
		wl_surface_damage_buffer(surf, 0, 0, w, h);
		wl_surface_commit(surf);
		while (!frame_done && wl_display_dispatch(dpy_wl) >= 0)
			;
		shown += frame_done;
	}
	printf("presented: %d\n", shown);
	fflush(stdout);
	for (int i = 0; i < hold_s * 10; i++) {
		wl_display_dispatch_pending(dpy_wl);
		wl_display_flush(dpy_wl);
		usleep(100000);
	}
	wl_buffer_destroy(buf);
	wl_display_disconnect(dpy_wl);
	return shown == frames ? 0 : 1;
}
