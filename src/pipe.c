/* SPDX-License-Identifier: MIT */
/*
 * The pipeline's life: create, push, drain, cancel, destroy, and the
 * counters (config.c checks and resolves the configuration).
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "batchsize.h"
#include "cfg.h"
#include "complete.h"
#include "fences.h"
#include "internal.h"

/* Each device's slots (depth x max_batch of them), its timer queries,
 * its fences' bookkeeping. */
static int alloc_devices(struct gpupipe *p)
{
	unsigned i;

	for (i = 0; i < p->ndevs; i++) {
		struct gp_dev *d = &p->devs[i];

		d->nslots = p->depth * p->max_batch;
		d->first = i * d->nslots;
		d->queries = gp_calloc(2 * (size_t)d->nslots,
				       sizeof(*d->queries));
		d->batch_queries = gp_calloc(d->nslots,
					     sizeof(*d->batch_queries));
		if (!d->queries || !d->batch_queries || gp_fences_init(d))
			return gp_error(GPUPIPE_ENOMEM, "cannot allocate the "
					"pipeline's bookkeeping");
	}
	return 0;
}

/* The bookkeeping the configuration's sizes call for. */
static int alloc_pipe(struct gpupipe *p)
{
	p->order = gp_calloc(p->nslots, sizeof(*p->order));
	p->preps = gp_calloc_lines(p->prep_threads, sizeof(*p->preps));
	p->posts = gp_calloc(p->post_threads ? p->post_threads : 1,
			     sizeof(*p->posts));
	if (!p->order || !p->preps || !p->posts)
		return gp_error(GPUPIPE_ENOMEM, "cannot allocate the "
				"pipeline's bookkeeping");
	return alloc_devices(p);
}

/* Destroys waiting for pushes in progress to leave (see gpupipe_push). */
static struct gp_wake pushers_left;

/* ---- threads ---------------------------------------------------------- */

static void wake_everyone(struct gpupipe *p)
{
	unsigned i;

	gp_queue_wake_all(&p->prep_q);
	for (i = 0; p->slots && i < p->ndevs; i++) {
		gp_queue_wake_all(&p->devs[i].ready_q);
		gp_queue_wake_all(&p->devs[i].flight_q);
	}
	gp_queue_wake_all(&p->post_q);
}

/* Join in stage order; each GL thread released its context on exit. */
static void stop_threads(struct gpupipe *p)
{
	unsigned i;

	atomic_store(&p->stop, 1);
	for (i = 0; i < p->ndevs; i++)
		atomic_store(&p->devs[i].submit_attn, 1);
	wake_everyone(p);
	for (i = 0; p->preps && i < p->prep_threads; i++)
		if (p->preps[i].started)
			pthread_join(p->preps[i].thread, NULL);
	for (i = 0; i < p->ndevs; i++) {
		if (p->devs[i].submit_started)
			pthread_join(p->devs[i].submit_thread, NULL);
		if (p->devs[i].readback_started)
			pthread_join(p->devs[i].readback_thread, NULL);
	}
	for (i = 0; p->posts && i < p->post_threads; i++)
		if (p->posts[i].started)
			pthread_join(p->posts[i].thread, NULL);
}

static void free_pipe(struct gpupipe *p)
{
	unsigned i;

	for (i = 0; i < p->ndevs; i++) {
		struct gp_dev *d = &p->devs[i];

		gp_egl_close(&d->egl);
		free(d->queries);
		free(d->batch_queries);
		gp_fences_fini(d);
	}
	gp_slots_fini(p);
	free(p->devs);
	p->devs = NULL;
	p->ndevs = 0;
	gp_trace_fini(&p->trace);
	pthread_mutex_destroy(&p->start.lock);
	pthread_cond_destroy(&p->start.cond);
	pthread_mutex_destroy(&p->order_lock);
	gp_turns_fini(&p->turns);
	free(p->preps);
	free(p->posts);
	free(p->order);
	free(p->weights);
	free(p->shader_source);
	free(p);
}

/* Each device's display and two contexts; what info reports of them. */
static int open_displays(struct gpupipe *p, const struct gpupipe_config *cfg)
{
	enum gpupipe_display kind = cfg->display == GPUPIPE_DISPLAY_DEVICES
					    ? GPUPIPE_DISPLAY_DEVICE
					    : cfg->display;
	unsigned i;
	int ret;

	for (i = 0; i < p->ndevs; i++) {
		struct gp_dev *d = &p->devs[i];

		ret = gp_egl_open(&d->egl, kind, d->egl_index, cfg->egl_display,
				  cfg->share_context,
				  !(cfg->flags & GPUPIPE_NO_RESET_NOTIFICATION));
		if (ret)
			return ret;
		d->egl_index = d->egl.device_index;
	}
	p->info.display = p->ndevs > 1 ||
					  cfg->display == GPUPIPE_DISPLAY_DEVICES
				  ? GPUPIPE_DISPLAY_DEVICES
				  : p->devs[0].egl.kind;
	p->info.device_index = p->devs[0].egl.device_index;
	for (i = 0; i < p->ndevs; i++)
		p->info.devices[i] = p->devs[i].egl_index;
	return 0;
}

/* Per device, submit first (it compiles the shader and maps the buffers
 * that the slots point into), then readback; then the post and prep
 * pools. The caller stops what started if one fails. */
static int start_threads(struct gpupipe *p)
{
	unsigned i;
	int ret = 0;

	for (i = 0; !ret && i < p->ndevs; i++) {
		struct gp_dev *d = &p->devs[i];

		ret = gp_thread_start(p, &d->submit_thread, &d->submit_started,
				      gp_submit_main, d, "submit");
		if (!ret)
			ret = gp_thread_start(p, &d->readback_thread,
					      &d->readback_started,
					      gp_readback_main, d, "readback");
	}
	for (i = 0; !ret && i < p->post_threads; i++) {
		p->posts[i].p = p;
		p->posts[i].index = i;
		ret = gp_thread_start(p, &p->posts[i].thread,
				      &p->posts[i].started, gp_post_main,
				      &p->posts[i], "post");
	}
	gp_prep_init_wakeups(p);
	for (i = 0; !ret && i < p->prep_threads; i++) {
		p->preps[i].p = p;
		p->preps[i].index = i;
		ret = gp_thread_start(p, &p->preps[i].thread,
				      &p->preps[i].started, gp_prep_main,
				      &p->preps[i], "prep");
	}
	return ret;
}

int gpupipe_create(const struct gpupipe_config *cfg, gpupipe **out)
{
	struct gpupipe *p;
	int ret;

	gp_error_clear();
	ret = gp_check_fork("gpupipe_create");
	if (ret)
		return ret;
	gp_fork_guard_init();
	if (!cfg || !out)
		return gp_error(GPUPIPE_EINVAL, "gpupipe_create: %s is NULL",
				cfg ? "out" : "cfg");
	ret = gp_config_check(cfg);
	if (ret)
		return ret;
	p = gp_calloc_lines(1, sizeof(*p));
	if (!p)
		return gp_error(GPUPIPE_ENOMEM, "cannot allocate a pipeline");
	pthread_mutex_init(&p->start.lock, NULL);
	pthread_cond_init(&p->start.cond, NULL);
	pthread_mutex_init(&p->order_lock, NULL);
	gp_turns_init(&p->turns, false);
	gp_wake_init(&p->done_wake);
	gp_trace_init(&p->trace);

	ret = gp_config_devices(p, cfg);
	if (!ret)
		ret = gp_config_take(p, cfg);
	if (!ret)
		ret = alloc_pipe(p);
	/* Several devices take turns at the driver (gp_turns); not with
	 * GPUPIPE_WAIT_BLOCK, whose readback blocks in GL. */
	p->turns.on = p->ndevs > 1 && p->wait == GPUPIPE_WAIT_SIGNALLED;
	if (!ret)
		ret = gp_slots_init(p);
	if (!ret)
		ret = open_displays(p, cfg);
	if (!ret)
		ret = start_threads(p);
	if (!ret)
		ret = gp_handle_new(p, out);
	if (ret)
		goto fail;
	return 0;

fail:
	stop_threads(p);
	free_pipe(p);
	return ret;
}

/*
 * Destroy, in this order:
 * (1) refuse pushes with GPUPIPE_ESHUTDOWN, and wait for pushes in
 *     progress to finish or give up;
 * (2) complete items no prep thread has taken as CANCELLED (from (1)
 *     on, a prep thread cancels what it takes instead of preparing it);
 * (3) let items in prep, ready or in flight run: submit fences what is
 *     READY and readback completes it (a hung GPU ends by the fence
 *     timeout);
 * (4) stop and join the threads in stage order, each having released its
 *     context, then destroy the contexts and release the display;
 * (5) free.
 */
static int destroy_checks(struct gpupipe *p)
{
	if (gp_check_fork("gpupipe_destroy"))
		return GPUPIPE_EBROKEN; /* no threads to join: leave it be */
	if (gp_in_callback == p)
		return gp_error(GPUPIPE_EDEADLK, "gpupipe_destroy called from "
				"a callback of the same pipeline; call it "
				"from another thread");
	return 0;
}

/* Steps (1) to (4) above; the caller frees. */
static void destroy(struct gpupipe *p)
{
	uint32_t gen;

	atomic_store(&p->shutdown, 1);
	gp_wake_signal(&p->free_wake, true);
	while (atomic_load(&p->pushers)) {
		gen = gp_wake_prepare(&pushers_left);
		if (!atomic_load(&p->pushers)) {
			gp_wake_cancel(&pushers_left);
			break;
		}
		gp_wake_wait(&pushers_left, gen, 0);
	}

	gp_prep_cancel_queued(p);

	while (atomic_load(&p->completed) < atomic_load(&p->next_seq)) {
		gen = gp_wake_prepare(&p->done_wake);
		if (atomic_load(&p->completed) >= atomic_load(&p->next_seq)) {
			gp_wake_cancel(&p->done_wake);
			break;
		}
		gp_wake_wait(&p->done_wake, gen, 0);
	}

	stop_threads(p);
}

/* The absolute CLOCK_MONOTONIC time timeout_ms from now; 0 (none) for a
 * negative timeout, or one too long to add to the clock. */
static uint64_t deadline_after(long timeout_ms)
{
	uint64_t now;

	if (timeout_ms < 0)
		return 0; /* no clock read: a push without a timeout is hot */
	now = gp_now_ns();
	if ((unsigned long)timeout_ms >= (UINT64_MAX - now) / 1000000u)
		return 0;
	return now + (uint64_t)timeout_ms * 1000000u;
}

/* What a push asked for: fn names it in messages. */
struct push_args {
	const char *fn;
	void *item;
	unsigned flags;
	long timeout_ms;
	uint64_t *seq;
};

/* A slot for a push, or why there is none, in words. */
static int take_slot(struct gpupipe *p, const struct push_args *a,
		     bool nonblock, uint64_t deadline, struct gp_slot **s)
{
	int ret = gp_slot_acquire(p, nonblock, deadline, s);

	if (ret == GPUPIPE_EAGAIN)
		return gp_error(ret, "%s: the pipeline is full (each device at "
				"its in-flight limit)", a->fn);
	if (ret == GPUPIPE_ETIMEDOUT)
		return gp_error(ret, "%s: the pipeline was still full (each "
				"device at its in-flight limit) after %ld ms; "
				"the item was not pushed", a->fn,
				a->timeout_ms);
	if (ret == GPUPIPE_EBROKEN)
		return gp_error(ret, "%s: the pipeline is broken (every "
				"device): %s; destroy it", a->fn,
				gp_broken_reason(atomic_load(&p->broken)));
	if (ret)
		return gp_error(ret, "%s: the pipeline is being destroyed",
				a->fn);
	return 0;
}

/* Give item its seq in slot s, tell it to *seq (before any callback can
 * see the item), and queue it for the prep threads. */
static void enqueue(struct gpupipe *p, struct gp_slot *s, void *item,
		    uint64_t enter, uint64_t *seq)
{
	struct gpupipe_trace_record *rec;

	s->job.item = item;
	s->job.device = s->dev->n;
	gp_batchsize_pushed(s->dev);
	/* Incomplete from here: a drain that counts this push (its seq is
	 * below the drain's target) must see that before the seq. */
	atomic_store(&s->pending_seq, 0);
	GP_DELAY(push_seq);
	s->job.seq = atomic_fetch_add(&p->next_seq, 1);
	atomic_store(&s->pending_seq, s->job.seq);
	/* A drain that began in between counted the transient 0 and may
	 * sleep on it: this seq is past its target, so tell it to look
	 * again (a system call only when a drain sleeps). */
	gp_wake_signal(&p->done_wake, true);
	s->job.in_bytes = p->in_bytes;
	s->job.out_bytes = p->out_bytes;
	s->enter_ns = enter;
	rec = gp_trace_rec(&p->trace, s->job.seq);
	if (rec) {
		rec->seq = s->job.seq;
		rec->push_ns = gp_now_ns();
	}
	if (seq)
		*seq = s->job.seq;
	gp_slot_queued(p, s);
}

/* gpupipe_push and gpupipe_push_timed: a timeout of 0 is NONBLOCK. */
static int push(struct gpupipe *p, const struct push_args *a)
{
	bool nonblock = (a->flags & GPUPIPE_NONBLOCK) || a->timeout_ms == 0;
	uint64_t enter, deadline;
	struct gp_slot *s;
	int ret;

	if (a->flags & ~GPUPIPE_NONBLOCK)
		return gp_error(GPUPIPE_EINVAL, "%s: unknown flags 0x%x",
				a->fn, a->flags & ~GPUPIPE_NONBLOCK);
	ret = gp_check_fork(a->fn);
	if (ret)
		return ret;
	if (!nonblock && gp_in_callback == p)
		return gp_error(GPUPIPE_EDEADLK, "%s from a callback of the "
				"same pipeline could wait for itself; push "
				"with GPUPIPE_NONBLOCK (or gpupipe_push_timed "
				"with a timeout of 0)", a->fn);
	deadline = nonblock ? 0 : deadline_after(a->timeout_ms);

	/* Announce the push before looking at shutdown; destroy sets
	 * shutdown before it waits for pushers to reach zero. */
	atomic_fetch_add(&p->pushers, 1);
	if (atomic_load(&p->shutdown)) {
		ret = gp_error(GPUPIPE_ESHUTDOWN, "%s: the pipeline is being "
			       "destroyed", a->fn);
		goto out;
	}
	if (atomic_load_explicit(&p->broken, memory_order_relaxed)) {
		ret = gp_error(GPUPIPE_EBROKEN, "%s: the pipeline is broken "
			       "(every device): %s; destroy it (and create a "
			       "new one to go on)", a->fn,
			       gp_broken_reason(atomic_load(&p->broken)));
		goto out;
	}
	enter = gp_now_ns(); /* a wait for a slot is latency too */
	ret = take_slot(p, a, nonblock, deadline, &s);
	if (!ret)
		enqueue(p, s, a->item, enter, a->seq);
out:
	/* The wakeup costs a system call only when a destroy is waiting.
	 * (It is process-wide from when destroy freed p as soon as this
	 * count reached zero; the handle now keeps p until the call leaves,
	 * so a per-pipeline one would do as well.) */
	if (atomic_fetch_sub(&p->pushers, 1) == 1)
		gp_wake_signal(&pushers_left, true);
	return ret;
}

/* Items pushed before target not yet complete. Completion can come out
 * of order (post_threads), so look at every slot's pending item. */
static unsigned incomplete_before(struct gpupipe *p, uint64_t target)
{
	unsigned i, n = 0;

	for (i = 0; i < p->nslots; i++)
		n += atomic_load_explicit(&p->slots[i].pending_seq,
					  memory_order_acquire) < target;
	return n;
}

static int drain(struct gpupipe *p, long timeout_ms)
{
	uint64_t target, deadline;
	uint32_t gen;
	unsigned left;

	if (gp_check_fork("gpupipe_drain"))
		return GPUPIPE_EBROKEN;
	if (gp_in_callback == p)
		return gp_error(GPUPIPE_EDEADLK, "gpupipe_drain from a "
				"callback of the same pipeline would wait for "
				"itself");
	target = atomic_load(&p->next_seq);
	deadline = deadline_after(timeout_ms);
	while ((left = incomplete_before(p, target))) {
		if (deadline && gp_now_ns() >= deadline)
			return gp_error(GPUPIPE_ETIMEDOUT, "gpupipe_drain: %u "
					"of %llu items still running after "
					"%ld ms", left,
					(unsigned long long)target, timeout_ms);
		gen = gp_wake_prepare(&p->done_wake);
		if (!incomplete_before(p, target)) {
			gp_wake_cancel(&p->done_wake);
			break;
		}
		gp_wake_wait(&p->done_wake, gen, deadline);
	}
	return 0;
}

static int cancel(struct gpupipe *p)
{
	if (gp_check_fork("gpupipe_cancel"))
		return GPUPIPE_EBROKEN;
	return gp_prep_cancel_queued(p);
}

static int get_info(const struct gpupipe *p, struct gpupipe_info *info)
{
	const struct gp_dev *d0 = &p->devs[0];
	unsigned i;

	if (!info)
		return gp_error(GPUPIPE_EINVAL, "gpupipe_get_info: info is NULL");
	*info = p->info;
	/* What the submit threads learnt: the first device's GL strings
	 * and layout, memory of all, reset notification where all have it. */
	snprintf(info->renderer, sizeof(info->renderer), "%s", d0->gl.renderer);
	snprintf(info->version, sizeof(info->version), "%s", d0->gl.version);
	snprintf(info->vendor, sizeof(info->vendor), "%s", d0->gl.vendor);
	info->in_stride = d0->in_stride;
	info->out_stride = d0->out_stride;
	info->map_flags_in = d0->gl.map_flags_in;
	info->map_flags_out = d0->gl.map_flags_out;
	info->storage_flags_out = d0->gl.storage_flags_out;
	info->mapped_bytes = 0;
	info->reset_notification = 1;
	for (i = 0; i < p->ndevs; i++) {
		info->mapped_bytes += p->devs[i].gl.mapped_bytes;
		info->reset_notification &= p->devs[i].gl.reset_notification;
	}
	return 0;
}

static uint64_t cpu_ns(clockid_t clock)
{
	struct timespec ts;

	if (clock_gettime(clock, &ts))
		return 0;
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int get_stats(const struct gpupipe *p, struct gpupipe_stats *st)
{
	uint64_t completed;
	unsigned i;

	if (!st)
		return gp_error(GPUPIPE_EINVAL, "gpupipe_get_stats: stats is "
				"NULL");
	memset(st, 0, sizeof(*st));
	/* Completions first: every item counted there took its seq before,
	 * so pushed, read after, is never the smaller. */
	completed = atomic_load(&p->completed);
	for (i = 0; i < 5; i++)
		st->completed[i] = atomic_load(&p->count_by_status[i]);
	GP_DELAY(stats_counts);
	st->pushed = atomic_load(&p->next_seq);
	st->in_flight = st->pushed - completed;
	st->batches = atomic_load(&p->batches);
	for (i = 0; i < p->prep_threads; i++) {
		st->prep_busy_ns += atomic_load(&p->preps[i].busy_ns);
		st->prep_cpu_ns += cpu_ns(p->preps[i].cpu_clock);
	}
	st->done_busy_ns = atomic_load(&p->done_busy_ns);
	for (i = 0; i < p->post_threads; i++)
		st->post_cpu_ns += cpu_ns(p->posts[i].cpu_clock);
	/* Per device, summed; the batch measures are the first device's. */
	for (i = 0; i < p->ndevs; i++) {
		const struct gp_dev *d = &p->devs[i];

		st->submit_busy_ns += atomic_load(&d->submit_busy_ns);
		st->readback_busy_ns += atomic_load(&d->readback_busy_ns);
		st->submit_cpu_ns += cpu_ns(d->submit_cpu_clock);
		st->readback_cpu_ns += cpu_ns(d->readback_cpu_clock);
		st->fence_polls += atomic_load(&d->fence_polls);
		/* A broken device takes no more items. */
		if (!atomic_load(&d->broken))
			st->in_flight_limit += (unsigned)atomic_load(&d->limit);
		st->close_ns += atomic_load(&d->close_ns);
		st->poll_ns += atomic_load(&d->poll_ns);
		st->devices_broken += atomic_load(&d->broken) != 0;
	}
	st->batch_target = atomic_load(&p->devs[0].batch_target);
	st->gpu_ns_per_item = atomic_load(&p->devs[0].gpu_ns_per_item);
	st->batch_cost_ns = atomic_load(&p->devs[0].batch_cost_ns);
	st->broken = atomic_load(&p->broken);
	return 0;
}

/* ---- the public calls on a pipeline: each inside its handle (handle.c) */

int gpupipe_push(gpupipe *h, void *item, unsigned flags)
{
	struct push_args a = { .fn = "gpupipe_push", .item = item,
			       .flags = flags, .timeout_ms = -1 };

	GP_CALL(h, a.fn, p, push(p, &a));
}

int gpupipe_push_timed(gpupipe *h, void *item, unsigned flags,
		       long timeout_ms, uint64_t *seq)
{
	struct push_args a = { .fn = "gpupipe_push_timed", .item = item,
			       .flags = flags, .timeout_ms = timeout_ms,
			       .seq = seq };

	GP_CALL(h, a.fn, p, push(p, &a));
}

int gpupipe_drain(gpupipe *h, long timeout_ms)
{
	GP_CALL(h, "gpupipe_drain", p, drain(p, timeout_ms));
}

int gpupipe_cancel(gpupipe *h)
{
	GP_CALL(h, "gpupipe_cancel", p, cancel(p));
}

int gpupipe_get_info(const gpupipe *h, struct gpupipe_info *info)
{
	GP_CALL(h, "gpupipe_get_info", p, get_info(p, info));
}

int gpupipe_get_stats(const gpupipe *h, struct gpupipe_stats *st)
{
	GP_CALL(h, "gpupipe_get_stats", p, get_stats(p, st));
}

int gpupipe_destroy(gpupipe *h)
{
	struct gpupipe *p;
	int ret;

	if (!h)
		return 0;
	ret = gp_handle_enter(h, "gpupipe_destroy", &p);
	if (ret)
		return ret;
	ret = destroy_checks(p);
	if (!ret)
		ret = gp_handle_begin_destroy(h);
	gp_handle_exit(h);
	if (ret)
		return ret;
	destroy(p);
	/* No call enters from here; wait for those inside, then free. */
	gp_handle_close(h);
	free_pipe(p);
	gp_handle_free(h);
	return 0;
}

/* Tracing (trace.c keeps the records): end drains first, then collects. */
static int trace_end(struct gpupipe *p,
		     struct gpupipe_trace_record **records, size_t *count)
{
	int ret = gp_trace_check_end(p, records, count);

	if (!ret)
		ret = drain(p, -1);
	return ret ? ret : gp_trace_take(p, records, count);
}

int gpupipe_trace_begin(gpupipe *h, size_t capacity, unsigned flags)
{
	GP_CALL(h, "gpupipe_trace_begin", p,
		gp_trace_begin(p, capacity, flags));
}

int gpupipe_trace_end(gpupipe *h, struct gpupipe_trace_record **records,
		      size_t *count)
{
	GP_CALL(h, "gpupipe_trace_end", p, trace_end(p, records, count));
}
