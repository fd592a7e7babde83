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

#include "batchsize.h"
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
	struct gp_batchsize bs; /* the batch-size search */
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
	st->target = gp_batchsize_closed(d, &st->bs);
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
	struct submit st = { 0 };
	GLint bits = 0;

	glGetQueryiv(GL_TIMESTAMP, GL_QUERY_COUNTER_BITS, &bits);
	st.timestamps = bits > 0;
	st.target = gp_batchsize_start(d, &st.bs);
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
