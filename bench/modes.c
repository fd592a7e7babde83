/* SPDX-License-Identifier: MIT */
/*
 * The four ways of running the same items. Each run starts and ends with
 * the GPU drained, times its whole loop on CLOCK_MONOTONIC, and checks
 * every item's output (fully or at fixed samples, as workload.c says).
 */
#include "config.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include <epoxy/gl.h>

#include "bench.h"

const char *const mode_names[MODE_COUNT] = { "raw", "sync", "ring",
					     "gpupipe", "gpupipe-all" };

/* Raw regions: one per item up to this many bytes, then reused behind a
 * barrier (dispatches writing one buffer range must not overlap). */
#define RAW_BUDGET_GPU (1024u << 20)
#define RAW_BUDGET_SOFT (128u << 20)

static int gp_prep(struct gpupipe_job *job, void *user)
{
	struct bench *b = user;
	uint64_t id = (uintptr_t)job->item - 1;

	workload_prep(&b->wl, id, job->input, job->params, job->groups,
		      b->corrupt_now && id == b->corrupt_id);
	return 0;
}

static void gp_done(struct gpupipe_job *job, void *user)
{
	struct bench *b = user;
	uint64_t id = (uintptr_t)job->item - 1;

	b->lat_us[id] = (double)(now_ns() - b->t_in[id]) / 1e3;
	if (job->status != GPUPIPE_DONE ||
	    !workload_post(&b->wl, id, job->output,
			   full_check(&b->wl, b->prm.check, id), false))
		atomic_fetch_add(&b->bad, 1);
	atomic_fetch_add_explicit(&b->ndone, 1, memory_order_relaxed);
}

/* With --devices, gpupipe's device: the first named, or with "all" the
 * first hardware one. */
static unsigned first_device(const struct params *p)
{
	struct gpupipe_device d[GPUPIPE_MAX_DEVICES];
	unsigned n = 0, i, dev = p->devices[0];

	if (!p->ndevices && !gpupipe_list_devices(d, GPUPIPE_MAX_DEVICES, &n))
		for (i = n; i-- > 0;)
			if (i < GPUPIPE_MAX_DEVICES && !d[i].software)
				dev = d[i].index;
	return dev;
}

/* gpupipe on the configured display, and gpupipe-all over --devices. */
static int create_pipes(struct bench *b, char *err, size_t errlen)
{
	const struct workload *w = &b->wl;
	struct gpupipe_config cfg = {
		.shader_source = w->shader,
		.in_bytes = w->in_bytes,
		.out_bytes = w->out_bytes,
		.weights = w->weights,
		.weights_bytes = w->weights_bytes,
		.depth = b->prm.depth,
		.max_batch = b->prm.batch,
		.flags = (b->prm.batch ? GPUPIPE_FIXED_BATCH : 0) |
			 (b->prm.no_reset ? GPUPIPE_NO_RESET_NOTIFICATION : 0),
		.wait = b->prm.wait,
		.post_threads = b->prm.post_threads,
		.batch_latency_us = b->prm.batch_latency_us,
		.prep_threads = b->prm.prep_threads,
		.prep_cb = gp_prep,
		.done_cb = gp_done,
		.user_data = b,
		.display = b->prm.display,
		.device_index = b->prm.device_index,
	};
	int ret;

	memcpy(cfg.groups, w->groups, sizeof(cfg.groups));
	if (b->prm.multi) {
		cfg.display = GPUPIPE_DISPLAY_DEVICE;
		cfg.device_index = first_device(&b->prm);
	}
	if (b->prm.modes & (1u << MODE_GPUPIPE)) {
		ret = gpupipe_create(&cfg, &b->pipe);
		if (ret) {
			snprintf(err, errlen, "gpupipe_create: %s: %s",
				 gpupipe_error_name(ret), gpupipe_errmsg());
			return -1;
		}
		gpupipe_get_info(b->pipe, &b->info);
	}
	if (!(b->prm.modes & (1u << MODE_GPUPIPE_ALL)))
		return 0;
	cfg.display = GPUPIPE_DISPLAY_DEVICES;
	cfg.device_index = 0;
	cfg.ndevices = b->prm.ndevices;
	memcpy(cfg.devices, b->prm.devices, sizeof(cfg.devices));
	ret = gpupipe_create(&cfg, &b->pipe_all);
	if (ret) {
		snprintf(err, errlen, "gpupipe_create (--devices): %s: %s",
			 gpupipe_error_name(ret), gpupipe_errmsg());
		return -1;
	}
	gpupipe_get_info(b->pipe_all, &b->info_all);
	if (!(b->prm.modes & (1u << MODE_GPUPIPE)))
		b->info = b->info_all;
	return 0;
}

int bench_setup_modes(struct bench *b, char *err, size_t errlen)
{
	const struct workload *w = &b->wl;
	uint64_t budget = b->gl.llvmpipe ? RAW_BUDGET_SOFT : RAW_BUDGET_GPU;
	uint64_t per = w->in_bytes + w->out_bytes + 256;
	uint64_t nraw = budget / per;

	if (nraw > b->prm.items)
		nraw = b->prm.items;
	if (nraw < 1)
		nraw = 1;
	if (glctx_program(&b->gl, w->shader, err, errlen))
		return -1;
	if (regions_create(&b->raw_regions, w, (unsigned)nraw, err, errlen) ||
	    regions_create(&b->ring_regions, w,
			   b->prm.depth ? b->prm.depth : 3, err, errlen))
		return -1;
	if (qpool_init(&b->qp, (unsigned)b->prm.items)) {
		snprintf(err, errlen, "out of memory for queries");
		return -1;
	}
	b->t_in = calloc(b->prm.items, sizeof(*b->t_in));
	b->lat_us = calloc(b->prm.items, sizeof(*b->lat_us));
	if (!b->t_in || !b->lat_us) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	return create_pipes(b, err, errlen);
}

void bench_teardown_modes(struct bench *b)
{
	gpupipe_destroy(b->pipe);
	gpupipe_destroy(b->pipe_all);
	b->pipe = NULL;
	b->pipe_all = NULL;
	if (b->gl.context) {
		regions_destroy(&b->raw_regions);
		regions_destroy(&b->ring_regions);
		qpool_fini(&b->qp);
	}
	free(b->t_in);
	free(b->lat_us);
	b->t_in = NULL;
	b->lat_us = NULL;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static void latency(struct bench *b, uint64_t n, struct run_result *r)
{
	qsort(b->lat_us, n, sizeof(double), cmp_double);
	r->has_latency = true;
	r->lat_p50_us = b->lat_us[n / 2];
	r->lat_p99_us = b->lat_us[(n * 99) / 100 < n ? (n * 99) / 100 : n - 1];
}

static void dispatch(struct bench *b, const uint32_t *groups, bool queries)
{
	if (queries)
		qpool_before(&b->qp);
	glDispatchCompute(groups[0], groups[1], groups[2]);
	if (queries)
		qpool_after(&b->qp);
}

static void run_raw(struct bench *b, bool queries, struct run_result *r)
{
	const struct regions *rg = &b->raw_regions;
	uint64_t n = b->prm.items, i, t0;
	uint32_t groups[3];
	unsigned k;

	for (k = 0; k < rg->n; k++)
		workload_prep(&b->wl, k, region_in(rg, k), region_params(rg, k),
			      groups, b->corrupt_now && k == b->corrupt_id);
	glFinish();
	r->cpu_ns[ROLE_MAIN] = thread_cpu_ns();
	t0 = now_ns();
	for (i = 0; i < n; i++) {
		k = (unsigned)(i % rg->n);
		/* Reusing a region: the earlier dispatch must be done. */
		if (i && k == 0)
			glMemoryBarrier(GL_SHADER_STORAGE_BARRIER_BIT);
		regions_bind(rg, k);
		dispatch(b, groups, queries);
	}
	glMemoryBarrier(GL_CLIENT_MAPPED_BUFFER_BARRIER_BIT);
	glFinish();
	r->wall_ns = now_ns() - t0;
	r->cpu_ns[ROLE_MAIN] = thread_cpu_ns() - r->cpu_ns[ROLE_MAIN];
	/* Region k last held item k's input (inputs are reused), so it
	 * must hold item k's output. */
	for (k = 0; k < rg->n; k++)
		if (!workload_post(&b->wl, k, region_out(rg, k),
				   full_check(&b->wl, b->prm.check, k), false))
			r->bad++;
}

static void run_sync(struct bench *b, bool queries, struct run_result *r)
{
	const struct regions *rg = &b->ring_regions;
	bool record = b->wl.kind == WL_USER && !atomic_load(&b->wl.ref_ready);
	uint64_t n = b->prm.items, id, t0, t_prep = 0, t_gpu = 0, t_post = 0;
	uint32_t groups[3];

	glFinish();
	r->cpu_ns[ROLE_MAIN] = thread_cpu_ns();
	t0 = now_ns();
	for (id = 0; id < n; id++) {
		uint64_t a = now_ns(), c, d;

		workload_prep(&b->wl, id, region_in(rg, 0),
			      region_params(rg, 0), groups,
			      b->corrupt_now && id == b->corrupt_id);
		c = now_ns();
		t_prep += c - a;
		regions_bind(rg, 0);
		dispatch(b, groups, queries);
		glMemoryBarrier(GL_CLIENT_MAPPED_BUFFER_BARRIER_BIT);
		glFinish();
		d = now_ns();
		t_gpu += d - c;
		b->lat_us[id] = (double)(d - a) / 1e3;
		if (!workload_post(&b->wl, id, region_out(rg, 0),
				   full_check(&b->wl, b->prm.check, id),
				   record))
			r->bad++;
		t_post += now_ns() - d;
	}
	r->wall_ns = now_ns() - t0;
	r->cpu_ns[ROLE_MAIN] = thread_cpu_ns() - r->cpu_ns[ROLE_MAIN];
	r->stage_prep_ns = (double)t_prep / (double)n;
	r->stage_gpu_ns = (double)t_gpu / (double)n;
	r->stage_post_ns = (double)t_post / (double)n;
	r->fences = n;
	if (record) {
		b->wl.ref_cap = n;
		atomic_store(&b->wl.ref_ready, true);
	}
	latency(b, n, r);
}

/* Wait for ring set k's fence, then check the item it carried. */
static void ring_retire(struct bench *b, GLsync *fence, uint64_t id,
			unsigned k, struct run_result *r)
{
	const struct regions *rg = &b->ring_regions;

	while (glClientWaitSync(*fence, 0, 1000000000u) == GL_TIMEOUT_EXPIRED)
		;
	glDeleteSync(*fence);
	*fence = NULL;
	b->lat_us[id] = (double)(now_ns() - b->t_in[id]) / 1e3;
	if (!workload_post(&b->wl, id, region_out(rg, k),
			   full_check(&b->wl, b->prm.check, id), false))
		r->bad++;
}

static void run_ring(struct bench *b, bool queries, struct run_result *r)
{
	const struct regions *rg = &b->ring_regions;
	uint64_t n = b->prm.items, id, t0;
	unsigned depth = rg->n, k;
	GLsync fences[GPUPIPE_MAX_DEPTH] = { 0 };
	uint32_t groups[3];

	glFinish();
	r->cpu_ns[ROLE_MAIN] = thread_cpu_ns();
	t0 = now_ns();
	for (id = 0; id < n; id++) {
		k = (unsigned)(id % depth);
		if (fences[k])
			ring_retire(b, &fences[k], id - depth, k, r);
		b->t_in[id] = now_ns();
		workload_prep(&b->wl, id, region_in(rg, k),
			      region_params(rg, k), groups,
			      b->corrupt_now && id == b->corrupt_id);
		regions_bind(rg, k);
		dispatch(b, groups, queries);
		glMemoryBarrier(GL_CLIENT_MAPPED_BUFFER_BARRIER_BIT);
		fences[k] = glFenceSync(GL_SYNC_GPU_COMMANDS_COMPLETE, 0);
		glFlush();
	}
	for (id = n > depth ? n - depth : 0; id < n; id++) {
		k = (unsigned)(id % depth);
		if (fences[k])
			ring_retire(b, &fences[k], id, k, r);
	}
	r->wall_ns = now_ns() - t0;
	r->cpu_ns[ROLE_MAIN] = thread_cpu_ns() - r->cpu_ns[ROLE_MAIN];
	r->fences = n;
	latency(b, n, r);
}

/* The role of the library thread named comm (gp-prep0, gp-submit,
 * gp-readback1, gp-post2, ...; gpupipe's threads.c), or THREAD_ROLES. */
static enum thread_role role_of(const char *comm)
{
	if (strncmp(comm, "gp-prep", 7) == 0)
		return ROLE_PREP;
	if (strncmp(comm, "gp-submit", 9) == 0)
		return ROLE_SUBMIT;
	if (strncmp(comm, "gp-readback", 11) == 0 ||
	    strncmp(comm, "gp-post", 7) == 0)
		return ROLE_READBACK;
	return THREAD_ROLES;
}

/* Add /proc/self/task/TID's voluntary context switches to out[its role]. */
static void task_sleeps(const char *tid, uint64_t out[THREAD_ROLES])
{
	char path[300], line[256], comm[32] = "";
	enum thread_role role = THREAD_ROLES;
	unsigned long long v;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/task/%s/status", tid);
	f = fopen(path, "r");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "Name: %31s", comm) == 1)
			role = role_of(comm);
		else if (role != THREAD_ROLES &&
			 sscanf(line, "voluntary_ctxt_switches: %llu", &v) == 1)
			out[role] += v;
	}
	fclose(f);
}

/* How often each role's threads have slept so far: the calling thread
 * (the pusher) as ROLE_MAIN, the library's threads by their names. A
 * thread that sleeps is woken, so these count the pipeline's wake-ups. */
static void count_sleeps(uint64_t out[THREAD_ROLES])
{
	DIR *dir = opendir("/proc/self/task");
	struct dirent *e;
	struct rusage ru;

	memset(out, 0, THREAD_ROLES * sizeof(out[0]));
	if (getrusage(RUSAGE_THREAD, &ru) == 0)
		out[ROLE_MAIN] = (uint64_t)ru.ru_nvcsw;
	while (dir && (e = readdir(dir)))
		if (e->d_name[0] != '.')
			task_sleeps(e->d_name, out);
	if (dir)
		closedir(dir);
}

static void run_gpupipe(struct bench *b, gpupipe *pipe, bool queries,
			struct run_result *r)
{
	struct gpupipe_stats s0, s1;
	uint64_t n = b->prm.items, id, t0, sleeps0[THREAD_ROLES];
	unsigned k;
	int ret = 0;

	gpupipe_drain(pipe, -1);
	atomic_store(&b->bad, 0);
	atomic_store(&b->ndone, 0);
	if (queries && gpupipe_trace_begin(pipe, n, GPUPIPE_TRACE_GPU)) {
		fprintf(stderr, "gpupipe_trace_begin: %s\n", gpupipe_errmsg());
		r->bad = n;
		return;
	}
	gpupipe_get_stats(pipe, &s0);
	count_sleeps(sleeps0);
	r->cpu_ns[ROLE_MAIN] = thread_cpu_ns();
	t0 = now_ns();
	for (id = 0; id < n && !ret; id++) {
		b->t_in[id] = now_ns();
		ret = gpupipe_push(pipe, (void *)(uintptr_t)(id + 1), 0);
	}
	gpupipe_drain(pipe, -1);
	r->wall_ns = now_ns() - t0;
	r->cpu_ns[ROLE_MAIN] = thread_cpu_ns() - r->cpu_ns[ROLE_MAIN];
	count_sleeps(r->sleeps);
	for (k = 0; k < THREAD_ROLES; k++)
		r->sleeps[k] -= sleeps0[k];
	gpupipe_get_stats(pipe, &s1);
	if (ret) {
		fprintf(stderr, "gpupipe_push: %s\n", gpupipe_errmsg());
		r->bad = n;
	}
	r->bad += atomic_load(&b->bad) + (n - atomic_load(&b->ndone));
	if (pipe == b->pipe || !b->pipe)
		b->last_stats = s1;
	r->cpu_ns[ROLE_PREP] = s1.prep_cpu_ns - s0.prep_cpu_ns;
	r->cpu_ns[ROLE_SUBMIT] = s1.submit_cpu_ns - s0.submit_cpu_ns;
	r->cpu_ns[ROLE_READBACK] = s1.readback_cpu_ns - s0.readback_cpu_ns +
			     s1.post_cpu_ns - s0.post_cpu_ns;
	r->prep_cb_ns = s1.prep_busy_ns - s0.prep_busy_ns;
	r->done_cb_ns = s1.done_busy_ns - s0.done_busy_ns;
	r->fences = s1.batches - s0.batches;
	if (queries) {
		struct gpupipe_trace_record *rec;
		uint64_t *pairs;
		size_t cnt, i;

		if (gpupipe_trace_end(pipe, &rec, &cnt) == 0) {
			pairs = malloc(2 * cnt * sizeof(uint64_t));
			for (i = 0; pairs && i < cnt; i++) {
				pairs[2 * i] = rec[i].gpu_start_ns;
				pairs[2 * i + 1] = rec[i].gpu_end_ns;
			}
			if (pairs) {
				r->gpu_busy_ns = busy_union_ns(pairs, cnt);
				r->has_busy = true;
			}
			free(pairs);
			r->trace = rec;
			r->ntrace = cnt;
		}
	}
	latency(b, n, r);
}

void run_mode(struct bench *b, enum mode m, bool queries,
	      struct run_result *r)
{
	memset(r, 0, sizeof(*r));
	r->items = b->prm.items;
	b->corrupt_now = b->prm.corrupt & (1u << m);
	b->corrupt_id = b->prm.items > 7 ? 7 : b->prm.items - 1;
	switch (m) {
	case MODE_RAW:
		run_raw(b, queries, r);
		break;
	case MODE_SYNC:
		run_sync(b, queries, r);
		break;
	case MODE_RING:
		run_ring(b, queries, r);
		break;
	case MODE_GPUPIPE:
		run_gpupipe(b, b->pipe, queries, r);
		break;
	case MODE_GPUPIPE_ALL:
		run_gpupipe(b, b->pipe_all, queries, r);
		break;
	default:
		break;
	}
	if (queries && m != MODE_GPUPIPE && m != MODE_GPUPIPE_ALL) {
		r->gpu_busy_ns = qpool_busy_ns(&b->qp);
		r->has_busy = true;
	}
	r->ok = r->bad == 0;
}
