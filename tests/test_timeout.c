/* SPDX-License-Identifier: MIT */
/*
 * A kernel that runs past fence_timeout_ms (shaders/test_spin.comp: it
 * spins on GL_ARB_shader_clock, then frees the GPU by itself). On a GPU:
 * the item under that fence completes GPUPIPE_TIMEDOUT, the pipeline is
 * broken (later pushes return GPUPIPE_EBROKEN at once), every item queued
 * behind it completes, and destroy returns, in both wait modes. llvmpipe
 * runs a dispatch to its end inside glDispatchCompute, before the fence
 * exists, so no fence can time out there; on it this checks that the
 * spinning kernel runs and its outputs are right, and the timeout path is
 * covered by fault injection (tests/test_faults.c) instead.
 *
 * GPUPIPE_SPIN_TICKS (default 3e9, about 1.5 s at 2 GHz) sets the spin on
 * a GPU. The times printed are for the notes, never asserted.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <epoxy/egl.h>

#include "common.h"

#define ITEMS 6
#define ELEMS 64
#define TIMEOUT_MS 200

static char *spin_source;

struct spin_run {
	struct harness h;
	uint64_t push_ns;
	uint64_t done_ns[ITEMS];
	int status[ITEMS], error[ITEMS];
	bool accepted[ITEMS];
	unsigned rounds, ticks; /* item 0's spin */
	atomic_uint bad;
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int spin_prep(struct gpupipe_job *job, void *user_data)
{
	struct spin_run *r = user_data;
	uint64_t id = (uintptr_t)job->item - 1;
	uint32_t *x = job->input, i;

	for (i = 0; i < ELEMS; i++)
		x[i] = test_input(id, i);
	job->params[0] = test_tag(id);
	job->params[1] = ELEMS;
	job->params[2] = TEST_WEIGHTS;
	job->params[3] = id == 0 ? r->rounds : 0;
	job->params[4] = r->ticks;
	return 0;
}

static void spin_done(struct gpupipe_job *job, void *user_data)
{
	struct spin_run *r = user_data;
	uint64_t id = (uintptr_t)job->item - 1;

	if (id >= ITEMS || r->h.seen[id]) {
		atomic_fetch_add(&r->bad, 1);
		return;
	}
	r->h.seen[id]++;
	r->done_ns[id] = now_ns();
	r->status[id] = job->status;
	r->error[id] = job->error;
	if (job->status == GPUPIPE_DONE &&
	    !output_ok(&r->h, id, job->output))
		atomic_fetch_add(&r->bad, 1);
	if (job->status != GPUPIPE_DONE && (!job->message || !job->error))
		atomic_fetch_add(&r->bad, 1);
	atomic_fetch_add(&r->h.completions, 1);
}

/* Why reset notification is or is not on: what the display offers and
 * what context creation with each attribute says (printed only). */
static void print_reset_support(void)
{
	static const struct {
		const char *name;
		EGLint attr;
	} tries[] = {
		{ "EXT", EGL_CONTEXT_OPENGL_RESET_NOTIFICATION_STRATEGY_EXT },
		{ "KHR/1.5", EGL_CONTEXT_OPENGL_RESET_NOTIFICATION_STRATEGY_KHR },
	};
	EGLDisplay d = eglGetPlatformDisplayEXT(EGL_PLATFORM_SURFACELESS_MESA,
						EGL_DEFAULT_DISPLAY, NULL);
	const char *ext;
	EGLint major = 0, minor = 0;
	unsigned i;

	if (d == EGL_NO_DISPLAY || !eglInitialize(d, &major, &minor))
		return;
	ext = eglQueryString(d, EGL_EXTENSIONS);
	printf("    EGL %d.%d, EGL_EXT_create_context_robustness %s, "
	       "EGL_KHR_create_context %s\n", major, minor,
	       ext && strstr(ext, "EGL_EXT_create_context_robustness") ? "yes"
									: "no",
	       ext && strstr(ext, "EGL_KHR_create_context") ? "yes" : "no");
	eglBindAPI(EGL_OPENGL_API);
	for (i = 0; i < 2; i++) {
		const EGLint attrs[] = {
			EGL_CONTEXT_MAJOR_VERSION, 4,
			EGL_CONTEXT_MINOR_VERSION, 5,
			EGL_CONTEXT_OPENGL_PROFILE_MASK,
			EGL_CONTEXT_OPENGL_CORE_PROFILE_BIT,
			tries[i].attr, EGL_LOSE_CONTEXT_ON_RESET_EXT,
			EGL_NONE,
		};
		EGLContext c = eglCreateContext(d, EGL_NO_CONFIG_KHR,
						EGL_NO_CONTEXT, attrs);

		printf("    eglCreateContext with the %s reset attribute: %s "
		       "(0x%04x)\n", tries[i].name,
		       c != EGL_NO_CONTEXT ? "created" : "failed",
		       (unsigned)eglGetError());
		if (c != EGL_NO_CONTEXT)
			eglDestroyContext(d, c);
	}
	/* Not eglTerminate: the pipeline uses this display. */
}

static bool synchronous_driver(gpupipe *p)
{
	struct gpupipe_info info;

	gpupipe_get_info(p, &info);
	printf("    GL_RENDERER \"%s\", GL_VERSION \"%s\", reset "
	       "notification %s\n", info.renderer, info.version,
	       info.reset_notification ? "on" : "not offered");
	return strstr(info.renderer, "llvmpipe") != NULL;
}

/* r's pipeline: one item per fixed batch, two slots, the spin kernel,
 * fence_timeout_ms TIMEOUT_MS; spins briefly on a synchronous driver
 * (llvmpipe, whose clock counts CPU time). True if it is one. */
static bool spin_create(struct spin_run *r, enum gpupipe_wait wait)
{
	const char *ticks_env = getenv("GPUPIPE_SPIN_TICKS");
	double ticks = ticks_env ? atof(ticks_env) : 3e9;
	bool sync;
	int ret;

	memset(r, 0, sizeof(*r));
	harness_init(&r->h, ELEMS, 2, 1, 1, ITEMS);
	r->h.cfg.shader_source = spin_source;
	r->h.cfg.prep_cb = spin_prep;
	r->h.cfg.done_cb = spin_done;
	r->h.cfg.user_data = r;
	r->h.cfg.flags = GPUPIPE_FIXED_BATCH;
	r->h.cfg.wait = wait;
	r->h.cfg.fence_timeout_ms = TIMEOUT_MS;
	ret = gpupipe_create(&r->h.cfg, &r->h.p);
	if (ret)
		printf("    create: %s: %s\n", gpupipe_error_name(ret),
		       gpupipe_errmsg());
	CU_ASSERT_EQUAL_FATAL(ret, 0);
	sync = synchronous_driver(r->h.p);
	if (getenv("GPUPIPE_FORCE_DIAG") ||
	    (!sync && wait == GPUPIPE_WAIT_SIGNALLED))
		print_reset_support();
	if (sync)
		ticks = 2e6;
	r->rounds = (unsigned)(ticks / 1e9) + 1;
	r->ticks = (unsigned)(ticks / r->rounds);
	return sync;
}

/* A GPU: item 0 TIMEDOUT, the items behind it completed but not DONE,
 * the pipeline broken; prints when each came. */
static void check_hung(struct spin_run *r, enum gpupipe_wait wait,
		       unsigned accepted)
{
	unsigned last = 0;
	uint64_t t0, id;
	int ret;

	CU_ASSERT_TRUE(r->accepted[0]);
	CU_ASSERT_EQUAL(r->status[0], GPUPIPE_TIMEDOUT);
	CU_ASSERT_EQUAL(r->error[0], GPUPIPE_ETIMEDOUT);
	/* Items behind the hung one: completed, not DONE (their fences
	 * come after its, or they were never dispatched). */
	for (id = 1; id < ITEMS; id++) {
		if (!r->accepted[id])
			continue;
		CU_ASSERT_NOT_EQUAL(r->status[id], GPUPIPE_DONE);
		last = (unsigned)id;
	}
	t0 = now_ns();
	ret = gpupipe_push(r->h.p, (void *)(uintptr_t)ITEMS, 0);
	CU_ASSERT_EQUAL(ret, GPUPIPE_EBROKEN);
	printf("    %s: spin %u x %u ticks, fence_timeout_ms %d: item 0 "
	       "%s after %.1f ms; %u of %d pushes accepted, the last "
	       "(item %u) %s after %.1f ms; a push then: %s in %.3f "
	       "ms\n",
	       wait == GPUPIPE_WAIT_BLOCK ? "block" : "signalled",
	       r->rounds, r->ticks, TIMEOUT_MS,
	       gpupipe_status_name(r->status[0]),
	       (double)(r->done_ns[0] - r->push_ns) / 1e6, accepted,
	       ITEMS, last, gpupipe_status_name(r->status[last]),
	       (double)(r->done_ns[last] - r->push_ns) / 1e6,
	       gpupipe_error_name(ret), (double)(now_ns() - t0) / 1e6);
}

static void run_spin(enum gpupipe_wait wait)
{
	struct gpupipe_stats st;
	struct spin_run r;
	bool sync = spin_create(&r, wait);
	unsigned accepted = 0;
	uint64_t t0, id;
	int ret;

	/* Pushes block while both slots are busy; once the timeout broke
	 * the pipeline, a push returns GPUPIPE_EBROKEN instead. */
	r.push_ns = now_ns();
	for (id = 0; id < ITEMS; id++) {
		ret = gpupipe_push(r.h.p, (void *)(uintptr_t)(id + 1), 0);
		r.accepted[id] = ret == 0;
		if (ret)
			CU_ASSERT_EQUAL(ret, GPUPIPE_EBROKEN);
		accepted += r.accepted[id];
	}
	CU_ASSERT_EQUAL(gpupipe_drain(r.h.p, 60000), 0);
	CU_ASSERT_EQUAL(atomic_load(&r.h.completions), accepted);
	for (id = 0; id < ITEMS; id++)
		CU_ASSERT_EQUAL(r.h.seen[id], r.accepted[id]);
	CU_ASSERT_EQUAL(atomic_load(&r.bad), 0);
	CU_ASSERT_EQUAL(gpupipe_get_stats(r.h.p, &st), 0);
	if (sync) {
		printf("    llvmpipe: the dispatch ends before its fence "
		       "exists; all %d items DONE, outputs checked\n", ITEMS);
		for (id = 0; id < ITEMS; id++)
			CU_ASSERT_EQUAL(r.status[id], GPUPIPE_DONE);
		CU_ASSERT_EQUAL(st.broken, 0);
	} else {
		CU_ASSERT_EQUAL(st.broken, GPUPIPE_TIMEDOUT);
		check_hung(&r, wait, accepted);
	}
	t0 = now_ns();
	CU_ASSERT_EQUAL(gpupipe_destroy(r.h.p), 0);
	if (!sync)
		printf("    destroy returned in %.1f ms\n",
		       (double)(now_ns() - t0) / 1e6);
	r.h.p = NULL;
	harness_fini(&r.h);
}

static void test_timeout_signalled(void)
{
	run_spin(GPUPIPE_WAIT_SIGNALLED);
}

static void test_timeout_block(void)
{
	run_spin(GPUPIPE_WAIT_BLOCK);
}

int main(void)
{
	const char *dir = getenv("GPUPIPE_SHADER_DIR");
	char path[4096];
	CU_pSuite s;
	int ret;

	test_init(120);
	snprintf(path, sizeof(path), "%s/test_spin.comp",
		 dir ? dir : SHADER_DIR);
	if (gpupipe_load_shader(path, &spin_source)) {
		fprintf(stderr, "%s\n", gpupipe_errmsg());
		return 2;
	}
	s = CU_add_suite("timeout", NULL, NULL);
	CU_add_test(s, "a kernel past fence_timeout_ms, signalled wait: "
		       "TIMEDOUT, broken, all completed",
		    test_timeout_signalled);
	CU_add_test(s, "a kernel past fence_timeout_ms, blocking wait: "
		       "TIMEDOUT, broken, all completed",
		    test_timeout_block);
	ret = test_run("timeout");
	free(spin_source);
	return ret;
}
