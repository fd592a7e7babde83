/* SPDX-License-Identifier: MIT */
/*
 * What the test programs share: a watchdog, the affine test kernel with
 * its CPU reference, and a harness that pushes items and checks each
 * completion (status, order, tag, every output element).
 */
#ifndef GPUPIPE_TESTS_COMMON_H
#define GPUPIPE_TESTS_COMMON_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include <CUnit/Basic.h>

#include "gpupipe.h"

/* Fail the program with SIGALRM after seconds times
 * GPUPIPE_TEST_TIMEOUT_SCALE (if set). */
void test_watchdog(unsigned seconds);
/* Arm the watchdog, keep Mesa loaded, and set LP_NUM_THREADS=0. */
void test_init(unsigned watchdog_s);
/* Run the registered suites; print "gpupipe-test NAME: N passed, M
 * failed" and return the exit status (0 only if nothing failed). */
int test_run(const char *name);
/* CLOCK_MONOTONIC in seconds, for the tests' own deadlines. */
double test_now_s(void);

/* The test shader's source (shaders/test_affine.comp), loaded once. */
const char *test_shader(void);

/* A configuration that creates: the test shader, 64 bytes in and out,
 * callbacks that do nothing. */
int test_noop_prep(struct gpupipe_job *job, void *user_data);
void test_noop_done(struct gpupipe_job *job, void *user_data);
struct gpupipe_config test_basic_config(void);

#define TEST_WEIGHTS 37 /* weight count, prime so i % wn varies */

/* Element i of item id's input, and the item's tag: never zero. */
static inline uint32_t test_input(uint64_t id, uint32_t i)
{
	uint64_t v = (id + 1) * 0x9e3779b97f4a7c15ull + i * 0xbf58476d1ce4e5b9ull;

	v ^= v >> 29;
	return (uint32_t)v | 1u;
}

static inline uint32_t test_tag(uint64_t id)
{
	return (uint32_t)(id * 2654435761u) ^ 0xa5a5a5a5u;
}

/* Whether the harness's prep_cb fails item id. */
static inline bool harness_fails(int64_t fail_id, unsigned fail_every,
				 uint64_t id)
{
	return (int64_t)id == fail_id ||
	       (fail_every && (test_input(id, 3) >> 1) % fail_every == 0);
}

/* A harness: one pipeline running the affine kernel over items whose
 * item pointer encodes an id (id + 1). */
struct harness {
	struct gpupipe_config cfg;
	gpupipe *p;
	uint32_t elems;         /* uint32 elements per item */
	uint32_t weights[TEST_WEIGHTS];
	unsigned prep_delay_us; /* random delay in prep, 0..this */
	int64_t fail_id;        /* prep fails this item id; -1: none */
	unsigned fail_every;    /* and ids whose hash % this is 0 (0: none) */
	int64_t hold_from;      /* prep blocks items >= this id on gate */
	uint64_t hold_mask;     /* prep also blocks ids < 64 set here */
	atomic_int gate;        /* 0: held prep_cbs wait; 1: they run */
	atomic_int prep_running;/* prep_cbs waiting on gate */
	atomic_int done_gate;   /* 0: done_cb waits; 1: it runs */
	atomic_int done_waiting;/* done_cbs waiting on done_gate */
	unsigned done_delay_us; /* sleep in done_cb */
	bool unordered;         /* post_threads: no order to check */
	bool faults;            /* faults are injected: any failure status
				 * may come, with an error and a message */
	bool many_pushers;      /* seq order holds, id order does not */
	unsigned keep_every;    /* done_cb keeps ids % keep_every == 0 */
	struct gpupipe_job **kept; /* by id, what done_cb kept */
	atomic_uint_fast64_t max_in_flight; /* seen from done_cb */

	/* What done_cb saw. */
	atomic_uint_fast64_t completions;
	atomic_uint_fast64_t by_status[5];
	atomic_uint_fast64_t bad_order, bad_output, bad_status, bad_seq;
	uint64_t next_seq;      /* done_cb runs one at a time */
	int64_t last_id;
	uint8_t *seen;          /* per id: completions seen */
	uint64_t *done_seq;     /* per id: the job->seq done_cb saw */
	uint64_t seen_cap;
};

/* Set up h (not yet created); elems per item, depth, batch, threads. */
void harness_init(struct harness *h, uint32_t elems, unsigned depth,
		  unsigned batch, unsigned prep_threads, uint64_t max_items);
/* Run h on n "devices": EGL device 0, n times (GPUPIPE_DISPLAY_DEVICES),
 * which is how one GPU, or llvmpipe, stands in for several. */
void harness_same_device(struct harness *h, unsigned n);
int harness_create(struct harness *h);
/* Push ids [first, first + n); returns the first failing push's code. */
int harness_push(struct harness *h, uint64_t first, uint64_t n);
/* Destroys the pipeline, if any; returns what gpupipe_destroy did. */
int harness_fini(struct harness *h);
/* The arrays harness_init allocated (harness_fini calls it); for a
 * harness whose pipeline was never created. */
void harness_free(struct harness *h);

/* A thread that destroys h's pipeline, for tests of what destroy does to
 * calls in progress: pthread_create(&t, NULL, harness_destroyer_main, &d),
 * then d.ret is gpupipe_destroy's answer once the thread is joined. */
struct harness_destroyer {
	struct harness *h;
	int ret;
};
void *harness_destroyer_main(void *arg);

/* Create h's pipeline (the test stops there if that fails), push ids
 * 0..n-1, drain, and assert each completed once, DONE and right (in
 * order unless h->unordered): the run most tests start from. */
void harness_run(struct harness *h, uint64_t n);

/* Assert that ids 0..n-1 each completed once (done of them DONE), with
 * right outputs, in order unless h->unordered. */
void harness_check(struct harness *h, uint64_t n, uint64_t done);

/* Whether out is item id's correct output. */
bool output_ok(struct harness *h, uint64_t id, const uint32_t *out);

/* Counters of this process, for leak checks. */
int count_fds(void);
int count_threads(void);
long rss_kib(void);

#endif
