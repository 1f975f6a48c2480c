/* SPDX-License-Identifier: MIT */
/*
 * gpu-draw: a small GLES 2 program for the guest side of lbx-gpud's tests
 * and benchmark. It renders offscreen (EGL on GBM on a render node, or
 * Mesa's surfaceless platform with -S), so it needs no display:
 *
 *   gpu-draw [-d /dev/dri/renderD128 | -S] [-w W] [-h H] [-n FRAMES]
 *   gpu-draw -W [-d NODE] [-w W] [-h H] [-n FRAMES] [-s SECONDS]
 *
 * -W (built where libwayland-client is): into a GBM buffer shown in a
 * Wayland window through zwp_linux_dmabuf_v1 (gpu_draw_wl.c), held for
 * SECONDS after the last frame.
 *
 * Each frame clears to dark blue and draws a red triangle over the middle
 * with a shader; the pixels are read back after the last. It prints
 *
 *   renderer: <GL_RENDERER>
 *   center: R G B
 *   corner: R G B
 *   frames: N seconds: S
 *
 * and exits 0 when the center is red and the corner blue (it drew).
 */
#include <EGL/egl.h>
#include <EGL/eglext.h>
#include <GLES2/gl2.h>
#include <fcntl.h>
#include <gbm.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#ifdef GPU_DRAW_WAYLAND
#include "gpu_draw_wl.h"
#define WAYLAND_USAGE " | -W", " [-s SECONDS]"
#else
#define WAYLAND_USAGE "", ""
#endif

static const char *vs = "attribute vec2 p; void main() { gl_Position = vec4(p, 0.0, 1.0); }";
static const char *fs = "precision mediump float; void main() { gl_FragColor = vec4(1, 0, 0, 1); }";

static int die(const char *what)
{
	fprintf(stderr, "gpu-draw: %s failed (EGL error 0x%x)\n", what, eglGetError());
	return 1;
}

static struct gbm_device *gbm;

static void draw_frame(void)
{
	glClearColor(0.0f, 0.0f, 0.6f, 1.0f);
	glClear(GL_COLOR_BUFFER_BIT);
	glDrawArrays(GL_TRIANGLES, 0, 3);
}

static EGLDisplay open_display(const char *node, int surfaceless)
{
	PFNEGLGETPLATFORMDISPLAYEXTPROC get =
	    (PFNEGLGETPLATFORMDISPLAYEXTPROC)eglGetProcAddress("eglGetPlatformDisplayEXT");
	int fd;

	if (!get)
		return EGL_NO_DISPLAY;
	if (surfaceless)
		return get(EGL_PLATFORM_SURFACELESS_MESA, EGL_DEFAULT_DISPLAY, NULL);
	fd = open(node, O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		perror(node);
		return EGL_NO_DISPLAY;
	}
	gbm = gbm_create_device(fd);
	return gbm ? get(EGL_PLATFORM_GBM_KHR, gbm, NULL) : EGL_NO_DISPLAY;
}

static GLuint program(void)
{
	GLuint p = glCreateProgram(), s[2];
	const char *src[2] = { vs, fs };
	GLenum type[2] = { GL_VERTEX_SHADER, GL_FRAGMENT_SHADER };

	for (int i = 0; i < 2; i++) {
		s[i] = glCreateShader(type[i]);
		glShaderSource(s[i], 1, &src[i], NULL);
		glCompileShader(s[i]);
		glAttachShader(p, s[i]);
	}
	glBindAttribLocation(p, 0, "p");
	glLinkProgram(p);
	return p;
}

int main(int argc, char **argv)
{
	static const EGLint ctx_attr[] = { EGL_CONTEXT_CLIENT_VERSION, 2, EGL_NONE };
	static const GLfloat tri[] = { -0.5f, -0.5f, 0.5f, -0.5f, 0.0f, 0.6f };
	const char *node = "/dev/dri/renderD128";
	int w = 64, h = 64, frames = 1, surfaceless = 0, wayland = 0, hold = 0, opt;
	unsigned char px[4], corner[4];
	struct timespec t0, t1;
	EGLDisplay dpy;
	EGLContext ctx;
	GLuint fb, rb;

	while ((opt = getopt(argc, argv, "d:SWs:w:h:n:")) != -1) {
		switch (opt) {
		case 'W': wayland = 1; break;
		case 's': hold = atoi(optarg); break;
		case 'd': node = optarg; break;
		case 'S': surfaceless = 1; break;
		case 'w': w = atoi(optarg); break;
		case 'h': h = atoi(optarg); break;
		case 'n': frames = atoi(optarg); break;
		default:
			fprintf(stderr,
				"usage: gpu-draw [-d NODE | -S%s] [-w W] [-h H] [-n FRAMES]%s\n",
				WAYLAND_USAGE);
			return 2;
		}
	}
	dpy = open_display(node, surfaceless);
	if (dpy == EGL_NO_DISPLAY || !eglInitialize(dpy, NULL, NULL))
		return die("eglInitialize");
	if (!eglBindAPI(EGL_OPENGL_ES_API))
		return die("eglBindAPI");
	ctx = eglCreateContext(dpy, EGL_NO_CONFIG_KHR, EGL_NO_CONTEXT, ctx_attr);
	if (ctx == EGL_NO_CONTEXT || !eglMakeCurrent(dpy, EGL_NO_SURFACE, EGL_NO_SURFACE, ctx))
		return die("a surfaceless GLES 2 context");
	if (wayland) {
#ifdef GPU_DRAW_WAYLAND
		glUseProgram(program());
		glVertexAttribPointer(0, 2, GL_FLOAT, GL_FALSE, 0, tri);
		glEnableVertexAttribArray(0);
		printf("renderer: %s\n", (const char *)glGetString(GL_RENDERER));
		fflush(stdout);
		return gbm ? gpu_draw_wayland(dpy, gbm, w, h, frames, hold, draw_frame) : 2;
#else
		fprintf(stderr, "gpu-draw: built without libwayland-client: no -W\n");
		return 2;
#endif
	}
	glGenFramebuffers(1, &fb);
	glGenRenderbuffers(1, &rb);
	glBindRenderbuffer(GL_RENDERBUFFER, rb);
	glRenderbufferStorage(GL_RENDERBUFFER, GL_RGBA4, w, h);
	glBindFramebuffer(GL_FRAMEBUFFER, fb);
	glFramebufferRenderbuffer(GL_FRAMEBUFFER, GL_COLOR_ATTACHMENT0, GL_RENDERBUFFER, rb);
	if (glCheckFramebufferStatus(GL_FRAMEBUFFER) != GL_FRAMEBUFFER_COMPLETE)
		return die("an offscreen framebuffer");
	glViewport(0, 0, w, h);
	glUseProgram(program());
	glVertexAttribPointer(0, 2, GL_FLOAT, GL_FALSE, 0, tri);
	glEnableVertexAttribArray(0);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (int i = 0; i < frames; i++) {
		draw_frame();
		/* A frame is done when its pixels could be shown: wait for it. */
		glReadPixels(w / 2, h / 2, 1, 1, GL_RGBA, GL_UNSIGNED_BYTE, px);
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	glReadPixels(0, 0, 1, 1, GL_RGBA, GL_UNSIGNED_BYTE, corner);
	printf("renderer: %s\n", (const char *)glGetString(GL_RENDERER));
	printf("center: %u %u %u\ncorner: %u %u %u\n", px[0], px[1], px[2], corner[0], corner[1],
	       corner[2]);
	printf("frames: %d seconds: %.3f\n", frames,
	       (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
	return px[0] > 200 && px[2] < 50 && corner[2] > 100 && corner[0] < 50 ? 0 : 1;
}
