/* SPDX-License-Identifier: MIT */
/*
 * gpupipe-bench's figures: each mode's runs reduced to medians and
 * ranges, the ideal bound, and the self-checks that refuse a result the
 * hardware cannot have produced.
 */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* Median of v[0..n), v left as it is. */
static double median(const double *v, unsigned n)
{
	double tmp[MAX_ROUNDS];

	if (!n)
		return 0;
	memcpy(tmp, v, n * sizeof(double));
	qsort(tmp, n, sizeof(double), cmp_double);
	return n % 2 ? tmp[n / 2] : (tmp[n / 2 - 1] + tmp[n / 2]) / 2;
}

/* Median, minimum and maximum of v[0..n), n > 0. */
static void spread(const double *v, unsigned n, double out[3])
{
	unsigned i;

	out[0] = median(v, n);
	out[1] = out[2] = v[0];
	for (i = 1; i < n; i++) {
		out[1] = fmin(out[1], v[i]);
		out[2] = fmax(out[2], v[i]);
	}
}

/* From the runs with timestamps: GPU busy, idle, utilization. */
static void summarise_busy(const struct samples *s, struct mode_summary *out)
{
	out->has_busy = true;
	spread(s->util, s->nq, out->util);
	out->busy_s = median(s->busy, s->nq);
	out->wall_q_s = median(s->wall, s->nq);
	out->idle_s = out->wall_q_s - out->busy_s;
	out->query_overhead = median(s->us_q, s->nq) / out->us_per_item[0] -
			      1;
}

void summarise(const struct bench *b, const struct samples *s,
	       struct mode_summary *out)
{
	double items = (double)b->prm.items;
	unsigned k;

	memset(out, 0, sizeof(*out));
	out->ran = s->n > 0;
	out->ok = s->ok;
	out->runs = s->n + s->nq;
	if (!s->n)
		return;
	spread(s->us, s->n, out->us_per_item);
	out->wall_s = out->us_per_item[0] * items / 1e6;
	out->items_per_s = 1e6 / out->us_per_item[0];
	out->cpu_us_per_item = median(s->cpu, s->n);
	for (k = 0; k < THREAD_ROLES; k++) {
		out->cpu_us[k] = median(s->cpu_role[k], s->n);
		out->sleeps_per_item[k] = median(s->sleeps[k], s->n);
	}
	out->prep_cb_us = median(s->prep_cb, s->n);
	out->done_cb_us = median(s->done_cb, s->n);
	out->fences_per_item = median(s->fences, s->n) / items;
	out->has_latency = s->has_latency;
	if (s->has_latency) {
		out->lat_p50_us = median(s->p50, s->n);
		out->lat_p99_us = median(s->p99, s->n);
	}
	if (s->nq && s->has_busy)
		summarise_busy(s, out);
	if (b->wl.flops > 0)
		out->gflops = b->wl.flops / (out->us_per_item[0] * 1e3);
}

void samples_add(struct samples *s, const struct run_result *r,
		 bool queries, double items)
{
	double us = (double)r->wall_ns / 1e3 / items;
	unsigned i, k;

	if (!r->ok)
		s->ok = false;
	if (queries) {
		i = s->nq++;
		s->us_q[i] = us;
		s->wall[i] = (double)r->wall_ns / 1e9;
		if (r->has_busy) {
			s->has_busy = true;
			s->busy[i] = (double)r->gpu_busy_ns / 1e9;
			s->util[i] = (double)r->gpu_busy_ns /
				     (double)r->wall_ns;
		}
		return;
	}
	i = s->n++;
	s->us[i] = us;
	s->cpu[i] = 0;
	for (k = 0; k < THREAD_ROLES; k++) {
		s->cpu_role[k][i] = (double)r->cpu_ns[k] / 1e3 / items;
		s->cpu[i] += s->cpu_role[k][i];
		s->sleeps[k][i] = (double)r->sleeps[k] / items;
	}
	s->prep_cb[i] = (double)r->prep_cb_ns / 1e3 / items;
	s->done_cb[i] = (double)r->done_cb_ns / 1e3 / items;
	s->fences[i] = (double)r->fences;
	s->has_latency = r->has_latency;
	s->p50[i] = r->lat_p50_us;
	s->p99[i] = r->lat_p99_us;
	s->sprep[i] = r->stage_prep_ns / 1e3;
	s->sgpu[i] = r->stage_gpu_ns / 1e3;
	s->spost[i] = r->stage_post_ns / 1e3;
}

static void problem(struct report *r, const char *fmt, double a, double b,
		    const char *mode)
{
	size_t len = strlen(r->problems);

	snprintf(r->problems + len, sizeof(r->problems) - len, fmt, mode, a,
		 b);
	len = strlen(r->problems);
	snprintf(r->problems + len, sizeof(r->problems) - len, "\n");
}

static double min_of(const double *v, unsigned n)
{
	double x = v[0];
	unsigned i;

	for (i = 1; i < n; i++)
		x = fmin(x, v[i]);
	return x;
}

/*
 * The physical limit: the slowest stage, each stage at the best the run
 * showed it can do (noise only ever slows a stage down). Prep and post
 * come from the sync run's stage times; the GPU stage from raw, its floor
 * (sync's glFinish-bracketed time includes launch latency that pipelining
 * hides), or from sync's GPU stage if that was faster (on llvmpipe, raw's
 * fresh regions can be slower than sync's cache-hot one). Returns that
 * GPU stage, the GPU's best showing per item.
 */
static double ideal_bound(const struct bench *b, const struct samples *sy,
			  struct report *rep)
{
	unsigned cores = b->cores;
	unsigned posts = b->prm.post_threads ? b->prm.post_threads : 1;
	double pool = b->prm.prep_threads < cores ? b->prm.prep_threads
						  : cores;
	double post_pool = posts < cores ? posts : cores;
	double prep = min_of(sy->sprep, sy->n), gpu = min_of(sy->sgpu, sy->n);
	double post = min_of(sy->spost, sy->n);

	rep->stage_prep_us = prep;
	rep->stage_gpu_us = gpu;
	rep->stage_post_us = post;
	if (rep->m[MODE_RAW].ran)
		gpu = fmin(gpu, rep->m[MODE_RAW].us_per_item[1]);
	rep->ideal_us = prep / pool;
	rep->ideal_bound = "prep";
	if (gpu > rep->ideal_us) {
		rep->ideal_us = gpu;
		rep->ideal_bound = "gpu";
	}
	if (post / post_pool > rep->ideal_us) {
		rep->ideal_us = post / post_pool;
		rep->ideal_bound = "post";
	}
	/* On a software renderer the "GPU" is CPU work too. */
	if (b->gl.llvmpipe && (prep + gpu + post) / cores > rep->ideal_us) {
		rep->ideal_us = (prep + gpu + post) / cores;
		rep->ideal_bound = "cpu cores";
	}
	return gpu;
}

/* A result the hardware cannot have produced is an error, not a figure. */
static void self_checks(const struct bench *b, struct report *rep,
			double gpu_best_us)
{
	unsigned devs = b->info_all.ndevices ? b->info_all.ndevices : 1, m;
	double best_gflops = 0, scale;

	if (b->wl.flops > 0 && gpu_best_us > 0)
		best_gflops = b->wl.flops / (gpu_best_us * 1e3);
	for (m = 0; m < MODE_COUNT; m++) {
		const struct mode_summary *ms = &rep->m[m];

		if (!ms->ran)
			continue;
		if (ms->has_busy && ms->util[2] > 1.01)
			problem(rep, "%s: GPU busy exceeds wall time "
				"(utilization %.3f, limit %.2f)", ms->util[2],
				1.01, mode_names[m]);
		/* Several devices may beat one device's bounds by their
		 * number, no more. */
		scale = m == MODE_GPUPIPE_ALL ? (double)devs : 1.0;
		if (m != MODE_RAW && rep->ideal_us > 0 &&
		    ms->us_per_item[0] < 0.95 * rep->ideal_us / scale)
			problem(rep, "%s: %.3f us per item is faster than the "
				"ideal bound %.3f us by more than 5%%",
				ms->us_per_item[0], rep->ideal_us / scale,
				mode_names[m]);
		if (best_gflops > 0 && ms->gflops > 1.05 * best_gflops * scale)
			problem(rep, "%s: %.1f GFLOP/s exceeds the GPU's best "
				"showing, %.1f, by more than 5%%", ms->gflops,
				best_gflops * scale, mode_names[m]);
	}
}

void ideal_and_checks(const struct bench *b, const struct samples *s,
		      struct report *rep)
{
	const struct mode_summary *sync = &rep->m[MODE_SYNC];
	double gpu_best_us = 0;
	unsigned m;

	rep->ideal_us = 0;
	if (s[MODE_SYNC].n)
		gpu_best_us = ideal_bound(b, &s[MODE_SYNC], rep);
	rep->gpu_best_us = gpu_best_us;
	for (m = 0; m < MODE_COUNT; m++) {
		struct mode_summary *ms = &rep->m[m];

		if (!ms->ran)
			continue;
		if (sync->ran)
			ms->ratio_sync = sync->us_per_item[0] /
					 ms->us_per_item[0];
		ms->ratio_ideal = rep->ideal_us / ms->us_per_item[0];
	}
	self_checks(b, rep, gpu_best_us);
}
