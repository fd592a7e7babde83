/* SPDX-License-Identifier: MIT */
/*
 * Fault injection (built with --enable-fault-injection; src/fault.h lists
 * the points). First the behaviour each kind of failure must have: a GL
 * error fails its item, a failed fence its batch, a GPU timeout and a GPU
 * reset break the pipeline with TIMEDOUT and DEVICE_LOST completions, an
 * allocation or a thread that cannot be had fails create and leaves
 * nothing behind, and a fence handed to readback without a glFlush is
 * caught. Then the walk, as SQLite's tests walk every allocation: every
 * point fails in turn, at its first WALK_NTH calls in a clean run, at
 * WALK_SPREAD more spread over the rest and at its last, once and from
 * then on, in every shape below: the wait modes, a post pool, a GPU
 * trace, the EGL device display, two devices, GL interop (the
 * application's display and a shared context), kept outputs released
 * after, non-blocking pushes, a cancel, and a destroy with items in every
 * state. For each case:
 * create returns 0 or a documented code with a message; every accepted
 * item completes exactly once, DONE with the right output or with a
 * failure status and a message; pushes the pipeline refuses return
 * GPUPIPE_EBROKEN; drain and destroy return; no thread or descriptor is
 * left behind; nothing hangs (the watchdog); and, run under ASan, nothing
 * leaks.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <epoxy/egl.h>

#include "common.h"
#include "fault.h"

#define ITEMS 12
#define ELEMS 48
/* Calls of each point walked: the first WALK_NTH, WALK_SPREAD spread
 * over the rest, and the last. */
#define WALK_NTH 8
#define WALK_SPREAD 4

/* ---- one pipeline run under a fault ----------------------------------- */

/* What a case runs: a pipeline (create, push, drain, destroy), or one of
 * the calls that need no pipeline. */
enum scenario { PIPELINE, LIST_DEVICES, LOAD_SHADER };

/* Compiles, but does not link: no main. */
#define NO_MAIN "#version 430\nlayout(local_size_x = 1) in;\n" \
		"void not_main() {}\n"

/* What a pipeline case does besides push, drain and destroy. */
#define ACT_KEEP 0x1     /* done_cb keeps even items' outputs; released
			  * after the drain (or freed by destroy) */
#define ACT_CANCEL 0x2   /* gpupipe_cancel after half the pushes */
#define ACT_NONBLOCK 0x4 /* pushes with GPUPIPE_NONBLOCK */
#define ACT_EARLY 0x8    /* destroy with no drain: items queued, in prep,
			  * in flight and in done_cb */
#define ACT_INTEROP 0x10 /* the application's EGL display, and a context
			  * of its own shared with the pipeline */

struct shape {
	const char *name;
	enum gpupipe_wait wait;
	unsigned depth, batch, flags, prep_threads, post_threads;
	bool trace;
	enum gpupipe_display display;
	const char *shader;    /* NULL: the test shader */
	int create_code;       /* what create returns with no fault */
	enum scenario scenario;
	unsigned acts;         /* ACT_* */
};

static const struct shape shapes[] = {
	{ "signalled, adaptive", GPUPIPE_WAIT_SIGNALLED, 2, 4, 0, 2, 0, false,
	  GPUPIPE_DISPLAY_DEFAULT, NULL, 0, PIPELINE, 0 },
	{ "block, fixed batch 3, post pool, GPU trace", GPUPIPE_WAIT_BLOCK, 2,
	  3, GPUPIPE_FIXED_BATCH, 1, 1, true, GPUPIPE_DISPLAY_DEFAULT, NULL, 0,
	  PIPELINE, 0 },
	{ "EGL device display, fixed batch 2", GPUPIPE_WAIT_SIGNALLED, 3, 2,
	  GPUPIPE_FIXED_BATCH, 1, 0, false, GPUPIPE_DISPLAY_DEVICE, NULL, 0,
	  PIPELINE, 0 },
	{ "two devices (the same one twice), fixed batch 2",
	  GPUPIPE_WAIT_SIGNALLED, 2, 2, GPUPIPE_FIXED_BATCH, 2, 0, false,
	  GPUPIPE_DISPLAY_DEVICES, NULL, 0, PIPELINE, 0 },
	{ "a shader that does not compile", GPUPIPE_WAIT_DEFAULT, 2, 1, 0, 1,
	  0, false, GPUPIPE_DISPLAY_DEFAULT, "#version 430\nnot glsl\n",
	  GPUPIPE_ESHADER, PIPELINE, 0 },
	{ "a shader that does not link", GPUPIPE_WAIT_DEFAULT, 2, 1, 0, 1, 0,
	  false, GPUPIPE_DISPLAY_DEFAULT, NO_MAIN, GPUPIPE_ESHADER, PIPELINE, 0 },
	{ "interop: the application's display, a shared context, kept "
	  "outputs", GPUPIPE_WAIT_SIGNALLED, 4, 2, GPUPIPE_FIXED_BATCH, 1, 0,
	  false, GPUPIPE_DISPLAY_DEFAULT, NULL, 0, PIPELINE,
	  ACT_INTEROP | ACT_KEEP },
	{ "post pool of 2, kept outputs, non-blocking pushes",
	  GPUPIPE_WAIT_BLOCK, 3, 2, GPUPIPE_FIXED_BATCH, 2, 2, false,
	  GPUPIPE_DISPLAY_DEFAULT, NULL, 0, PIPELINE, ACT_KEEP | ACT_NONBLOCK },
	{ "a cancel, then destroy with no drain", GPUPIPE_WAIT_SIGNALLED, 2, 4,
	  0, 1, 0, false, GPUPIPE_DISPLAY_DEFAULT, NULL, 0, PIPELINE,
	  ACT_CANCEL | ACT_EARLY },
	{ "gpupipe_list_devices", 0, 0, 0, 0, 0, 0, false, 0, NULL, 0,
	  LIST_DEVICES, 0 },
	{ "gpupipe_load_shader", 0, 0, 0, 0, 0, 0, false, 0, NULL, 0,
	  LOAD_SHADER, 0 },
};
#define NSHAPES (sizeof(shapes) / sizeof(shapes[0]))

struct run {
	struct harness h;
	int create_ret;
	char create_msg[256];
	bool accepted[ITEMS];
	int push_ret[ITEMS];
	int status[ITEMS];
	int error[ITEMS];
	char message[ITEMS][128];
	struct gpupipe_job *kept[ITEMS];
	int release_ret;            /* the first failed release's code */
	atomic_uint_fast64_t bad;   /* completions that broke a rule */
	int drain_ret, destroy_ret, trace_ret;
	const struct shape *shape;
	struct gpupipe_stats stats;
	unsigned long fired, unflushed;
	unsigned long calls[GP_FAULT_COUNT]; /* of each point, this run */
	int threads_left, fds_left;
};

static int f_prep(struct gpupipe_job *job, void *user_data)
{
	struct run *r = user_data;
	uint64_t id = (uintptr_t)job->item - 1;
	uint32_t *x = job->input;
	uint32_t i;

	for (i = 0; i < ELEMS; i++)
		x[i] = test_input(id, i);
	job->params[0] = test_tag(id);
	job->params[1] = ELEMS;
	job->params[2] = TEST_WEIGHTS;
	job->groups[0] = 1;
	if (r->shape->acts & ACT_EARLY)
		usleep(300);
	return 0;
}

static void f_done(struct gpupipe_job *job, void *user_data)
{
	struct run *r = user_data;
	uint64_t id = (uintptr_t)job->item - 1;

	if (id >= ITEMS) {
		atomic_fetch_add(&r->bad, 1);
		return;
	}
	if (r->h.seen[id] < 255)
		r->h.seen[id]++;
	r->status[id] = job->status;
	r->error[id] = job->error;
	snprintf(r->message[id], sizeof(r->message[id]), "%s",
		 job->message ? job->message : "");
	if (job->status == GPUPIPE_DONE) {
		if (!job->output || job->message ||
		    !output_ok(&r->h, id, job->output))
			atomic_fetch_add(&r->bad, 1);
		/* gpupipe_job_keep(3): a DONE item's output can be kept. */
		if ((r->shape->acts & ACT_KEEP) && id % 2 == 0) {
			if (gpupipe_job_keep(job))
				atomic_fetch_add(&r->bad, 1);
			else
				r->kept[id] = job;
		}
	} else if (job->status == GPUPIPE_CANCELLED) {
		/* Only where the case cancels or destroys early; error 0. */
		if (!(r->shape->acts & (ACT_CANCEL | ACT_EARLY)) ||
		    job->output || job->error || !job->message)
			atomic_fetch_add(&r->bad, 1);
	} else if (job->status < GPUPIPE_FAILED ||
		   job->status > GPUPIPE_DEVICE_LOST || job->output ||
		   !job->message || !job->message[0] || !job->error) {
		atomic_fetch_add(&r->bad, 1);
	}
	atomic_fetch_add(&r->h.completions, 1);
}

/* Threads and descriptors of the process with no pipeline. */
static int base_threads, base_fds;

/* ACT_INTEROP: the application's own EGL display and context, made and
 * ended around each case (gpupipe borrows them, and must leave them). */
struct app_gl {
	EGLDisplay dpy;
	EGLContext ctx;
};

static bool app_gl_open(struct app_gl *a)
{
	static const EGLint attrs[] = {
		EGL_CONTEXT_MAJOR_VERSION, 4, EGL_CONTEXT_MINOR_VERSION, 5,
		EGL_CONTEXT_OPENGL_PROFILE_MASK,
		EGL_CONTEXT_OPENGL_CORE_PROFILE_BIT, EGL_NONE
	};
	EGLint major, minor;

	a->dpy = eglGetPlatformDisplayEXT(EGL_PLATFORM_SURFACELESS_MESA,
					  EGL_DEFAULT_DISPLAY, NULL);
	if (a->dpy == EGL_NO_DISPLAY ||
	    !eglInitialize(a->dpy, &major, &minor) ||
	    !eglBindAPI(EGL_OPENGL_API))
		return false;
	a->ctx = eglCreateContext(a->dpy, EGL_NO_CONFIG_KHR, EGL_NO_CONTEXT,
				  attrs);
	return a->ctx != EGL_NO_CONTEXT;
}

static void app_gl_close(struct app_gl *a)
{
	if (a->ctx != EGL_NO_CONTEXT)
		eglDestroyContext(a->dpy, a->ctx);
	if (a->dpy != EGL_NO_DISPLAY)
		eglTerminate(a->dpy);
}

/* Give back every kept output (gpupipe_release(3)); the first failure's
 * code is kept for the rules. */
static void release_kept(struct run *r)
{
	unsigned id;

	for (id = 0; id < ITEMS; id++) {
		int ret;

		if (!r->kept[id])
			continue;
		ret = gpupipe_release(r->h.p, r->kept[id]);
		r->kept[id] = NULL;
		if (ret && !r->release_ret)
			r->release_ret = ret;
	}
}

/* Push item id; without blocking (ACT_NONBLOCK), a full pipeline is
 * drained and its kept outputs given back before the next try. */
static int push_item(struct run *r, uint64_t id)
{
	void *item = (void *)(uintptr_t)(id + 1);
	int tries, ret = 0;

	if (!(r->shape->acts & ACT_NONBLOCK))
		return gpupipe_push(r->h.p, item, 0);
	for (tries = 0; tries < 3; tries++) {
		ret = gpupipe_push(r->h.p, item, GPUPIPE_NONBLOCK);
		if (ret != GPUPIPE_EAGAIN)
			break;
		gpupipe_drain(r->h.p, 30000);
		release_kept(r);
	}
	return ret;
}

/* A created pipeline: trace, push (cancel halfway), drain, give kept
 * outputs back, read the stats, destroy. */
static void run_pipeline(struct run *r, const struct shape *sh)
{
	struct gpupipe_trace_record *rec = NULL;
	size_t nrec = 0;
	uint64_t id;

	if (sh->trace)
		r->trace_ret = gpupipe_trace_begin(r->h.p, ITEMS,
						   GPUPIPE_TRACE_GPU);
	for (id = 0; id < ITEMS; id++) {
		/* It returns how many it cancelled. */
		if ((sh->acts & ACT_CANCEL) && id == ITEMS / 2 &&
		    gpupipe_cancel(r->h.p) < 0)
			atomic_fetch_add(&r->bad, 1);
		r->push_ret[id] = push_item(r, id);
		r->accepted[id] = r->push_ret[id] == 0;
	}
	if (!(sh->acts & ACT_EARLY))
		r->drain_ret = gpupipe_drain(r->h.p, 30000);
	if (r->trace_ret == 0) {
		r->trace_ret = gpupipe_trace_end(r->h.p, &rec, &nrec);
		free(rec);
	}
	gpupipe_get_stats(r->h.p, &r->stats);
	if (!(sh->acts & ACT_EARLY))
		release_kept(r);
	r->destroy_ret = gpupipe_destroy(r->h.p);
	r->h.p = NULL;
}

/* r's harness for shape sh (and, for interop, the application's GL
 * world in app). */
static void shape_config(const struct shape *sh, struct run *r,
			 struct app_gl *app)
{
	memset(r, 0, sizeof(*r));
	harness_init(&r->h, ELEMS, sh->depth, sh->batch, sh->prep_threads,
		     ITEMS);
	r->h.cfg.prep_cb = f_prep;
	r->h.cfg.done_cb = f_done;
	r->h.cfg.user_data = r;
	r->h.cfg.wait = sh->wait;
	r->h.cfg.flags = sh->flags;
	r->h.cfg.post_threads = sh->post_threads;
	r->h.cfg.fence_timeout_ms = 20000;
	r->h.cfg.display = sh->display;
	if (sh->display == GPUPIPE_DISPLAY_DEVICES)
		harness_same_device(&r->h, 2);
	if (sh->shader)
		r->h.cfg.shader_source = sh->shader;
	r->trace_ret = -1;
	r->shape = sh;
	if ((sh->acts & ACT_INTEROP) && app_gl_open(app)) {
		r->h.cfg.egl_display = app->dpy;
		r->h.cfg.share_context = app->ctx;
	}
}

/* The call the shape's scenario makes first, as create's result: list
 * the devices or load a shader (no pipeline is made), or create. */
static void shape_create(const struct shape *sh, struct run *r)
{
	if (sh->scenario == LIST_DEVICES) {
		struct gpupipe_device d[8];
		unsigned n = 0;

		r->create_ret = gpupipe_list_devices(d, 8, &n);
		r->h.p = NULL;
	} else if (sh->scenario == LOAD_SHADER) {
		const char *dir = getenv("GPUPIPE_SHADER_DIR");
		char path[4096], *src = NULL;

		snprintf(path, sizeof(path), "%s/test_affine.comp",
			 dir ? dir : SHADER_DIR);
		r->create_ret = gpupipe_load_shader(path, &src);
		if (!r->create_ret && (!src || strcmp(src, test_shader())))
			atomic_fetch_add(&r->bad, 1);
		free(src);
		r->h.p = NULL;
	} else {
		r->create_ret = gpupipe_create(&r->h.cfg, &r->h.p);
	}
}

/* A skipped eglTerminate leaves the display up: a failure the library
 * cannot undo. End it here so the counts of threads and files mean
 * something. */
static void end_display(const struct shape *sh)
{
	EGLDeviceEXT dev;
	EGLint n = 0;
	EGLDisplay d = sh->display >= GPUPIPE_DISPLAY_DEVICE &&
				       eglQueryDevicesEXT(1, &dev, &n) && n
			       ? eglGetPlatformDisplayEXT(
				       EGL_PLATFORM_DEVICE_EXT, dev, NULL)
			       : eglGetPlatformDisplayEXT(
				       EGL_PLATFORM_SURFACELESS_MESA,
				       EGL_DEFAULT_DISPLAY, NULL);

	eglTerminate(d);
}

/*
 * Run shape with point failing at its nth call (point ==
 * gpupipe_fault_count(): nothing fails): create, push ITEMS, drain,
 * destroy.
 */
static void run_shape(const struct shape *sh, unsigned point,
		      unsigned long nth, bool persist, struct run *r)
{
	struct app_gl app = { EGL_NO_DISPLAY, EGL_NO_CONTEXT };
	uint64_t id;

	shape_config(sh, r, &app);
	gpupipe_fault_reset();
	if (point < gpupipe_fault_count())
		gpupipe_fault_arm(point, nth, persist);
	shape_create(sh, r);
	if (r->create_ret) {
		snprintf(r->create_msg, sizeof(r->create_msg), "%s",
			 gpupipe_errmsg());
		r->h.p = NULL;
	} else if (r->h.p) {
		run_pipeline(r, sh);
	}
	for (id = 0; id < GP_FAULT_COUNT; id++)
		r->calls[id] = gpupipe_fault_calls((unsigned)id);
	r->fired = gpupipe_fault_fired();
	r->unflushed = gpupipe_fault_unflushed();
	gpupipe_fault_reset();
	app_gl_close(&app);
	if (point == GP_FAULT_eglTerminate && r->fired)
		end_display(sh);
	r->threads_left = count_threads() - base_threads;
	r->fds_left = count_fds() - base_fds;
}

static void run_free(struct run *r)
{
	harness_free(&r->h);
}

static bool create_code_ok(int ret)
{
	return ret == GPUPIPE_ENOMEM || ret == GPUPIPE_EDRIVER ||
	       ret == GPUPIPE_ENOTSUP || ret == GPUPIPE_ETHREAD ||
	       ret == GPUPIPE_ESHADER;
}

/* The rules every run keeps, whatever failed. Returns a description of
 * the first broken rule, or NULL. */
static const char *broken_rule(const struct run *r, unsigned point)
{
	static char why[256];
	unsigned id;

	if (!r->fired && r->create_ret != r->shape->create_code)
		return "create (or the call) did not return what it does with "
		       "no fault";
	if (atomic_load(&r->bad))
		return "a completion or a loaded shader was wrong";
	if (r->create_ret) {
		if (!create_code_ok(r->create_ret))
			return "create returned an undocumented code";
		if (!r->create_msg[0])
			return "create failed without a message";
	} else if (r->shape->scenario == PIPELINE) {
		for (id = 0; id < ITEMS; id++) {
			if (!r->accepted[id] &&
			    r->push_ret[id] != GPUPIPE_EBROKEN &&
			    !(r->push_ret[id] == GPUPIPE_EAGAIN &&
			      (r->shape->acts & ACT_NONBLOCK))) {
				snprintf(why, sizeof(why), "push of item %u "
					 "returned %s", id,
					 gpupipe_error_name(r->push_ret[id]));
				return why;
			}
			if (r->h.seen[id] != (r->accepted[id] ? 1 : 0)) {
				snprintf(why, sizeof(why), "item %u completed "
					 "%u times", id, r->h.seen[id]);
				return why;
			}
		}
		if (r->drain_ret)
			return "drain did not return 0";
		if (r->destroy_ret)
			return "destroy did not return 0";
		if (r->stats.in_flight && !(r->shape->acts & ACT_EARLY))
			return "items still in flight after drain";
		if (r->release_ret)
			return "a kept output's release failed";
		if (r->trace_ret > 0)
			return "trace_end returned an undocumented code";
	}
	if (r->threads_left > 0)
		return "threads left behind";
	if (r->fds_left > 0)
		return "file descriptors left behind";
	/* The hand-off check: a skipped glFlush is caught where readback
	 * gets each fence at once (GPUPIPE_WAIT_BLOCK; with SIGNALLED a
	 * later batch's flush may flush it before its hand-off), and
	 * nothing else trips it. */
	if (point == GP_FAULT_glFlush && r->fired && !r->create_ret &&
	    r->h.cfg.wait == GPUPIPE_WAIT_BLOCK && !r->unflushed)
		return "a skipped glFlush went unnoticed by the hand-off check";
	if (point != GP_FAULT_glFlush && r->unflushed)
		return "a fence was handed to readback without a glFlush";
	return NULL;
}

static unsigned count_status(const struct run *r, int status)
{
	unsigned id, n = 0;

	for (id = 0; id < ITEMS; id++)
		n += r->accepted[id] && r->status[id] == status;
	return n;
}

static void check_rules(const struct run *r, unsigned point)
{
	const char *why = broken_rule(r, point);

	if (why)
		printf("    %s: %s\n", gpupipe_fault_name(point), why);
	CU_ASSERT_PTR_NULL(why);
}

/* ---- what each kind of failure does ------------------------------------ */

static const struct shape one_by_one = {
	"fixed batch 1", GPUPIPE_WAIT_SIGNALLED, 3, 1, GPUPIPE_FIXED_BATCH, 1,
	0, false, GPUPIPE_DISPLAY_DEFAULT, NULL, 0, PIPELINE, 0
};

static void test_clean_run(void)
{
	struct run r;
	unsigned i;

	for (i = 0; i < 2; i++) {
		run_shape(&shapes[i], gpupipe_fault_count(), 0, false, &r);
		check_rules(&r, gpupipe_fault_count());
		CU_ASSERT_EQUAL(r.create_ret, 0);
		CU_ASSERT_EQUAL(count_status(&r, GPUPIPE_DONE), ITEMS);
		CU_ASSERT_EQUAL(r.fired, 0);
		CU_ASSERT_EQUAL(r.unflushed, 0);
		CU_ASSERT_EQUAL(r.stats.broken, 0);
		run_free(&r);
	}
}

/* A GL error in one dispatch fails that item, and only that one. */
static void test_gl_error_fails_its_item(void)
{
	struct run r;
	unsigned id;

	run_shape(&one_by_one, GP_FAULT_glDispatchCompute, 3, false, &r);
	check_rules(&r, GP_FAULT_glDispatchCompute);
	CU_ASSERT_EQUAL(r.fired, 1);
	for (id = 0; id < ITEMS; id++) {
		CU_ASSERT_TRUE(r.accepted[id]);
		CU_ASSERT_EQUAL(r.status[id], id == 2 ? GPUPIPE_FAILED
						      : GPUPIPE_DONE);
	}
	CU_ASSERT_EQUAL(r.error[2], GPUPIPE_EDRIVER);
	CU_ASSERT_PTR_NOT_NULL(strstr(r.message[2], "GL_OUT_OF_MEMORY"));
	CU_ASSERT_EQUAL(r.stats.broken, 0);
	run_free(&r);
}

/* A fence that cannot be made fails its batch; the pipeline goes on. */
static void test_fence_failure_fails_its_batch(void)
{
	struct run r;
	unsigned id;

	run_shape(&one_by_one, GP_FAULT_glFenceSync, 5, false, &r);
	check_rules(&r, GP_FAULT_glFenceSync);
	for (id = 0; id < ITEMS; id++)
		CU_ASSERT_EQUAL(r.status[id], id == 4 ? GPUPIPE_FAILED
						      : GPUPIPE_DONE);
	CU_ASSERT_PTR_NOT_NULL(strstr(r.message[4], "glFenceSync failed"));
	CU_ASSERT_EQUAL(r.stats.broken, 0);
	run_free(&r);
}

/* A timestamp that cannot be read costs only timing: no item fails. */
static void test_query_failure_fails_nothing(void)
{
	unsigned i;

	for (i = 0; i < 2; i++) {
		struct run r;

		run_shape(&shapes[i], GP_FAULT_glGetQueryObjectui64v, 1, true,
			  &r);
		check_rules(&r, GP_FAULT_glGetQueryObjectui64v);
		CU_ASSERT_TRUE(r.fired >= 1);
		CU_ASSERT_EQUAL(count_status(&r, GPUPIPE_DONE), ITEMS);
		run_free(&r);
	}
}

/* A fence that does not signal in time: its items TIMEDOUT, the
 * pipeline broken, every later item completed, later pushes refused. */
static void test_timeout_breaks_the_pipeline(void)
{
	struct run r;
	unsigned id, timedout;

	run_shape(&one_by_one, GP_FAULT_fence_timeout, 2, false, &r);
	check_rules(&r, GP_FAULT_fence_timeout);
	CU_ASSERT_EQUAL(r.status[0], GPUPIPE_DONE);
	CU_ASSERT_EQUAL(r.status[1], GPUPIPE_TIMEDOUT);
	CU_ASSERT_EQUAL(r.error[1], GPUPIPE_ETIMEDOUT);
	CU_ASSERT_PTR_NOT_NULL(strstr(r.message[1], "fence_timeout_ms"));
	CU_ASSERT_EQUAL(r.stats.broken, GPUPIPE_TIMEDOUT);
	timedout = count_status(&r, GPUPIPE_TIMEDOUT);
	CU_ASSERT_TRUE(timedout >= 1);
	for (id = 2; id < ITEMS; id++)
		CU_ASSERT_TRUE(!r.accepted[id] ||
			       r.status[id] != GPUPIPE_DONE ||
			       r.error[id] == 0);
	run_free(&r);
}

/* A GPU reset: no output after it is trusted; every item completes
 * DEVICE_LOST, the pipeline reports itself broken. */
static void test_device_reset(void)
{
	unsigned i;

	for (i = 0; i < 2; i++) {
		struct run r;
		unsigned id, lost = 0;

		run_shape(&shapes[i], GP_FAULT_glGetGraphicsResetStatus, 1,
			  false, &r);
		check_rules(&r, GP_FAULT_glGetGraphicsResetStatus);
		CU_ASSERT_EQUAL(r.create_ret, 0);
		CU_ASSERT_EQUAL(r.stats.broken, GPUPIPE_DEVICE_LOST);
		for (id = 0; id < ITEMS; id++) {
			if (!r.accepted[id])
				continue;
			CU_ASSERT_NOT_EQUAL(r.status[id], GPUPIPE_DONE);
			lost += r.status[id] == GPUPIPE_DEVICE_LOST;
		}
		/* The first check comes after the first batch: nothing
		 * completes DONE, all accepted items are DEVICE_LOST. */
		CU_ASSERT_EQUAL(lost, count_status(&r, GPUPIPE_DEVICE_LOST));
		CU_ASSERT_TRUE(lost >= 1);
		CU_ASSERT_EQUAL(count_status(&r, GPUPIPE_DONE), 0);
		run_free(&r);
	}
}

/* After a reset, a push is refused at once with GPUPIPE_EBROKEN. */
static void test_push_after_reset(void)
{
	struct harness h;
	struct gpupipe_stats st;
	int ret;

	harness_init(&h, ELEMS, 2, 1, 1, 4);
	h.cfg.flags = GPUPIPE_FIXED_BATCH;
	gpupipe_fault_reset();
	gpupipe_fault_arm(GP_FAULT_glGetGraphicsResetStatus, 1, false);
	CU_ASSERT_EQUAL_FATAL(harness_create(&h), 0);
	h.fail_id = -1;
	CU_ASSERT_EQUAL(gpupipe_push(h.p, (void *)1, 0), 0);
	CU_ASSERT_EQUAL(gpupipe_drain(h.p, 30000), 0);
	ret = gpupipe_push(h.p, (void *)2, 0);
	CU_ASSERT_EQUAL(ret, GPUPIPE_EBROKEN);
	CU_ASSERT_PTR_NOT_NULL(strstr(gpupipe_errmsg(), "reset"));
	CU_ASSERT_EQUAL(gpupipe_get_stats(h.p, &st), 0);
	CU_ASSERT_EQUAL(st.broken, GPUPIPE_DEVICE_LOST);
	CU_ASSERT_EQUAL(st.completed[GPUPIPE_DEVICE_LOST], 1);
	gpupipe_fault_reset();
	harness_fini(&h);
}

/* Two devices: one that times out leaves rotation and fails only its own
 * items; the other goes on; the pipeline breaks with the second. */
static void test_device_isolation(void)
{
	struct harness h;
	struct gpupipe_stats st;
	uint64_t id, done_before;
	int ret;

	harness_init(&h, ELEMS, 2, 1, 2, 400);
	h.cfg.flags = GPUPIPE_FIXED_BATCH;
	harness_same_device(&h, 2);
	h.faults = true;
	gpupipe_fault_reset();
	CU_ASSERT_EQUAL_FATAL(harness_create(&h), 0);
	/* The first fence either device waits on times out. */
	gpupipe_fault_arm(GP_FAULT_fence_timeout, 1, false);
	CU_ASSERT_EQUAL(harness_push(&h, 0, 100), 0);
	CU_ASSERT_EQUAL(gpupipe_drain(h.p, 30000), 0);
	CU_ASSERT_EQUAL(gpupipe_get_stats(h.p, &st), 0);
	CU_ASSERT_EQUAL(st.devices_broken, 1);
	CU_ASSERT_EQUAL(st.broken, 0);
	CU_ASSERT_TRUE(st.completed[GPUPIPE_TIMEDOUT] >= 1);
	done_before = st.completed[GPUPIPE_DONE];
	/* The other device takes every new item. */
	CU_ASSERT_EQUAL(harness_push(&h, 100, 100), 0);
	CU_ASSERT_EQUAL(gpupipe_drain(h.p, 30000), 0);
	CU_ASSERT_EQUAL(gpupipe_get_stats(h.p, &st), 0);
	CU_ASSERT_EQUAL(st.completed[GPUPIPE_DONE], done_before + 100);
	CU_ASSERT_EQUAL(st.broken, 0);
	/* Then it times out too: the pipeline is broken. */
	gpupipe_fault_arm(GP_FAULT_fence_timeout, 1, false);
	for (id = 200; id < 300; id++) {
		ret = gpupipe_push(h.p, (void *)(uintptr_t)(id + 1), 0);
		if (ret)
			break;
	}
	CU_ASSERT_EQUAL(gpupipe_drain(h.p, 30000), 0);
	CU_ASSERT_EQUAL(gpupipe_get_stats(h.p, &st), 0);
	CU_ASSERT_EQUAL(st.devices_broken, 2);
	CU_ASSERT_EQUAL(st.broken, GPUPIPE_TIMEDOUT);
	CU_ASSERT_EQUAL(gpupipe_push(h.p, (void *)1000, 0), GPUPIPE_EBROKEN);
	/* Every accepted item completed exactly once, in order. */
	harness_check(&h, id, atomic_load(&h.by_status[GPUPIPE_DONE]));
	printf("    %llu items: %llu DONE, %llu TIMEDOUT, %llu FAILED\n",
	       (unsigned long long)id,
	       (unsigned long long)atomic_load(&h.by_status[GPUPIPE_DONE]),
	       (unsigned long long)atomic_load(&h.by_status[GPUPIPE_TIMEDOUT]),
	       (unsigned long long)atomic_load(&h.by_status[GPUPIPE_FAILED]));
	gpupipe_fault_reset();
	harness_fini(&h);
}

/* Allocation and thread failures at create: a code, nothing left. */
static void test_create_failures_leave_nothing(void)
{
	static const struct {
		unsigned point;
		unsigned long nth;
		int want;
	} cases[] = {
		{ GP_FAULT_calloc, 1, GPUPIPE_ENOMEM },
		{ GP_FAULT_calloc, 5, GPUPIPE_ENOMEM },
		{ GP_FAULT_strdup, 1, GPUPIPE_ENOMEM },
		{ GP_FAULT_pthread_create, 1, GPUPIPE_ETHREAD },
		{ GP_FAULT_pthread_create, 3, GPUPIPE_ETHREAD },
		{ GP_FAULT_eglCreateContext, 1, GPUPIPE_EDRIVER },
		{ GP_FAULT_glMapBufferRange, 2, GPUPIPE_EDRIVER },
		{ GP_FAULT_glBufferStorage, 1, GPUPIPE_ENOMEM },
		{ GP_FAULT_glCreateShader, 1, GPUPIPE_EDRIVER },
		{ GP_FAULT_glGetIntegerv, 2, GPUPIPE_EDRIVER },
	};
	unsigned i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct run r;

		run_shape(&shapes[0], cases[i].point, cases[i].nth, true, &r);
		check_rules(&r, cases[i].point);
		if (r.create_ret != cases[i].want)
			printf("    %s #%lu: create returned %s (%s)\n",
			       gpupipe_fault_name(cases[i].point),
			       cases[i].nth,
			       gpupipe_error_name(r.create_ret), r.create_msg);
		CU_ASSERT_EQUAL(r.create_ret, cases[i].want);
		run_free(&r);
	}
}

/* The hand-off check sees a fence that was not flushed: the injected
 * failure of glFlush skips it. With GPUPIPE_WAIT_SIGNALLED, the last
 * batch's: no later flush covers it. */
static void test_unflushed_fence_is_caught(void)
{
	/* Fixed batches of one: the 12th flush is the last batch's. */
	const struct shape *sh[] = { &shapes[1], &one_by_one };
	const unsigned long nth[] = { 1, ITEMS };
	unsigned i;

	for (i = 0; i < 2; i++) {
		struct run r;

		run_shape(sh[i], GP_FAULT_glFlush, nth[i], false, &r);
		check_rules(&r, GP_FAULT_glFlush);
		CU_ASSERT_EQUAL(r.fired, 1);
		CU_ASSERT_EQUAL(r.unflushed, 1);
		run_free(&r);
	}
}

/* ---- the walk ------------------------------------------------------------ */

/* The calls of a point walked: the first WALK_NTH, WALK_SPREAD between
 * them and the last, and the last, once;
 * the first, the middle and the last, from then on. */
static unsigned walk_nths(unsigned long calls, bool persist,
			  unsigned long *nth)
{
	unsigned k = 0;
	unsigned long i;

	if (!calls)
		return 0;
	if (persist) {
		nth[k++] = 1;
		if (calls > 2)
			nth[k++] = (calls + 1) / 2;
		if (calls > 1)
			nth[k++] = calls;
		return k;
	}
	for (i = 1; i <= calls && i <= WALK_NTH; i++)
		nth[k++] = i;
	for (i = 1; calls > WALK_NTH + 1 && i <= WALK_SPREAD; i++) {
		unsigned long at = WALK_NTH + (calls - WALK_NTH) * i /
					     (WALK_SPREAD + 1);

		if (at > nth[k - 1] && at < calls)
			nth[k++] = at;
	}
	if (calls > WALK_NTH)
		nth[k++] = calls;
	return k;
}

static void walk(bool persist)
{
	unsigned s, point, k, n, cases = 0, bad = 0, fired = 0;
	unsigned reached = 0, unreached = 0;
	unsigned long nth[WALK_NTH + WALK_SPREAD + 1];

	for (s = 0; s < NSHAPES; s++) {
		struct run clean;

		/* How often each point is reached when nothing fails. */
		run_shape(&shapes[s], gpupipe_fault_count(), 0, false, &clean);
		run_free(&clean);
		printf("\n  shape \"%s\", %s:\n", shapes[s].name,
		       persist ? "failing from the nth call on"
			       : "failing the nth call once");
		for (point = 0; point < GP_FAULT_COUNT; point++) {
			unsigned point_bad = 0;

			n = walk_nths(clean.calls[point], persist, nth);
			if (!n) {
				unreached++;
				continue;
			}
			reached++;
			for (k = 0; k < n; k++) {
				struct run r;
				const char *why;

				run_shape(&shapes[s], point, nth[k], persist,
					  &r);
				why = broken_rule(&r, point);
				cases++;
				fired += r.fired > 0;
				if (why) {
					point_bad++;
					printf("    FAIL %s #%lu: %s\n",
					       gpupipe_fault_name(point),
					       nth[k], why);
				}
				run_free(&r);
			}
			bad += point_bad;
			printf("    %-26s %4lu calls, %u cases%s\n",
			       gpupipe_fault_name(point), clean.calls[point],
			       n, point_bad ? ", FAILED" : "");
		}
	}
	printf("  %u cases (%u with a fault fired) over %u reached points; "
	       "%u point-shape pairs not reached; %u broke a rule\n",
	       cases, fired, reached, unreached, bad);
	CU_ASSERT_EQUAL(bad, 0);
	CU_ASSERT_TRUE(cases > 0);
}

static void test_walk_once(void)
{
	walk(false);
}

static void test_walk_persist(void)
{
	walk(true);
}

int main(void)
{
	CU_pSuite s;
	struct run warm;

	test_init(1800);
	/* The first pipeline loads the driver and whatever threads it
	 * keeps: count the process's resources after one. */
	run_shape(&shapes[0], gpupipe_fault_count(), 0, false, &warm);
	run_free(&warm);
	base_threads = count_threads();
	base_fds = count_fds();

	s = CU_add_suite("faults", NULL, NULL);
	CU_add_test(s, "a clean run: all DONE, no fault, no unflushed fence",
		    test_clean_run);
	CU_add_test(s, "a GL error in one dispatch fails that item only",
		    test_gl_error_fails_its_item);
	CU_add_test(s, "a failed glFenceSync fails its batch; the pipeline "
		       "goes on", test_fence_failure_fails_its_batch);
	CU_add_test(s, "failed timestamp reads fail no item",
		    test_query_failure_fails_nothing);
	CU_add_test(s, "a fence timeout: TIMEDOUT, then broken",
		    test_timeout_breaks_the_pipeline);
	CU_add_test(s, "a GPU reset: DEVICE_LOST for every item, broken",
		    test_device_reset);
	CU_add_test(s, "a push after a reset: GPUPIPE_EBROKEN at once",
		    test_push_after_reset);
	CU_add_test(s, "two devices: a timed-out one leaves rotation, the "
		       "other goes on", test_device_isolation);
	CU_add_test(s, "allocation/thread/context failures at create: the "
		       "documented code, nothing left behind",
		    test_create_failures_leave_nothing);
	CU_add_test(s, "a fence handed over without glFlush is caught",
		    test_unflushed_fence_is_caught);
	CU_add_test(s, "the walk: every point fails once at each of its calls",
		    test_walk_once);
	CU_add_test(s, "the walk: every point fails from its nth call on",
		    test_walk_persist);
	return test_run("faults");
}
