/* SPDX-License-Identifier: MIT */
/*
 * interop: gpupipe inside an application's own GL world.
 *
 * The application owns the EGL display and a GL context. The pipeline
 * borrows the display (egl_display) and shares objects with the context
 * (share_context), so results can stay on the GPU: done_cb keeps each
 * output (gpupipe_job_keep) and notes where it lives (gl_output_buffer,
 * gl_output_offset); the application copies it into a buffer of its own
 * with glCopyBufferSubData in its own context, then gives the slot back
 * (gpupipe_release). At the end it reads its buffer once and checks it.
 *
 *   cc interop.c $(pkg-config --cflags --libs gpupipe epoxy) -o interop
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include <epoxy/egl.h>
#include <epoxy/gl.h>
#include <gpupipe.h>

#define N 256      /* floats per item */
#define ITEMS 600

static const char *shader =
	"#version 430\n"
	"layout(local_size_x = 64) in;\n"
	"layout(std430, binding = 0) readonly buffer In { float x[]; };\n"
	"layout(std430, binding = 2) writeonly buffer Out { float y[]; };\n"
	"void main() {\n"
	"	uint i = gl_GlobalInvocationID.x;\n"
	"	y[i] = x[i] * x[i] + 1.0;\n"
	"}\n";

/* What done_cb hands over to the application thread. */
static struct gpupipe_job *kept[ITEMS];
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static unsigned nkept, failed;

static float input(unsigned long item, unsigned i)
{
	return (float)((item * 7 + i) % 97) * 0.25f;
}

static int prep(struct gpupipe_job *job, void *user)
{
	unsigned long item = (unsigned long)(uintptr_t)job->item;
	float *x = job->input;
	unsigned i;

	for (i = 0; i < N; i++)
		x[i] = input(item, i);
	job->groups[0] = N / 64;
	return 0;
}

static void done(struct gpupipe_job *job, void *user)
{
	pthread_mutex_lock(&lock);
	if (job->status == GPUPIPE_DONE && gpupipe_job_keep(job) == 0)
		kept[nkept++] = job;
	else
		failed++;
	pthread_mutex_unlock(&lock);
}

/* Copy every kept output into the application's buffer, GPU to GPU, in
 * the application's context; then give the slots back. */
static void consume_kept(gpupipe *p)
{
	unsigned k;

	pthread_mutex_lock(&lock);
	for (k = 0; k < nkept; k++) {
		struct gpupipe_job *job = kept[k];
		unsigned long it = (unsigned long)(uintptr_t)job->item;

		glBindBuffer(GL_COPY_READ_BUFFER, job->gl_output_buffer);
		glCopyBufferSubData(GL_COPY_READ_BUFFER, GL_COPY_WRITE_BUFFER,
				    (GLintptr)job->gl_output_offset,
				    (GLintptr)(it * N * sizeof(float)),
				    N * sizeof(float));
	}
	/* The copies are queued: only once they have run may the slots be
	 * reused (a fence would do too). */
	glFinish();
	for (k = 0; k < nkept; k++)
		gpupipe_release(p, kept[k]);
	nkept = 0;
	pthread_mutex_unlock(&lock);
}

/* The application's own GL world: a surfaceless display and an OpenGL
 * 4.5 context, current on this thread. */
static int open_app_gl(EGLDisplay *dpy, EGLContext *ctx)
{
	static const EGLint attrs[] = {
		EGL_CONTEXT_MAJOR_VERSION, 4, EGL_CONTEXT_MINOR_VERSION, 5,
		EGL_CONTEXT_OPENGL_PROFILE_MASK,
		EGL_CONTEXT_OPENGL_CORE_PROFILE_BIT, EGL_NONE
	};
	EGLint major, minor;

	*dpy = eglGetPlatformDisplayEXT(EGL_PLATFORM_SURFACELESS_MESA,
					EGL_DEFAULT_DISPLAY, NULL);
	if (*dpy == EGL_NO_DISPLAY || !eglInitialize(*dpy, &major, &minor) ||
	    !eglBindAPI(EGL_OPENGL_API)) {
		fprintf(stderr, "interop: no EGL display\n");
		return -1;
	}
	*ctx = eglCreateContext(*dpy, EGL_NO_CONFIG_KHR, EGL_NO_CONTEXT,
				attrs);
	if (*ctx == EGL_NO_CONTEXT ||
	    !eglMakeCurrent(*dpy, EGL_NO_SURFACE, EGL_NO_SURFACE, *ctx)) {
		fprintf(stderr, "interop: no OpenGL 4.5 context\n");
		eglTerminate(*dpy);
		return -1;
	}
	return 0;
}

/* A pipeline sharing the application's display and context. */
static int create_pipe(EGLDisplay dpy, EGLContext ctx, gpupipe **p)
{
	struct gpupipe_config cfg = {
		.shader_source = shader,
		.in_bytes = N * sizeof(float),
		.out_bytes = N * sizeof(float),
		.depth = 4,
		.max_batch = 8,
		.prep_cb = prep,
		.done_cb = done,
		.egl_display = dpy,
		.share_context = ctx,
	};
	int ret = gpupipe_create(&cfg, p);

	if (ret)
		fprintf(stderr, "gpupipe_create: %s\n%s\n",
			gpupipe_strerror(ret), gpupipe_errmsg());
	return ret;
}

/* Push every item. Kept outputs hold their slots, so a blocking push
 * could wait for ever: push without blocking, and when the pipeline is
 * full, let what was pushed finish, copy it out and give the slots back. */
static void push_all(gpupipe *p)
{
	unsigned long item = 0;
	int ret;

	while (item < ITEMS) {
		ret = gpupipe_push(p, (void *)(uintptr_t)item, GPUPIPE_NONBLOCK);
		if (ret == 0) {
			item++;
			continue;
		}
		if (ret != GPUPIPE_EAGAIN) {
			fprintf(stderr, "gpupipe_push: %s\n", gpupipe_errmsg());
			break;
		}
		gpupipe_drain(p, -1);
		consume_kept(p);
	}
	gpupipe_drain(p, -1);
	consume_kept(p);
}

/* One read of everything the GPU produced into the application's buffer,
 * checked on the CPU: the number of wrong values (every one if it cannot
 * read them). */
static unsigned long check_results(void)
{
	float *all = malloc(ITEMS * N * sizeof(float));
	unsigned long i, bad = 0;

	if (!all) {
		fprintf(stderr, "interop: out of memory for the check\n");
		return ITEMS * N;
	}
	glGetBufferSubData(GL_COPY_WRITE_BUFFER, 0, ITEMS * N * sizeof(float),
			   all);
	for (i = 0; i < ITEMS * N; i++) {
		float x = input(i / N, (unsigned)(i % N));

		if (all[i] != x * x + 1.0f)
			bad++;
	}
	free(all);
	return bad;
}

int main(void)
{
	EGLDisplay dpy;
	EGLContext ctx;
	GLuint results;
	gpupipe *p;
	unsigned long bad;

	if (open_app_gl(&dpy, &ctx))
		return 1;
	glGenBuffers(1, &results);
	glBindBuffer(GL_COPY_WRITE_BUFFER, results);
	glBufferStorage(GL_COPY_WRITE_BUFFER, ITEMS * N * sizeof(float), NULL,
			0);
	if (create_pipe(dpy, ctx, &p))
		return 1;
	push_all(p);
	gpupipe_destroy(p);
	bad = check_results();
	printf("interop: %d items through the application's context: %lu "
	       "wrong values, %u failed items\n", ITEMS, bad, failed);
	glDeleteBuffers(1, &results);
	eglMakeCurrent(dpy, EGL_NO_SURFACE, EGL_NO_SURFACE, EGL_NO_CONTEXT);
	eglDestroyContext(dpy, ctx);
	eglTerminate(dpy);
	return bad || failed ? 1 : 0;
}
