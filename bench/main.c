/* SPDX-License-Identifier: MIT */
/*
 * gpupipe-bench: setup, calibration, warm-up and the interleaved rounds;
 * options.c reads the command line, summary.c reduces the runs, report.c
 * prints them. See gpupipe-bench(1).
 */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <epoxy/gl.h>

#include "bench.h"

static uint64_t default_items(enum workload_kind k, bool soft)
{
	switch (k) {
	case WL_TINY:
		return soft ? 2000 : 8000;
	case WL_SGEMM:
		return soft ? 20 : 40;
	case WL_BALANCED:
		return soft ? 300 : 4000;
	case WL_STREAM:
		return soft ? 100 : 2000;
	default:
		return soft ? 200 : 2000;
	}
}

/*
 * Size the balanced kernel so that the GPU takes gpu_us per item when
 * items run back to back (as raw runs them): that is the GPU stage's
 * share of a pipeline's time. A kernel that does not fill the GPU takes
 * longer than that alone, because back-to-back dispatches overlap.
 */
static void calibrate_gpu(struct bench *b)
{
	struct workload *w = &b->wl;
	const struct regions *rg = &b->raw_regions;
	unsigned pass, i, n = rg->n < 32 ? rg->n : 32;

	if (w->kind != WL_BALANCED || b->prm.gpu_us <= 0)
		return;
	for (pass = 0; pass < 4; pass++) {
		uint32_t groups[3];
		uint64_t t0, per;

		for (i = 0; i < n; i++)
			workload_prep(w, i, region_in(rg, i),
				      region_params(rg, i), groups, false);
		glFinish();
		t0 = now_ns();
		for (i = 0; i < n; i++) {
			regions_bind(rg, i);
			glDispatchCompute(groups[0], groups[1], groups[2]);
		}
		glFinish();
		per = (now_ns() - t0) / n;
		if (!per)
			break;
		w->param1 = (uint32_t)fmax(1.0, w->param1 * b->prm.gpu_us *
						 1e3 / (double)per);
	}
}

/* Warm-up: the GPU's clocks idle low until it has had work. */
static void warm_up(struct bench *b)
{
	uint64_t t0 = now_ns();
	struct run_result r;
	unsigned m;

	do {
		for (m = 0; m < MODE_COUNT; m++)
			if ((b->prm.modes & (1u << m)) &&
			    (m == MODE_RAW || m == MODE_GPUPIPE ||
			     m == MODE_GPUPIPE_ALL)) {
				run_mode(b, (enum mode)m, false, &r);
				free(r.trace);
			}
	} while ((double)(now_ns() - t0) / 1e9 < b->prm.warmup_s);
}

/* Every mode in every round, plain and with timestamps; keeps the last
 * gpupipe trace in *trace. */
static void run_rounds(struct bench *b, struct samples *s,
		       struct run_result *trace)
{
	bool progress = !b->prm.quiet && isatty(2);
	unsigned round, m;
	int q;

	for (m = 0; m < MODE_COUNT; m++)
		s[m].ok = true;
	for (round = 0; round < b->prm.rounds; round++)
		for (m = 0; m < MODE_COUNT; m++) {
			struct run_result r;

			if (!(b->prm.modes & (1u << m)))
				continue;
			for (q = 0; q < 2; q++) {
				if (progress)
					fprintf(stderr, "\rround %u/%u: %-8s "
						"%-12s", round + 1,
						b->prm.rounds, mode_names[m],
						q ? "(timestamps)" : "");
				run_mode(b, (enum mode)m, q, &r);
				samples_add(&s[m], &r, q,
					    (double)b->prm.items);
				if (r.trace) {
					free(trace->trace);
					*trace = r;
				}
			}
		}
	if (progress)
		fprintf(stderr, "\r%60s\r", "");
}

/* Summaries, the table and the files; the exit status. */
static int finish(struct bench *b, struct samples *s,
		  const struct run_result *trace)
{
	static struct report rep;
	bool all_ok = true;
	unsigned m;
	int ret;

	rep.b = b;
	for (m = 0; m < MODE_COUNT; m++) {
		summarise(b, &s[m], &rep.m[m]);
		if (rep.m[m].ran && !rep.m[m].ok)
			all_ok = false;
	}
	ideal_and_checks(b, s, &rep);
	if (!b->prm.quiet)
		report_print(&rep, stdout);
	if (b->prm.json && report_json(&rep, b->prm.json))
		all_ok = false;
	if (b->prm.csv && report_csv(&rep, b->prm.csv))
		all_ok = false;
	if (b->prm.trace && trace->trace &&
	    report_trace(trace->trace, trace->ntrace, b->prm.trace))
		all_ok = false;
	if (rep.problems[0])
		fprintf(stdout, "SELF-CHECK FAILED:\n%s", rep.problems);
	for (m = 0; m < MODE_COUNT; m++)
		if (rep.m[m].ran && !rep.m[m].ok)
			fprintf(stdout, "%s: FAILED: wrong outputs\n",
				mode_names[m]);
	ret = all_ok && !rep.problems[0] ? 0 : 1;
	fprintf(stdout, "gpupipe-bench: %s\n",
		ret ? "FAILED" : "all modes ran and checked");
	return ret;
}

static int setup(struct bench *b, char *err, size_t errlen)
{
	b->cores = (unsigned)sysconf(_SC_NPROCESSORS_ONLN);
	if (glctx_open(&b->gl, b->prm.display, b->prm.device_index, err,
		       errlen))
		return -1;
	if (!b->prm.items)
		b->prm.items = default_items(b->prm.kind, b->gl.llvmpipe);
	if (workload_init(&b->wl, &b->prm, b->gl.llvmpipe, err, errlen))
		return -1;
	if (b->wl.kind == WL_USER &&
	    !(b->wl.ref_hash = calloc(b->prm.items, sizeof(uint64_t)))) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	return bench_setup_modes(b, err, errlen);
}

static void teardown(struct bench *b)
{
	bench_teardown_modes(b);
	workload_fini(&b->wl);
	glctx_close(&b->gl);
}

int main(int argc, char **argv)
{
	static struct samples s[MODE_COUNT];
	static struct bench b;
	struct run_result trace = { 0 };
	char err[4096];
	int ret;

	ret = parse_args(argc, argv, &b.prm);
	if (ret)
		return ret;
	/* Before the first EGL call: llvmpipe reads it once. */
	if (!getenv("LP_NUM_THREADS"))
		setenv("LP_NUM_THREADS", "0", 0);
	if (setup(&b, err, sizeof(err))) {
		fprintf(stderr, "gpupipe-bench: %s\n", err);
		teardown(&b);
		return 1;
	}
	calibrate_gpu(&b);
	warm_up(&b);
	run_rounds(&b, s, &trace);
	ret = finish(&b, s, &trace);
	free(trace.trace);
	teardown(&b);
	return ret;
}
