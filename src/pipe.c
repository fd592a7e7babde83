/* SPDX-License-Identifier: MIT */
/*
 * The pipeline's life: configuration checks, create, push, drain, cancel,
 * destroy, and the counters.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "complete.h"
#include "internal.h"

#define DEFAULT_DEPTH 3
#define AUTO_BATCH_MAX 64
#define AUTO_SLOT_BYTES (256u << 20) /* memory auto max_batch stays in */
#define DEFAULT_BATCH_LATENCY_US 50
#define DEFAULT_PREP_THREADS 2
#define DEFAULT_FENCE_TIMEOUT_MS 10000
/* The stride of a slot is rounded up to the driver's SSBO offset
 * alignment, which no driver puts above 256 bytes. */
#define WORST_ALIGN 256

static int check_size(const char *field, size_t bytes, unsigned nslots)
{
	if (bytes == 0)
		return gp_error(GPUPIPE_EINVAL, "%s is 0: each item needs at "
				"least one byte", field);
	if (bytes > (SIZE_MAX / 2 - WORST_ALIGN) / nslots)
		return gp_error(GPUPIPE_EINVAL, "%s %zu times %u slots "
				"overflows the address space", field, bytes,
				nslots);
	return 0;
}

/* max_batch 0: as many as fit, up to AUTO_BATCH_MAX, in AUTO_SLOT_BYTES. */
static unsigned resolve_batch(const struct gpupipe_config *c, unsigned depth)
{
	size_t per;

	if (c->max_batch)
		return c->max_batch;
	/* Sizes too large for this sum are refused by check_size anyway. */
	if (c->in_bytes > AUTO_SLOT_BYTES || c->out_bytes > AUTO_SLOT_BYTES)
		return 1;
	per = (size_t)depth * (c->in_bytes + c->out_bytes);
	if (!per || per > AUTO_SLOT_BYTES)
		return 1;
	return AUTO_SLOT_BYTES / per < AUTO_BATCH_MAX
		       ? (unsigned)(AUTO_SLOT_BYTES / per) : AUTO_BATCH_MAX;
}

/* The counts and bounds: depth, batch, threads, wait, flags. */
static int check_limits(const struct gpupipe_config *c, unsigned depth)
{
	if (depth > GPUPIPE_MAX_DEPTH)
		return gp_error(GPUPIPE_EINVAL, "depth %u exceeds "
				"GPUPIPE_MAX_DEPTH (%d)", depth,
				GPUPIPE_MAX_DEPTH);
	if (c->max_batch > GPUPIPE_MAX_BATCH)
		return gp_error(GPUPIPE_EINVAL, "max_batch %u exceeds "
				"GPUPIPE_MAX_BATCH (%d)", c->max_batch,
				GPUPIPE_MAX_BATCH);
	if (c->post_threads > GPUPIPE_MAX_POST_THREADS)
		return gp_error(GPUPIPE_EINVAL, "post_threads %u exceeds "
				"GPUPIPE_MAX_POST_THREADS (%d)",
				c->post_threads, GPUPIPE_MAX_POST_THREADS);
	if ((unsigned)c->wait > GPUPIPE_WAIT_SIGNALLED)
		return gp_error(GPUPIPE_EINVAL, "wait %d is not an enum "
				"gpupipe_wait value", (int)c->wait);
	if (c->flags & ~(GPUPIPE_FIXED_BATCH | GPUPIPE_NO_RESET_NOTIFICATION))
		return gp_error(GPUPIPE_EINVAL, "flags 0x%x: unknown bits 0x%x",
				c->flags,
				c->flags & ~(GPUPIPE_FIXED_BATCH |
					     GPUPIPE_NO_RESET_NOTIFICATION));
	if (c->batch_latency_us > 10000000)
		return gp_error(GPUPIPE_EINVAL, "batch_latency_us %u exceeds "
				"10000000 (10 s)", c->batch_latency_us);
	if (c->prep_threads > GPUPIPE_MAX_PREP_THREADS)
		return gp_error(GPUPIPE_EINVAL, "prep_threads %u exceeds "
				"GPUPIPE_MAX_PREP_THREADS (%d)",
				c->prep_threads, GPUPIPE_MAX_PREP_THREADS);
	return 0;
}

/* The buffers (for depth x batch slots), the weights and the groups. */
static int check_data(const struct gpupipe_config *c, unsigned slots)
{
	unsigned i;
	int ret;

	ret = check_size("in_bytes", c->in_bytes, slots);
	if (!ret)
		ret = check_size("out_bytes", c->out_bytes, slots);
	if (ret)
		return ret;
	if (!c->weights != !c->weights_bytes)
		return gp_error(GPUPIPE_EINVAL, "weights is %s but "
				"weights_bytes is %zu: give both or neither",
				c->weights ? "set" : "NULL", c->weights_bytes);
	if (c->weights_bytes > SIZE_MAX / 2)
		return gp_error(GPUPIPE_EINVAL, "weights_bytes %zu is too "
				"large", c->weights_bytes);
	for (i = 0; i < 3; i++)
		if (c->groups[i] > INT32_MAX)
			return gp_error(GPUPIPE_EINVAL, "groups[%u] = %u "
					"exceeds %d", i, c->groups[i],
					INT32_MAX);
	return 0;
}

/* Which display, devices and contexts: each field fits the others. */
static int check_display(const struct gpupipe_config *c)
{
	if ((unsigned)c->display > GPUPIPE_DISPLAY_DEVICES)
		return gp_error(GPUPIPE_EINVAL, "display %d is not an enum "
				"gpupipe_display value", (int)c->display);
	if (c->ndevices > GPUPIPE_MAX_DEVICES)
		return gp_error(GPUPIPE_EINVAL, "ndevices %u exceeds "
				"GPUPIPE_MAX_DEVICES (%d)", c->ndevices,
				GPUPIPE_MAX_DEVICES);
	if (c->ndevices && c->display != GPUPIPE_DISPLAY_DEVICES)
		return gp_error(GPUPIPE_EINVAL, "ndevices %u is set but "
				"display is not GPUPIPE_DISPLAY_DEVICES",
				c->ndevices);
	if (c->display == GPUPIPE_DISPLAY_DEVICES &&
	    (c->egl_display || c->share_context))
		return gp_error(GPUPIPE_EINVAL, "display is "
				"GPUPIPE_DISPLAY_DEVICES but egl_display or "
				"share_context is set: GL interop takes one "
				"device, the application's");
	if (c->display == GPUPIPE_DISPLAY_APPLICATION && !c->egl_display)
		return gp_error(GPUPIPE_EINVAL, "display is "
				"GPUPIPE_DISPLAY_APPLICATION but egl_display "
				"is NULL");
	if (c->share_context && !c->egl_display)
		return gp_error(GPUPIPE_EINVAL, "share_context is set but "
				"egl_display is NULL: give the display the "
				"context belongs to");
	if (c->display != GPUPIPE_DISPLAY_DEVICE && c->device_index)
		return gp_error(GPUPIPE_EINVAL, "device_index %u is set but "
				"display is not GPUPIPE_DISPLAY_DEVICE",
				c->device_index);
	return 0;
}

/* Every field of c, in this order; the first fault is the one named. */
static int check_config(const struct gpupipe_config *c)
{
	unsigned depth = c->depth ? c->depth : DEFAULT_DEPTH;
	int ret;

	if (!c->shader_source)
		return gp_error(GPUPIPE_EINVAL, "shader_source is NULL: give "
				"the GLSL compute shader's text (see "
				"gpupipe_load_shader)");
	if (!c->prep_cb)
		return gp_error(GPUPIPE_EINVAL, "prep_cb is NULL: it writes "
				"each item's input");
	if (!c->done_cb)
		return gp_error(GPUPIPE_EINVAL, "done_cb is NULL: it receives "
				"each item's output and status");
	ret = check_limits(c, depth);
	if (!ret)
		ret = check_data(c, depth * resolve_batch(c, depth));
	if (!ret)
		ret = check_display(c);
	return ret;
}

/* Each device's slots (depth x max_batch of them), its timer queries,
 * its ring of flights and of fences to delete. */
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
		d->flights = gp_calloc(d->nslots, sizeof(*d->flights));
		/* Fences not yet deleted: at most one per slot in flight,
		 * and one per slot done with but not yet reached by
		 * submit. */
		if (!d->queries || !d->batch_queries || !d->flights ||
		    gp_ring_init(&d->spent, 2 * d->nslots))
			return gp_error(GPUPIPE_ENOMEM, "cannot allocate the "
					"pipeline's bookkeeping");
	}
	return 0;
}

/* Copy the configuration into p, defaults resolved. */
static int take_config(struct gpupipe *p, const struct gpupipe_config *c)
{
	unsigned i;
	int ret;

	p->shader_source = gp_strdup(c->shader_source);
	if (!p->shader_source)
		return gp_error(GPUPIPE_ENOMEM, "cannot copy the shader "
				"source");
	if (c->weights_bytes) {
		p->weights = gp_malloc(c->weights_bytes);
		if (!p->weights)
			return gp_error(GPUPIPE_ENOMEM, "cannot copy %zu bytes "
					"of weights", c->weights_bytes);
		memcpy(p->weights, c->weights, c->weights_bytes);
	}
	p->in_bytes = c->in_bytes;
	p->out_bytes = c->out_bytes;
	p->weights_bytes = c->weights_bytes;
	for (i = 0; i < 3; i++)
		p->groups[i] = c->groups[i] ? c->groups[i] : 1;
	p->depth = c->depth ? c->depth : DEFAULT_DEPTH;
	p->max_batch = resolve_batch(c, p->depth);
	p->nslots = p->ndevs * p->depth * p->max_batch;
	p->wait = c->wait == GPUPIPE_WAIT_DEFAULT ? GPUPIPE_WAIT_SIGNALLED
						  : c->wait;
	p->flags = c->flags;
	p->batch_latency_us = c->batch_latency_us ? c->batch_latency_us
						  : DEFAULT_BATCH_LATENCY_US;
	p->post_threads = c->post_threads;
	p->prep_threads = c->prep_threads ? c->prep_threads
					  : DEFAULT_PREP_THREADS;
	p->fence_timeout_ms = c->fence_timeout_ms ? c->fence_timeout_ms
						  : DEFAULT_FENCE_TIMEOUT_MS;
	p->prep_cb = c->prep_cb;
	p->done_cb = c->done_cb;
	p->user_data = c->user_data;

	p->order = gp_calloc(p->nslots, sizeof(*p->order));
	p->preps = gp_calloc(p->prep_threads, sizeof(*p->preps));
	p->posts = gp_calloc(p->post_threads ? p->post_threads : 1,
			  sizeof(*p->posts));
	if (!p->order || !p->preps || !p->posts)
		return gp_error(GPUPIPE_ENOMEM, "cannot allocate the "
				"pipeline's bookkeeping");
	ret = alloc_devices(p);
	if (ret)
		return ret;

	p->info.depth = p->depth;
	p->info.max_batch = p->max_batch;
	p->info.prep_threads = p->prep_threads;
	p->info.slots = p->nslots;
	p->info.in_bytes = p->in_bytes;
	p->info.out_bytes = p->out_bytes;
	p->info.weights_bytes = p->weights_bytes;
	memcpy(p->info.groups, p->groups, sizeof(p->groups));
	p->info.fence_timeout_ms = p->fence_timeout_ms;
	p->info.wait = p->wait;
	p->info.flags = p->flags;
	p->info.batch_latency_us = p->batch_latency_us;
	p->info.post_threads = p->post_threads;
	p->info.ndevices = p->ndevs;
	for (i = 0; i < p->ndevs; i++)
		p->info.devices[i] = p->devs[i].egl_index;
	return 0;
}

/*
 * The devices the pipeline runs on: one (the default, surfaceless or
 * application display, or device_index), or with GPUPIPE_DISPLAY_DEVICES
 * the ones named, or every hardware device.
 */
static int resolve_devices(struct gpupipe *p, const struct gpupipe_config *c)
{
	struct gpupipe_device found[GPUPIPE_MAX_DEVICES];
	unsigned i, n = 0, ndevs = 0;
	int ret;

	if (c->display != GPUPIPE_DISPLAY_DEVICES) {
		ndevs = 1;
	} else if (c->ndevices) {
		ndevs = c->ndevices;
	} else {
		ret = gpupipe_list_devices(found, GPUPIPE_MAX_DEVICES, &n);
		if (ret)
			return ret;
		for (i = 0; i < n && i < GPUPIPE_MAX_DEVICES; i++)
			ndevs += !found[i].software;
		if (!ndevs)
			return gp_error(GPUPIPE_ENOTSUP, "display is "
					"GPUPIPE_DISPLAY_DEVICES with ndevices "
					"0 (every hardware device), but the "
					"EGL client lists no hardware device; "
					"name a software one in devices[]");
	}
	p->devs = gp_calloc(ndevs, sizeof(*p->devs));
	if (!p->devs)
		return gp_error(GPUPIPE_ENOMEM, "cannot allocate %u devices",
				ndevs);
	/* Counted only once they exist: cleanup walks them. */
	p->ndevs = ndevs;
	for (i = 0; i < ndevs; i++) {
		p->devs[i].p = p;
		p->devs[i].n = i;
		p->devs[i].egl_index = c->device_index;
	}
	if (c->display == GPUPIPE_DISPLAY_DEVICES && c->ndevices) {
		for (i = 0; i < ndevs; i++)
			p->devs[i].egl_index = c->devices[i];
	} else if (c->display == GPUPIPE_DISPLAY_DEVICES) {
		unsigned k = 0;

		for (i = 0; i < n && i < GPUPIPE_MAX_DEVICES; i++)
			if (!found[i].software)
				p->devs[k++].egl_index = found[i].index;
	}
	atomic_init(&p->working, ndevs);
	return 0;
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
		free(d->flights);
		gp_ring_fini(&d->spent);
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
	ret = check_config(cfg);
	if (ret)
		return ret;
	p = gp_calloc(1, sizeof(*p));
	if (!p)
		return gp_error(GPUPIPE_ENOMEM, "cannot allocate a pipeline");
	pthread_mutex_init(&p->start.lock, NULL);
	pthread_cond_init(&p->start.cond, NULL);
	pthread_mutex_init(&p->order_lock, NULL);
	gp_turns_init(&p->turns, false);
	gp_wake_init(&p->done_wake);
	gp_trace_init(&p->trace);

	ret = resolve_devices(p, cfg);
	if (!ret)
		ret = take_config(p, cfg);
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

/* A slot for a push, or why there is none, in words. */
static int take_slot(struct gpupipe *p, bool nonblock, struct gp_slot **s)
{
	int ret = gp_slot_acquire(p, nonblock, s);

	if (ret == GPUPIPE_EAGAIN)
		return gp_error(ret, "gpupipe_push: the pipeline is full (each "
				"device at its in-flight limit)");
	if (ret == GPUPIPE_EBROKEN)
		return gp_error(ret, "gpupipe_push: the pipeline is broken "
				"(every device): %s; destroy it",
				gp_broken_reason(atomic_load(&p->broken)));
	if (ret)
		return gp_error(ret, "gpupipe_push: the pipeline is being "
				"destroyed");
	return 0;
}

/* Give item its seq in slot s and queue it for the prep threads. */
static void enqueue(struct gpupipe *p, struct gp_slot *s, void *item,
		    uint64_t enter)
{
	struct gpupipe_trace_record *rec;

	s->job.item = item;
	s->job.device = s->dev->n;
	atomic_fetch_add_explicit(&s->dev->pushed, 1, memory_order_relaxed);
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
	s->push_ns = gp_now_ns();
	s->enter_ns = enter;
	rec = gp_trace_rec(&p->trace, s->job.seq);
	if (rec) {
		rec->seq = s->job.seq;
		rec->push_ns = s->push_ns;
	}
	gp_slot_set_state(s, GP_SLOT_FREE, GP_SLOT_QUEUED);
	gp_queue_push(&p->prep_q, &s->node);
}

static int push(struct gpupipe *p, void *item, unsigned flags)
{
	bool nonblock = flags & GPUPIPE_NONBLOCK;
	struct gp_slot *s;
	uint64_t enter;
	int ret;

	if (flags & ~GPUPIPE_NONBLOCK)
		return gp_error(GPUPIPE_EINVAL, "gpupipe_push: unknown flags "
				"0x%x", flags & ~GPUPIPE_NONBLOCK);
	ret = gp_check_fork("gpupipe_push");
	if (ret)
		return ret;
	if (!nonblock && gp_in_callback == p)
		return gp_error(GPUPIPE_EDEADLK, "a blocking gpupipe_push from "
				"a callback of the same pipeline could wait "
				"for itself; push with GPUPIPE_NONBLOCK");

	/* Announce the push before looking at shutdown; destroy sets
	 * shutdown before it waits for pushers to reach zero. */
	atomic_fetch_add(&p->pushers, 1);
	if (atomic_load(&p->shutdown)) {
		ret = gp_error(GPUPIPE_ESHUTDOWN, "gpupipe_push: the pipeline "
			       "is being destroyed");
		goto out;
	}
	if (atomic_load_explicit(&p->broken, memory_order_relaxed)) {
		ret = gp_error(GPUPIPE_EBROKEN, "gpupipe_push: the pipeline "
			       "is broken (every device): %s; destroy it "
			       "(and create a new one to go on)",
			       gp_broken_reason(atomic_load(&p->broken)));
		goto out;
	}
	enter = gp_now_ns(); /* a wait for a slot is latency too */
	ret = take_slot(p, nonblock, &s);
	if (!ret)
		enqueue(p, s, item, enter);
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
	uint64_t target, deadline = 0;
	uint32_t gen;
	unsigned left;

	if (gp_check_fork("gpupipe_drain"))
		return GPUPIPE_EBROKEN;
	if (gp_in_callback == p)
		return gp_error(GPUPIPE_EDEADLK, "gpupipe_drain from a "
				"callback of the same pipeline would wait for "
				"itself");
	target = atomic_load(&p->next_seq);
	/* A timeout too long to add to the clock is no timeout. */
	if (timeout_ms >= 0 && (unsigned long)timeout_ms <
				       (UINT64_MAX - gp_now_ns()) / 1000000u)
		deadline = gp_now_ns() + (uint64_t)timeout_ms * 1000000u;
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
	if (!info)
		return gp_error(GPUPIPE_EINVAL, "gpupipe_get_info: info is NULL");
	*info = p->info;
	/* What the submit threads learnt: the first device's GL strings
	 * and layout, memory of all, reset notification where all have it. */
	{
		const struct gpupipe_info *d0 = &p->devs[0].info;
		unsigned i;

		memcpy(info->renderer, d0->renderer, sizeof(info->renderer));
		memcpy(info->version, d0->version, sizeof(info->version));
		memcpy(info->vendor, d0->vendor, sizeof(info->vendor));
		info->in_stride = d0->in_stride;
		info->out_stride = d0->out_stride;
		info->map_flags_in = d0->map_flags_in;
		info->map_flags_out = d0->map_flags_out;
		info->storage_flags_out = d0->storage_flags_out;
		info->mapped_bytes = 0;
		info->reset_notification = 1;
		for (i = 0; i < p->ndevs; i++) {
			info->mapped_bytes += p->devs[i].info.mapped_bytes;
			info->reset_notification &=
				p->devs[i].info.reset_notification;
		}
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
	GP_CALL(h, "gpupipe_push", p, push(p, item, flags));
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
