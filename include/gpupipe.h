/* SPDX-License-Identifier: MIT */
/*
 * gpupipe: keep a GPU busy by overlapping the CPU work before and after
 * each compute dispatch with the GPU work of other items.
 *
 * A pipeline runs three stages on threads of its own:
 *
 *   prep      a pool of threads without a GL context; each calls prep_cb,
 *             which writes one item's input straight into the item's
 *             persistently mapped input buffer.
 *   submit    one thread owning the pipeline's GL context; it binds each
 *             prepared item's buffers, dispatches the compute shader and
 *             puts a fence (glFenceSync + glFlush) after each batch.
 *   readback  one thread, current in a second context that shares objects
 *             with the submit context; it waits on each fence
 *             (glClientWaitSync) and calls done_cb with the item's mapped
 *             output, in push order, or with post_threads hands the item
 *             to a pool of post threads that call done_cb concurrently.
 *
 * Shader bindings (shader storage blocks, std430):
 *
 *   binding 0  the item's input, in_bytes          (written by prep_cb)
 *   binding 1  the shared read-only "weights", weights_bytes, set once
 *   binding 2  the item's output, out_bytes        (read by done_cb)
 *   binding 3  the item's GPUPIPE_PARAM_WORDS parameter words (uint)
 *
 * Threads: who may call what, and where callbacks run. "A callback" is a
 * prep_cb or done_cb of the same pipeline; from there the calls that could
 * wait for the callback itself return GPUPIPE_EDEADLK and do nothing.
 *
 *   call / callback         from                      concurrently with
 *   ----------------------  ------------------------  -------------------
 *   gpupipe_create          any thread                anything
 *   gpupipe_push(_timed)    any thread; from a         anything but
 *                           callback only with         trace_begin/end
 *                           GPUPIPE_NONBLOCK (or a
 *                           timeout of 0)
 *   gpupipe_drain           any thread but a callback  anything
 *   gpupipe_cancel          any thread, callbacks too  anything
 *   gpupipe_get_info/stats  any thread, callbacks too  anything, destroy
 *                                                      too
 *   gpupipe_trace_begin/end any thread but a callback  anything but a
 *                                                      push
 *   gpupipe_release         any thread, callbacks too  anything, destroy
 *                                                      too
 *   gpupipe_destroy         any thread but a           anything (pushes
 *                           callback, once             fail with
 *                                                      ESHUTDOWN or are
 *                                                      accepted)
 *   prep_cb                 the prep threads           other prep_cbs,
 *                                                      done_cbs
 *   done_cb                 a readback thread, or      prep_cbs; with
 *                           a post thread when         post_threads, other
 *                           post_threads > 0           done_cbs
 *
 * Ordering and ownership: every item that gpupipe_push accepts gets
 * exactly one done_cb, with a status; also when the pipeline is cancelled
 * or destroyed. done_cbs run in push order, one at a time, unless
 * post_threads asks for a pool (then in completion order, concurrently).
 * The pipeline owns the item from a successful push until its done_cb
 * returns. Memory that a callback gets through its job (input, output,
 * params) is valid only during that callback, unless done_cb keeps the
 * output (gpupipe_job_keep) until gpupipe_release. gpupipe never changes
 * the calling thread's current EGL context.
 *
 * Errors: functions return 0 (or a count) on success and a negative
 * GPUPIPE_E* code on failure; gpupipe_errmsg() then holds the details for
 * the calling thread. When a call fails, no callback runs for it. Every
 * call that takes a pipeline p returns GPUPIPE_EINVAL for a NULL p or a
 * pointer gpupipe_create never returned, and GPUPIPE_ESHUTDOWN once
 * gpupipe_destroy(p) has returned (see gpupipe_destroy).
 *
 * fork(): pipelines and their threads do not survive it. In the child of
 * a process that had created a pipeline, create, destroy, push, drain,
 * cancel, trace_begin/end and release return GPUPIPE_EBROKEN at once.
 */
#ifndef GPUPIPE_H
#define GPUPIPE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__) && __GNUC__ >= 4
#define GPUPIPE_PUBLIC __attribute__((visibility("default"))) extern
#else
#define GPUPIPE_PUBLIC extern
#endif

#if defined(__GNUC__)
#define GPUPIPE_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define GPUPIPE_PRINTF(f, a)
#endif

/*
 * The version of this header, as SQLite's SQLITE_VERSION and
 * SQLITE_VERSION_NUMBER: GPUPIPE_VERSION is "MAJOR.MINOR.PATCH",
 * GPUPIPE_VERSION_NUMBER is MAJOR * 1000000 + MINOR * 1000 + PATCH (usable
 * in #if). gpupipe_version() and gpupipe_version_number() give the
 * library's, at run time. configure takes the package version from the
 * three lines below, so this is the one place it is written.
 */
#define GPUPIPE_VERSION_MAJOR 0
#define GPUPIPE_VERSION_MINOR 1
#define GPUPIPE_VERSION_PATCH 0
#define GPUPIPE_VERSION_NUMBER                                               \
	(GPUPIPE_VERSION_MAJOR * 1000000 + GPUPIPE_VERSION_MINOR * 1000 +     \
	 GPUPIPE_VERSION_PATCH)
#define GPUPIPE_VERSION_STR_(x) #x
#define GPUPIPE_VERSION_XSTR_(x) GPUPIPE_VERSION_STR_(x)
#define GPUPIPE_VERSION                                                      \
	GPUPIPE_VERSION_XSTR_(GPUPIPE_VERSION_MAJOR) "."                      \
	GPUPIPE_VERSION_XSTR_(GPUPIPE_VERSION_MINOR) "."                      \
	GPUPIPE_VERSION_XSTR_(GPUPIPE_VERSION_PATCH)

/* Limits. */
#define GPUPIPE_MAX_DEPTH 256        /* fenced batches in flight */
#define GPUPIPE_MAX_BATCH 256        /* items under one fence */
#define GPUPIPE_MAX_DEVICES 16       /* devices of one pipeline */
#define GPUPIPE_MAX_PREP_THREADS 64
#define GPUPIPE_MAX_POST_THREADS 64
#define GPUPIPE_PARAM_WORDS 8        /* uint32 words per item, binding 3 */

/*
 * Error codes: negative, stable, each with the advice gpupipe_strerror()
 * returns. New codes may be added; treat an unknown one as a failure.
 */
#define GPUPIPE_ERRNO_MAP(X)                                                 \
	X(EINVAL, -1, "invalid argument; gpupipe_errmsg() names the field "   \
		      "and its limit")                                        \
	X(ENOMEM, -2, "out of memory")                                        \
	X(EAGAIN, -3, "the pipeline is full (its in-flight limit); retry "    \
		      "later, or push without GPUPIPE_NONBLOCK to wait")      \
	X(ENOTSUP, -4, "a required GL/EGL version or extension is missing; " \
		       "gpupipe_errmsg() names it")                           \
	X(ESHADER, -5, "the compute shader failed to compile or link, or "   \
		       "lacks its output binding; gpupipe_errmsg() has the "  \
		       "info log")                                            \
	X(EDRIVER, -6, "a GL or EGL call failed; gpupipe_errmsg() names the " \
		       "call and its error")                                  \
	X(EDEADLK, -7, "called from inside one of this pipeline's "          \
		       "callbacks, where waiting would deadlock; use "        \
		       "GPUPIPE_NONBLOCK, or call from another thread")       \
	X(ESHUTDOWN, -8, "the pipeline is being destroyed; no new work is "  \
			 "accepted")                                          \
	X(ETIMEDOUT, -9, "the wait timed out before the work finished (for " \
			 "gpupipe_push_timed: before the pipeline had room)")  \
	X(EBROKEN, -10, "the pipeline can no longer run work (GPU timeout, " \
			"device loss or driver failure); destroy it and "     \
			"create a new one")                                   \
	X(ETHREAD, -11, "a thread could not be started; gpupipe_errmsg() "  \
			"has the system error")

enum gpupipe_error {
	GPUPIPE_OK = 0,
#define GPUPIPE_ERRNO_ENUM_(name, value, text) GPUPIPE_##name = (value),
	GPUPIPE_ERRNO_MAP(GPUPIPE_ERRNO_ENUM_)
#undef GPUPIPE_ERRNO_ENUM_
};

/*
 * Completion status of one item, given to done_cb. job->error says why,
 * for each status and cause; gpupipe(7), "Completion status", has the
 * whole table.
 */
enum gpupipe_status {
	GPUPIPE_DONE = 0,      /* ran; output holds the shader's result */
	GPUPIPE_FAILED,        /* prep_cb failed, prep_cb set bad groups, a GL
				* call failed, or its device broke (timeout,
				* driver failure) before running it */
	GPUPIPE_CANCELLED,     /* never prepared: gpupipe_cancel or destroy */
	GPUPIPE_TIMEDOUT,      /* its fence did not signal in fence_timeout_ms
				* (or, once its device broke, when looked at
				* once more) */
	GPUPIPE_DEVICE_LOST    /* the GPU was reset before the item was read
				* back */
};

/* Flags for gpupipe_push and gpupipe_push_timed. */
#define GPUPIPE_NONBLOCK 0x1u /* return GPUPIPE_EAGAIN instead of waiting */

/*
 * One item's view of its slot, handed to prep_cb and then to done_cb.
 * Fields marked (prep) may be written by prep_cb; everything else is
 * read-only for callbacks. input and params are for writing only: their
 * mapping has no GL_MAP_READ_BIT, so reading them back gives undefined
 * contents (and on a discrete GPU such memory is typically write-combined
 * and uncached, so reading is also very slow); keep your own copy of any
 * value you need again.
 */
struct gpupipe_job {
	void *item;          /* the pointer given to gpupipe_push */
	uint64_t seq;        /* push order, from 0, per pipeline */
	void *input;         /* (prep) in_bytes of mapped input, write-only;
			      * NULL in done */
	size_t in_bytes;
	uint32_t *params;    /* (prep) GPUPIPE_PARAM_WORDS words, binding 3,
			      * zeroed before prep_cb, write-only; NULL in
			      * done */
	uint32_t groups[3];  /* (prep) work groups to dispatch; preset to the
			      * configuration's groups. Each must be 1 to
			      * the device's GL_MAX_COMPUTE_WORK_GROUP_COUNT:
			      * else the item is not dispatched and
			      * completes GPUPIPE_FAILED, error
			      * GPUPIPE_EINVAL, the message naming it */
	const void *output;  /* done: out_bytes of mapped output if DONE,
			      * else NULL; NULL in prep */
	size_t out_bytes;
	unsigned gl_output_buffer; /* done, DONE: the GL buffer holding the
			      * output, usable in any context that shares
			      * objects with the pipeline (share_context);
			      * 0 otherwise */
	size_t gl_output_offset; /* done, DONE: the output's offset in it */
	int status;          /* done: an enum gpupipe_status */
	int error;           /* done: 0 for DONE and CANCELLED; else why:
			      * prep_cb's nonzero return value (FAILED) or
			      * a GPUPIPE_E* code: EINVAL, EDRIVER or
			      * EBROKEN (FAILED), ETIMEDOUT (TIMEDOUT),
			      * EBROKEN (DEVICE_LOST); which for which
			      * cause: gpupipe(7), "Completion status" */
	const char *message; /* done: what happened, for every status but
			      * DONE; NULL for DONE */
	unsigned device;     /* the pipeline's device that runs the item:
			      * an index into gpupipe_info.devices */
};

/*
 * prep_cb: write job->input (and optionally job->params, job->groups);
 * do not read them back (see struct gpupipe_job). Runs on a prep thread,
 * concurrently with other prep_cbs and with done_cbs; an item waits for a
 * prep_cb to return only while every prep thread is in one. Return 0 for
 * success; any other value fails the item: it completes as
 * GPUPIPE_FAILED with that value in job->error (describe the failure with
 * gpupipe_job_set_message). A groups value out of range fails the item
 * too, with GPUPIPE_EINVAL. On its own pipeline, gpupipe_destroy,
 * gpupipe_drain, gpupipe_trace_end and a push without GPUPIPE_NONBLOCK
 * return GPUPIPE_EDEADLK and do nothing; a push with GPUPIPE_NONBLOCK
 * works.
 */
typedef int (*gpupipe_prep_fn)(struct gpupipe_job *job, void *user_data);

/*
 * done_cb: consume one completed item, exactly once per accepted item.
 * With post_threads 0 it runs on a readback thread (with several devices,
 * whichever finds the next item done), one at a time, in push order. With
 * post_threads N it runs on the N post threads, concurrently, in
 * completion order. job->output is readable only until it returns, unless
 * it keeps it (gpupipe_job_keep). It may push with GPUPIPE_NONBLOCK; the
 * calls that return GPUPIPE_EDEADLK from prep_cb do so here too.
 */
typedef void (*gpupipe_done_fn)(struct gpupipe_job *job, void *user_data);

/*
 * How readback learns that a fence has signalled.
 *
 * GPUPIPE_WAIT_SIGNALLED, the default: the submit thread polls its own
 * oldest fence (timeout 0) when it is due and, when idle, sleeps in
 * bounded slices that new work cuts short; it hands a batch to readback
 * only once its fence has signalled, and readback's glClientWaitSync then
 * returns at once. No thread spins. GPUPIPE_WAIT_BLOCK: readback blocks
 * in glClientWaitSync on the pending fence, which some drivers (NVIDIA's)
 * spin. gpupipe(7), "Waiting for fences", says what each costs.
 */
enum gpupipe_wait {
	GPUPIPE_WAIT_DEFAULT = 0,  /* GPUPIPE_WAIT_SIGNALLED */
	GPUPIPE_WAIT_BLOCK,        /* readback blocks in glClientWaitSync on
				    * the pending fence: the plainest
				    * hand-off; NVIDIA's wait may spin */
	GPUPIPE_WAIT_SIGNALLED     /* as above */
};

/* Flags for gpupipe_config.flags. */
#define GPUPIPE_FIXED_BATCH 0x1u /* batches of max_batch items instead of
				  * adapting; one closes early only when
				  * nothing more is ready and the GPU has
				  * run out of earlier batches */
#define GPUPIPE_NO_RESET_NOTIFICATION 0x2u /* create the contexts without
				  * GPU reset notification even where the
				  * driver offers it: a reset then goes
				  * unseen (see gpupipe(7), Failures) */

/* Which EGL display the pipeline opens. */
enum gpupipe_display {
	GPUPIPE_DISPLAY_DEFAULT = 0, /* Mesa's surfaceless platform if the EGL
				      * client offers it, else device 0 */
	GPUPIPE_DISPLAY_SURFACELESS, /* EGL_PLATFORM_SURFACELESS_MESA */
	GPUPIPE_DISPLAY_DEVICE,      /* device_index of eglQueryDevicesEXT */
	GPUPIPE_DISPLAY_APPLICATION, /* reported by gpupipe_get_info when
				      * the configuration gave egl_display */
	GPUPIPE_DISPLAY_DEVICES      /* several devices: devices[0..ndevices)
				      * of eglQueryDevicesEXT, or with
				      * ndevices 0 every hardware device */
};

/*
 * Pipeline configuration. Zero-initialise it and set what you need: a zero
 * field means its default.
 */
struct gpupipe_config {
	const char *shader_source; /* GLSL compute shader, NUL-terminated;
				    * copied; required */
	size_t in_bytes;           /* input bytes per item; required, > 0 */
	size_t out_bytes;          /* output bytes per item; required, > 0 */
	const void *weights;       /* shared read-only data for binding 1;
				    * copied once at create; may be NULL */
	size_t weights_bytes;      /* bytes at weights; 0 with NULL */
	uint32_t groups[3];        /* default work groups per item; 0 -> 1 */
	/*
	 * Slots and the in-flight limit. Each device holds
	 *   slots = depth * max_batch
	 * fixed at create (gpupipe_info.slots sums them). Of those, pushes
	 * may hold at once (items pushed and not yet completed, plus outputs
	 * kept and not yet released) the device's in-flight limit:
	 *   GPUPIPE_FIXED_BATCH: depth * max_batch, every slot;
	 *   adaptive batches:    min(depth * batch_target + prep_threads
	 *                            + post_threads, depth * max_batch)
	 * where batch_target starts at 1 and moves within 1..max_batch
	 * (gpupipe_stats.batch_target, in_flight_limit). The prep and post
	 * threads raise the limit, never the number of slots. A push blocks,
	 * or returns GPUPIPE_EAGAIN, when every working device is at its
	 * limit: with adaptive batches, often while most slots are free.
	 */
	unsigned depth;            /* fenced batches in flight; 0 -> 3 (triple
				    * buffering); 1..GPUPIPE_MAX_DEPTH */
	unsigned max_batch;        /* most items under one fence; 0 -> as
				    * many as fit, up to 64, in 256 MiB of
				    * slots (depth * max_batch * (in_bytes +
				    * out_bytes), at least 1);
				    * 1..GPUPIPE_MAX_BATCH */
	unsigned prep_threads;     /* 0 -> 2; 1..GPUPIPE_MAX_PREP_THREADS */
	gpupipe_prep_fn prep_cb;   /* required */
	gpupipe_done_fn done_cb;   /* required */
	void *user_data;           /* passed to both callbacks */
	enum gpupipe_display display;
	unsigned device_index;     /* with GPUPIPE_DISPLAY_DEVICE */
	unsigned fence_timeout_ms; /* a batch's fence not signalled this long
				    * after the GPU could start it (its
				    * flush, or the end of the batch before)
				    * fails its items as GPUPIPE_TIMEDOUT and
				    * breaks its device; 0 -> 10000 */
	enum gpupipe_wait wait;    /* how readback learns of completion */
	unsigned flags;            /* GPUPIPE_FIXED_BATCH,
				    * GPUPIPE_NO_RESET_NOTIFICATION */
	unsigned batch_latency_us; /* adaptive batches: latency budget per
				    * batch in flight: the median latency of
				    * an item (push to done_cb) stays within
				    * depth times this where batches of one
				    * allow it; an open batch waits at most
				    * this long for more items. 0 -> no
				    * budget: the batch doubles while that
				    * makes the pace per item faster, and an
				    * open batch waits for more while the GPU
				    * has earlier batches to run */
	unsigned post_threads;     /* 0: done_cb on the readback thread, in
				    * push order; N: on N post threads, in
				    * completion order, concurrently;
				    * 0..GPUPIPE_MAX_POST_THREADS */
	/* GL interop: run inside the application's own GL world. */
	void *egl_display;         /* an EGLDisplay the application has
				    * initialised: used instead of opening
				    * one (display, device_index ignored);
				    * never terminated by gpupipe */
	void *share_context;       /* an EGLContext of egl_display: the
				    * pipeline's contexts share objects with
				    * it, so its buffers (gl_output_buffer)
				    * can be used there */
	/* Several devices (display GPUPIPE_DISPLAY_DEVICES): each has depth
	 * batches in flight, its own submit and readback threads; the prep
	 * pool is shared; each item goes to the working device with the
	 * fewest items in flight; completions stay in push order. Some
	 * drivers slow every dispatch while two threads of one process
	 * dispatch to two GPUs (the devices then take turns at the driver);
	 * gpupipe(7), "Several devices", says when one process per GPU is
	 * the better choice. */
	unsigned ndevices;         /* 0: every hardware device */
	unsigned devices[GPUPIPE_MAX_DEVICES]; /* EGL device indexes
				    * (gpupipe_list_devices); one may repeat */
};

/* What the pipeline really runs with (defaults resolved). */
struct gpupipe_info {
	unsigned depth, max_batch, prep_threads;
	unsigned slots;              /* ndevices * depth * max_batch */
	size_t in_bytes, out_bytes, weights_bytes;
	size_t in_stride, out_stride; /* bytes between slots in the buffers */
	size_t mapped_bytes;          /* all persistently mapped memory */
	uint32_t groups[3];
	unsigned fence_timeout_ms;
	enum gpupipe_wait wait;       /* BLOCK or SIGNALLED, never DEFAULT */
	unsigned flags;
	unsigned batch_latency_us;    /* 0: no latency budget */
	unsigned post_threads;
	enum gpupipe_display display; /* SURFACELESS, DEVICE or APPLICATION */
	unsigned device_index;
	unsigned map_flags_in;       /* GL_MAP_* bits of the input mapping */
	unsigned map_flags_out;      /* GL_MAP_* bits of the output mapping */
	unsigned storage_flags_out;  /* glBufferStorage bits of the output */
	char renderer[128];          /* GL_RENDERER */
	char version[128];           /* GL_VERSION */
	char vendor[64];             /* GL_VENDOR */
	unsigned ndevices;           /* devices the pipeline runs on */
	unsigned devices[GPUPIPE_MAX_DEVICES]; /* their EGL device indexes
				      * (DEVICE, DEVICES) */
	unsigned reset_notification; /* 1: the contexts were created with
				      * GL_LOSE_CONTEXT_ON_RESET, so a GPU
				      * reset completes items as
				      * GPUPIPE_DEVICE_LOST; 0: the driver
				      * does not offer it */
};

/* Counters since create. Busy times are wall-clock time spent working. */
struct gpupipe_stats {
	uint64_t pushed;
	uint64_t completed[5];       /* by enum gpupipe_status */
	uint64_t batches;            /* fences put after dispatches */
	uint64_t in_flight;          /* accepted, not yet completed */
	uint64_t prep_busy_ns;       /* summed over prep threads, in prep_cb */
	uint64_t submit_busy_ns;     /* binding, dispatching, fencing */
	uint64_t readback_busy_ns;   /* waiting on fences */
	uint64_t done_busy_ns;       /* in done_cb */
	uint64_t prep_cpu_ns;        /* thread CPU time, all prep threads */
	uint64_t submit_cpu_ns;      /* thread CPU time, submit thread */
	uint64_t readback_cpu_ns;    /* thread CPU time, readback thread */
	uint64_t post_cpu_ns;        /* thread CPU time, all post threads */
	uint64_t fence_polls;        /* SIGNALLED: fences polled by submit */
	unsigned batch_target;       /* items per batch the first device aims
				      * at now: max_batch from create with
				      * GPUPIPE_FIXED_BATCH; with adaptive
				      * batches 1 from create (they start
				      * at one item), then 1..max_batch */
	unsigned in_flight_limit;    /* slots pushes may hold now, summed
				      * over working devices ("Slots and the
				      * in-flight limit", gpupipe_config) */
	uint64_t gpu_ns_per_item;    /* pace of the GPU stage (sampled
				      * GL_TIMESTAMPs); informative, the
				      * adaptive batch does not use it */
	uint64_t batch_cost_ns;      /* measured: fence, flush, polls */
	uint64_t close_ns;           /* total: barrier, fence, flush */
	uint64_t poll_ns;            /* total: polling fences and queries */
	unsigned devices_broken;     /* devices out of rotation (timeout,
				      * reset, driver failure) */
	int broken;                  /* 0, or once the pipeline is broken
				      * (every device) the enum
				      * gpupipe_status that broke it, the
				      * first device's to break:
				      * GPUPIPE_TIMEDOUT (a GPU timeout),
				      * GPUPIPE_DEVICE_LOST (a GPU reset) or
				      * GPUPIPE_FAILED (the driver failed) */
};

/*
 * One item's timeline, recorded between gpupipe_trace_begin and
 * gpupipe_trace_end. Times are CLOCK_MONOTONIC nanoseconds; GPU times are
 * GL_TIMESTAMP query results mapped onto that clock (0 when not measured).
 */
struct gpupipe_trace_record {
	uint64_t seq;
	uint64_t push_ns;        /* gpupipe_push accepted the item */
	uint64_t prep_start_ns;  /* prep_cb entered (0: cancelled) */
	uint64_t prep_end_ns;    /* prep_cb returned */
	uint64_t dispatch_ns;    /* submit issued glDispatchCompute */
	uint64_t fence_ns;       /* submit flushed its batch's fence */
	uint64_t gpu_start_ns;   /* GL_TIMESTAMP before the dispatch */
	uint64_t gpu_end_ns;     /* GL_TIMESTAMP after the dispatch */
	uint64_t signalled_ns;   /* readback learned the fence signalled */
	uint64_t done_start_ns;  /* done_cb entered */
	uint64_t done_end_ns;    /* done_cb returned */
	uint64_t batch;          /* which fence covered it (a counter) */
	uint32_t prep_thread;    /* index of the prep thread */
	int32_t status;          /* enum gpupipe_status */
};

/* Flags for gpupipe_trace_begin. */
#define GPUPIPE_TRACE_GPU 0x1u /* time each dispatch on the GPU with
				* GL_TIMESTAMP queries (costs a little) */

/* Pipeline handle; opaque. */
typedef struct gpupipe gpupipe;

/*
 * gpupipe_create: validate cfg, open the EGL display, create the two
 * shared contexts, compile the shader, map the buffers and start every
 * thread. Returns 0 and sets *out, or a negative code and leaves *out
 * untouched, with nothing left behind: GPUPIPE_EINVAL (a field out of
 * range; the message names it and its limit), GPUPIPE_ENOMEM,
 * GPUPIPE_ENOTSUP (missing EGL/GL feature), GPUPIPE_EDRIVER (an EGL or
 * GL call failed), GPUPIPE_ESHADER (compile/link log in
 * gpupipe_errmsg()), GPUPIPE_ETHREAD, GPUPIPE_EBROKEN (in a forked
 * child, see fork() above). Pair with gpupipe_destroy.
 */
GPUPIPE_PUBLIC int gpupipe_create(const struct gpupipe_config *cfg,
				  gpupipe **out);

/*
 * gpupipe_destroy: stop the pipeline and free everything it holds, in this
 * order: pushes fail with GPUPIPE_ESHUTDOWN (a push blocked waiting for a
 * slot wakes; one that got a slot first is accepted and completes), also
 * pushes that race destroy's return; items no prep thread has taken when
 * destroy is called complete as GPUPIPE_CANCELLED (a prep thread that
 * comes free meanwhile takes none); items being prepared, ready or in flight
 * run to completion; all threads join; GL and EGL objects are freed. Every
 * accepted item has had its done_cb when it returns, and no callback runs
 * after. Calls on p that begin before destroy returns are safe (stats and
 * info keep answering until the pipeline is freed; a trace_end returns
 * its records, GPU times 0 where no submit thread read them); any call with
 * p after destroy returned, a second destroy included, fails with
 * GPUPIPE_ESHUTDOWN and touches no freed memory (p is the name of an
 * entry, never reused for another pipeline). A second destroy while the
 * first still runs returns GPUPIPE_EINVAL and waits for nothing. A NULL p
 * is a no-op returning 0; a pointer gpupipe_create never returned gives
 * GPUPIPE_EINVAL. From a callback of p: GPUPIPE_EDEADLK, and nothing is
 * destroyed. Outputs still kept (gpupipe_job_keep) are freed; destroy
 * does not wait for their release.
 */
GPUPIPE_PUBLIC int gpupipe_destroy(gpupipe *p);

/*
 * gpupipe_push: hand one item to the pipeline. Blocks while the pipeline
 * is full: every working device holds as many items as its in-flight
 * limit allows ("Slots and the in-flight limit" in struct gpupipe_config;
 * with adaptive batches that is often fewer than its slots). With
 * GPUPIPE_NONBLOCK it returns GPUPIPE_EAGAIN instead. On 0 the pipeline
 * owns item until its done_cb returns, and done_cb runs exactly once. On
 * error done_cb never runs for it and item is still yours: GPUPIPE_EINVAL
 * (NULL p, or unknown flags), GPUPIPE_EAGAIN (full, with
 * GPUPIPE_NONBLOCK), GPUPIPE_EDEADLK (a blocking push from one of p's
 * callbacks), GPUPIPE_ESHUTDOWN (destroy has begun, or returned),
 * GPUPIPE_EBROKEN (every device is broken, or a forked child). item may
 * be NULL. It is gpupipe_push_timed(p, item, flags, -1, NULL).
 */
GPUPIPE_PUBLIC int gpupipe_push(gpupipe *p, void *item, unsigned flags);

/*
 * gpupipe_push_timed: gpupipe_push that waits at most timeout_ms for room
 * and tells the item's sequence number. timeout_ms < 0 waits for ever; 0
 * does not wait, as GPUPIPE_NONBLOCK (which in flags means no wait, whatever
 * timeout_ms). While the pipeline is full it sleeps as a blocking push
 * does (until a quarter of a device's in-flight limit is free) or until
 * the deadline, and looks for room once more then. On 0 it stores the
 * item's seq in *seq (seq may be NULL) before prep_cb or done_cb can run
 * for the item: the job->seq both get. On error *seq is untouched, done_cb
 * never runs for it and item is still yours: GPUPIPE_EINVAL (NULL p, or
 * unknown flags), GPUPIPE_EAGAIN (full, with timeout_ms 0 or
 * GPUPIPE_NONBLOCK: nothing was waited for), GPUPIPE_ETIMEDOUT (still full
 * after timeout_ms: the code of a wait that ran out, as for
 * gpupipe_drain), GPUPIPE_EDEADLK (from one of p's callbacks, unless it
 * does not wait), GPUPIPE_ESHUTDOWN (destroy has begun, also while it
 * waits, or returned), GPUPIPE_EBROKEN (every device is broken, also while
 * it waits, or a forked child). item may be NULL.
 */
GPUPIPE_PUBLIC int gpupipe_push_timed(gpupipe *p, void *item, unsigned flags,
				      long timeout_ms, uint64_t *seq);

/*
 * gpupipe_drain: wait until every item pushed before this call has
 * completed (its done_cb returned). Pushing stays open meanwhile.
 * timeout_ms < 0 waits for ever. Returns 0, GPUPIPE_ETIMEDOUT,
 * GPUPIPE_EINVAL (NULL p), GPUPIPE_EDEADLK (from a callback of p),
 * GPUPIPE_ESHUTDOWN (p destroyed) or GPUPIPE_EBROKEN (a forked child).
 */
GPUPIPE_PUBLIC int gpupipe_drain(gpupipe *p, long timeout_ms);

/*
 * gpupipe_cancel: complete every item not yet taken by a prep thread as
 * GPUPIPE_CANCELLED (their done_cb still runs, later, in push order or on
 * the post pool). Items already being prepared or later run on. The
 * pipeline stays usable. Never waits; callbacks may call it. Returns the
 * number of items cancelled, GPUPIPE_EINVAL (NULL p), GPUPIPE_ESHUTDOWN
 * (p destroyed) or GPUPIPE_EBROKEN (a forked child).
 */
GPUPIPE_PUBLIC int gpupipe_cancel(gpupipe *p);

/*
 * gpupipe_get_info: the configuration in effect. Returns 0, GPUPIPE_EINVAL
 * (NULL argument) or GPUPIPE_ESHUTDOWN (p destroyed).
 */
GPUPIPE_PUBLIC int gpupipe_get_info(const gpupipe *p,
				    struct gpupipe_info *info);

/*
 * gpupipe_get_stats: a snapshot of the counters. Returns 0, GPUPIPE_EINVAL
 * (NULL argument) or GPUPIPE_ESHUTDOWN (p destroyed).
 */
GPUPIPE_PUBLIC int gpupipe_get_stats(const gpupipe *p,
				     struct gpupipe_stats *stats);

/*
 * gpupipe_trace_begin: record the timeline of the next `capacity` items
 * pushed (struct gpupipe_trace_record). Call it between pushes, not
 * concurrently with one (the trace starts at the next push); of two
 * concurrent calls one starts the trace, the other gets GPUPIPE_EINVAL.
 * With GPUPIPE_TRACE_GPU each traced dispatch is bracketed by
 * GL_TIMESTAMP queries, read by the submit thread without stalling.
 * Returns 0, GPUPIPE_EINVAL (NULL p, capacity 0, unknown flags, or a
 * trace already running), GPUPIPE_ENOMEM, GPUPIPE_ESHUTDOWN (p destroyed)
 * or GPUPIPE_EBROKEN (a forked child).
 */
GPUPIPE_PUBLIC int gpupipe_trace_begin(gpupipe *p, size_t capacity,
				       unsigned flags);

/*
 * gpupipe_trace_end: wait until every traced item has completed, stop
 * tracing, and return its records in push order: *records (free it with
 * free()) and *count (items traced, at most capacity). Like
 * gpupipe_trace_begin, call it between pushes, not concurrently with one;
 * of two concurrent calls one gets the records, the other GPUPIPE_EINVAL.
 * It returns even after a GPU timeout: GPU times stay 0 for dispatches
 * the GPU never ran. Returns 0,
 * GPUPIPE_EINVAL (NULL argument, or no trace running), GPUPIPE_EDEADLK
 * (from a callback of p), GPUPIPE_ESHUTDOWN (p destroyed) or
 * GPUPIPE_EBROKEN (a forked child).
 */
GPUPIPE_PUBLIC int gpupipe_trace_end(gpupipe *p,
				     struct gpupipe_trace_record **records,
				     size_t *count);

/*
 * gpupipe_job_keep: from done_cb, keep this item's output (job->output)
 * readable after done_cb returns, until gpupipe_release(p, job). The slot
 * stays busy meanwhile, so a blocking push waits until one is released:
 * release from another thread, or push with GPUPIPE_NONBLOCK and release
 * on GPUPIPE_EAGAIN (examples/interop.c). Returns 0, or GPUPIPE_EINVAL
 * (outside a done_cb of a DONE item, or kept already).
 */
GPUPIPE_PUBLIC int gpupipe_job_keep(struct gpupipe_job *job);

/*
 * gpupipe_release: give back the slot of a job kept with
 * gpupipe_job_keep; job and its output are invalid afterwards. From any
 * thread, callbacks included, even before the done_cb that kept it has
 * returned. There is no need to release before gpupipe_destroy: destroy
 * frees kept outputs without waiting, so stop reading them before you
 * call it. A release while destroy runs is safe (0, or GPUPIPE_ESHUTDOWN
 * once destroy lets no call in); after destroy returned it fails with
 * GPUPIPE_ESHUTDOWN and touches nothing. Returns 0, GPUPIPE_EINVAL (NULL
 * argument, a job not of p, or a job not kept), GPUPIPE_ESHUTDOWN or
 * GPUPIPE_EBROKEN (a forked child).
 */
GPUPIPE_PUBLIC int gpupipe_release(gpupipe *p, struct gpupipe_job *job);

/*
 * gpupipe_job_set_message: from prep_cb, describe why the item failed; the
 * text (truncated to 127 bytes) reaches done_cb as job->message. A NULL
 * job or fmt does nothing.
 */
GPUPIPE_PUBLIC void gpupipe_job_set_message(struct gpupipe_job *job,
					    const char *fmt, ...)
	GPUPIPE_PRINTF(2, 3);

/* One EGL device of this host (gpupipe_list_devices). Strings the driver
 * does not tell are empty. */
struct gpupipe_device {
	unsigned index;          /* device_index for GPUPIPE_DISPLAY_DEVICE */
	unsigned software;       /* 1: a software renderer (Mesa's llvmpipe:
				  * EGL_MESA_device_software) */
	int cuda_device;         /* CUDA device ordinal (EGL_NV_device_cuda),
				  * or -1 */
	char drm_node[64];       /* DRM render node, else primary node */
	char driver[64];         /* EGL_DRIVER_NAME_EXT */
	char renderer[128];      /* EGL_RENDERER_EXT */
};

/*
 * gpupipe_list_devices: the host's EGL devices, in eglQueryDevicesEXT
 * order (the order device_index counts in). Fills devices[0..max) and sets
 * *count to how many there are, which may exceed max; devices may be NULL
 * when max is 0. Opens no display. Returns 0, GPUPIPE_EINVAL (count NULL,
 * or devices NULL with max > 0), GPUPIPE_ENOTSUP (the EGL client cannot
 * list devices) or GPUPIPE_EDRIVER.
 */
GPUPIPE_PUBLIC int gpupipe_list_devices(struct gpupipe_device *devices,
					unsigned max, unsigned *count);

/*
 * gpupipe_load_shader: read a whole file into a NUL-terminated string,
 * returned in *source; free it with free(). Returns 0, GPUPIPE_EINVAL
 * (NULL argument; the file cannot be read, with errno's text in
 * gpupipe_errmsg()) or GPUPIPE_ENOMEM.
 */
GPUPIPE_PUBLIC int gpupipe_load_shader(const char *path, char **source);

/*
 * gpupipe_version: the library's version, "MAJOR.MINOR.PATCH": the
 * GPUPIPE_VERSION it was built with, which may differ from the one a
 * program was compiled with. A static string, never NULL; from any thread
 * at any time; never fails.
 */
GPUPIPE_PUBLIC const char *gpupipe_version(void);

/*
 * gpupipe_version_number: the library's GPUPIPE_VERSION_NUMBER, MAJOR *
 * 1000000 + MINOR * 1000 + PATCH: the number gpupipe_version() spells.
 * From any thread at any time; never fails.
 */
GPUPIPE_PUBLIC int gpupipe_version_number(void);

/* gpupipe_strerror: advice for a code; never NULL ("unknown error"). */
GPUPIPE_PUBLIC const char *gpupipe_strerror(int code);

/* gpupipe_error_name: "GPUPIPE_EINVAL" etc.; never NULL. */
GPUPIPE_PUBLIC const char *gpupipe_error_name(int code);

/* gpupipe_status_name: "DONE", "FAILED", ...; never NULL. */
GPUPIPE_PUBLIC const char *gpupipe_status_name(int status);

/*
 * gpupipe_errmsg: details of the last failed gpupipe call on this thread
 * (field and limit, EGL/GL error, shader info log); "" when none. Every
 * call that fails sets it. A call that succeeds does not clear it, except
 * gpupipe_create, gpupipe_list_devices and gpupipe_load_shader, which
 * clear it as they begin: read it only right after a call returned an
 * error. Valid until the next gpupipe call on this thread.
 */
GPUPIPE_PUBLIC const char *gpupipe_errmsg(void);

#ifdef __cplusplus
}
#endif

#endif /* GPUPIPE_H */
