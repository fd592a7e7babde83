/* SPDX-License-Identifier: MIT */
/*
 * test_calls: the calls users asked for (issue 20), gpupipe_push_timed
 * and the version query, one case per sentence of gpupipe.h and their
 * man pages, each quoted. A pipeline is held full by a done_cb that
 * waits on a gate the case opens (struct harness's done_gate), or by
 * outputs kept until the case releases them; no case asserts how long a
 * call took, only that it returned and with what (a wait that must last
 * until its deadline is checked to have lasted at least that long).
 */
#include "config.h"

#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common.h"
#ifdef GPUPIPE_FAULT_INJECTION
#include "fault.h"
#endif

/* A bound on things that take milliseconds: a case that reaches it has
 * hung (and says so) instead of waiting for the watchdog. */
#define HANG_S 30
/* A timeout no case may reach: a push given it returns for another
 * reason. */
#define LONG_MS 600000L
/* What *seq holds until a push writes it. */
#define NO_SEQ UINT64_C(0xdeadbeefdeadbeef)

static void *id_item(uint64_t id)
{
	return (void *)(uintptr_t)(id + 1);
}

/* One timed push on a thread of its own. */
struct timed {
	struct harness *h;
	uint64_t id;
	long timeout_ms;
	uint64_t seq;
	int ret;
	double took_s;
	atomic_int started, returned;
	pthread_t thread;
};

static void *timed_main(void *arg)
{
	struct timed *t = arg;
	double t0 = test_now_s();

	atomic_store(&t->started, 1);
	t->ret = gpupipe_push_timed(t->h->p, id_item(t->id), 0, t->timeout_ms,
				    &t->seq);
	t->took_s = test_now_s() - t0;
	atomic_store(&t->returned, 1);
	return NULL;
}

static void timed_start(struct timed *t, struct harness *h, uint64_t id,
			long timeout_ms)
{
	memset(t, 0, sizeof(*t));
	t->h = h;
	t->id = id;
	t->timeout_ms = timeout_ms;
	t->seq = NO_SEQ;
	pthread_create(&t->thread, NULL, timed_main, t);
	while (!atomic_load(&t->started))
		usleep(1000);
}

/* Whether t returned within HANG_S; joins it if so. */
static bool timed_join(struct timed *t)
{
	double end = test_now_s() + HANG_S;

	while (!atomic_load(&t->returned))
		if (test_now_s() > end)
			return false;
		else
			usleep(1000);
	pthread_join(t->thread, NULL);
	return true;
}

static bool wait_until(atomic_int *v, int want)
{
	double end = test_now_s() + HANG_S;

	while (atomic_load(v) < want)
		if (test_now_s() > end)
			return false;
		else
			usleep(1000);
	return true;
}

static uint64_t pushed(gpupipe *p)
{
	struct gpupipe_stats st;

	CU_ASSERT_EQUAL(gpupipe_get_stats(p, &st), 0);
	return st.pushed;
}

/* ---- the sequence number ------------------------------------------------ */

/*
 * gpupipe.h, gpupipe_push_timed: "On 0 it stores the item's seq in *seq
 * ... the job->seq both get", and gpupipe_push "is
 * gpupipe_push_timed(p, item, flags, -1, NULL)". Timed pushes (every
 * kind of timeout, none of which runs out) alternate with plain ones:
 * each timed push's seq is its place in push order and the seq its
 * done_cb got; every item completes once, in order, with the CPU
 * reference's output.
 */
static void seq_matches_done(unsigned ndevs)
{
	static const long timeouts[] = { -1, LONG_MS, LONG_MAX, -5 };
	const uint64_t n = 300;
	struct harness h;
	uint64_t id, seq, bad_seq = 0, bad_done = 0;
	int ret, failed = 0;

	harness_init(&h, 64, 2, 4, 2, n);
	if (ndevs > 1)
		harness_same_device(&h, ndevs);
	CU_ASSERT_EQUAL_FATAL(harness_create(&h), 0);
	for (id = 0; id < n; id++) {
		if (id % 3 == 2) {
			ret = gpupipe_push(h.p, id_item(id), 0);
			failed += ret != 0;
			continue;
		}
		seq = NO_SEQ;
		ret = gpupipe_push_timed(h.p, id_item(id), 0,
					 timeouts[id % 4], &seq);
		failed += ret != 0;
		bad_seq += seq != id;
	}
	CU_ASSERT_EQUAL(failed, 0);
	CU_ASSERT_EQUAL(bad_seq, 0);
	CU_ASSERT_EQUAL(gpupipe_drain(h.p, -1), 0);
	for (id = 0; id < n; id++)
		bad_done += h.done_seq[id] != id;
	CU_ASSERT_EQUAL(bad_done, 0);
	harness_check(&h, n, n);
	harness_fini(&h);
}

static void test_seq_matches_done(void)
{
	seq_matches_done(1);
}

static void test_seq_matches_done_two_devices(void)
{
	seq_matches_done(2);
}

/* An item that holds its own seq, and the callbacks that compare it. */
struct self_item {
	uint64_t seq;
	uint32_t id;
};

struct self_state {
	atomic_int prep_bad, done_bad, done;
};

static int self_prep(struct gpupipe_job *job, void *user_data)
{
	struct self_state *st = user_data;
	const struct self_item *it = job->item;
	uint32_t *x = job->input, i;

	if (it->seq != job->seq)
		atomic_fetch_add(&st->prep_bad, 1);
	for (i = 0; i < 16; i++)
		x[i] = test_input(it->id, i);
	return 0;
}

static void self_done(struct gpupipe_job *job, void *user_data)
{
	struct self_state *st = user_data;
	const struct self_item *it = job->item;

	if (it->seq != job->seq || job->status != GPUPIPE_DONE)
		atomic_fetch_add(&st->done_bad, 1);
	atomic_fetch_add(&st->done, 1);
}

/*
 * gpupipe_push_timed(3): "It is stored before either can run for the
 * item, so seq may point into the item itself." Each item is pushed with
 * seq pointing into it; its prep_cb and done_cb find there the job->seq
 * they were given.
 */
static void test_seq_stored_before_callbacks(void)
{
	struct gpupipe_config c = test_basic_config();
	static struct self_item items[200];
	struct self_state st = { 0 };
	gpupipe *p;
	unsigned i;
	int failed = 0;

	c.prep_cb = self_prep;
	c.done_cb = self_done;
	c.user_data = &st;
	c.prep_threads = 2;
	CU_ASSERT_EQUAL_FATAL(gpupipe_create(&c, &p), 0);
	for (i = 0; i < 200; i++) {
		items[i].seq = NO_SEQ;
		items[i].id = i;
		failed += gpupipe_push_timed(p, &items[i], 0, -1,
					     &items[i].seq) != 0;
	}
	CU_ASSERT_EQUAL(failed, 0);
	CU_ASSERT_EQUAL(gpupipe_drain(p, -1), 0);
	CU_ASSERT_EQUAL(atomic_load(&st.done), 200);
	CU_ASSERT_EQUAL(atomic_load(&st.prep_bad), 0);
	CU_ASSERT_EQUAL(atomic_load(&st.done_bad), 0);
	CU_ASSERT_EQUAL(gpupipe_destroy(p), 0);
}

/* ---- a full pipeline ---------------------------------------------------- */

/* A pipeline of two slots, both held: item 0's done_cb waits on the
 * gate, item 1 waits behind it. */
static int full_pipeline(struct harness *h, uint64_t max_items)
{
	harness_init(h, 16, 1, 2, 1, max_items);
	h->cfg.flags = GPUPIPE_FIXED_BATCH; /* limit 1 x 2: every slot */
	atomic_store(&h->done_gate, 0);
	if (harness_create(h))
		return -1;
	if (harness_push(h, 0, 2))
		return -1;
	/* Full for certain: item 0 is in its done_cb. */
	return wait_until(&h->done_waiting, 1) ? 0 : -1;
}

/*
 * gpupipe.h, gpupipe_push_timed: "GPUPIPE_ETIMEDOUT (still full after
 * timeout_ms ...)", "On error *seq is untouched, done_cb never runs for
 * it and item is still yours", and "GPUPIPE_EAGAIN (full, with
 * timeout_ms 0 or GPUPIPE_NONBLOCK: nothing was waited for)". With both
 * slots held, a push with a timeout returns GPUPIPE_ETIMEDOUT, not before
 * its deadline; with 0, or NONBLOCK and any timeout, GPUPIPE_EAGAIN.
 * None was pushed: the pipeline counts two pushes, and only items 0 and
 * 1 complete.
 */
static void test_timeout_when_full(void)
{
	struct harness h;
	struct timed t;
	uint64_t seq = NO_SEQ;

	if (full_pipeline(&h, 8)) {
		CU_FAIL("a full pipeline");
		harness_fini(&h);
		return;
	}
	timed_start(&t, &h, 2, 200);
	CU_ASSERT_TRUE_FATAL(timed_join(&t));
	CU_ASSERT_EQUAL(t.ret, GPUPIPE_ETIMEDOUT);
	CU_ASSERT_TRUE(t.took_s >= 0.2);
	CU_ASSERT_EQUAL(t.seq, NO_SEQ);
	CU_ASSERT_EQUAL(gpupipe_push_timed(h.p, id_item(3), 0, 0, &seq),
			GPUPIPE_EAGAIN);
	CU_ASSERT(strstr(gpupipe_errmsg(), "gpupipe_push_timed") != NULL);
	CU_ASSERT_EQUAL(gpupipe_push_timed(h.p, id_item(4), GPUPIPE_NONBLOCK,
					   LONG_MS, &seq),
			GPUPIPE_EAGAIN);
	CU_ASSERT_EQUAL(seq, NO_SEQ);
	CU_ASSERT_EQUAL(pushed(h.p), 2);
	atomic_store(&h.done_gate, 1);
	CU_ASSERT_EQUAL(gpupipe_drain(h.p, -1), 0);
	CU_ASSERT_EQUAL(pushed(h.p), 2);
	harness_check(&h, 2, 2);
	CU_ASSERT_EQUAL(h.seen[2] + h.seen[3] + h.seen[4], 0);
	harness_fini(&h);
}

/*
 * gpupipe.h, gpupipe_push_timed: "While the pipeline is full it sleeps
 * ... until the deadline". Room that comes before the deadline (the
 * gate opens) lets a push with a long timeout go on: it returns 0, not
 * GPUPIPE_ETIMEDOUT, with seq 2, the seq done_cb then gets.
 */
static void test_room_before_deadline(void)
{
	struct harness h;
	struct timed t;

	if (full_pipeline(&h, 8)) {
		CU_FAIL("a full pipeline");
		harness_fini(&h);
		return;
	}
	timed_start(&t, &h, 2, LONG_MS);
	usleep(100000); /* most likely asleep by now; either way it waits */
	CU_ASSERT_EQUAL(atomic_load(&t.returned), 0);
	atomic_store(&h.done_gate, 1);
	CU_ASSERT_TRUE_FATAL(timed_join(&t));
	CU_ASSERT_EQUAL(t.ret, 0);
	CU_ASSERT_EQUAL(t.seq, 2);
	CU_ASSERT_EQUAL(gpupipe_drain(h.p, -1), 0);
	CU_ASSERT_EQUAL(h.done_seq[2], 2);
	harness_check(&h, 3, 3);
	harness_fini(&h);
}

/*
 * gpupipe_push_timed(3): "a wakeup that finds no room (another push took
 * it first) sleeps again until the deadline". Both slots hold kept
 * outputs; two timed pushes sleep. One release frees one slot and wakes
 * both: one push takes the slot and returns 0, the other sleeps again and
 * returns GPUPIPE_ETIMEDOUT, not before its deadline.
 */
static void test_woken_without_room(void)
{
	struct harness h;
	struct timed a, b;
	struct timed *won, *lost;
	uint64_t id;

	harness_init(&h, 16, 1, 2, 1, 8);
	h.cfg.flags = GPUPIPE_FIXED_BATCH;
	h.keep_every = 1;
	CU_ASSERT_EQUAL_FATAL(harness_create(&h), 0);
	CU_ASSERT_EQUAL(harness_push(&h, 0, 2), 0);
	CU_ASSERT_EQUAL(gpupipe_drain(h.p, -1), 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(h.kept[0]);
	CU_ASSERT_PTR_NOT_NULL_FATAL(h.kept[1]);
	timed_start(&a, &h, 2, 3000);
	timed_start(&b, &h, 3, 3000);
	usleep(200000); /* both asleep, most likely */
	CU_ASSERT_EQUAL(gpupipe_release(h.p, h.kept[0]), 0);
	h.kept[0] = NULL;
	CU_ASSERT_TRUE_FATAL(timed_join(&a));
	CU_ASSERT_TRUE_FATAL(timed_join(&b));
	won = a.ret == 0 ? &a : &b;
	lost = won == &a ? &b : &a;
	CU_ASSERT_EQUAL(won->ret, 0);
	CU_ASSERT_EQUAL(won->seq, 2);
	CU_ASSERT_EQUAL(lost->ret, GPUPIPE_ETIMEDOUT);
	CU_ASSERT_EQUAL(lost->seq, NO_SEQ);
	CU_ASSERT_TRUE(lost->took_s >= 3.0);
	CU_ASSERT_EQUAL(gpupipe_drain(h.p, -1), 0);
	CU_ASSERT_EQUAL(pushed(h.p), 3);
	CU_ASSERT_EQUAL(h.seen[lost->id], 0);
	CU_ASSERT_EQUAL(h.done_seq[won->id], 2);
	for (id = 0; id < 8; id++)
		if (h.kept[id])
			CU_ASSERT_EQUAL(gpupipe_release(h.p, h.kept[id]), 0);
	CU_ASSERT_EQUAL(atomic_load(&h.completions), 3);
	CU_ASSERT_EQUAL(atomic_load(&h.bad_output), 0);
	CU_ASSERT_EQUAL(atomic_load(&h.bad_seq), 0);
	harness_fini(&h);
}

/* ---- from a callback ---------------------------------------------------- */

struct cb_state {
	gpupipe *p;
	int waits, no_wait, nonblock;
	atomic_int called;
};

static void cb_done(struct gpupipe_job *job, void *user_data)
{
	struct cb_state *st = user_data;

	if (job->seq != 0)
		return;
	st->waits = gpupipe_push_timed(st->p, NULL, 0, 100, NULL);
	st->no_wait = gpupipe_push_timed(st->p, NULL, 0, 0, NULL);
	st->nonblock = gpupipe_push_timed(st->p, NULL, GPUPIPE_NONBLOCK, -1,
					  NULL);
	atomic_store(&st->called, 1);
}

/*
 * gpupipe.h: "GPUPIPE_EDEADLK (from one of p's callbacks, unless it does
 * not wait)". From done_cb a timed push that may wait gets
 * GPUPIPE_EDEADLK; with a timeout of 0, or GPUPIPE_NONBLOCK, it pushes
 * (there is room: two more items complete).
 */
static void test_from_callback(void)
{
	struct gpupipe_config c = test_basic_config();
	struct cb_state st = { 0 };
	struct gpupipe_stats s;

	c.done_cb = cb_done;
	c.user_data = &st;
	CU_ASSERT_EQUAL_FATAL(gpupipe_create(&c, &st.p), 0);
	CU_ASSERT_EQUAL(gpupipe_push(st.p, NULL, 0), 0);
	CU_ASSERT_TRUE(wait_until(&st.called, 1));
	CU_ASSERT_EQUAL(gpupipe_drain(st.p, -1), 0);
	CU_ASSERT_EQUAL(st.waits, GPUPIPE_EDEADLK);
	CU_ASSERT_EQUAL(st.no_wait, 0);
	CU_ASSERT_EQUAL(st.nonblock, 0);
	CU_ASSERT_EQUAL(gpupipe_get_stats(st.p, &s), 0);
	CU_ASSERT_EQUAL(s.pushed, 3);
	CU_ASSERT_EQUAL(s.completed[GPUPIPE_DONE], 3);
	CU_ASSERT_EQUAL(gpupipe_destroy(st.p), 0);
}

/* ---- destroy ------------------------------------------------------------ */

/*
 * gpupipe.h, gpupipe_push_timed: "GPUPIPE_ESHUTDOWN (destroy has begun,
 * also while it waits, ...)". A push asleep with a timeout no case
 * reaches returns GPUPIPE_ESHUTDOWN when destroy begins, with the
 * pipeline still full; the item is not pushed. Destroy returns once the
 * gate opens, with the two items pushed before complete.
 */
static void test_destroy_wakes_timed_push(void)
{
	struct harness h;
	struct harness_destroyer d = { .h = &h };
	struct timed t;
	pthread_t dt;

	if (full_pipeline(&h, 8)) {
		CU_FAIL("a full pipeline");
		harness_fini(&h);
		return;
	}
	timed_start(&t, &h, 2, LONG_MS);
	usleep(100000); /* asleep, most likely; or it sees the shutdown */
	pthread_create(&dt, NULL, harness_destroyer_main, &d);
	CU_ASSERT_TRUE_FATAL(timed_join(&t));
	CU_ASSERT_EQUAL(t.ret, GPUPIPE_ESHUTDOWN);
	CU_ASSERT_EQUAL(t.seq, NO_SEQ);
	atomic_store(&h.done_gate, 1);
	pthread_join(dt, NULL);
	CU_ASSERT_EQUAL(d.ret, 0);
	CU_ASSERT_EQUAL(atomic_load(&h.completions), 2);
	CU_ASSERT_EQUAL(h.seen[2], 0);
	h.p = NULL;
	harness_check(&h, 2, 2);
	harness_fini(&h);
}

#ifdef GPUPIPE_FAULT_INJECTION
/*
 * gpupipe.h, gpupipe_destroy: "a push blocked waiting for a slot wakes",
 * and gpupipe_push_timed: "GPUPIPE_ESHUTDOWN (destroy has begun, also
 * while it waits ...)". Room comes just as destroy begins: the timed
 * push, woken by the room, is held by the push_woken delay point while
 * destroy starts. It fails with GPUPIPE_ESHUTDOWN, not 0 and not
 * GPUPIPE_ETIMEDOUT, and its item never reaches done_cb.
 */
static void test_timed_push_woken_at_destroy(void)
{
	struct harness h;
	struct harness_destroyer d = { .h = &h };
	struct timed t;
	pthread_t dt;

	if (full_pipeline(&h, 8)) {
		CU_FAIL("a full pipeline");
		harness_fini(&h);
		return;
	}
	gpupipe_fault_reset();
	timed_start(&t, &h, 2, LONG_MS);
	usleep(100000); /* it sleeps for a slot */
	CU_ASSERT_EQUAL(atomic_load(&t.returned), 0);
	gpupipe_fault_delay("push_woken", 300000);
	atomic_store(&h.done_gate, 1);
	while (!gpupipe_fault_delayed("push_woken"))
		usleep(1000);
	pthread_create(&dt, NULL, harness_destroyer_main, &d);
	CU_ASSERT_TRUE_FATAL(timed_join(&t));
	pthread_join(dt, NULL);
	gpupipe_fault_reset();
	CU_ASSERT_EQUAL(t.ret, GPUPIPE_ESHUTDOWN);
	CU_ASSERT_EQUAL(t.seq, NO_SEQ);
	CU_ASSERT_EQUAL(d.ret, 0);
	h.p = NULL;
	harness_check(&h, 2, 2);
	CU_ASSERT_EQUAL(h.seen[2], 0);
	harness_fini(&h);
}
#endif

/* ---- the version -------------------------------------------------------- */

#if !defined(GPUPIPE_VERSION_NUMBER) || GPUPIPE_VERSION_NUMBER < 0
#error "GPUPIPE_VERSION_NUMBER is not usable in #if"
#endif

/*
 * gpupipe.h: "GPUPIPE_VERSION is "MAJOR.MINOR.PATCH",
 * GPUPIPE_VERSION_NUMBER is MAJOR * 1000000 + MINOR * 1000 + PATCH",
 * gpupipe_version: "the GPUPIPE_VERSION it was built with",
 * gpupipe_version_number: "the number gpupipe_version() spells", and
 * "configure takes the package version from the three lines": the
 * string parses whole, its number is the function's, both are the
 * header's (this test is built with the library), and AC_INIT's
 * PACKAGE_VERSION is the same string.
 */
static void test_version(void)
{
	const char *v = gpupipe_version();
	int major = -1, minor = -1, patch = -1, end = 0;

	CU_ASSERT_PTR_NOT_NULL_FATAL(v);
	CU_ASSERT_EQUAL(sscanf(v, "%d.%d.%d%n", &major, &minor, &patch, &end),
			3);
	CU_ASSERT_EQUAL((size_t)end, strlen(v));
	CU_ASSERT_TRUE(major >= 0 && minor >= 0 && minor < 1000 &&
		       patch >= 0 && patch < 1000);
	CU_ASSERT_EQUAL(gpupipe_version_number(),
			major * 1000000 + minor * 1000 + patch);
	CU_ASSERT_STRING_EQUAL(v, GPUPIPE_VERSION);
	CU_ASSERT_EQUAL(gpupipe_version_number(), GPUPIPE_VERSION_NUMBER);
	CU_ASSERT_EQUAL(major, GPUPIPE_VERSION_MAJOR);
	CU_ASSERT_EQUAL(minor, GPUPIPE_VERSION_MINOR);
	CU_ASSERT_EQUAL(patch, GPUPIPE_VERSION_PATCH);
	CU_ASSERT_STRING_EQUAL(v, PACKAGE_VERSION);
	/* "A static string": the same pointer each time. */
	CU_ASSERT_PTR_EQUAL(gpupipe_version(), v);
}

int main(void)
{
	CU_pSuite s;

	test_init(240);
	s = CU_add_suite("calls", NULL, NULL);
	CU_add_test(s, "a timed push's seq is done_cb's job->seq",
		    test_seq_matches_done);
	CU_add_test(s, "the same on two devices",
		    test_seq_matches_done_two_devices);
	CU_add_test(s, "*seq is written before the callbacks run",
		    test_seq_stored_before_callbacks);
	CU_add_test(s, "a timed push on a full pipeline times out",
		    test_timeout_when_full);
	CU_add_test(s, "room before the deadline", test_room_before_deadline);
	CU_add_test(s, "a wakeup without room sleeps again",
		    test_woken_without_room);
	CU_add_test(s, "timed pushes from a callback", test_from_callback);
	CU_add_test(s, "destroy wakes a timed push",
		    test_destroy_wakes_timed_push);
#ifdef GPUPIPE_FAULT_INJECTION
	CU_add_test(s, "a timed push woken by room as destroy begins",
		    test_timed_push_woken_at_destroy);
#endif
	CU_add_test(s, "the version: string, number and header",
		    test_version);
	return test_run("test_calls");
}
