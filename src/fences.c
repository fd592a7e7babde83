/* SPDX-License-Identifier: MIT */
/*
 * A device's fences. The submit thread makes and flushes each batch's
 * fence, tracks the batch in the flights ring, hands it to readback (at
 * once with GPUPIPE_WAIT_BLOCK; with GPUPIPE_WAIT_SIGNALLED once a poll
 * here saw its fence signalled), and deletes the fence once readback,
 * which waits on it in its shared context, is done with it. The batches
 * that carry fences and slots to readback live here too.
 */
#include "config.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>

#include "gl.h"

#include "fences.h"
#include "gldev.h"

#define EWMA(avg, x) ((avg) ? ((avg) * 7 + (x)) / 8 : (x))

/* A fenced batch the submit thread still tracks (its GPU timestamps, and
 * with GPUPIPE_WAIT_SIGNALLED the batch itself, held until its fence has
 * signalled). */
struct flight {
	struct gp_batch *batch;   /* SIGNALLED: handed over once signalled */
	unsigned count;
	bool sampled;             /* has a GL_TIMESTAMP after its last item */
	uint64_t items_to_end;    /* items dispatched up to its end */
	uint64_t flushed_ns;
	uint64_t expect_ns;       /* when its fence should signal */
	uint64_t pending_ns;      /* SIGNALLED: last poll that found it
				   * pending, 0 if none */
};

struct gp_fences {
	/* Batches in flight, oldest first: a ring of nslots, since each
	 * holds at least one slot. */
	struct flight *flights;
	unsigned head, count;
	/* Fences readback is done with, for submit to delete in its own
	 * context: on NVIDIA each GL call readback makes costs the submit
	 * thread's next dispatches microseconds (doc/performance.md, 'The
	 * fence hand-off and the wait strategies'). At most one per slot in
	 * flight, and one per slot done with but not yet reached by submit. */
	struct gp_ring spent;
	/*
	 * The batches: nslots + 1 of them, taken by submit (gp_fences_open,
	 * _pass) and given back by readback once it has walked one (a ring
	 * with one producer and one consumer, no lock). Each batch taken
	 * holds a slot of its own until readback takes it up, and readback
	 * walks one at a time, so they never run out, and memory never grows
	 * with the items pushed. A pool, not a FIFO like the flights: a batch
	 * without a fence overtakes fenced ones held for their polls.
	 */
	struct gp_batch *batches;
	struct gp_ring free;
	struct gp_batch *open;   /* dispatches made, batch not closed yet */
	/* What the submit thread learns; no other thread reads these. */
	bool timestamps;         /* GL_TIMESTAMP works on this driver */
	bool read_query;         /* a timestamp was read since the last
				  * error check */
	uint64_t gpu_ns;         /* EWMA of the GPU stage's pace per item */
	uint64_t best_ns;        /* the best GPU pace seen (BLOCK: polls) */
	uint64_t fence_ns;       /* SIGNALLED: learnt fence delay per item */
	uint64_t prev_done_ns;   /* when the last fence was seen signalled */
	uint64_t cost_ns;        /* EWMA of fence+flush+polls per batch */
	uint64_t poll_ns;        /* time spent polling since the last batch */
	uint64_t items;          /* items dispatched so far */
	uint64_t closed;         /* batches closed so far */
	uint64_t last_end;       /* GL_TIMESTAMP of the last sampled batch */
	uint64_t last_items;     /* items dispatched up to it */
};

static void keep_batch_error(struct gp_fences *fc);

int gp_fences_init(struct gp_dev *d)
{
	struct gp_fences *fc = gp_calloc(1, sizeof(*fc));
	unsigned i;

	d->fences = fc;
	if (!fc)
		return -1;
	fc->flights = gp_calloc(d->nslots, sizeof(*fc->flights));
	fc->batches = gp_calloc(d->nslots + 1, sizeof(*fc->batches));
	if (!fc->flights || !fc->batches ||
	    gp_ring_init(&fc->spent, 2 * d->nslots) ||
	    gp_ring_init(&fc->free, d->nslots + 1))
		return -1;
	for (i = 0; i <= d->nslots; i++)
		gp_ring_push(&fc->free, &fc->batches[i]);
	return 0;
}

void gp_fences_fini(struct gp_dev *d)
{
	struct gp_fences *fc = d->fences;

	if (!fc)
		return;
	free(fc->flights);
	free(fc->batches);
	gp_ring_fini(&fc->spent);
	gp_ring_fini(&fc->free);
	free(fc);
	d->fences = NULL;
}

void gp_fences_start(struct gp_dev *d)
{
	GLint bits = 0;

	glGetQueryiv(GL_TIMESTAMP, GL_QUERY_COUNTER_BITS, &bits);
	d->fences->timestamps = bits > 0;
}

static struct gp_batch *take_batch(struct gp_fences *fc)
{
	struct gp_batch *b = gp_ring_pop(&fc->free);

	assert(b); /* see gp_fences.batches */
	gp_list_init(&b->slots);
	b->fence = NULL;
	b->dispatched = true;
	b->gl_error = GL_NO_ERROR;
	b->expired = b->unchecked = false;
	b->status = GPUPIPE_DONE;
	b->error = 0;
	b->msg[0] = '\0';
	return b;
}

struct gp_batch *gp_fences_open(struct gp_dev *d)
{
	struct gp_fences *fc = d->fences;

	fc->open = take_batch(fc);
	return fc->open;
}

void gp_fences_pass(struct gp_dev *d, struct gp_slot *s)
{
	struct gp_batch *b = take_batch(d->fences);

	b->dispatched = false;
	gp_slot_in_flight(s, &b->slots);
	gp_queue_push(&d->flight_q, &b->node);
}

/* One batch in this many carries a GL_TIMESTAMP: on NVIDIA a timestamp
 * drains the GPU's pipeline (several microseconds), too much for every
 * small batch. */
#define SAMPLE_EVERY 8

static struct flight *flight_at(struct gp_dev *d, struct gp_fences *fc,
				unsigned i)
{
	return &fc->flights[(fc->head + i) % d->nslots];
}

/*
 * The GPU stage's pace: between two sampled batches, the GL_TIMESTAMPs
 * after their last items over the items dispatched in between. On a busy
 * GPU that is its time per item; on a starved one, the pace at which work
 * reaches it, which is what decides batching and polling then. Idle spells
 * (nothing in flight, nothing ready) restart the measurement.
 */
static void read_flight_time(struct gp_dev *d, struct gp_fences *fc,
			     unsigned ring_index, const struct flight *f)
{
	GLuint64 end = 0;

	if (!fc->timestamps || !f->sampled)
		return;
	if (!fc->read_query)
		keep_batch_error(fc);
	glGetQueryObjectui64v(d->batch_queries[ring_index], GL_QUERY_RESULT,
			      &end);
	fc->read_query = true;
	if (fc->last_end && end > fc->last_end &&
	    f->items_to_end > fc->last_items) {
		uint64_t pace = (end - fc->last_end) /
				(f->items_to_end - fc->last_items);

		fc->gpu_ns = EWMA(fc->gpu_ns, pace);
		/* The best pace ever schedules the first poll of a fence
		 * (early rather than late): letting it creep up towards the
		 * current pace fed back on the H100 (doc/performance.md,
		 * 'How the batch size is chosen'). */
		if (!fc->best_ns || pace < fc->best_ns)
			fc->best_ns = pace;
		atomic_store_explicit(&d->gpu_ns_per_item, fc->gpu_ns,
				      memory_order_relaxed);
	}
	fc->last_end = end;
	fc->last_items = f->items_to_end;
}

/* Between batches: a failed delete is no batch's error. */
void gp_fences_delete_spent(struct gp_dev *d)
{
	void *fence;
	bool any = false;

	while ((fence = gp_ring_pop(&d->fences->spent))) {
		glDeleteSync(fence);
		any = true;
	}
	if (any)
		gp_gl_clear_errors();
}

static void pop_flight(struct gp_dev *d, struct gp_fences *fc)
{
	fc->head = (fc->head + 1) % d->nslots;
	fc->count--;
}

/* When the GPU could start on f's batch: once it was flushed and the
 * batch before it had finished (a barrier closes each batch). */
static uint64_t flight_base(const struct gp_fences *fc,
			    const struct flight *f)
{
	return f->flushed_ns > fc->prev_done_ns ? f->flushed_ns
						: fc->prev_done_ns;
}

/* After a poll that found the fence pending: look again after an eighth
 * of the time it has been running (at least 5 us), so a poll never comes
 * more than 1/8 late, and a long kernel costs few polls. */
static uint64_t poll_slice(const struct gp_fences *fc,
			   const struct flight *f, uint64_t now)
{
	uint64_t base = flight_base(fc, f);
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
static void learn_fence(struct gp_fences *fc, const struct flight *f,
			uint64_t now, bool fresh)
{
	uint64_t base = flight_base(fc, f);

	if (f->pending_ns > base)
		fc->fence_ns = (fc->fence_ns + (f->pending_ns - base) /
					       (f->count ? f->count : 1)) / 2;
	else if (!fresh)
		fc->fence_ns -= fc->fence_ns / 8;
	fc->prev_done_ns = now;
}

/*
 * Before a GL call that is no item's (a fence poll, a timestamp read): if
 * a batch is open, an error now is one of its dispatches'; keep it for
 * gp_fences_close, since poll_flights reads and drops the errors its own
 * calls leave.
 */
static void keep_batch_error(struct gp_fences *fc)
{
	GLenum e;

	if (!fc->open)
		return;
	e = glGetError();
	if (e != GL_NO_ERROR && fc->open->gl_error == GL_NO_ERROR)
		fc->open->gl_error = e;
}

/* One look at the flights (poll_flights): when it began, whether it made
 * a GL call, whether it saw a fence signalled, whether it is forced. */
struct look {
	uint64_t t0;
	bool calls, fresh, force;
};

/* Before the first GL call of a look: keep an error of the open batch. */
static void look_calls(struct gp_fences *fc, struct look *lk)
{
	if (!lk->calls && !fc->read_query && !lk->force)
		keep_batch_error(fc);
	lk->calls = true;
}

/* SIGNALLED: poll the oldest fence; hand its batch to readback unless it
 * is pending and not yet timed out (then false). */
static bool poll_signalled(struct gp_dev *d, struct gp_fences *fc,
			   unsigned idx, struct flight *f, struct look *lk)
{
	struct gpupipe *p = d->p;
	struct gp_batch *b = f->batch;
	GLenum r;

	/* A poll costs about a microsecond: look only once the fence is
	 * due, then in slices. */
	if (!lk->force && lk->t0 < f->expect_ns)
		return false;
	look_calls(fc, lk);
	r = glClientWaitSync(b->fence, 0, 0);
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
		if (now - flight_base(fc, f) < limit) {
			f->pending_ns = now;
			f->expect_ns = now + poll_slice(fc, f, now);
			return false;
		}
		b->expired = true; /* readback: TIMEDOUT */
	} else if (r == GL_WAIT_FAILED) {
		/* Not seen signalled: readback waits for it and rules out a
		 * reset itself; nothing is learnt, no query read (it could
		 * wait). */
		b->unchecked = true;
		fc->last_end = 0;
		/* The next batch's timeout counts from here: not known
		 * when this one ended, this is the later bound. */
		fc->prev_done_ns = gp_now_ns();
	} else {
		learn_fence(fc, f, gp_now_ns(), lk->fresh);
		lk->fresh = true;
		read_flight_time(d, fc, idx, f);
		gp_gldev_check_reset(d);
	}
hand_over:
	gp_fault_handoff(b->fence);
	f->batch = NULL;
	gp_queue_push(&d->flight_q, &b->node);
	return true;
}

/* BLOCK: the batch went to readback at its flush; read its timestamp once
 * available (false: not yet). Forced (the ring is full), never wait for
 * the GPU: drop the sample instead. */
static bool poll_blocking(struct gp_dev *d, struct gp_fences *fc,
			  unsigned idx, struct flight *f, struct look *lk)
{
	GLuint avail = GL_FALSE;

	if (!fc->timestamps || !f->sampled)
		return true;
	look_calls(fc, lk);
	glGetQueryObjectuiv(d->batch_queries[idx], GL_QUERY_RESULT_AVAILABLE,
			    &avail);
	/* A failed read is no item's error and loses only the sample:
	 * never read a result that may not come. */
	if (glGetError() != GL_NO_ERROR)
		return true;
	if (!avail && !lk->force)
		return false;
	if (avail)
		read_flight_time(d, fc, idx, f);
	return true;
}

/*
 * Look at the oldest flights. With GPUPIPE_WAIT_SIGNALLED: poll each
 * fence with timeout 0, in order (fences signal in order), and hand a
 * signalled batch to readback, whose glClientWaitSync then returns at
 * once. With GPUPIPE_WAIT_BLOCK the batch went to readback when it was
 * flushed; here only its timestamps are read, once available.
 */
static void poll_flights(struct gp_dev *d, struct gp_fences *fc, bool force)
{
	struct gpupipe *p = d->p;
	struct look lk = { .t0 = gp_now_ns(), .force = force };
	uint64_t spent;

	while (fc->count) {
		unsigned idx = fc->head;
		struct flight *f = flight_at(d, fc, 0);

		if (!(p->wait == GPUPIPE_WAIT_SIGNALLED
			      ? poll_signalled(d, fc, idx, f, &lk)
			      : poll_blocking(d, fc, idx, f, &lk)))
			break;
		pop_flight(d, fc);
		/* The next batch could not finish before this one: look at
		 * it once its own items have had their time after it. */
		if (p->wait == GPUPIPE_WAIT_SIGNALLED && fc->count) {
			struct flight *next = flight_at(d, fc, 0);
			uint64_t due = fc->prev_done_ns +
				       fc->fence_ns * next->count;

			if (next->expect_ns < due)
				next->expect_ns = due;
		}
	}
	/* A failed poll or timestamp read is no item's failure: read its
	 * error here, so it does not land on the next batch (the timing
	 * sample is lost: a failed read leaves end 0). Not when called
	 * from gp_fences_close, whose own dispatches' errors must stay. */
	if ((lk.calls || fc->read_query) && !force)
		gp_gl_clear_errors();
	fc->read_query = false;
	spent = gp_now_ns() - lk.t0;
	fc->poll_ns += spent;
	atomic_fetch_add_explicit(&d->poll_ns, spent, memory_order_relaxed);
}

/* When to look at the oldest fence again; 0: nothing to wait for. */
static uint64_t next_poll(struct gp_dev *d, struct gp_fences *fc)
{
	struct gpupipe *p = d->p;
	uint64_t now;

	if (p->wait != GPUPIPE_WAIT_SIGNALLED || !fc->count)
		return 0;
	now = gp_now_ns();
	if (flight_at(d, fc, 0)->expect_ns <= now)
		return now + poll_slice(fc, flight_at(d, fc, 0), now);
	return flight_at(d, fc, 0)->expect_ns;
}

/*
 * A batch whose dispatches or fence reported a GL error. Its items fail;
 * the pipeline goes on, unless the context was lost. Without a fence
 * nothing would tell readback when the GPU is done with the batch's
 * slots, so glFinish waits for that here.
 */
static void fail_batch(struct gp_dev *d, struct gp_batch *b, GLenum err,
		       bool *turn)
{
	struct gpupipe *p = d->p;
	struct cds_wfcq_node *n;
	GLenum reset = GL_NO_ERROR;
	char why[GP_MSG_BYTES];
	int status = GPUPIPE_FAILED, error = GPUPIPE_EDRIVER;

	if (d->reset_checks &&
	    (err == GL_CONTEXT_LOST || err == GL_OUT_OF_MEMORY || !b->fence))
		reset = glGetGraphicsResetStatus();
	if (err == GL_CONTEXT_LOST || reset != GL_NO_ERROR) {
		atomic_store(&d->lost, true);
		status = GPUPIPE_DEVICE_LOST;
		error = GPUPIPE_EBROKEN;
		snprintf(why, sizeof(why), "the GPU was reset (device lost) "
			 "while this item's batch was dispatched");
		gp_break(d, GPUPIPE_DEVICE_LOST);
	} else if (!b->fence) {
		/* It may wait for a hung GPU: not in a turn, which would
		 * hold up the other devices' threads too. */
		if (*turn)
			gp_turn_give(&p->turns);
		glFinish();
		*turn = gp_turn_take(&p->turns, gp_wants_turns(d));
		snprintf(why, sizeof(why), "glFenceSync failed (%s) after "
			 "this item's batch", gp_gl_error_name(err));
	} else {
		snprintf(why, sizeof(why), "a GL call of this item's batch "
			 "failed: %s (0x%04x)", gp_gl_error_name(err), err);
	}
	for (n = gp_list_first(&b->slots); n; n = gp_list_next(&b->slots, n))
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

/* The flight at ring index idx for a batch of count items, flushed
 * now: due once the batches before it and its own items have run, by the
 * learnt fence delay (SIGNALLED) or the best GPU pace. */
static struct flight *add_flight(struct gp_dev *d, struct gp_fences *fc,
				 unsigned idx, unsigned count)
{
	struct flight *f = &fc->flights[idx];
	uint64_t per_item = d->p->wait == GPUPIPE_WAIT_SIGNALLED
				    ? fc->fence_ns : fc->best_ns;

	f->count = count;
	f->items_to_end = fc->items;
	f->batch = NULL;
	f->flushed_ns = gp_now_ns();
	f->pending_ns = 0;
	f->expect_ns = fc->count
			       ? flight_at(d, fc, fc->count - 1)->expect_ns
			       : 0;
	if (f->expect_ns < f->flushed_ns)
		f->expect_ns = f->flushed_ns;
	f->expect_ns += per_item * count;
	fc->count++;
	return f;
}

bool gp_fences_close(struct gp_dev *d, struct gp_batch *b, bool *turn)
{
	struct gpupipe *p = d->p;
	struct gp_fences *fc = d->fences;
	struct flight *f;
	unsigned idx;
	uint64_t t0 = gp_now_ns();
	/* Until the pace is known, every batch is a sample. */
	bool sample = fc->closed++ % SAMPLE_EVERY == 0 || !fc->best_ns;
	GLenum err;

	if (fc->count == d->nslots)
		poll_flights(d, fc, true); /* cannot happen; stay safe */
	idx = (fc->head + fc->count) % d->nslots;
	fc->items += b->slots.count;
	if (sample && fc->timestamps)
		glQueryCounter(d->batch_queries[idx], GL_TIMESTAMP);
	gp_gldev_bind_scratch(d);
	/* Barrier before the fence, not after: the fence must cover the
	 * shader's writes to the persistently mapped output, and, when the
	 * application shares our buffers, writes its GL commands read. */
	glMemoryBarrier(d->barrier_bits);
	b->fence = glFenceSync(GL_SYNC_GPU_COMMANDS_COMPLETE, 0);
	/* Flush now: readback waits on this fence from another context,
	 * and an unflushed fence may never signal there. */
	glFlush();
	/* Every batch: an error of a dispatch must fail that dispatch's
	 * batch, not a later one. (An error of a fence poll or a timestamp
	 * read between batches, which only a lost context or a driver fault
	 * causes, lands on the next batch.) */
	err = glGetError();
	if (err == GL_NO_ERROR)
		err = b->gl_error;
	fc->open = NULL;
	if (!b->fence || err != GL_NO_ERROR)
		fail_batch(d, b, err, turn);
	trace_fenced(p, &b->slots);
	atomic_fetch_add_explicit(&d->close_ns, gp_now_ns() - t0,
				  memory_order_relaxed);
	if (!b->fence) {
		/* fail_batch finished it: nothing to poll or time. */
		gp_queue_push(&d->flight_q, &b->node);
		return false;
	}
	f = add_flight(d, fc, idx, b->slots.count);
	f->sampled = sample && fc->timestamps;
	if (p->wait == GPUPIPE_WAIT_SIGNALLED) {
		/* Held until its fence has signalled: poll_flights. */
		f->batch = b;
	} else {
		gp_fault_handoff(b->fence);
		gp_queue_push(&d->flight_q, &b->node);
	}
	fc->cost_ns = EWMA(fc->cost_ns, gp_now_ns() - t0 + fc->poll_ns);
	fc->poll_ns = 0;
	atomic_store_explicit(&d->batch_cost_ns, fc->cost_ns,
			      memory_order_relaxed);
	return true;
}

unsigned gp_fences_in_flight(struct gp_dev *d)
{
	return d->fences->count;
}

bool gp_fences_due(struct gp_dev *d)
{
	struct gp_fences *fc = d->fences;

	return fc->count && gp_now_ns() >= flight_at(d, fc, 0)->expect_ns;
}

void gp_fences_poll(struct gp_dev *d)
{
	poll_flights(d, d->fences, false);
}

uint64_t gp_fences_next_poll(struct gp_dev *d)
{
	return next_poll(d, d->fences);
}

uint64_t gp_fences_newest_due(struct gp_dev *d)
{
	struct gp_fences *fc = d->fences;

	return fc->count ? flight_at(d, fc, fc->count - 1)->expect_ns : 0;
}

/* An idle spell is not GPU time: the next sample starts afresh. */
void gp_fences_idle(struct gp_dev *d)
{
	if (!d->fences->count)
		d->fences->last_end = 0;
}

/* With the ring full, readback deletes the fence itself, in a turn at
 * the driver. */
void gp_fences_spent(struct gp_dev *d, struct gp_batch *b)
{
	struct gpupipe *p = d->p;

	if (!gp_ring_push(&d->fences->spent, b->fence)) {
		bool turn = gp_turn_take(&p->turns, gp_wants_turns(d));

		glDeleteSync(b->fence);
		if (turn)
			gp_turn_give(&p->turns);
	}
	b->fence = NULL;
}

void gp_fences_free_batch(struct gp_dev *d, struct gp_batch *b)
{
	bool room = gp_ring_push(&d->fences->free, b);

	assert(room); /* nslots + 1 batches, room for as many */
	(void)room;
}
