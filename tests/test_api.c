/* SPDX-License-Identifier: MIT */
/*
 * The API's contract on bad input and misuse: each case gets a specific
 * code and a message a user can act on, never a crash or a hang.
 */
#include "config.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <epoxy/egl.h>

#include "common.h"

/* Expect create to fail with code, and errmsg to contain text. */
static void expect_create(const struct gpupipe_config *c, int code,
			  const char *text)
{
	gpupipe *p = (gpupipe *)0x1;
	int ret = gpupipe_create(c, &p);

	CU_ASSERT_EQUAL(ret, code);
	CU_ASSERT(p == (gpupipe *)0x1);
	if (text && !strstr(gpupipe_errmsg(), text)) {
		printf("\n    errmsg \"%s\" lacks \"%s\" ", gpupipe_errmsg(),
		       text);
		CU_FAIL("errmsg lacks the expected text");
	}
	if (ret == 0 && p != (gpupipe *)0x1)
		gpupipe_destroy(p);
}

/* "GPUPIPE_EINVAL (a field out of range; the message names it and its
 * limit)". */
static void test_bad_config(void)
{
	struct gpupipe_config c;

	expect_create(NULL, GPUPIPE_EINVAL, "cfg");
	c = test_basic_config();
	CU_ASSERT_EQUAL(gpupipe_create(&c, NULL), GPUPIPE_EINVAL);
	c = test_basic_config();
	c.shader_source = NULL;
	expect_create(&c, GPUPIPE_EINVAL, "shader_source");
	c = test_basic_config();
	c.in_bytes = 0;
	expect_create(&c, GPUPIPE_EINVAL, "in_bytes is 0");
	c = test_basic_config();
	c.out_bytes = 0;
	expect_create(&c, GPUPIPE_EINVAL, "out_bytes is 0");
	c = test_basic_config();
	c.in_bytes = SIZE_MAX / 3;
	expect_create(&c, GPUPIPE_EINVAL, "overflows");
	c = test_basic_config();
	c.out_bytes = SIZE_MAX;
	expect_create(&c, GPUPIPE_EINVAL, "out_bytes");
	c = test_basic_config();
	c.depth = GPUPIPE_MAX_DEPTH + 1;
	expect_create(&c, GPUPIPE_EINVAL, "GPUPIPE_MAX_DEPTH (256)");
	c = test_basic_config();
	c.max_batch = GPUPIPE_MAX_BATCH + 1;
	expect_create(&c, GPUPIPE_EINVAL, "max_batch");
	c = test_basic_config();
	c.prep_threads = GPUPIPE_MAX_PREP_THREADS + 1;
	expect_create(&c, GPUPIPE_EINVAL, "prep_threads");
	c = test_basic_config();
	c.prep_cb = NULL;
	expect_create(&c, GPUPIPE_EINVAL, "prep_cb");
	c = test_basic_config();
	c.done_cb = NULL;
	expect_create(&c, GPUPIPE_EINVAL, "done_cb");
}

/* The same sentence, for the weights, the display and the device. */
static void test_bad_config_display(void)
{
	struct gpupipe_config c;

	c = test_basic_config();
	c.weights_bytes = 16;
	expect_create(&c, GPUPIPE_EINVAL, "weights");
	c = test_basic_config();
	c.weights = &c;
	expect_create(&c, GPUPIPE_EINVAL, "weights_bytes is 0");
	c = test_basic_config();
	c.display = (enum gpupipe_display)7;
	expect_create(&c, GPUPIPE_EINVAL, "display 7");
	c = test_basic_config();
	c.device_index = 2;
	expect_create(&c, GPUPIPE_EINVAL, "device_index");
	c = test_basic_config();
	c.display = GPUPIPE_DISPLAY_DEVICE;
	c.device_index = 999;
	expect_create(&c, GPUPIPE_EINVAL, "device_index 999");
	c = test_basic_config();
	c.share_context = &c;
	expect_create(&c, GPUPIPE_EINVAL, "share_context");
	c = test_basic_config();
	c.display = GPUPIPE_DISPLAY_APPLICATION;
	expect_create(&c, GPUPIPE_EINVAL, "egl_display is NULL");
	/* No pipeline exists here, so gpupipe has terminated the display it
	 * had initialised: handing it over uninitialised is refused. */
	c = test_basic_config();
	c.egl_display = eglGetPlatformDisplayEXT(EGL_PLATFORM_SURFACELESS_MESA,
						 EGL_DEFAULT_DISPLAY, NULL);
	CU_ASSERT_PTR_NOT_NULL(c.egl_display);
	CU_ASSERT_PTR_NULL(eglQueryString(c.egl_display, EGL_VERSION));
	expect_create(&c, GPUPIPE_EINVAL, "not an initialised");
}

/* The same sentence, for what the device's GL limits allow. */
static void test_bad_config_gl_limits(void)
{
	struct gpupipe_config c;

	c = test_basic_config();
	c.groups[0] = 0x80000000u;
	expect_create(&c, GPUPIPE_EINVAL, "groups[0]");
	/* 2^31 - 1 work groups fit in x on NVIDIA, never in y. */
	c = test_basic_config();
	c.groups[1] = 0x7fffffffu;
	expect_create(&c, GPUPIPE_EINVAL, "GL_MAX_COMPUTE_WORK_GROUP_COUNT");
	c = test_basic_config();
	c.in_bytes = (size_t)1 << 40;
	expect_create(&c, GPUPIPE_EINVAL, "GL_MAX_SHADER_STORAGE_BLOCK_SIZE");
	/* An output block of 64 fixed bytes does not fit in 32. */
	c = test_basic_config();
	c.shader_source = "#version 430\nlayout(local_size_x = 1) in;\n"
			  "layout(std430, binding = 2) buffer O {\n"
			  "  uint head[16]; uint y[]; };\n"
			  "void main() { head[0] = 1u; y[0] = 2u; }\n";
	c.out_bytes = 32;
	expect_create(&c, GPUPIPE_EINVAL, "out_bytes 32");
}

/* "GPUPIPE_ESHADER (compile/link log in gpupipe_errmsg())". */
static void test_bad_shaders(void)
{
	struct gpupipe_config c = test_basic_config();

	c.shader_source = "#version 430\nlayout(local_size_x = 1) in;\n"
			  "void main() { this is not GLSL; }\n";
	expect_create(&c, GPUPIPE_ESHADER, "failed to compile");
	CU_ASSERT(strstr(gpupipe_errmsg(), "error") != NULL);
	/* Compiles, but has no output at binding 2. */
	c.shader_source = "#version 430\nlayout(local_size_x = 1) in;\n"
			  "layout(std430, binding = 0) buffer I { uint x[]; };\n"
			  "void main() { x[0] = 1u; }\n";
	expect_create(&c, GPUPIPE_ESHADER, "binding = 2");
	/* No main: the link fails. */
	c.shader_source = "#version 430\nlayout(local_size_x = 1) in;\n"
			  "layout(std430, binding = 2) buffer O { uint y[]; };\n"
			  "void helper() { y[0] = 1u; }\n";
	expect_create(&c, GPUPIPE_ESHADER, "failed to");
	c.shader_source = "";
	expect_create(&c, GPUPIPE_ESHADER, NULL);
}

/* "gpupipe_strerror: advice for a code; never NULL". */
static void test_strerror(void)
{
	static const int codes[] = {
		GPUPIPE_EINVAL, GPUPIPE_ENOMEM, GPUPIPE_EAGAIN,
		GPUPIPE_ENOTSUP, GPUPIPE_ESHADER, GPUPIPE_EDRIVER,
		GPUPIPE_EDEADLK, GPUPIPE_ESHUTDOWN, GPUPIPE_ETIMEDOUT,
		GPUPIPE_EBROKEN, GPUPIPE_ETHREAD,
	};
	unsigned i, j;

	for (i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
		CU_ASSERT(codes[i] < 0);
		CU_ASSERT_PTR_NOT_NULL(gpupipe_strerror(codes[i]));
		CU_ASSERT(strcmp(gpupipe_strerror(codes[i]),
				 "unknown error") != 0);
		CU_ASSERT(strncmp(gpupipe_error_name(codes[i]), "GPUPIPE_E",
				  9) == 0);
		for (j = 0; j < i; j++)
			CU_ASSERT(codes[i] != codes[j]);
	}
	CU_ASSERT_STRING_EQUAL(gpupipe_strerror(-1000), "unknown error");
	CU_ASSERT_STRING_EQUAL(gpupipe_strerror(12345), "unknown error");
	CU_ASSERT_STRING_EQUAL(gpupipe_strerror(0), "success");
	CU_ASSERT_STRING_EQUAL(gpupipe_error_name(GPUPIPE_EAGAIN),
			       "GPUPIPE_EAGAIN");
	CU_ASSERT_STRING_EQUAL(gpupipe_error_name(-1000), "GPUPIPE_UNKNOWN");
	CU_ASSERT_STRING_EQUAL(gpupipe_status_name(GPUPIPE_DONE), "DONE");
	CU_ASSERT_STRING_EQUAL(gpupipe_status_name(GPUPIPE_DEVICE_LOST),
			       "DEVICE_LOST");
	CU_ASSERT_STRING_EQUAL(gpupipe_status_name(-1), "UNKNOWN");
	CU_ASSERT_STRING_EQUAL(gpupipe_status_name(99), "UNKNOWN");
}

/* NULL arguments: "A NULL p is a no-op returning 0" for destroy; the
 * others return GPUPIPE_EINVAL. */
static void test_null_arguments(void)
{
	struct gpupipe_info info;
	struct gpupipe_stats st;
	char *src = (char *)0x1;

	CU_ASSERT_EQUAL(gpupipe_destroy(NULL), 0);
	CU_ASSERT_EQUAL(gpupipe_push(NULL, NULL, 0), GPUPIPE_EINVAL);
	CU_ASSERT_EQUAL(gpupipe_push(NULL, NULL, GPUPIPE_NONBLOCK),
			GPUPIPE_EINVAL);
	CU_ASSERT_EQUAL(gpupipe_drain(NULL, 0), GPUPIPE_EINVAL);
	CU_ASSERT_EQUAL(gpupipe_cancel(NULL), GPUPIPE_EINVAL);
	CU_ASSERT_EQUAL(gpupipe_get_info(NULL, &info), GPUPIPE_EINVAL);
	CU_ASSERT_EQUAL(gpupipe_get_stats(NULL, &st), GPUPIPE_EINVAL);
	CU_ASSERT_EQUAL(gpupipe_load_shader(NULL, &src), GPUPIPE_EINVAL);
	CU_ASSERT_EQUAL(gpupipe_load_shader("x", NULL), GPUPIPE_EINVAL);
	CU_ASSERT_EQUAL(gpupipe_load_shader("/nonexistent/k.comp", &src),
			GPUPIPE_EINVAL);
	CU_ASSERT(strstr(gpupipe_errmsg(), "No such file") != NULL);
	CU_ASSERT(src == (char *)0x1);
	gpupipe_job_set_message(NULL, "ignored");
}

/* ---- calls from inside callbacks -------------------------------------- */

struct reentry {
	gpupipe *p;
	atomic_int ready;
	int prep_push_block, prep_drain, prep_destroy, prep_push_nonblock;
	int done_push_block, done_drain, done_destroy, done_cancel;
	int done_push_nonblock[4];
	atomic_int dones;
	unsigned done_pushes;
};

static int reentry_prep(struct gpupipe_job *job, void *u)
{
	struct reentry *r = u;

	while (!atomic_load(&r->ready))
		usleep(100);
	if (job->seq == 0) {
		r->prep_push_block = gpupipe_push(r->p, NULL, 0);
		r->prep_drain = gpupipe_drain(r->p, -1);
		r->prep_destroy = gpupipe_destroy(r->p);
		r->prep_push_nonblock = gpupipe_push(r->p, (void *)7,
						     GPUPIPE_NONBLOCK);
	}
	((uint32_t *)job->input)[0] = 5;
	job->params[1] = 1;
	job->params[2] = 1;
	return 0;
}

static void reentry_done(struct gpupipe_job *job, void *u)
{
	struct reentry *r = u;

	if (job->seq == 0) {
		r->done_push_block = gpupipe_push(r->p, NULL, 0);
		r->done_drain = gpupipe_drain(r->p, 100);
		r->done_destroy = gpupipe_destroy(r->p);
		r->done_cancel = gpupipe_cancel(r->p);
	}
	if (job->seq < 4 && job->item == NULL) {
		/* A done_cb may push without blocking: chained work. */
		r->done_push_nonblock[job->seq] =
			gpupipe_push(r->p, (void *)1, GPUPIPE_NONBLOCK);
		r->done_pushes += r->done_push_nonblock[job->seq] == 0;
	}
	/* The gpupipe_cancel above may catch an item no prep thread took. */
	CU_ASSERT(job->status == GPUPIPE_DONE ||
		  (job->seq > 0 && job->status == GPUPIPE_CANCELLED));
	atomic_fetch_add(&r->dones, 1);
}

/* "a blocking push or a destroy from a callback returns GPUPIPE_EDEADLK";
 * "[done_cb] may push with GPUPIPE_NONBLOCK". */
static void test_calls_from_callbacks(void)
{
	static uint32_t one = 1;
	struct reentry r = { 0 };
	struct gpupipe_config c = test_basic_config();
	unsigned i;

	c.prep_cb = reentry_prep;
	c.done_cb = reentry_done;
	c.user_data = &r;
	c.weights = &one;
	c.weights_bytes = sizeof(one);
	c.depth = 8;
	CU_ASSERT_EQUAL_FATAL(gpupipe_create(&c, &r.p), 0);
	CU_ASSERT_EQUAL(gpupipe_push(r.p, NULL, 0), 0);
	atomic_store(&r.ready, 1);
	CU_ASSERT_EQUAL(gpupipe_drain(r.p, -1), 0);
	/* Chained pushes from done_cb were pushed after our drain began:
	 * drain again for them. */
	CU_ASSERT_EQUAL(gpupipe_drain(r.p, -1), 0);
	CU_ASSERT_EQUAL(r.prep_push_block, GPUPIPE_EDEADLK);
	CU_ASSERT_EQUAL(r.prep_drain, GPUPIPE_EDEADLK);
	CU_ASSERT_EQUAL(r.prep_destroy, GPUPIPE_EDEADLK);
	CU_ASSERT_EQUAL(r.prep_push_nonblock, 0);
	CU_ASSERT_EQUAL(r.done_push_block, GPUPIPE_EDEADLK);
	CU_ASSERT_EQUAL(r.done_drain, GPUPIPE_EDEADLK);
	CU_ASSERT_EQUAL(r.done_destroy, GPUPIPE_EDEADLK);
	CU_ASSERT(r.done_cancel >= 0);
	CU_ASSERT_EQUAL(r.done_push_nonblock[0], 0);
	CU_ASSERT_EQUAL(gpupipe_destroy(r.p), 0);
	/* Item 0, the one prep pushed, and each chained one completed. */
	CU_ASSERT_EQUAL(atomic_load(&r.dones), 2 + (int)r.done_pushes);
	for (i = 0; i < 4; i++)
		CU_ASSERT(r.done_push_nonblock[i] == 0 ||
			  r.done_push_nonblock[i] == GPUPIPE_EAGAIN);
}

/* Unknown push flags are refused; an item pointer may be NULL. */
static void test_push_flags(void)
{
	struct harness h;

	harness_init(&h, 16, 3, 1, 1, 4);
	CU_ASSERT_EQUAL_FATAL(harness_create(&h), 0);
	CU_ASSERT_EQUAL(gpupipe_push(h.p, (void *)1, 0x80), GPUPIPE_EINVAL);
	CU_ASSERT(strstr(gpupipe_errmsg(), "flags") != NULL);
	CU_ASSERT_EQUAL(harness_push(&h, 0, 4), 0);
	CU_ASSERT_EQUAL(gpupipe_drain(h.p, -1), 0);
	if (atomic_load(&h.completions) != 4)
		printf("\n    completions %llu: done %llu failed %llu "
		       "cancelled %llu ",
		       (unsigned long long)atomic_load(&h.completions),
		       (unsigned long long)atomic_load(&h.by_status[0]),
		       (unsigned long long)atomic_load(&h.by_status[1]),
		       (unsigned long long)atomic_load(&h.by_status[2]));
	CU_ASSERT_EQUAL(atomic_load(&h.completions), 4);
	harness_fini(&h);
}

/* prep_cb sets an impossible dispatch: that item fails with EINVAL. */
static int zero_groups_prep(struct gpupipe_job *job, void *u)
{
	job->groups[1] = job->seq == 1 ? 0 : 1;
	job->params[1] = 0;
	job->params[2] = 1;
	return 0;
}

static atomic_int zero_groups_failed, zero_groups_done;

static void zero_groups_done_cb(struct gpupipe_job *job, void *u)
{
	if (job->status == GPUPIPE_FAILED && job->error == GPUPIPE_EINVAL &&
	    job->seq == 1 && strstr(job->message, "groups[1] = 0"))
		atomic_fetch_add(&zero_groups_failed, 1);
	if (job->status == GPUPIPE_DONE)
		atomic_fetch_add(&zero_groups_done, 1);
}

static void test_bad_groups_fail_item(void)
{
	struct gpupipe_config c = test_basic_config();
	gpupipe *p;
	int i;

	c.prep_cb = zero_groups_prep;
	c.done_cb = zero_groups_done_cb;
	CU_ASSERT_EQUAL_FATAL(gpupipe_create(&c, &p), 0);
	for (i = 0; i < 3; i++)
		CU_ASSERT_EQUAL(gpupipe_push(p, NULL, 0), 0);
	CU_ASSERT_EQUAL(gpupipe_drain(p, -1), 0);
	CU_ASSERT_EQUAL(gpupipe_destroy(p), 0);
	CU_ASSERT_EQUAL(atomic_load(&zero_groups_failed), 1);
	CU_ASSERT_EQUAL(atomic_load(&zero_groups_done), 2);
}

/* Devices: as many as eglQueryDevicesEXT lists, numbered in its order;
 * on Mesa's software device, flagged software. A device listed can be
 * opened by its index and runs an item. */
static void test_list_devices(void)
{
	struct gpupipe_device d[64];
	EGLDeviceEXT found[64];
	EGLint n = 0;
	unsigned count = 99, count2 = 0, i;

	CU_ASSERT_EQUAL_FATAL(gpupipe_list_devices(NULL, 0, &count), 0);
	CU_ASSERT_TRUE(eglQueryDevicesEXT(64, found, &n));
	CU_ASSERT_EQUAL(count, (unsigned)n);
	CU_ASSERT_TRUE(count >= 1);
	memset(d, 0xff, sizeof(d));
	CU_ASSERT_EQUAL(gpupipe_list_devices(d, 64, &count2), 0);
	CU_ASSERT_EQUAL(count2, count);
	for (i = 0; i < count2 && i < 64; i++) {
		const char *ext = eglQueryDeviceStringEXT(found[i],
							  EGL_EXTENSIONS);

		CU_ASSERT_EQUAL(d[i].index, i);
		CU_ASSERT_EQUAL(d[i].software,
				ext && strstr(ext, "EGL_MESA_device_software")
					? 1u : 0u);
		CU_ASSERT_TRUE(d[i].cuda_device >= -1);
		CU_ASSERT_TRUE(memchr(d[i].renderer, 0,
				      sizeof(d[i].renderer)) != NULL);
		printf("    device %u: %s, drm node \"%s\", driver \"%s\", "
		       "renderer \"%s\"\n", i,
		       d[i].software ? "software" : "hardware", d[i].drm_node,
		       d[i].driver, d[i].renderer);
	}
	/* A short array: filled as far as it goes, the count is all. */
	memset(d, 0, sizeof(d));
	d[1].index = 777;
	CU_ASSERT_EQUAL(gpupipe_list_devices(d, 1, &count2), 0);
	CU_ASSERT_EQUAL(count2, count);
	CU_ASSERT_EQUAL(d[0].index, 0);
	CU_ASSERT_EQUAL(d[1].index, 777);
	/* The last device listed opens by its index. */
	{
		struct gpupipe_config c = test_basic_config();
		struct gpupipe_info info;
		gpupipe *p = NULL;
		int ret;

		c.display = GPUPIPE_DISPLAY_DEVICE;
		c.device_index = count - 1;
		ret = gpupipe_create(&c, &p);
		CU_ASSERT_EQUAL(ret, 0);
		if (!ret) {
			CU_ASSERT_EQUAL(gpupipe_get_info(p, &info), 0);
			CU_ASSERT_EQUAL(info.display, GPUPIPE_DISPLAY_DEVICE);
			CU_ASSERT_EQUAL(info.device_index, count - 1);
			CU_ASSERT_EQUAL(gpupipe_destroy(p), 0);
		}
	}
}

/*
 * gpupipe.h, struct gpupipe_info: "What the pipeline really runs with
 * (defaults resolved)". A zeroed configuration gets depth 3, 2 prep
 * threads, a fence timeout of 10000 ms, GPUPIPE_WAIT_SIGNALLED, and
 * batch_latency_us "0 -> no budget", which info reports as 0; a budget
 * given is reported as given.
 */
static void test_info_defaults(void)
{
	static const unsigned budgets[] = { 0, 20 };
	unsigned i;

	for (i = 0; i < 2; i++) {
		struct gpupipe_config c = test_basic_config();
		struct gpupipe_info info;
		gpupipe *p = NULL;

		c.batch_latency_us = budgets[i];
		CU_ASSERT_EQUAL_FATAL(gpupipe_create(&c, &p), 0);
		CU_ASSERT_EQUAL(gpupipe_get_info(p, &info), 0);
		CU_ASSERT_EQUAL(info.depth, 3);
		CU_ASSERT_EQUAL(info.prep_threads, 2);
		CU_ASSERT_EQUAL(info.fence_timeout_ms, 10000);
		CU_ASSERT_EQUAL(info.wait, GPUPIPE_WAIT_SIGNALLED);
		CU_ASSERT_EQUAL(info.batch_latency_us, budgets[i]);
		CU_ASSERT_EQUAL(gpupipe_destroy(p), 0);
	}
}

int main(void)
{
	CU_pSuite s;

	test_init(120);
	s = CU_add_suite("api", NULL, NULL);
	CU_add_test(s, "bad configuration", test_bad_config);
	CU_add_test(s, "bad configuration: weights, display, device",
		    test_bad_config_display);
	CU_add_test(s, "bad configuration: the GL limits",
		    test_bad_config_gl_limits);
	CU_add_test(s, "info: the defaults resolved", test_info_defaults);
	CU_add_test(s, "bad shaders", test_bad_shaders);
	CU_add_test(s, "strerror and names", test_strerror);
	CU_add_test(s, "NULL arguments", test_null_arguments);
	CU_add_test(s, "calls from callbacks", test_calls_from_callbacks);
	CU_add_test(s, "push flags", test_push_flags);
	CU_add_test(s, "impossible dispatch fails its item",
		    test_bad_groups_fail_item);
	CU_add_test(s, "list devices", test_list_devices);
	return test_run("api");
}
