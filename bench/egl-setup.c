/* SPDX-License-Identifier: MIT */
/* EGL display and context for the bench and the probes; see egl-setup.h. */
#include "config.h"

#include <stdio.h>

#include "egl-setup.h"

#define MAX_EGL_DEVICES 64

EGLDisplay bench_egl_display(int device, char *err, size_t errlen)
{
	EGLDisplay dpy;

	if (device < 0 && epoxy_has_egl_extension(EGL_NO_DISPLAY,
					"EGL_MESA_platform_surfaceless")) {
		dpy = eglGetPlatformDisplayEXT(EGL_PLATFORM_SURFACELESS_MESA,
					       EGL_DEFAULT_DISPLAY, NULL);
	} else {
		EGLDeviceEXT devs[MAX_EGL_DEVICES];
		EGLint n = 0;

		if (device < 0)
			device = 0;
		if (!eglQueryDevicesEXT(MAX_EGL_DEVICES, devs, &n) ||
		    device >= n) {
			snprintf(err, errlen, "EGL device %d not found (%d "
				 "listed)", device, n);
			return EGL_NO_DISPLAY;
		}
		dpy = eglGetPlatformDisplayEXT(EGL_PLATFORM_DEVICE_EXT,
					       devs[device], NULL);
	}
	if (dpy == EGL_NO_DISPLAY || !eglInitialize(dpy, NULL, NULL) ||
	    !eglBindAPI(EGL_OPENGL_API)) {
		snprintf(err, errlen, "EGL display: error 0x%x",
			 eglGetError());
		return EGL_NO_DISPLAY;
	}
	return dpy;
}

EGLContext bench_egl_context(EGLDisplay dpy, EGLContext share, bool robust)
{
	/* 4.4 is the least the bench needs (glBufferStorage,
	 * glBindBuffersRange); newer first, so that every mode runs in the
	 * kind of context the library's threads get. */
	EGLint minor;

	for (minor = 6; minor >= 4; minor--) {
		const EGLint attrs[] = {
			EGL_CONTEXT_MAJOR_VERSION, 4,
			EGL_CONTEXT_MINOR_VERSION, minor,
			EGL_CONTEXT_OPENGL_PROFILE_MASK,
			EGL_CONTEXT_OPENGL_CORE_PROFILE_BIT,
			robust ? EGL_CONTEXT_OPENGL_RESET_NOTIFICATION_STRATEGY
			       : EGL_NONE, EGL_LOSE_CONTEXT_ON_RESET,
			EGL_NONE
		};
		EGLContext ctx = eglCreateContext(dpy, EGL_NO_CONFIG_KHR,
						  share, attrs);

		if (ctx != EGL_NO_CONTEXT)
			return ctx;
	}
	return EGL_NO_CONTEXT;
}
