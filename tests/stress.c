/* SPDX-License-Identifier: MIT */
/*
 * stress: random pipelines under random load, judged by balanced totals.
 *
 * Each round draws a configuration (1-3 devices, depth 1-16, prep threads
 * 1-8, fixed or adaptive batches, both wait strategies, in-order or a post
 * pool, random prep delays and failures), runs 1-4 pushing threads,
 * cancels now and
 * then, and ends one of three ways: drain then destroy, destroy while the
 * pushers still push (each push gets GPUPIPE_ESHUTDOWN or exactly one
 * completion), or destroy with items held in prep. Then every
 * accepted push must have had exactly one completion, every DONE output
 * must be right, FAILED only where prep failed, none may come after
 * destroy returned, and, without a post pool, completions in push order.
 * In a fault-injection build, one round in three also makes a random
 * run-time call fail (once or from then on: a bind, a dispatch, a fence, a
 * wait, a timeout, a GPU reset); then any failure status may come, each
 * with an error and a message, and the books must balance all the same.
 *
 *   stress [--rounds N | --seconds S] [--seed N]
 *
 * Prints TAP ("ok N - seed S: ...") and "gpupipe-test stress: N passed, M
 * failed". `make check` runs a fixed number of rounds (GPUPIPE_STRESS_ROUNDS,
 * default 128) with seeds 1..N, so every run counts the same cases; `make
 * stress` runs for GPUPIPE_STRESS_SECONDS (default 600) from a seed drawn
 * from the clock and printed. `--seed S --rounds 1` reruns one round.
 */
#include "config.h"

#include <getopt.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common.h"
#ifdef GPUPIPE_FAULT_INJECTION
#include "fault.h"

/* The points a running pipeline reaches. */
static const unsigned runtime_points[] = {
	GP_FAULT_glBindBuffersRange, GP_FAULT_glDispatchCompute,
	GP_FAULT_glMemoryBarrier, GP_FAULT_glFenceSync,
	GP_FAULT_glClientWaitSync, GP_FAULT_glDeleteSync,
	GP_FAULT_fence_timeout, GP_FAULT_glGetGraphicsResetStatus,
	GP_FAULT_glGetQueryObjectui64v, GP_FAULT_glGetQueryObjectuiv,
	GP_FAULT_glQueryCounter,
};
#endif

#define MAX_PUSHERS 4
#define PER_PUSHER 100000 /* id space of one pusher */

struct pusher {
	gpupipe *p;         /* a copy: the harness forgets it at destroy */
	unsigned index;
	uint64_t want, accepted;
	uint8_t *ok;        /* by id: accepted */
	int last_error;
	unsigned seed;
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void *push_main(void *arg)
{
	struct pusher *pu = arg;
	uint64_t k;

	for (k = 0; k < pu->want; k++) {
		uint64_t id = (uint64_t)pu->index * PER_PUSHER + k;
		unsigned flags = rand_r(&pu->seed) % 4 ? 0 : GPUPIPE_NONBLOCK;
		int ret = gpupipe_push(pu->p, (void *)(uintptr_t)(id + 1),
				       flags);

		if (ret == GPUPIPE_EAGAIN) {
			k--; /* full: try the same id again */
			usleep(50);
			continue;
		}
		if (ret) {
			pu->last_error = ret;
			break;
		}
		pu->ok[id] = 1;
		pu->accepted++;
	}
	return NULL;
}

static uint64_t total_items;

#ifdef GPUPIPE_FAULT_INJECTION
/* Fault builds: one round in three makes a run-time call fail; one in
 * three runs on the GPU model. Appends what it chose to desc; returns
 * after how long the modelled GPU is to hang (0: never). */
static unsigned arm_faults(struct harness *h, unsigned *seed, char *desc,
			   size_t dlen)
{
	unsigned hang_after_us = 0;

	gpupipe_fault_reset();
	if (rand_r(seed) % 3 == 0) {
		unsigned point = runtime_points[rand_r(seed) %
			(sizeof(runtime_points) / sizeof(runtime_points[0]))];
		unsigned long nth = 1 + rand_r(seed) % 400;
		bool persist = rand_r(seed) % 2;

		h->faults = true;
		snprintf(desc + strlen(desc), dlen - strlen(desc),
			 ", fault %s #%lu%s", gpupipe_fault_name(point), nth,
			 persist ? " on" : "");
		gpupipe_fault_arm(point, nth, persist);
	}
	/* One round in two with the prep queue lazy whatever the cores
	 * (on a small machine the library would not make it so). */
	if (rand_r(seed) % 2) {
		gpupipe_fault_prep_lazy(1);
		snprintf(desc + strlen(desc), dlen - strlen(desc),
			 ", lazy prep");
	}
	/* One round in three on the GPU model: fences pending for a while,
	 * so the polls, the open batches and the hand-off at a signal run
	 * as on a GPU; one in 24 with a GPU that hangs partway. */
	if (rand_r(seed) % 3 == 0) {
		unsigned batch_us = rand_r(seed) % 2000;
		unsigned item_us = rand_r(seed) % 300;

		gpupipe_fault_gpu(batch_us, item_us);
		snprintf(desc + strlen(desc), dlen - strlen(desc),
			 ", GPU model %u+%u us", batch_us, item_us);
		if (rand_r(seed) % 8 == 0) {
			hang_after_us = 1000 + rand_r(seed) % 20000;
			h->cfg.fence_timeout_ms = 200;
			h->faults = true;
			snprintf(desc + strlen(desc), dlen - strlen(desc),
				 ", hangs after %u us", hang_after_us);
		}
	}
	return hang_after_us;
}
#endif

/* One round: its pipeline, its pushers, how it ends. */
struct round {
	struct harness h;
	struct pusher pu[MAX_PUSHERS];
	pthread_t th[MAX_PUSHERS];
	unsigned pushers;
	unsigned ending;      /* 0 drain, 1 racing destroy, 2 held prep */
	unsigned hang_after_us; /* fault builds: when the GPU hangs (0 never) */
	uint64_t total;       /* the id space */
	uint64_t after;       /* completions when destroy returned */
	uint8_t *ok;          /* by id: accepted */
};

/* Draw r's configuration and describe it in desc. */
static void draw_round(struct round *r, unsigned *seed, char *desc,
		       size_t dlen)
{
	struct harness *h = &r->h;
	unsigned depth, batch, prep, post;

	r->pushers = 1 + rand_r(seed) % MAX_PUSHERS;
	depth = 1 + rand_r(seed) % 16;
	batch = rand_r(seed) % 3 ? 1 + rand_r(seed) % 16 : 0;
	prep = 1 + rand_r(seed) % 8;
	post = rand_r(seed) % 2 ? 0 : 1 + rand_r(seed) % 3;
	r->ending = rand_r(seed) % 3;
	r->total = (uint64_t)MAX_PUSHERS * PER_PUSHER;
	harness_init(h, 16 + rand_r(seed) % 240, depth, batch, prep, r->total);
	h->cfg.post_threads = post;
	/* One round in three runs on two or three "devices": the same EGL
	 * device, several times. */
	if (rand_r(seed) % 3 == 0)
		harness_same_device(h, 2 + rand_r(seed) % 2);
	h->cfg.wait = rand_r(seed) % 2 ? GPUPIPE_WAIT_BLOCK
				       : GPUPIPE_WAIT_SIGNALLED;
	h->cfg.flags = batch && rand_r(seed) % 2 ? GPUPIPE_FIXED_BATCH : 0;
	h->prep_delay_us = rand_r(seed) % 3 ? 0 : rand_r(seed) % 200;
	h->fail_every = rand_r(seed) % 2 ? 0 : 50;
	h->unordered = post > 0;
	h->many_pushers = r->pushers > 1;
	if (r->ending == 2) {
		h->hold_mask = 1; /* id 0 waits in prep until destroy began */
		atomic_store(&h->gate, 0);
	}
	snprintf(desc, dlen, "%u device%s, depth %u batch %s%u prep %u post %u "
		 "wait %s, %u pushers, prep delay %u us, %s, ending %s",
		 h->cfg.ndevices ? h->cfg.ndevices : 1,
		 h->cfg.ndevices ? "s" : "", depth,
		 h->cfg.flags ? "fixed " : "", batch, prep, post,
		 h->cfg.wait == GPUPIPE_WAIT_BLOCK ? "block" : "signalled",
		 r->pushers, h->prep_delay_us, h->fail_every ? "failures"
		 : "no failures", r->ending == 0 ? "drain" : r->ending == 1
		 ? "racing destroy" : "destroy with held prep");
#ifdef GPUPIPE_FAULT_INJECTION
	r->hang_after_us = arm_faults(h, seed, desc, dlen);
#endif
}

/* Push from r's pusher threads, cancel now and then, end the round its
 * way and destroy the pipeline; nonzero if drain or destroy failed. */
static int run_round(struct round *r, unsigned *seed)
{
	struct harness *h = &r->h;
	int bad = 0;
	unsigned i;

	for (i = 0; i < r->pushers; i++) {
		r->pu[i] = (struct pusher){ .p = h->p, .index = i, .ok = r->ok,
					    .want = 1 + rand_r(seed) % 3000,
					    .seed = rand_r(seed) };
		pthread_create(&r->th[i], NULL, push_main, &r->pu[i]);
	}
	if (rand_r(seed) % 3 == 0) {
		usleep(rand_r(seed) % 2000);
		gpupipe_cancel(h->p);
	}
#ifdef GPUPIPE_FAULT_INJECTION
	if (r->hang_after_us) {
		usleep(r->hang_after_us);
		gpupipe_fault_gpu_hang();
	}
#endif
	if (r->ending == 0) {
		for (i = 0; i < r->pushers; i++)
			pthread_join(r->th[i], NULL);
		if (gpupipe_drain(h->p, -1))
			bad = 1;
	} else {
		/* Destroy while the pushers push: some blocked for a slot,
		 * some about to be accepted, some beginning as destroy
		 * returns; each stops at its first GPUPIPE_ESHUTDOWN. */
		usleep(rand_r(seed) % 5000);
		if (r->ending == 2)
			atomic_store(&h->gate, 1);
	}
	if (gpupipe_destroy(h->p))
		bad = 1;
	h->p = NULL;
	r->after = atomic_load(&h->completions);
	if (r->ending)
		for (i = 0; i < r->pushers; i++)
			pthread_join(r->th[i], NULL);
	atomic_store(&h->gate, 1);
	return bad;
}

/* Balance the books: one completion per accepted push, none after
 * destroy, every status counted, nothing wrong in what done_cb saw;
 * nonzero if they do not balance. Adds the counts to desc. */
static int balance(struct round *r, unsigned n, char *desc, size_t dlen)
{
	struct harness *h = &r->h;
	uint64_t accepted = 0, seen_bad = 0, statuses = 0, id;
	int bad = 0;
	unsigned i;

	for (i = 0; i < r->pushers; i++)
		accepted += r->pu[i].accepted;
	total_items += accepted;
	for (id = 0; id < r->total; id++)
		seen_bad += h->seen[id] != r->ok[id];
	for (i = 0; i <= GPUPIPE_DEVICE_LOST; i++)
		statuses += atomic_load(&h->by_status[i]);
	usleep(1000);
	if (seen_bad || atomic_load(&h->completions) != accepted ||
	    r->after != accepted || statuses != accepted ||
	    atomic_load(&h->bad_output) || atomic_load(&h->bad_status) ||
	    atomic_load(&h->bad_order) || atomic_load(&h->bad_seq))
		bad = 1;
	for (i = 0; i < r->pushers; i++)
		if (r->pu[i].last_error &&
		    r->pu[i].last_error != GPUPIPE_ESHUTDOWN &&
		    !(h->faults && r->pu[i].last_error == GPUPIPE_EBROKEN))
			bad = 1;
#ifdef GPUPIPE_FAULT_INJECTION
	/* Every fence handed over was flushed, whatever else failed. */
	if (gpupipe_fault_unflushed())
		bad = 1;
	gpupipe_fault_reset();
#endif
	snprintf(desc + strlen(desc), dlen - strlen(desc),
		 ": %llu accepted, %llu done, %llu failed, %llu cancelled, "
		 "%llu timed out, %llu device lost%s",
		 (unsigned long long)accepted,
		 (unsigned long long)atomic_load(&h->by_status[GPUPIPE_DONE]),
		 (unsigned long long)atomic_load(&h->by_status[GPUPIPE_FAILED]),
		 (unsigned long long)atomic_load(
			 &h->by_status[GPUPIPE_CANCELLED]),
		 (unsigned long long)atomic_load(
			 &h->by_status[GPUPIPE_TIMEDOUT]),
		 (unsigned long long)atomic_load(
			 &h->by_status[GPUPIPE_DEVICE_LOST]),
		 bad ? " - UNBALANCED" : "");
	if (bad)
		fprintf(stderr, "round %u: seen mismatches %llu, completions "
			"%llu (at destroy %llu), bad output %llu status %llu "
			"order %llu seq %llu\n", n,
			(unsigned long long)seen_bad,
			(unsigned long long)atomic_load(&h->completions),
			(unsigned long long)r->after,
			(unsigned long long)atomic_load(&h->bad_output),
			(unsigned long long)atomic_load(&h->bad_status),
			(unsigned long long)atomic_load(&h->bad_order),
			(unsigned long long)atomic_load(&h->bad_seq));
	return bad;
}

/* One round; returns 0 if every count balanced. */
static int round_once(unsigned n, unsigned *seed, char *desc, size_t dlen)
{
	struct round r = { .hang_after_us = 0 };
	int bad;

	draw_round(&r, seed, desc, dlen);
	r.ok = calloc(r.total, 1);
	if (!r.ok || harness_create(&r.h)) {
		free(r.ok);
		harness_fini(&r.h);
		return 1;
	}
	bad = run_round(&r, seed);
	bad |= balance(&r, n, desc, dlen);
	free(r.ok);
	harness_fini(&r.h);
	return bad;
}

static void usage(void)
{
	fprintf(stderr, "usage: stress [--rounds N | --seconds S] "
		"[--seed N]\n");
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "rounds", required_argument, NULL, 'n' },
		{ "seconds", required_argument, NULL, 's' },
		{ "seed", required_argument, NULL, 'r' },
		{ 0 },
	};
	const char *env_rounds = getenv("GPUPIPE_STRESS_ROUNDS");
	const char *env_secs = getenv("GPUPIPE_STRESS_SECONDS");
	unsigned rounds = env_rounds ? (unsigned)atoi(env_rounds) : 0;
	double seconds = env_secs ? atof(env_secs) : 0;
	unsigned seed = 1, n = 0, failed = 0;
	bool seeded = false;
	uint64_t end;
	char desc[512];
	int c;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c == 'n')
			rounds = (unsigned)strtoul(optarg, NULL, 0), seconds = 0;
		else if (c == 's')
			seconds = atof(optarg), rounds = 0;
		else if (c == 'r')
			seed = (unsigned)strtoul(optarg, NULL, 0), seeded = true;
		else
			return usage(), 2;
	}
	if (!rounds && seconds <= 0)
		rounds = 128; /* the fixed form `make check` runs */
	/* The time-bounded form draws new configurations every run; the
	 * fixed form always runs the same ones (seeds 1..rounds). */
	if (!rounds && !seeded)
		seed = (unsigned)time(NULL);
	setenv("LP_NUM_THREADS", "0", 0);
	/* 128 rounds take under 30 s under ThreadSanitizer on 2 cores. */
	test_watchdog(rounds ? 600 + rounds : (unsigned)seconds + 600);
	if (rounds)
		printf("# stress: %u rounds, seeds %u..%u\n", rounds, seed,
		       seed + rounds - 1);
	else
		printf("# stress: %.0f s from seed %u (rerun with --seed %u "
		       "--seconds %.0f)\n", seconds, seed, seed, seconds);
	end = now_ns() + (uint64_t)(seconds * 1e9);
	do {
		/* Each round has its own seed, so one can be rerun alone:
		 * stress --seed S --rounds 1. */
		unsigned rseed = seed + n;
		int bad = round_once(++n, &rseed, desc, sizeof(desc));

		printf("%s %u - seed %u: %s\n", bad ? "not ok" : "ok", n,
		       seed + n - 1, desc);
		fflush(stdout);
		failed += bad != 0;
	} while (rounds ? n < rounds : now_ns() < end);
	printf("1..%u\n# %llu items in %u configurations\n", n,
	       (unsigned long long)total_items, n);
	printf("\ngpupipe-test stress: %u passed, %u failed\n", n - failed,
	       failed);
	return failed ? 1 : 0;
}
