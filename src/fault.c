/* SPDX-License-Identifier: MIT */
/*
 * The fault-injection layer (fault.h says what each point does). Built
 * only with --enable-fault-injection; the wrappers below are the only
 * code of the library that calls libepoxy's GL and EGL entry points,
 * malloc and pthread_create directly.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"
#include "gl.h"

static const char *const point_names[] = {
#define NAME(name) #name,
	GP_FAULT_POINTS(NAME)
#undef NAME
};

static _Atomic unsigned long calls[GP_FAULT_COUNT];
static _Atomic unsigned armed = GP_FAULT_COUNT; /* none */
static _Atomic unsigned long armed_nth;
static _Atomic bool armed_persist;
static _Atomic unsigned long fired;
static _Atomic unsigned long unflushed;
static _Atomic int prep_lazy = -1;

static const char *const delay_names[] = {
#define NAME(name) #name,
	GP_DELAY_POINTS(NAME)
#undef NAME
};
static _Atomic unsigned delay_us[GP_DELAY_COUNT];
static _Atomic unsigned long delayed[GP_DELAY_COUNT];

/* An injected GL or EGL failure, for this thread's next glGetError or
 * eglGetError. */
static _Thread_local GLenum pending_gl_error;
/* After a simulated reset, GL_CONTEXT_LOST was read since the last GL
 * call: as on a real lost context, each call reports it once. */
static _Thread_local bool lost_reported;
static _Thread_local EGLint pending_egl_error;

unsigned gpupipe_fault_count(void)
{
	return GP_FAULT_COUNT;
}

const char *gpupipe_fault_name(unsigned point)
{
	return point < GP_FAULT_COUNT ? point_names[point] : NULL;
}

void gpupipe_fault_reset(void)
{
	unsigned i;

	atomic_store(&armed, GP_FAULT_COUNT);
	for (i = 0; i < GP_FAULT_COUNT; i++)
		atomic_store(&calls[i], 0);
	atomic_store(&fired, 0);
	atomic_store(&unflushed, 0);
	atomic_store(&prep_lazy, -1);
	gp_model_clear();
	for (i = 0; i < GP_DELAY_COUNT; i++) {
		atomic_store(&delay_us[i], 0);
		atomic_store(&delayed[i], 0);
	}
}

void gpupipe_fault_prep_lazy(int mode)
{
	atomic_store(&prep_lazy, mode < 0 ? -1 : mode > 0);
}

int gp_fault_prep_lazy(void)
{
	return atomic_load(&prep_lazy);
}

static int delay_index(const char *point)
{
	int i;

	for (i = 0; point && i < GP_DELAY_COUNT; i++)
		if (!strcmp(point, delay_names[i]))
			return i;
	return -1;
}

int gpupipe_fault_delay(const char *point, unsigned us)
{
	int i = delay_index(point);

	if (i < 0)
		return -1;
	atomic_store(&delay_us[i], us);
	return 0;
}

unsigned long gpupipe_fault_delayed(const char *point)
{
	int i = delay_index(point);

	return i < 0 ? 0 : atomic_load(&delayed[i]);
}

void gp_fault_pause(enum gp_delay_point point)
{
	unsigned us = atomic_load(&delay_us[point]);

	if (!us)
		return;
	atomic_fetch_add(&delayed[point], 1);
	usleep(us);
}

void gpupipe_fault_arm(unsigned point, unsigned long nth, bool persist)
{
	if (point >= GP_FAULT_COUNT || !nth)
		return;
	atomic_store(&armed, GP_FAULT_COUNT);
	atomic_store(&armed_nth, atomic_load(&calls[point]) + nth);
	atomic_store(&armed_persist, persist);
	atomic_store(&armed, point);
}

unsigned long gpupipe_fault_calls(unsigned point)
{
	return point < GP_FAULT_COUNT ? atomic_load(&calls[point]) : 0;
}

unsigned long gpupipe_fault_fired(void)
{
	return atomic_load(&fired);
}

unsigned long gpupipe_fault_unflushed(void)
{
	return atomic_load(&unflushed);
}

bool gp_fault_hit(enum gp_fault_point point)
{
	unsigned long n = atomic_fetch_add(&calls[point], 1) + 1;
	unsigned long nth;

	if (atomic_load(&armed) != point)
		return false;
	nth = atomic_load(&armed_nth);
	if (n != nth && !(atomic_load(&armed_persist) && n > nth))
		return false;
	atomic_fetch_add(&fired, 1);
	return true;
}

static bool gl_fails(enum gp_fault_point point)
{
	lost_reported = false;
	if (!gp_fault_hit(point))
		return false;
	pending_gl_error = GL_OUT_OF_MEMORY;
	return true;
}

static bool egl_fails(enum gp_fault_point point)
{
	if (!gp_fault_hit(point))
		return false;
	pending_egl_error = EGL_BAD_ALLOC;
	return true;
}

/* ---- allocation and threads ------------------------------------------ */

void *gp_malloc(size_t bytes)
{
	return gp_fault_hit(GP_FAULT_malloc) ? NULL : malloc(bytes);
}

void *gp_calloc(size_t n, size_t size)
{
	return gp_fault_hit(GP_FAULT_calloc) ? NULL : calloc(n, size);
}

void *gp_calloc_lines(size_t n, size_t size)
{
	return gp_fault_hit(GP_FAULT_calloc) ? NULL : gp_lines_alloc(n, size);
}

void *gp_realloc(void *ptr, size_t bytes)
{
	return gp_fault_hit(GP_FAULT_realloc) ? NULL : realloc(ptr, bytes);
}

char *gp_strdup(const char *s)
{
	return gp_fault_hit(GP_FAULT_strdup) ? NULL : strdup(s);
}

int gp_thread_create(pthread_t *thread, const pthread_attr_t *attr,
		     void *(*fn)(void *), void *arg)
{
	if (gp_fault_hit(GP_FAULT_pthread_create))
		return EAGAIN;
	return pthread_create(thread, attr, fn, arg);
}

/* ---- the fence hand-off check ------------------------------------------ */

/* The fences this thread made, each with the thread's flush count then. */
#define FENCE_LOG 4096
static _Thread_local struct {
	const void *fence;
	unsigned long flushes;
} fence_log[FENCE_LOG];
static _Thread_local unsigned long fences_made, flushes_done;

static void fence_made(const void *fence)
{
	fence_log[fences_made % FENCE_LOG].fence = fence;
	fence_log[fences_made % FENCE_LOG].flushes = flushes_done;
	fences_made++;
}

void gp_fault_handoff(const void *fence)
{
	unsigned long i;

	for (i = fences_made; i-- > 0 && fences_made - i <= FENCE_LOG;) {
		if (fence_log[i % FENCE_LOG].fence != fence)
			continue;
		if (fence_log[i % FENCE_LOG].flushes != flushes_done)
			return;
		break;
	}
	/* Not flushed since it was made, or not made on this thread. */
	atomic_fetch_add(&unflushed, 1);
	fprintf(stderr, "gpupipe fault check: fence %p handed to readback "
		"without a glFlush after it on the submit thread\n", fence);
}

/* ---- GL ------------------------------------------------------------------ */

/* A void GL call: skipped when it fails. */
#define GL_VOID(name, params, args) \
	void gp_fi_##name params \
	{ \
		if (!gl_fails(GP_FAULT_##name)) \
			epoxy_##name args; \
	}

/* A GL call with a result: fail_value when it fails. */
#define GL_RET(type, name, fail_value, params, args) \
	type gp_fi_##name params \
	{ \
		if (gl_fails(GP_FAULT_##name)) \
			return fail_value; \
		return epoxy_##name args; \
	}

GL_VOID(glAttachShader, (GLuint program, GLuint shader), (program, shader))
GL_VOID(glBindBuffer, (GLenum target, GLuint buffer), (target, buffer))
GL_VOID(glBindBuffersRange,
	(GLenum target, GLuint first, GLsizei count, const GLuint *buffers,
	 const GLintptr *offsets, const GLsizeiptr *sizes),
	(target, first, count, buffers, offsets, sizes))
GL_VOID(glBufferStorage,
	(GLenum target, GLsizeiptr size, const void *data, GLbitfield flags),
	(target, size, data, flags))
GL_VOID(glCompileShader, (GLuint shader), (shader))
GL_RET(GLuint, glCreateProgram, 0, (void), ())
GL_RET(GLuint, glCreateShader, 0, (GLenum type), (type))
GL_VOID(glDeleteBuffers, (GLsizei n, const GLuint *buffers), (n, buffers))
GL_VOID(glDeleteProgram, (GLuint program), (program))
GL_VOID(glDeleteQueries, (GLsizei n, const GLuint *ids), (n, ids))
GL_VOID(glDeleteShader, (GLuint shader), (shader))
GL_VOID(glDetachShader, (GLuint program, GLuint shader), (program, shader))
GL_VOID(glGenBuffers, (GLsizei n, GLuint *buffers), (n, buffers))
GL_VOID(glGenQueries, (GLsizei n, GLuint *ids), (n, ids))
GL_VOID(glGetInteger64v, (GLenum pname, GLint64 *data), (pname, data))
GL_VOID(glGetIntegeri_v, (GLenum target, GLuint index, GLint *data),
	(target, index, data))
GL_VOID(glGetIntegerv, (GLenum pname, GLint *data), (pname, data))
GL_VOID(glGetProgramInfoLog,
	(GLuint program, GLsizei size, GLsizei *length, GLchar *log),
	(program, size, length, log))
GL_VOID(glGetProgramInterfaceiv,
	(GLuint program, GLenum interface, GLenum pname, GLint *params),
	(program, interface, pname, params))
GL_VOID(glGetProgramResourceiv,
	(GLuint program, GLenum interface, GLuint index, GLsizei prop_count,
	 const GLenum *props, GLsizei count, GLsizei *length, GLint *params),
	(program, interface, index, prop_count, props, count, length, params))
GL_VOID(glGetProgramiv, (GLuint program, GLenum pname, GLint *params),
	(program, pname, params))
GL_VOID(glGetQueryiv, (GLenum target, GLenum pname, GLint *params),
	(target, pname, params))
GL_VOID(glGetShaderInfoLog,
	(GLuint shader, GLsizei size, GLsizei *length, GLchar *log),
	(shader, size, length, log))
GL_VOID(glGetShaderiv, (GLuint shader, GLenum pname, GLint *params),
	(shader, pname, params))
GL_RET(const GLubyte *, glGetString, NULL, (GLenum name), (name))
GL_VOID(glLinkProgram, (GLuint program), (program))
GL_RET(void *, glMapBufferRange, NULL,
       (GLenum target, GLintptr offset, GLsizeiptr length, GLbitfield access),
       (target, offset, length, access))
GL_VOID(glMemoryBarrier, (GLbitfield barriers), (barriers))
GL_VOID(glShaderSource,
	(GLuint shader, GLsizei count, const GLchar *const *string,
	 const GLint *length),
	(shader, count, string, length))
GL_RET(GLboolean, glUnmapBuffer, GL_FALSE, (GLenum target), (target))
GL_VOID(glUseProgram, (GLuint program), (program))

GLsync gp_fi_glFenceSync(GLenum condition, GLbitfield flags)
{
	GLsync fence;

	if (gl_fails(GP_FAULT_glFenceSync))
		return NULL;
	fence = epoxy_glFenceSync(condition, flags);
	if (fence) {
		fence_made(fence);
		gp_model_fence_made(fence);
	}
	return fence;
}

void gp_fi_glDeleteSync(GLsync sync)
{
	if (gl_fails(GP_FAULT_glDeleteSync))
		return;
	gp_model_fence_deleted(sync);
	epoxy_glDeleteSync(sync);
}

void gp_fi_glDispatchCompute(GLuint x, GLuint y, GLuint z)
{
	if (gl_fails(GP_FAULT_glDispatchCompute))
		return;
	epoxy_glDispatchCompute(x, y, z);
	gp_model_dispatched();
}

void gp_fi_glQueryCounter(GLuint id, GLenum target)
{
	if (gl_fails(GP_FAULT_glQueryCounter))
		return;
	epoxy_glQueryCounter(id, target);
	gp_model_query_counter(id);
}

/* A result not yet written by the modelled GPU: not available, and a
 * read of it waits. */
void gp_fi_glGetQueryObjectuiv(GLuint id, GLenum pname, GLuint *params)
{
	if (gl_fails(GP_FAULT_glGetQueryObjectuiv))
		return;
	if (pname == GL_QUERY_RESULT_AVAILABLE &&
	    !gp_model_query_ready(id, false)) {
		*params = GL_FALSE;
		return;
	}
	if (pname == GL_QUERY_RESULT)
		gp_model_query_ready(id, true);
	epoxy_glGetQueryObjectuiv(id, pname, params);
}

void gp_fi_glGetQueryObjectui64v(GLuint id, GLenum pname, GLuint64 *params)
{
	if (gl_fails(GP_FAULT_glGetQueryObjectui64v))
		return;
	if (pname == GL_QUERY_RESULT)
		gp_model_query_ready(id, true);
	epoxy_glGetQueryObjectui64v(id, pname, params);
}

/* A skipped glFlush is how a test proves the hand-off check works. */
void gp_fi_glFlush(void)
{
	if (gl_fails(GP_FAULT_glFlush))
		return;
	epoxy_glFlush();
	flushes_done++;
}

void gp_fi_glFinish(void)
{
	if (gl_fails(GP_FAULT_glFinish))
		return;
	epoxy_glFinish();
	gp_model_finish();
	flushes_done++;
}

GLenum gp_fi_glClientWaitSync(GLsync sync, GLbitfield flags, GLuint64 timeout)
{
	GLenum r;

	if (gl_fails(GP_FAULT_glClientWaitSync))
		return GL_WAIT_FAILED;
	if (!gp_model_fence_wait(sync, timeout))
		return GL_TIMEOUT_EXPIRED;
	r = epoxy_glClientWaitSync(sync, flags, timeout);
	/* On a lost context, waits return as if the sync had signalled. */
	if (gp_model_lost())
		return GL_ALREADY_SIGNALED;
	return r;
}

GLenum gp_fi_glGetGraphicsResetStatus(void)
{
	GLenum status;

	if (gp_fault_hit(GP_FAULT_glGetGraphicsResetStatus))
		gpupipe_fault_gpu_reset();
	if (gp_model_reset_status(&status))
		return status;
	/* Drivers without robustness (llvmpipe) have no such entry point;
	 * they never report a reset. */
	if (epoxy_gl_version() < 45 &&
	    !epoxy_has_gl_extension("GL_KHR_robustness") &&
	    !epoxy_has_gl_extension("GL_ARB_robustness"))
		return GL_NO_ERROR;
	return epoxy_glGetGraphicsResetStatus();
}

GLenum gp_fi_glGetError(void)
{
	GLenum e;

	if (pending_gl_error) {
		e = pending_gl_error;
		pending_gl_error = GL_NO_ERROR;
		return e;
	}
	e = epoxy_glGetError();
	if (e == GL_NO_ERROR && !lost_reported && gp_model_lost()) {
		lost_reported = true;
		return GL_CONTEXT_LOST;
	}
	return e;
}

/* ---- EGL ----------------------------------------------------------------- */

#define EGL_RET(type, name, fail_value, params, args) \
	type gp_fi_##name params \
	{ \
		if (egl_fails(GP_FAULT_##name)) \
			return fail_value; \
		return epoxy_##name args; \
	}

EGL_RET(EGLBoolean, eglBindAPI, EGL_FALSE, (EGLenum api), (api))
EGL_RET(EGLDisplay, eglGetPlatformDisplayEXT, EGL_NO_DISPLAY,
	(EGLenum platform, void *native, const EGLint *attrs),
	(platform, native, attrs))
EGL_RET(EGLBoolean, eglInitialize, EGL_FALSE,
	(EGLDisplay dpy, EGLint *major, EGLint *minor), (dpy, major, minor))
EGL_RET(EGLenum, eglQueryAPI, EGL_NONE, (void), ())
EGL_RET(EGLBoolean, eglQueryDeviceAttribEXT, EGL_FALSE,
	(EGLDeviceEXT device, EGLint attribute, EGLAttrib *value),
	(device, attribute, value))
EGL_RET(const char *, eglQueryDeviceStringEXT, NULL,
	(EGLDeviceEXT device, EGLint name), (device, name))
EGL_RET(EGLBoolean, eglQueryDevicesEXT, EGL_FALSE,
	(EGLint max, EGLDeviceEXT *devices, EGLint *count),
	(max, devices, count))
EGL_RET(const char *, eglQueryString, NULL, (EGLDisplay dpy, EGLint name),
	(dpy, name))

/* The GPU model follows the library's contexts, and which is current. */
EGLContext gp_fi_eglCreateContext(EGLDisplay dpy, EGLConfig config,
				  EGLContext share, const EGLint *attrs)
{
	EGLContext ctx;

	if (egl_fails(GP_FAULT_eglCreateContext))
		return EGL_NO_CONTEXT;
	ctx = epoxy_eglCreateContext(dpy, config, share, attrs);
	if (ctx != EGL_NO_CONTEXT)
		gp_model_context_created(ctx);
	return ctx;
}

EGLBoolean gp_fi_eglDestroyContext(EGLDisplay dpy, EGLContext ctx)
{
	if (egl_fails(GP_FAULT_eglDestroyContext))
		return EGL_FALSE;
	gp_model_context_destroyed(ctx);
	return epoxy_eglDestroyContext(dpy, ctx);
}

EGLBoolean gp_fi_eglMakeCurrent(EGLDisplay dpy, EGLSurface draw,
				EGLSurface read, EGLContext ctx)
{
	if (egl_fails(GP_FAULT_eglMakeCurrent))
		return EGL_FALSE;
	if (!epoxy_eglMakeCurrent(dpy, draw, read, ctx))
		return EGL_FALSE;
	gp_model_made_current(ctx);
	return EGL_TRUE;
}

EGLBoolean gp_fi_eglReleaseThread(void)
{
	if (egl_fails(GP_FAULT_eglReleaseThread))
		return EGL_FALSE;
	gp_model_made_current(NULL);
	return epoxy_eglReleaseThread();
}
EGL_RET(EGLBoolean, eglTerminate, EGL_FALSE, (EGLDisplay dpy), (dpy))

EGLint gp_fi_eglGetError(void)
{
	EGLint e;

	if (pending_egl_error) {
		e = pending_egl_error;
		pending_egl_error = EGL_SUCCESS;
		/* An injected failure replaces the real call's error. */
		epoxy_eglGetError();
		return e;
	}
	return epoxy_eglGetError();
}
