/* SPDX-License-Identifier: MIT */
/*
 * The configuration: every field of struct gpupipe_config checked, in
 * a fixed order (the first fault is the one reported), then copied into the
 * pipeline with its defaults resolved, and the devices it names found.
 * Nothing here allocates more than the copies of the shader and weights
 * (pipe.c allocates and frees the bookkeeping the sizes call for).
 */
#include "config.h"

#include <stdint.h>
#include <string.h>

#include "cfg.h"
#include "internal.h"

#define DEFAULT_DEPTH 3
#define AUTO_BATCH_MAX 64
#define AUTO_SLOT_BYTES (256u << 20) /* memory auto max_batch stays in */
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
int gp_config_check(const struct gpupipe_config *c)
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

/* Copy the configuration into p, defaults resolved. */
int gp_config_take(struct gpupipe *p, const struct gpupipe_config *c)
{
	unsigned i;

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
	p->batch_latency_us = c->batch_latency_us; /* 0: no budget */
	p->post_threads = c->post_threads;
	p->prep_threads = c->prep_threads ? c->prep_threads
					  : DEFAULT_PREP_THREADS;
	p->fence_timeout_ms = c->fence_timeout_ms ? c->fence_timeout_ms
						  : DEFAULT_FENCE_TIMEOUT_MS;
	p->prep_cb = c->prep_cb;
	p->done_cb = c->done_cb;
	p->user_data = c->user_data;

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
int gp_config_devices(struct gpupipe *p, const struct gpupipe_config *c)
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
	p->devs = gp_calloc_lines(ndevs, sizeof(*p->devs));
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
