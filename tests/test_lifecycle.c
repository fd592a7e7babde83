/* SPDX-License-Identifier: MIT */
/*
 * The pipeline's life: destroy with items in every state, drain, cancel,
 * backpressure, idle threads, create/destroy cycles, two pipelines, and
 * the caller's own EGL context.
 */
#include "config.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/wait.h>
#include <unistd.h>

#include <epoxy/egl.h>

#include "common.h"

static void sleep_ms(unsigned ms)
{
	usleep(ms * 1000u);
}

/* Wait (bounded by the watchdog) until *v reaches want. */
static void wait_for(atomic_int *v, int want)
{
	while (atomic_load(v) < want)
		usleep(200);
}

static void *destroy_thread(void *arg)
{
	struct harness *h = arg;

	CU_ASSERT_EQUAL(gpupipe_destroy(h->p), 0);
	return NULL;
}

/*
 * "items not yet prepared complete as GPUPIPE_CANCELLED; items being
 * prepared, ready or in flight run to completion ... Every accepted item
 * has had its done_cb when it returns, and no callback runs after."
 * Items 0, 1 and 3 are held inside prep_cb, item 2 is prepared and
 * finished but waits for its turn, items 4-7 are queued with every slot
 * busy.
 */
static void test_destroy_every_state(void)
{
	struct harness h;
	pthread_t th;
	uint64_t after;
	int ret, i;

	harness_init(&h, 64, 4, 2, 3, 8);
	/* A fixed batch: pushes may hold every one of the 8 slots (an
	 * adaptive pipeline starts with fewer in flight). */
	h.cfg.flags = GPUPIPE_FIXED_BATCH;
	h.hold_mask = (1u << 0) | (1u << 1) | (1u << 3);
	atomic_store(&h.gate, 0);
	CU_ASSERT_EQUAL_FATAL(harness_create(&h), 0);
	CU_ASSERT_EQUAL(harness_push(&h, 0, 8), 0);
	wait_for(&h.prep_running, 3);
	/* Every slot is taken: a non-blocking push says so... */
	CU_ASSERT_EQUAL(gpupipe_push(h.p, (void *)100, GPUPIPE_NONBLOCK),
			GPUPIPE_EAGAIN);
	CU_ASSERT_EQUAL(atomic_load(&h.completions), 0);

	pthread_create(&th, NULL, destroy_thread, &h);
	/* ...until destroy begins; then it says that instead. */
	while ((ret = gpupipe_push(h.p, (void *)100, GPUPIPE_NONBLOCK)) ==
	       GPUPIPE_EAGAIN)
		usleep(200);
	CU_ASSERT_EQUAL(ret, GPUPIPE_ESHUTDOWN);
	atomic_store(&h.gate, 1);
	pthread_join(th, NULL);
	h.p = NULL;

	after = atomic_load(&h.completions);
	CU_ASSERT_EQUAL(after, 8);
	CU_ASSERT_EQUAL(atomic_load(&h.by_status[GPUPIPE_DONE]), 4);
	CU_ASSERT_EQUAL(atomic_load(&h.by_status[GPUPIPE_CANCELLED]), 4);
	CU_ASSERT_EQUAL(atomic_load(&h.bad_output), 0);
	CU_ASSERT_EQUAL(atomic_load(&h.bad_status), 0);
	CU_ASSERT_EQUAL(atomic_load(&h.bad_order), 0);
	CU_ASSERT_EQUAL(atomic_load(&h.bad_seq), 0);
	for (i = 0; i < 8; i++)
		CU_ASSERT_EQUAL(h.seen[i], 1);
	sleep_ms(20);
	CU_ASSERT_EQUAL(atomic_load(&h.completions), after);
	harness_fini(&h);
}

/*
 * gpupipe.h, prep_cb: "Runs on a prep thread, concurrently with other
 * prep_cbs and with done_cbs; an item waits for a prep_cb to return only
 * while every prep thread is in one." With four prep threads asleep
 * (after a drain and a pause), four items are pushed and the first three
 * held inside prep_cb: all three are held at once, so none waited behind
 * another's prep_cb, and the fourth completes once they let go.
 */
static void test_prep_pool_spreads(void)
{
	struct harness h;
	int round;

	harness_init(&h, 16, 2, 4, 4, 40);
	atomic_store(&h.gate, 0);
	CU_ASSERT_EQUAL_FATAL(harness_create(&h), 0);
	for (round = 0; round < 4; round++) {
		uint64_t first = (uint64_t)round * 10;

		CU_ASSERT_EQUAL(harness_push(&h, first, 6), 0);
		CU_ASSERT_EQUAL(gpupipe_drain(h.p, -1), 0);
		sleep_ms(20); /* the prep threads go to sleep */
		h.hold_mask = 7ull << (first + 6);
		CU_ASSERT_EQUAL(harness_push(&h, first + 6, 4), 0);
		wait_for(&h.prep_running, 3);
		atomic_store(&h.gate, 1);
		CU_ASSERT_EQUAL(gpupipe_drain(h.p, -1), 0);
		atomic_store(&h.gate, 0);
		CU_ASSERT_EQUAL(atomic_load(&h.completions), first + 10);
	}
	CU_ASSERT_EQUAL(atomic_load(&h.by_status[GPUPIPE_DONE]), 40);
	CU_ASSERT_EQUAL(atomic_load(&h.bad_output), 0);
	CU_ASSERT_EQUAL(atomic_load(&h.bad_order), 0);
	harness_fini(&h);
}

/* "gpupipe_drain: wait until every item pushed before this call has
 * completed ... GPUPIPE_ETIMEDOUT". */
static void test_drain(void)
{
	struct harness h;

	harness_init(&h, 16, 3, 1, 1, 10);
	h.hold_mask = 1;
	atomic_store(&h.gate, 0);
	CU_ASSERT_EQUAL_FATAL(harness_create(&h), 0);
	CU_ASSERT_EQUAL(harness_push(&h, 0, 3), 0);
	CU_ASSERT_EQUAL(gpupipe_drain(h.p, 30), GPUPIPE_ETIMEDOUT);
	CU_ASSERT(strstr(gpupipe_errmsg(), "still running") != NULL);
	CU_ASSERT_EQUAL(gpupipe_drain(h.p, 0), GPUPIPE_ETIMEDOUT);
	atomic_store(&h.gate, 1);
	CU_ASSERT_EQUAL(gpupipe_drain(h.p, -1), 0);
	CU_ASSERT_EQUAL(atomic_load(&h.completions), 3);
	/* Pushing stays open; a drain with nothing pending returns. */
	CU_ASSERT_EQUAL(harness_push(&h, 3, 7), 0);
	CU_ASSERT_EQUAL(gpupipe_drain(h.p, 10000), 0);
	CU_ASSERT_EQUAL(gpupipe_drain(h.p, 0), 0);
	CU_ASSERT_EQUAL(atomic_load(&h.by_status[GPUPIPE_DONE]), 10);
	CU_ASSERT_EQUAL(atomic_load(&h.bad_output), 0);
	harness_fini(&h);
}

/* "gpupipe_cancel: complete every item not yet taken by a prep thread as
 * GPUPIPE_CANCELLED ... The pipeline stays usable." */
static void test_cancel(void)
{
	struct harness h;

	harness_init(&h, 16, 8, 1, 1, 20);
	h.hold_mask = 1;
	atomic_store(&h.gate, 0);
	CU_ASSERT_EQUAL_FATAL(harness_create(&h), 0);
	CU_ASSERT_EQUAL(harness_push(&h, 0, 6), 0);
	wait_for(&h.prep_running, 1);
	CU_ASSERT_EQUAL(gpupipe_cancel(h.p), 5);
	atomic_store(&h.gate, 1);
	CU_ASSERT_EQUAL(gpupipe_drain(h.p, -1), 0);
	CU_ASSERT_EQUAL(atomic_load(&h.by_status[GPUPIPE_DONE]), 1);
	CU_ASSERT_EQUAL(atomic_load(&h.by_status[GPUPIPE_CANCELLED]), 5);
	CU_ASSERT_EQUAL(gpupipe_cancel(h.p), 0);
	CU_ASSERT_EQUAL(harness_push(&h, 6, 14), 0);
	CU_ASSERT_EQUAL(gpupipe_drain(h.p, -1), 0);
	CU_ASSERT_EQUAL(atomic_load(&h.by_status[GPUPIPE_DONE]), 15);
	CU_ASSERT_EQUAL(atomic_load(&h.completions), 20);
	CU_ASSERT_EQUAL(atomic_load(&h.bad_output), 0);
	CU_ASSERT_EQUAL(atomic_load(&h.bad_status), 0);
	CU_ASSERT_EQUAL(atomic_load(&h.bad_order), 0);
	harness_fini(&h);
}

/* "prep_cb ... any other value fails the item: it completes as
 * GPUPIPE_FAILED with that value in job->error": the others are DONE,
 * in order. */
static void test_prep_failure(void)
{
	struct harness h;

	harness_init(&h, 16, 3, 4, 2, 100);
	h.fail_id = 17;
	CU_ASSERT_EQUAL_FATAL(harness_create(&h), 0);
	CU_ASSERT_EQUAL(harness_push(&h, 0, 100), 0);
	CU_ASSERT_EQUAL(gpupipe_drain(h.p, -1), 0);
	CU_ASSERT_EQUAL(atomic_load(&h.by_status[GPUPIPE_FAILED]), 1);
	CU_ASSERT_EQUAL(atomic_load(&h.by_status[GPUPIPE_DONE]), 99);
	CU_ASSERT_EQUAL(atomic_load(&h.bad_status), 0);
	CU_ASSERT_EQUAL(atomic_load(&h.bad_output), 0);
	CU_ASSERT_EQUAL(atomic_load(&h.bad_order), 0);
	harness_fini(&h);
}

struct blocked_push {
	struct harness *h;
	atomic_int returned;
	int ret;
};

static void *blocking_push_thread(void *arg)
{
	struct blocked_push *b = arg;

	b->ret = gpupipe_push(b->h->p, (void *)(uintptr_t)(2 + 1), 0);
	atomic_store(&b->returned, 1);
	return NULL;
}

/* "Blocks while every slot is busy; with GPUPIPE_NONBLOCK returns
 * GPUPIPE_EAGAIN instead." A done_cb held on a gate keeps both slots
 * busy. */
static void test_backpressure(void)
{
	struct harness h;
	struct blocked_push b = { 0 };
	pthread_t th;

	harness_init(&h, 16, 2, 1, 1, 3);
	atomic_store(&h.done_gate, 0);
	CU_ASSERT_EQUAL_FATAL(harness_create(&h), 0);
	CU_ASSERT_EQUAL(harness_push(&h, 0, 2), 0);
	wait_for(&h.done_waiting, 1);
	CU_ASSERT_EQUAL(gpupipe_push(h.p, (void *)3, GPUPIPE_NONBLOCK),
			GPUPIPE_EAGAIN);
	CU_ASSERT(strstr(gpupipe_errmsg(), "in-flight limit") != NULL);
	b.h = &h;
	pthread_create(&th, NULL, blocking_push_thread, &b);
	sleep_ms(100);
	CU_ASSERT_EQUAL(atomic_load(&b.returned), 0);
	atomic_store(&h.done_gate, 1);
	pthread_join(th, NULL);
	CU_ASSERT_EQUAL(b.ret, 0);
	CU_ASSERT_EQUAL(gpupipe_drain(h.p, -1), 0);
	CU_ASSERT_EQUAL(atomic_load(&h.by_status[GPUPIPE_DONE]), 3);
	CU_ASSERT_EQUAL(atomic_load(&h.bad_output), 0);
	harness_fini(&h);
}

/* "memory never grows with the number of items pushed": 100,000 pushes
 * through 3 slots with a slow-ish consumer; in flight never exceeds the
 * slot count, and resident memory stays flat. */
static void test_memory_flat(void)
{
	struct harness h;
	const uint64_t n = 100000;
	long before, after;

	harness_init(&h, 8, 3, 1, 2, n);
	CU_ASSERT_EQUAL_FATAL(harness_create(&h), 0);
	CU_ASSERT_EQUAL(harness_push(&h, 0, 2000), 0);
	CU_ASSERT_EQUAL(gpupipe_drain(h.p, -1), 0);
	before = rss_kib();
	CU_ASSERT_EQUAL(harness_push(&h, 2000, n - 2000), 0);
	CU_ASSERT_EQUAL(gpupipe_drain(h.p, -1), 0);
	after = rss_kib();
	printf("\n    RSS %ld KiB -> %ld KiB over %llu pushes, max in flight "
	       "%llu ", before, after, (unsigned long long)n,
	       (unsigned long long)atomic_load(&h.max_in_flight));
#if !defined(__SANITIZE_THREAD__) && !defined(__SANITIZE_ADDRESS__)
	/* Sanitizer runtimes grow their own shadow and history memory as
	 * they run; the plain build makes this check. */
	CU_ASSERT(after - before < 1024);
#endif
	CU_ASSERT(atomic_load(&h.max_in_flight) <= 3);
	CU_ASSERT_EQUAL(atomic_load(&h.by_status[GPUPIPE_DONE]), n);
	CU_ASSERT_EQUAL(atomic_load(&h.bad_output), 0);
	CU_ASSERT_EQUAL(atomic_load(&h.bad_order), 0);
	harness_fini(&h);
}

static uint64_t total_cpu_ns(gpupipe *p)
{
	struct gpupipe_stats st;

	gpupipe_get_stats(p, &st);
	return st.prep_cpu_ns + st.submit_cpu_ns + st.readback_cpu_ns;
}

/* An idle stage sleeps: all of an idle pipeline's threads together use
 * under 5% of one core over half a second. */
static void test_idle_threads_sleep(void)
{
	struct harness h;
	uint64_t before, used;

	harness_init(&h, 16, 3, 1, 4, 10);
	CU_ASSERT_EQUAL_FATAL(harness_create(&h), 0);
	CU_ASSERT_EQUAL(harness_push(&h, 0, 10), 0);
	CU_ASSERT_EQUAL(gpupipe_drain(h.p, -1), 0);
	before = total_cpu_ns(h.p);
	sleep_ms(500);
	used = total_cpu_ns(h.p) - before;
	printf("\n    idle: %llu us CPU in 500 ms over 6 threads ",
	       (unsigned long long)(used / 1000));
	CU_ASSERT(used < 25000000u);
	harness_fini(&h);
}

/* create/destroy cycles leave no thread or file descriptor behind. */
static void test_create_destroy_cycles(void)
{
	const char *env = getenv("GPUPIPE_TEST_CYCLES");
	unsigned cycles = env ? (unsigned)atoi(env) : 1000;
	int fds, threads, i;

	{
		/* The first create opens the driver for good; count after. */
		struct harness h;

		harness_init(&h, 16, 3, 1, 2, 1);
		CU_ASSERT_EQUAL_FATAL(harness_create(&h), 0);
		harness_fini(&h);
	}
	fds = count_fds();
	threads = count_threads();
	for (i = 0; i < (int)cycles; i++) {
		struct harness h;

		harness_init(&h, 16, 1 + i % 8, 1 + i % 3, 1 + i % 4, 2);
		CU_ASSERT_EQUAL_FATAL(harness_create(&h), 0);
		if (i % 2)
			CU_ASSERT_EQUAL(harness_push(&h, 0, 2), 0);
		harness_fini(&h);
		if (i % 2)
			CU_ASSERT_EQUAL(atomic_load(&h.completions), 2);
	}
	CU_ASSERT_EQUAL(count_fds(), fds);
	CU_ASSERT_EQUAL(count_threads(), threads);
}

/* Two pipelines at once, on the same display, each with its own output;
 * destroying one leaves the other running. */
static void test_two_pipelines(void)
{
	struct harness a, b;

	harness_init(&a, 16, 3, 1, 2, 600);
	harness_init(&b, 100, 2, 4, 1, 600);
	CU_ASSERT_EQUAL_FATAL(harness_create(&a), 0);
	CU_ASSERT_EQUAL_FATAL(harness_create(&b), 0);
	CU_ASSERT_EQUAL(harness_push(&a, 0, 300), 0);
	CU_ASSERT_EQUAL(harness_push(&b, 0, 300), 0);
	CU_ASSERT_EQUAL(gpupipe_destroy(a.p), 0);
	a.p = NULL;
	CU_ASSERT_EQUAL(harness_push(&b, 300, 300), 0);
	CU_ASSERT_EQUAL(gpupipe_drain(b.p, -1), 0);
	CU_ASSERT_EQUAL(atomic_load(&a.by_status[GPUPIPE_DONE]), 300);
	CU_ASSERT_EQUAL(atomic_load(&b.by_status[GPUPIPE_DONE]), 600);
	CU_ASSERT_EQUAL(atomic_load(&a.bad_output) +
				atomic_load(&b.bad_output), 0);
	harness_fini(&a);
	harness_fini(&b);
}

/* "gpupipe never changes the calling thread's current EGL context." */
static void test_caller_context_untouched(void)
{
	static const EGLint attrs[] = {
		EGL_CONTEXT_MAJOR_VERSION, 3, EGL_CONTEXT_MINOR_VERSION, 3,
		EGL_CONTEXT_OPENGL_PROFILE_MASK,
		EGL_CONTEXT_OPENGL_CORE_PROFILE_BIT, EGL_NONE
	};
	struct harness h;
	EGLDisplay dpy;
	EGLContext mine;
	EGLint major, minor;

	dpy = eglGetPlatformDisplayEXT(EGL_PLATFORM_SURFACELESS_MESA,
				       EGL_DEFAULT_DISPLAY, NULL);
	CU_ASSERT_FATAL(dpy != EGL_NO_DISPLAY);
	CU_ASSERT_FATAL(eglInitialize(dpy, &major, &minor));
	CU_ASSERT_FATAL(eglBindAPI(EGL_OPENGL_ES_API));
	CU_ASSERT_FATAL(eglBindAPI(EGL_OPENGL_API));
	mine = eglCreateContext(dpy, EGL_NO_CONFIG_KHR, EGL_NO_CONTEXT, attrs);
	CU_ASSERT_FATAL(mine != EGL_NO_CONTEXT);
	CU_ASSERT_FATAL(eglMakeCurrent(dpy, EGL_NO_SURFACE, EGL_NO_SURFACE,
				       mine));
	/* A different bound API than the library uses, to see it kept. */
	CU_ASSERT_FATAL(eglBindAPI(EGL_OPENGL_ES_API));

	harness_init(&h, 16, 3, 1, 2, 20);
	CU_ASSERT_EQUAL_FATAL(harness_create(&h), 0);
	CU_ASSERT_EQUAL(eglQueryAPI(), EGL_OPENGL_ES_API);
	CU_ASSERT_EQUAL(harness_push(&h, 0, 20), 0);
	CU_ASSERT_EQUAL(gpupipe_drain(h.p, -1), 0);
	harness_fini(&h);
	CU_ASSERT_EQUAL(eglQueryAPI(), EGL_OPENGL_ES_API);
	eglBindAPI(EGL_OPENGL_API);
	CU_ASSERT(eglGetCurrentContext() == mine);
	CU_ASSERT(eglGetCurrentDisplay() == dpy);
	/* We initialised the display first, so gpupipe left it alive. */
	CU_ASSERT(eglQueryString(dpy, EGL_VERSION) != NULL);
	CU_ASSERT_EQUAL(atomic_load(&h.by_status[GPUPIPE_DONE]), 20);
	eglMakeCurrent(dpy, EGL_NO_SURFACE, EGL_NO_SURFACE, EGL_NO_CONTEXT);
	eglDestroyContext(dpy, mine);
	eglTerminate(dpy);
	eglReleaseThread();
}

/* After fork(), "every call in the child returns a documented code, never
 * hangs": the child gets GPUPIPE_EBROKEN from each call that could wait;
 * the parent's pipeline runs on. */
static void test_fork(void)
{
	struct harness h;
	pid_t pid;
	int status = -1;

	harness_init(&h, 16, 3, 1, 1, 40);
	CU_ASSERT_EQUAL_FATAL(harness_create(&h), 0);
	CU_ASSERT_EQUAL(harness_push(&h, 0, 10), 0);
	pid = fork();
	if (pid == 0) {
		int bad = 0;

		alarm(10); /* a hang fails the child, and so the test */
		bad |= gpupipe_push(h.p, (void *)1, 0) != GPUPIPE_EBROKEN;
		bad |= strstr(gpupipe_errmsg(), "fork") == NULL;
		bad |= gpupipe_push(h.p, (void *)1, GPUPIPE_NONBLOCK) !=
		       GPUPIPE_EBROKEN;
		bad |= gpupipe_drain(h.p, -1) != GPUPIPE_EBROKEN;
		bad |= gpupipe_cancel(h.p) != GPUPIPE_EBROKEN;
		bad |= gpupipe_trace_begin(h.p, 10, 0) != GPUPIPE_EBROKEN;
		bad |= gpupipe_destroy(h.p) != GPUPIPE_EBROKEN;
		bad |= gpupipe_create(&h.cfg, &h.p) != GPUPIPE_EBROKEN;
		_exit(bad ? 1 : 0);
	}
	CU_ASSERT_FATAL(pid > 0);
	CU_ASSERT_EQUAL(waitpid(pid, &status, 0), pid);
	CU_ASSERT(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	CU_ASSERT_EQUAL(harness_push(&h, 10, 30), 0);
	CU_ASSERT_EQUAL(gpupipe_drain(h.p, -1), 0);
	harness_check(&h, 40, 40);
	harness_fini(&h);
}

int main(void)
{
	CU_pSuite s;

	test_init(1200);
	s = CU_add_suite("lifecycle", NULL, NULL);
	CU_add_test(s, "destroy with items in every state",
		    test_destroy_every_state);
	CU_add_test(s, "drain", test_drain);
	CU_add_test(s, "items go to idle prep threads",
		    test_prep_pool_spreads);
	CU_add_test(s, "cancel", test_cancel);
	CU_add_test(s, "prep failure fails one item", test_prep_failure);
	CU_add_test(s, "backpressure", test_backpressure);
	CU_add_test(s, "memory flat over 100k pushes", test_memory_flat);
	CU_add_test(s, "idle threads sleep", test_idle_threads_sleep);
	CU_add_test(s, "create/destroy cycles", test_create_destroy_cycles);
	CU_add_test(s, "two pipelines at once", test_two_pipelines);
	CU_add_test(s, "caller's EGL context untouched",
		    test_caller_context_untouched);
	CU_add_test(s, "fork: the child gets EBROKEN, never a hang",
		    test_fork);
	return test_run("lifecycle");
}
