/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <dirent.h>
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common.h"

#ifndef SHADER_DIR
#define SHADER_DIR "shaders"
#endif

/* Set by test_init: assertions go to CUnit; soak has none. */
static bool in_cunit;

void test_watchdog(unsigned seconds)
{
	const char *scale = getenv("GPUPIPE_TEST_TIMEOUT_SCALE");

	/* A hang fails this program (SIGALRM; tests/run-test reports it as
	 * timed out), not the whole run. Each bound is several times what
	 * the program takes under a sanitizer on a loaded 2-core machine;
	 * a slower machine scales them all. */
	if (scale && atof(scale) > 0)
		seconds = (unsigned)(seconds * atof(scale) + 0.5);
	alarm(seconds);
}

double test_now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void test_init(unsigned watchdog_s)
{
	in_cunit = true;
	test_watchdog(watchdog_s);
	/* llvmpipe's own threads make a tiny dispatch 3-4x slower and
	 * noisier on small machines. */
	setenv("LP_NUM_THREADS", "0", 0);
	/* Keep Mesa's driver loaded: unloading it at eglTerminate makes
	 * LeakSanitizer report a false 128-byte leak. */
	dlopen("libEGL_mesa.so.0", RTLD_NOW | RTLD_NODELETE);
	dlopen("libgallium_dri.so", RTLD_NOW | RTLD_NODELETE);
	dlopen("swrast_dri.so", RTLD_NOW | RTLD_NODELETE);
	if (CU_initialize_registry() != CUE_SUCCESS) {
		fprintf(stderr, "CUnit: %s\n", CU_get_error_msg());
		exit(2);
	}
}

int test_run(const char *name)
{
	unsigned run, failed;

	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	/* CU_basic_run_tests succeeds even when tests fail. */
	run = CU_get_number_of_tests_run();
	failed = CU_get_number_of_tests_failed();
	CU_cleanup_registry();
	printf("\ngpupipe-test %s: %u passed, %u failed\n", name, run - failed,
	       failed);
	return failed || !run ? 1 : 0;
}

const char *test_shader(void)
{
	static char *src;
	const char *dir;
	char path[4096];

	if (src)
		return src;
	dir = getenv("GPUPIPE_SHADER_DIR");
	snprintf(path, sizeof(path), "%s/test_affine.comp",
		 dir ? dir : SHADER_DIR);
	if (gpupipe_load_shader(path, &src)) {
		fprintf(stderr, "%s\n", gpupipe_errmsg());
		exit(2);
	}
	return src;
}

int test_noop_prep(struct gpupipe_job *job, void *user_data)
{
	return 0;
}

void test_noop_done(struct gpupipe_job *job, void *user_data)
{
}

struct gpupipe_config test_basic_config(void)
{
	struct gpupipe_config c = {
		.shader_source = test_shader(),
		.in_bytes = 64,
		.out_bytes = 64,
		.prep_cb = test_noop_prep,
		.done_cb = test_noop_done,
	};
	return c;
}

/* ---- harness ---------------------------------------------------------- */

static int h_prep(struct gpupipe_job *job, void *user_data)
{
	struct harness *h = user_data;
	uint64_t id = (uintptr_t)job->item - 1;
	uint32_t *x = job->input;
	uint32_t i;

	if ((h->hold_from >= 0 && (int64_t)id >= h->hold_from) ||
	    (id < 64 && (h->hold_mask >> id & 1))) {
		atomic_fetch_add(&h->prep_running, 1);
		while (!atomic_load(&h->gate))
			usleep(100);
		atomic_fetch_sub(&h->prep_running, 1);
	}
	if (h->prep_delay_us)
		usleep((unsigned)(test_input(id, 7) % (h->prep_delay_us + 1)));
	if (harness_fails(h->fail_id, h->fail_every, id)) {
		gpupipe_job_set_message(job, "item %llu refused by the test",
					(unsigned long long)id);
		return 42;
	}
	for (i = 0; i < h->elems; i++)
		x[i] = test_input(id, i);
	job->params[0] = test_tag(id);
	job->params[1] = h->elems;
	job->params[2] = TEST_WEIGHTS;
	job->groups[0] = (h->elems + 63) / 64;
	return 0;
}

bool output_ok(struct harness *h, uint64_t id, const uint32_t *out)
{
	uint32_t tag = test_tag(id), i;

	if (out[0] != tag || out[1] != h->elems)
		return false;
	for (i = 0; i < h->elems; i++)
		if (out[2 + i] != test_input(id, i) *
					  h->weights[i % TEST_WEIGHTS] + tag)
			return false;
	return true;
}

static void h_done(struct gpupipe_job *job, void *user_data)
{
	struct harness *h = user_data;
	uint64_t id = (uintptr_t)job->item - 1;

	if (!h->unordered) {
		if (job->seq != h->next_seq)
			atomic_fetch_add(&h->bad_seq, 1);
		h->next_seq = job->seq + 1;
		if (!h->many_pushers && (int64_t)id <= h->last_id)
			atomic_fetch_add(&h->bad_order, 1);
		h->last_id = (int64_t)id;
	}
	if (id < h->seen_cap && h->seen[id] < 255)
		h->seen[id]++;
	if (id < h->seen_cap)
		h->done_seq[id] = job->seq;
	if (job->status < 0 || job->status > GPUPIPE_DEVICE_LOST) {
		atomic_fetch_add(&h->bad_status, 1);
	} else {
		atomic_fetch_add(&h->by_status[job->status], 1);
	}
	if (job->status == GPUPIPE_DONE) {
		if (!job->output || job->message ||
		    !output_ok(h, id, job->output))
			atomic_fetch_add(&h->bad_output, 1);
	} else {
		if (job->output || !job->message || !job->message[0])
			atomic_fetch_add(&h->bad_status, 1);
		/* FAILED only where prep_cb failed, with its code. */
		if (job->status == GPUPIPE_FAILED && !h->faults &&
		    (!harness_fails(h->fail_id, h->fail_every, id) ||
		     job->error != 42))
			atomic_fetch_add(&h->bad_status, 1);
		if (h->faults && job->status != GPUPIPE_CANCELLED &&
		    !job->error)
			atomic_fetch_add(&h->bad_status, 1);
	}
	{
		struct gpupipe_stats st;

		if (gpupipe_get_stats(h->p, &st) == 0 &&
		    st.in_flight > atomic_load(&h->max_in_flight))
			atomic_store(&h->max_in_flight, st.in_flight);
	}
	if (!atomic_load(&h->done_gate)) {
		atomic_fetch_add(&h->done_waiting, 1);
		while (!atomic_load(&h->done_gate))
			usleep(100);
		atomic_fetch_sub(&h->done_waiting, 1);
	}
	if (h->done_delay_us)
		usleep(h->done_delay_us);
	if (h->keep_every && id % h->keep_every == 0 &&
	    job->status == GPUPIPE_DONE && id < h->seen_cap &&
	    gpupipe_job_keep(job) == 0)
		h->kept[id] = job;
	atomic_fetch_add(&h->completions, 1);
}

void harness_init(struct harness *h, uint32_t elems, unsigned depth,
		  unsigned batch, unsigned prep_threads, uint64_t max_items)
{
	unsigned i;

	memset(h, 0, sizeof(*h));
	h->elems = elems;
	for (i = 0; i < TEST_WEIGHTS; i++)
		h->weights[i] = 0x01000193u * (i + 3) + 7;
	h->fail_id = -1;
	h->hold_from = -1;
	h->last_id = -1;
	atomic_init(&h->gate, 1);
	atomic_init(&h->done_gate, 1);
	h->seen_cap = max_items;
	h->seen = calloc(max_items ? max_items : 1, 1);
	h->kept = calloc(max_items ? max_items : 1, sizeof(*h->kept));
	h->done_seq = calloc(max_items ? max_items : 1, sizeof(*h->done_seq));
	h->cfg.shader_source = test_shader();
	h->cfg.in_bytes = elems * sizeof(uint32_t);
	h->cfg.out_bytes = (elems + 2) * sizeof(uint32_t);
	h->cfg.weights = h->weights;
	h->cfg.weights_bytes = sizeof(h->weights);
	h->cfg.depth = depth;
	h->cfg.max_batch = batch;
	h->cfg.prep_threads = prep_threads;
	h->cfg.prep_cb = h_prep;
	h->cfg.done_cb = h_done;
	h->cfg.user_data = h;
}

int harness_create(struct harness *h)
{
	int ret = gpupipe_create(&h->cfg, &h->p);

	if (ret)
		fprintf(stderr, "gpupipe_create: %s: %s\n",
			gpupipe_error_name(ret), gpupipe_errmsg());
	return ret;
}

int harness_push(struct harness *h, uint64_t first, uint64_t n)
{
	uint64_t id;
	int ret;

	for (id = first; id < first + n; id++) {
		ret = gpupipe_push(h->p, (void *)(uintptr_t)(id + 1), 0);
		if (ret)
			return ret;
	}
	return 0;
}

void harness_same_device(struct harness *h, unsigned n)
{
	unsigned i;

	h->cfg.display = GPUPIPE_DISPLAY_DEVICES;
	h->cfg.ndevices = n;
	for (i = 0; i < n && i < GPUPIPE_MAX_DEVICES; i++)
		h->cfg.devices[i] = 0;
}

int harness_fini(struct harness *h)
{
	int ret = 0;

	if (h->p)
		ret = gpupipe_destroy(h->p);
	if (in_cunit)
		CU_ASSERT_EQUAL(ret, 0);
	h->p = NULL;
	harness_free(h);
	return ret;
}

void *harness_destroyer_main(void *arg)
{
	struct harness_destroyer *d = arg;

	d->ret = gpupipe_destroy(d->h->p);
	return NULL;
}

void harness_free(struct harness *h)
{
	free(h->seen);
	free(h->kept);
	free(h->done_seq);
	h->seen = NULL;
	h->kept = NULL;
	h->done_seq = NULL;
}

void harness_check(struct harness *h, uint64_t n, uint64_t done)
{
	uint64_t id, missing = 0, dup = 0;

	CU_ASSERT_EQUAL(atomic_load(&h->completions), n);
	CU_ASSERT_EQUAL(atomic_load(&h->by_status[GPUPIPE_DONE]), done);
	CU_ASSERT_EQUAL(atomic_load(&h->bad_output), 0);
	CU_ASSERT_EQUAL(atomic_load(&h->bad_order), 0);
	CU_ASSERT_EQUAL(atomic_load(&h->bad_seq), 0);
	CU_ASSERT_EQUAL(atomic_load(&h->bad_status), 0);
	for (id = 0; id < n; id++) {
		missing += h->seen[id] == 0;
		dup += h->seen[id] > 1;
	}
	CU_ASSERT_EQUAL(missing, 0);
	CU_ASSERT_EQUAL(dup, 0);
}

void harness_run(struct harness *h, uint64_t n)
{
	CU_ASSERT_EQUAL_FATAL(harness_create(h), 0);
	CU_ASSERT_EQUAL(harness_push(h, 0, n), 0);
	CU_ASSERT_EQUAL(gpupipe_drain(h->p, -1), 0);
	harness_check(h, n, n);
}

/* ---- process counters ------------------------------------------------- */

static int count_dir(const char *path)
{
	DIR *d = opendir(path);
	struct dirent *e;
	int n = 0;

	if (!d)
		return -1;
	while ((e = readdir(d)))
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

int count_fds(void)
{
	return count_dir("/proc/self/fd");
}

int count_threads(void)
{
	return count_dir("/proc/self/task");
}

long rss_kib(void)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	long kib = -1;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmRSS: %ld kB", &kib) == 1)
			break;
	fclose(f);
	return kib;
}
