/* SPDX-License-Identifier: MIT */
/*
 * Correctness of the pipeline's data path: outputs against a CPU
 * reference, push order, exactly-once completion.
 */
#include "config.h"

#include <dirent.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>

#include "common.h"

/* "done_cb ... with the item's mapped output": every element of every
 * output equals the CPU reference, on inputs that are not zeros. */
static void test_outputs_match_reference(void)
{
	static const uint32_t sizes[] = { 1, 63, 64, 65, 1000, 4096 };
	unsigned k;

	for (k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
		struct harness h;

		harness_init(&h, sizes[k], 3, 1, 2, 50);
		harness_run(&h, 50);
		harness_fini(&h);
	}
}

/* "every item that gpupipe_push accepts gets exactly one done_cb, in push
 * order": 10,000+ items over depths 1, 2, 3, 8, one to four prep threads,
 * random prep delays so that prep threads finish out of order. */
static void test_order_exactly_once(void)
{
	static const unsigned depths[] = { 1, 2, 3, 8 };
	uint64_t total = 0;
	unsigned d, t;

	for (d = 0; d < 4; d++) {
		for (t = 1; t <= 4; t++) {
			struct harness h;
			const uint64_t n = 640;

			harness_init(&h, 16, depths[d], 1, t, n);
			h.prep_delay_us = t > 1 ? 150 : 0;
			harness_run(&h, n);
			harness_fini(&h);
			total += n;
		}
	}
	CU_ASSERT(total >= 10000);
}

/* "max_batch: items under one fence": every item of a batch completes
 * once, in order, with its own output. */
static void test_batches(void)
{
	static const unsigned batches[] = { 2, 4, 16, 64 };
	unsigned b;

	for (b = 0; b < 4; b++) {
		struct harness h;
		struct gpupipe_stats st;
		const uint64_t n = 700;

		harness_init(&h, 32, 3, batches[b], 3, n);
		harness_run(&h, n);
		CU_ASSERT_EQUAL(gpupipe_get_stats(h.p, &st), 0);
		CU_ASSERT(st.batches >= n / batches[b]);
		CU_ASSERT(st.batches <= n);
		CU_ASSERT_EQUAL(st.pushed, n);
		CU_ASSERT_EQUAL(st.completed[GPUPIPE_DONE], n);
		CU_ASSERT_EQUAL(st.in_flight, 0);
		harness_fini(&h);
	}
}

/* Slot reuse: with depth 1 every item reuses the same slot; an output left
 * over from the previous item would carry the wrong tag. */
static void test_slot_reuse(void)
{
	struct harness h;
	struct gpupipe_info info;

	harness_init(&h, 300, 1, 1, 1, 400);
	CU_ASSERT_EQUAL_FATAL(harness_create(&h), 0);
	CU_ASSERT_EQUAL(gpupipe_get_info(h.p, &info), 0);
	CU_ASSERT_EQUAL(info.slots, 1);
	CU_ASSERT_EQUAL(harness_push(&h, 0, 400), 0);
	CU_ASSERT_EQUAL(gpupipe_drain(h.p, -1), 0);
	harness_check(&h, 400, 400);
	harness_fini(&h);
}

/* Several application threads push at once: push order is the order in
 * which gpupipe_push assigned seq; every item completes once. */
struct pusher {
	struct harness *h;
	uint64_t first, n;
	int ret;
};

static void *push_thread(void *arg)
{
	struct pusher *pu = arg;
	uint64_t id;

	for (id = pu->first; id < pu->first + pu->n; id++) {
		pu->ret = gpupipe_push(pu->h->p, (void *)(uintptr_t)(id + 1),
				       0);
		if (pu->ret)
			break;
	}
	return NULL;
}

static void test_concurrent_pushers(void)
{
	struct harness h;
	struct pusher pu[4];
	pthread_t th[4];
	uint64_t id, missing = 0;
	unsigned i;

	harness_init(&h, 16, 3, 2, 3, 4 * 500);
	CU_ASSERT_EQUAL_FATAL(harness_create(&h), 0);
	for (i = 0; i < 4; i++) {
		pu[i] = (struct pusher){ .h = &h, .first = i * 500, .n = 500 };
		pthread_create(&th[i], NULL, push_thread, &pu[i]);
	}
	for (i = 0; i < 4; i++) {
		pthread_join(th[i], NULL);
		CU_ASSERT_EQUAL(pu[i].ret, 0);
	}
	CU_ASSERT_EQUAL(gpupipe_drain(h.p, -1), 0);
	CU_ASSERT_EQUAL(atomic_load(&h.completions), 2000);
	CU_ASSERT_EQUAL(atomic_load(&h.by_status[GPUPIPE_DONE]), 2000);
	CU_ASSERT_EQUAL(atomic_load(&h.bad_output), 0);
	CU_ASSERT_EQUAL(atomic_load(&h.bad_seq), 0);
	for (id = 0; id < 2000; id++)
		missing += h.seen[id] != 1;
	CU_ASSERT_EQUAL(missing, 0);
	harness_fini(&h);
}

/* "gpupipe_trace_end: ... return its records in push order", each stage's
 * times in order, GPU times from GL_TIMESTAMP queries. */
static void test_trace(void)
{
	struct gpupipe_trace_record *rec;
	struct harness h;
	size_t n, i, bad_order = 0, bad_gpu = 0;
	uint64_t batches_seen = 0, last_batch = UINT64_MAX;

	harness_init(&h, 256, 3, 4, 2, 400);
	CU_ASSERT_EQUAL_FATAL(harness_create(&h), 0);
	CU_ASSERT_EQUAL(gpupipe_trace_end(h.p, &rec, &n), GPUPIPE_EINVAL);
	CU_ASSERT_EQUAL(gpupipe_trace_begin(h.p, 0, 0), GPUPIPE_EINVAL);
	CU_ASSERT_EQUAL(gpupipe_trace_begin(h.p, 10, 0x80), GPUPIPE_EINVAL);
	CU_ASSERT_EQUAL(harness_push(&h, 0, 50), 0); /* before: untraced */
	CU_ASSERT_EQUAL(gpupipe_trace_begin(h.p, 300, GPUPIPE_TRACE_GPU), 0);
	CU_ASSERT_EQUAL(gpupipe_trace_begin(h.p, 300, 0), GPUPIPE_EINVAL);
	CU_ASSERT_EQUAL(harness_push(&h, 50, 250), 0);
	CU_ASSERT_EQUAL_FATAL(gpupipe_trace_end(h.p, &rec, &n), 0);
	CU_ASSERT_EQUAL(n, 250);
	for (i = 0; i < n; i++) {
		const struct gpupipe_trace_record *r = &rec[i];

		bad_order += r->seq != 50 + i || !r->push_ns ||
			     r->push_ns > r->prep_start_ns ||
			     r->prep_start_ns > r->prep_end_ns ||
			     r->prep_end_ns > r->dispatch_ns ||
			     r->dispatch_ns > r->fence_ns ||
			     r->fence_ns > r->signalled_ns ||
			     r->signalled_ns > r->done_start_ns ||
			     r->done_start_ns > r->done_end_ns ||
			     r->status != GPUPIPE_DONE || r->prep_thread > 1;
		/* llvmpipe's GPU clock is CLOCK_MONOTONIC: allow 1 ms. */
		bad_gpu += !r->gpu_start_ns || r->gpu_end_ns < r->gpu_start_ns ||
			   r->gpu_start_ns + 1000000 < r->push_ns ||
			   r->gpu_end_ns > r->done_end_ns + 1000000;
		if (r->batch != last_batch)
			batches_seen++;
		last_batch = r->batch;
	}
	CU_ASSERT_EQUAL(bad_order, 0);
	CU_ASSERT_EQUAL(bad_gpu, 0);
	CU_ASSERT(batches_seen >= 250 / 4);
	free(rec);
	/* Tracing stopped: a second end is refused; a new trace works. */
	CU_ASSERT_EQUAL(gpupipe_trace_end(h.p, &rec, &n), GPUPIPE_EINVAL);
	CU_ASSERT_EQUAL(gpupipe_trace_begin(h.p, 1000, 0), 0);
	CU_ASSERT_EQUAL(harness_push(&h, 300, 100), 0);
	CU_ASSERT_EQUAL_FATAL(gpupipe_trace_end(h.p, &rec, &n), 0);
	CU_ASSERT_EQUAL(n, 100);
	CU_ASSERT_EQUAL(rec[99].seq, 399);
	CU_ASSERT_EQUAL(rec[0].gpu_start_ns, 0); /* no GPU flag */
	CU_ASSERT(rec[0].dispatch_ns != 0);
	free(rec);
	harness_check(&h, 400, 400);
	harness_fini(&h);
}

/* ---- timer slack ------------------------------------------------------ */

#define CREATOR_SLACK 37000 /* ns: the creating thread's, recognisable */

static atomic_long prep_slack, done_slack;

static int slack_prep(struct gpupipe_job *job, void *user_data)
{
	(void)job;
	(void)user_data;
	atomic_store(&prep_slack, (long)prctl(PR_GET_TIMERSLACK, 0, 0, 0, 0));
	return 0;
}

static void slack_done(struct gpupipe_job *job, void *user_data)
{
	(void)job;
	(void)user_data;
	atomic_store(&done_slack, (long)prctl(PR_GET_TIMERSLACK, 0, 0, 0, 0));
}

/* The timer slack of this process's thread named name, from
 * /proc/TID/timerslack_ns; -1 if there is none or it cannot be read
 * (another thread's needs CAP_SYS_NICE). */
static long thread_slack(const char *name)
{
	DIR *dir = opendir("/proc/self/task");
	struct dirent *e;
	long slack = -1;

	while (dir && slack < 0 && (e = readdir(dir))) {
		char path[300], comm[32] = "";
		FILE *f;

		snprintf(path, sizeof(path), "/proc/self/task/%s/comm",
			 e->d_name);
		f = fopen(path, "r");
		if (!f)
			continue;
		if (fgets(comm, sizeof(comm), f))
			comm[strcspn(comm, "\n")] = '\0';
		fclose(f);
		if (strcmp(comm, name) != 0)
			continue;
		snprintf(path, sizeof(path), "/proc/%s/timerslack_ns",
			 e->d_name);
		f = fopen(path, "r");
		if (f && fscanf(f, "%ld", &slack) != 1)
			slack = -1;
		if (f)
			fclose(f);
	}
	if (dir)
		closedir(dir);
	return slack;
}

/* gpupipe(7), Threads: "Its submit and readback threads run with a Linux
 * timer slack of 1 ns ... a done_cb on a readback thread runs with it too,
 * and prep and post threads keep the slack of the thread that called
 * gpupipe_create(3)." */
static void test_timer_slack(void)
{
	struct gpupipe_config cfg = test_basic_config();
	long mine = (long)prctl(PR_GET_TIMERSLACK, 0, 0, 0, 0);
	long submit;
	gpupipe *p;

	cfg.prep_cb = slack_prep;
	cfg.done_cb = slack_done;
	atomic_store(&prep_slack, -1);
	atomic_store(&done_slack, -1);
	CU_ASSERT_EQUAL_FATAL(prctl(PR_SET_TIMERSLACK, CREATOR_SLACK, 0, 0, 0),
			      0);
	if (gpupipe_create(&cfg, &p)) {
		prctl(PR_SET_TIMERSLACK, mine, 0, 0, 0);
		CU_FAIL("create");
		return;
	}
	prctl(PR_SET_TIMERSLACK, mine, 0, 0, 0);
	CU_ASSERT_EQUAL(gpupipe_push(p, NULL, 0), 0);
	CU_ASSERT_EQUAL(gpupipe_drain(p, -1), 0);
	CU_ASSERT_EQUAL(atomic_load(&done_slack), 1);
	CU_ASSERT_EQUAL(atomic_load(&prep_slack), CREATOR_SLACK);
	submit = thread_slack("gp-submit");
	if (submit >= 0) {
		CU_ASSERT_EQUAL(submit, 1);
	} else {
		printf("(submit thread's slack unreadable here) ");
	}
	CU_ASSERT_EQUAL(gpupipe_destroy(p), 0);
}

int main(void)
{
	CU_pSuite s;

	test_init(300);
	s = CU_add_suite("pipeline", NULL, NULL);
	CU_add_test(s, "outputs match the CPU reference",
		    test_outputs_match_reference);
	CU_add_test(s, "exactly once, in push order, 10k items",
		    test_order_exactly_once);
	CU_add_test(s, "batches", test_batches);
	CU_add_test(s, "slot reuse", test_slot_reuse);
	CU_add_test(s, "concurrent pushers", test_concurrent_pushers);
	CU_add_test(s, "trace records", test_trace);
	CU_add_test(s, "timer slack of the library's threads",
		    test_timer_slack);
	return test_run("pipeline");
}
