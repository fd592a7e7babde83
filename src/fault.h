/* SPDX-License-Identifier: MIT */
/*
 * Fault injection, compiled in only with ./configure
 * --enable-fault-injection (GPUPIPE_FAULT_INJECTION). Every allocation,
 * thread creation, GL and EGL call of the library goes through a wrapper
 * in fault.c (GL and EGL by the redirections in gl.h; the rest as
 * gp_malloc, gp_thread_create... in internal.h). Each wrapper is a point:
 * a test arms a point to fail its nth call, once or from then on, and the
 * wrapper then fails the way the real call can fail:
 *
 *   allocations          return NULL
 *   pthread_create       returns EAGAIN
 *   gl* returning a name, sync or pointer: return 0 / NULL
 *   glClientWaitSync     returns GL_WAIT_FAILED
 *   glUnmapBuffer        returns GL_FALSE
 *   other gl*            are skipped
 *   egl*                 return EGL_FALSE / EGL_NO_CONTEXT / EGL_NO_DISPLAY
 *                        / NULL and are skipped
 *
 * and a failed GL call leaves GL_OUT_OF_MEMORY for the next glGetError of
 * that thread, a failed EGL call EGL_BAD_ALLOC for eglGetError. Points
 * that are not calls:
 *
 *   fence_timeout        readback treats the fence it is about to wait on
 *                        as timed out
 *   glGetGraphicsResetStatus  a simulated GPU reset, as by
 *                        gpupipe_fault_gpu_reset below: each context
 *                        reports GL_UNKNOWN_CONTEXT_RESET once, glGetError
 *                        GL_CONTEXT_LOST, and glClientWaitSync returns
 *                        GL_ALREADY_SIGNALED, as on a lost context
 *
 * glGetError and eglGetError are wrapped (to report injected errors) but
 * never fail. The fence hand-off check: every fence the submit thread
 * hands to readback must have been followed by a glFlush on that thread;
 * a hand-off that was not is counted (gpupipe_fault_unflushed).
 *
 * This header declares the test-facing functions; the library exports them
 * only in fault-injection builds.
 */
#ifndef GPUPIPE_FAULT_H
#define GPUPIPE_FAULT_H

#include <stdbool.h>
#include <stdint.h>

#include "gpupipe.h"

/* X(name): the GL and EGL calls that are points, named as the wrapped
 * functions (gl.h redirects each, and glGetError and eglGetError, which
 * report injected failures but are not points). */
#define GP_FAULT_GL_CALLS(X) \
	X(glAttachShader) X(glBindBuffer) X(glBindBuffersRange) \
	X(glBufferStorage) X(glClientWaitSync) X(glCompileShader) \
	X(glCreateProgram) X(glCreateShader) X(glDeleteBuffers) \
	X(glDeleteProgram) X(glDeleteQueries) X(glDeleteShader) \
	X(glDeleteSync) X(glDetachShader) X(glDispatchCompute) \
	X(glFenceSync) X(glFinish) X(glFlush) X(glGenBuffers) \
	X(glGenQueries) X(glGetGraphicsResetStatus) X(glGetInteger64v) \
	X(glGetIntegeri_v) X(glGetIntegerv) X(glGetProgramInfoLog) \
	X(glGetProgramInterfaceiv) X(glGetProgramResourceiv) \
	X(glGetProgramiv) X(glGetQueryObjectui64v) X(glGetQueryObjectuiv) \
	X(glGetQueryiv) X(glGetShaderInfoLog) X(glGetShaderiv) \
	X(glGetString) X(glLinkProgram) X(glMapBufferRange) \
	X(glMemoryBarrier) X(glQueryCounter) X(glShaderSource) \
	X(glUnmapBuffer) X(glUseProgram)
#define GP_FAULT_EGL_CALLS(X) \
	X(eglBindAPI) X(eglCreateContext) X(eglDestroyContext) \
	X(eglGetPlatformDisplayEXT) X(eglInitialize) X(eglMakeCurrent) \
	X(eglQueryAPI) X(eglQueryDeviceAttribEXT) \
	X(eglQueryDeviceStringEXT) X(eglQueryDevicesEXT) X(eglQueryString) \
	X(eglReleaseThread) X(eglTerminate)

/* X(name): every point, in order. */
#define GP_FAULT_POINTS(X) \
	X(malloc) X(calloc) X(realloc) X(strdup) X(pthread_create) \
	X(fence_timeout) \
	GP_FAULT_GL_CALLS(X) GP_FAULT_EGL_CALLS(X)

enum gp_fault_point {
#define GP_FAULT_ENUM(name) GP_FAULT_##name,
	GP_FAULT_POINTS(GP_FAULT_ENUM)
#undef GP_FAULT_ENUM
	GP_FAULT_COUNT
};

/*
 * Delay points: places between two steps of the library where a race
 * needs a window. A test sets a delay on one; each thread that passes it
 * sleeps that long, so an interleaving that happens once in a million runs
 * happens every time. Each is named for where it stands.
 *
 *   push_seq        gpupipe_push: the slot marked incomplete, its seq not
 *                   yet taken
 *   release_keep    gpupipe_release: the job found not yet returned from
 *                   done_cb (or not kept), before looking again
 *   submit_start    a submit thread: its start reported (create may
 *                   return), its loop not yet begun
 *   trace_begin     gpupipe_trace_begin: records allocated, not yet
 *                   checked against a running trace and published
 *   stats_counts    gpupipe_get_stats: between reading the completions
 *                   and the pushes
 *   push_woken      a push that found no room: after its sleep (or its
 *                   decision not to sleep), before looking again
 *   order_deliver   the readback thread delivering in push order: a run
 *                   of items taken out of the order array and order_lock
 *                   dropped, their done_cbs not yet called (other
 *                   readback threads store items meanwhile)
 *   order_stored    a readback thread leaving in-order completion, its
 *                   item stored in the order array (and delivered, by
 *                   itself or by the thread delivering): once per item
 *                   a readback thread hands over, after order_lock
 */
#define GP_DELAY_POINTS(X) \
	X(push_seq) X(release_keep) X(submit_start) X(trace_begin) \
	X(stats_counts) X(push_woken) X(order_deliver) X(order_stored)

enum gp_delay_point {
#define GP_DELAY_ENUM(name) GP_DELAY_##name,
	GP_DELAY_POINTS(GP_DELAY_ENUM)
#undef GP_DELAY_ENUM
	GP_DELAY_COUNT
};

/* ---- for tests -------------------------------------------------------- */

/* How many points there are, and the name of each (NULL past the end). */
GPUPIPE_PUBLIC unsigned gpupipe_fault_count(void);
GPUPIPE_PUBLIC const char *gpupipe_fault_name(unsigned point);
/* Disarm, end a simulated reset, zero every counter. */
GPUPIPE_PUBLIC void gpupipe_fault_reset(void);
/* Fail the nth call of point (1: the next), counted from this call; with
 * persist, every call from the nth on. */
GPUPIPE_PUBLIC void gpupipe_fault_arm(unsigned point, unsigned long nth,
				      bool persist);
/* Calls of point since the last reset. */
GPUPIPE_PUBLIC unsigned long gpupipe_fault_calls(unsigned point);
/* Calls failed on purpose since the last reset. */
GPUPIPE_PUBLIC unsigned long gpupipe_fault_fired(void);
/* Fences handed to readback without a glFlush after them, since the last
 * reset. */
GPUPIPE_PUBLIC unsigned long gpupipe_fault_unflushed(void);

/* Sleep us microseconds at the named delay point from now on (0: never);
 * returns -1 for an unknown name. gpupipe_fault_reset clears every delay. */
GPUPIPE_PUBLIC int gpupipe_fault_delay(const char *point, unsigned us);
/* Threads that have passed the named delay point since the last reset. */
GPUPIPE_PUBLIC unsigned long gpupipe_fault_delayed(const char *point);

/*
 * The GPU model (gpumodel.c): fences that stay pending for a modelled GPU
 * time, a GPU that hangs, and resets reported once per context. Off until
 * gpupipe_fault_gpu; gpupipe_fault_reset turns it off and ends a reset.
 *
 * gpupipe_fault_gpu: from now on each batch (the work before a fence on a
 * submit context) takes batch_us plus item_us per dispatch, after the
 * batch before it; its fence signals then. Before that glClientWaitSync
 * returns GL_TIMEOUT_EXPIRED, or sleeps up to its timeout for it; glFinish
 * and GL_QUERY_RESULT wait for it.
 * gpupipe_fault_gpu_hang: work made from now on never finishes.
 * gpupipe_fault_gpu_reset: a GPU reset; every context of the library is
 * lost: its waits return at once as if signalled, its GL calls leave
 * GL_CONTEXT_LOST, and it reports GL_UNKNOWN_CONTEXT_RESET on its first
 * glGetGraphicsResetStatus since, GL_NO_ERROR after. Ends a hang.
 * (Arming the point glGetGraphicsResetStatus resets it the same way.)
 * gpupipe_fault_gpu_pending: zero-timeout waits the model found pending.
 */
/*
 * gpupipe_fault_prep_lazy: whether pipelines created from now on may make
 * their prep queue lazy (the baton, src/queue.h): 1 yes and 0 no,
 * whatever the cores; -1 (the default, and after gpupipe_fault_reset) as
 * the cores say (gp_prep_init_wakeups). So that tests on a small machine
 * reach the lazy path in the pipeline too.
 */
GPUPIPE_PUBLIC void gpupipe_fault_prep_lazy(int mode);

GPUPIPE_PUBLIC void gpupipe_fault_gpu(unsigned batch_us, unsigned item_us);
GPUPIPE_PUBLIC void gpupipe_fault_gpu_hang(void);
GPUPIPE_PUBLIC void gpupipe_fault_gpu_reset(void);
GPUPIPE_PUBLIC unsigned long gpupipe_fault_gpu_pending(void);

/* ---- for the library -------------------------------------------------- */

/* The GPU model's side of the GL and EGL wrappers (gpumodel.c). */
#define GP_MODEL_HIDDEN __attribute__((visibility("hidden")))
GP_MODEL_HIDDEN void gp_model_clear(void);
GP_MODEL_HIDDEN void gp_model_context_created(const void *ctx);
GP_MODEL_HIDDEN void gp_model_context_destroyed(const void *ctx);
GP_MODEL_HIDDEN void gp_model_made_current(const void *ctx);
GP_MODEL_HIDDEN bool gp_model_lost(void);
/* true if the model answers for this context: *status is its report */
GP_MODEL_HIDDEN bool gp_model_reset_status(unsigned *status);
GP_MODEL_HIDDEN void gp_model_dispatched(void);
GP_MODEL_HIDDEN void gp_model_fence_made(const void *fence);
GP_MODEL_HIDDEN void gp_model_fence_deleted(const void *fence);
/* true once the fence has signalled, waiting at most timeout_ns */
GP_MODEL_HIDDEN bool gp_model_fence_wait(const void *fence,
					 uint64_t timeout_ns);
GP_MODEL_HIDDEN void gp_model_finish(void);
GP_MODEL_HIDDEN void gp_model_query_counter(unsigned id);
/* true once the query's result is written (wait: until then) */
GP_MODEL_HIDDEN bool gp_model_query_ready(unsigned id, bool wait);

/* gpupipe_fault_prep_lazy's mode: -1, 0 or 1. */
__attribute__((visibility("hidden"))) int gp_fault_prep_lazy(void);

/* Count a call of point; true if it is to fail. */
__attribute__((visibility("hidden"))) bool gp_fault_hit(
	enum gp_fault_point point);

/* Sleep at point if a test set a delay there (GP_DELAY in internal.h). */
__attribute__((visibility("hidden"))) void gp_fault_pause(
	enum gp_delay_point point);

#endif /* GPUPIPE_FAULT_H */
