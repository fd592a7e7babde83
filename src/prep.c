/* SPDX-License-Identifier: MIT */
/*
 * The prep pool: threads without a GL context. Each takes the next QUEUED
 * slot, calls prep_cb to write the item's input straight into the slot's
 * mapped memory, and hands the slot to submit. Prep threads finish in any
 * order; readback restores push order.
 */
#include "config.h"

#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "internal.h"


void gpupipe_job_set_message(struct gpupipe_job *job, const char *fmt, ...)
{
	struct gp_slot *s;
	va_list ap;

	if (!job || !fmt)
		return;
	s = gp_container_of(job, struct gp_slot, job);
	va_start(ap, fmt);
	vsnprintf(s->msg, sizeof(s->msg), fmt, ap);
	va_end(ap);
	job->message = s->msg;
}

/*
 * Whether pushes may leave an item to a prep thread already woken (the
 * baton, queue.h). It spares the pusher a wakeup per item (1.5 us on the
 * H100's virtual machine, probe-wake), but each further prep thread of a
 * burst starts a wakeup's latency (5.5 us there) after the one before:
 * nothing against a prep_cb of a microsecond, too much against one of a
 * hundred (balanced and stream were 5-6 % slower with every push lazy).
 * Each thread judges by its own prep_cbs, with two thresholds so that
 * its average near one does not flip its vote back and forth, and sets
 * the queue only when its vote changes: the queue follows the thread
 * that changed its mind last, and is written seldom.
 *
 * Only with a core for each of the pipeline's threads: where they share
 * cores, the one prep thread woken may wait for a core while the items
 * wait for it, and the submit thread runs dry (llvmpipe on 2 cores, tiny
 * on 2 prep threads: 14 % slower lazy).
 */
#define LAZY_BELOW_NS 10000
#define EAGER_ABOVE_NS 20000

/* The cores this process may run on (its affinity, as a container's
 * cpuset sets it), or 1 if that cannot be read. */
static long usable_cores(void)
{
	cpu_set_t set;

	if (sched_getaffinity(0, sizeof(set), &set) != 0)
		return 1;
	return CPU_COUNT(&set);
}

void gp_prep_init_wakeups(struct gpupipe *p)
{
	/* The pusher, the prep and post pools, and per device a submit
	 * and a readback thread. */
	long threads = 1 + (long)p->prep_threads + (long)p->post_threads +
		       2 * (long)p->ndevs;
	unsigned i;

	p->prep_lazy_ok = usable_cores() >= threads;
#ifdef GPUPIPE_FAULT_INJECTION
	{
		int forced = gp_fault_prep_lazy();

		if (forced >= 0)
			p->prep_lazy_ok = forced;
	}
#endif
	gp_queue_set_lazy(&p->prep_q, p->prep_lazy_ok);
	for (i = 0; i < p->prep_threads; i++)
		p->preps[i].lazy_vote = p->prep_lazy_ok;
}

static void tune_wakeups(struct gpupipe *p, struct gp_prep_thread *t,
			 uint64_t ns)
{
	bool vote = t->lazy_vote;
	int64_t d;

	if (!p->prep_lazy_ok)
		return; /* the average would decide nothing */
	d = (int64_t)ns - (int64_t)t->cb_avg_ns;
	t->cb_avg_ns = (uint64_t)((int64_t)t->cb_avg_ns + d / 8);
	if (t->cb_avg_ns < LAZY_BELOW_NS)
		vote = true;
	else if (t->cb_avg_ns > EAGER_ABOVE_NS)
		vote = false;
	if (vote != t->lazy_vote) {
		t->lazy_vote = vote;
		gp_queue_set_lazy(&p->prep_q, vote);
	}
}

static void prep_one(struct gpupipe *p, struct gp_prep_thread *t,
		     struct gp_slot *s)
{
	struct gpupipe_job *job = &s->job;
	struct gpupipe_trace_record *rec;
	uint64_t t0, t1;
	int rc;

	job->input = s->map_in;
	job->params = s->map_params;
	memset(s->map_params, 0, GPUPIPE_PARAM_WORDS * sizeof(uint32_t));
	memcpy(job->groups, p->groups, sizeof(job->groups));
	job->output = NULL;
	job->gl_output_buffer = 0;
	job->gl_output_offset = 0;
	job->status = GPUPIPE_DONE;
	job->error = 0;
	job->message = NULL;
	s->msg[0] = '\0';

	if (atomic_load_explicit(&s->dev->broken, memory_order_relaxed)) {
		gp_slot_fail(s, gp_broken_status(s->dev), GPUPIPE_EBROKEN,
			     "not prepared: %s",
			     gp_broken_reason(atomic_load(&s->dev->broken)));
		return;
	}
	t0 = gp_now_ns();
	gp_in_callback = p;
	rc = p->prep_cb(job, p->user_data);
	gp_in_callback = NULL;
	t1 = gp_now_ns();
	/* Only this thread writes it: no locked add. */
	atomic_store_explicit(&t->busy_ns,
			      atomic_load_explicit(&t->busy_ns,
						   memory_order_relaxed) +
				      t1 - t0,
			      memory_order_relaxed);
	tune_wakeups(p, t, t1 - t0);
	rec = gp_trace_rec(&p->trace, job->seq);
	if (rec) {
		rec->prep_start_ns = t0;
		rec->prep_end_ns = t1;
		rec->prep_thread = t->index;
	}
	if (rc != 0) {
		job->status = GPUPIPE_FAILED;
		job->error = rc;
		if (!s->msg[0])
			snprintf(s->msg, sizeof(s->msg),
				 "prep_cb returned %d", rc);
		job->message = s->msg;
	}
}

void *gp_prep_main(void *arg)
{
	struct gp_prep_thread *t = arg;
	struct gpupipe *p = t->p;
	struct cds_wfcq_node *n;

	gp_thread_setup("prep", t->index, true, &t->cpu_clock);
	gp_start_report(p, 0);

	while ((n = gp_queue_pop_wait(&p->prep_q, &p->stop, 0))) {
		struct gp_slot *s = gp_slot_of_node(n);

		/* Once destroy has begun, an item no prep thread had taken
		 * is cancelled, whichever of destroy and a prep thread that
		 * has just come free reaches it first. */
		if (atomic_load(&p->shutdown)) {
			gp_slot_cancelled(s);
			continue;
		}
		gp_slot_prepping(s);
		prep_one(p, t, s);
		gp_slot_ready(s);
	}
	return NULL;
}

int gp_prep_cancel_queued(struct gpupipe *p)
{
	struct cds_wfcq_node *n;
	int count = 0;

	while ((n = gp_queue_pop_try(&p->prep_q))) {
		gp_slot_cancelled(gp_slot_of_node(n));
		count++;
	}
	return count;
}
