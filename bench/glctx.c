/* SPDX-License-Identifier: MIT */
/*
 * The bench's own GL context, for the modes that drive GL directly (raw,
 * sync, ring), with buffers laid out and mapped as gpupipe's slots are, so
 * that every mode pays the same memory costs.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <epoxy/egl.h>
#include <epoxy/gl.h>

#include "bench.h"
#include "egl-setup.h"

uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

uint64_t thread_cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

int glctx_open(struct glctx *g, enum gpupipe_display kind, unsigned device,
	       char *err, size_t errlen)
{
	EGLDisplay dpy;

	memset(g, 0, sizeof(*g));
	dpy = bench_egl_display(kind == GPUPIPE_DISPLAY_DEVICE ? (int)device
							       : -1,
				err, errlen);
	if (dpy == EGL_NO_DISPLAY)
		return -1;
	g->display = dpy;
	g->context = bench_egl_context(dpy, EGL_NO_CONTEXT, false);
	if (g->context == EGL_NO_CONTEXT ||
	    !eglMakeCurrent(dpy, EGL_NO_SURFACE, EGL_NO_SURFACE, g->context)) {
		snprintf(err, errlen, "EGL context (OpenGL 4.4 core or "
			 "newer): error 0x%x", eglGetError());
		return -1;
	}
	snprintf(g->renderer, sizeof(g->renderer), "%s",
		 (const char *)glGetString(GL_RENDERER));
	snprintf(g->version, sizeof(g->version), "%s",
		 (const char *)glGetString(GL_VERSION));
	snprintf(g->vendor, sizeof(g->vendor), "%s",
		 (const char *)glGetString(GL_VENDOR));
	g->llvmpipe = strstr(g->renderer, "llvmpipe") != NULL;
	return 0;
}

void glctx_close(struct glctx *g)
{
	if (!g->display)
		return;
	if (g->program)
		glDeleteProgram(g->program);
	eglMakeCurrent(g->display, EGL_NO_SURFACE, EGL_NO_SURFACE,
		       EGL_NO_CONTEXT);
	if (g->context)
		eglDestroyContext(g->display, g->context);
	/* The display stays initialised: gpupipe may still use it. */
	memset(g, 0, sizeof(*g));
}

int glctx_program(struct glctx *g, const char *src, char *err, size_t n)
{
	GLuint sh = glCreateShader(GL_COMPUTE_SHADER), prog;
	GLint ok = 0;

	glShaderSource(sh, 1, &src, NULL);
	glCompileShader(sh);
	glGetShaderiv(sh, GL_COMPILE_STATUS, &ok);
	if (!ok) {
		int len = snprintf(err, n, "compute shader: ");

		glGetShaderInfoLog(sh, (GLsizei)(n - (size_t)len), NULL,
				   err + len);
		glDeleteShader(sh);
		return -1;
	}
	prog = glCreateProgram();
	glAttachShader(prog, sh);
	glLinkProgram(prog);
	glDeleteShader(sh);
	glGetProgramiv(prog, GL_LINK_STATUS, &ok);
	if (!ok) {
		snprintf(err, n, "compute shader failed to link");
		glDeleteProgram(prog);
		return -1;
	}
	g->program = prog;
	glUseProgram(prog);
	return 0;
}

static size_t round_up(size_t v, size_t a)
{
	return (v + a - 1) / a * a;
}

static int make_buffer(size_t bytes, const void *data, GLbitfield storage,
		       GLbitfield map, unsigned *buf, uint8_t **ptr)
{
	glGenBuffers(1, buf);
	glBindBuffer(GL_SHADER_STORAGE_BUFFER, *buf);
	glBufferStorage(GL_SHADER_STORAGE_BUFFER, (GLsizeiptr)bytes, data,
			storage);
	if (glGetError() != GL_NO_ERROR)
		return -1;
	if (!map)
		return 0;
	*ptr = glMapBufferRange(GL_SHADER_STORAGE_BUFFER, 0, (GLsizeiptr)bytes,
				map);
	return *ptr ? 0 : -1;
}

int regions_create(struct regions *r, const struct workload *w, unsigned n,
		   char *err, size_t errlen)
{
	/* The same flags gpupipe uses (see gpupipe_info.map_flags_*). */
	const GLbitfield in_flags = GL_MAP_WRITE_BIT | GL_MAP_PERSISTENT_BIT |
				    GL_MAP_COHERENT_BIT;
	const GLbitfield out_map = GL_MAP_READ_BIT | GL_MAP_PERSISTENT_BIT |
				   GL_MAP_COHERENT_BIT;
	GLint align = 16;
	static const uint8_t zero16[16];

	memset(r, 0, sizeof(*r));
	glGetIntegerv(GL_SHADER_STORAGE_BUFFER_OFFSET_ALIGNMENT, &align);
	r->n = n;
	r->in_bytes = w->in_bytes;
	r->out_bytes = w->out_bytes;
	r->weights_bytes = w->weights_bytes ? w->weights_bytes : 16;
	r->in_stride = round_up(w->in_bytes, (size_t)align);
	r->out_stride = round_up(w->out_bytes, (size_t)align);
	r->params_stride = round_up(GPUPIPE_PARAM_WORDS * 4, (size_t)align);
	while (glGetError() != GL_NO_ERROR)
		;
	if (make_buffer(r->in_stride * n, NULL, in_flags, in_flags,
			&r->in_buf, &r->in_map) ||
	    make_buffer(r->out_stride * n, NULL,
			out_map | GL_CLIENT_STORAGE_BIT, out_map, &r->out_buf,
			&r->out_map) ||
	    make_buffer(r->params_stride * n, NULL, in_flags, in_flags,
			&r->params_buf, &r->params_map) ||
	    make_buffer(r->weights_bytes, w->weights ? w->weights : zero16, 0,
			0, &r->weights_buf, NULL)) {
		snprintf(err, errlen, "cannot create %u buffer regions of "
			 "%zu + %zu bytes", n, w->in_bytes, w->out_bytes);
		regions_destroy(r);
		return -1;
	}
	return 0;
}

void regions_destroy(struct regions *r)
{
	const GLuint bufs[] = { r->in_buf, r->out_buf, r->params_buf,
				r->weights_buf };

	/* Deleting a mapped buffer unmaps it. */
	glDeleteBuffers(4, bufs);
	memset(r, 0, sizeof(*r));
}

void regions_bind(const struct regions *r, unsigned i)
{
	const GLuint bufs[4] = { r->in_buf, r->weights_buf, r->out_buf,
				 r->params_buf };
	const GLintptr offs[4] = { (GLintptr)(i * r->in_stride), 0,
				   (GLintptr)(i * r->out_stride),
				   (GLintptr)(i * r->params_stride) };
	const GLsizeiptr sizes[4] = { (GLsizeiptr)r->in_bytes,
				      (GLsizeiptr)r->weights_bytes,
				      (GLsizeiptr)r->out_bytes,
				      GPUPIPE_PARAM_WORDS * 4 };

	glBindBuffersRange(GL_SHADER_STORAGE_BUFFER, 0, 4, bufs, offs, sizes);
}

int qpool_init(struct qpool *qp, unsigned pairs)
{
	memset(qp, 0, sizeof(*qp));
	qp->q = calloc(2 * (size_t)pairs, sizeof(*qp->q));
	if (!qp->q)
		return -1;
	qp->cap = pairs;
	glGenQueries((GLsizei)(2 * pairs), qp->q);
	return 0;
}

void qpool_fini(struct qpool *qp)
{
	if (qp->q)
		glDeleteQueries((GLsizei)(2 * qp->cap), qp->q);
	free(qp->q);
	memset(qp, 0, sizeof(*qp));
}

void qpool_before(struct qpool *qp)
{
	if (qp->used < qp->cap)
		glQueryCounter(qp->q[2 * qp->used], GL_TIMESTAMP);
}

void qpool_after(struct qpool *qp)
{
	if (qp->used < qp->cap)
		glQueryCounter(qp->q[2 * qp->used++ + 1], GL_TIMESTAMP);
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

uint64_t busy_union_ns(uint64_t *pairs, size_t n)
{
	uint64_t busy = 0, cur_s = 0, cur_e = 0;
	size_t i;

	/* Sort by start (pairs are start, end), then merge overlaps. */
	qsort(pairs, n, 2 * sizeof(uint64_t), cmp_u64);
	for (i = 0; i < n; i++) {
		uint64_t s = pairs[2 * i], e = pairs[2 * i + 1];

		if (e < s)
			e = s;
		if (i == 0 || s > cur_e) {
			busy += cur_e - cur_s;
			cur_s = s;
			cur_e = e;
		} else if (e > cur_e) {
			cur_e = e;
		}
	}
	return busy + (cur_e - cur_s);
}

uint64_t qpool_busy_ns(struct qpool *qp)
{
	uint64_t *pairs = malloc(2 * (size_t)qp->used * sizeof(uint64_t));
	uint64_t busy;
	unsigned i;

	if (!pairs)
		return 0;
	/* Called after glFinish: every result is available, no stall. */
	for (i = 0; i < qp->used; i++) {
		GLuint64 s = 0, e = 0;

		glGetQueryObjectui64v(qp->q[2 * i], GL_QUERY_RESULT, &s);
		glGetQueryObjectui64v(qp->q[2 * i + 1], GL_QUERY_RESULT, &e);
		pairs[2 * i] = s;
		pairs[2 * i + 1] = e;
	}
	busy = busy_union_ns(pairs, qp->used);
	free(pairs);
	qp->used = 0;
	return busy;
}
