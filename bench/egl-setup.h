/* SPDX-License-Identifier: MIT */
/*
 * The EGL setup of gpupipe-bench and of the probes in bench/probes/: a
 * display and an OpenGL core context, without the library, so that what
 * they time is the driver alone.
 */
#ifndef GPUPIPE_BENCH_EGL_SETUP_H
#define GPUPIPE_BENCH_EGL_SETUP_H

#include <stdbool.h>
#include <stddef.h>

#include <epoxy/egl.h>

/*
 * device >= 0: that EGL device (eglQueryDevicesEXT); < 0: Mesa's
 * surfaceless platform, or device 0 where the client library lacks it.
 * Returns the display initialised, with OpenGL bound in this thread, or
 * EGL_NO_DISPLAY with a message in err.
 */
EGLDisplay bench_egl_display(int device, char *err, size_t errlen);

/*
 * An OpenGL core context with no config and no surface, sharing objects
 * with share (EGL_NO_CONTEXT: none); robust asks for reset notification.
 * EGL_NO_CONTEXT on failure (eglGetError says why).
 */
EGLContext bench_egl_context(EGLDisplay dpy, EGLContext share, bool robust);

#endif
