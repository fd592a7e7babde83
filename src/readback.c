/* SPDX-License-Identifier: MIT */
/*
 * The readback thread: current in a context that shares objects with the
 * submit context. It learns that each batch's fence has signalled, then
 * completes every item of the batch: in push order on this thread, or,
 * with post_threads, by handing the batch to the post pool.
 *
 * Batches arrive in dispatch order, which is not push order (prep threads
 * finish out of order, and failed or cancelled items skip the GPU), so
 * finished slots wait in `order`, indexed by seq modulo the slot count,
 * until every earlier item is completed. Every item from the next one to
 * complete up to the newest holds a slot of its own, so no two of them
 * share an index.
 */
#include "config.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>

#include "gl.h"

#include "complete.h"
#include "fences.h"
#include "internal.h"

/* How long one glClientWaitSync may block before we look at the clock. */
#define WAIT_SLICE_NS 100000000ull

/*
 * After a fence signalled: on a lost context every wait returns as if its
 * fence had signalled, so a reset must be ruled out before the outputs are
 * trusted. Returns status, or GPUPIPE_DEVICE_LOST with the reason.
 */
static int reset_status(struct gp_dev *d, int status, bool checked,
			char *msg, size_t n, int *error)
{
	GLenum r;

	if (!d->reset_checks)
		return status;
	/* A reset is reported once per context: `lost` remembers it for the
	 * batches after it. checked: submit asked, in its own context, when
	 * it saw the fence signalled (SIGNALLED), since every GL call made
	 * here slows its dispatches on NVIDIA (doc/performance.md, 'The
	 * fence hand-off and the wait strategies'); not for a fence it gave
	 * up on, which a reset since may have "signalled". */
	if (atomic_load(&d->lost)) {
		r = GL_UNKNOWN_CONTEXT_RESET;
	} else if (checked) {
		return status;
	} else {
		r = glGetGraphicsResetStatus();
		if (r == GL_NO_ERROR)
			return status;
		atomic_store(&d->lost, true);
	}
	*error = GPUPIPE_EBROKEN;
	snprintf(msg, n, "the GPU was reset (%s) before this item's batch "
		 "was read back; its output is lost",
		 r == GL_GUILTY_CONTEXT_RESET	? "caused by this pipeline" :
		 r == GL_INNOCENT_CONTEXT_RESET ? "caused elsewhere" :
						  "cause unknown");
	gp_break(d, GPUPIPE_DEVICE_LOST);
	return GPUPIPE_DEVICE_LOST;
}

/*
 * Wait for a batch's fence: the one place where readback learns of
 * completion. With GPUPIPE_WAIT_BLOCK it blocks here in glClientWaitSync
 * with the shared context current (the design card's plain hand-off).
 * With GPUPIPE_WAIT_SIGNALLED the submit thread hands over a batch only
 * once it saw the fence signalled (or gave up on it), and the first look,
 * a zero wait in a turn at the driver (gp_turns), finds it so; only a
 * fence whose poll failed in submit waits on, without a turn, which must
 * never be held across a wait.
 * Returns the status for the batch's items, with the reason in msg.
 */
static int wait_fence(struct gp_dev *d, struct gp_batch *b, char *msg,
		      size_t n, int *error)
{
	struct gpupipe *p = d->p;
	uint64_t limit = (uint64_t)p->fence_timeout_ms * 1000000u;
	uint64_t start = gp_now_ns(), waited = 0;
	bool signalled = p->wait == GPUPIPE_WAIT_SIGNALLED;
	bool expired = b->expired, first = true, turn;
	bool checked = signalled && !expired && !b->unchecked;
	int broken = atomic_load(&d->broken);
	GLsync fence = b->fence;
	GLenum r;

	/* Submit gave up on this fence (GPUPIPE_WAIT_SIGNALLED), or the
	 * device is broken: look once, do not wait again. A hung GPU must
	 * not cost one timeout per batch. */
	if (expired || broken)
		limit = 0;
	if (gp_fault_timeout())
		goto timed_out;
	for (;;) {
		uint64_t slice = limit - waited < WAIT_SLICE_NS
					 ? limit - waited : WAIT_SLICE_NS;

		turn = false;
		if (signalled && first) {
			slice = 0;
			turn = gp_turn_take(&p->turns, gp_wants_turns(d));
		}
		first = false;
		r = glClientWaitSync(fence, 0, slice);
		if (turn)
			gp_turn_give(&p->turns);
		if (r == GL_ALREADY_SIGNALED || r == GL_CONDITION_SATISFIED)
			return reset_status(d, GPUPIPE_DONE, checked, msg, n,
					    error);
		if (r == GL_WAIT_FAILED) {
			GLenum e = glGetError();

			if (reset_status(d, GPUPIPE_DONE, false, msg, n,
					 error) != GPUPIPE_DONE)
				return GPUPIPE_DEVICE_LOST;
			*error = GPUPIPE_EDRIVER;
			snprintf(msg, n, "glClientWaitSync failed: GL error "
				 "0x%04x", e);
			gp_break(d, GPUPIPE_FAILED);
			return GPUPIPE_FAILED;
		}
		waited = gp_now_ns() - start;
		if (waited >= limit)
			break;
	}
	/* Not waited for because the device broke otherwise than by a
	 * timeout: that is why these items fail, not the clock. */
	if (!expired && broken && broken != GPUPIPE_TIMEDOUT) {
		*error = GPUPIPE_EBROKEN;
		snprintf(msg, n, "not waited for: %s",
			 gp_broken_reason(broken));
		return gp_broken_status(d);
	}
timed_out:
	*error = GPUPIPE_ETIMEDOUT;
	snprintf(msg, n, "the GPU did not finish this item's batch within "
		 "fence_timeout_ms (%u ms)", p->fence_timeout_ms);
	gp_break(d, GPUPIPE_TIMEDOUT);
	return GPUPIPE_TIMEDOUT;
}

/* Take b off the flight queue, where it was left while its slots were
 * walked: it is first there (one consumer). */
static void take_off(struct gp_dev *d, struct gp_batch *b)
{
	struct cds_wfcq_node *n = gp_queue_pop_wait(&d->flight_q, NULL, 0);

	assert(n == &b->node);
	(void)n;
	(void)b;
}

/*
 * Each batch stays on the flight queue while its slots are walked and
 * leaves it before its last slot completes: gp_complete_in_order tells
 * drainers once the queue is empty, that is once nothing after the item
 * it completes is in flight on this device.
 */
static void run(struct gp_dev *d)
{
	struct gpupipe *p = d->p;
	struct cds_wfcq_node *n, *next;
	uint64_t signalled_ns = 0;

	while ((n = gp_queue_peek_wait(&d->flight_q, &p->stop, 0))) {
		struct gp_batch *b = gp_batch_of_node(n);

		if (b->fence) {
			uint64_t t0 = gp_now_ns();

			b->status = wait_fence(d, b, b->msg, sizeof(b->msg),
					       &b->error);
			/* Submit deletes it, in its own context. */
			gp_fences_spent(d, b);
			signalled_ns = gp_now_ns();
			atomic_fetch_add_explicit(&d->readback_busy_ns,
						  signalled_ns - t0,
						  memory_order_relaxed);
		}
		for (n = gp_list_first(&b->slots); n; n = next) {
			struct gp_slot *s = gp_slot_of_node(n);

			/* Before s completes: its node is then reused. */
			next = gp_list_next(&b->slots, n);
			if (b->dispatched) {
				struct gpupipe_trace_record *rec =
					gp_trace_rec(&p->trace, s->job.seq);

				if (b->status != GPUPIPE_DONE)
					gp_slot_fail(s, b->status, b->error,
						     "%s", b->msg);
				if (rec)
					rec->signalled_ns = signalled_ns;
			}
			gp_slot_done(s);
			if (p->post_threads)
				continue;
			if (!next)
				take_off(d, b);
			gp_complete_in_order(d, s);
		}
		if (p->post_threads) {
			take_off(d, b);
			/* Hand each batch to the post pool in one piece. */
			gp_queue_push_list(&p->post_q, &b->slots);
		}
		gp_fences_free_batch(d, b);
	}
}

void *gp_readback_main(void *arg)
{
	struct gp_dev *d = arg;
	struct gpupipe *p = d->p;
	int ret;

	gp_thread_setup("readback", d->n, p->ndevs > 1,
			&d->readback_cpu_clock);
	gp_thread_timely();
	ret = gp_egl_make_current(&d->egl, d->egl.readback_ctx);
	gp_start_report(p, ret);
	if (ret)
		return NULL;
	run(d);
	gp_egl_release_current(&d->egl);
	return NULL;
}
