/* SPDX-License-Identifier: MIT */
/*
 * Completion: an item's done_cb, its counts, and its slot freed or kept
 * (gp_complete); in push order across the devices' readback threads
 * (gp_complete_in_order), or as results arrive on the post pool
 * (gp_post_main, post_threads > 0); and gpupipe_job_keep and
 * gpupipe_release, which let a done_cb keep its output past its return.
 *
 * done_cb runs with no library lock held. libuv's uv__work_done moves
 * finished requests to a local queue under its lock, drops the lock, then
 * calls each after_work_cb; here a readback thread stores its finished
 * slot in p->order under order_lock and, unless another thread is
 * delivering already, becomes the deliverer: it takes the run of slots
 * next in line out of order[], drops the lock, calls their done_cbs,
 * takes the lock again and repeats until nothing is next in line. Only
 * then, in the same hold of the lock as that last look, does it stop
 * delivering. A thread that finds a deliverer at work stores its slot and
 * goes back to its fences at once: the deliverer's next look, under the
 * lock, finds the slot. So one device's readback thread never waits for
 * another device's done_cb, done_cbs still run one at a time in push
 * order, and no slot is left in order[] with nobody to deliver it.
 *
 * Synchronization table (as liburcu's urcu/wfcqueue.h has one):
 *
 *   call                  runs on                may run concurrently with
 *   --------------------  ---------------------  ------------------------
 *   gp_complete_in_order  the readback thread    itself on the other
 *                         of the slot's device   devices' readback threads
 *                         (post_threads 0)       (not on its own device's)
 *   gp_complete           the deliverer, or a    prep_cbs; with a post
 *                         post thread            pool, itself on the
 *                                                other post threads
 *   gp_post_main          each post thread       itself, readback threads
 *   gpupipe_job_keep      done_cb, on its job    anything
 *   gpupipe_release       any thread             anything, its job's
 *                                                done_cb and destroy too
 *
 * Ordering: a slot stored in order[] happens before its done_cb (both
 * under order_lock); each done_cb's return happens before the next item's
 * done_cb is called (the same thread, or the next deliverer, which takes
 * order_lock after the last one dropped it): done_cbs are serialised and
 * in push order. gp_complete marks the item complete (pending_seq,
 * p->completed, seq_cst) before the slot is freed or kept, and drainers
 * are woken (p->done_wake) after the completions they are told of. keep
 * and release agree through one atomic per slot (s->keep, seq_cst).
 *
 * Locks: order_lock only, held for a few loads and stores, never across
 * done_cb or any other call out of the library (the lock order is in
 * internal.h, struct gpupipe).
 */
#include "config.h"

#include "batchsize.h"
#include "complete.h"
#include "internal.h"

/* ---- keep and release -------------------------------------------------- */

/*
 * A slot's keep state. done_cb may keep the output; whoever holds the job
 * pointer may release it from another thread even before done_cb has
 * returned, so the slot is freed by whichever of the two comes last.
 */
enum {
	KEEP_NONE = 0,
	KEEP_IN_CB,          /* kept; done_cb still running */
	KEEP_HELD,           /* kept; done_cb returned; release frees */
	KEEP_RELEASED_IN_CB, /* released before done_cb returned */
};

/* The job whose done_cb this thread is running: the only one it may keep
 * (not another pipeline's, nor one from a prep_cb). */
static _Thread_local const struct gpupipe_job *done_job;

int gpupipe_job_keep(struct gpupipe_job *job)
{
	struct gp_slot *s;
	int none = KEEP_NONE;

	if (!job || job != done_job)
		return gp_error(GPUPIPE_EINVAL, "gpupipe_job_keep: call it "
				"from done_cb with that callback's job");
	s = gp_container_of(job, struct gp_slot, job);
	if (atomic_load(&s->state) != GP_SLOT_DONE ||
	    job->status != GPUPIPE_DONE)
		return gp_error(GPUPIPE_EINVAL, "gpupipe_job_keep: only the "
				"output of a DONE item can be kept");
	if (!atomic_compare_exchange_strong(&s->keep, &none, KEEP_IN_CB))
		return gp_error(GPUPIPE_EINVAL, "gpupipe_job_keep: this job "
				"is kept already");
	return 0;
}

static int release(struct gpupipe *p, struct gpupipe_job *job)
{
	struct gp_slot *s;
	int keep;

	if (!job)
		return gp_error(GPUPIPE_EINVAL, "gpupipe_release: job is NULL");
	if (gp_check_fork("gpupipe_release"))
		return GPUPIPE_EBROKEN;
	s = gp_container_of(job, struct gp_slot, job);
	if (s < p->slots || s >= p->slots + p->nslots)
		return gp_error(GPUPIPE_EINVAL, "gpupipe_release: this job "
				"is not one of this pipeline's");
	/* done_cb may return (IN_CB -> HELD) between our load and our
	 * exchange: then look again. */
	keep = atomic_load(&s->keep);
	for (;;) {
		if (keep == KEEP_HELD) {
			if (atomic_compare_exchange_strong(&s->keep, &keep,
							   KEEP_NONE)) {
				gp_kept_released(p, s);
				return 0;
			}
		} else if (keep == KEEP_IN_CB) {
			GP_DELAY(release_keep);
			if (atomic_compare_exchange_strong(
				    &s->keep, &keep, KEEP_RELEASED_IN_CB))
				return 0;
		} else {
			return gp_error(GPUPIPE_EINVAL, "gpupipe_release: this "
					"job is not kept (released twice, or "
					"never kept)");
		}
	}
}

int gpupipe_release(gpupipe *h, struct gpupipe_job *job)
{
	GP_CALL(h, "gpupipe_release", p, release(p, job));
}

/* ---- one item ---------------------------------------------------------- */

void gp_complete(struct gpupipe *p, struct gp_slot *s)
{
	struct gpupipe_job *job = &s->job;
	struct gpupipe_trace_record *rec = gp_trace_rec(&p->trace, job->seq);
	uint64_t t0 = gp_now_ns(), t1;
	int status, keep, in_cb = KEEP_IN_CB;

	job->input = NULL;
	job->params = NULL;
	job->output = job->status == GPUPIPE_DONE ? s->map_out : NULL;
	job->out_bytes = p->out_bytes;
	job->gl_output_buffer = job->status == GPUPIPE_DONE ? s->dev->buf_out
							    : 0;
	job->gl_output_offset = job->status == GPUPIPE_DONE
					? s->dev_index * s->dev->out_stride
					: 0;
	if (job->status == GPUPIPE_DONE)
		job->message = NULL;
	status = job->status;
	gp_in_callback = p;
	done_job = job;
	p->done_cb(job, p->user_data);
	done_job = NULL;
	gp_in_callback = NULL;
	t1 = gp_now_ns();
	atomic_fetch_add_explicit(&p->done_busy_ns, t1 - t0,
				  memory_order_relaxed);
	if (rec) {
		rec->done_start_ns = t0;
		rec->done_end_ns = t1;
		rec->status = status;
	}
	atomic_fetch_add_explicit(&p->count_by_status[status], 1,
				  memory_order_relaxed);
	/* The item is complete (drain and destroy look at these two) before
	 * its slot can be reused. */
	atomic_store_explicit(&s->pending_seq, UINT64_MAX,
			      memory_order_release);
	atomic_fetch_add(&p->completed, 1);
	gp_batchsize_completed(s->dev, t0 - s->enter_ns);
	if (atomic_compare_exchange_strong(&s->keep, &in_cb, KEEP_HELD)) {
		gp_slot_kept(p, s);
		return;
	}
	keep = atomic_exchange(&s->keep, KEEP_NONE);
	(void)keep; /* KEEP_NONE, or KEEP_RELEASED_IN_CB: free it now */
	gp_slot_release(p, s);
}

/* ---- in push order, across the readback threads ------------------------ */

/* Completions since drainers were last told: they are told when a
 * readback thread finds its flight queue dry, when every item pushed has
 * completed, or every this many, not after every item. Also the most
 * items a deliverer takes out of order[] at a time. */
#define DRAIN_SIGNAL_EVERY 64

/* Under order_lock: take the slots next in line out of order[] (at most
 * DRAIN_SIGNAL_EVERY) into run; how many. Every item from order_next to
 * the newest holds a slot of its own, so no two share an index. */
static unsigned take_run_locked(struct gpupipe *p, struct gp_slot **run)
{
	struct gp_slot *c;
	unsigned n = 0;

	while (n < DRAIN_SIGNAL_EVERY &&
	       (c = p->order[p->order_next % p->nslots]) &&
	       c->job.seq == p->order_next) {
		p->order[p->order_next % p->nslots] = NULL;
		p->order_next++;
		run[n++] = c;
	}
	return n;
}

/* Under order_lock, once n more items have completed: whether to wake
 * the drainers now (the caller does, once it has dropped the lock). idle:
 * a readback thread found its flight queue dry. */
static bool drain_wake_locked(struct gpupipe *p, unsigned n, bool idle)
{
	p->order_unsignalled += n;
	if (!p->order_unsignalled)
		return false;
	if (p->order_unsignalled < DRAIN_SIGNAL_EVERY && !idle &&
	    p->order_next != atomic_load(&p->next_seq))
		return false;
	p->order_unsignalled = 0;
	return true;
}

void gp_complete_in_order(struct gp_dev *d, struct gp_slot *s)
{
	struct gpupipe *p = d->p;
	struct gp_slot *run[DRAIN_SIGNAL_EVERY];
	unsigned n = 0, i;
	bool wake, idle;

	pthread_mutex_lock(&p->order_lock);
	p->order[s->job.seq % p->nslots] = s;
	if (p->order_delivering) {
		/* The deliverer looks again, under this lock, before it
		 * stops: it will find s. It also tells the drainers, at its
		 * end, for this thread, whose flight queue may be dry. */
		if (gp_queue_empty(&d->flight_q))
			p->order_idle = true;
		pthread_mutex_unlock(&p->order_lock);
		GP_DELAY(order_stored);
		return;
	}
	p->order_delivering = true;
	for (;;) {
		wake = drain_wake_locked(p, n, false);
		n = take_run_locked(p, run);
		if (!n)
			break;
		pthread_mutex_unlock(&p->order_lock);
		if (wake)
			gp_wake_signal(&p->done_wake, true);
		GP_DELAY(order_deliver);
		for (i = 0; i < n; i++)
			gp_complete(p, run[i]);
		pthread_mutex_lock(&p->order_lock);
	}
	/* Nothing is next in line, seen under the lock that every store
	 * takes: stop delivering in this same hold, or a slot stored
	 * between the look and the stop would wait with nobody to
	 * deliver it. */
	idle = p->order_idle || gp_queue_empty(&d->flight_q);
	wake |= drain_wake_locked(p, 0, idle);
	p->order_idle = false;
	p->order_delivering = false;
	pthread_mutex_unlock(&p->order_lock);
	/* p outlives this: destroy joins this thread before it frees. */
	if (wake)
		gp_wake_signal(&p->done_wake, true);
	GP_DELAY(order_stored);
}

/* ---- the post pool (post_threads > 0) ---------------------------------- */

void *gp_post_main(void *arg)
{
	struct gp_post_thread *t = arg;
	struct gpupipe *p = t->p;
	struct cds_wfcq_node *n;

	gp_thread_setup("post", t->index, true, &t->cpu_clock);
	gp_start_report(p, 0);
	while ((n = gp_queue_pop_wait(&p->post_q, &p->stop, 0))) {
		gp_complete(p, gp_slot_of_node(n));
		gp_wake_signal(&p->done_wake, true);
	}
	return NULL;
}
