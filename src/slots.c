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
 *     ^                |                                       |
 *     |             cancel                          submit dispatches,
 *     |                v                            fences, hands over
 *     |              READY (CANCELLED, not dispatched)         |
 *     |                                                        v
 *   done_cb returned <-- DONE <--fence signalled-- IN_FLIGHT (readback)
 *
 * A slot that fails or is cancelled before dispatch still travels
 * READY -> IN_FLIGHT -> DONE, without a fence, so that every item reaches
 * done_cb through the same in-order path. A slot is FREE again, and its
 * buffers may be rewritten, only after its fence signalled and its done_cb
 * returned.
 *
 * Free slots are counted by free_count (a push takes one unit before it
 * takes a slot, so a push that got a unit always finds a slot) and kept
 * in free_q.
 */
#include "config.h"

#include <assert.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "internal.h"

int gp_slots_init(struct gpupipe *p)
{
	unsigned i;

	p->slots = calloc(p->nslots, sizeof(*p->slots));
	if (!p->slots)
		return gp_error(GPUPIPE_ENOMEM, "cannot allocate %u slots",
				p->nslots);
	gp_queue_init(&p->free_q, true);
	gp_queue_init(&p->prep_q, true);
	gp_queue_init(&p->ready_q, false);
	gp_queue_init(&p->flight_q, false);
	gp_wake_init(&p->free_wake);
	for (i = 0; i < p->nslots; i++) {
		struct gp_slot *s = &p->slots[i];

		s->index = i;
		atomic_init(&s->state, GP_SLOT_FREE);
		gp_queue_push(&p->free_q, &s->node);
	}
	atomic_init(&p->free_count, (int)p->nslots);
	return 0;
}

void gp_slots_fini(struct gpupipe *p)
{
	if (!p->slots)
		return;
	/* Nodes live in the slot array: empty the queues before freeing. */
	while (gp_queue_pop_try(&p->free_q))
		;
	gp_queue_fini(&p->free_q);
	gp_queue_fini(&p->prep_q);
	gp_queue_fini(&p->ready_q);
	gp_queue_fini(&p->flight_q);
	free(p->slots);
	p->slots = NULL;
}

static bool take_credit(struct gpupipe *p)
{
	int c = atomic_load(&p->free_count);

	while (c > 0) {
		if (atomic_compare_exchange_weak(&p->free_count, &c, c - 1))
			return true;
	}
	return false;
}

int gp_slot_acquire(struct gpupipe *p, bool nonblock, struct gp_slot **out)
{
	struct cds_wfcq_node *n;
	uint32_t gen;

	while (!take_credit(p)) {
		if (nonblock)
			return GPUPIPE_EAGAIN;
		if (atomic_load(&p->shutdown))
			return GPUPIPE_ESHUTDOWN;
		gen = gp_wake_prepare(&p->free_wake);
		if (atomic_load(&p->free_count) > 0 ||
		    atomic_load(&p->shutdown)) {
			gp_wake_cancel(&p->free_wake);
			continue;
		}
		gp_wake_wait(&p->free_wake, gen, 0);
	}
	/* The credit guarantees a slot is in free_q, or being appended. */
	n = gp_queue_pop_wait(&p->free_q, NULL, 0);
	*out = gp_slot_of_node(n);
	return 0;
}

void gp_slot_release(struct gpupipe *p, struct gp_slot *s)
{
	gp_slot_set_state(s, GP_SLOT_DONE, GP_SLOT_FREE);
	gp_queue_push(&p->free_q, &s->node);
	atomic_fetch_add(&p->free_count, 1);
	gp_wake_signal(&p->free_wake, false);
}

void gp_slot_set_state(struct gp_slot *s, enum gp_slot_state from,
		       enum gp_slot_state to)
{
	int was = atomic_exchange_explicit(&s->state, to,
					   memory_order_relaxed);

	/* Our own invariant: a slot moves only along the diagram above. */
	assert(was == (int)from);
	(void)was;
	(void)from;
}

void gp_slot_fail(struct gp_slot *s, int status, int error, const char *fmt,
		  ...)
{
	va_list ap;

	s->job.status = status;
	s->job.error = error;
	va_start(ap, fmt);
	vsnprintf(s->msg, sizeof(s->msg), fmt, ap);
	va_end(ap);
	s->job.message = s->msg;
}
