/* SPDX-License-Identifier: MIT */
#ifndef GPU_DRAW_WL_H
#define GPU_DRAW_WL_H

#include <EGL/egl.h>
#include <gbm.h>

/* gpu-draw -W (gpu_draw_wl.c): frames drawn by draw() shown in a Wayland window. */
int gpu_draw_wayland(EGLDisplay dpy, struct gbm_device *gbm, int w, int h, int frames, int hold_s,
		     void (*draw)(void));

#endif
