/* SPDX-License-Identifier: MIT */
/*
 * Per-item timelines for profilers and benchmarks. Each stage writes its
 * own fields of the item's record; the records are read only after every
 * traced item completed and the submit thread read the last GPU queries,
 * so no field is read while it is written.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "internal.h"

void gp_trace_init(struct gp_trace *t)
{
	memset(t, 0, sizeof(*t));
	pthread_mutex_init(&t->lock, NULL);
	pthread_cond_init(&t->cond, NULL);
}

void gp_trace_fini(struct gp_trace *t)
{
	free(atomic_load(&t->rec));
	pthread_mutex_destroy(&t->lock);
	pthread_cond_destroy(&t->cond);
}

void gp_trace_collected(struct gp_trace *t, struct gp_dev *d)
{
	pthread_mutex_lock(&t->lock);
	d->trace_collected = true;
	pthread_cond_broadcast(&t->cond);
	pthread_mutex_unlock(&t->lock);
}

void gp_trace_collector_gone(struct gp_trace *t, struct gp_dev *d)
{
	pthread_mutex_lock(&t->lock);
	d->collector_gone = true;
	pthread_cond_broadcast(&t->cond);
	pthread_mutex_unlock(&t->lock);
}

/* Under t->lock: every device has read its queries since asked, or ended
 * (destroy stopped it after it read what was asked before). No thread
 * writes the records after this is true. */
static bool all_collected(struct gpupipe *p)
{
	unsigned i;

	for (i = 0; i < p->ndevs; i++)
		if (!p->devs[i].trace_collected && !p->devs[i].collector_gone)
			return false;
	return true;
}

int gp_trace_begin(struct gpupipe *p, size_t capacity, unsigned flags)
{
	struct gpupipe_trace_record *rec;

	if (gp_check_fork("gpupipe_trace_begin"))
		return GPUPIPE_EBROKEN;
	if (!capacity || capacity > SIZE_MAX / sizeof(*rec))
		return gp_error(GPUPIPE_EINVAL, "gpupipe_trace_begin: "
				"capacity %zu must be 1..%zu", capacity,
				SIZE_MAX / sizeof(*rec));
	if (flags & ~GPUPIPE_TRACE_GPU)
		return gp_error(GPUPIPE_EINVAL, "gpupipe_trace_begin: unknown "
				"flags 0x%x", flags & ~GPUPIPE_TRACE_GPU);
	rec = gp_calloc(capacity, sizeof(*rec));
	if (!rec)
		return gp_error(GPUPIPE_ENOMEM, "cannot allocate %zu trace "
				"records", capacity);
	/* Under the lock: of two concurrent begins one wins, and the
	 * capacity always matches the records published. */
	pthread_mutex_lock(&p->trace.lock);
	GP_DELAY(trace_begin);
	if (atomic_load(&p->trace.rec)) {
		pthread_mutex_unlock(&p->trace.lock);
		free(rec);
		return gp_error(GPUPIPE_EINVAL, "gpupipe_trace_begin: a trace "
				"is already running; end it first");
	}
	p->trace.first_seq = atomic_load(&p->next_seq);
	p->trace.capacity = capacity;
	p->trace.gpu = flags & GPUPIPE_TRACE_GPU;
	/* Published last: a stage sees either no trace or all of it. */
	atomic_store_explicit(&p->trace.rec, rec, memory_order_release);
	pthread_mutex_unlock(&p->trace.lock);
	return 0;
}

int gp_trace_check_end(struct gpupipe *p,
		       struct gpupipe_trace_record **records, size_t *count)
{
	if (!records || !count)
		return gp_error(GPUPIPE_EINVAL, "gpupipe_trace_end: %s is "
				"NULL", !records ? "records" : "count");
	if (gp_check_fork("gpupipe_trace_end"))
		return GPUPIPE_EBROKEN;
	if (!atomic_load(&p->trace.rec))
		return gp_error(GPUPIPE_EINVAL, "gpupipe_trace_end: no trace "
				"is running");
	return 0;
}

int gp_trace_take(struct gpupipe *p, struct gpupipe_trace_record **records,
		  size_t *count)
{
	struct gpupipe_trace_record *rec;
	uint64_t pushed;
	unsigned i;
	size_t n;

	/* Every traced item is complete; let each submit thread read the
	 * GPU timestamps it has not read yet, in its own context, as
	 * CLOCK_MONOTONIC times. */
	pthread_mutex_lock(&p->trace.lock);
	for (i = 0; i < p->ndevs; i++)
		p->devs[i].trace_collected = false;
	pthread_mutex_unlock(&p->trace.lock);
	for (i = 0; i < p->ndevs; i++) {
		atomic_store(&p->devs[i].collect_req, 1);
		atomic_store(&p->devs[i].submit_attn, 1);
		gp_queue_wake_all(&p->devs[i].ready_q);
	}
	pthread_mutex_lock(&p->trace.lock);
	while (!all_collected(p))
		pthread_cond_wait(&p->trace.cond, &p->trace.lock);
	pthread_mutex_unlock(&p->trace.lock);

	/* A concurrent end may have taken the records already. */
	pthread_mutex_lock(&p->trace.lock);
	rec = atomic_exchange(&p->trace.rec, NULL);
	pushed = atomic_load(&p->next_seq) - p->trace.first_seq;
	n = pushed < p->trace.capacity ? (size_t)pushed : p->trace.capacity;
	pthread_mutex_unlock(&p->trace.lock);
	if (!rec)
		return gp_error(GPUPIPE_EINVAL, "gpupipe_trace_end: no trace "
				"is running (another call ended it)");
	*records = rec;
	*count = n;
	return 0;
}
