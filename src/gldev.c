/* SPDX-License-Identifier: MIT */
/*
 * One device's GL objects, made and used on its submit thread, current in
 * the device's submit context: the persistently mapped buffers and the
 * bindings into them, the program, the timer queries and the GPU clock's
 * offset, the driver's limits, and its reset notification.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "gl.h"

#include "gldev.h"

#define PARAM_BYTES (GPUPIPE_PARAM_WORDS * sizeof(uint32_t))

static size_t round_up(size_t v, size_t align)
{
	return (v + align - 1) / align * align;
}

const char *gp_gl_error_name(unsigned e)
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
void gp_gl_clear_errors(void)
{
	unsigned i;

	for (i = 0; i < 8 && glGetError() != GL_NO_ERROR; i++)
		;
}

static int check_gl(struct gp_dev *d)
{
	struct gpupipe *p = d->p;
	GLint v = 0, block = 0;
	const char *what;
	size_t lim;
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
		d->max_groups[i] = (uint32_t)v;
	}
	glGetIntegerv(GL_MAX_SHADER_STORAGE_BLOCK_SIZE, &block);
	err = glGetError();
	if (err != GL_NO_ERROR)
		return gp_error(GPUPIPE_EDRIVER, "reading the driver's compute "
				"limits: %s (0x%04x)", gp_gl_error_name(err),
				err);
	for (i = 0; i < 3; i++)
		if (p->groups[i] > d->max_groups[i])
			return gp_error(GPUPIPE_EINVAL, "groups[%u] = %u "
					"exceeds "
					"GL_MAX_COMPUTE_WORK_GROUP_COUNT (%u) "
					"of this driver", i, p->groups[i],
					d->max_groups[i]);
	lim = (GLuint)block;
	what = p->in_bytes > lim ? "in_bytes" :
	       p->out_bytes > lim ? "out_bytes" :
	       p->weights_bytes > lim ? "weights_bytes" : NULL;
	if (what)
		return gp_error(GPUPIPE_EINVAL, "%s %zu exceeds "
				"GL_MAX_SHADER_STORAGE_BLOCK_SIZE (%u) of "
				"this driver", what,
				p->in_bytes > lim ? p->in_bytes :
				p->out_bytes > lim ? p->out_bytes :
				p->weights_bytes, (GLuint)block);
	return 0;
}

/*
 * Reset notification: the contexts asked for GL_LOSE_CONTEXT_ON_RESET
 * (egl.c); confirm the strategy. Then submit and readback ask
 * glGetGraphicsResetStatus after errors and after each fence. A
 * fault-injection build always asks, so a test can simulate a reset on
 * any driver.
 */
static void check_reset_notification(struct gp_dev *d)
{
	GLint strategy = 0;

	if (d->egl.reset_notification &&
	    (epoxy_gl_version() >= 45 ||
	     epoxy_has_gl_extension("GL_KHR_robustness"))) {
		glGetIntegerv(GL_RESET_NOTIFICATION_STRATEGY, &strategy);
		gp_gl_clear_errors();
	}
	d->gl.reset_notification = strategy == GL_LOSE_CONTEXT_ON_RESET;
	d->reset_checks = d->gl.reset_notification;
#ifdef GPUPIPE_FAULT_INJECTION
	d->reset_checks = true;
#endif
}

/* Create one immutable buffer and, with map_flags, map all of it for the
 * life of the pipeline. */
static int make_buffer(const char *what, size_t bytes, const void *data,
		       GLbitfield storage_flags, GLbitfield map_flags,
		       GLuint *buf, void **map)
{
	GLenum err;

	gp_gl_clear_errors();
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

static int create_buffers(struct gp_dev *d)
{
	struct gpupipe *p = d->p;
	const GLbitfield in_flags = GL_MAP_WRITE_BIT | GL_MAP_PERSISTENT_BIT |
				    GL_MAP_COHERENT_BIT;
	/* The CPU reads outputs: ask for host-cached memory, since reading
	 * write-combined memory is tens of times slower. */
	const GLbitfield out_map = GL_MAP_READ_BIT | GL_MAP_PERSISTENT_BIT |
				   GL_MAP_COHERENT_BIT;
	const GLbitfield out_storage = out_map | GL_CLIENT_STORAGE_BIT;
	/* One slot more than the pipeline's: the scratch slot (see
	 * gp_gldev_bind_scratch). */
	const size_t nbuf = (size_t)d->nslots + 1;
	GLint align = 0;
	GLenum err;
	unsigned i;
	int ret;

	glGetIntegerv(GL_SHADER_STORAGE_BUFFER_OFFSET_ALIGNMENT, &align);
	err = glGetError();
	if (err != GL_NO_ERROR)
		return gp_error(GPUPIPE_EDRIVER, "reading "
				"GL_SHADER_STORAGE_BUFFER_OFFSET_ALIGNMENT: %s "
				"(0x%04x)", gp_gl_error_name(err), err);
	if (align < 4)
		align = 4;
	d->in_stride = round_up(p->in_bytes, (size_t)align);
	d->out_stride = round_up(p->out_bytes, (size_t)align);
	d->params_stride = round_up(PARAM_BYTES, (size_t)align);

	ret = make_buffer("input", d->in_stride * nbuf, NULL, in_flags,
			  in_flags, &d->buf_in, &d->map_in_base);
	if (!ret)
		ret = make_buffer("output", d->out_stride * nbuf, NULL,
				  out_storage, out_map, &d->buf_out,
				  &d->map_out_base);
	if (!ret)
		ret = make_buffer("parameter", d->params_stride * nbuf,
				  NULL, in_flags, in_flags, &d->buf_params,
				  &d->map_params_base);
	/* Binding 1 always has a buffer, so each dispatch binds all four
	 * ranges in one glBindBuffersRange call. */
	if (!ret)
		ret = make_buffer("weights",
				  p->weights_bytes ? p->weights_bytes : 16,
				  p->weights, 0, 0, &d->buf_weights, NULL);
	if (ret)
		return ret;

	memset((char *)d->map_in_base + d->nslots * d->in_stride, 0,
	       d->in_stride);
	memset((char *)d->map_params_base + d->nslots * d->params_stride, 0,
	       d->params_stride);
	for (i = 0; i < d->nslots; i++) {
		struct gp_slot *s = &p->slots[d->first + i];

		s->map_in = (char *)d->map_in_base + i * d->in_stride;
		s->map_out = (char *)d->map_out_base + i * d->out_stride;
		s->map_params = (uint32_t *)((char *)d->map_params_base +
					     i * d->params_stride);
	}
	d->gl.mapped_bytes = (d->in_stride + d->out_stride +
				d->params_stride) * nbuf;
	d->gl.map_flags_in = in_flags;
	d->gl.map_flags_out = out_map;
	d->gl.storage_flags_out = out_storage;
	return 0;
}

void gp_gldev_fini(struct gp_dev *d)
{
	const GLuint bufs[] = { d->buf_in, d->buf_out, d->buf_params,
				d->buf_weights };
	const void *maps[] = { d->map_in_base, d->map_out_base,
			       d->map_params_base, NULL };
	unsigned i;

	for (i = 0; i < 4; i++) {
		if (!bufs[i] || !maps[i])
			continue;
		glBindBuffer(GL_SHADER_STORAGE_BUFFER, bufs[i]);
		glUnmapBuffer(GL_SHADER_STORAGE_BUFFER);
	}
	glBindBuffer(GL_SHADER_STORAGE_BUFFER, 0);
	glDeleteBuffers(4, bufs);
	if (d->queries[0])
		glDeleteQueries((GLsizei)(2 * d->nslots), d->queries);
	if (d->batch_queries[0])
		glDeleteQueries((GLsizei)d->nslots, d->batch_queries);
	memset(d->queries, 0, 2 * d->nslots * sizeof(*d->queries));
	memset(d->batch_queries, 0, d->nslots * sizeof(*d->queries));
	if (d->program)
		glDeleteProgram(d->program);
	d->buf_in = d->buf_out = d->buf_params = d->buf_weights = 0;
	d->map_in_base = d->map_out_base = d->map_params_base = NULL;
	d->program = 0;
}

/*
 * GL_TIMESTAMP counts on the GPU's clock. Map it onto CLOCK_MONOTONIC: of
 * a few reads, keep the one the CPU clock brackets most tightly.
 */
static void measure_clock_offset(struct gp_dev *d)
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
			d->gl_to_mono_ns = (int64_t)(t0 + (t1 - t0) / 2) -
					   (int64_t)gl;
		}
	}
}

/* Whether the GPU has written query q. Once the device broke (a fence
 * timed out) the dispatch around it may never run, and a read of its
 * result would wait for ever: look first. Otherwise its fence has
 * signalled and the result is there. */
static bool query_written(struct gp_dev *d, GLuint q)
{
	GLuint avail = GL_FALSE; /* a failed read leaves it unwritten */

	if (!atomic_load(&d->broken))
		return true;
	glGetQueryObjectuiv(q, GL_QUERY_RESULT_AVAILABLE, &avail);
	return avail == GL_TRUE;
}

/* Read the GL_TIMESTAMP pair of slot s's last traced dispatch; left 0
 * where the GPU never ran it. */
void gp_gldev_read_slot_queries(struct gp_dev *d, struct gp_slot *s)
{
	struct gpupipe *p = d->p;
	struct gpupipe_trace_record *rec;
	GLuint64 start = 0, end = 0;

	s->query_pending = false;
	rec = gp_trace_rec(&p->trace, s->query_seq);
	if (!rec || !query_written(d, d->queries[2 * s->dev_index + 1]))
		return;
	glGetQueryObjectui64v(d->queries[2 * s->dev_index], GL_QUERY_RESULT,
			      &start);
	glGetQueryObjectui64v(d->queries[2 * s->dev_index + 1], GL_QUERY_RESULT,
			      &end);
	/* On CLOCK_MONOTONIC, by this device's clock offset. */
	rec->gpu_start_ns = start ? start + (uint64_t)d->gl_to_mono_ns : 0;
	rec->gpu_end_ns = end ? end + (uint64_t)d->gl_to_mono_ns : 0;
}

/* Answer gpupipe_trace_end: every traced item has completed. */
void gp_gldev_collect_trace(struct gp_dev *d)
{
	struct gpupipe *p = d->p;
	unsigned i;

	measure_clock_offset(d);
	for (i = d->first; i < d->first + d->nslots; i++)
		if (p->slots[i].query_pending)
			gp_gldev_read_slot_queries(d, &p->slots[i]);
	/* Between batches: a failed read costs only its timestamps. */
	gp_gl_clear_errors();
	gp_trace_collected(&p->trace, d);
}

static void copy_gl_string(char *dst, size_t n, GLenum name)
{
	const char *s = (const char *)glGetString(name);

	snprintf(dst, n, "%s", s ? s : "");
}

int gp_gldev_init(struct gp_dev *d)
{
	struct gpupipe *p = d->p;
	GLenum err;
	int ret;

	ret = check_gl(d);
	if (!ret)
		ret = gp_shader_build(p->shader_source, p->out_bytes,
				      &d->program);
	if (!ret)
		ret = create_buffers(d);
	if (ret)
		return ret;
	copy_gl_string(d->gl.renderer, sizeof(d->gl.renderer),
		       GL_RENDERER);
	copy_gl_string(d->gl.version, sizeof(d->gl.version), GL_VERSION);
	copy_gl_string(d->gl.vendor, sizeof(d->gl.vendor), GL_VENDOR);
	glGenQueries((GLsizei)(2 * d->nslots), d->queries);
	glGenQueries((GLsizei)d->nslots, d->batch_queries);
	d->barrier_bits = GL_CLIENT_MAPPED_BUFFER_BARRIER_BIT;
	if (d->egl.shared_with_app)
		d->barrier_bits |= GL_BUFFER_UPDATE_BARRIER_BIT |
				   GL_SHADER_STORAGE_BARRIER_BIT |
				   GL_UNIFORM_BARRIER_BIT |
				   GL_TEXTURE_FETCH_BARRIER_BIT;
	measure_clock_offset(d);
	glUseProgram(d->program);
	gp_gldev_bind_scratch(d);
	check_reset_notification(d);
	/* A query or the program that failed to set up would fail every
	 * batch later: fail create now. */
	err = glGetError();
	if (err != GL_NO_ERROR)
		return gp_error(err == GL_OUT_OF_MEMORY ? GPUPIPE_ENOMEM
							: GPUPIPE_EDRIVER,
				"setting up queries and the program: %s "
				"(0x%04x)", gp_gl_error_name(err), err);
	return 0;
}

/* Bind slot index's ranges of the four buffers to bindings 0-3. */
void gp_gldev_bind_slot(struct gp_dev *d, size_t index)
{
	struct gpupipe *p = d->p;
	const GLuint bufs[4] = { d->buf_in, d->buf_weights, d->buf_out,
				 d->buf_params };
	const GLintptr offs[4] = {
		(GLintptr)(index * d->in_stride), 0,
		(GLintptr)(index * d->out_stride),
		(GLintptr)(index * d->params_stride),
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
void gp_gldev_bind_scratch(struct gp_dev *d)
{
	gp_gldev_bind_slot(d, d->nslots);
}

/*
 * SIGNALLED: a fence was seen signalled. A lost context reports every
 * fence signalled, so rule out a reset before readback trusts the
 * outputs; asked here, in submit's own context, since a GL call in the
 * readback context slows the next dispatches (doc/performance.md, 'The
 * fence hand-off and the wait strategies'). A reset is reported once:
 * `lost` remembers it for every later batch.
 */
void gp_gldev_check_reset(struct gp_dev *d)
{
	if (!d->reset_checks || atomic_load_explicit(&d->lost,
						     memory_order_relaxed))
		return;
	if (glGetGraphicsResetStatus() != GL_NO_ERROR) {
		atomic_store(&d->lost, true);
		gp_break(d, GPUPIPE_DEVICE_LOST);
	}
}
