/* SPDX-License-Identifier: MIT */
/*
 * EGL: the display and the pipeline's two contexts, the submit context and
 * a readback context created sharing objects with it (buffers, programs
 * and sync objects are shared; queries and vertex arrays are not).
 *
 * Displays are process-wide in EGL: eglTerminate on a display ends it for
 * every user in the process. So displays are reference-counted here, and a
 * display that someone else had initialised before us is never
 * terminated by us.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "gl.h"

#include "internal.h"

/* Newer than libepoxy 1.5's generated headers. */
#ifndef EGL_DRM_RENDER_NODE_FILE_EXT
#define EGL_DRM_RENDER_NODE_FILE_EXT 0x3377 /* EGL_EXT_device_drm_render_node */
#endif
#ifndef EGL_DRIVER_NAME_EXT
#define EGL_DRIVER_NAME_EXT 0x335E /* EGL_EXT_device_persistent_id */
#endif
#ifndef EGL_RENDERER_EXT
#define EGL_RENDERER_EXT 0x335F /* EGL_EXT_device_persistent_id */
#endif

#define MAX_DISPLAYS 32

static pthread_mutex_t displays_lock = PTHREAD_MUTEX_INITIALIZER;
static struct {
	EGLDisplay dpy;
	unsigned refs;
	bool owned; /* we called eglInitialize: terminate at last release */
} displays[MAX_DISPLAYS];

static const char *egl_error_name(EGLint e)
{
	switch (e) {
#define E(x) \
	case x: \
		return #x;
		E(EGL_SUCCESS) E(EGL_NOT_INITIALIZED) E(EGL_BAD_ACCESS)
		E(EGL_BAD_ALLOC) E(EGL_BAD_ATTRIBUTE) E(EGL_BAD_CONFIG)
		E(EGL_BAD_CONTEXT) E(EGL_BAD_CURRENT_SURFACE)
		E(EGL_BAD_DISPLAY) E(EGL_BAD_MATCH) E(EGL_BAD_NATIVE_PIXMAP)
		E(EGL_BAD_NATIVE_WINDOW) E(EGL_BAD_PARAMETER)
		E(EGL_BAD_SURFACE) E(EGL_CONTEXT_LOST)
#undef E
	}
	return "unknown EGL error";
}

static int egl_fail(const char *call)
{
	EGLint e = eglGetError();

	return gp_error(GPUPIPE_EDRIVER, "%s failed: %s (0x%04x)", call,
			egl_error_name(e), (unsigned)e);
}

static bool client_has(const char *ext)
{
	return epoxy_has_egl_extension(EGL_NO_DISPLAY, ext);
}

/* The EGL client's devices, at most 64, into devices[0..*n). */
static int query_devices(EGLDeviceEXT devices[64], EGLint *n)
{
	/* NVIDIA lists only EGL_EXT_device_base, which includes
	 * enumeration; Mesa lists both. */
	if (!client_has("EGL_EXT_device_enumeration") &&
	    !client_has("EGL_EXT_device_base"))
		return gp_error(GPUPIPE_ENOTSUP, "EGL client extension "
				"EGL_EXT_device_enumeration (or "
				"EGL_EXT_device_base) is missing: cannot list "
				"EGL devices");
	if (!eglQueryDevicesEXT(64, devices, n))
		return egl_fail("eglQueryDevicesEXT");
	return 0;
}

static int get_device_display(unsigned index, EGLDisplay *out)
{
	EGLDeviceEXT devices[64];
	EGLint n = 0;
	int ret;

	ret = query_devices(devices, &n);
	if (ret)
		return ret;
	if (!client_has("EGL_EXT_platform_device"))
		return gp_error(GPUPIPE_ENOTSUP, "EGL client extension "
				"EGL_EXT_platform_device is missing");
	if ((EGLint)index >= n || index >= 64)
		return gp_error(GPUPIPE_EINVAL, "device_index %u: the EGL "
				"client lists %d device(s), so at most %d",
				index, n, n - 1);
	*out = eglGetPlatformDisplayEXT(EGL_PLATFORM_DEVICE_EXT,
					devices[index], NULL);
	if (*out == EGL_NO_DISPLAY)
		return egl_fail("eglGetPlatformDisplayEXT(EGL_PLATFORM_DEVICE_EXT)");
	return 0;
}

/* Copy device string name into dst ("" when the driver does not tell). */
static void device_string(EGLDeviceEXT dev, const char *dev_ext,
			  const char *needs, EGLint name, char *dst, size_t n)
{
	const char *v = NULL;

	if (dev_ext && strstr(dev_ext, needs))
		v = eglQueryDeviceStringEXT(dev, name);
	snprintf(dst, n, "%s", v ? v : "");
}

int gpupipe_list_devices(struct gpupipe_device *devices, unsigned max,
			 unsigned *count)
{
	EGLDeviceEXT found[64];
	EGLint n = 0, i;
	int ret;

	gp_error_clear();
	if (!count || (!devices && max))
		return gp_error(GPUPIPE_EINVAL, "gpupipe_list_devices: %s",
				!count ? "count is NULL"
				       : "devices is NULL but max is not 0");
	*count = 0;
	ret = query_devices(found, &n);
	if (ret)
		return ret;
	for (i = 0; i < n && (unsigned)i < max; i++) {
		struct gpupipe_device *d = &devices[i];
		const char *ext = eglQueryDeviceStringEXT(found[i],
							  EGL_EXTENSIONS);
		EGLAttrib cuda = -1;

		memset(d, 0, sizeof(*d));
		d->index = (unsigned)i;
		d->software = ext && strstr(ext, "EGL_MESA_device_software");
		d->cuda_device = -1;
		if (ext && strstr(ext, "EGL_NV_device_cuda") &&
		    eglQueryDeviceAttribEXT(found[i], EGL_CUDA_DEVICE_NV, &cuda))
			d->cuda_device = (int)cuda;
		device_string(found[i], ext, "EGL_EXT_device_drm_render_node",
			      EGL_DRM_RENDER_NODE_FILE_EXT, d->drm_node,
			      sizeof(d->drm_node));
		if (!d->drm_node[0])
			device_string(found[i], ext, "EGL_EXT_device_drm",
				      EGL_DRM_DEVICE_FILE_EXT, d->drm_node,
				      sizeof(d->drm_node));
		device_string(found[i], ext, "EGL_EXT_device_persistent_id",
			      EGL_DRIVER_NAME_EXT, d->driver,
			      sizeof(d->driver));
		device_string(found[i], ext, "EGL_EXT_device_persistent_id",
			      EGL_RENDERER_EXT, d->renderer,
			      sizeof(d->renderer));
		/* A failed query is a missing string, not an error. */
		eglGetError();
	}
	*count = (unsigned)n;
	return 0;
}

static int get_display(struct gp_egl *e, enum gpupipe_display kind,
		       unsigned device_index, EGLDisplay *out)
{
	if (!client_has("EGL_EXT_platform_base"))
		return gp_error(GPUPIPE_ENOTSUP, "EGL client extension "
				"EGL_EXT_platform_base is missing: "
				"eglGetPlatformDisplayEXT is unavailable");
	if (kind == GPUPIPE_DISPLAY_DEFAULT)
		kind = client_has("EGL_MESA_platform_surfaceless")
			       ? GPUPIPE_DISPLAY_SURFACELESS
			       : GPUPIPE_DISPLAY_DEVICE;
	e->kind = kind;
	e->device_index = kind == GPUPIPE_DISPLAY_DEVICE ? device_index : 0;
	if (kind == GPUPIPE_DISPLAY_DEVICE)
		return get_device_display(e->device_index, out);
	if (!client_has("EGL_MESA_platform_surfaceless"))
		return gp_error(GPUPIPE_ENOTSUP, "EGL client extension "
				"EGL_MESA_platform_surfaceless is missing; "
				"choose GPUPIPE_DISPLAY_DEVICE");
	*out = eglGetPlatformDisplayEXT(EGL_PLATFORM_SURFACELESS_MESA,
					EGL_DEFAULT_DISPLAY, NULL);
	if (*out == EGL_NO_DISPLAY)
		return egl_fail("eglGetPlatformDisplayEXT(EGL_PLATFORM_SURFACELESS_MESA)");
	return 0;
}

/* Take a reference on dpy, initialising it if nobody has. */
static int display_ref(EGLDisplay dpy, bool *owned)
{
	unsigned i, slot = MAX_DISPLAYS;
	EGLint major, minor;
	int ret = 0;

	pthread_mutex_lock(&displays_lock);
	for (i = 0; i < MAX_DISPLAYS; i++) {
		if (displays[i].refs && displays[i].dpy == dpy) {
			displays[i].refs++;
			*owned = displays[i].owned;
			goto out;
		}
		if (!displays[i].refs && slot == MAX_DISPLAYS)
			slot = i;
	}
	if (slot == MAX_DISPLAYS) {
		ret = gp_error(GPUPIPE_ENOMEM, "more than %d EGL displays "
			       "in use by gpupipe", MAX_DISPLAYS);
		goto out;
	}
	/* eglQueryString fails on a display nobody has initialised. */
	*owned = eglQueryString(dpy, EGL_VERSION) == NULL;
	eglGetError();
	if (!eglInitialize(dpy, &major, &minor)) {
		ret = egl_fail("eglInitialize");
		goto out;
	}
	displays[slot].dpy = dpy;
	displays[slot].refs = 1;
	displays[slot].owned = *owned;
out:
	pthread_mutex_unlock(&displays_lock);
	return ret;
}

static void display_unref(EGLDisplay dpy)
{
	unsigned i;

	pthread_mutex_lock(&displays_lock);
	for (i = 0; i < MAX_DISPLAYS; i++) {
		if (displays[i].refs && displays[i].dpy == dpy) {
			if (--displays[i].refs == 0 && displays[i].owned)
				eglTerminate(dpy);
			break;
		}
	}
	pthread_mutex_unlock(&displays_lock);
}

/* The attributes that ask for reset notification on dpy, best first,
 * ending with EGL_NONE (none). For desktop OpenGL, EGL 1.5's attribute
 * (EGL_KHR_create_context's value); Mesa refuses the EXT one, meant for
 * OpenGL ES, with EGL_BAD_ATTRIBUTE, but other drivers may take only it. */
static void reset_attributes(EGLDisplay dpy, EGLint out[3])
{
	unsigned n = 0;

	if (epoxy_egl_version(dpy) >= 15 ||
	    epoxy_has_egl_extension(dpy, "EGL_KHR_create_context"))
		out[n++] = EGL_CONTEXT_OPENGL_RESET_NOTIFICATION_STRATEGY_KHR;
	if (epoxy_has_egl_extension(dpy, "EGL_EXT_create_context_robustness"))
		out[n++] = EGL_CONTEXT_OPENGL_RESET_NOTIFICATION_STRATEGY_EXT;
	out[n] = EGL_NONE;
}

/* reset: an attribute from reset_attributes, asking that a GPU reset be
 * reported (GL_LOSE_CONTEXT_ON_RESET); EGL_NONE: not. Only the
 * notification: robust buffer access would slow every dispatch. */
static EGLContext create_context(EGLDisplay dpy, EGLContext share,
				 EGLint reset)
{
	/* Compute shaders need 4.3; glBufferStorage and glBindBuffersRange
	 * need 4.4. Ask for the newest we use, then the least we need. */
	static const EGLint versions[][2] = { { 4, 6 }, { 4, 5 }, { 4, 4 } };
	unsigned i;

	for (i = 0; i < sizeof(versions) / sizeof(versions[0]); i++) {
		const EGLint attrs[] = {
			EGL_CONTEXT_MAJOR_VERSION, versions[i][0],
			EGL_CONTEXT_MINOR_VERSION, versions[i][1],
			EGL_CONTEXT_OPENGL_PROFILE_MASK,
			EGL_CONTEXT_OPENGL_CORE_PROFILE_BIT,
			reset, EGL_LOSE_CONTEXT_ON_RESET_EXT,
			EGL_NONE,
		};
		EGLContext ctx = eglCreateContext(dpy, EGL_NO_CONFIG_KHR, share,
						  attrs);

		if (ctx != EGL_NO_CONTEXT)
			return ctx;
	}
	return EGL_NO_CONTEXT;
}

/* The application's display (it initialised it and terminates it) must
 * be initialised. Only EGL_BAD_DISPLAY and EGL_NOT_INITIALIZED say that
 * it is the caller's mistake; any other failure is the driver's. */
static int check_app_display(EGLDisplay dpy)
{
	EGLint err;

	if (eglQueryString(dpy, EGL_VERSION))
		return 0;
	err = eglGetError();
	if (err != EGL_BAD_DISPLAY && err != EGL_NOT_INITIALIZED)
		return gp_error(GPUPIPE_EDRIVER, "eglQueryString (egl_display) "
				"failed: %s (0x%04x)", egl_error_name(err),
				(unsigned)err);
	return gp_error(GPUPIPE_EINVAL, "egl_display is not an initialised "
			"EGLDisplay: call eglInitialize first");
}

/* e->display: the application's (borrowed), or one of ours, counted. */
static int open_display(struct gp_egl *e, enum gpupipe_display kind,
			unsigned device_index, void *app_display)
{
	EGLDisplay dpy;
	int ret;

	if (app_display) {
		ret = check_app_display(app_display);
		if (ret)
			return ret;
		dpy = app_display;
		e->borrowed = true;
		e->kind = GPUPIPE_DISPLAY_APPLICATION;
	} else {
		ret = get_display(e, kind, device_index, &dpy);
		if (ret)
			return ret;
		ret = display_ref(dpy, &e->owns_display);
		if (ret)
			return ret;
	}
	e->display = dpy;
	return 0;
}

/* Contexts without a config or a surface: what gpupipe's contexts are. */
static int check_display_extensions(EGLDisplay dpy)
{
	if (!epoxy_has_egl_extension(dpy, "EGL_KHR_no_config_context") &&
	    !epoxy_has_egl_extension(dpy, "EGL_MESA_configless_context"))
		return gp_error(GPUPIPE_ENOTSUP, "EGL display extension "
				"EGL_KHR_no_config_context is missing");
	if (!epoxy_has_egl_extension(dpy, "EGL_KHR_surfaceless_context"))
		return gp_error(GPUPIPE_ENOTSUP, "EGL display extension "
				"EGL_KHR_surfaceless_context is missing");
	return 0;
}

int gp_egl_open(struct gp_egl *e, enum gpupipe_display kind,
		unsigned device_index, void *app_display, void *share_ctx,
		bool want_reset)
{
	EGLDisplay dpy;
	EGLenum saved_api;
	EGLint resets[3], reset;
	unsigned i;
	int ret;

	memset(e, 0, sizeof(*e));
	ret = open_display(e, kind, device_index, app_display);
	if (ret)
		return ret;
	dpy = e->display;
	ret = check_display_extensions(dpy);
	if (ret)
		goto fail;
	/* The bound API is per-thread state of the caller: restore it. */
	saved_api = eglQueryAPI();
	if (!eglBindAPI(EGL_OPENGL_API)) {
		ret = egl_fail("eglBindAPI(EGL_OPENGL_API)");
		goto fail;
	}
	e->shared_with_app = share_ctx != NULL;
	/* With reset notification where the driver offers it. Contexts that
	 * share objects must agree on it, so an application's context
	 * without it makes ours go without. */
	reset_attributes(dpy, resets);
	if (!want_reset)
		resets[0] = EGL_NONE;
	for (i = 0;; i++) {
		reset = resets[i];
		e->submit_ctx = create_context(dpy, share_ctx ? share_ctx
							      : EGL_NO_CONTEXT,
					       reset);
		if (e->submit_ctx != EGL_NO_CONTEXT || reset == EGL_NONE)
			break;
	}
	e->reset_notification = reset != EGL_NONE;
	if (e->submit_ctx == EGL_NO_CONTEXT) {
		ret = egl_fail(share_ctx ? "eglCreateContext (OpenGL 4.4 core "
					   "or newer, sharing with "
					   "share_context)"
					 : "eglCreateContext (OpenGL 4.4 core "
					   "or newer)");
		goto fail_api;
	}
	e->readback_ctx = create_context(dpy, e->submit_ctx, reset);
	if (e->readback_ctx == EGL_NO_CONTEXT) {
		ret = egl_fail("eglCreateContext (readback, shared)");
		goto fail_ctx;
	}
	eglBindAPI(saved_api);
	return 0;

fail_ctx:
	eglDestroyContext(dpy, e->submit_ctx);
	e->submit_ctx = NULL;
fail_api:
	eglBindAPI(saved_api);
fail:
	if (!e->borrowed)
		display_unref(dpy);
	e->display = NULL;
	return ret;
}

void gp_egl_close(struct gp_egl *e)
{
	if (!e->display)
		return;
	/* Both threads released their contexts before they exited. */
	if (e->readback_ctx)
		eglDestroyContext(e->display, e->readback_ctx);
	if (e->submit_ctx)
		eglDestroyContext(e->display, e->submit_ctx);
	if (!e->borrowed)
		display_unref(e->display);
	memset(e, 0, sizeof(*e));
}

int gp_egl_make_current(struct gp_egl *e, void *ctx)
{
	if (!eglBindAPI(EGL_OPENGL_API))
		return egl_fail("eglBindAPI(EGL_OPENGL_API)");
	if (!eglMakeCurrent(e->display, EGL_NO_SURFACE, EGL_NO_SURFACE, ctx))
		return egl_fail("eglMakeCurrent");
	return 0;
}

void gp_egl_release_current(struct gp_egl *e)
{
	eglMakeCurrent(e->display, EGL_NO_SURFACE, EGL_NO_SURFACE,
		       EGL_NO_CONTEXT);
	/* Free this thread's EGL state; it is one of ours and exits. */
	eglReleaseThread();
}
