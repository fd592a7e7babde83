/* SPDX-License-Identifier: MIT */
/*
 * probe-dispatch: what one dispatch of a tiny kernel costs the thread that
 * makes it, in the GL setups gpupipe's submit thread can be in, without
 * the library around it (doc/performance.md, "The fence hand-off and the
 * wait strategies"). The library's submit thread
 * spends about 2.2 us per item where the bench's raw loop spends 1.5 us
 * on the same two GL calls; this tells whether the context's setup
 * (robust, shared with a second context, that context busy on another
 * thread) or the library's own work makes the difference.
 *
 * Each setup (the table below) runs two loops over the same 16 KiB
 * items (64 groups of 64 invocations, as the bench's tiny): "raw",
 * glBindBuffersRange and glDispatchCompute per item and a barrier when
 * the slots wrap (the bench's raw mode), and "batched", closing every
 * --batch items (16) with a client-mapped barrier, a fence and a flush,
 * as gpupipe does, the fence waited on by the second context's thread
 * where there is one (else polled and deleted here). Prints wall and
 * CPU microseconds per item, medians of the repetitions.
 *
 * With --parallel N it runs the plain setup on EGL devices 0..N-1, each
 * alone and then all at once from one thread each. With --locked the
 * threads take turns under one process-wide lock, a dispatching thread
 * holding it over each batch, a second thread over its calls on a fence;
 * with --one-device every thread uses device 0 (a context each).
 *
 *   probe-dispatch [--device N] [--items N] [--reps N] [--batch N]
 *                  [--locked] [--parallel N [--one-device]]
 */
#include "config.h"

#include <getopt.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <epoxy/gl.h>

#include "egl-setup.h"
#include "probe-util.h"

#define SLOTS 192
#define ELEMS 4096
#define MAX_REPS 15

static unsigned batch_items = 16; /* --batch */

/* --locked: the threads take turns, in order, under one process-wide
 * ticket lock: a dispatching thread for a batch, a second thread for its
 * GL calls on each fence. */
static bool locked;
static pthread_mutex_t gl_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t gl_turn = PTHREAD_COND_INITIALIZER;
static unsigned long next_ticket, now_serving; /* FIFO: strict turns */

static void lock_turn(void)
{
	unsigned long t;

	pthread_mutex_lock(&gl_lock);
	t = next_ticket++;
	while (now_serving != t)
		pthread_cond_wait(&gl_turn, &gl_lock);
	pthread_mutex_unlock(&gl_lock);
}

/* --parallel with --one-device: every thread on EGL device 0. */
static bool one_device;

static void unlock_turn(void)
{
	pthread_mutex_lock(&gl_lock);
	now_serving++;
	pthread_cond_broadcast(&gl_turn);
	pthread_mutex_unlock(&gl_lock);
}

static const char shader_src[] =
	"#version 430\n"
	"layout(local_size_x = 64) in;\n"
	"layout(std430, binding = 0) readonly buffer In { uint in_[]; };\n"
	"layout(std430, binding = 1) readonly buffer W { uint w_[]; };\n"
	"layout(std430, binding = 2) writeonly buffer Out { uint out_[]; };\n"
	"layout(std430, binding = 3) readonly buffer P { uint p_[]; };\n"
	"void main() {\n"
	"  uint i = gl_GlobalInvocationID.x;\n"
	"  out_[i] = in_[i] * 3u + p_[0];\n"
	"}\n";

/* A GL setup of the dispatching thread and, where there is one, of a
 * second thread current in a context that shares its objects. */
struct setup {
	const char *name;
	bool robust;    /* both contexts ask for reset notification */
	bool second;    /* a shared context, current on a second thread */
	bool fences;    /* that thread takes each batch's fence ... */
	bool signalled; /* ... once the dispatcher saw it signalled */
	bool wait;      /* it calls glClientWaitSync on the fence */
	bool reset;     /* and glGetGraphicsResetStatus after it */
	bool no_gl;     /* it makes no GL call: the dispatcher deletes */
};

static const struct setup setups[] = {
	{ .name = "plain" },
	{ .name = "robust", .robust = true },
	{ .name = "shared, idle", .second = true },
	{ .name = "shared, blocks on pending fences", .second = true,
	  .fences = true, .wait = true },
	{ .name = "shared, handed signalled fences, no GL call",
	  .second = true, .fences = true, .signalled = true, .no_gl = true },
	{ .name = "shared, deletes signalled fences", .second = true,
	  .fences = true, .signalled = true },
	{ .name = "shared, waits on signalled fences", .second = true,
	  .fences = true, .signalled = true, .wait = true },
	{ .name = "robust, shared, signalled, reset check (gpupipe's)",
	  .robust = true, .second = true, .fences = true, .signalled = true,
	  .wait = true, .reset = true },
	{ .name = "robust, shared, blocks, reset check (gpupipe block)",
	  .robust = true, .second = true, .fences = true, .wait = true,
	  .reset = true },
};

#define SETUPS (sizeof(setups) / sizeof(setups[0]))

/* The fences handed to the waiting thread: a small ring under a lock. */
struct waiter {
	EGLDisplay dpy;
	EGLContext ctx;
	const struct setup *s;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	GLsync ring[64];
	unsigned head, count;
	bool stop;
};

static uint64_t ns_of(clockid_t clk)
{
	struct timespec ts;

	clock_gettime(clk, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void *waiter_main(void *arg)
{
	struct waiter *w = arg;

	if (!eglMakeCurrent(w->dpy, EGL_NO_SURFACE, EGL_NO_SURFACE, w->ctx)) {
		fprintf(stderr, "probe: eglMakeCurrent (waiter) failed\n");
		return NULL;
	}
	pthread_mutex_lock(&w->lock);
	for (;;) {
		GLsync f;

		while (!w->count && !w->stop)
			pthread_cond_wait(&w->cond, &w->lock);
		if (!w->count)
			break;
		f = w->ring[w->head];
		w->head = (w->head + 1) % 64;
		w->count--;
		pthread_cond_broadcast(&w->cond);
		pthread_mutex_unlock(&w->lock);
		if (!w->s->no_gl) {
			if (locked)
				lock_turn();
			if (w->s->wait)
				glClientWaitSync(f, 0, 1000000000u);
			if (w->s->reset)
				glGetGraphicsResetStatus();
			glDeleteSync(f);
			if (locked)
				unlock_turn();
		}
		pthread_mutex_lock(&w->lock);
	}
	pthread_mutex_unlock(&w->lock);
	eglMakeCurrent(w->dpy, EGL_NO_SURFACE, EGL_NO_SURFACE,
		       EGL_NO_CONTEXT);
	return NULL;
}

static void hand_fence(struct waiter *w, GLsync f)
{
	pthread_mutex_lock(&w->lock);
	while (w->count == 64)
		pthread_cond_wait(&w->cond, &w->lock);
	w->ring[(w->head + w->count) % 64] = f;
	w->count++;
	pthread_cond_broadcast(&w->cond);
	pthread_mutex_unlock(&w->lock);
}

struct gl_objects {
	GLuint prog, buf[4];
	uint32_t *in, *out;
};

static int make_objects(struct gl_objects *o)
{
	const GLbitfield wr = GL_MAP_WRITE_BIT | GL_MAP_PERSISTENT_BIT |
			      GL_MAP_COHERENT_BIT;
	const GLbitfield rd = GL_MAP_READ_BIT | GL_MAP_PERSISTENT_BIT |
			      GL_MAP_COHERENT_BIT;
	const char *src = shader_src;
	GLuint sh = glCreateShader(GL_COMPUTE_SHADER);
	GLint ok = 0;
	unsigned i;

	glShaderSource(sh, 1, &src, NULL);
	glCompileShader(sh);
	o->prog = glCreateProgram();
	glAttachShader(o->prog, sh);
	glLinkProgram(o->prog);
	glDeleteShader(sh);
	glGetProgramiv(o->prog, GL_LINK_STATUS, &ok);
	if (!ok)
		return -1;
	glGenBuffers(4, o->buf);
	glBindBuffer(GL_SHADER_STORAGE_BUFFER, o->buf[0]);
	glBufferStorage(GL_SHADER_STORAGE_BUFFER, SLOTS * ELEMS * 4, NULL, wr);
	o->in = glMapBufferRange(GL_SHADER_STORAGE_BUFFER, 0,
				 SLOTS * ELEMS * 4, wr);
	glBindBuffer(GL_SHADER_STORAGE_BUFFER, o->buf[1]);
	glBufferStorage(GL_SHADER_STORAGE_BUFFER, 256, NULL, 0);
	glBindBuffer(GL_SHADER_STORAGE_BUFFER, o->buf[2]);
	glBufferStorage(GL_SHADER_STORAGE_BUFFER, SLOTS * ELEMS * 4, NULL,
			rd | GL_CLIENT_STORAGE_BIT);
	o->out = glMapBufferRange(GL_SHADER_STORAGE_BUFFER, 0,
				  SLOTS * ELEMS * 4, rd);
	glBindBuffer(GL_SHADER_STORAGE_BUFFER, o->buf[3]);
	glBufferStorage(GL_SHADER_STORAGE_BUFFER, SLOTS * 256, NULL,
			GL_DYNAMIC_STORAGE_BIT);
	if (!o->in || !o->out)
		return -1;
	for (i = 0; i < SLOTS * ELEMS; i++)
		o->in[i] = i;
	glUseProgram(o->prog);
	return glGetError() == GL_NO_ERROR ? 0 : -1;
}

static void free_objects(struct gl_objects *o)
{
	unsigned i;

	for (i = 0; i < 4; i++) {
		glBindBuffer(GL_SHADER_STORAGE_BUFFER, o->buf[i]);
		glUnmapBuffer(GL_SHADER_STORAGE_BUFFER);
	}
	glDeleteBuffers(4, o->buf);
	glDeleteProgram(o->prog);
}

static void bind_slot(const struct gl_objects *o, unsigned k)
{
	const GLintptr offs[4] = { (GLintptr)k * ELEMS * 4, 0,
				   (GLintptr)k * ELEMS * 4, (GLintptr)k * 256 };
	const GLsizeiptr sizes[4] = { ELEMS * 4, 256, ELEMS * 4, 16 };

	glBindBuffersRange(GL_SHADER_STORAGE_BUFFER, 0, 4, o->buf, offs,
			   sizes);
}

/* One loop of n items; returns wall and CPU ns. batch: close every batch_items
 * items as gpupipe does; w: hand the fences to the waiting thread. */
static void run_loop(const struct gl_objects *o, unsigned long n, bool batch,
		     struct waiter *w, uint64_t *wall, uint64_t *cpu)
{
	GLsync pending[SLOTS];
	unsigned np = 0, i;
	uint64_t t0, c0;
	unsigned long k;

	glFinish();
	t0 = ns_of(CLOCK_MONOTONIC);
	c0 = ns_of(CLOCK_THREAD_CPUTIME_ID);
	for (k = 0; k < n; k++) {
		unsigned slot = (unsigned)(k % SLOTS);

		if (locked && k % batch_items == 0)
			lock_turn();
		if (!batch && k && slot == 0)
			glMemoryBarrier(GL_SHADER_STORAGE_BARRIER_BIT);
		bind_slot(o, slot);
		glDispatchCompute(ELEMS / 64, 1, 1);
		if (locked && ((k + 1) % batch_items == 0 || k + 1 == n) &&
		    !batch)
			unlock_turn();
		if (batch && (k + 1) % batch_items == 0) {
			GLsync f;

			glMemoryBarrier(GL_CLIENT_MAPPED_BUFFER_BARRIER_BIT);
			f = glFenceSync(GL_SYNC_GPU_COMMANDS_COMPLETE, 0);
			glFlush();
			if (w && !w->s->signalled) {
				hand_fence(w, f);
				if (locked)
					unlock_turn();
				continue;
			}
			/* Poll the oldest, as gpupipe's submit thread does,
			 * keeping at most the slots' worth in flight; a
			 * signalled one goes to the second thread, if any. */
			pending[np++] = f;
			while (np && (np == SLOTS / batch_items ||
				      glClientWaitSync(pending[0], 0, 0) !=
					      GL_TIMEOUT_EXPIRED)) {
				if (np == SLOTS / batch_items)
					glClientWaitSync(pending[0], 0,
							 1000000000u);
				if (w)
					hand_fence(w, pending[0]);
				if (!w || w->s->no_gl)
					glDeleteSync(pending[0]);
				memmove(pending, pending + 1,
					--np * sizeof(pending[0]));
			}
		}
		if (locked && batch &&
		    ((k + 1) % batch_items == 0 || k + 1 == n))
			unlock_turn();
	}
	glMemoryBarrier(GL_CLIENT_MAPPED_BUFFER_BARRIER_BIT);
	glFinish();
	*wall = ns_of(CLOCK_MONOTONIC) - t0;
	*cpu = ns_of(CLOCK_THREAD_CPUTIME_ID) - c0;
	for (i = 0; i < np; i++) {
		if (w)
			hand_fence(w, pending[i]);
		if (!w || w->s->no_gl)
			glDeleteSync(pending[i]);
	}
	if (w) {
		pthread_mutex_lock(&w->lock);
		while (w->count)
			pthread_cond_wait(&w->cond, &w->lock);
		pthread_mutex_unlock(&w->lock);
	}
}

static int run_setup(EGLDisplay dpy, const struct setup *s,
		     unsigned long items, unsigned reps)
{
	bool robust = s->robust, second = s->second;

	/* Taking turns with a thread that blocks in GL would stall both. */
	if (locked && s->fences && !s->signalled) {
		printf("%-52s (not with --locked: it blocks in GL)\n",
		       s->name);
		return 0;
	}
	struct waiter w = { .dpy = dpy, .s = s };
	struct waiter *wp = s->fences ? &w : NULL;
	struct gl_objects o;
	EGLContext ctx = bench_egl_context(dpy, EGL_NO_CONTEXT, robust);
	pthread_t th;
	unsigned loop, r;
	bool ok = true;

	if (ctx == EGL_NO_CONTEXT ||
	    !eglMakeCurrent(dpy, EGL_NO_SURFACE, EGL_NO_SURFACE, ctx) ||
	    make_objects(&o)) {
		fprintf(stderr, "probe: %s: context or objects failed "
			"(EGL 0x%x)\n", s->name, eglGetError());
		return 1;
	}
	if (second) {
		w.ctx = bench_egl_context(dpy, ctx, robust);
		pthread_mutex_init(&w.lock, NULL);
		pthread_cond_init(&w.cond, NULL);
		if (w.ctx == EGL_NO_CONTEXT ||
		    pthread_create(&th, NULL, waiter_main, &w)) {
			fprintf(stderr, "probe: %s: second context failed\n",
				s->name);
			return 1;
		}
	}
	for (loop = 0; loop < 2; loop++) {
		uint64_t wall[MAX_REPS], cpu[MAX_REPS];

		run_loop(&o, items, loop, wp, &wall[0],
			 &cpu[0]); /* warm-up */
		for (r = 0; r < reps; r++)
			run_loop(&o, items, loop, wp,
				 &wall[r], &cpu[r]);
		qsort(wall, reps, sizeof(wall[0]), probe_cmp_u64);
		qsort(cpu, reps, sizeof(cpu[0]), probe_cmp_u64);
		printf("%-52s %-8s wall %6.3f us/item (min %6.3f)  "
		       "cpu %6.3f us/item\n", s->name,
		       loop ? "batched" : "raw",
		       wall[reps / 2] / 1e3 / items, wall[0] / 1e3 / items,
		       cpu[reps / 2] / 1e3 / items);
	}
	/* Every output must hold in * 3 (params are zero): the dispatches
	 * really ran. */
	if (o.out[5 * ELEMS + 7] != (5u * ELEMS + 7) * 3u)
		ok = false;
	if (second) {
		pthread_mutex_lock(&w.lock);
		w.stop = true;
		pthread_cond_broadcast(&w.cond);
		pthread_mutex_unlock(&w.lock);
		pthread_join(th, NULL);
		eglDestroyContext(dpy, w.ctx);
	}
	free_objects(&o);
	eglMakeCurrent(dpy, EGL_NO_SURFACE, EGL_NO_SURFACE, EGL_NO_CONTEXT);
	eglDestroyContext(dpy, ctx);
	if (!ok)
		fprintf(stderr, "probe: %s: wrong output\n", s->name);
	return ok ? 0 : 1;
}

/* --parallel: the plain setup on one device per thread. */
struct par {
	EGLDisplay dpy;
	unsigned long items;
	unsigned reps;
	pthread_barrier_t *start; /* NULL: alone */
	double us[2];             /* median wall us per item: raw, batched */
	int rc;
};

static void *par_main(void *arg)
{
	struct par *a = arg;
	struct gl_objects o;
	unsigned loop, r;
	EGLContext ctx;

	eglBindAPI(EGL_OPENGL_API); /* the bound API is per thread */
	ctx = bench_egl_context(a->dpy, EGL_NO_CONTEXT, false);

	if (ctx == EGL_NO_CONTEXT ||
	    !eglMakeCurrent(a->dpy, EGL_NO_SURFACE, EGL_NO_SURFACE, ctx) ||
	    make_objects(&o)) {
		fprintf(stderr, "probe: parallel: context or objects failed "
			"(EGL 0x%x)\n", eglGetError());
		a->rc = 1;
		if (a->start) /* keep the others' barriers whole */
			for (loop = 0; loop < 2; loop++)
				pthread_barrier_wait(a->start);
		return NULL;
	}
	for (loop = 0; loop < 2; loop++) {
		uint64_t wall[MAX_REPS], cpu;

		run_loop(&o, a->items, loop, NULL, &wall[0], &cpu);
		if (a->start)
			pthread_barrier_wait(a->start);
		for (r = 0; r < a->reps; r++)
			run_loop(&o, a->items, loop, NULL, &wall[r], &cpu);
		qsort(wall, a->reps, sizeof(wall[0]), probe_cmp_u64);
		a->us[loop] = wall[a->reps / 2] / 1e3 / a->items;
	}
	if (o.out[5 * ELEMS + 7] != (5u * ELEMS + 7) * 3u)
		a->rc = 1;
	free_objects(&o);
	eglMakeCurrent(a->dpy, EGL_NO_SURFACE, EGL_NO_SURFACE,
		       EGL_NO_CONTEXT);
	eglDestroyContext(a->dpy, ctx);
	return NULL;
}

/* Devices 0..n-1 each alone, then all at once, one thread each: does the
 * driver let two threads of one process dispatch side by side? */
static int run_parallel(unsigned n, unsigned long items, unsigned reps)
{
	struct par a[8];
	pthread_t th[8];
	pthread_barrier_t start;
	char err[256];
	unsigned i;
	int rc = 0;

	for (i = 0; i < n; i++) {
		memset(&a[i], 0, sizeof(a[i]));
		a[i].dpy = bench_egl_display(one_device ? 0 : (int)i, err,
					     sizeof(err));
		a[i].items = items;
		a[i].reps = reps;
		if (a[i].dpy == EGL_NO_DISPLAY) {
			fprintf(stderr, "probe: %s\n", err);
			return 1;
		}
	}
	for (i = 0; i < n; i++) {
		pthread_create(&th[i], NULL, par_main, &a[i]);
		pthread_join(th[i], NULL);
		rc |= a[i].rc;
		printf("thread %u alone          raw %6.3f  batched %6.3f "
		       "us/item\n", i, a[i].us[0], a[i].us[1]);
	}
	pthread_barrier_init(&start, NULL, n);
	for (i = 0; i < n; i++) {
		a[i].start = &start;
		pthread_create(&th[i], NULL, par_main, &a[i]);
	}
	for (i = 0; i < n; i++) {
		pthread_join(th[i], NULL);
		rc |= a[i].rc;
		printf("thread %u, %u at once     raw %6.3f  batched %6.3f "
		       "us/item\n", i, n, a[i].us[0], a[i].us[1]);
	}
	pthread_barrier_destroy(&start);
	for (i = 0; i < n; i++)
		if (!i || a[i].dpy != a[0].dpy)
			eglTerminate(a[i].dpy);
	return rc;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "device", required_argument, NULL, 'd' },
		{ "items", required_argument, NULL, 'n' },
		{ "reps", required_argument, NULL, 'r' },
		{ "batch", required_argument, NULL, 'b' },
		{ "parallel", required_argument, NULL, 'p' },
		{ "locked", no_argument, NULL, 'l' },
		{ "one-device", no_argument, NULL, 'o' },
		{ NULL, 0, NULL, 0 }
	};
	unsigned long items = 20000;
	unsigned reps = 5, parallel = 0;
	size_t s;
	int device = -1, c, rc = 0;
	char err[256];
	EGLDisplay dpy;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'd': device = atoi(optarg); break;
		case 'n': items = strtoul(optarg, NULL, 10); break;
		case 'r': reps = (unsigned)atoi(optarg); break;
		case 'b': batch_items = (unsigned)atoi(optarg); break;
		case 'p': parallel = (unsigned)atoi(optarg); break;
		case 'l': locked = true; break;
		case 'o': one_device = true; break;
		default:
			fprintf(stderr, "usage: probe-dispatch [--device N] "
				"[--items N] [--reps N] [--batch N] "
				"[--locked] [--parallel N [--one-device]]\n");
			return 2;
		}
	}
	if (items < SLOTS || reps < 1 || reps > MAX_REPS || batch_items < 1 ||
	    batch_items > SLOTS / 2) {
		fprintf(stderr, "probe: --items >= %d, --reps 1..%d, --batch "
			"1..%d\n", SLOTS, MAX_REPS, SLOTS / 2);
		return 2;
	}
	if (parallel)
		return parallel > 8 ? 2 : run_parallel(parallel, items, reps);
	dpy = bench_egl_display(device, err, sizeof(err));
	if (dpy == EGL_NO_DISPLAY) {
		fprintf(stderr, "probe: %s\n", err);
		return 1;
	}
	for (s = 0; s < SETUPS; s++)
		rc |= run_setup(dpy, &setups[s], items, reps);
	eglTerminate(dpy);
	return rc;
}
