/* SPDX-License-Identifier: MIT */
/*
 * The batch size: how many items a device's submit thread puts under one
 * fence. The rule is a search on the measured pace (wall time per item
 * completed), not a model of GPU time, which on the H100 always missed
 * (doc/performance.md, 'How the batch size is chosen'):
 *  - start at one item; judge each size on an epoch (EPOCH_* below) of
 *    items pushed after the size was set;
 *  - double while the pace beats the incumbent by more than the noise
 *    (PACE_HYST); then hold the best size and probe a neighbour, up and
 *    down in turn, PROBE_MIN..PROBE_MAX epochs apart (sooner after a move);
 *  - with a budget (batch_latency_us, 0 for none: throughput first),
 *    keep the median latency (gpupipe_push called to done_cb start)
 *    within depth * batch_latency_us once a size has met that, else
 *    within what batches of one gave: batching must not worsen latency;
 *  - pushes may hold depth batches of the target, plus one slot per prep
 *    and post thread.
 * Three calls feed it: an item pushed, an item completed, a batch closed
 * (which answers with the next target).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>

#include "batchsize.h"

#define PACE_HYST 16         /* 1/16: a change must beat noise by 6 % */
#define EPOCH_WARM 2         /* batches ignored after a change, at least */
#define EPOCH_BATCHES 8      /* batches one epoch measures, at least ... */
#define EPOCH_MIN_NS 1000000 /* ... and this much wall time, ... */
#define EPOCH_ITEMS 64       /* ... and this many items (balanced: a few
			      * 100 us items varied by 30 % in 1 ms) ... */
#define EPOCH_MAX_NS 20000000 /* ... unless that takes longer than this */
#define PROBE_MIN 2          /* steady epochs before a probe: at first, */
#define PROBE_MAX 16         /* doubling up to this while probes fail */

/* Measure afresh, once every item pushed until now has completed: those
 * saw the old batch size (or an idle spell), and their latency and pace
 * would be counted against the new one. */
static void epoch_restart(struct gp_dev *d, struct gp_batchsize *bs)
{
	bs->ep_batches = 0;
	bs->ep_on = false;
	bs->ep_mark = atomic_load_explicit(&d->pushed, memory_order_relaxed);
}

/* Aim at t items per batch. Pushes may then hold depth batches' worth of
 * slots, plus one per prep and post thread, so no more items wait than
 * keep the GPU and the pools busy. */
static void set_target(struct gp_dev *d, struct gp_batchsize *bs, unsigned t)
{
	struct gpupipe *p = d->p;

	if (t < 1)
		t = 1;
	if (t > p->max_batch)
		t = p->max_batch;
	epoch_restart(d, bs);
	if (t == bs->target)
		return;
	bs->target = t;
	atomic_store_explicit(&d->batch_target, t, memory_order_relaxed);
	gp_slots_set_limit(d, p->depth * t + p->prep_threads +
				      p->post_threads);
}

/* Is candidate c better than the incumbent b? With no latency limit
 * (budget 0), or within it: faster by more than the noise, or as fast
 * with a smaller batch (less latency, fewer slots). Over it, back within
 * it; or, where both are over, latency no worse and the pace faster, or
 * as fast with lower latency: a lower latency bought with a slower pace
 * is no gain (on balanced it was half the throughput). A candidate counts as within
 * the configured budget only below it by the noise (margin), the
 * incumbent as over only beyond it: a size whose median sits at the
 * limit neither wins nor flaps (tiny on the H100 took batch 32 and ran at
 * a median of 159 us against a 150 us limit: doc/performance.md, 'How
 * the batch size is chosen'). */
static bool better(const struct gp_measure *c, const struct gp_measure *b,
		   uint64_t budget, bool margin)
{
	bool c_over = budget &&
		      c->lat_ns > budget - (margin ? budget / PACE_HYST : 0);
	bool b_over = budget && b->lat_ns > budget + budget / PACE_HYST;
	bool faster = c->pace_ns + c->pace_ns / PACE_HYST < b->pace_ns;
	bool as_fast = c->pace_ns <= b->pace_ns + b->pace_ns / PACE_HYST;

	if (c_over != b_over)
		return !c_over;
	if (c_over)
		return c->lat_ns <= b->lat_ns + b->lat_ns / PACE_HYST &&
		       (faster || (as_fast && c->lat_ns + c->lat_ns /
						      PACE_HYST < b->lat_ns));
	return faster || (c->target < b->target && as_fast);
}

static uint64_t median3(uint64_t a, uint64_t b, uint64_t c)
{
	if (a > b) {
		uint64_t t = a;

		a = b;
		b = t;
	}
	return c < a ? a : c > b ? b : c;
}

/* m is the new incumbent; probe again soon (it may be one step of a
 * climb), or, when a probe failed, later than last time. */
static void new_best(struct gp_batchsize *bs, const struct gp_measure *m,
		     bool moved)
{
	bs->best = *m;
	bs->last[0] = *m;
	bs->nlast = 1;
	bs->steady = 0;
	if (moved)
		bs->probe_every = PROBE_MIN;
	else if (bs->probe_every < PROBE_MAX)
		bs->probe_every *= 2;
}

/* An epoch at the incumbent size: the incumbent is the median of its
 * last three epochs, so that one disturbed epoch (the H100 showed
 * 47 us per item among 5 us ones) neither moves the search nor sticks. */
static void track_best(struct gp_batchsize *bs, const struct gp_measure *m)
{
	unsigned i;

	if (bs->nlast < 3) {
		bs->last[bs->nlast++] = *m;
	} else {
		bs->last[0] = bs->last[1];
		bs->last[1] = bs->last[2];
		bs->last[2] = *m;
	}
	if (bs->nlast < 3) {
		/* Too few for a median: the mean. */
		bs->best.pace_ns = bs->best.lat_ns = 0;
		for (i = 0; i < bs->nlast; i++) {
			bs->best.pace_ns += bs->last[i].pace_ns / bs->nlast;
			bs->best.lat_ns += bs->last[i].lat_ns / bs->nlast;
		}
		return;
	}
	bs->best.pace_ns = median3(bs->last[0].pace_ns, bs->last[1].pace_ns,
				   bs->last[2].pace_ns);
	bs->best.lat_ns = median3(bs->last[0].lat_ns, bs->last[1].lat_ns,
				  bs->last[2].lat_ns);
}

/* An epoch ended with measure m at bs->target: move the search on. */
static void search_step(struct gp_dev *d, struct gp_batchsize *bs,
			const struct gp_measure *m)
{
	struct gpupipe *p = d->p;
	uint64_t budget = (uint64_t)p->depth * p->batch_latency_us * 1000u;
	bool margin = true; /* candidates must beat the budget by the noise */
	unsigned t = bs->target;

	if (budget && m->lat_ns <= budget)
		bs->met = true;
	if (m->target == 1)
		bs->lat1_ns = m->lat_ns;
	/* The latency limit: none without a budget (throughput first);
	 * else the budget, or, while no size has met it, what batches of
	 * one gave (beyond the noise). */
	if (budget && !bs->met && bs->lat1_ns > budget) {
		budget = bs->lat1_ns + bs->lat1_ns / PACE_HYST;
		margin = false; /* that limit has the noise in it already */
	}

	if (bs->debug)
		fprintf(stderr, "search: phase %d T %u pace %.3f lat %.1f | "
			"best T %u pace %.3f lat %.1f\n", bs->phase, m->target,
			m->pace_ns / 1e3, m->lat_ns / 1e3, bs->best.target,
			bs->best.pace_ns / 1e3, bs->best.lat_ns / 1e3);
	switch (bs->phase) {
	case GP_SEARCH_GROW:
	case GP_SEARCH_PROBE:
		if (bs->best.target && !better(m, &bs->best, budget, margin)) {
			/* The step did not pay: back to the incumbent. */
			bs->phase = GP_SEARCH_STEADY;
			new_best(bs, &bs->best, false);
			set_target(d, bs, bs->best.target);
			return;
		}
		/* Upwards, keep climbing; downwards, stay there. */
		bs->phase = bs->best.target && t < bs->best.target
				    ? GP_SEARCH_STEADY : GP_SEARCH_GROW;
		new_best(bs, m, true);
		if (bs->phase == GP_SEARCH_GROW && t < p->max_batch)
			set_target(d, bs, 2 * t);
		else
			bs->phase = GP_SEARCH_STEADY;
		return;
	case GP_SEARCH_STEADY:
		track_best(bs, m);
		if (++bs->steady < bs->probe_every)
			return;
		/* Probe a neighbour, alternately up and down: a size over
		 * the latency budget shrinks by a down probe that meets it,
		 * and a noisy epoch that made one probe win is undone by the
		 * next (always probing down when over the budget left
		 * balanced, over it at every size, never probing up). */
		if (bs->probe_down ? t == 1 : t == p->max_batch)
			bs->probe_down = !bs->probe_down;
		if (bs->probe_down ? t == 1 : t == p->max_batch)
			return; /* max_batch 1: nothing to search */
		bs->phase = GP_SEARCH_PROBE;
		set_target(d, bs, bs->probe_down ? t / 2 : 2 * t);
		bs->probe_down = !bs->probe_down;
		return;
	}
}

/* The median latency of the items completed since the epoch began, from
 * the difference of the histograms, interpolated within its bucket. */
static uint64_t epoch_median(struct gp_dev *d, const struct gp_batchsize *bs)
{
	uint64_t diff[GP_LAT_BUCKETS], total = 0, half, cum = 0, lo, hi;
	unsigned b;

	for (b = 0; b < GP_LAT_BUCKETS; b++) {
		diff[b] = atomic_load_explicit(&d->lat_hist[b],
					    memory_order_relaxed) - bs->lat0[b];
		total += diff[b];
	}
	if (!total)
		return 0;
	half = (total + 1) / 2;
	for (b = 0; cum + diff[b] < half; b++)
		cum += diff[b];
	lo = gp_lat_floor(b);
	hi = b + 1 < GP_LAT_BUCKETS ? gp_lat_floor(b + 1) : 2 * lo;
	return lo + (hi - lo) * (half - cum) / diff[b];
}

/* A batch closed: judge the epoch once it is long enough. Not while the
 * GPU trace runs: its per-dispatch timestamps slow the GPU, and the
 * pipeline must not tune itself to its own instrument. */
static void epoch_note(struct gp_dev *d, struct gp_batchsize *bs)
{
	struct gpupipe *p = d->p;
	struct gp_measure m;
	uint64_t now, done;
	unsigned b;

	if (p->flags & GPUPIPE_FIXED_BATCH)
		return;
	if (atomic_load_explicit(&p->trace.rec, memory_order_acquire) &&
	    p->trace.gpu) {
		epoch_restart(d, bs);
		return;
	}
	/* The pipeline ran empty (gp_complete): the producer was idle,
	 * which says nothing about the batch size. A GPU or a post stage
	 * that is the bottleneck never empties it. */
	if (atomic_exchange_explicit(&d->went_idle, 0, memory_order_relaxed)) {
		epoch_restart(d, bs);
		return;
	}
	now = gp_now_ns();
	done = atomic_load_explicit(&d->completed, memory_order_relaxed);
	bs->ep_batches++;
	if (!bs->ep_on) {
		if (bs->ep_batches < EPOCH_WARM || done < bs->ep_mark)
			return;
		bs->ep_on = true;
		bs->ep_batches = 0;
		bs->ep_t0 = now;
		bs->ep_done0 = done;
		for (b = 0; b < GP_LAT_BUCKETS; b++)
			bs->lat0[b] = atomic_load_explicit(
				&d->lat_hist[b], memory_order_relaxed);
		return;
	}
	if (bs->ep_batches < EPOCH_BATCHES || now - bs->ep_t0 < EPOCH_MIN_NS ||
	    done == bs->ep_done0 ||
	    (done - bs->ep_done0 < EPOCH_ITEMS &&
	     now - bs->ep_t0 < EPOCH_MAX_NS))
		return;
	m.target = bs->target;
	m.pace_ns = (now - bs->ep_t0) / (done - bs->ep_done0);
	m.lat_ns = epoch_median(d, bs);
	epoch_restart(d, bs);
	search_step(d, bs, &m);
}

unsigned gp_batchsize_start(struct gp_dev *d, struct gp_batchsize *bs)
{
	struct gpupipe *p = d->p;

	*bs = (struct gp_batchsize){ .target = p->max_batch,
				     .probe_every = PROBE_MIN };
	bs->debug = getenv("GPUPIPE_DEBUG_SEARCH") != NULL;
	/* Adaptive batches start at one item: a heavy kernel must not wait
	 * behind a full batch before the pace is known; a light one grows
	 * its batch as the measured pace improves. */
	if (!(p->flags & GPUPIPE_FIXED_BATCH))
		set_target(d, bs, 1);
	return bs->target;
}

void gp_batchsize_pushed(struct gp_dev *d)
{
	atomic_fetch_add_explicit(&d->pushed, 1, memory_order_relaxed);
}

void gp_batchsize_completed(struct gp_dev *d, uint64_t latency_ns)
{
	bool fixed = d->p->flags & GPUPIPE_FIXED_BATCH;
	uint64_t done, pushed;

	if (!fixed)
		atomic_fetch_add_explicit(
			&d->lat_hist[gp_lat_bucket(latency_ns)], 1,
			memory_order_relaxed);
	/* This completion emptied the device: the producer was idle. The
	 * pushers' count is read only when the last count read says it may
	 * have: it only grows. (A load spared, not a line: a release writes
	 * in_use, beside it, at each item anyway.) */
	done = atomic_fetch_add(&d->completed, 1) + 1;
	if (fixed ||
	    done < atomic_load_explicit(&d->pushed_seen, memory_order_relaxed))
		return;
	pushed = atomic_load_explicit(&d->pushed, memory_order_relaxed);
	atomic_store_explicit(&d->pushed_seen, pushed, memory_order_relaxed);
	if (done == pushed)
		atomic_store_explicit(&d->went_idle, 1, memory_order_relaxed);
}

unsigned gp_batchsize_closed(struct gp_dev *d, struct gp_batchsize *bs)
{
	epoch_note(d, bs);
	return bs->target;
}
