/* SPDX-License-Identifier: MIT */
/*
 * The submit thread: the only thread current in the pipeline's GL
 * context. It creates the program and the persistently mapped buffers,
 * then, for each batch of READY slots, binds each slot's ranges,
 * dispatches, and closes the batch with a client-mapped barrier, a fence
 * and a flush before handing it to readback.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "gl.h"

#include "internal.h"

#define PARAM_BYTES (GPUPIPE_PARAM_WORDS * sizeof(uint32_t))

static void bind_scratch(struct gpupipe *p);

static size_t round_up(size_t v, size_t align)
{
	return (v + align - 1) / align * align;
}

static const char *gl_error_name(GLenum e)
{
	switch (e) {
	case GL_INVALID_ENUM: return "GL_INVALID_ENUM";
	case GL_INVALID_VALUE: return "GL_INVALID_VALUE";
	case GL_INVALID_OPERATION: return "GL_INVALID_OPERATION";
	case GL_OUT_OF_MEMORY: return "GL_OUT_OF_MEMORY";
	case GL_INVALID_FRAMEBUFFER_OPERATION:
		return "GL_INVALID_FRAMEBUFFER_OPERATION";
	case GL_CONTEXT_LOST: return "GL_CONTEXT_LOST";
	default: return "unknown GL error";
	}
}

/* GL keeps up to one error per kind; a lost context reports one per
 * command. Bounded, so a driver in trouble cannot hold us here. */
static void clear_gl_errors(void)
{
	unsigned i;

	for (i = 0; i < 8 && glGetError() != GL_NO_ERROR; i++)
		;
}

static int check_gl(struct gpupipe *p)
{
	GLint v = 0, block = 0;
	GLenum err;
	unsigned i;

	if (epoxy_gl_version() < 44 &&
	    (!epoxy_has_gl_extension("GL_ARB_buffer_storage") ||
	     !epoxy_has_gl_extension("GL_ARB_multi_bind") ||
	     !epoxy_has_gl_extension("GL_ARB_compute_shader")))
		return gp_error(GPUPIPE_ENOTSUP, "OpenGL %d.%d lacks what "
				"gpupipe needs: OpenGL 4.4, or 4.3 with "
				"GL_ARB_buffer_storage and GL_ARB_multi_bind",
				epoxy_gl_version() / 10,
				epoxy_gl_version() % 10);
	for (i = 0; i < 3; i++) {
		glGetIntegeri_v(GL_MAX_COMPUTE_WORK_GROUP_COUNT, i, &v);
		p->max_groups[i] = (uint32_t)v;
	}
	glGetIntegerv(GL_MAX_SHADER_STORAGE_BLOCK_SIZE, &block);
	err = glGetError();
	if (err != GL_NO_ERROR)
		return gp_error(GPUPIPE_EDRIVER, "reading the driver's compute "
				"limits: %s (0x%04x)", gl_error_name(err), err);
	for (i = 0; i < 3; i++)
		if (p->groups[i] > p->max_groups[i])
			return gp_error(GPUPIPE_EINVAL, "groups[%u] = %u "
					"exceeds GL_MAX_COMPUTE_WORK_GROUP_COUNT "
					"(%u) of this driver", i, p->groups[i],
					p->max_groups[i]);
	v = block;
	if (p->in_bytes > (size_t)(GLuint)v || p->out_bytes > (size_t)(GLuint)v ||
	    p->weights_bytes > (size_t)(GLuint)v)
		return gp_error(GPUPIPE_EINVAL, "%s %zu exceeds "
				"GL_MAX_SHADER_STORAGE_BLOCK_SIZE (%u) of "
				"this driver",
				p->in_bytes > (size_t)(GLuint)v ? "in_bytes" :
				p->out_bytes > (size_t)(GLuint)v ? "out_bytes" :
				"weights_bytes",
				p->in_bytes > (size_t)(GLuint)v ? p->in_bytes :
				p->out_bytes > (size_t)(GLuint)v ? p->out_bytes :
				p->weights_bytes, (GLuint)v);
	return 0;
}

/*
 * Reset notification: the contexts asked for GL_LOSE_CONTEXT_ON_RESET
 * (egl.c); confirm the strategy. Then submit and readback ask
 * glGetGraphicsResetStatus after errors and after each fence. A
 * fault-injection build always asks, so a test can simulate a reset on
 * any driver.
 */
static void check_reset_notification(struct gpupipe *p)
{
	GLint strategy = 0;

	if (p->egl.reset_notification &&
	    (epoxy_gl_version() >= 45 ||
	     epoxy_has_gl_extension("GL_KHR_robustness"))) {
		glGetIntegerv(GL_RESET_NOTIFICATION_STRATEGY, &strategy);
		clear_gl_errors();
	}
	p->info.reset_notification = strategy == GL_LOSE_CONTEXT_ON_RESET;
	p->reset_checks = p->info.reset_notification;
#ifdef GPUPIPE_FAULT_INJECTION
	p->reset_checks = true;
#endif
}

/* Create one immutable buffer and, with map_flags, map all of it for the
 * life of the pipeline. */
static int make_buffer(const char *what, size_t bytes, const void *data,
		       GLbitfield storage_flags, GLbitfield map_flags,
		       GLuint *buf, void **map)
{
	GLenum err;

	clear_gl_errors();
	glGenBuffers(1, buf);
	glBindBuffer(GL_SHADER_STORAGE_BUFFER, *buf);
	glBufferStorage(GL_SHADER_STORAGE_BUFFER, (GLsizeiptr)bytes, data,
			storage_flags);
	err = glGetError();
	if (err == GL_OUT_OF_MEMORY)
		return gp_error(GPUPIPE_ENOMEM, "glBufferStorage of %zu bytes "
				"for the %s buffer: GL_OUT_OF_MEMORY", bytes,
				what);
	if (err != GL_NO_ERROR)
		return gp_error(GPUPIPE_EDRIVER, "glBufferStorage of %zu bytes "
				"for the %s buffer: GL error 0x%04x", bytes,
				what, err);
	if (!map_flags)
		return 0;
	*map = glMapBufferRange(GL_SHADER_STORAGE_BUFFER, 0, (GLsizeiptr)bytes,
				map_flags);
	if (!*map)
		return gp_error(GPUPIPE_EDRIVER, "glMapBufferRange of the %s "
				"buffer (%zu bytes) returned NULL: GL error "
				"0x%04x", what, bytes, glGetError());
	return 0;
}

static int create_buffers(struct gpupipe *p)
{
	const GLbitfield in_flags = GL_MAP_WRITE_BIT | GL_MAP_PERSISTENT_BIT |
				    GL_MAP_COHERENT_BIT;
	/* The CPU reads outputs: ask for host-cached memory, since reading
	 * write-combined memory is tens of times slower. */
	const GLbitfield out_map = GL_MAP_READ_BIT | GL_MAP_PERSISTENT_BIT |
				   GL_MAP_COHERENT_BIT;
	const GLbitfield out_storage = out_map | GL_CLIENT_STORAGE_BIT;
	/* One slot more than the pipeline's: the scratch slot (see
	 * bind_scratch). */
	const size_t nbuf = (size_t)p->nslots + 1;
	GLint align = 0;
	GLenum err;
	unsigned i;
	int ret;

	glGetIntegerv(GL_SHADER_STORAGE_BUFFER_OFFSET_ALIGNMENT, &align);
	err = glGetError();
	if (err != GL_NO_ERROR)
		return gp_error(GPUPIPE_EDRIVER, "reading "
				"GL_SHADER_STORAGE_BUFFER_OFFSET_ALIGNMENT: %s "
				"(0x%04x)", gl_error_name(err), err);
	if (align < 4)
		align = 4;
	p->in_stride = round_up(p->in_bytes, (size_t)align);
	p->out_stride = round_up(p->out_bytes, (size_t)align);
	p->params_stride = round_up(PARAM_BYTES, (size_t)align);

	ret = make_buffer("input", p->in_stride * nbuf, NULL, in_flags,
			  in_flags, &p->buf_in, &p->map_in_base);
	if (!ret)
		ret = make_buffer("output", p->out_stride * nbuf, NULL,
				  out_storage, out_map, &p->buf_out,
				  &p->map_out_base);
	if (!ret)
		ret = make_buffer("parameter", p->params_stride * nbuf,
				  NULL, in_flags, in_flags, &p->buf_params,
				  &p->map_params_base);
	/* Binding 1 always has a buffer, so each dispatch binds all four
	 * ranges in one glBindBuffersRange call. */
	if (!ret)
		ret = make_buffer("weights",
				  p->weights_bytes ? p->weights_bytes : 16,
				  p->weights, 0, 0, &p->buf_weights, NULL);
	if (ret)
		return ret;

	memset((char *)p->map_in_base + p->nslots * p->in_stride, 0,
	       p->in_stride);
	memset((char *)p->map_params_base + p->nslots * p->params_stride, 0,
	       p->params_stride);
	for (i = 0; i < p->nslots; i++) {
		struct gp_slot *s = &p->slots[i];

		s->map_in = (char *)p->map_in_base + i * p->in_stride;
		s->map_out = (char *)p->map_out_base + i * p->out_stride;
		s->map_params = (uint32_t *)((char *)p->map_params_base +
					     i * p->params_stride);
	}
	p->info.in_stride = p->in_stride;
	p->info.out_stride = p->out_stride;
	p->info.mapped_bytes = (p->in_stride + p->out_stride +
				p->params_stride) * nbuf;
	p->info.map_flags_in = in_flags;
	p->info.map_flags_out = out_map;
	p->info.storage_flags_out = out_storage;
	return 0;
}

static void destroy_gl(struct gpupipe *p)
{
	const GLuint bufs[] = { p->buf_in, p->buf_out, p->buf_params,
				p->buf_weights };
	const void *maps[] = { p->map_in_base, p->map_out_base,
			       p->map_params_base, NULL };
	unsigned i;

	for (i = 0; i < 4; i++) {
		if (!bufs[i] || !maps[i])
			continue;
		glBindBuffer(GL_SHADER_STORAGE_BUFFER, bufs[i]);
		glUnmapBuffer(GL_SHADER_STORAGE_BUFFER);
	}
	glBindBuffer(GL_SHADER_STORAGE_BUFFER, 0);
	glDeleteBuffers(4, bufs);
	if (p->queries[0])
		glDeleteQueries((GLsizei)(2 * p->nslots), p->queries);
	if (p->batch_queries[0])
		glDeleteQueries((GLsizei)p->nslots, p->batch_queries);
	memset(p->queries, 0, 2 * p->nslots * sizeof(*p->queries));
	memset(p->batch_queries, 0, p->nslots * sizeof(*p->queries));
	if (p->program)
		glDeleteProgram(p->program);
	p->buf_in = p->buf_out = p->buf_params = p->buf_weights = 0;
	p->map_in_base = p->map_out_base = p->map_params_base = NULL;
	p->program = 0;
}

/*
 * GL_TIMESTAMP counts on the GPU's clock. Map it onto CLOCK_MONOTONIC: of
 * a few reads, keep the one the CPU clock brackets most tightly.
 */
static void measure_clock_offset(struct gpupipe *p)
{
	uint64_t best = UINT64_MAX;
	unsigned i;

	for (i = 0; i < 5; i++) {
		GLint64 gl = 0;
		uint64_t t0 = gp_now_ns(), t1;

		glGetInteger64v(GL_TIMESTAMP, &gl);
		t1 = gp_now_ns();
		if (t1 - t0 < best) {
			best = t1 - t0;
			p->gl_to_mono_ns = (int64_t)(t0 + (t1 - t0) / 2) -
					   (int64_t)gl;
		}
	}
}

/* Read the GL_TIMESTAMP pair of slot s's last traced dispatch. Its fence
 * has signalled, so the results are there; the wait is only a guard. */
static void read_slot_queries(struct gpupipe *p, struct gp_slot *s)
{
	struct gpupipe_trace_record *rec;
	GLuint64 start = 0, end = 0;

	s->query_pending = false;
	rec = gp_trace_rec(&p->trace, s->query_seq);
	if (!rec)
		return;
	glGetQueryObjectui64v(p->queries[2 * s->index], GL_QUERY_RESULT,
			      &start);
	glGetQueryObjectui64v(p->queries[2 * s->index + 1], GL_QUERY_RESULT,
			      &end);
	rec->gpu_start_ns = start;
	rec->gpu_end_ns = end;
}

/* Answer gpupipe_trace_end: every traced item has completed. */
static void collect_trace(struct gpupipe *p)
{
	unsigned i;

	for (i = 0; i < p->nslots; i++)
		if (p->slots[i].query_pending)
			read_slot_queries(p, &p->slots[i]);
	measure_clock_offset(p);
	/* Between batches: a failed read costs only its timestamps. */
	clear_gl_errors();
	gp_trace_collected(&p->trace);
}

static void copy_gl_string(char *dst, size_t n, GLenum name)
{
	const char *s = (const char *)glGetString(name);

	snprintf(dst, n, "%s", s ? s : "");
}

static int init_gl(struct gpupipe *p)
{
	GLenum err;
	int ret;

	ret = check_gl(p);
	if (!ret)
		ret = gp_shader_build(p->shader_source, p->out_bytes,
				      &p->program);
	if (!ret)
		ret = create_buffers(p);
	if (ret)
		return ret;
	copy_gl_string(p->info.renderer, sizeof(p->info.renderer),
		       GL_RENDERER);
	copy_gl_string(p->info.version, sizeof(p->info.version), GL_VERSION);
	copy_gl_string(p->info.vendor, sizeof(p->info.vendor), GL_VENDOR);
	glGenQueries((GLsizei)(2 * p->nslots), p->queries);
	glGenQueries((GLsizei)p->nslots, p->batch_queries);
	p->barrier_bits = GL_CLIENT_MAPPED_BUFFER_BARRIER_BIT;
	if (p->egl.shared_with_app)
		p->barrier_bits |= GL_BUFFER_UPDATE_BARRIER_BIT |
				   GL_SHADER_STORAGE_BARRIER_BIT |
				   GL_UNIFORM_BARRIER_BIT |
				   GL_TEXTURE_FETCH_BARRIER_BIT;
	measure_clock_offset(p);
	glUseProgram(p->program);
	bind_scratch(p);
	check_reset_notification(p);
	/* A query or the program that failed to set up would fail every
	 * batch later: fail create now. */
	err = glGetError();
	if (err != GL_NO_ERROR)
		return gp_error(err == GL_OUT_OF_MEMORY ? GPUPIPE_ENOMEM
							: GPUPIPE_EDRIVER,
				"setting up queries and the program: %s "
				"(0x%04x)", gl_error_name(err), err);
	return 0;
}

static bool groups_ok(struct gpupipe *p, struct gp_slot *s)
{
	const uint32_t *g = s->job.groups;
	unsigned i;

	for (i = 0; i < 3; i++) {
		if (g[i] == 0 || g[i] > p->max_groups[i]) {
			gp_slot_fail(s, GPUPIPE_FAILED, GPUPIPE_EINVAL,
				     "prep_cb set groups[%u] = %u; it must be "
				     "1..%u", i, g[i], p->max_groups[i]);
			return false;
		}
	}
	return true;
}

/* False for a slot that failed in prep, was cancelled, arrives after the
 * pipeline broke, or asks for an impossible dispatch; its status says
 * which. */
static bool dispatchable(struct gpupipe *p, struct gp_slot *s)
{
	if (s->job.status != GPUPIPE_DONE)
		return false;
	if (atomic_load_explicit(&p->broken, memory_order_relaxed)) {
		gp_slot_fail(s, gp_broken_status(p), GPUPIPE_EBROKEN,
			     "not dispatched: %s", gp_broken_reason(p));
		return false;
	}
	return groups_ok(p, s);
}

/* Bind slot index's ranges of the four buffers to bindings 0-3. */
static void bind_slot(struct gpupipe *p, size_t index)
{
	const GLuint bufs[4] = { p->buf_in, p->buf_weights, p->buf_out,
				 p->buf_params };
	const GLintptr offs[4] = {
		(GLintptr)(index * p->in_stride), 0,
		(GLintptr)(index * p->out_stride),
		(GLintptr)(index * p->params_stride),
	};
	const GLsizeiptr sizes[4] = {
		(GLsizeiptr)p->in_bytes,
		(GLsizeiptr)(p->weights_bytes ? p->weights_bytes : 16),
		(GLsizeiptr)p->out_bytes, (GLsizeiptr)PARAM_BYTES,
	};

	glBindBuffersRange(GL_SHADER_STORAGE_BUFFER, 0, 4, bufs, offs, sizes);
}

/*
 * Between batches the bindings point at a scratch slot no item owns. A
 * dispatch whose glBindBuffersRange failed runs on the bindings before
 * it: those of an item of its own batch, which fails with it (the error
 * check after each batch), or the scratch slot, never an item already
 * handed to readback. Its input and parameters are zeros.
 */
static void bind_scratch(struct gpupipe *p)
{
	bind_slot(p, p->nslots);
}

/* Dispatch s. *batch_err keeps the first GL error of the batch so far
 * where this has to read errors itself. */
static void dispatch(struct gpupipe *p, struct gp_slot *s, GLenum *batch_err)
{
	struct gpupipe_trace_record *rec = gp_trace_rec(&p->trace, s->job.seq);

	if (s->query_pending) {
		/* Errors before the reads are the batch's; the reads' own
		 * cost only this trace record's GPU times. */
		GLenum e = glGetError();

		if (e != GL_NO_ERROR && *batch_err == GL_NO_ERROR)
			*batch_err = e;
		read_slot_queries(p, s);
		clear_gl_errors();
	}
	bind_slot(p, s->index);
	if (!rec) {
		glDispatchCompute(s->job.groups[0], s->job.groups[1],
				  s->job.groups[2]);
		return;
	}
	rec->dispatch_ns = gp_now_ns();
	if (!p->trace.gpu) {
		glDispatchCompute(s->job.groups[0], s->job.groups[1],
				  s->job.groups[2]);
		return;
	}
	glQueryCounter(p->queries[2 * s->index], GL_TIMESTAMP);
	glDispatchCompute(s->job.groups[0], s->job.groups[1],
			  s->job.groups[2]);
	glQueryCounter(p->queries[2 * s->index + 1], GL_TIMESTAMP);
	s->query_pending = true;
	s->query_seq = s->job.seq;
}

/* Hand a slot that was not dispatched to readback on its own. */
static void pass_through(struct gpupipe *p, struct gp_slot *s)
{
	s->fence = NULL;
	s->batch_len = 0;
	s->dispatched = false;
	gp_slot_set_state(s, GP_SLOT_READY, GP_SLOT_IN_FLIGHT);
	gp_queue_push(&p->flight_q, &s->node);
}

/* ---- batches in flight, adaptive batch size ---------------------------- */

#define EWMA(avg, x) ((avg) ? ((avg) * 7 + (x)) / 8 : (x))
/* Fence, flush and hand-off may cost at most this share of a batch's GPU
 * time: the batch grows until they do, within batch_latency_us; but never
 * so little that they cost more than the second share. */
#define BATCH_OVERHEAD_SHARE 20 /* 1/20 = 5 % */
#define BATCH_OVERHEAD_MAX_SHARE 4 /* 1/4 = 25 % */

/* Submit-thread state that no other thread reads. */
struct submit {
	unsigned target;       /* items per batch it aims at */
	bool timestamps;       /* GL_TIMESTAMP works on this driver */
	uint64_t gpu_ns;       /* EWMA of the GPU stage's pace per item */
	uint64_t best_ns;      /* the best pace seen */
	uint64_t cost_ns;      /* EWMA of fence+flush+polls per batch */
	uint64_t poll_ns;      /* time spent polling since the last batch */
	uint64_t items;        /* items dispatched so far */
	uint64_t batches;      /* batches closed so far */
	uint64_t last_end;     /* GL_TIMESTAMP of the last sampled batch */
	uint64_t last_items;   /* items dispatched up to it */
	bool read_query;       /* a timestamp was read since the last
				* error check */
	GLenum batch_err;      /* an error of this batch read early */
};

/* One batch in this many carries a GL_TIMESTAMP: on NVIDIA a timestamp
 * drains the GPU's pipeline (several microseconds), too much for every
 * small batch. */
#define SAMPLE_EVERY 8

static struct gp_flight *flight_at(struct gpupipe *p, unsigned i)
{
	return &p->flights[(p->flight_head + i) % p->nslots];
}

/*
 * The adaptive rule: a batch is as many items as make the per-batch cost
 * (barrier, fence, flush, polls, measured on this thread) at most 5 % of
 * the batch's GPU time (the best pace measured with GL_TIMESTAMP: the pace
 * now would feed back, since small batches slow the pipeline), but no
 * more than
 * batch_latency_us of GPU time, unless that would let the cost exceed
 * 25 %; and 1..max_batch. Pushes may then hold
 * depth batches' worth of slots, plus one per prep and post thread, so no
 * more items wait than keep the GPU and the pools busy.
 */
static void adapt(struct gpupipe *p, struct submit *st)
{
	uint64_t b, cap, floor;

	uint64_t g = st->best_ns;

	if ((p->flags & GPUPIPE_FIXED_BATCH) || !g)
		return;
	b = (st->cost_ns * BATCH_OVERHEAD_SHARE + g - 1) / g;
	cap = (uint64_t)p->batch_latency_us * 1000u / g;
	floor = (st->cost_ns * BATCH_OVERHEAD_MAX_SHARE + g - 1) / g;
	if (b > cap)
		b = cap > floor ? cap : floor;
	if (b < 1)
		b = 1;
	if (b > p->max_batch)
		b = p->max_batch;
	if (b == st->target)
		return;
	st->target = (unsigned)b;
	atomic_store_explicit(&p->batch_target, st->target,
			      memory_order_relaxed);
	gp_slots_set_limit(p, p->depth * st->target + p->prep_threads +
				      p->post_threads);
}

/*
 * The GPU stage's pace: between two sampled batches, the GL_TIMESTAMPs
 * after their last items over the items dispatched in between. On a busy
 * GPU that is its time per item; on a starved one, the pace at which work
 * reaches it, which is what decides batching and polling then. Idle spells
 * (nothing in flight, nothing ready) restart the measurement.
 */
static void read_flight_time(struct gpupipe *p, struct submit *st,
			     unsigned ring_index, const struct gp_flight *f)
{
	GLuint64 end = 0;

	if (!st->timestamps || !f->sampled)
		return;
	glGetQueryObjectui64v(p->batch_queries[ring_index], GL_QUERY_RESULT,
			      &end);
	st->read_query = true;
	if (st->last_end && end > st->last_end &&
	    f->items_to_end > st->last_items) {
		uint64_t pace = (end - st->last_end) /
				(f->items_to_end - st->last_items);

		st->gpu_ns = EWMA(st->gpu_ns, pace);
		/* The best pace ever: letting it creep up towards the current
		 * pace fed back on the H100 (small batches slowed the pace,
		 * which shrank the batches: bench/NOTES.md). */
		if (!st->best_ns || pace < st->best_ns)
			st->best_ns = pace;
		atomic_store_explicit(&p->gpu_ns_per_item, st->gpu_ns,
				      memory_order_relaxed);
		adapt(p, st);
	}
	st->last_end = end;
	st->last_items = f->items_to_end;
}

static void pop_flight(struct gpupipe *p)
{
	p->flight_head = (p->flight_head + 1) % p->nslots;
	p->flight_count--;
}

/*
 * Look at the oldest flights. With GPUPIPE_WAIT_SIGNALLED: poll each
 * fence with timeout 0, in order (fences signal in order), and hand a
 * signalled batch to readback, whose glClientWaitSync then returns at
 * once. With GPUPIPE_WAIT_BLOCK the batch went to readback when it was
 * flushed; here only its timestamps are read, once available.
 */
/* After a poll that found the fence pending: look again after an eighth
 * of the time it has been pending (at least 5 us), so a poll never comes
 * more than 1/8 late, and a long kernel costs few polls. */
static uint64_t poll_slice(const struct gp_flight *f, uint64_t now)
{
	uint64_t slice = (now - f->flushed_ns) / 8;

	return slice < 5000 ? 5000 : slice;
}

static void poll_flights(struct gpupipe *p, struct submit *st, bool force)
{
	uint64_t t0 = gp_now_ns();
	bool calls = false;

	while (p->flight_count) {
		unsigned idx = p->flight_head;
		struct gp_flight *f = flight_at(p, 0);

		if (p->wait == GPUPIPE_WAIT_SIGNALLED) {
			GLenum r;

			/* A poll costs about a microsecond: look only once
			 * the fence is due, then in slices. */
			if (!force && t0 < f->expect_ns)
				break;
			r = glClientWaitSync(f->fence, 0, 0);
			calls = true;
			atomic_fetch_add_explicit(&p->fence_polls, 1,
						  memory_order_relaxed);
			if (r == GL_TIMEOUT_EXPIRED) {
				uint64_t limit = (uint64_t)p->fence_timeout_ms *
						 1000000u;
				uint64_t now = gp_now_ns();

				if (now - f->flushed_ns < limit) {
					f->expect_ns = now + poll_slice(f, now);
					break;
				}
				/* Readback fails the batch as TIMEDOUT. */
				gp_slot_of_node(gp_list_first(&f->slots))
					->fence_expired = true;
			} else {
				read_flight_time(p, st, idx, f);
			}
			gp_fault_handoff(f->fence);
			gp_queue_push_list(&p->flight_q, &f->slots);
		} else {
			GLuint avail = GL_TRUE;

			if (st->timestamps && f->sampled && !force) {
				glGetQueryObjectuiv(p->batch_queries[idx],
						    GL_QUERY_RESULT_AVAILABLE,
						    &avail);
				calls = true;
			}
			if (!avail)
				break;
			read_flight_time(p, st, idx, f);
		}
		pop_flight(p);
	}
	/* A failed poll or timestamp read is no item's failure: read its
	 * error here, so it does not land on the next batch (the timing
	 * sample is lost: a failed read leaves end 0). Not when called
	 * from close_batch, whose own dispatches' errors must stay. */
	if ((calls || st->read_query) && !force)
		clear_gl_errors();
	st->read_query = false;
	t0 = gp_now_ns() - t0;
	st->poll_ns += t0;
	atomic_fetch_add_explicit(&p->poll_ns, t0, memory_order_relaxed);
}

/* When to look at the oldest fence again; 0: nothing to wait for. */
static uint64_t next_poll(struct gpupipe *p, struct submit *st)
{
	uint64_t now;

	if (p->wait != GPUPIPE_WAIT_SIGNALLED || !p->flight_count)
		return 0;
	now = gp_now_ns();
	if (flight_at(p, 0)->expect_ns <= now)
		return now + poll_slice(flight_at(p, 0), now);
	return flight_at(p, 0)->expect_ns;
}

/*
 * A batch whose dispatches or fence reported a GL error. Its items fail;
 * the pipeline goes on, unless the context was lost. Without a fence
 * nothing would tell readback when the GPU is done with the batch's
 * slots, so glFinish waits for that here.
 */
static void fail_batch(struct gpupipe *p, struct gp_list *batch, GLsync fence,
		       GLenum err)
{
	struct cds_wfcq_node *n;
	GLenum reset = GL_NO_ERROR;
	char why[GP_MSG_BYTES];
	int status = GPUPIPE_FAILED, error = GPUPIPE_EDRIVER;

	if (p->reset_checks &&
	    (err == GL_CONTEXT_LOST || err == GL_OUT_OF_MEMORY || !fence))
		reset = glGetGraphicsResetStatus();
	if (err == GL_CONTEXT_LOST || reset != GL_NO_ERROR) {
		status = GPUPIPE_DEVICE_LOST;
		error = GPUPIPE_EBROKEN;
		snprintf(why, sizeof(why), "the GPU was reset (device lost) "
			 "while this item's batch was dispatched");
		gp_break(p, GPUPIPE_DEVICE_LOST);
	} else if (!fence) {
		glFinish();
		snprintf(why, sizeof(why), "glFenceSync failed (%s) after "
			 "this item's batch", gl_error_name(err));
	} else {
		snprintf(why, sizeof(why), "a GL call of this item's batch "
			 "failed: %s (0x%04x)", gl_error_name(err), err);
	}
	for (n = gp_list_first(batch); n; n = gp_list_next(batch, n))
		gp_slot_fail(gp_slot_of_node(n), status, error, "%s", why);
}

static void close_batch(struct gpupipe *p, struct submit *st,
			struct gp_list *batch)
{
	struct gp_slot *first = gp_slot_of_node(gp_list_first(batch));
	struct gp_flight *f;
	unsigned idx;
	uint64_t t0 = gp_now_ns(), id;
	/* Until the pace is known, every batch is a sample. */
	bool sample = st->batches++ % SAMPLE_EVERY == 0 || !st->best_ns;
	GLenum err;
	GLsync fence;

	if (p->flight_count == p->nslots)
		poll_flights(p, st, true); /* cannot happen; stay safe */
	idx = (p->flight_head + p->flight_count) % p->nslots;
	st->items += batch->count;
	if (sample && st->timestamps)
		glQueryCounter(p->batch_queries[idx], GL_TIMESTAMP);
	bind_scratch(p);
	/* Barrier before the fence, not after: the fence must cover the
	 * shader's writes to the persistently mapped output, and, when the
	 * application shares our buffers, writes its GL commands read. */
	glMemoryBarrier(p->barrier_bits);
	fence = glFenceSync(GL_SYNC_GPU_COMMANDS_COMPLETE, 0);
	/* Flush now: readback waits on this fence from another context,
	 * and an unflushed fence may never signal there. */
	glFlush();
	/* Every batch: an error of a dispatch must fail that dispatch's
	 * batch, not a later one. (An error of a fence poll or a timestamp
	 * read between batches, which only a lost context or a driver fault
	 * causes, lands on the next batch.) */
	err = glGetError();
	if (err == GL_NO_ERROR)
		err = st->batch_err;
	st->batch_err = GL_NO_ERROR;
	first->fence = fence;
	first->batch_len = batch->count;
	if (!fence || err != GL_NO_ERROR)
		fail_batch(p, batch, fence, err);
	id = atomic_fetch_add_explicit(&p->batches, 1, memory_order_relaxed);
	if (atomic_load_explicit(&p->trace.rec, memory_order_relaxed)) {
		struct cds_wfcq_node *n;
		uint64_t now = gp_now_ns();

		for (n = gp_list_first(batch); n; n = gp_list_next(batch, n)) {
			struct gp_slot *s = gp_slot_of_node(n);
			struct gpupipe_trace_record *rec =
				gp_trace_rec(&p->trace, s->job.seq);

			if (rec) {
				rec->fence_ns = now;
				rec->batch = id;
			}
		}
	}

	atomic_fetch_add_explicit(&p->close_ns, gp_now_ns() - t0,
				  memory_order_relaxed);
	if (!fence) {
		/* fail_batch finished it: nothing to poll or time. */
		gp_queue_push_list(&p->flight_q, batch);
		return;
	}
	f = &p->flights[idx];
	f->count = batch->count;
	f->sampled = sample && st->timestamps;
	f->items_to_end = st->items;
	f->fence = fence;
	f->flushed_ns = gp_now_ns();
	f->expect_ns = (p->flight_count ? flight_at(p, p->flight_count - 1)
						  ->expect_ns : 0);
	if (f->expect_ns < f->flushed_ns)
		f->expect_ns = f->flushed_ns;
	/* The best pace seen: a poll may come early, never late. */
	f->expect_ns += st->best_ns * f->count;
	p->flight_count++;
	if (p->wait == GPUPIPE_WAIT_SIGNALLED) {
		/* Held until its fence has signalled: poll_flights. */
		f->slots = *batch;
		gp_list_init(batch);
	} else {
		gp_fault_handoff(fence);
		gp_queue_push_list(&p->flight_q, batch);
	}
	st->cost_ns = EWMA(st->cost_ns, gp_now_ns() - t0 + st->poll_ns);
	st->poll_ns = 0;
	atomic_store_explicit(&p->batch_cost_ns, st->cost_ns,
			      memory_order_relaxed);
}

/* Dispatch n and what else is ready, up to the batch target, and fence
 * them. A batch closes when it is full or when nothing more is ready: a
 * slow producer never waits for a full batch. */
static void dispatch_batch(struct gpupipe *p, struct submit *st,
			   struct cds_wfcq_node *n)
{
	struct gp_list batch;
	uint64_t t0 = gp_now_ns();

	gp_list_init(&batch);
	do {
		struct gp_slot *s = gp_slot_of_node(n);

		if (!dispatchable(p, s)) {
			pass_through(p, s);
			continue;
		}
		dispatch(p, s, &st->batch_err);
		s->fence = NULL;
		s->batch_len = 0;
		s->dispatched = true;
		s->fence_expired = false;
		gp_slot_set_state(s, GP_SLOT_READY, GP_SLOT_IN_FLIGHT);
		gp_list_append(&batch, &s->node);
	} while (batch.count < st->target &&
		 (n = gp_queue_pop_try(&p->ready_q)));
	if (batch.count)
		close_batch(p, st, &batch);
	atomic_fetch_add_explicit(&p->submit_busy_ns, gp_now_ns() - t0,
				  memory_order_relaxed);
}

static void run(struct gpupipe *p)
{
	struct submit st = { .target = p->max_batch };
	GLint bits = 0;

	glGetQueryiv(GL_TIMESTAMP, GL_QUERY_COUNTER_BITS, &bits);
	st.timestamps = bits > 0;
	/* Adaptive batches start at one item: a heavy kernel must not wait
	 * behind a full batch before the pace is known; a light one grows
	 * its batch as the measured pace improves. */
	if (!(p->flags & GPUPIPE_FIXED_BATCH) && st.timestamps) {
		st.target = 1;
		gp_slots_set_limit(p, p->depth + p->prep_threads +
					      p->post_threads);
	}
	atomic_store(&p->batch_target, st.target);
	for (;;) {
		struct cds_wfcq_node *n;

		/* stop_threads and gpupipe_trace_end set submit_attn after
		 * their own flag, and pop_wait returns NULL for it. */
		if (atomic_exchange(&p->submit_attn, 0)) {
			if (atomic_load(&p->stop))
				break;
			if (atomic_exchange(&p->trace.collect_req, 0))
				collect_trace(p);
		}
		n = gp_queue_pop_try(&p->ready_q);
		if (n)
			dispatch_batch(p, &st, n);
		if (p->flight_count)
			poll_flights(p, &st, false);
		if (n)
			continue;
		/* An idle spell is not GPU time: measure the pace afresh. */
		if (!p->flight_count)
			st.last_end = 0;
		/* Nothing ready: sleep until work comes, or until the oldest
		 * fence is due to be polled again. */
		n = gp_queue_pop_wait(&p->ready_q, &p->submit_attn,
				      next_poll(p, &st));
		if (n)
			dispatch_batch(p, &st, n);
	}
}

void *gp_submit_main(void *arg)
{
	struct gpupipe *p = arg;
	int ret;

	pthread_setname_np(pthread_self(), "gp-submit");
	pthread_getcpuclockid(pthread_self(), &p->submit_cpu_clock);
	ret = gp_egl_make_current(&p->egl, p->egl.submit_ctx);
	if (ret) {
		gp_start_report(p, ret);
		return NULL;
	}
	ret = init_gl(p);
	if (ret) {
		destroy_gl(p);
		gp_egl_release_current(&p->egl);
		gp_start_report(p, ret);
		return NULL;
	}
	gp_start_report(p, 0);

	run(p);

	/* Every item has completed before stop is set: the GPU is idle. */
	destroy_gl(p);
	gp_egl_release_current(&p->egl);
	return NULL;
}
