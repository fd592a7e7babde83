/* SPDX-License-Identifier: MIT */
/*
 * test_contracts: sentences of gpupipe.h and the man pages that a review
 * found broken (issue 16), one case each, quoting the sentence. Each case
 * failed on the library before its fix. Races that need a window widen it
 * with a delay point of the fault-injection build (src/fault.h); those
 * cases run only in that build.
 */
#include "config.h"

#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common.h"
#ifdef GPUPIPE_FAULT_INJECTION
#include "fault.h"
#endif

/* Generous bounds on things that take milliseconds: a case that reaches
 * one has hung (and says so) instead of waiting for the watchdog. */
#define HANG_S 20

/* Wait until *v >= want or HANG_S pass; whether it got there. */
static bool wait_for(atomic_uint_fast64_t *v, uint64_t want)
{
	double end = test_now_s() + HANG_S;

	while (atomic_load(v) < want)
		if (test_now_s() > end)
			return false;
		else
			usleep(1000);
	return true;
}

/* ---- a blocking push while outputs are kept --------------------------- */

struct pushes {
	struct harness *h;
	uint64_t first, n;
	atomic_uint_fast64_t returned;
	int ret;
};

static void *push_thread(void *arg)
{
	struct pushes *ps = arg;
	uint64_t id;

	for (id = ps->first; id < ps->first + ps->n; id++) {
		int ret = gpupipe_push(ps->h->p, (void *)(uintptr_t)(id + 1), 0);

		if (ret && !ps->ret)
			ps->ret = ret;
		atomic_fetch_add(&ps->returned, 1);
	}
	return NULL;
}

/*
 * gpupipe_job_keep(3): "Kept slots are busy, so a blocking push waits
 * until one is released". It waits for a released slot, or for one that
 * comes free by itself: with seven of eight slots kept, the eighth keeps
 * cycling, and three blocking pushes all return.
 */
static void test_push_while_kept(void)
{
	struct harness h;
	struct pushes ps;
	pthread_t th;
	uint64_t id;

	harness_init(&h, 16, 2, 4, 1, 16);
	h.cfg.flags = GPUPIPE_FIXED_BATCH; /* 2 x 4 = 8 slots */
	h.keep_every = 1;
	if (harness_create(&h)) {
		CU_FAIL("create");
		return;
	}
	CU_ASSERT_EQUAL(harness_push(&h, 0, 7), 0);
	CU_ASSERT_EQUAL(gpupipe_drain(h.p, -1), 0);
	h.keep_every = 0; /* done_cb runs no more: drained */
	ps = (struct pushes){ .h = &h, .first = 7, .n = 3 };
	pthread_create(&th, NULL, push_thread, &ps);
	CU_ASSERT_TRUE(wait_for(&ps.returned, 3));
	/* Releasing the kept ones lets a stuck push go on, then it ends. */
	for (id = 0; id < 7; id++)
		if (h.kept[id])
			CU_ASSERT_EQUAL(gpupipe_release(h.p, h.kept[id]), 0);
	pthread_join(th, NULL);
	CU_ASSERT_EQUAL(ps.ret, 0);
	CU_ASSERT_EQUAL(gpupipe_drain(h.p, -1), 0);
	harness_check(&h, 10, 10);
	harness_fini(&h);
}

/* A pusher whose thread's CPU time can be read. */
struct timed_push {
	struct pushes ps;
	clockid_t cpu;
	atomic_int started;
};

static void *timed_push_thread(void *arg)
{
	struct timed_push *t = arg;

	pthread_getcpuclockid(pthread_self(), &t->cpu);
	atomic_store(&t->started, 1);
	return push_thread(&t->ps);
}

static double cpu_s(clockid_t c)
{
	struct timespec ts;

	clock_gettime(c, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/*
 * gpupipe.h, gpupipe_push: it "blocks while the pipeline is full". With
 * every slot kept, a blocking push waits for a release asleep: over half
 * a second it uses almost no CPU (it spun, looking again and again, since
 * every slot in use being a kept one counted as a reason to look), and
 * the release lets it go on.
 */
static void test_push_sleeps_while_all_kept(void)
{
	struct harness h;
	struct timed_push t = { 0 };
	pthread_t th;
	double cpu0, used;
	uint64_t id;

	harness_init(&h, 16, 2, 4, 1, 9);
	h.cfg.flags = GPUPIPE_FIXED_BATCH; /* 2 x 4 = 8 slots */
	h.keep_every = 1;
	CU_ASSERT_EQUAL_FATAL(harness_create(&h), 0);
	CU_ASSERT_EQUAL(harness_push(&h, 0, 8), 0);
	CU_ASSERT_EQUAL(gpupipe_drain(h.p, -1), 0);
	h.keep_every = 0;
	t.ps = (struct pushes){ .h = &h, .first = 8, .n = 1 };
	pthread_create(&th, NULL, timed_push_thread, &t);
	while (!atomic_load(&t.started))
		usleep(1000);
	usleep(100000); /* asleep by now */
	cpu0 = cpu_s(t.cpu);
	usleep(500000);
	used = cpu_s(t.cpu) - cpu0;
	CU_ASSERT_EQUAL(atomic_load(&t.ps.returned), 0);
	if (used >= 0.05)
		printf("\n    the blocked push used %.0f ms of CPU in 500 ms ",
		       used * 1e3);
	CU_ASSERT_TRUE(used < 0.05);
	for (id = 0; id < 8; id++)
		if (h.kept[id])
			CU_ASSERT_EQUAL(gpupipe_release(h.p, h.kept[id]), 0);
	pthread_join(th, NULL);
	CU_ASSERT_EQUAL(t.ps.ret, 0);
	CU_ASSERT_EQUAL(gpupipe_drain(h.p, -1), 0);
	harness_check(&h, 9, 9);
	harness_fini(&h);
}

/* ---- drain ------------------------------------------------------------ */

/*
 * gpupipe.h: "timeout_ms < 0 waits for ever." and "Returns 0,
 * GPUPIPE_ETIMEDOUT, ...": a timeout too long to add to the clock
 * (LONG_MAX) is a long wait, not an instant ETIMEDOUT.
 */
static void test_drain_long_timeout(void)
{
	struct harness h;

	harness_init(&h, 16, 3, 0, 2, 64);
	if (harness_create(&h)) {
		CU_FAIL("create");
		return;
	}
	CU_ASSERT_EQUAL(gpupipe_drain(h.p, LONG_MAX), 0);
	CU_ASSERT_EQUAL(harness_push(&h, 0, 64), 0);
	CU_ASSERT_EQUAL(gpupipe_drain(h.p, LONG_MAX), 0);
	harness_check(&h, 64, 64);
	harness_fini(&h);
}

/* ---- what prep_cb and done_cb may see and do ------------------------- */

static atomic_uint_fast64_t stale_gl_fields, preps_seen;

static int check_gl_fields_prep(struct gpupipe_job *job, void *user_data)
{
	(void)user_data;
	if (job->gl_output_buffer || job->gl_output_offset)
		atomic_fetch_add(&stale_gl_fields, 1);
	atomic_fetch_add(&preps_seen, 1);
	return 0;
}

/*
 * gpupipe.h, struct gpupipe_job: gl_output_buffer and gl_output_offset
 * are "0 outside done_cb". prep_cb of items that reuse a slot saw the
 * previous item's values.
 */
static void test_prep_sees_no_gl_output(void)
{
	struct gpupipe_config c = test_basic_config();
	struct gpupipe_info info;
	gpupipe *p = NULL;
	uint64_t i, n;

	c.depth = 2;
	c.max_batch = 2;
	c.flags = GPUPIPE_FIXED_BATCH;
	c.prep_cb = check_gl_fields_prep;
	atomic_store(&stale_gl_fields, 0);
	atomic_store(&preps_seen, 0);
	CU_ASSERT_EQUAL_FATAL(gpupipe_create(&c, &p), 0);
	gpupipe_get_info(p, &info);
	n = 4 * info.slots;
	for (i = 0; i < n; i++)
		CU_ASSERT_EQUAL(gpupipe_push(p, (void *)(uintptr_t)(i + 1), 0),
				0);
	CU_ASSERT_EQUAL(gpupipe_drain(p, -1), 0);
	CU_ASSERT_EQUAL(atomic_load(&preps_seen), n);
	CU_ASSERT_EQUAL(atomic_load(&stale_gl_fields), 0);
	CU_ASSERT_EQUAL(gpupipe_destroy(p), 0);
}

/* Pipeline B's done_cb offers its job and waits; A's done_cb tries to
 * keep it. */
static struct {
	struct gpupipe_job *_Atomic b_job;
	atomic_int b_may_return;
	atomic_int a_tried;
	int a_keep;
} foreign;

static void foreign_done_b(struct gpupipe_job *job, void *user_data)
{
	double end = test_now_s() + HANG_S;

	(void)user_data;
	atomic_store(&foreign.b_job, job);
	while (!atomic_load(&foreign.b_may_return) && test_now_s() < end)
		usleep(1000);
	atomic_store(&foreign.b_job, NULL);
}

static void foreign_done_a(struct gpupipe_job *job, void *user_data)
{
	double end = test_now_s() + HANG_S;
	struct gpupipe_job *b = NULL;

	(void)job;
	(void)user_data;
	while (!(b = atomic_load(&foreign.b_job)) && test_now_s() < end)
		usleep(1000);
	foreign.a_keep = b ? gpupipe_job_keep(b) : -1;
	atomic_store(&foreign.a_tried, 1);
}

/*
 * gpupipe_job_keep(3): "call it from done_cb with that callback's job".
 * A's done_cb, handed B's job while B's done_cb runs, gets
 * GPUPIPE_EINVAL (it got 0, and B's slot was kept by nobody for good).
 */
static void test_keep_foreign_job(void)
{
	struct gpupipe_config ca = test_basic_config();
	struct gpupipe_config cb = test_basic_config();
	gpupipe *a = NULL, *b = NULL;
	struct gpupipe_stats st;

	memset(&foreign, 0, sizeof(foreign));
	ca.done_cb = foreign_done_a;
	cb.done_cb = foreign_done_b;
	CU_ASSERT_EQUAL_FATAL(gpupipe_create(&ca, &a), 0);
	CU_ASSERT_EQUAL_FATAL(gpupipe_create(&cb, &b), 0);
	CU_ASSERT_EQUAL(gpupipe_push(b, (void *)1, 0), 0);
	CU_ASSERT_EQUAL(gpupipe_push(a, (void *)1, 0), 0);
	CU_ASSERT_EQUAL(gpupipe_drain(a, -1), 0);
	atomic_store(&foreign.b_may_return, 1);
	CU_ASSERT_EQUAL(gpupipe_drain(b, -1), 0);
	CU_ASSERT_EQUAL(foreign.a_keep, GPUPIPE_EINVAL);
	/* B's slot came back: nothing is kept, nothing in flight. */
	CU_ASSERT_EQUAL(gpupipe_get_stats(b, &st), 0);
	CU_ASSERT_EQUAL(st.in_flight, 0);
	CU_ASSERT_EQUAL(st.completed[GPUPIPE_DONE], 1);
	CU_ASSERT_EQUAL(gpupipe_destroy(a), 0);
	CU_ASSERT_EQUAL(gpupipe_destroy(b), 0);
}

#ifdef GPUPIPE_FAULT_INJECTION
/*
 * gpupipe_get_stats(3): "batch_target ... from creation on: max_batch
 * with GPUPIPE_FIXED_BATCH, 1 with adaptive batches". With the submit
 * threads held just after their start report, stats read right after
 * create must already say so (they read 0 before).
 */
static void test_batch_target_from_creation(void)
{
	unsigned adaptive;

	for (adaptive = 0; adaptive < 2; adaptive++) {
		struct harness h;
		struct gpupipe_stats st;

		harness_init(&h, 16, 2, 8, 1, 16);
		h.cfg.flags = adaptive ? 0 : GPUPIPE_FIXED_BATCH;
		gpupipe_fault_reset();
		gpupipe_fault_delay("submit_start", 300000);
		CU_ASSERT_EQUAL_FATAL(harness_create(&h), 0);
		gpupipe_get_stats(h.p, &st);
		CU_ASSERT_EQUAL(st.batch_target, adaptive ? 1 : 8);
		gpupipe_fault_reset();
		CU_ASSERT_EQUAL(harness_push(&h, 0, 16), 0);
		CU_ASSERT_EQUAL(gpupipe_drain(h.p, -1), 0);
		harness_check(&h, 16, 16);
		harness_fini(&h);
	}
}

struct stats_reader {
	gpupipe *p;
	struct gpupipe_stats st;
	int ret;
};

static void *read_stats(void *arg)
{
	struct stats_reader *r = arg;

	r->ret = gpupipe_get_stats(r->p, &r->st);
	return NULL;
}

/*
 * gpupipe.h, struct gpupipe_stats: "in_flight: pushed, not yet
 * completed". Read while an item is pushed and completes between its
 * reads of the two counters (held there by the stats_counts delay
 * point), it is never more than pushed (it wrapped to 2^64 - 1).
 */
static void test_in_flight_never_wraps(void)
{
	struct gpupipe_config c = test_basic_config();
	struct stats_reader r = { 0 };
	gpupipe *p = NULL;
	pthread_t t;

	CU_ASSERT_EQUAL_FATAL(gpupipe_create(&c, &p), 0);
	gpupipe_fault_reset();
	gpupipe_fault_delay("stats_counts", 300000);
	r.p = p;
	pthread_create(&t, NULL, read_stats, &r);
	while (!gpupipe_fault_delayed("stats_counts"))
		usleep(1000);
	CU_ASSERT_EQUAL(gpupipe_push(p, (void *)1, 0), 0);
	CU_ASSERT_EQUAL(gpupipe_drain(p, -1), 0);
	pthread_join(t, NULL);
	gpupipe_fault_reset();
	CU_ASSERT_EQUAL(r.ret, 0);
	CU_ASSERT_TRUE(r.st.in_flight <= r.st.pushed);
	CU_ASSERT_EQUAL(gpupipe_destroy(p), 0);
}

/*
 * gpupipe.h, gpupipe_destroy: "a push blocked in another thread wakes
 * and returns GPUPIPE_ESHUTDOWN". A push asleep for a slot is woken by a
 * slot coming free just as destroy begins (held by the push_woken delay
 * point): it fails with GPUPIPE_ESHUTDOWN, and the item is never taken
 * (it was accepted, and then cancelled).
 */
static void test_push_asleep_at_destroy(void)
{
	struct harness h;
	struct pushes ps = { 0 };
	struct harness_destroyer d = { 0 };
	pthread_t pt, dt;

	harness_init(&h, 16, 1, 8, 1, 9);
	h.cfg.flags = GPUPIPE_FIXED_BATCH; /* 8 slots, all of the limit */
	atomic_store(&h.done_gate, 0);
	CU_ASSERT_EQUAL_FATAL(harness_create(&h), 0);
	gpupipe_fault_reset();
	CU_ASSERT_EQUAL(harness_push(&h, 0, 8), 0);
	ps.h = &h;
	ps.first = 8;
	ps.n = 1;
	pthread_create(&pt, NULL, push_thread, &ps);
	usleep(100000); /* it sleeps for a slot */
	CU_ASSERT_EQUAL(atomic_load(&ps.returned), 0);
	gpupipe_fault_delay("push_woken", 300000);
	atomic_store(&h.done_gate, 1);
	while (!gpupipe_fault_delayed("push_woken"))
		usleep(1000);
	d.h = &h;
	pthread_create(&dt, NULL, harness_destroyer_main, &d);
	pthread_join(pt, NULL);
	pthread_join(dt, NULL);
	gpupipe_fault_reset();
	CU_ASSERT_EQUAL(ps.ret, GPUPIPE_ESHUTDOWN);
	CU_ASSERT_EQUAL(d.ret, 0);
	CU_ASSERT_EQUAL(atomic_load(&h.completions), 8);
	CU_ASSERT_EQUAL(atomic_load(&h.by_status[GPUPIPE_DONE]), 8);
	h.p = NULL;
	harness_fini(&h);
}

struct beginner {
	gpupipe *p;
	size_t capacity;
	int ret;
};

static void *begin_trace(void *arg)
{
	struct beginner *b = arg;

	b->ret = gpupipe_trace_begin(b->p, b->capacity, 0);
	return NULL;
}

/*
 * gpupipe_trace_begin(3): "GPUPIPE_EINVAL ... a trace is already
 * running". Two threads begin at once (held 100 ms inside by the
 * trace_begin delay point): one gets 0, the other GPUPIPE_EINVAL, and the
 * trace that runs holds as many records as its own capacity (before, both
 * got 0, and the capacity of one was used with the records of the other,
 * writing out of bounds).
 */
static void test_concurrent_trace_begin(void)
{
	struct harness h;
	struct beginner b[2];
	struct gpupipe_trace_record *rec = NULL;
	size_t count = 0;
	pthread_t t[2];
	unsigned i;

	harness_init(&h, 16, 2, 4, 1, 200);
	CU_ASSERT_EQUAL_FATAL(harness_create(&h), 0);
	gpupipe_fault_reset();
	gpupipe_fault_delay("trace_begin", 100000);
	for (i = 0; i < 2; i++) {
		b[i].p = h.p;
		b[i].capacity = i ? 200 : 2;
		pthread_create(&t[i], NULL, begin_trace, &b[i]);
	}
	for (i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
	gpupipe_fault_reset();
	CU_ASSERT_EQUAL(!b[0].ret + !b[1].ret, 1);
	CU_ASSERT_TRUE(b[0].ret == GPUPIPE_EINVAL || b[1].ret == GPUPIPE_EINVAL);
	CU_ASSERT_EQUAL(harness_push(&h, 0, 200), 0);
	CU_ASSERT_EQUAL(gpupipe_trace_end(h.p, &rec, &count), 0);
	CU_ASSERT_EQUAL(count, b[0].ret ? 200 : 2);
	for (i = 0; rec && i < count; i++)
		CU_ASSERT_TRUE(rec[i].done_end_ns >= rec[i].push_ns);
	free(rec);
	harness_check(&h, 200, 200);
	harness_fini(&h);
}

struct drainer {
	gpupipe *p;
	atomic_uint_fast64_t returned;
	int ret;
};

static void *drain_thread(void *arg)
{
	struct drainer *d = arg;

	d->ret = gpupipe_drain(d->p, -1);
	atomic_store(&d->returned, 1);
	return NULL;
}

/*
 * gpupipe.h: "gpupipe_drain: wait until every item pushed before this
 * call has completed". A push that began before the drain but took its
 * seq after it is not waited for, even while its prep_cb is held: the
 * drain returns with that item still in prep.
 */
static void test_drain_ignores_later_push(void)
{
	struct harness h;
	struct pushes ps;
	struct drainer d;
	pthread_t pt, dt;

	harness_init(&h, 16, 3, 0, 2, 8);
	h.hold_from = 1; /* prep_cb of items from 1 on waits for the gate */
	atomic_store(&h.gate, 0);
	if (harness_create(&h)) {
		CU_FAIL("create");
		return;
	}
	CU_ASSERT_EQUAL(harness_push(&h, 0, 1), 0);
	CU_ASSERT_EQUAL(gpupipe_drain(h.p, -1), 0);
	gpupipe_fault_reset();
	gpupipe_fault_delay("push_seq", 300000);
	ps = (struct pushes){ .h = &h, .first = 1, .n = 1 };
	pthread_create(&pt, NULL, push_thread, &ps);
	/* The push is in its window; the drain starts inside it. */
	while (!gpupipe_fault_delayed("push_seq"))
		usleep(1000);
	d = (struct drainer){ .p = h.p };
	pthread_create(&dt, NULL, drain_thread, &d);
	CU_ASSERT_TRUE(wait_for(&d.returned, 1));
	CU_ASSERT_EQUAL(atomic_load(&h.completions), 1); /* 1 still held */
	atomic_store(&h.gate, 1);
	pthread_join(pt, NULL);
	pthread_join(dt, NULL);
	gpupipe_fault_reset();
	CU_ASSERT_EQUAL(d.ret, 0);
	CU_ASSERT_EQUAL(ps.ret, 0);
	CU_ASSERT_EQUAL(gpupipe_drain(h.p, -1), 0);
	harness_check(&h, 2, 2);
	harness_fini(&h);
}
#endif

/* ---- the post pool ---------------------------------------------------- */

#define POOL 4
#define POOL_ITEMS 16

static atomic_int inside, most_inside;

/* Wait (at most 5 s) until the whole pool is in done_cb. */
static void pool_done(struct gpupipe_job *job, void *user_data)
{
	int now = atomic_fetch_add(&inside, 1) + 1, most;
	double end = test_now_s() + 5;

	most = atomic_load(&most_inside);
	while (now > most &&
	       !atomic_compare_exchange_weak(&most_inside, &most, now))
		;
	while (atomic_load(&most_inside) < POOL && test_now_s() < end)
		usleep(1000);
	atomic_fetch_sub(&inside, 1);
	(void)job;
	(void)user_data;
}

/*
 * gpupipe.h: "N: on N post threads, in completion order" and the thread
 * table: done_cb runs on "a post thread when post_threads > 0",
 * concurrently with other done_cbs. A batch of sixteen items reaches all
 * four post threads at once.
 */
static void test_post_pool_concurrency(void)
{
	struct gpupipe_config cfg = test_basic_config();
	gpupipe *p;
	unsigned i;

	cfg.depth = 1;
	cfg.max_batch = POOL_ITEMS;
	cfg.flags = GPUPIPE_FIXED_BATCH;
	cfg.post_threads = POOL;
	cfg.done_cb = pool_done;
	atomic_store(&most_inside, 0);
	if (gpupipe_create(&cfg, &p)) {
		CU_FAIL("create");
		return;
	}
	for (i = 0; i < POOL_ITEMS; i++)
		CU_ASSERT_EQUAL(gpupipe_push(p, NULL, 0), 0);
	CU_ASSERT_EQUAL(gpupipe_drain(p, -1), 0);
	CU_ASSERT_EQUAL(atomic_load(&most_inside), POOL);
	CU_ASSERT_EQUAL(gpupipe_destroy(p), 0);
}

/* ---- release racing done_cb's return ---------------------------------- */

#ifdef GPUPIPE_FAULT_INJECTION
#define RACES 10

struct racer {
	gpupipe *p;
	struct gpupipe_job *_Atomic job; /* handed over by done_cb */
	atomic_int released, refused;
};

static void *release_thread(void *arg)
{
	struct racer *r = arg;
	int n;

	for (n = 0; n < RACES; n++) {
		struct gpupipe_job *job;

		while (!(job = atomic_exchange(&r->job, NULL)))
			usleep(100);
		if (gpupipe_release(r->p, job) == 0) {
			atomic_fetch_add(&r->released, 1);
			continue;
		}
		/* Refused: done_cb has returned by now, so a second try
		 * frees the slot and the pipeline goes on. */
		atomic_fetch_add(&r->refused, 1);
		usleep(20000);
		gpupipe_release(r->p, job);
	}
	return NULL;
}

/* Keep the output, hand the job over, return a moment later: while the
 * release thread sits in its window. */
static void race_done(struct gpupipe_job *job, void *user_data)
{
	struct racer *r = user_data;

	if (job->status != GPUPIPE_DONE || gpupipe_job_keep(job))
		return;
	while (atomic_load(&r->job))
		usleep(100); /* the release thread takes one at a time */
	atomic_store(&r->job, job);
	usleep(10000);
}

/*
 * gpupipe_job_keep(3): "Release may come from any thread, even before
 * done_cb returns." A release that begins while done_cb runs and finds it
 * returned by the time it looks again still succeeds.
 */
static void test_release_racing_return(void)
{
	struct gpupipe_config cfg = test_basic_config();
	struct racer r = { 0 };
	pthread_t th;
	unsigned i;

	cfg.done_cb = race_done;
	cfg.user_data = &r;
	if (gpupipe_create(&cfg, &r.p)) {
		CU_FAIL("create");
		return;
	}
	gpupipe_fault_reset();
	gpupipe_fault_delay("release_keep", 50000);
	pthread_create(&th, NULL, release_thread, &r);
	for (i = 0; i < RACES; i++)
		CU_ASSERT_EQUAL(gpupipe_push(r.p, NULL, 0), 0);
	pthread_join(th, NULL);
	CU_ASSERT_TRUE(gpupipe_fault_delayed("release_keep") > 0);
	gpupipe_fault_reset();
	CU_ASSERT_EQUAL(atomic_load(&r.released), RACES);
	CU_ASSERT_EQUAL(atomic_load(&r.refused), 0);
	CU_ASSERT_EQUAL(gpupipe_drain(r.p, -1), 0);
	CU_ASSERT_EQUAL(gpupipe_destroy(r.p), 0);
}
#endif

/* ---- the handle's life ------------------------------------------------ */

struct watcher {
	gpupipe *p;
	atomic_int stop;
	unsigned long calls, bad;
};

/* Read stats and info until the pipeline is gone. */
static void *watch_thread(void *arg)
{
	struct watcher *w = arg;
	struct gpupipe_stats st;
	struct gpupipe_info info;

	for (;;) {
		int a = gpupipe_get_stats(w->p, &st);
		int b = gpupipe_get_info(w->p, &info);

		w->calls++;
		if ((a && a != GPUPIPE_ESHUTDOWN) || (b && b != GPUPIPE_ESHUTDOWN))
			w->bad++;
		if (a == GPUPIPE_ESHUTDOWN && b == GPUPIPE_ESHUTDOWN)
			break;
	}
	return NULL;
}

/*
 * gpupipe.h's thread table: gpupipe_get_stats and gpupipe_get_info run
 * "concurrently with anything", gpupipe_destroy included; once destroy
 * has returned they fail with GPUPIPE_ESHUTDOWN.
 */
static void test_stats_during_destroy(void)
{
	struct harness h;
	struct watcher w = { 0 };
	pthread_t th;

	harness_init(&h, 64, 3, 0, 2, 2000);
	if (harness_create(&h)) {
		CU_FAIL("create");
		return;
	}
	CU_ASSERT_EQUAL(harness_push(&h, 0, 2000), 0);
	w.p = h.p;
	pthread_create(&th, NULL, watch_thread, &w);
	CU_ASSERT_EQUAL(gpupipe_destroy(h.p), 0);
	h.p = NULL;
	pthread_join(th, NULL);
	CU_ASSERT_EQUAL(w.bad, 0);
	CU_ASSERT_TRUE(w.calls > 0);
	/* Destroy cancels what no prep thread had taken. */
	CU_ASSERT_EQUAL(atomic_load(&h.by_status[GPUPIPE_DONE]) +
				atomic_load(&h.by_status[GPUPIPE_CANCELLED]),
			2000);
	harness_check(&h, 2000, atomic_load(&h.by_status[GPUPIPE_DONE]));
	harness_fini(&h);
}

/*
 * gpupipe_destroy(3): a call with the handle after destroy returned fails
 * with GPUPIPE_ESHUTDOWN, however long ago that was and whatever was
 * created since; a second destroy too.
 */
static void test_destroyed_handle(void)
{
	struct gpupipe_config cfg = test_basic_config();
	struct gpupipe_stats st;
	gpupipe *a, *b;

	if (gpupipe_create(&cfg, &a)) {
		CU_FAIL("create");
		return;
	}
	CU_ASSERT_EQUAL(gpupipe_destroy(a), 0);
	/* Long enough for the old "freed a second later" scheme. */
	usleep(1100000);
	if (gpupipe_create(&cfg, &b)) {
		CU_FAIL("create");
		return;
	}
	CU_ASSERT_EQUAL(gpupipe_destroy(b), 0);
	CU_ASSERT_EQUAL(gpupipe_push(a, NULL, GPUPIPE_NONBLOCK),
			GPUPIPE_ESHUTDOWN);
	CU_ASSERT_EQUAL(gpupipe_drain(a, 0), GPUPIPE_ESHUTDOWN);
	CU_ASSERT_EQUAL(gpupipe_get_stats(a, &st), GPUPIPE_ESHUTDOWN);
	CU_ASSERT_EQUAL(gpupipe_destroy(a), GPUPIPE_ESHUTDOWN);
	CU_ASSERT_EQUAL(gpupipe_destroy(b), GPUPIPE_ESHUTDOWN);
	/* A pointer that never was a handle. */
	CU_ASSERT_EQUAL(gpupipe_get_stats((gpupipe *)&st, &st), GPUPIPE_EINVAL);
}

int main(void)
{
	CU_pSuite s;

	test_init(300);
	s = CU_add_suite("contracts", NULL, NULL);
	CU_add_test(s, "a blocking push while outputs are kept",
		    test_push_while_kept);
	CU_add_test(s, "a blocking push with every slot kept sleeps",
		    test_push_sleeps_while_all_kept);
	CU_add_test(s, "drain with a timeout of LONG_MAX",
		    test_drain_long_timeout);
	CU_add_test(s, "a post pool runs done_cbs at its full size",
		    test_post_pool_concurrency);
	CU_add_test(s, "stats and info while destroy runs",
		    test_stats_during_destroy);
	CU_add_test(s, "calls on a destroyed handle", test_destroyed_handle);
	CU_add_test(s, "prep_cb sees no GL output fields",
		    test_prep_sees_no_gl_output);
	CU_add_test(s, "job_keep refuses another pipeline's job",
		    test_keep_foreign_job);
#ifdef GPUPIPE_FAULT_INJECTION
	CU_add_test(s, "stats report the batch target from creation",
		    test_batch_target_from_creation);
	CU_add_test(s, "in_flight read during a completion",
		    test_in_flight_never_wraps);
	CU_add_test(s, "a push asleep when destroy begins",
		    test_push_asleep_at_destroy);
	CU_add_test(s, "two trace_begin calls at once",
		    test_concurrent_trace_begin);
	CU_add_test(s, "drain does not wait for a push that follows it",
		    test_drain_ignores_later_push);
	CU_add_test(s, "release racing done_cb's return",
		    test_release_racing_return);
#endif
	return test_run("test_contracts");
}
