/* SPDX-License-Identifier: MIT */
/*
 * Internal declarations: struct gpupipe and the gp_* functions the stage
 * files share. Nothing here is installed. Files and what they own:
 *
 *   pipe.c      create/destroy, config checks, push/drain/cancel
 *   slots.c     the slot pool and each slot's state machine
 *   queue.c     the only caller of cds_wfcq_*, and all sleep/wake logic
 *   prep.c      the prep thread pool
 *   submit.c    the submit thread's loop: dispatch, close batches
 *   gldev.c     a device's GL objects: buffers, program, queries
 *   fences.c    every fence: create, flush, hand off, poll, delete;
 *               the batches that carry them to readback
 *   batchsize.c the adaptive batch size
 *   readback.c  the readback thread: fence wait, hand-off to completion
 *   complete.c  completion itself (done_cb, keep/release): in push order
 *               across the readback threads with no lock held across
 *               done_cb, or on the post pool (post_threads > 0);
 *               complete.h
 *   egl.c       displays and the two shared contexts
 *   shader.c    compile and link, with the info log
 *   error.c     error table, strerror, thread-local errmsg
 *   gl.h        the only way to GL and EGL (libepoxy)
 *   trace.c     per-item timelines: the records and their collection
 *   threads.c   the start handshake, the fork guard, "in a callback of p"
 *   dev.c       device health: a device breaks once, the last takes the
 *               pipeline with it
 *   handle.c    what an application's gpupipe pointer names
 *   fault.c     fault injection, gpumodel.c its model of a GPU
 *               (--enable-fault-injection only)
 *
 * pipe.c (the public calls) calls into the stages; the stages call down
 * into complete.c (readback), threads.c, dev.c, queue.c, slots.c,
 * trace.c, never back into pipe.c: no two files call each other in a
 * circle.
 */
#ifndef GPUPIPE_INTERNAL_H
#define GPUPIPE_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <urcu/wfcqueue.h>

#include "gpupipe.h"

#define GP_HIDDEN __attribute__((visibility("hidden")))
#define GP_MSG_BYTES 128

#define gp_container_of(ptr, type, member) \
	((type *)((char *)(ptr) - offsetof(type, member)))

#include "queue.h"

/* n zeroed objects of size bytes, the first at a line (GP_LINE, queue.h):
 * for structures with GP_OWN_LINE members. */
static inline void *gp_lines_alloc(size_t n, size_t size)
{
	size_t bytes;
	void *m;

	if (size && n > (SIZE_MAX - GP_LINE) / size)
		return NULL;
	bytes = (n * size + GP_LINE - 1) / GP_LINE * GP_LINE;
	if (!bytes)
		bytes = GP_LINE;
	m = aligned_alloc(GP_LINE, bytes);
	if (m)
		memset(m, 0, bytes);
	return m;
}

/* ---- fault.c: the fault-injection layer --------------------------------- */

/*
 * Allocation and thread creation go through these names, GL and EGL calls
 * through gl.h: plain calls in a normal build, injection points in a
 * build configured with --enable-fault-injection (fault.h says more).
 */
#ifdef GPUPIPE_FAULT_INJECTION
#include "fault.h"
GP_HIDDEN void *gp_malloc(size_t bytes);
GP_HIDDEN void *gp_calloc(size_t n, size_t size);
GP_HIDDEN void *gp_calloc_lines(size_t n, size_t size);
GP_HIDDEN void *gp_realloc(void *ptr, size_t bytes);
GP_HIDDEN char *gp_strdup(const char *s);
GP_HIDDEN int gp_thread_create(pthread_t *thread, const pthread_attr_t *attr,
			       void *(*fn)(void *), void *arg);
/* Readback, before waiting on a fence: treat it as timed out. */
#define gp_fault_timeout() gp_fault_hit(GP_FAULT_fence_timeout)
/* Submit, handing fence to readback: count it if no glFlush followed it
 * on this thread. */
GP_HIDDEN void gp_fault_handoff(const void *fence);
/* A window a test can widen (fault.h lists the delay points). */
#define GP_DELAY(name) gp_fault_pause(GP_DELAY_##name)
#else
#define gp_malloc malloc
#define gp_calloc calloc
#define gp_calloc_lines gp_lines_alloc
#define gp_realloc realloc
#define gp_strdup strdup
#define gp_thread_create pthread_create
#define gp_fault_timeout() false
#define gp_fault_handoff(fence) ((void)(fence))
#define GP_DELAY(name) ((void)0)
#endif

struct gpupipe;
struct gp_dev;
struct gp_fences;

/* ---- error.c ---------------------------------------------------------- */

/* Set this thread's gpupipe_errmsg() and return code. */
GP_HIDDEN int gp_error(int code, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
GP_HIDDEN void gp_error_clear(void);
/* GPUPIPE_EBROKEN, with a message naming call, in a forked child of a
 * process that created a pipeline; 0 otherwise (threads.c). */
GP_HIDDEN int gp_check_fork(const char *call);
/* Arm the fork guard, once per process (threads.c). */
GP_HIDDEN void gp_fork_guard_init(void);

/* ---- handle.c: what an application's gpupipe pointer names ------------- */

/* Give p a handle (its entry's current generation). */
GP_HIDDEN int gp_handle_new(struct gpupipe *p, gpupipe **out);
/* Enter a call on h: *p is the pipeline until gp_handle_exit. Fails,
 * naming fn, with GPUPIPE_EINVAL for NULL or a non-handle and with
 * GPUPIPE_ESHUTDOWN for a destroyed pipeline. */
GP_HIDDEN int gp_handle_enter(const gpupipe *h, const char *fn,
			      struct gpupipe **p);
GP_HIDDEN void gp_handle_exit(const gpupipe *h);
/* Destroy's steps: claim h (a second destroy fails), close it to new
 * calls and wait for those inside, then free the entry for reuse. */
GP_HIDDEN int gp_handle_begin_destroy(const gpupipe *h);
GP_HIDDEN void gp_handle_close(const gpupipe *h);
GP_HIDDEN void gp_handle_free(const gpupipe *h);
/* The body of a public call on h: `expr`, with p the pipeline. */
#define GP_CALL(h, fn, p, expr)                                          \
	do {                                                             \
		struct gpupipe *p;                                       \
		int gp_call_ret_ = gp_handle_enter((h), (fn), &p);       \
		if (gp_call_ret_)                                        \
			return gp_call_ret_;                             \
		gp_call_ret_ = (expr);                                   \
		gp_handle_exit(h);                                       \
		return gp_call_ret_;                                     \
	} while (0)

/* ---- dev.c: device health --------------------------------------------- */

/* Mark device d broken (the first cause wins): status is
 * GPUPIPE_TIMEDOUT, GPUPIPE_DEVICE_LOST or GPUPIPE_FAILED. No more
 * dispatches on it, and no more items for it; items on it not yet
 * dispatched complete with gp_broken_status (dev.c). Once every device
 * is broken, so is the pipeline: pushes get GPUPIPE_EBROKEN. */
GP_HIDDEN void gp_break(struct gp_dev *d, int status);
/* For an item the broken device will not run: its status, and what to
 * say about the cause. */
GP_HIDDEN int gp_broken_status(const struct gp_dev *d);
GP_HIDDEN const char *gp_broken_reason(int broken);

/* ---- time ------------------------------------------------------------- */

/* CLOCK_MONOTONIC in ns: every time of the library is on this clock.
 * Inline, so that no module depends on another for it. */
static inline uint64_t gp_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* ---- slots.c ---------------------------------------------------------- */

enum gp_slot_state {
	GP_SLOT_FREE = 0,
	GP_SLOT_QUEUED,    /* pushed, waiting for a prep thread */
	GP_SLOT_PREP,      /* in prep_cb */
	GP_SLOT_READY,     /* prepared (or failed/cancelled), for submit */
	GP_SLOT_IN_FLIGHT, /* handed to readback, fence pending */
	GP_SLOT_DONE,      /* fence seen, waiting for its turn in done_cb */
};

/* Latency histogram: 8 buckets per octave from 1 us (12 % wide at most),
 * bucket 0 below 1 us, the last one open-ended. */
#define GP_LAT_SUB 8
#define GP_LAT_BUCKETS (1 + GP_LAT_SUB * 26)

static inline unsigned gp_lat_bucket(uint64_t ns)
{
	unsigned e, b;

	if (ns < 1024)
		return 0;
	e = 63u - (unsigned)__builtin_clzll(ns);
	b = 1 + (e - 10) * GP_LAT_SUB +
	    (unsigned)((ns >> (e - 3)) & (GP_LAT_SUB - 1));
	return b < GP_LAT_BUCKETS ? b : GP_LAT_BUCKETS - 1;
}

/* The lowest latency bucket b holds. */
static inline uint64_t gp_lat_floor(unsigned b)
{
	unsigned e;

	if (!b)
		return 0;
	e = (b - 1) / GP_LAT_SUB + 10;
	return ((uint64_t)GP_LAT_SUB + (b - 1) % GP_LAT_SUB) << (e - 3);
}

/* Each on its own lines: the stages hand slots to one another, and a
 * slot's neighbours are at other stages. */
struct gp_slot {
	GP_OWN_LINE struct gpupipe_job job; /* what callbacks see */
	struct cds_wfcq_node node;
	unsigned index;         /* in p->slots */
	struct gp_dev *dev;     /* the device whose buffers it lives in */
	unsigned dev_index;     /* in that device's buffers and queries */
	_Atomic int state;      /* enum gp_slot_state */
	/* Mapped memory of this slot, fixed at create. */
	void *map_in;
	const void *map_out;
	uint32_t *map_params;
	uint64_t enter_ns;      /* when gpupipe_push was called: latency */
	/* seq while the item is incomplete (0 while a push assigns it),
	 * UINT64_MAX once its done_cb returned: what drain looks at. */
	_Atomic uint64_t pending_seq;
	_Atomic int keep;       /* gpupipe_job_keep/release state
				 * (complete.c) */
	/* GL_TIMESTAMP queries of this slot's last traced dispatch, read by
	 * submit when the slot is next dispatched or the trace ends. */
	bool query_pending;
	uint64_t query_seq;
	char msg[GP_MSG_BYTES];
};

GP_HIDDEN int gp_slots_init(struct gpupipe *p);
GP_HIDDEN void gp_slots_fini(struct gpupipe *p);
/* Take a free slot, of the working device with the fewest items in
 * flight, sleeping for room until the absolute CLOCK_MONOTONIC deadline_ns
 * (0: none) unless nonblock: GPUPIPE_EAGAIN (nonblock),
 * GPUPIPE_ETIMEDOUT (no room at the deadline), GPUPIPE_ESHUTDOWN,
 * GPUPIPE_EBROKEN (no device works), or 0. */
GP_HIDDEN int gp_slot_acquire(struct gpupipe *p, bool nonblock,
			      uint64_t deadline_ns, struct gp_slot **out);
GP_HIDDEN void gp_slot_release(struct gpupipe *p, struct gp_slot *s);
/* done_cb returned keeping s's output: s stays in use until released. */
GP_HIDDEN void gp_slot_kept(struct gpupipe *p, struct gp_slot *s);
/* gpupipe_release of a kept slot whose done_cb had returned. */
GP_HIDDEN void gp_kept_released(struct gpupipe *p, struct gp_slot *s);
/* How many of d's slots pushes may hold now (adaptive batches move it). */
GP_HIDDEN void gp_slots_set_limit(struct gp_dev *d, unsigned limit);
/* The arrows of slots.c's diagram, each on the thread that takes it
 * (DONE -> FREE is gp_slot_release): */
/* FREE -> QUEUED: a push; the item's status starts DONE. Onto prep_q. */
GP_HIDDEN void gp_slot_queued(struct gpupipe *p, struct gp_slot *s);
/* QUEUED -> PREP: a prep thread took it. */
GP_HIDDEN void gp_slot_prepping(struct gp_slot *s);
/* PREP -> READY: prep_cb returned. Onto its device's ready_q. */
GP_HIDDEN void gp_slot_ready(struct gp_slot *s);
/* QUEUED -> READY, CANCELLED and never prepared. Onto ready_q. */
GP_HIDDEN void gp_slot_cancelled(struct gp_slot *s);
/* READY -> IN_FLIGHT (submit): into the batch readback will walk. */
GP_HIDDEN void gp_slot_in_flight(struct gp_slot *s, struct gp_list *batch);
/* IN_FLIGHT -> DONE (readback): its batch's wait is over. */
GP_HIDDEN void gp_slot_done(struct gp_slot *s);
/* The item failed: status, error and message, unless it had failed
 * already (the first failure is the one done_cb sees). */
GP_HIDDEN void gp_slot_fail(struct gp_slot *s, int status, int error,
			    const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static inline struct gp_slot *gp_slot_of_node(struct cds_wfcq_node *n)
{
	return n ? gp_container_of(n, struct gp_slot, node) : NULL;
}

/* ---- trace.c ---------------------------------------------------------- */

struct gp_trace {
	struct gpupipe_trace_record *_Atomic rec; /* NULL: not tracing */
	uint64_t first_seq;
	size_t capacity;
	bool gpu;                  /* GPUPIPE_TRACE_GPU */
	/* trace_end asks each submit thread to read its pending queries;
	 * each counts one here when it has. */
	/* Each device's gp_dev.trace_collected and .collector_gone are
	 * under lock too. */
	pthread_mutex_t lock;
	pthread_cond_t cond;
};

/* The record of item seq, or NULL when it is not traced. */
static inline struct gpupipe_trace_record *gp_trace_rec(struct gp_trace *t,
							uint64_t seq)
{
	struct gpupipe_trace_record *rec =
		atomic_load_explicit(&t->rec, memory_order_acquire);

	if (!rec || seq - t->first_seq >= t->capacity)
		return NULL;
	return &rec[seq - t->first_seq];
}

GP_HIDDEN void gp_trace_init(struct gp_trace *t);
GP_HIDDEN void gp_trace_fini(struct gp_trace *t);
/* Submit thread: a collect request was served. */
GP_HIDDEN void gp_trace_collected(struct gp_trace *t, struct gp_dev *d);
GP_HIDDEN void gp_trace_collector_gone(struct gp_trace *t, struct gp_dev *d);
/* gpupipe_trace_begin's work; gpupipe_trace_end's checks, then, once the
 * caller drained, its collection and hand-over of the records. */
GP_HIDDEN int gp_trace_begin(struct gpupipe *p, size_t capacity,
			     unsigned flags);
GP_HIDDEN int gp_trace_check_end(struct gpupipe *p,
				 struct gpupipe_trace_record **records,
				 size_t *count);
GP_HIDDEN int gp_trace_take(struct gpupipe *p,
			    struct gpupipe_trace_record **records,
			    size_t *count);

/* ---- egl.c ------------------------------------------------------------ */

struct gp_egl {
	void *display;         /* EGLDisplay */
	void *submit_ctx;      /* EGLContext, current on the submit thread */
	void *readback_ctx;    /* EGLContext sharing with submit_ctx */
	bool owns_display;     /* we initialised it: terminate on last use */
	bool borrowed;         /* the application's display: not counted */
	bool shared_with_app;  /* contexts share objects with the app's */
	bool reset_notification; /* contexts report GPU resets */
	enum gpupipe_display kind;
	unsigned device_index;
};

/* Open the display (or borrow app_display) and create both contexts, the
 * submit one sharing objects with share_ctx when given, with reset
 * notification if want_reset and the driver offers it. */
GP_HIDDEN int gp_egl_open(struct gp_egl *e, enum gpupipe_display kind,
			  unsigned device_index, void *app_display,
			  void *share_ctx, bool want_reset);
GP_HIDDEN void gp_egl_close(struct gp_egl *e);
GP_HIDDEN int gp_egl_make_current(struct gp_egl *e, void *ctx);
GP_HIDDEN void gp_egl_release_current(struct gp_egl *e);

/* ---- shader.c --------------------------------------------------------- */

/* Compile and link on the current context; *program on 0. Checks that the
 * output binding exists and fits out_bytes. */
GP_HIDDEN int gp_shader_build(const char *source, size_t out_bytes,
			      unsigned *program);

/* ---- threads.c, and the stages' entry points (prep, submit, readback) -- */

/* How a thread tells create that it runs, or why it could not start. */
struct gp_start {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int pending;           /* threads not yet reported */
	int result;            /* first failure, or 0 */
	char msg[1024];        /* that failure's errmsg */
};

/* threads.c: a new thread reports that it runs (0) or why it cannot;
 * gp_thread_start starts fn(arg) with every signal blocked and waits for
 * that report. *started: the caller must join the thread, even on
 * failure. */
GP_HIDDEN void gp_start_report(struct gpupipe *p, int result);
/* A new thread: its name "gp-ROLE" or, numbered, "gp-ROLEn" (what
 * debuggers and top show), and its CPU clock for the stats. */
GP_HIDDEN void gp_thread_setup(const char *role, unsigned n, bool numbered,
			       clockid_t *cpu_clock);
/* This thread's timed waits end on time (timer slack 1 ns). */
GP_HIDDEN void gp_thread_timely(void);
GP_HIDDEN int gp_thread_start(struct gpupipe *p, pthread_t *thread,
			      bool *started, void *(*fn)(void *), void *arg,
			      const char *what);

/* Before the prep threads start: whether prep_q may be lazy. */
GP_HIDDEN void gp_prep_init_wakeups(struct gpupipe *p);
GP_HIDDEN void *gp_prep_main(void *arg);
GP_HIDDEN int gp_prep_cancel_queued(struct gpupipe *p);
GP_HIDDEN void *gp_submit_main(void *arg);
GP_HIDDEN void *gp_readback_main(void *arg);

/* Thread-local: the pipeline whose callback this thread is running
 * (threads.c). */
GP_HIDDEN extern _Thread_local const struct gpupipe *gp_in_callback;

/* Each on its own line: it writes busy_ns at each item. */
struct gp_prep_thread {
	GP_OWN_LINE struct gpupipe *p;
	unsigned index;
	pthread_t thread;
	bool started;
	_Atomic uint64_t busy_ns;
	clockid_t cpu_clock;
	uint64_t cb_avg_ns; /* prep_cb's time, moving average (own use) */
	bool lazy_vote;     /* what this thread last set prep_q's lazy to */
};

/* ---- the pipeline ----------------------------------------------------- */

/*
 * One device: its EGL display and two contexts, its GL objects, its
 * submit and readback threads and the queues they serve, and its share of
 * the slots. A pipeline has one or several.
 */
struct gp_dev {
	struct gpupipe *p;
	unsigned n;                  /* in p->devs */
	unsigned egl_index;          /* EGL device; with the default display,
				      * what gp_egl_open chose */
	/* Its slots: p->slots[first .. first + nslots). */
	unsigned first, nslots;
	_Atomic int broken;          /* gp_break: 0 or the status */
	_Atomic bool lost;           /* submit saw a GPU reset (SIGNALLED) */
	/* fences.c's: its flights ring, spent fences and batches. */
	struct gp_fences *fences;
	_Atomic int collect_req;     /* trace_end: read the pending queries */
	bool reset_checks;           /* ask glGetGraphicsResetStatus */

	/* EGL/GL, owned by the submit thread once it runs. */
	struct gp_egl egl;
	unsigned *batch_queries;      /* submit: a GL_TIMESTAMP per flight */
	unsigned *queries;           /* submit: 2 GL_TIMESTAMP queries/slot */
	int64_t gl_to_mono_ns;       /* CLOCK_MONOTONIC - GL_TIMESTAMP */
	unsigned program;
	unsigned barrier_bits;       /* glMemoryBarrier before each fence */
	uint32_t max_groups[3];      /* GL_MAX_COMPUTE_WORK_GROUP_COUNT */
	unsigned buf_in, buf_out, buf_params, buf_weights;
	size_t in_stride, out_stride, params_stride;
	void *map_in_base;
	void *map_out_base;
	void *map_params_base;
	/* What gldev.c learnt of this device, for gpupipe_get_info (which
	 * reports device 0's, the mapped bytes of all). */
	struct {
		char renderer[128], version[128], vendor[64];
		unsigned map_flags_in, map_flags_out, storage_flags_out;
		size_t mapped_bytes;
		bool reset_notification;
	} gl;

	/* Under p->trace.lock: this device's submit thread read the queries
	 * trace_end asked for; it ended (destroy), and will read no more. */
	bool trace_collected, collector_gone;
	pthread_t submit_thread, readback_thread;
	bool submit_started, readback_started;
	clockid_t submit_cpu_clock, readback_cpu_clock;

	/* Below, what is written per item or per batch, on lines by who
	 * writes it (GP_LINE); the queues keep their own lines. */
	struct gp_queue free_q;      /* FREE slots; consumers: pushers */
	struct gp_queue ready_q;     /* READY; consumer: submit */
	struct gp_queue flight_q;    /* batches (fences.h); consumer:
				      * readback */

	/* The slots taken: pushes add, releases subtract. Adaptive
	 * batches (batchsize.c) count this device's items at push here,
	 * and at completion below, with their latencies (gpupipe_push
	 * called to done_cb start) in log-scale buckets, and whether a
	 * completion left none in flight: what the batch search measures
	 * (through gp_batchsize_pushed and _completed). */
	GP_OWN_LINE _Atomic int in_use; /* taken by pushes, not yet free */
	_Atomic int limit;           /* in_use may not exceed this */
	_Atomic int kept;            /* of in_use, outputs kept past done_cb */
	_Atomic uint64_t pushed;

	/* The submit thread's. */
	GP_OWN_LINE _Atomic int submit_attn; /* look at stop/collect_req */
	/* Adaptive batches: measured by submit, read by stats. */
	_Atomic unsigned batch_target;
	_Atomic uint64_t gpu_ns_per_item, batch_cost_ns, fence_polls;
	_Atomic uint64_t close_ns, poll_ns;
	_Atomic uint64_t submit_busy_ns;

	/* The readback thread's (or the post pool's). */
	GP_OWN_LINE _Atomic uint64_t completed;
	_Atomic uint64_t pushed_seen; /* pushed, as last read (batchsize.c) */
	_Atomic int went_idle;
	_Atomic uint64_t readback_busy_ns;
	_Atomic uint64_t lat_hist[GP_LAT_BUCKETS];
};

/* Whether d's threads take turns at the driver (gp_turns): its items are
 * small enough to batch. */
static inline bool gp_wants_turns(struct gp_dev *d)
{
	return atomic_load_explicit(&d->batch_target,
				    memory_order_relaxed) > 1;
}

struct gpupipe {
	/* Configuration, resolved. */
	char *shader_source;
	size_t in_bytes, out_bytes, weights_bytes;
	void *weights;
	uint32_t groups[3];
	unsigned depth, max_batch, prep_threads, nslots;
	unsigned fence_timeout_ms;
	gpupipe_prep_fn prep_cb;
	gpupipe_done_fn done_cb;
	void *user_data;
	struct gpupipe_info info;

	enum gpupipe_wait wait;
	unsigned flags, batch_latency_us, post_threads;

	/* The devices, and the slots of all of them. */
	struct gp_dev *devs;
	unsigned ndevs;
	struct gp_slot *slots;
	bool prep_lazy_ok;           /* prep.c: prep_q may be lazy */

	/* Shutdown, read at each item, written once. */
	_Atomic int shutdown;        /* destroy has begun: refuse pushes,
				      * prepare nothing new */
	_Atomic int stop;            /* threads: exit when idle */
	_Atomic int broken;          /* every device broken: the first
				      * device's status */
	_Atomic unsigned working;    /* devices not broken */
	_Atomic int first_broken;    /* the status that broke the first */

	struct gp_trace trace;

	/* Threads. */
	struct gp_start start;
	struct gp_prep_thread *preps;
	struct gp_post_thread *posts;

	/*
	 * The lock order. Every mutex of the library is a leaf: none is
	 * taken while another is held, none is held across a callback
	 * (prep_cb, done_cb) or a wait for another thread, and none but
	 * displays_lock across a call into EGL or GL:
	 *
	 *   handle.c   table_lock        the handle table's free list
	 *   egl.c      displays_lock     display reference counts; held
	 *                                across eglInitialize/eglTerminate
	 *   threads.c  p->start.lock     the start handshake (with its cond)
	 *   trace.c    p->trace.lock     a trace's begin, collection, end
	 *   queue.c    p->turns.lock     the ticket counters of gp_turns
	 *   complete.c p->order_lock     order[], below
	 *
	 * and below all of them, taken inside a call that holds one:
	 *   liburcu's dequeue lock of a multi-consumer queue (queue.c,
	 *   inside gp_queue_pop_*; nothing is taken under it), and in the
	 *   fault-injection build gpumodel.c's lock (inside the GL/EGL
	 *   wrappers, so under displays_lock).
	 * A turn at the driver (gp_turns) is not a mutex but is waited for
	 * like one: it is taken with no mutex held and held only across GL
	 * calls.
	 */

	/* Below, what is written per item or per batch, on lines by who
	 * writes it (GP_LINE); the queues keep their own lines. */
	struct gp_queue prep_q;      /* QUEUED; consumers: prep threads */
	struct gp_queue post_q;      /* DONE, for the post pool */

	/* The pushers'. The run of items going to one device (slots.c
	 * take_room); the next seq. */
	GP_OWN_LINE _Atomic unsigned run_dev;
	_Atomic unsigned run_len;
	_Atomic uint64_t next_seq;   /* next push's seq == pushed so far */
	_Atomic int pushers;         /* pushes in progress (shutdown) */

	/* Drainers; pushes and completions both signal it. */
	GP_OWN_LINE struct gp_wake done_wake;

	/* GL calls of the devices' threads, one thread at a time. */
	GP_OWN_LINE struct gp_turns turns;

	/*
	 * Completion's: the readback threads' (or the post pool's).
	 * In-order completion across the readback threads (complete.c),
	 * all under order_lock: finished slots by seq % nslots, the next seq
	 * to take out of order[], completions drainers were not told of yet,
	 * whether a thread is delivering (calling done_cbs with the lock
	 * dropped), and whether a thread that left a slot to it found its
	 * flight queue dry.
	 */
	GP_OWN_LINE pthread_mutex_t order_lock;
	struct gp_slot **order;
	uint64_t order_next;
	unsigned order_unsignalled;
	bool order_delivering;
	bool order_idle;
	_Atomic uint64_t completed;  /* items whose done_cb returned */
	_Atomic uint64_t released;   /* slots freed (completed, not kept) */
	_Atomic uint64_t count_by_status[5];
	_Atomic uint64_t batches;    /* submit's, one per batch (fences.c):
				      * misfiled here, on completion's line */
	_Atomic uint64_t done_busy_ns;
	struct gp_wake free_wake;    /* pushers waiting for a slot */
};

#endif /* GPUPIPE_INTERNAL_H */
