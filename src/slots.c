/* SPDX-License-Identifier: MIT */
/*
 * The slot pool and the life of a slot.
 *
 * A slot holds one item: its job, its ranges of the persistently mapped
 * input, output and parameter buffers, and its place in the queues. The
 * pool has depth * max_batch slots, fixed at create, so memory never
 * grows with the number of items pushed.
 *
 *   FREE --push--> QUEUED --prep thread--> PREP --prep_cb--> READY
 *     ^   queued       |        prepping          ready        |
 *     |             cancel                          submit dispatches
 *     |            cancelled                        into a batch:
 *     |                v                            in_flight  |
 *     |              READY (CANCELLED, not dispatched)         v
 *   done_cb returned <-- DONE <--its batch's wait-- IN_FLIGHT (readback)
 *      release                    done
 *
 * Each arrow is one function below (gp_slot_ + the word under it), on the
 * thread that takes it; each makes its state change and its queue push.
 *
 * A slot that fails or is cancelled before dispatch still travels
 * READY -> IN_FLIGHT -> DONE, without a fence, so that every item reaches
 * done_cb through the same in-order path. A slot is FREE again, and its
 * buffers may be rewritten, only after its fence signalled and its done_cb
 * returned.
 *
 * Each device has its share of the slots. A push takes a slot of the
 * working device with the fewest items in flight. Per device, pushes may
 * hold at most `limit` slots at once (in_use counts them, from
 * the push that takes one to the completion that frees it). The limit is
 * depth * max_batch at first; adaptive batching lowers it to depth times
 * the batch it aims at, so that the pipeline holds no more items than it
 * needs to keep the GPU busy, and latency stays low. Free slots wait in
 * free_q; a push that got a unit of in_use always finds one there.
 *
 * A push that found no room sleeps until a quarter of the limit is free
 * again, not until one slot is: then it pushes a burst, and a saturated
 * pipeline makes no system call per item. Outputs kept past done_cb hold
 * their slots until released, so a quarter may never come free: a push is
 * also woken when every slot in use is a kept one (nothing else will come
 * back by itself), and by each release of a kept one.
 */
#include "config.h"

#include <assert.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "internal.h"

static void set_state(struct gp_slot *s, enum gp_slot_state from,
		      enum gp_slot_state to);

int gp_slots_init(struct gpupipe *p)
{
	unsigned i, k;

	p->slots = gp_calloc_lines(p->nslots, sizeof(*p->slots));
	if (!p->slots)
		return gp_error(GPUPIPE_ENOMEM, "cannot allocate %u slots",
				p->nslots);
	gp_queue_init_baton(&p->prep_q);
	gp_queue_init(&p->post_q, true);
	gp_wake_init(&p->free_wake);
	for (k = 0; k < p->ndevs; k++) {
		struct gp_dev *d = &p->devs[k];

		gp_queue_init(&d->free_q, true);
		gp_queue_init(&d->ready_q, false);
		gp_queue_init(&d->flight_q, false);
		for (i = 0; i < d->nslots; i++) {
			struct gp_slot *s = &p->slots[d->first + i];

			s->index = d->first + i;
			s->dev = d;
			s->dev_index = i;
			atomic_init(&s->state, GP_SLOT_FREE);
			atomic_init(&s->pending_seq, UINT64_MAX);
			gp_queue_push(&d->free_q, &s->node);
		}
		atomic_init(&d->in_use, 0);
		atomic_init(&d->kept, 0);
		atomic_init(&d->limit, (int)d->nslots);
		/* What stats report before the first batch: adaptive
		 * batches start at one item (submit's run). */
		atomic_init(&d->batch_target, p->flags & GPUPIPE_FIXED_BATCH
						      ? p->max_batch : 1);
	}
	return 0;
}

void gp_slots_fini(struct gpupipe *p)
{
	unsigned k;

	if (!p->slots)
		return;
	/* Nodes live in the slot array: empty the queues before freeing. */
	for (k = 0; k < p->ndevs; k++) {
		struct gp_dev *d = &p->devs[k];

		while (gp_queue_pop_try(&d->free_q))
			;
		gp_queue_fini(&d->free_q);
		gp_queue_fini(&d->ready_q);
		gp_queue_fini(&d->flight_q);
	}
	gp_queue_fini(&p->prep_q);
	gp_queue_fini(&p->post_q);
	free(p->slots);
	p->slots = NULL;
}

/* Room a sleeping push waits for: a quarter of the limit, at least 1. */
static int wake_room(struct gp_dev *d)
{
	int limit = atomic_load_explicit(&d->limit, memory_order_relaxed);

	return limit >= 4 ? limit / 4 : 1;
}

/* Take a unit of d's in_use if it has room. */
static bool take_from(struct gp_dev *d)
{
	int used = atomic_load(&d->in_use);

	if (atomic_load_explicit(&d->broken, memory_order_relaxed))
		return false;
	while (used < atomic_load_explicit(&d->limit, memory_order_relaxed))
		if (atomic_compare_exchange_weak(&d->in_use, &used, used + 1))
			return true;
	return false;
}

/*
 * Choose the device of the next item and take a unit of its in_use, or
 * return NULL when none has room. Items go in runs of a device's batch
 * target: completion is in push order, so items of one batch that
 * alternated between devices would each wait for the other device's
 * batch, and both devices' slots would stay held. A run ends when it is
 * a batch long or its device is full; the next goes to the working device
 * with the fewest items in flight.
 */
static struct gp_dev *take_room(struct gpupipe *p)
{
	unsigned last = atomic_load_explicit(&p->run_dev, memory_order_relaxed);

	if (last < p->ndevs) {
		struct gp_dev *d = &p->devs[last];

		if (atomic_load_explicit(&p->run_len, memory_order_relaxed) <
			    atomic_load_explicit(&d->batch_target,
						 memory_order_relaxed) &&
		    take_from(d)) {
			atomic_fetch_add_explicit(&p->run_len, 1,
						  memory_order_relaxed);
			return d;
		}
	}
	for (;;) {
		struct gp_dev *best = NULL;
		int best_used = 0, used;
		unsigned k;

		for (k = 0; k < p->ndevs; k++) {
			struct gp_dev *d = &p->devs[k];

			if (atomic_load_explicit(&d->broken,
						 memory_order_relaxed))
				continue;
			used = atomic_load(&d->in_use);
			if (used >= atomic_load_explicit(&d->limit,
							 memory_order_relaxed))
				continue;
			if (!best || used < best_used) {
				best = d;
				best_used = used;
			}
		}
		if (!best)
			return NULL;
		if (take_from(best)) {
			atomic_store_explicit(&p->run_dev, best->n,
					      memory_order_relaxed);
			atomic_store_explicit(&p->run_len, 1,
					      memory_order_relaxed);
			return best;
		}
	}
}

/* Whether pushes sleeping for d should look again: a quarter of its limit
 * is free, or nothing but kept outputs holds its slots. */
static bool dev_has_room(struct gp_dev *d)
{
	int used = atomic_load(&d->in_use);

	return atomic_load(&d->limit) - used >= wake_room(d) ||
	       used <= atomic_load(&d->kept);
}

/* Whether a push about to sleep should look again instead: a working
 * device has a unit free now (when every slot is a kept one, none is,
 * and it sleeps until a release), or none works any more. */
static bool room_now(struct gpupipe *p)
{
	unsigned k;

	if (atomic_load(&p->broken) || atomic_load(&p->shutdown))
		return true;
	for (k = 0; k < p->ndevs; k++) {
		struct gp_dev *d = &p->devs[k];

		if (!atomic_load(&d->broken) &&
		    atomic_load(&d->in_use) < atomic_load(&d->limit))
			return true;
	}
	return false;
}

/* NONBLOCK: a slot is in free_q or being added by a release a few
 * instructions from done (unless the scheduler took its CPU): yield to it
 * a few times rather than sleep. */
static struct cds_wfcq_node *pop_free_try(struct gp_dev *d)
{
	struct cds_wfcq_node *n;
	unsigned i;

	for (i = 0; i < 64; i++) {
		n = gp_queue_pop_try(&d->free_q);
		if (n)
			return n;
		sched_yield();
	}
	return NULL;
}

/*
 * A push with a deadline sleeps as one without: a wakeup that finds no
 * room (another push took it, or less than a quarter came free) sleeps
 * again, until the deadline; then it looks for room once more before it
 * gives up, so a slot that came free without a wakeup is still taken.
 */
int gp_slot_acquire(struct gpupipe *p, bool nonblock, uint64_t deadline_ns,
		    struct gp_slot **out)
{
	struct cds_wfcq_node *n;
	struct gp_dev *d;
	uint32_t gen;

	while (!(d = take_room(p))) {
		if (atomic_load(&p->broken))
			return GPUPIPE_EBROKEN;
		if (nonblock)
			return GPUPIPE_EAGAIN;
		if (atomic_load(&p->shutdown))
			return GPUPIPE_ESHUTDOWN;
		if (deadline_ns && gp_now_ns() >= deadline_ns)
			return GPUPIPE_ETIMEDOUT;
		gen = gp_wake_prepare(&p->free_wake);
		if (room_now(p))
			gp_wake_cancel(&p->free_wake);
		else
			gp_wake_wait(&p->free_wake, gen, deadline_ns);
		/* A push asleep when destroy began fails, even if a slot
		 * came free meanwhile. */
		GP_DELAY(push_woken);
		if (atomic_load(&p->shutdown))
			return GPUPIPE_ESHUTDOWN;
	}
	/* in_use < limit <= nslots: a slot is in free_q, or being added by
	 * a release that is halfway through; a NONBLOCK push does not wait
	 * for it to finish. */
	n = nonblock ? pop_free_try(d) : gp_queue_pop_wait(&d->free_q, NULL, 0);
	if (!n) {
		atomic_fetch_sub(&d->in_use, 1);
		if (dev_has_room(d))
			gp_wake_signal(&p->free_wake, true);
		return GPUPIPE_EAGAIN;
	}
	*out = gp_slot_of_node(n);
	return 0;
}

void gp_slot_release(struct gpupipe *p, struct gp_slot *s)
{
	struct gp_dev *d = s->dev;

	set_state(s, GP_SLOT_DONE, GP_SLOT_FREE);
	gp_queue_push(&d->free_q, &s->node);
	atomic_fetch_sub(&d->in_use, 1);
	atomic_fetch_add_explicit(&p->released, 1, memory_order_relaxed);
	if (dev_has_room(d))
		gp_wake_signal(&p->free_wake, true);
}

/*
 * The kept count and in_use change in separate steps; each step is
 * followed by a look at both (seq_cst), so whichever step comes last sees
 * the other, and a push sleeping on the last slot that could come back is
 * woken.
 */
void gp_slot_kept(struct gpupipe *p, struct gp_slot *s)
{
	atomic_fetch_add(&s->dev->kept, 1);
	if (dev_has_room(s->dev))
		gp_wake_signal(&p->free_wake, true);
}

void gp_kept_released(struct gpupipe *p, struct gp_slot *s)
{
	atomic_fetch_sub(&s->dev->kept, 1);
	gp_slot_release(p, s);
}

void gp_slots_set_limit(struct gp_dev *d, unsigned limit)
{
	if (limit > d->nslots)
		limit = d->nslots;
	if (limit < 1)
		limit = 1;
	if (atomic_exchange(&d->limit, (int)limit) < (int)limit)
		gp_wake_signal(&d->p->free_wake, true);
}

/* ---- the arrows of the diagram, one function each ----------------------- */

static void set_state(struct gp_slot *s, enum gp_slot_state from,
		      enum gp_slot_state to)
{
	int was = atomic_exchange_explicit(&s->state, to,
					   memory_order_relaxed);

	/* Our own invariant: a slot moves only along the diagram above. */
	assert(was == (int)from);
	(void)was;
	(void)from;
}

void gp_slot_queued(struct gpupipe *p, struct gp_slot *s)
{
	set_state(s, GP_SLOT_FREE, GP_SLOT_QUEUED);
	s->job.status = GPUPIPE_DONE;
	s->job.error = 0;
	s->msg[0] = '\0';
	gp_queue_push(&p->prep_q, &s->node);
}

void gp_slot_prepping(struct gp_slot *s)
{
	set_state(s, GP_SLOT_QUEUED, GP_SLOT_PREP);
}

void gp_slot_ready(struct gp_slot *s)
{
	set_state(s, GP_SLOT_PREP, GP_SLOT_READY);
	gp_queue_push(&s->dev->ready_q, &s->node);
}

void gp_slot_cancelled(struct gp_slot *s)
{
	set_state(s, GP_SLOT_QUEUED, GP_SLOT_READY);
	s->job.input = NULL;
	s->job.params = NULL;
	gp_slot_fail(s, GPUPIPE_CANCELLED, 0,
		     "cancelled before it was prepared");
	gp_queue_push(&s->dev->ready_q, &s->node);
}

void gp_slot_in_flight(struct gp_slot *s, struct gp_list *batch)
{
	set_state(s, GP_SLOT_READY, GP_SLOT_IN_FLIGHT);
	gp_list_append(batch, &s->node);
}

void gp_slot_done(struct gp_slot *s)
{
	set_state(s, GP_SLOT_IN_FLIGHT, GP_SLOT_DONE);
}

/* The item's status is a machine of its own: DONE from the push until
 * the first failure, which is the one its done_cb is told of. */
void gp_slot_fail(struct gp_slot *s, int status, int error, const char *fmt,
		  ...)
{
	va_list ap;

	if (s->job.status != GPUPIPE_DONE)
		return;
	s->job.status = status;
	s->job.error = error;
	va_start(ap, fmt);
	vsnprintf(s->msg, sizeof(s->msg), fmt, ap);
	va_end(ap);
	s->job.message = s->msg;
}
