/* SPDX-License-Identifier: MIT */
/*
 * Batches, wait strategies, the post pool and kept outputs: every item
 * still completes exactly once with the right output, whatever the
 * pipeline's shape. (On llvmpipe a fence is signalled when it is made, so
 * these prove the bookkeeping; `bench/gpu/run check` runs the same on a
 * GPU.)
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common.h"

/* "enum gpupipe_wait ... how readback learns of completion", with fixed
 * and adaptive batches: outputs, order and exactly-once hold in each. */
static void test_wait_and_batch_matrix(void)
{
	static const enum gpupipe_wait waits[] = { GPUPIPE_WAIT_DEFAULT,
						   GPUPIPE_WAIT_BLOCK,
						   GPUPIPE_WAIT_SIGNALLED };
	static const unsigned batches[] = { 1, 8, 0 };
	unsigned w, b;

	for (w = 0; w < 3; w++) {
		for (b = 0; b < 3; b++) {
			struct harness h;
			struct gpupipe_info info;
			struct gpupipe_stats st;
			const uint64_t n = 1500;

			harness_init(&h, 64, 3, batches[b], 2, n);
			h.cfg.wait = waits[w];
			h.cfg.flags = batches[b] ? GPUPIPE_FIXED_BATCH : 0;
			h.prep_delay_us = 20;
			CU_ASSERT_EQUAL_FATAL(harness_create(&h), 0);
			/* "batch_target: ... from creation: max_batch with
			 * GPUPIPE_FIXED_BATCH, 1 with adaptive batches" */
			gpupipe_get_stats(h.p, &st);
			CU_ASSERT_EQUAL(st.batch_target,
					batches[b] ? batches[b] : 1);
			gpupipe_get_info(h.p, &info);
			CU_ASSERT_EQUAL(info.wait, waits[w] == GPUPIPE_WAIT_BLOCK
						 ? GPUPIPE_WAIT_BLOCK
						 : GPUPIPE_WAIT_SIGNALLED);
			CU_ASSERT_EQUAL(info.max_batch,
					batches[b] ? batches[b] : 64);
			CU_ASSERT_EQUAL(info.slots, 3 * info.max_batch);
			CU_ASSERT_EQUAL(harness_push(&h, 0, n), 0);
			CU_ASSERT_EQUAL(gpupipe_drain(h.p, -1), 0);
			harness_check(&h, n, n);
			gpupipe_get_stats(h.p, &st);
			CU_ASSERT(st.batches >= n / info.max_batch);
			CU_ASSERT(st.batches <= n);
			CU_ASSERT(st.batch_target >= 1 &&
				  st.batch_target <= info.max_batch);
			/* GPUPIPE_FIXED_BATCH never adapts. */
			if (batches[b])
				CU_ASSERT_EQUAL(st.batch_target, batches[b]);
			CU_ASSERT(st.in_flight_limit >= 1 &&
				  st.in_flight_limit <= info.slots);
			if (waits[w] == GPUPIPE_WAIT_BLOCK) {
				CU_ASSERT_EQUAL(st.fence_polls, 0);
			} else {
				CU_ASSERT(st.fence_polls >= st.batches);
			}
			harness_fini(&h);
		}
	}
}

/* "a batch closes early when no more items are ready, so a slow producer
 * never waits for a full batch": 5 items under a fixed batch of 32 still
 * complete. */
static void test_batch_closes_early(void)
{
	struct harness h;
	struct gpupipe_stats st;

	harness_init(&h, 16, 2, 32, 1, 10);
	h.cfg.flags = GPUPIPE_FIXED_BATCH;
	CU_ASSERT_EQUAL_FATAL(harness_create(&h), 0);
	CU_ASSERT_EQUAL(harness_push(&h, 0, 5), 0);
	CU_ASSERT_EQUAL(gpupipe_drain(h.p, 10000), 0);
	CU_ASSERT_EQUAL(atomic_load(&h.by_status[GPUPIPE_DONE]), 5);
	gpupipe_get_stats(h.p, &st);
	CU_ASSERT(st.batches >= 1 && st.batches <= 5);
	/* And again after a pause: the producer stalled, nothing waits. */
	usleep(20000);
	CU_ASSERT_EQUAL(harness_push(&h, 5, 5), 0);
	CU_ASSERT_EQUAL(gpupipe_drain(h.p, 10000), 0);
	harness_check(&h, 10, 10);
	harness_fini(&h);
}

/* Adaptive batches judge a batch size only on time the pipeline was
 * busy: a producer that waits for each item's completion leaves it idle
 * between items, so the search never moves and the batch stays at one
 * item, with no more slots open to pushes than batches of one need. */
static void test_idle_producer_keeps_batch_one(void)
{
	struct harness h;
	struct gpupipe_stats st;
	const uint64_t n = 300;
	uint64_t id;

	harness_init(&h, 64, 3, 0, 1, n);
	CU_ASSERT_EQUAL_FATAL(harness_create(&h), 0);
	for (id = 0; id < n; id++) {
		CU_ASSERT_EQUAL(harness_push(&h, id, 1), 0);
		CU_ASSERT_EQUAL(gpupipe_drain(h.p, -1), 0);
	}
	harness_check(&h, n, n);
	gpupipe_get_stats(h.p, &st);
	CU_ASSERT_EQUAL(st.batches, n);
	CU_ASSERT_EQUAL(st.batch_target, 1);
	CU_ASSERT_EQUAL(st.in_flight_limit, 3 * 1 + 1);
	harness_fini(&h);
}

/* "post_threads ... N: on N post threads, in completion order": every
 * item once, also failed and cancelled ones; drain waits for earlier items
 * even when later ones finish first. */
static void test_post_pool(void)
{
	unsigned threads;

	for (threads = 1; threads <= 4; threads += 3) {
		struct harness h;
		const uint64_t n = 3000;

		harness_init(&h, 64, 4, 4, 3, n);
		h.cfg.post_threads = threads;
		h.unordered = true;
		h.prep_delay_us = 50;
		h.fail_id = 123;
		CU_ASSERT_EQUAL_FATAL(harness_create(&h), 0);
		CU_ASSERT_EQUAL(harness_push(&h, 0, n), 0);
		CU_ASSERT_EQUAL(gpupipe_drain(h.p, -1), 0);
		CU_ASSERT_EQUAL(atomic_load(&h.by_status[GPUPIPE_FAILED]), 1);
		harness_check(&h, n, n - 1);
		harness_fini(&h);
	}
}

static void test_post_pool_destroy(void)
{
	struct harness h;
	uint64_t id, bad = 0;

	harness_init(&h, 16, 2, 2, 1, 40);
	h.cfg.post_threads = 2;
	h.unordered = true;
	h.hold_mask = 1; /* item 0 held in prep: the rest queue behind */
	atomic_store(&h.gate, 0);
	CU_ASSERT_EQUAL_FATAL(harness_create(&h), 0);
	CU_ASSERT_EQUAL(harness_push(&h, 0, 4), 0);
	while (atomic_load(&h.prep_running) < 1)
		usleep(100);
	atomic_store(&h.gate, 1);
	CU_ASSERT_EQUAL(gpupipe_destroy(h.p), 0);
	h.p = NULL;
	CU_ASSERT_EQUAL(atomic_load(&h.completions), 4);
	for (id = 0; id < 4; id++)
		bad += h.seen[id] != 1;
	CU_ASSERT_EQUAL(bad, 0);
	CU_ASSERT_EQUAL(atomic_load(&h.by_status[GPUPIPE_DONE]) +
				atomic_load(&h.by_status[GPUPIPE_CANCELLED]),
			4);
	harness_fini(&h);
}

/* "gpupipe_job_keep: ... keep this item's output readable after done_cb
 * returns, until gpupipe_release": kept outputs stay intact while later
 * items run through the other slots. */
static void test_keep_and_release(void)
{
	struct harness h;
	uint64_t id, intact = 0, kept = 0;
	struct gpupipe_job fake;

	harness_init(&h, 128, 4, 1, 2, 220);
	/* Ids 0, 80, 160: three of the four slots stay kept, and every
	 * other item goes through the last one. (Keeping all four would
	 * block the next push until a release: see test_all_slots_kept.) */
	h.keep_every = 80;
	harness_run(&h, 200);
	for (id = 0; id < 200; id++) {
		if (!h.kept[id])
			continue;
		kept++;
		intact += output_ok(&h, id, h.kept[id]->output);
	}
	CU_ASSERT_EQUAL(kept, 3);
	CU_ASSERT_EQUAL(intact, kept);
	for (id = 0; id < 200; id++) {
		if (!h.kept[id])
			continue;
		CU_ASSERT_EQUAL(gpupipe_release(h.p, h.kept[id]), 0);
		CU_ASSERT_EQUAL(gpupipe_release(h.p, h.kept[id]),
				GPUPIPE_EINVAL);
	}
	/* Outside a done_cb, keep is refused; a foreign job is too. */
	memset(&fake, 0, sizeof(fake));
	CU_ASSERT_EQUAL(gpupipe_job_keep(&fake), GPUPIPE_EINVAL);
	CU_ASSERT_EQUAL(gpupipe_release(h.p, &fake), GPUPIPE_EINVAL);
	CU_ASSERT_EQUAL(gpupipe_release(NULL, &fake), GPUPIPE_EINVAL);
	/* Every slot is free again, and the pipeline runs on. */
	h.keep_every = 0;
	CU_ASSERT_EQUAL(harness_push(&h, 200, 20), 0);
	CU_ASSERT_EQUAL(gpupipe_drain(h.p, -1), 0);
	harness_check(&h, 220, 220);
	harness_fini(&h);
}

/* With every slot kept, a non-blocking push says so; a release frees one. */
static struct gpupipe_job *kept_jobs[8];
static atomic_int nkept;

static int keep_prep(struct gpupipe_job *job, void *u)
{
	job->params[1] = 0;
	job->params[2] = 1;
	return 0;
}

static void keep_done(struct gpupipe_job *job, void *u)
{
	CU_ASSERT_EQUAL(gpupipe_job_keep(job), 0);
	CU_ASSERT_EQUAL(gpupipe_job_keep(job), GPUPIPE_EINVAL);
	kept_jobs[atomic_fetch_add(&nkept, 1)] = job;
}

static void test_all_slots_kept(void)
{
	struct gpupipe_config c = {
		.shader_source = test_shader(),
		.in_bytes = 64,
		.out_bytes = 64,
		.depth = 2,
		.max_batch = 1,
		.prep_cb = keep_prep,
		.done_cb = keep_done,
	};
	gpupipe *p;
	int i;

	CU_ASSERT_EQUAL_FATAL(gpupipe_create(&c, &p), 0);
	/* The in-flight limit also counts a slot per prep thread. */
	for (i = 0; i < 2; i++)
		CU_ASSERT_EQUAL(gpupipe_push(p, NULL, 0), 0);
	CU_ASSERT_EQUAL(gpupipe_drain(p, -1), 0);
	CU_ASSERT_EQUAL(atomic_load(&nkept), 2);
	CU_ASSERT_EQUAL(gpupipe_push(p, NULL, GPUPIPE_NONBLOCK),
			GPUPIPE_EAGAIN);
	CU_ASSERT_EQUAL(gpupipe_release(p, kept_jobs[0]), 0);
	CU_ASSERT_EQUAL(gpupipe_push(p, NULL, GPUPIPE_NONBLOCK), 0);
	CU_ASSERT_EQUAL(gpupipe_drain(p, -1), 0);
	CU_ASSERT_EQUAL(atomic_load(&nkept), 3);
	CU_ASSERT_EQUAL(gpupipe_release(p, kept_jobs[1]), 0);
	CU_ASSERT_EQUAL(gpupipe_release(p, kept_jobs[2]), 0);
	CU_ASSERT_EQUAL(gpupipe_destroy(p), 0);
}

/* The new configuration fields are checked like the others. */
static void test_config_checks(void)
{
	struct harness h;
	gpupipe *p;

	harness_init(&h, 16, 3, 1, 1, 1);
	h.cfg.wait = (enum gpupipe_wait)9;
	CU_ASSERT_EQUAL(gpupipe_create(&h.cfg, &p), GPUPIPE_EINVAL);
	CU_ASSERT(strstr(gpupipe_errmsg(), "wait 9") != NULL);
	h.cfg.wait = GPUPIPE_WAIT_DEFAULT;
	h.cfg.flags = 0x100;
	CU_ASSERT_EQUAL(gpupipe_create(&h.cfg, &p), GPUPIPE_EINVAL);
	CU_ASSERT(strstr(gpupipe_errmsg(), "flags") != NULL);
	h.cfg.flags = 0;
	h.cfg.post_threads = GPUPIPE_MAX_POST_THREADS + 1;
	CU_ASSERT_EQUAL(gpupipe_create(&h.cfg, &p), GPUPIPE_EINVAL);
	CU_ASSERT(strstr(gpupipe_errmsg(), "post_threads") != NULL);
	h.cfg.post_threads = 0;
	h.cfg.batch_latency_us = 20000000;
	CU_ASSERT_EQUAL(gpupipe_create(&h.cfg, &p), GPUPIPE_EINVAL);
	CU_ASSERT(strstr(gpupipe_errmsg(), "batch_latency_us") != NULL);
	harness_fini(&h);

	/* max_batch 0: as many as fit in 256 MiB of slots, at most 64. */
	harness_init(&h, 1 << 18, 3, 0, 1, 1); /* 1 MiB in and out */
	CU_ASSERT_EQUAL_FATAL(harness_create(&h), 0);
	{
		struct gpupipe_info info;

		gpupipe_get_info(h.p, &info);
		CU_ASSERT_EQUAL(info.max_batch, 42);
		CU_ASSERT_EQUAL(info.slots, 126);
	}
	harness_fini(&h);
}

int main(void)
{
	CU_pSuite s;

	test_init(300);
	s = CU_add_suite("batching", NULL, NULL);
	CU_add_test(s, "wait strategies x batch sizes",
		    test_wait_and_batch_matrix);
	CU_add_test(s, "a batch closes early", test_batch_closes_early);
	CU_add_test(s, "an idle producer keeps batches of one",
		    test_idle_producer_keeps_batch_one);
	CU_add_test(s, "post pool: exactly once, unordered", test_post_pool);
	CU_add_test(s, "post pool: destroy", test_post_pool_destroy);
	CU_add_test(s, "keep and release", test_keep_and_release);
	CU_add_test(s, "all slots kept", test_all_slots_kept);
	CU_add_test(s, "configuration checks", test_config_checks);
	return test_run("batching");
}
