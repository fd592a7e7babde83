/* SPDX-License-Identifier: MIT */
/*
 * The workloads: their kernels, inputs and reference checks. Every item's
 * output carries its tag (item_tag) in a 16-byte header, and data that
 * depends on the tag, so an output left over from another item fails.
 */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"

#ifndef BENCH_SHADER_DIR
#define BENCH_SHADER_DIR "/usr/share/gpupipe"
#endif
#ifndef BENCH_SOURCE_SHADER_DIR
#define BENCH_SOURCE_SHADER_DIR "shaders"
#endif

#define HEADER 16 /* output header: the tag, then padding */
#define POOL 7    /* input patterns; prime, so slot reuse rarely aligns */

static uint64_t splitmix(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* A float from -1 to 1 in steps of 0.001. */
static float rand_unit(uint64_t *s)
{
	return (float)((int64_t)(splitmix(s) % 2001) - 1000) / 1000.0f;
}

/* Where the result of extra CPU work goes, so it cannot be optimised
 * away; its value is never used. */
static _Atomic uint64_t cpu_sink;

uint64_t cpu_work(uint64_t iters, uint64_t seed)
{
	uint64_t v = seed | 1, i;

	for (i = 0; i < iters; i++)
		v = (v ^ (v >> 23)) * 0x2127599bf4325c37ull + i;
	return v;
}

double cpu_iters_per_us(void)
{
	static double rate;
	uint64_t iters = 1 << 16, t0, t;
	volatile uint64_t sink;

	if (rate > 0)
		return rate;
	for (;;) {
		t0 = thread_cpu_ns();
		sink = cpu_work(iters, 42);
		t = thread_cpu_ns() - t0;
		if (t > 20000000u)
			break;
		iters *= 2;
	}
	(void)sink;
	rate = (double)iters / ((double)t / 1e3);
	return rate;
}

static uint32_t mix_elem(uint32_t x)
{
	uint32_t v = x * 2654435761u;

	return v ^ (v >> 13);
}

static uint32_t mix_iter(uint32_t v, uint32_t iters)
{
	uint32_t k;

	for (k = 0; k < iters; k++)
		v = (v * 1664525u + 1013904223u) ^ (v >> 7);
	return v;
}

/* Shaders come from $GPUPIPE_SHADER_DIR, else the installed folder, else
 * the source tree this bench was built from (so it runs uninstalled). */
static char *load(const char *name, char *err, size_t errlen)
{
	const char *env = getenv("GPUPIPE_SHADER_DIR");
	const char *dirs[] = { env, BENCH_SHADER_DIR, BENCH_SOURCE_SHADER_DIR };
	char path[4096];
	char *src;
	unsigned i;

	for (i = 0; i < 3; i++) {
		if (!dirs[i])
			continue;
		snprintf(path, sizeof(path), "%s/%s", dirs[i], name);
		if (gpupipe_load_shader(path, &src) == 0)
			return src;
		if (env)
			break;
	}
	snprintf(err, errlen, "%s (set GPUPIPE_SHADER_DIR to the folder with "
		 "gpupipe's shaders)", gpupipe_errmsg());
	return NULL;
}

static int make_pool(struct workload *w)
{
	uint64_t seed = 0x5eed;
	unsigned k;
	uint32_t i;

	w->npool = POOL;
	w->pool_in = calloc(POOL, sizeof(void *));
	w->pool_ref = calloc(POOL, sizeof(uint32_t *));
	w->pool_sum = calloc(POOL, sizeof(uint32_t));
	if (!w->pool_in || !w->pool_ref || !w->pool_sum)
		return -1;
	for (k = 0; k < POOL; k++) {
		uint32_t *x = malloc(w->in_bytes);
		uint32_t *r = NULL;

		w->pool_in[k] = x;
		if (!x)
			return -1;
		if (w->kind == WL_SGEMM) {
			float *f = (float *)x;

			for (i = 0; i < w->elems; i++)
				f[i] = rand_unit(&seed);
			continue;
		}
		for (i = 0; i < w->in_bytes / 4; i++)
			x[i] = (uint32_t)splitmix(&seed);
		if (w->kind == WL_BALANCED || w->kind == WL_USER)
			continue;
		r = malloc((size_t)w->elems * 4);
		w->pool_ref[k] = r;
		if (!r)
			return -1;
		for (i = 0; i < w->elems; i++) {
			r[i] = mix_elem(x[i]);
			w->pool_sum[k] += r[i];
		}
	}
	return 0;
}

/* tiny: 64 groups of 64 invocations, 16 KiB in and out; stream: 1 MiB
 * in and out; balanced: a kernel of param1 iterations per element. */
static void init_elementwise(struct workload *w, const struct params *p,
			     bool llvmpipe, char *err, size_t errlen)
{
	double rate = cpu_iters_per_us();

	if (p->kind == WL_BALANCED) {
		w->name = "balanced";
		w->elems = llvmpipe ? 1024 : 16384;
		w->param1 = 64; /* iterations; main.c calibrates to gpu_us */
		w->prep_iters = (uint64_t)(p->prep_us * rate);
		w->post_iters = (uint64_t)(p->post_us * rate);
		w->shader = load("balanced.comp", err, errlen);
	} else {
		w->name = p->kind == WL_TINY ? "tiny" : "stream";
		w->elems = p->kind == WL_TINY ? 4096 : 262144;
		w->shader = load("elementwise.comp", err, errlen);
	}
	w->in_bytes = (size_t)w->elems * 4;
	w->out_bytes = HEADER + (size_t)w->elems * 4;
	w->groups[0] = w->elems / 64;
}

/* sgemm: C = A x B, N x N floats; B is the shared weights. */
static int init_sgemm(struct workload *w, const struct params *p,
		      bool llvmpipe, char *err, size_t errlen)
{
	float *b;
	uint64_t seed = 77;
	uint32_t i, n;

	w->name = "sgemm";
	w->param1 = n = p->n ? p->n : llvmpipe ? 128 : 2048;
	w->elems = n * n;
	w->in_bytes = (size_t)w->elems * 4;
	w->out_bytes = HEADER + (size_t)w->elems * 4;
	w->weights_bytes = (size_t)w->elems * 4;
	w->weights = b = malloc(w->weights_bytes);
	/* The CPU reference walks B by columns: keep it transposed so that
	 * walk is sequential. */
	w->weights_t = malloc(w->weights_bytes);
	if (!b || !w->weights_t) {
		snprintf(err, errlen, "out of memory for sgemm's weights");
		return -1;
	}
	for (i = 0; i < w->elems; i++)
		b[i] = rand_unit(&seed);
	for (i = 0; i < w->elems; i++)
		w->weights_t[(i % n) * n + i / n] = b[i];
	w->groups[0] = w->groups[1] = n / 16;
	w->flops = 2.0 * (double)n * n * n;
	w->shader = load("sgemm.comp", err, errlen);
	return 0;
}

int workload_init(struct workload *w, const struct params *p, bool llvmpipe,
		  char *err, size_t errlen)
{
	memset(w, 0, sizeof(*w));
	w->kind = p->kind;
	w->groups[0] = w->groups[1] = w->groups[2] = 1;
	switch (p->kind) {
	case WL_TINY:
	case WL_STREAM:
	case WL_BALANCED:
		init_elementwise(w, p, llvmpipe, err, errlen);
		break;
	case WL_SGEMM:
		if (init_sgemm(w, p, llvmpipe, err, errlen))
			return -1;
		break;
	case WL_USER:
		w->name = "user";
		w->in_bytes = p->in_bytes;
		w->out_bytes = p->out_bytes;
		w->elems = (uint32_t)(p->in_bytes / 4);
		memcpy(w->groups, p->groups, sizeof(w->groups));
		if (gpupipe_load_shader(p->shader_file, &w->shader)) {
			snprintf(err, errlen, "%s", gpupipe_errmsg());
			return -1;
		}
		break;
	}
	if (!w->shader)
		return -1;
	if (make_pool(w)) {
		snprintf(err, errlen, "out of memory for the %s workload's "
			 "inputs", w->name);
		return -1;
	}
	return 0;
}

void workload_fini(struct workload *w)
{
	unsigned k;

	for (k = 0; k < w->npool; k++) {
		if (w->pool_in)
			free(w->pool_in[k]);
		if (w->pool_ref)
			free(w->pool_ref[k]);
	}
	free(w->pool_in);
	free(w->pool_ref);
	free(w->pool_sum);
	free(w->weights);
	free(w->weights_t);
	free(w->shader);
	free(w->ref_hash);
	memset(w, 0, sizeof(*w));
}

void workload_prep(const struct workload *w, uint64_t id, void *in,
		   uint32_t *params, uint32_t *groups, bool corrupt)
{
	memcpy(in, w->pool_in[id % w->npool], w->in_bytes);
	params[0] = item_tag(id);
	params[1] = w->param1;
	params[2] = w->elems;
	params[3] = corrupt ? 1u : 0u;
	memcpy(groups, w->groups, sizeof(w->groups));
	if (w->prep_iters)
		atomic_store_explicit(&cpu_sink, cpu_work(w->prep_iters, id),
				      memory_order_relaxed);
}

static uint64_t hash_bytes(const void *p, size_t n)
{
	const uint8_t *b = p;
	uint64_t h = 0xcbf29ce484222325ull;
	size_t i;

	for (i = 0; i < n; i++)
		h = (h ^ b[i]) * 0x100000001b3ull;
	return h;
}

static bool check_sgemm(const struct workload *w, uint64_t id,
			const float *c, bool full)
{
	const float *a = w->pool_in[id % w->npool];
	const float *bt = w->weights_t;
	uint32_t n = w->param1, samples = full ? 256 : 16, s;
	uint64_t seed = id * 31 + 7;

	for (s = 0; s < samples; s++) {
		/* Spread over the matrix; (1, 2) is where corruption lands. */
		uint32_t row = s == 0 ? 1 : (uint32_t)(splitmix(&seed) % n);
		uint32_t col = s == 0 ? 2 : (uint32_t)(splitmix(&seed) % n);
		double ref = 0, mag = 0;
		uint32_t k;

		for (k = 0; k < n; k++) {
			double t = (double)a[row * n + k] * bt[col * n + k];

			ref += t;
			mag += fabs(t);
		}
		if (fabs((double)c[row * n + col] - ref) > 1e-5 * mag + 1e-6)
			return false;
	}
	return true;
}

bool workload_post(struct workload *w, uint64_t id, const void *out,
		   bool full, bool record_ref)
{
	const uint32_t *hdr = out;
	const uint32_t *y = (const uint32_t *)((const uint8_t *)out + HEADER);
	uint32_t tag = item_tag(id), i;

	if (w->post_iters)
		atomic_store_explicit(&cpu_sink, cpu_work(w->post_iters, id),
				      memory_order_relaxed);
	switch (w->kind) {
	case WL_TINY:
	case WL_STREAM: {
		const uint32_t *ref = w->pool_ref[id % w->npool];
		uint32_t bad = 0, sum = 0;

		if (hdr[0] != tag)
			return false;
		if (!full) {
			/* Element 5 (where corruption lands), then a spread. */
			for (i = 5; i < w->elems; i += 4093)
				bad |= y[i] ^ (ref[i] + tag);
			return !bad;
		}
		/* As the CUDA anchor's post: a word checksum and an exact
		 * compare of every word, in one pass over the output. */
		for (i = 0; i < w->elems; i++) {
			sum += y[i];
			bad |= y[i] ^ (ref[i] + tag);
		}
		return !bad && sum == w->pool_sum[id % w->npool] +
					     w->elems * tag;
	}
	case WL_BALANCED: {
		const uint32_t *x = w->pool_in[id % w->npool];
		/* Each element costs param1 iterations to recompute: two
		 * elements per item, 32 for a full check. */
		uint32_t stride = full ? w->elems / 32 : w->elems / 2;

		if (hdr[0] != tag)
			return false;
		for (i = 5; i < w->elems; i += stride)
			if (y[i] != mix_iter(x[i] ^ tag, w->param1))
				return false;
		return true;
	}
	case WL_SGEMM:
		if (hdr[0] != tag)
			return false;
		return check_sgemm(w, id, (const float *)y, full);
	case WL_USER: {
		uint64_t h = hash_bytes(out, w->out_bytes);

		if (record_ref) {
			if (id < w->ref_cap)
				w->ref_hash[id] = h;
			return true;
		}
		if (!atomic_load(&w->ref_ready) || id >= w->ref_cap)
			return true; /* no reference to compare with */
		return w->ref_hash[id] == h;
	}
	}
	return false;
}
