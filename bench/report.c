/* SPDX-License-Identifier: MIT */
/* gpupipe-bench's outputs: the table, JSON, CSV and a Chrome trace. */
#include "config.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "bench.h"

/* The default output fits this many columns; --wide does not try. */
#define COLUMNS 100

static const char *wait_name(const struct bench *b)
{
	if (!b->pipe && !b->pipe_all)
		return "-";
	return b->info.wait == GPUPIPE_WAIT_BLOCK ? "block" : "signalled";
}

static const char *batch_name(const struct params *p, char *buf, size_t n)
{
	if (!p->batch)
		return "auto";
	snprintf(buf, n, "%u", p->batch);
	return buf;
}

/* Prints s broken at spaces into lines of at most COLUMNS, continuation
 * lines indented by indent. */
static void print_wrapped(FILE *f, const char *s, int indent)
{
	size_t col = 0, len;
	bool start = true;

	for (s += strspn(s, " "); *s; s += len, s += strspn(s, " ")) {
		len = strcspn(s, " ");
		if (!start && col + 1 + len > COLUMNS) {
			col = (size_t)fprintf(f, "\n%*s", indent, "") - 1;
			start = true;
		}
		if (!start) {
			fputc(' ', f);
			col++;
		}
		fwrite(s, 1, len, f);
		col += len;
		start = false;
	}
	fputc('\n', f);
}

/* The stage that sets the ideal bound (its name in the JSON), in words. */
static const char *bound_name(const char *bound)
{
	static const struct {
		const char *bound, *words;
	} names[] = {
		{ "prep", "prep" }, { "gpu", "the GPU" }, { "post", "post" },
		{ "cpu cores", "the CPU cores" },
	};
	size_t i;

	for (i = 0; bound && i < sizeof(names) / sizeof(names[0]); i++)
		if (!strcmp(bound, names[i].bound))
			return names[i].words;
	return bound ? bound : "-";
}

/* What ran, on what, and what the stages cost alone: a newcomer's view. */
static void describe(const struct report *r, FILE *f)
{
	const struct bench *b = r->b;
	const struct params *p = &b->prm;
	char line[512], batch[16];
	int n;

	n = snprintf(line, sizeof(line), "workload %s: %llu items x %u "
		     "rounds", b->wl.name, (unsigned long long)p->items,
		     p->rounds);
	if (b->wl.kind == WL_SGEMM)
		snprintf(line + n, sizeof(line) - n, ", N %u", b->wl.param1);
	if (b->wl.kind == WL_BALANCED)
		snprintf(line + n, sizeof(line) - n, "; per item, prep %.0f "
			 "us, GPU %.0f us, post %.0f us of work", p->prep_us,
			 p->gpu_us, p->post_us);
	print_wrapped(f, line, 2);
	snprintf(line, sizeof(line), "renderer: %s, OpenGL %s; %u CPU cores",
		 b->gl.renderer, b->gl.version, b->cores);
	print_wrapped(f, line, 2);
	if (b->pipe || b->pipe_all) {
		n = snprintf(line, sizeof(line), "gpupipe: depth %u, %u prep "
			     "threads, batch %s, wait %s, ", p->depth,
			     p->prep_threads,
			     batch_name(p, batch, sizeof(batch)), wait_name(b));
		if (p->post_threads)
			snprintf(line + n, sizeof(line) - n, "completions "
				 "on %u post threads", p->post_threads);
		else
			snprintf(line + n, sizeof(line) - n, "completions "
				 "in order");
		print_wrapped(f, line, 2);
	}
	if (r->ideal_us <= 0)
		return;
	snprintf(line, sizeof(line), "stages, one item at a time (sync, best "
		 "round): prep %.2f us, GPU %.2f us, post %.2f us",
		 r->stage_prep_us, r->stage_gpu_us, r->stage_post_us);
	print_wrapped(f, line, 2);
	if (r->m[MODE_RAW].ran)
		fprintf(f, "GPU alone, back to back (raw, best round): %.2f us "
			"per item\n", r->m[MODE_RAW].us_per_item[1]);
	snprintf(line, sizeof(line), "ideal bound (the slowest stage at its "
		 "best): %.2f us per item, set by %s", r->ideal_us,
		 bound_name(r->ideal_bound));
	print_wrapped(f, line, 2);
}

/* Two header lines, so that each column says what it holds. */
static void table_header(FILE *f)
{
	fprintf(f, "\n%-11s %10s %9s %8s %8s %7s %10s %17s %7s\n", "",
		"time per", "items", "speed", "% of", "GPU", "CPU us",
		"latency (us)", "outputs");
	fprintf(f, "%-11s %10s %9s %8s %8s %7s %10s %17s %7s\n", "mode",
		"item (us)", "per s", "vs sync", "ideal", "busy", "per item",
		"median / p99", "checked");
}

static void table_row(const struct report *r, unsigned m, FILE *f)
{
	const struct mode_summary *s = &r->m[m];
	char sync[16] = "-", ideal[16] = "-", busy[16] = "-", lat[32] = "-";

	if (s->ratio_sync > 0)
		snprintf(sync, sizeof(sync), "%.2fx", s->ratio_sync);
	/* raw does no prep or post: the bound is not its to meet. */
	if (m != MODE_RAW && s->ratio_ideal > 0)
		snprintf(ideal, sizeof(ideal), "%.0f%%", 100 * s->ratio_ideal);
	if (s->has_busy)
		snprintf(busy, sizeof(busy), "%.0f%%", 100 * s->util[0]);
	if (s->has_latency)
		snprintf(lat, sizeof(lat), "%.0f / %.0f", s->lat_p50_us,
			 s->lat_p99_us);
	fprintf(f, "%-11s %10.2f %9.0f %8s %8s %7s %10.2f %17s %7s\n",
		mode_names[m], s->us_per_item[0], s->items_per_s, sync, ideal,
		busy, s->cpu_us_per_item, lat, "ok");
}

static void table(const struct report *r, FILE *f)
{
	unsigned m;

	table_header(f);
	for (m = 0; m < MODE_COUNT; m++) {
		if (!r->m[m].ran)
			continue;
		if (r->m[m].ok)
			table_row(r, m, f);
		else
			fprintf(f, "%-11s FAILED: wrong outputs\n",
				mode_names[m]);
	}
	fprintf(f, "raw: the GPU alone, no prep or post. sync: one item at a "
		"time, waiting for the GPU.\nring: one thread, a fence per "
		"item. gpupipe: the library, its stages on their own "
		"threads.\n");
}

/* The old, full table: every figure with its range. */
static void describe_wide(const struct report *r, FILE *f)
{
	const struct bench *b = r->b;
	const struct params *p = &b->prm;
	char batch[16];

	fprintf(f, "gpupipe-bench: workload %s, %llu items x %u rounds, depth "
		"%u, %u prep threads, batch %s, wait %s, %u post threads, "
		"check %s", b->wl.name, (unsigned long long)p->items,
		p->rounds, p->depth, p->prep_threads,
		batch_name(p, batch, sizeof(batch)), wait_name(b),
		p->post_threads,
		p->check == CHECK_FULL ? "full" :
		p->check == CHECK_SAMPLED ? "sampled" : "auto");
	if (b->wl.kind == WL_SGEMM)
		fprintf(f, ", N %u", b->wl.param1);
	if (b->wl.kind == WL_BALANCED)
		fprintf(f, ", prep %.0f us, post %.0f us, gpu %.0f us (%u "
			"iterations)", p->prep_us, p->post_us, p->gpu_us,
			b->wl.param1);
	fprintf(f, "\nrenderer: %s | %s | %s | %u CPU cores\n",
		b->gl.renderer, b->gl.version, b->gl.vendor, b->cores);
	if (r->ideal_us > 0)
		fprintf(f, "stages (sync run, per item, best round): prep %.2f "
			"us, gpu %.2f us, post %.2f us; gpu floor (raw, best "
			"round) %.2f us; ideal %.2f us per item (bound: %s)\n",
			r->stage_prep_us, r->stage_gpu_us, r->stage_post_us,
			r->m[MODE_RAW].ran ? r->m[MODE_RAW].us_per_item[1] : 0,
			r->ideal_us, r->ideal_bound);
}

static void table_wide(const struct report *r, FILE *f)
{
	unsigned m;

	fprintf(f, "\n%-11s %22s %10s %19s %8s %7s %11s %17s %8s %7s %7s "
		"%s\n", "mode", "us/item med (min-max)", "items/s",
		"GPU util (min-max)", "idle s", "q-ovh", "cpu us/item",
		"lat p50/p99 us", "fence/it", "x sync", "x ideal", "check");
	for (m = 0; m < MODE_COUNT; m++) {
		const struct mode_summary *s = &r->m[m];
		char util[32] = "-", lat[32] = "-", idle[16] = "-",
		     ovh[16] = "-";

		if (!s->ran)
			continue;
		if (!s->ok) {
			fprintf(f, "%-11s FAILED: wrong outputs\n",
				mode_names[m]);
			continue;
		}
		if (s->has_busy) {
			snprintf(util, sizeof(util), "%.3f (%.3f-%.3f)",
				 s->util[0], s->util[1], s->util[2]);
			snprintf(idle, sizeof(idle), "%.4f", s->idle_s);
			snprintf(ovh, sizeof(ovh), "%+.1f%%",
				 100 * s->query_overhead);
		}
		if (s->has_latency)
			snprintf(lat, sizeof(lat), "%.1f/%.1f", s->lat_p50_us,
				 s->lat_p99_us);
		fprintf(f, "%-11s %8.3f (%5.3f-%5.3f) %10.0f %19s %8s %7s "
			"%11.3f %17s %8.3f %7.2f %7.2f ok\n", mode_names[m],
			s->us_per_item[0], s->us_per_item[1], s->us_per_item[2],
			s->items_per_s, util, idle, ovh, s->cpu_us_per_item,
			lat, s->fences_per_item, s->ratio_sync, s->ratio_ideal);
	}
}

/* One figure per thread role, as library_lines prints them. */
static void role_line(FILE *f, const char *what,
		      const double v[THREAD_ROLES])
{
	fprintf(f, "gpupipe threads, %s: pusher %.3f, prep %.3f, submit %.3f, "
		"readback+post %.3f\n", what, v[ROLE_MAIN], v[ROLE_PREP],
		v[ROLE_SUBMIT], v[ROLE_READBACK]);
}

/* The library's own counters, after the last gpupipe run. */
static void library_lines(const struct report *r, FILE *f)
{
	const struct gpupipe_stats *st = &r->b->last_stats;
	const struct mode_summary *g = &r->m[MODE_GPUPIPE];
	double nb = st->batches ? (double)st->batches : 1;

	role_line(f, "CPU us per item", g->cpu_us);
	role_line(f, "sleeps per item (voluntary context switches, each a "
		  "wake-up)", g->sleeps_per_item);
	fprintf(f, "gpupipe callbacks, us per item (wall time inside them): "
		"prep_cb %.3f, done_cb %.3f\n", g->prep_cb_us, g->done_cb_us);
	fprintf(f, "gpupipe at the end: %u slots, max batch %u, batch target "
		"%u, in-flight limit %u, GPU pace %.2f us per item, batch cost "
		"%.2f us; over its life: %llu batches, %.2f us closing and "
		"%.2f us polling per batch, %.2f polls per batch; reset "
		"notification %s\n", r->b->info.slots, r->b->info.max_batch,
		st->batch_target, st->in_flight_limit,
		(double)st->gpu_ns_per_item / 1e3,
		(double)st->batch_cost_ns / 1e3,
		(unsigned long long)st->batches,
		(double)st->close_ns / 1e3 / nb,
		(double)st->poll_ns / 1e3 / nb, (double)st->fence_polls / nb,
		r->b->info.reset_notification ? "on" : "off");
}

void report_summary(const struct report *r, char *buf, size_t n)
{
	const struct bench *b = r->b;
	const struct mode_summary *g = &r->m[MODE_GPUPIPE];
	unsigned want = b->prm.prep_threads + 2 + b->prm.post_threads;
	size_t len = 0;

	buf[0] = 0;
	if (!g->ran || !g->ok)
		return;
	if (g->ratio_sync >= 1)
		len += snprintf(buf + len, n - len, "gpupipe ran %.2f times as "
				"fast as the synchronous loop", g->ratio_sync);
	else if (g->ratio_sync > 0)
		len += snprintf(buf + len, n - len, "gpupipe ran slower than "
				"the synchronous loop (%.2f times its speed)",
				g->ratio_sync);
	else
		len += snprintf(buf + len, n - len, "gpupipe took %.2f us per "
				"item", g->us_per_item[0]);
	if (r->ideal_us > 0 && len < n)
		len += snprintf(buf + len, n - len, ", at %.0f%% of the ideal "
				"bound (%.2f us per item, set by %s)",
				100 * g->ratio_ideal, r->ideal_us,
				bound_name(r->ideal_bound));
	if (len < n)
		len += snprintf(buf + len, n - len, ".");
	/* The pipeline wants a core for each prep thread, for submit (the
	 * "GPU" runs there on llvmpipe), for readback and each post thread. */
	if (b->gl.llvmpipe && b->cores < want && len < n)
		snprintf(buf + len, n - len, " On llvmpipe with %u CPU cores, "
			 "the CPU runs both the \"GPU\" and the pipeline's %u "
			 "threads, so the pipeline cannot overlap much.",
			 b->cores, want);
}

void report_print(const struct report *r, FILE *f)
{
	char words[1024];
	unsigned m;

	if (r->b->prm.wide) {
		describe_wide(r, f);
		table_wide(r, f);
	} else {
		describe(r, f);
		table(r, f);
	}
	if (r->b->wl.flops > 0)
		for (m = 0; m < MODE_COUNT; m++)
			if (r->m[m].ran && r->m[m].ok)
				fprintf(f, "%s: %.1f GFLOP/s\n", mode_names[m],
					r->m[m].gflops);
	if (r->m[MODE_GPUPIPE].ran && r->m[MODE_GPUPIPE_ALL].ran &&
	    r->m[MODE_GPUPIPE_ALL].us_per_item[0] > 0)
		fprintf(f, "scaling: gpupipe-all on %u devices runs %.2fx the "
			"items per second of gpupipe on device %u\n",
			r->b->info_all.ndevices,
			r->m[MODE_GPUPIPE].us_per_item[0] /
				r->m[MODE_GPUPIPE_ALL].us_per_item[0],
			r->b->info.device_index);
	if (r->b->prm.wide && r->m[MODE_GPUPIPE].ran)
		library_lines(r, f);
	report_summary(r, words, sizeof(words));
	if (words[0]) {
		fputc('\n', f);
		print_wrapped(f, words, 0);
	}
}

static void json_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			fputc('\\', f);
		if ((unsigned char)*s < 0x20)
			fprintf(f, "\\u%04x", *s);
		else
			fputc(*s, f);
	}
	fputc('"', f);
}

static void json_params(const struct report *r, FILE *f)
{
	const struct bench *b = r->b;
	const struct params *p = &b->prm;
	const struct mode_summary *one = &r->m[MODE_GPUPIPE];
	const struct mode_summary *all = &r->m[MODE_GPUPIPE_ALL];

	fprintf(f, ",\n  \"params\": {\"workload\": \"%s\", \"items\": %llu, "
		"\"rounds\": %u, \"depth\": %u, \"prep_threads\": %u, "
		"\"batch\": %u, \"wait\": \"%s\", \"post_threads\": %u, "
		"\"check\": %d, \"batch_target_end\": %u, "
		"\"prep_us\": %.1f, \"post_us\": %.1f, "
		"\"gpu_us\": %.1f, \"gpu_iterations\": %u, \"n\": %u, "
		"\"in_bytes\": %zu, \"out_bytes\": %zu, \"cores\": %u, "
		"\"reset_notification\": %u, \"devices\": %u, "
		"\"scaling\": %.4f},\n",
		b->wl.name, (unsigned long long)p->items, p->rounds, p->depth,
		p->prep_threads, p->batch,
		b->info.wait == GPUPIPE_WAIT_BLOCK ? "block" : "signalled",
		p->post_threads, (int)p->check, b->last_stats.batch_target,
		p->prep_us, p->post_us, p->gpu_us,
		b->wl.kind == WL_BALANCED ? b->wl.param1 : 0,
		b->wl.kind == WL_SGEMM ? b->wl.param1 : 0, b->wl.in_bytes,
		b->wl.out_bytes, b->cores, b->info.reset_notification,
		b->info_all.ndevices,
		one->ran && all->ran && all->us_per_item[0] > 0
			? one->us_per_item[0] / all->us_per_item[0] : 0.0);
}

/* ", \"key\": {\"main\": .., ...}": one figure per thread role. */
static void json_roles(FILE *f, const char *key,
		       const double v[THREAD_ROLES])
{
	fprintf(f, ", \"%s\": {\"main\": %.4f, \"prep\": %.4f, "
		"\"submit\": %.4f, \"readback\": %.4f}", key, v[ROLE_MAIN],
		v[ROLE_PREP], v[ROLE_SUBMIT], v[ROLE_READBACK]);
}

static void json_mode(const struct report *r, unsigned m, FILE *f)
{
	const struct mode_summary *s = &r->m[m];

	fprintf(f, "\n    {\"mode\": \"%s\", \"items\": %llu, "
		"\"check\": \"%s\", \"wall_s\": %.6f, "
		"\"us_per_item\": %.4f, \"us_per_item_min\": %.4f, "
		"\"us_per_item_max\": %.4f, \"items_per_s\": %.1f, "
		"\"gpu_busy_s\": %.6f, \"gpu_idle_s\": %.6f, "
		"\"gpu_wall_s\": %.6f, "
		"\"utilization\": %.4f, \"utilization_min\": %.4f, "
		"\"utilization_max\": %.4f, "
		"\"query_overhead\": %.4f, "
		"\"latency_us_p50\": %.2f, \"latency_us_p99\": %.2f, "
		"\"cpu_s_per_item\": %.9f",
		mode_names[m], (unsigned long long)r->b->prm.items,
		s->ok ? "ok" : "FAILED", s->wall_s, s->us_per_item[0],
		s->us_per_item[1], s->us_per_item[2], s->items_per_s,
		s->busy_s, s->idle_s, s->wall_q_s, s->util[0], s->util[1],
		s->util[2], s->query_overhead, s->lat_p50_us, s->lat_p99_us,
		s->cpu_us_per_item / 1e6);
	json_roles(f, "cpu_us_per_item_by_thread", s->cpu_us);
	json_roles(f, "sleeps_per_item_by_thread", s->sleeps_per_item);
	fprintf(f, ", \"callback_us_per_item\": {\"prep_cb\": %.4f, "
		"\"done_cb\": %.4f}", s->prep_cb_us, s->done_cb_us);
	fprintf(f, ", \"fences_per_item\": %.4f, \"gflops\": %.2f, "
		"\"ratio_to_sync\": %.4f, \"ratio_to_ideal\": %.4f}",
		s->fences_per_item, s->gflops, s->ratio_sync, s->ratio_ideal);
}

int report_json(const struct report *r, const char *path)
{
	const struct bench *b = r->b;
	FILE *f = fopen(path, "w");
	char words[1024];
	const char *sep = "";
	unsigned m;

	if (!f) {
		perror(path);
		return -1;
	}
	fprintf(f, "{\n  \"renderer\": ");
	json_str(f, b->gl.renderer);
	fprintf(f, ",\n  \"version\": ");
	json_str(f, b->gl.version);
	fprintf(f, ",\n  \"vendor\": ");
	json_str(f, b->gl.vendor);
	json_params(r, f);
	fprintf(f, "  \"stages_us\": {\"prep\": %.4f, \"gpu\": %.4f, "
		"\"post\": %.4f},\n", r->stage_prep_us, r->stage_gpu_us,
		r->stage_post_us);
	fprintf(f, "  \"modes\": [");
	for (m = 0; m < MODE_COUNT; m++) {
		if (!r->m[m].ran)
			continue;
		fputs(sep, f);
		json_mode(r, m, f);
		sep = ",";
	}
	fprintf(f, "\n  ],\n  \"ideal_us_per_item\": %.4f,\n"
		"  \"ideal_bound\": ", r->ideal_us);
	json_str(f, r->ideal_bound ? r->ideal_bound : "");
	fprintf(f, ",\n  \"gpu_best_us_per_item\": %.4f,\n  \"summary\": ",
		r->gpu_best_us);
	report_summary(r, words, sizeof(words));
	json_str(f, words);
	fprintf(f, ",\n  \"self_check\": ");
	json_str(f, r->problems[0] ? r->problems : "ok");
	fprintf(f, "\n}\n");
	return fclose(f) ? -1 : 0;
}

int report_csv(const struct report *r, const char *path)
{
	const struct bench *b = r->b;
	FILE *f = fopen(path, "w");
	unsigned m;

	if (!f) {
		perror(path);
		return -1;
	}
	fprintf(f, "workload,renderer,mode,items,check,us_per_item,"
		"us_per_item_min,us_per_item_max,items_per_s,gpu_busy_s,"
		"gpu_idle_s,utilization,query_overhead,latency_us_p50,"
		"latency_us_p99,cpu_us_per_item,fences_per_item,gflops,"
		"ratio_to_sync,ratio_to_ideal,ideal_us_per_item\n");
	for (m = 0; m < MODE_COUNT; m++) {
		const struct mode_summary *s = &r->m[m];

		if (!s->ran)
			continue;
		fprintf(f, "%s,\"%s\",%s,%llu,%s,%.4f,%.4f,%.4f,%.1f,%.6f,"
			"%.6f,%.4f,%.4f,%.2f,%.2f,%.4f,%.4f,%.2f,%.4f,%.4f,"
			"%.4f\n", b->wl.name, b->gl.renderer, mode_names[m],
			(unsigned long long)b->prm.items,
			s->ok ? "ok" : "FAILED", s->us_per_item[0],
			s->us_per_item[1], s->us_per_item[2], s->items_per_s,
			s->busy_s, s->idle_s, s->util[0], s->query_overhead,
			s->lat_p50_us, s->lat_p99_us, s->cpu_us_per_item,
			s->fences_per_item, s->gflops, s->ratio_sync,
			s->ratio_ideal, r->ideal_us);
	}
	return fclose(f) ? -1 : 0;
}

/* Chrome trace-event format, which Perfetto and chrome://tracing open. */
enum { TID_PUSH = 1, TID_SUBMIT, TID_READBACK, TID_GPU, TID_PREP = 10 };

static void span(FILE *f, bool *first, const char *name, uint64_t id,
		 int tid, uint64_t t0, uint64_t start, uint64_t end)
{
	if (!start || end < start)
		return;
	fprintf(f, "%s\n{\"name\":\"%s %llu\",\"ph\":\"X\",\"pid\":1,"
		"\"tid\":%d,\"ts\":%.3f,\"dur\":%.3f}", *first ? "" : ",",
		name, (unsigned long long)id, tid,
		(double)(start - t0) / 1e3, (double)(end - start) / 1e3);
	*first = false;
}

int report_trace(const struct gpupipe_trace_record *rec, size_t n,
		 const char *path)
{
	static const char *const names[] = { "", "application (push)",
					     "gp-submit", "gp-readback",
					     "GPU" };
	FILE *f = fopen(path, "w");
	uint64_t t0 = n ? rec[0].push_ns : 0, prev_batch = UINT64_MAX;
	uint32_t preps = 0;
	bool first = true;
	size_t i;
	int t;

	if (!f) {
		perror(path);
		return -1;
	}
	for (i = 0; i < n; i++)
		if (rec[i].prep_thread + 1 > preps)
			preps = rec[i].prep_thread + 1;
	fprintf(f, "{\"displayTimeUnit\":\"ns\",\"traceEvents\":[");
	for (t = TID_PUSH; t <= TID_GPU; t++) {
		fprintf(f, "%s\n{\"name\":\"thread_name\",\"ph\":\"M\","
			"\"pid\":1,\"tid\":%d,\"args\":{\"name\":\"%s\"}}",
			first ? "" : ",", t, names[t]);
		first = false;
	}
	for (t = 0; t < (int)preps; t++)
		fprintf(f, ",\n{\"name\":\"thread_name\",\"ph\":\"M\","
			"\"pid\":1,\"tid\":%d,"
			"\"args\":{\"name\":\"gp-prep%d\"}}",
			TID_PREP + t, t);
	for (i = 0; i < n; i++) {
		const struct gpupipe_trace_record *r = &rec[i];

		span(f, &first, "push", r->seq, TID_PUSH, t0, r->push_ns,
		     r->push_ns + 100);
		span(f, &first, "prep", r->seq, TID_PREP + (int)r->prep_thread,
		     t0, r->prep_start_ns, r->prep_end_ns);
		span(f, &first, "dispatch", r->seq, TID_SUBMIT, t0,
		     r->dispatch_ns, r->dispatch_ns + 100);
		span(f, &first, "gpu", r->seq, TID_GPU, t0, r->gpu_start_ns,
		     r->gpu_end_ns);
		if (r->batch != prev_batch) {
			/* One fence per batch: from its flush to the moment
			 * readback saw it signalled. */
			span(f, &first, "fence", r->batch, TID_READBACK, t0,
			     r->fence_ns, r->signalled_ns);
			prev_batch = r->batch;
		}
		span(f, &first, "done", r->seq, TID_READBACK, t0,
		     r->done_start_ns, r->done_end_ns);
	}
	fprintf(f, "\n]}\n");
	return fclose(f) ? -1 : 0;
}
