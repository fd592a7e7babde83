/* SPDX-License-Identifier: MIT */
/*
 * Completion: calling done_cb for an item and freeing its slot, from the
 * readback thread (in push order) or from the post pool (post_threads >
 * 0: as results arrive, concurrently). Also gpupipe_job_keep and
 * gpupipe_release, which let a done_cb keep its output past its return.
 */
#include "config.h"

#include <stdio.h>

#include "internal.h"

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
	if (!(p->flags & GPUPIPE_FIXED_BATCH))
		atomic_fetch_add_explicit(
			&s->dev->lat_hist[gp_lat_bucket(t0 - s->enter_ns)], 1,
			memory_order_relaxed);
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
	/* Adaptive batches: this completion emptied the device. */
	if (atomic_fetch_add(&s->dev->completed, 1) + 1 ==
		    atomic_load_explicit(&s->dev->pushed,
					 memory_order_relaxed) &&
	    !(p->flags & GPUPIPE_FIXED_BATCH))
		atomic_store_explicit(&s->dev->went_idle, 1,
				      memory_order_relaxed);
	if (atomic_compare_exchange_strong(&s->keep, &in_cb, KEEP_HELD)) {
		gp_slot_kept(p, s);
		return;
	}
	keep = atomic_exchange(&s->keep, KEEP_NONE);
	(void)keep; /* KEEP_NONE, or KEEP_RELEASED_IN_CB: free it now */
	gp_slot_release(p, s);
}

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
