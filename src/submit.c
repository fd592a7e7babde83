/* SPDX-License-Identifier: MIT */
/*
 * The submit thread: the only thread current in the pipeline's GL
 * context. It creates the program and the persistently mapped buffers,
 * then, for each batch of READY slots, binds each slot's ranges,
 * dispatches, and closes the batch with a client-mapped barrier, a fence
 * and a flush before handing it to readback.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gl.h"

#include "gldev.h"

static bool groups_ok(struct gp_dev *d, struct gp_slot *s)
{
	const uint32_t *g = s->job.groups;
	unsigned i;

	for (i = 0; i < 3; i++) {
		if (g[i] == 0 || g[i] > d->max_groups[i]) {
			gp_slot_fail(s, GPUPIPE_FAILED, GPUPIPE_EINVAL,
				     "prep_cb set groups[%u] = %u; it must be "
				     "1..%u", i, g[i], d->max_groups[i]);
			return false;
		}
	}
	return true;
}

/* False for a slot that failed in prep, was cancelled, arrives after the
 * pipeline broke, or asks for an impossible dispatch; its status says
 * which. */
static bool dispatchable(struct gp_dev *d, struct gp_slot *s)
{
	if (s->job.status != GPUPIPE_DONE)
		return false;
	if (atomic_load_explicit(&d->broken, memory_order_relaxed)) {
		gp_slot_fail(s, gp_broken_status(d), GPUPIPE_EBROKEN,
			     "not dispatched: %s", gp_broken_reason(atomic_load(&d->broken)));
		return false;
	}
	return groups_ok(d, s);
}

/* Dispatch s. *batch_err keeps the first GL error of the batch so far
 * where this has to read errors itself. */
static void dispatch(struct gp_dev *d, struct gp_slot *s, GLenum *batch_err)
{
	struct gpupipe *p = d->p;
	struct gpupipe_trace_record *rec = gp_trace_rec(&p->trace, s->job.seq);

	if (s->query_pending) {
		/* Errors before the reads are the batch's; the reads' own
		 * cost only this trace record's GPU times. */
		GLenum e = glGetError();

		if (e != GL_NO_ERROR && *batch_err == GL_NO_ERROR)
			*batch_err = e;
		gp_gldev_read_slot_queries(d, s);
		gp_gl_clear_errors();
	}
	gp_gldev_bind_slot(d, s->dev_index);
	if (!rec) {
		glDispatchCompute(s->job.groups[0], s->job.groups[1],
				  s->job.groups[2]);
		return;
	}
	rec->dispatch_ns = gp_now_ns();
	if (!p->trace.gpu) {
		glDispatchCompute(s->job.groups[0], s->job.groups[1],
				  s->job.groups[2]);
		return;
	}
	glQueryCounter(d->queries[2 * s->dev_index], GL_TIMESTAMP);
	glDispatchCompute(s->job.groups[0], s->job.groups[1],
			  s->job.groups[2]);
	glQueryCounter(d->queries[2 * s->dev_index + 1], GL_TIMESTAMP);
	s->query_pending = true;
	s->query_seq = s->job.seq;
}

/* Hand a slot that was not dispatched to readback on its own. */
static void pass_through(struct gp_dev *d, struct gp_slot *s)
{
	s->fence = NULL;
	s->batch_len = 0;
	s->dispatched = false;
	gp_slot_set_state(s, GP_SLOT_READY, GP_SLOT_IN_FLIGHT);
	gp_queue_push(&d->flight_q, &s->node);
}

/* ---- batches in flight, adaptive batch size ---------------------------- */

#define EWMA(avg, x) ((avg) ? ((avg) * 7 + (x)) / 8 : (x))

/*
 * The adaptive batch size is a search on the measured pace (wall time per
 * item completed), not a model of it: on the H100 every model of GPU time
 * per item missed (NVIDIA's timestamps run ahead of the work, narrow
 * kernels overlap within a batch but not across the barrier that closes
 * it, small batches slow the pipeline and so the pace itself:
 * doc/performance.md, 'How the batch size is chosen'). Each batch size
 * is judged on an epoch (at least EPOCH_BATCHES batches and EPOCH_MIN_NS,
 * and EPOCH_ITEMS items unless that takes over EPOCH_MAX_NS). The size
 * doubles while the pace improves by more than the noise (PACE_HYST),
 * then holds and probes a neighbour, at once after a change and less
 * often while probes fail (PROBE_MIN..PROBE_MAX epochs apart). The
 * median latency of the items (gpupipe_push called to done_cb start) must
 * stay within depth * batch_latency_us once any size has met that (tiny);
 * where none has (the pipeline is full of slow items: balanced, sgemm),
 * within what batches of one item gave: batching must not make latency
 * worse.
 */
#define PACE_HYST 16         /* 1/16: a change must beat noise by 6 % */
#define EPOCH_WARM 2         /* batches ignored after a change, at least */
#define EPOCH_BATCHES 8      /* batches one epoch measures, at least ... */
#define EPOCH_MIN_NS 1000000 /* ... and this much wall time, ... */
#define EPOCH_ITEMS 64       /* ... and this many items (balanced: a few
			      * 100 us items varied by 30 % in 1 ms) ... */
#define EPOCH_MAX_NS 20000000 /* ... unless that takes longer than this */
#define PROBE_MIN 2          /* steady epochs before a probe: at first, */
#define PROBE_MAX 16         /* doubling up to this while probes fail */

enum search_phase {
	SEARCH_GROW,   /* doubling while the pace improves */
	SEARCH_STEADY, /* at the best size; probing now and then */
	SEARCH_PROBE   /* one epoch at a neighbour of the best size */
};

/* One epoch's verdict on one batch size. */
struct measure {
	unsigned target;
	uint64_t pace_ns; /* wall time per item completed */
	uint64_t lat_ns;  /* median latency of the items completed */
};

/* Submit-thread state that no other thread reads. */
struct submit {
	unsigned target;       /* items per batch it aims at */
	bool timestamps;       /* GL_TIMESTAMP works on this driver */
	uint64_t gpu_ns;       /* EWMA of the GPU stage's pace per item */
	uint64_t best_ns;      /* the best GPU pace seen (BLOCK: polls) */
	uint64_t fence_ns;     /* SIGNALLED: learnt fence delay per item */
	uint64_t prev_done_ns; /* when the last fence was seen signalled */
	uint64_t cost_ns;      /* EWMA of fence+flush+polls per batch */
	uint64_t poll_ns;      /* time spent polling since the last batch */
	uint64_t items;        /* items dispatched so far */
	uint64_t batches;      /* batches closed so far */
	uint64_t last_end;     /* GL_TIMESTAMP of the last sampled batch */
	uint64_t last_items;   /* items dispatched up to it */
	bool read_query;       /* a timestamp was read since the last
				* error check */
	GLenum batch_err;      /* an error of this batch read early */
	bool batch_open;       /* dispatches made, batch not closed yet */
	bool turn;             /* holds a turn at the driver (gp_turns) */
	/* the search */
	enum search_phase phase;
	struct measure best;   /* the incumbent: best size measured */
	struct measure last[3];/* its last epochs: best is their median */
	unsigned nlast;
	unsigned steady;       /* steady epochs since the last probe */
	unsigned probe_every;  /* steady epochs between probes now */
	bool probe_down;       /* direction of the next probe */
	bool met;              /* some epoch met the latency budget */
	uint64_t lat1_ns;      /* median latency at batches of one */
	/* the epoch being measured */
	unsigned ep_batches;   /* batches closed since the (re)start */
	bool ep_on;            /* warm-up over, measuring */
	uint64_t ep_mark;      /* items pushed before the (re)start */
	uint64_t ep_t0, ep_done0;
	uint64_t lat0[GP_LAT_BUCKETS]; /* d->lat_hist at ep_t0 */
	bool debug;            /* GPUPIPE_DEBUG_SEARCH: log each epoch */
};

static void keep_batch_error(struct submit *st);

static void take_turn(struct gp_dev *d, struct submit *st)
{
	st->turn = gp_turn_take(&d->p->turns, gp_wants_turns(d));
}

static void give_turn(struct gp_dev *d, struct submit *st)
{
	if (st->turn)
		gp_turn_give(&d->p->turns);
	st->turn = false;
}

/* One batch in this many carries a GL_TIMESTAMP: on NVIDIA a timestamp
 * drains the GPU's pipeline (several microseconds), too much for every
 * small batch. */
#define SAMPLE_EVERY 8

static struct gp_flight *flight_at(struct gp_dev *d, unsigned i)
{
	return &d->flights[(d->flight_head + i) % d->nslots];
}

/* Measure afresh, once every item pushed until now has completed: those
 * saw the old batch size (or an idle spell), and their latency and pace
 * would be counted against the new one. */
static void epoch_restart(struct gp_dev *d, struct submit *st)
{
	st->ep_batches = 0;
	st->ep_on = false;
	st->ep_mark = atomic_load_explicit(&d->pushed, memory_order_relaxed);
}

/* Aim at t items per batch. Pushes may then hold depth batches' worth of
 * slots, plus one per prep and post thread, so no more items wait than
 * keep the GPU and the pools busy. */
static void set_target(struct gp_dev *d, struct submit *st, unsigned t)
{
	struct gpupipe *p = d->p;

	if (t < 1)
		t = 1;
	if (t > p->max_batch)
		t = p->max_batch;
	epoch_restart(d, st);
	if (t == st->target)
		return;
	st->target = t;
	atomic_store_explicit(&d->batch_target, t, memory_order_relaxed);
	gp_slots_set_limit(d, p->depth * t + p->prep_threads +
				      p->post_threads);
}

/* Is candidate c better than the incumbent b? Within the latency limit:
 * faster by more than the noise, or as fast with a smaller batch (less
 * latency, fewer slots). Over it, back within it; or, where both are
 * over, latency no worse and the pace faster, or as fast with lower
 * latency: a lower latency bought with a slower pace is no gain (on
 * balanced it was half the throughput). A candidate counts as within
 * the configured budget only below it by the noise (margin), the
 * incumbent as over only beyond it: a size whose median sits at the
 * limit neither wins nor flaps (tiny on the H100 took batch 32 and ran at
 * a median of 159 us against a 150 us limit: doc/performance.md, 'How
 * the batch size is chosen'). */
static bool better(const struct measure *c, const struct measure *b,
		   uint64_t budget, bool margin)
{
	bool c_over = c->lat_ns > budget - (margin ? budget / PACE_HYST : 0);
	bool b_over = b->lat_ns > budget + budget / PACE_HYST;
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
static void new_best(struct submit *st, const struct measure *m, bool moved)
{
	st->best = *m;
	st->last[0] = *m;
	st->nlast = 1;
	st->steady = 0;
	if (moved)
		st->probe_every = PROBE_MIN;
	else if (st->probe_every < PROBE_MAX)
		st->probe_every *= 2;
}

/* An epoch at the incumbent size: the incumbent is the median of its
 * last three epochs, so that one disturbed epoch (the H100 showed
 * 47 us per item among 5 us ones) neither moves the search nor sticks. */
static void track_best(struct submit *st, const struct measure *m)
{
	unsigned i;

	if (st->nlast < 3) {
		st->last[st->nlast++] = *m;
	} else {
		st->last[0] = st->last[1];
		st->last[1] = st->last[2];
		st->last[2] = *m;
	}
	if (st->nlast < 3) {
		/* Too few for a median: the mean. */
		st->best.pace_ns = st->best.lat_ns = 0;
		for (i = 0; i < st->nlast; i++) {
			st->best.pace_ns += st->last[i].pace_ns / st->nlast;
			st->best.lat_ns += st->last[i].lat_ns / st->nlast;
		}
		return;
	}
	st->best.pace_ns = median3(st->last[0].pace_ns, st->last[1].pace_ns,
				   st->last[2].pace_ns);
	st->best.lat_ns = median3(st->last[0].lat_ns, st->last[1].lat_ns,
				  st->last[2].lat_ns);
}

/* An epoch ended with measure m at st->target: move the search on. */
static void search_step(struct gp_dev *d, struct submit *st,
			const struct measure *m)
{
	struct gpupipe *p = d->p;
	uint64_t budget = (uint64_t)p->depth * p->batch_latency_us * 1000u;
	bool margin = true; /* candidates must beat the budget by the noise */
	unsigned t = st->target;

	if (m->lat_ns <= budget)
		st->met = true;
	if (m->target == 1)
		st->lat1_ns = m->lat_ns;
	/* The latency limit: the budget, or, while no size has met it,
	 * what batches of one gave (beyond the noise). */
	if (!st->met && st->lat1_ns > budget) {
		budget = st->lat1_ns + st->lat1_ns / PACE_HYST;
		margin = false; /* that limit has the noise in it already */
	}

	if (st->debug)
		fprintf(stderr, "search: phase %d T %u pace %.3f lat %.1f | "
			"best T %u pace %.3f lat %.1f\n", st->phase, m->target,
			m->pace_ns / 1e3, m->lat_ns / 1e3, st->best.target,
			st->best.pace_ns / 1e3, st->best.lat_ns / 1e3);
	switch (st->phase) {
	case SEARCH_GROW:
	case SEARCH_PROBE:
		if (st->best.target && !better(m, &st->best, budget, margin)) {
			/* The step did not pay: back to the incumbent. */
			st->phase = SEARCH_STEADY;
			new_best(st, &st->best, false);
			set_target(d, st, st->best.target);
			return;
		}
		/* Upwards, keep climbing; downwards, stay there. */
		st->phase = st->best.target && t < st->best.target
				    ? SEARCH_STEADY : SEARCH_GROW;
		new_best(st, m, true);
		if (st->phase == SEARCH_GROW && t < p->max_batch)
			set_target(d, st, 2 * t);
		else
			st->phase = SEARCH_STEADY;
		return;
	case SEARCH_STEADY:
		track_best(st, m);
		if (++st->steady < st->probe_every)
			return;
		/* Probe a neighbour, alternately up and down: a size over
		 * the latency budget shrinks by a down probe that meets it,
		 * and a noisy epoch that made one probe win is undone by the
		 * next (always probing down when over the budget left
		 * balanced, over it at every size, never probing up). */
		if (st->probe_down ? t == 1 : t == p->max_batch)
			st->probe_down = !st->probe_down;
		if (st->probe_down ? t == 1 : t == p->max_batch)
			return; /* max_batch 1: nothing to search */
		st->phase = SEARCH_PROBE;
		set_target(d, st, st->probe_down ? t / 2 : 2 * t);
		st->probe_down = !st->probe_down;
		return;
	}
}

/* The median latency of the items completed since the epoch began, from
 * the difference of the histograms, interpolated within its bucket. */
static uint64_t epoch_median(struct gp_dev *d, const struct submit *st)
{
	uint64_t diff[GP_LAT_BUCKETS], total = 0, half, cum = 0, lo, hi;
	unsigned b;

	for (b = 0; b < GP_LAT_BUCKETS; b++) {
		diff[b] = atomic_load_explicit(&d->lat_hist[b],
					    memory_order_relaxed) - st->lat0[b];
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
static void epoch_note(struct gp_dev *d, struct submit *st)
{
	struct gpupipe *p = d->p;
	struct measure m;
	uint64_t now, done;
	unsigned b;

	if (p->flags & GPUPIPE_FIXED_BATCH)
		return;
	if (atomic_load_explicit(&p->trace.rec, memory_order_acquire) &&
	    p->trace.gpu) {
		epoch_restart(d, st);
		return;
	}
	/* The pipeline ran empty (gp_complete): the producer was idle,
	 * which says nothing about the batch size. A GPU or a post stage
	 * that is the bottleneck never empties it. */
	if (atomic_exchange_explicit(&d->went_idle, 0, memory_order_relaxed)) {
		epoch_restart(d, st);
		return;
	}
	now = gp_now_ns();
	done = atomic_load_explicit(&d->completed, memory_order_relaxed);
	st->ep_batches++;
	if (!st->ep_on) {
		if (st->ep_batches < EPOCH_WARM || done < st->ep_mark)
			return;
		st->ep_on = true;
		st->ep_batches = 0;
		st->ep_t0 = now;
		st->ep_done0 = done;
		for (b = 0; b < GP_LAT_BUCKETS; b++)
			st->lat0[b] = atomic_load_explicit(
				&d->lat_hist[b], memory_order_relaxed);
		return;
	}
	if (st->ep_batches < EPOCH_BATCHES || now - st->ep_t0 < EPOCH_MIN_NS ||
	    done == st->ep_done0 ||
	    (done - st->ep_done0 < EPOCH_ITEMS &&
	     now - st->ep_t0 < EPOCH_MAX_NS))
		return;
	m.target = st->target;
	m.pace_ns = (now - st->ep_t0) / (done - st->ep_done0);
	m.lat_ns = epoch_median(d, st);
	epoch_restart(d, st);
	search_step(d, st, &m);
}

/*
 * The GPU stage's pace: between two sampled batches, the GL_TIMESTAMPs
 * after their last items over the items dispatched in between. On a busy
 * GPU that is its time per item; on a starved one, the pace at which work
 * reaches it, which is what decides batching and polling then. Idle spells
 * (nothing in flight, nothing ready) restart the measurement.
 */
static void read_flight_time(struct gp_dev *d, struct submit *st,
			     unsigned ring_index, const struct gp_flight *f)
{
	GLuint64 end = 0;

	if (!st->timestamps || !f->sampled)
		return;
	if (!st->read_query)
		keep_batch_error(st);
	glGetQueryObjectui64v(d->batch_queries[ring_index], GL_QUERY_RESULT,
			      &end);
	st->read_query = true;
	if (st->last_end && end > st->last_end &&
	    f->items_to_end > st->last_items) {
		uint64_t pace = (end - st->last_end) /
				(f->items_to_end - st->last_items);

		st->gpu_ns = EWMA(st->gpu_ns, pace);
		/* The best pace ever schedules the first poll of a fence
		 * (early rather than late): letting it creep up towards the
		 * current pace fed back on the H100 (doc/performance.md,
		 * 'How the batch size is chosen'). */
		if (!st->best_ns || pace < st->best_ns)
			st->best_ns = pace;
		atomic_store_explicit(&d->gpu_ns_per_item, st->gpu_ns,
				      memory_order_relaxed);
	}
	st->last_end = end;
	st->last_items = f->items_to_end;
}

/* Delete the fences readback is done with (see gp_dev.spent), between
 * batches: a failed delete is no batch's error. */
static void delete_spent_fences(struct gp_dev *d)
{
	void *fence;
	bool any = false;

	while ((fence = gp_ring_pop(&d->spent))) {
		glDeleteSync(fence);
		any = true;
	}
	if (any)
		gp_gl_clear_errors();
}

static void pop_flight(struct gp_dev *d)
{
	d->flight_head = (d->flight_head + 1) % d->nslots;
	d->flight_count--;
}

/*
 * Look at the oldest flights. With GPUPIPE_WAIT_SIGNALLED: poll each
 * fence with timeout 0, in order (fences signal in order), and hand a
 * signalled batch to readback, whose glClientWaitSync then returns at
 * once. With GPUPIPE_WAIT_BLOCK the batch went to readback when it was
 * flushed; here only its timestamps are read, once available.
 */
/* When the GPU could start on f's batch: once it was flushed and the
 * batch before it had finished (a barrier closes each batch). */
static uint64_t flight_base(const struct submit *st, const struct gp_flight *f)
{
	return f->flushed_ns > st->prev_done_ns ? f->flushed_ns
						: st->prev_done_ns;
}

/* After a poll that found the fence pending: look again after an eighth
 * of the time it has been running (at least 5 us), so a poll never comes
 * more than 1/8 late, and a long kernel costs few polls. */
static uint64_t poll_slice(const struct submit *st, const struct gp_flight *f,
			   uint64_t now)
{
	uint64_t base = flight_base(st, f);
	uint64_t slice = now > base ? (now - base) / 8 : 0;

	return slice < 5000 ? 5000 : slice;
}

/*
 * f's fence was seen signalled at now: learn the fence delay per item,
 * which schedules the first poll of each fence and bounds how long an
 * open batch waits (hold_for_more). A poll that found it pending proves
 * it took at least that long after it could start: move halfway to that.
 * When the first poll found it signalled, it is not known how much
 * earlier it was done (a sleep overshoots by tens of microseconds, and
 * counting that in fed back on llvmpipe): aim an eighth earlier. Nothing
 * is learnt when the fence before it was seen signalled in the same look
 * (fresh): then it is not known when its batch could start. Polling by
 * this, rather than by GL_TIMESTAMP paces (which NVIDIA writes ahead of
 * the work), hands batches over within a poll slice of their end.
 */
static void learn_fence(struct submit *st, const struct gp_flight *f,
			uint64_t now, bool fresh)
{
	uint64_t base = flight_base(st, f);

	if (f->pending_ns > base)
		st->fence_ns = (st->fence_ns + (f->pending_ns - base) /
					       (f->count ? f->count : 1)) / 2;
	else if (!fresh)
		st->fence_ns -= st->fence_ns / 8;
	st->prev_done_ns = now;
}

/*
 * Before a GL call that is no item's (a fence poll, a timestamp read): if
 * a batch is open, an error now is one of its dispatches'; keep it for
 * close_batch, since poll_flights reads and drops the errors its own calls
 * leave.
 */
static void keep_batch_error(struct submit *st)
{
	GLenum e;

	if (!st->batch_open)
		return;
	e = glGetError();
	if (e != GL_NO_ERROR && st->batch_err == GL_NO_ERROR)
		st->batch_err = e;
}

/* One look at the flights (poll_flights): when it began, whether it made
 * a GL call, whether it saw a fence signalled, whether it is forced. */
struct look {
	uint64_t t0;
	bool calls, fresh, force;
};

/* Before the first GL call of a look: keep an error of the open batch. */
static void look_calls(struct submit *st, struct look *lk)
{
	if (!lk->calls && !st->read_query && !lk->force)
		keep_batch_error(st);
	lk->calls = true;
}

/* SIGNALLED: poll the oldest fence; hand its batch to readback unless it
 * is pending and not yet timed out (then false). */
static bool poll_signalled(struct gp_dev *d, struct submit *st, unsigned idx,
			   struct gp_flight *f, struct look *lk)
{
	struct gpupipe *p = d->p;
	struct gp_slot *first = gp_slot_of_node(gp_list_first(&f->slots));
	GLenum r;

	/* A poll costs about a microsecond: look only once the fence is
	 * due, then in slices. */
	if (!lk->force && lk->t0 < f->expect_ns)
		return false;
	look_calls(st, lk);
	r = glClientWaitSync(f->fence, 0, 0);
	atomic_fetch_add_explicit(&d->fence_polls, 1, memory_order_relaxed);
	if (r == GL_TIMEOUT_EXPIRED) {
		uint64_t limit = (uint64_t)p->fence_timeout_ms * 1000000u;
		uint64_t now = gp_now_ns();

		/* Once the device broke, readback looks once and fails the
		 * batch for the reason it broke: hand it over now. */
		if (atomic_load_explicit(&d->broken, memory_order_relaxed))
			goto hand_over;
		/* Its own GPU time only, from when the GPU could start it:
		 * not its wait behind the batches before it. */
		if (now - flight_base(st, f) < limit) {
			f->pending_ns = now;
			f->expect_ns = now + poll_slice(st, f, now);
			return false;
		}
		first->fence_expired = true; /* readback: TIMEDOUT */
	} else if (r == GL_WAIT_FAILED) {
		/* Not seen signalled: readback waits for it and rules out a
		 * reset itself; nothing is learnt, no query read (it could
		 * wait). */
		first->fence_unchecked = true;
		st->last_end = 0;
		/* The next batch's timeout counts from here: not known
		 * when this one ended, this is the later bound. */
		st->prev_done_ns = gp_now_ns();
	} else {
		learn_fence(st, f, gp_now_ns(), lk->fresh);
		lk->fresh = true;
		read_flight_time(d, st, idx, f);
		gp_gldev_check_reset(d);
	}
hand_over:
	gp_fault_handoff(f->fence);
	gp_queue_push_list(&d->flight_q, &f->slots);
	return true;
}

/* BLOCK: the batch went to readback at its flush; read its timestamp once
 * available (false: not yet). Forced (the ring is full), never wait for
 * the GPU: drop the sample instead. */
static bool poll_blocking(struct gp_dev *d, struct submit *st, unsigned idx,
			  struct gp_flight *f, struct look *lk)
{
	GLuint avail = GL_FALSE;

	if (!st->timestamps || !f->sampled)
		return true;
	look_calls(st, lk);
	glGetQueryObjectuiv(d->batch_queries[idx], GL_QUERY_RESULT_AVAILABLE,
			    &avail);
	/* A failed read is no item's error and loses only the sample:
	 * never read a result that may not come. */
	if (glGetError() != GL_NO_ERROR)
		return true;
	if (!avail && !lk->force)
		return false;
	if (avail)
		read_flight_time(d, st, idx, f);
	return true;
}

static void poll_flights(struct gp_dev *d, struct submit *st, bool force)
{
	struct gpupipe *p = d->p;
	struct look lk = { .t0 = gp_now_ns(), .force = force };
	uint64_t spent;

	while (d->flight_count) {
		unsigned idx = d->flight_head;
		struct gp_flight *f = flight_at(d, 0);

		if (!(p->wait == GPUPIPE_WAIT_SIGNALLED
			      ? poll_signalled(d, st, idx, f, &lk)
			      : poll_blocking(d, st, idx, f, &lk)))
			break;
		pop_flight(d);
		/* The next batch could not finish before this one: look at
		 * it once its own items have had their time after it. */
		if (p->wait == GPUPIPE_WAIT_SIGNALLED && d->flight_count) {
			struct gp_flight *next = flight_at(d, 0);
			uint64_t due = st->prev_done_ns +
				       st->fence_ns * next->count;

			if (next->expect_ns < due)
				next->expect_ns = due;
		}
	}
	/* A failed poll or timestamp read is no item's failure: read its
	 * error here, so it does not land on the next batch (the timing
	 * sample is lost: a failed read leaves end 0). Not when called
	 * from close_batch, whose own dispatches' errors must stay. */
	if ((lk.calls || st->read_query) && !force)
		gp_gl_clear_errors();
	st->read_query = false;
	spent = gp_now_ns() - lk.t0;
	st->poll_ns += spent;
	atomic_fetch_add_explicit(&d->poll_ns, spent, memory_order_relaxed);
}

/* When to look at the oldest fence again; 0: nothing to wait for. */
static uint64_t next_poll(struct gp_dev *d, struct submit *st)
{
	struct gpupipe *p = d->p;
	uint64_t now;

	if (p->wait != GPUPIPE_WAIT_SIGNALLED || !d->flight_count)
		return 0;
	now = gp_now_ns();
	if (flight_at(d, 0)->expect_ns <= now)
		return now + poll_slice(st, flight_at(d, 0), now);
	return flight_at(d, 0)->expect_ns;
}

/*
 * A batch whose dispatches or fence reported a GL error. Its items fail;
 * the pipeline goes on, unless the context was lost. Without a fence
 * nothing would tell readback when the GPU is done with the batch's
 * slots, so glFinish waits for that here.
 */
static void fail_batch(struct gp_dev *d, struct submit *st,
		       struct gp_list *batch, GLsync fence, GLenum err)
{
	struct cds_wfcq_node *n;
	GLenum reset = GL_NO_ERROR;
	char why[GP_MSG_BYTES];
	int status = GPUPIPE_FAILED, error = GPUPIPE_EDRIVER;

	if (d->reset_checks &&
	    (err == GL_CONTEXT_LOST || err == GL_OUT_OF_MEMORY || !fence))
		reset = glGetGraphicsResetStatus();
	if (err == GL_CONTEXT_LOST || reset != GL_NO_ERROR) {
		atomic_store(&d->lost, true);
		status = GPUPIPE_DEVICE_LOST;
		error = GPUPIPE_EBROKEN;
		snprintf(why, sizeof(why), "the GPU was reset (device lost) "
			 "while this item's batch was dispatched");
		gp_break(d, GPUPIPE_DEVICE_LOST);
	} else if (!fence) {
		/* It may wait for a hung GPU: not in a turn, which would
		 * hold up the other devices' threads too. */
		give_turn(d, st);
		glFinish();
		take_turn(d, st);
		snprintf(why, sizeof(why), "glFenceSync failed (%s) after "
			 "this item's batch", gp_gl_error_name(err));
	} else {
		snprintf(why, sizeof(why), "a GL call of this item's batch "
			 "failed: %s (0x%04x)", gp_gl_error_name(err), err);
	}
	for (n = gp_list_first(batch); n; n = gp_list_next(batch, n))
		gp_slot_fail(gp_slot_of_node(n), status, error, "%s", why);
}

/* A traced batch: each record notes when its fence was made, and which
 * batch (a counter of the pipeline's batches) covered it. */
static void trace_fenced(struct gpupipe *p, struct gp_list *batch)
{
	struct cds_wfcq_node *n;
	uint64_t id, now;

	id = atomic_fetch_add_explicit(&p->batches, 1, memory_order_relaxed);
	if (!atomic_load_explicit(&p->trace.rec, memory_order_relaxed))
		return;
	now = gp_now_ns();
	for (n = gp_list_first(batch); n; n = gp_list_next(batch, n)) {
		struct gpupipe_trace_record *rec =
			gp_trace_rec(&p->trace, gp_slot_of_node(n)->job.seq);

		if (rec) {
			rec->fence_ns = now;
			rec->batch = id;
		}
	}
}

/* The flight at ring index idx for a batch of count items under fence,
 * flushed now: due once the batches before it and its own items have
 * run, by the learnt fence delay (SIGNALLED) or the best GPU pace. */
static struct gp_flight *add_flight(struct gp_dev *d, struct submit *st,
				    unsigned idx, unsigned count,
				    GLsync fence)
{
	struct gp_flight *f = &d->flights[idx];
	uint64_t per_item = d->p->wait == GPUPIPE_WAIT_SIGNALLED ? st->fence_ns
								  : st->best_ns;

	f->count = count;
	f->items_to_end = st->items;
	f->fence = fence;
	f->flushed_ns = gp_now_ns();
	f->pending_ns = 0;
	f->expect_ns = d->flight_count
			       ? flight_at(d, d->flight_count - 1)->expect_ns
			       : 0;
	if (f->expect_ns < f->flushed_ns)
		f->expect_ns = f->flushed_ns;
	f->expect_ns += per_item * count;
	d->flight_count++;
	return f;
}

static void close_batch(struct gp_dev *d, struct submit *st,
			struct gp_list *batch)
{
	struct gpupipe *p = d->p;
	struct gp_slot *first = gp_slot_of_node(gp_list_first(batch));
	struct gp_flight *f;
	unsigned idx;
	uint64_t t0 = gp_now_ns();
	/* Until the pace is known, every batch is a sample. */
	bool sample = st->batches++ % SAMPLE_EVERY == 0 || !st->best_ns;
	GLenum err;
	GLsync fence;

	if (d->flight_count == d->nslots)
		poll_flights(d, st, true); /* cannot happen; stay safe */
	idx = (d->flight_head + d->flight_count) % d->nslots;
	st->items += batch->count;
	if (sample && st->timestamps)
		glQueryCounter(d->batch_queries[idx], GL_TIMESTAMP);
	gp_gldev_bind_scratch(d);
	/* Barrier before the fence, not after: the fence must cover the
	 * shader's writes to the persistently mapped output, and, when the
	 * application shares our buffers, writes its GL commands read. */
	glMemoryBarrier(d->barrier_bits);
	fence = glFenceSync(GL_SYNC_GPU_COMMANDS_COMPLETE, 0);
	/* Flush now: readback waits on this fence from another context,
	 * and an unflushed fence may never signal there. */
	glFlush();
	/* Every batch: an error of a dispatch must fail that dispatch's
	 * batch, not a later one. (An error of a fence poll or a timestamp
	 * read between batches, which only a lost context or a driver fault
	 * causes, lands on the next batch.) */
	err = glGetError();
	if (err == GL_NO_ERROR)
		err = st->batch_err;
	st->batch_err = GL_NO_ERROR;
	st->batch_open = false;
	first->fence = fence;
	first->batch_len = batch->count;
	if (!fence || err != GL_NO_ERROR)
		fail_batch(d, st, batch, fence, err);
	trace_fenced(p, batch);
	atomic_fetch_add_explicit(&d->close_ns, gp_now_ns() - t0,
				  memory_order_relaxed);
	if (!fence) {
		/* fail_batch finished it: nothing to poll or time. */
		gp_queue_push_list(&d->flight_q, batch);
		return;
	}
	f = add_flight(d, st, idx, batch->count, fence);
	f->sampled = sample && st->timestamps;
	if (p->wait == GPUPIPE_WAIT_SIGNALLED) {
		/* Held until its fence has signalled: poll_flights. */
		f->slots = *batch;
		gp_list_init(batch);
	} else {
		gp_fault_handoff(fence);
		gp_queue_push_list(&d->flight_q, batch);
	}
	st->cost_ns = EWMA(st->cost_ns, gp_now_ns() - t0 + st->poll_ns);
	st->poll_ns = 0;
	atomic_store_explicit(&d->batch_cost_ns, st->cost_ns,
			      memory_order_relaxed);
	epoch_note(d, st);
}

/*
 * Nothing more is ready for the open batch. With adaptive batches, wait
 * for more while the GPU still has earlier batches to run, since then an
 * open batch costs it nothing: until the newest batch in flight is due
 * to finish (the early estimate polls use), or its fence is seen
 * signalled, and at most batch_latency_us after the batch opened. Fuller
 * batches are what lets a narrow kernel's dispatches overlap: the barrier
 * and fence closing each batch serialise batches (balanced on the H100:
 * 335 us per item at batch 1, 100 us back-to-back). Fences stay polled
 * meanwhile; a stop or trace request closes the batch at once.
 */
static struct cds_wfcq_node *hold_for_more(struct gp_dev *d,
					   struct submit *st, uint64_t opened)
{
	struct gpupipe *p = d->p;
	uint64_t until, cap;

	if ((p->flags & GPUPIPE_FIXED_BATCH) || !d->flight_count)
		return NULL;
	until = flight_at(d, d->flight_count - 1)->expect_ns;
	cap = opened + (uint64_t)p->batch_latency_us * 1000u;
	if (until > cap)
		until = cap;
	while (d->flight_count && gp_now_ns() < until &&
	       !atomic_load_explicit(&d->submit_attn, memory_order_relaxed)) {
		uint64_t poll = next_poll(d, st);
		struct cds_wfcq_node *n;

		/* Not while asleep: other devices' threads take turns. */
		give_turn(d, st);
		n = gp_queue_pop_wait(&d->ready_q, &d->submit_attn,
				      poll && poll < until ? poll : until);
		take_turn(d, st);
		if (n)
			return n;
		poll_flights(d, st, false);
	}
	return NULL;
}

/* Dispatch n and what else is ready, up to the batch target, and fence
 * them. A batch closes when it is full or when nothing more is ready (and,
 * adaptive, the GPU has run out of earlier work: hold_for_more): a slow
 * producer never waits for a full batch. The caller holds a turn. */
static void dispatch_batch(struct gp_dev *d, struct submit *st,
			   struct cds_wfcq_node *n)
{
	struct gp_list batch;
	uint64_t t0 = gp_now_ns();

	delete_spent_fences(d);
	gp_list_init(&batch);
	do {
		struct gp_slot *s = gp_slot_of_node(n);

		if (!dispatchable(d, s)) {
			pass_through(d, s);
			continue;
		}
		dispatch(d, s, &st->batch_err);
		s->fence = NULL;
		s->batch_len = 0;
		s->dispatched = true;
		s->fence_expired = false;
		s->fence_unchecked = false;
		gp_slot_set_state(s, GP_SLOT_READY, GP_SLOT_IN_FLIGHT);
		gp_list_append(&batch, &s->node);
		st->batch_open = true;
		/* A long batch must not delay the hand-over of earlier ones:
		 * poll the oldest fence when it is due, between dispatches. */
		if (d->flight_count && gp_now_ns() >= flight_at(d, 0)->expect_ns)
			poll_flights(d, st, false);
	} while (batch.count < st->target &&
		 ((n = gp_queue_pop_try(&d->ready_q)) ||
		  (batch.count && (n = hold_for_more(d, st, t0)))));
	if (batch.count)
		close_batch(d, st, &batch);
	atomic_fetch_add_explicit(&d->submit_busy_ns, gp_now_ns() - t0,
				  memory_order_relaxed);
}

static void run(struct gp_dev *d)
{
	struct gpupipe *p = d->p;
	struct submit st = { .target = p->max_batch,
			     .probe_every = PROBE_MIN };
	GLint bits = 0;

	glGetQueryiv(GL_TIMESTAMP, GL_QUERY_COUNTER_BITS, &bits);
	st.timestamps = bits > 0;
	st.debug = getenv("GPUPIPE_DEBUG_SEARCH") != NULL;
	/* Adaptive batches start at one item: a heavy kernel must not wait
	 * behind a full batch before the pace is known; a light one grows
	 * its batch as the measured pace improves. */
	if (!(p->flags & GPUPIPE_FIXED_BATCH))
		set_target(d, &st, 1);
	for (;;) {
		struct cds_wfcq_node *n;

		/* stop_threads and gpupipe_trace_end set submit_attn after
		 * their own flag, and pop_wait returns NULL for it. */
		if (atomic_exchange(&d->submit_attn, 0)) {
			/* Its query reads may wait for the GPU: no turn.
			 * Before a stop: trace_end may be waiting. */
			if (atomic_exchange(&d->collect_req, 0))
				gp_gldev_collect_trace(d);
			if (atomic_load(&p->stop))
				break;
		}
		n = gp_queue_pop_try(&d->ready_q);
		if (n || d->flight_count) {
			take_turn(d, &st);
			if (n)
				dispatch_batch(d, &st, n);
			if (d->flight_count)
				poll_flights(d, &st, false);
			give_turn(d, &st);
		}
		if (n)
			continue;
		/* An idle spell is not GPU time: measure the GPU pace
		 * afresh. */
		if (!d->flight_count)
			st.last_end = 0;
		/* Nothing ready: sleep until work comes, or until the oldest
		 * fence is due to be polled again. */
		n = gp_queue_pop_wait(&d->ready_q, &d->submit_attn,
				      next_poll(d, &st));
		if (n) {
			take_turn(d, &st);
			dispatch_batch(d, &st, n);
			give_turn(d, &st);
		}
	}
}

void *gp_submit_main(void *arg)
{
	struct gp_dev *d = arg;
	struct gpupipe *p = d->p;
	int ret;

	gp_thread_setup("submit", d->n, p->ndevs > 1, &d->submit_cpu_clock);
	ret = gp_egl_make_current(&d->egl, d->egl.submit_ctx);
	if (ret) {
		gp_start_report(p, ret);
		return NULL;
	}
	ret = gp_gldev_init(d);
	if (ret) {
		gp_gldev_fini(d);
		gp_egl_release_current(&d->egl);
		gp_start_report(p, ret);
		return NULL;
	}
	gp_start_report(p, 0);
	GP_DELAY(submit_start);
	run(d);
	if (atomic_exchange(&d->collect_req, 0))
		gp_gldev_collect_trace(d);
	gp_trace_collector_gone(&p->trace, d);

	/* Every item has completed before stop is set: the GPU is idle, and
	 * readback is done with every fence. */
	delete_spent_fences(d);
	gp_gldev_fini(d);
	gp_egl_release_current(&d->egl);
	return NULL;
}
