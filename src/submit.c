/* SPDX-License-Identifier: MIT */
/*
 * The submit thread: the only thread current in its device's submit
 * context. Its loop takes READY slots in order and dispatches them into a
 * batch; closes the batch under a fence (fences.c, which hands it to
 * readback) and asks batchsize.c how many items the next one should
 * hold; and between batches polls the fences in flight. Its GL objects
 * are gldev.c's.
 */
#include "config.h"

#include "gl.h"

#include "batchsize.h"
#include "fences.h"
#include "gldev.h"

/* Submit-thread state that no other thread reads. */
struct submit {
	unsigned target;        /* items per batch it aims at */
	bool turn;              /* holds a turn at the driver (gp_turns) */
	struct gp_batchsize bs; /* the batch-size search */
};

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
			     "not dispatched: %s",
			     gp_broken_reason(atomic_load(&d->broken)));
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

/*
 * Nothing more is ready for the open batch. Wait for more while the GPU
 * still has earlier batches to run, since then an open batch costs it
 * nothing: while two batches are unfinished (polled fences), then until
 * the last one is due (the early estimate polls use) or seen signalled;
 * with a budget, at most batch_latency_us after the batch opened. Fuller
 * batches are what lets a narrow kernel's dispatches overlap: the fence
 * closing each batch serialises batches (balanced on the H100: 335 us
 * per item at batch 1, 100 us back-to-back). Fences stay polled
 * meanwhile; a stop or trace request closes the batch at once.
 */
static struct cds_wfcq_node *hold_for_more(struct gp_dev *d,
					   struct submit *st, uint64_t opened)
{
	struct gpupipe *p = d->p;
	uint64_t cap;

	cap = p->batch_latency_us
		      ? opened + (uint64_t)p->batch_latency_us * 1000u
		      : UINT64_MAX;
	while (gp_fences_in_flight(d) &&
	       !atomic_load_explicit(&d->submit_attn, memory_order_relaxed)) {
		uint64_t poll = gp_fences_next_poll(d), until = cap;
		uint64_t due = gp_fences_newest_due(d);
		struct cds_wfcq_node *n;

		/* Polled fences, two batches unfinished: the GPU has all of
		 * the newer one ahead of it. Else hold until the newest is
		 * due (the early estimate polls use). */
		if ((!poll || gp_fences_in_flight(d) == 1) && due < until)
			until = due;
		if (gp_now_ns() >= until)
			break;

		/* Not while asleep: other devices' threads take turns. */
		give_turn(d, st);
		n = gp_queue_pop_wait(&d->ready_q, &d->submit_attn,
				      poll && poll < until ? poll : until);
		take_turn(d, st);
		if (n)
			return n;
		gp_fences_poll(d);
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
	struct gp_batch *b = NULL; /* opened by its first dispatch */
	uint64_t t0 = gp_now_ns();

	gp_fences_delete_spent(d);
	do {
		struct gp_slot *s = gp_slot_of_node(n);

		if (!dispatchable(d, s)) {
			gp_fences_pass(d, s);
			continue;
		}
		if (!b)
			b = gp_fences_open(d);
		dispatch(d, s, &b->gl_error);
		gp_slot_in_flight(s, &b->slots);
		/* A long batch must not delay the hand-over of earlier ones:
		 * poll the oldest fence when it is due, between dispatches;
		 * at every fourth, since the look reads the clock (tiny's
		 * dispatch takes 1.5 us, a clock read 41 ns). A batch of 2
		 * or 3 never looks: it is not long, and submit polls between
		 * batches. */
		if (b->slots.count % 4 == 0 && gp_fences_due(d))
			gp_fences_poll(d);
	} while ((!b || b->slots.count < st->target) &&
		 ((n = gp_queue_pop_try(&d->ready_q)) ||
		  (b && (n = hold_for_more(d, st, t0)))));
	/* A batch whose fence failed says nothing of the batch size. */
	if (b && gp_fences_close(d, b, &st->turn))
		st->target = gp_batchsize_closed(d, &st->bs);
	atomic_fetch_add_explicit(&d->submit_busy_ns, gp_now_ns() - t0,
				  memory_order_relaxed);
}

static void run(struct gp_dev *d)
{
	struct gpupipe *p = d->p;
	struct submit st = { .turn = false };

	gp_fences_start(d);
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
		if (n || gp_fences_in_flight(d)) {
			take_turn(d, &st);
			if (n)
				dispatch_batch(d, &st, n);
			if (gp_fences_in_flight(d))
				gp_fences_poll(d);
			give_turn(d, &st);
		}
		if (n)
			continue;
		gp_fences_idle(d);
		/* Nothing ready: sleep until work comes, or until the oldest
		 * fence is due to be polled again. */
		n = gp_queue_pop_wait(&d->ready_q, &d->submit_attn,
				      gp_fences_next_poll(d));
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
	gp_thread_timely();
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
	gp_fences_delete_spent(d);
	gp_gldev_fini(d);
	gp_egl_release_current(&d->egl);
	return NULL;
}
