/* SPDX-License-Identifier: MIT */
/*
 * gpupipe-bench: options, calibration, warm-up, interleaved rounds,
 * summaries and self-checks. See gpupipe-bench(1).
 */
#include "config.h"

#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <epoxy/gl.h>

#include "bench.h"

static const char usage[] =
"usage: gpupipe-bench [options]\n"
"\n"
"Runs the same items through raw, sync, ring and gpupipe modes, interleaved\n"
"over several rounds, checks every output, and prints what each costs.\n"
"\n"
"  --workload NAME     tiny (default), sgemm, balanced or stream\n"
"  --shader FILE       your own compute shader instead (needs --in-bytes,\n"
"                      --out-bytes, --groups); outputs are checked against\n"
"                      the sync mode's\n"
"  --in-bytes N        input bytes per item (with --shader)\n"
"  --out-bytes N       output bytes per item (with --shader)\n"
"  --groups X,Y,Z      work groups per dispatch (with --shader)\n"
"  --items N           items per run (default: per workload and renderer)\n"
"  --rounds N          rounds of every mode (default 5)\n"
"  --modes LIST        any of raw,sync,ring,gpupipe (default all)\n"
"  --depth N           ring sets and gpupipe depth (default 3)\n"
"  --prep-threads N    gpupipe prep threads (default 2)\n"
"  --batch N|auto      gpupipe items per fence: fixed N, or adaptive\n"
"                      (default auto)\n"
"  --batch-latency-us N  adaptive batches: latency budget per batch in\n"
"                      flight (median latency <= depth x N)\n"
"  --wait block|signalled  how gpupipe's readback learns of completion\n"
"                      (default: the library's, signalled)\n"
"  --post-threads N    gpupipe completions on N post threads, unordered\n"
"                      (default 0: in order on the readback thread)\n"
"  --check auto|sampled|full  how much of each output post checks: auto\n"
"                      checks small outputs fully and large ones at\n"
"                      spread elements, one item in 64 fully\n"
"  --prep-us N         balanced: CPU work in prep, microseconds (100)\n"
"  --post-us N         balanced: CPU work in post, microseconds (100)\n"
"  --gpu-us N          balanced: GPU time per item, microseconds (100)\n"
"  --n N               sgemm: matrix size (2048; 128 on llvmpipe)\n"
"  --device N          use EGL device N (eglQueryDevicesEXT) instead of\n"
"                      the default display\n"
"  --list-devices      print the host's EGL devices and exit\n"
"  --devices all|N,N.. gpupipe on the first device and gpupipe-all on all\n"
"                      of these (all: every hardware device), with the\n"
"                      scaling ratio; a device may repeat\n"
"  --no-reset-notification  gpupipe's contexts without GPU reset\n"
"                      notification (GPUPIPE_NO_RESET_NOTIFICATION)\n"
"  --warmup-s S        GPU warm-up before the first round (default 0.5)\n"
"  --json FILE         write the results as JSON\n"
"  --csv FILE          write one CSV row per mode\n"
"  --trace FILE        write the last gpupipe run as a Chrome trace\n"
"  --corrupt LIST      self-test: make the shader write one wrong element\n"
"                      of one item in these modes; they must report FAILED\n"
"  --quiet             print only the final verdict line\n"
"  --help              this text\n"
"\n"
"Exit status: 0 every mode ran and checked; 1 a mode FAILED or a\n"
"self-check broke; 2 bad usage.\n";

static int usage_error(const char *fmt, const char *arg)
{
	fprintf(stderr, "gpupipe-bench: ");
	fprintf(stderr, fmt, arg);
	fprintf(stderr, "\nTry 'gpupipe-bench --help'.\n");
	return 2;
}

static int parse_u64(const char *s, uint64_t *out)
{
	char *end;

	if (!s || !*s || *s == '-')
		return -1;
	*out = strtoull(s, &end, 10);
	return *end ? -1 : 0;
}

static int parse_modes(const char *s, unsigned *out)
{
	char buf[128], *tok, *save = NULL;
	unsigned m, mask = 0;

	snprintf(buf, sizeof(buf), "%s", s);
	for (tok = strtok_r(buf, ",", &save); tok;
	     tok = strtok_r(NULL, ",", &save)) {
		for (m = 0; m < MODE_COUNT; m++)
			if (!strcmp(tok, mode_names[m]))
				break;
		if (m == MODE_COUNT)
			return -1;
		mask |= 1u << m;
	}
	*out = mask;
	return mask ? 0 : -1;
}

/* --list-devices: one line per EGL device, as gpupipe_list_devices
 * reports it. */
static int list_devices(void)
{
	struct gpupipe_device *d;
	unsigned n = 0, i;

	if (gpupipe_list_devices(NULL, 0, &n)) {
		fprintf(stderr, "gpupipe-bench: %s\n", gpupipe_errmsg());
		return 1;
	}
	d = calloc(n ? n : 1, sizeof(*d));
	if (!d || gpupipe_list_devices(d, n, &n)) {
		fprintf(stderr, "gpupipe-bench: %s\n",
			d ? gpupipe_errmsg() : "out of memory");
		free(d);
		return 1;
	}
	printf("%u EGL device(s); --device N picks one\n", n);
	printf("%-6s %-9s %-5s %-22s %-10s %s\n", "device", "kind", "cuda",
	       "drm node", "driver", "renderer");
	for (i = 0; i < n; i++) {
		char cuda[16] = "-";

		if (d[i].cuda_device >= 0)
			snprintf(cuda, sizeof(cuda), "%d", d[i].cuda_device);
		printf("%-6u %-9s %-5s %-22s %-10s %s\n", d[i].index,
		       d[i].software ? "software" : "hardware", cuda,
		       d[i].drm_node[0] ? d[i].drm_node : "-",
		       d[i].driver[0] ? d[i].driver : "-",
		       d[i].renderer[0] ? d[i].renderer : "-");
	}
	free(d);
	return 0;
}

/* --devices all | N,N,...: the devices of gpupipe-all. */
static int parse_devices(const char *a, struct params *p)
{
	char buf[256], *tok, *save = NULL;
	uint64_t v;

	p->multi = true;
	p->ndevices = 0;
	if (!strcmp(a, "all"))
		return 0;
	snprintf(buf, sizeof(buf), "%s", a);
	for (tok = strtok_r(buf, ",", &save); tok;
	     tok = strtok_r(NULL, ",", &save)) {
		if (parse_u64(tok, &v) || v > 63 ||
		    p->ndevices == GPUPIPE_MAX_DEVICES)
			return -1;
		p->devices[p->ndevices++] = (unsigned)v;
	}
	return p->ndevices ? 0 : -1;
}

static int parse_args(int argc, char **argv, struct params *p)
{
	enum { O_WL = 256, O_SHADER, O_IN, O_OUT, O_GROUPS, O_ITEMS, O_ROUNDS,
	       O_MODES, O_DEPTH, O_PREP, O_BATCH, O_PREPUS, O_POSTUS, O_GPUUS,
	       O_N, O_JSON, O_CSV, O_TRACE, O_QUIET, O_DEVICE, O_CORRUPT,
	       O_WARMUP, O_HELP, O_WAIT, O_POST, O_CHECK, O_BLAT,
	       O_LIST_DEVICES, O_NO_RESET, O_DEVICES };
	static const struct option opts[] = {
		{ "workload", required_argument, NULL, O_WL },
		{ "shader", required_argument, NULL, O_SHADER },
		{ "in-bytes", required_argument, NULL, O_IN },
		{ "out-bytes", required_argument, NULL, O_OUT },
		{ "groups", required_argument, NULL, O_GROUPS },
		{ "items", required_argument, NULL, O_ITEMS },
		{ "rounds", required_argument, NULL, O_ROUNDS },
		{ "modes", required_argument, NULL, O_MODES },
		{ "depth", required_argument, NULL, O_DEPTH },
		{ "prep-threads", required_argument, NULL, O_PREP },
		{ "batch", required_argument, NULL, O_BATCH },
		{ "prep-us", required_argument, NULL, O_PREPUS },
		{ "post-us", required_argument, NULL, O_POSTUS },
		{ "gpu-us", required_argument, NULL, O_GPUUS },
		{ "n", required_argument, NULL, O_N },
		{ "json", required_argument, NULL, O_JSON },
		{ "csv", required_argument, NULL, O_CSV },
		{ "trace", required_argument, NULL, O_TRACE },
		{ "quiet", no_argument, NULL, O_QUIET },
		{ "device", required_argument, NULL, O_DEVICE },
		{ "corrupt", required_argument, NULL, O_CORRUPT },
		{ "warmup-s", required_argument, NULL, O_WARMUP },
		{ "wait", required_argument, NULL, O_WAIT },
		{ "post-threads", required_argument, NULL, O_POST },
		{ "check", required_argument, NULL, O_CHECK },
		{ "batch-latency-us", required_argument, NULL, O_BLAT },
		{ "list-devices", no_argument, NULL, O_LIST_DEVICES },
		{ "no-reset-notification", no_argument, NULL, O_NO_RESET },
		{ "devices", required_argument, NULL, O_DEVICES },
		{ "help", no_argument, NULL, O_HELP },
		{ 0 },
	};
	uint64_t v;
	int c;

	memset(p, 0, sizeof(*p));
	p->kind = WL_TINY;
	p->rounds = 5;
	p->modes = ((1u << MODE_COUNT) - 1) & ~(1u << MODE_GPUPIPE_ALL);
	p->depth = 3;
	p->prep_threads = 2;
	p->batch = 0;
	p->prep_us = p->post_us = p->gpu_us = 100;
	p->warmup_s = 0.5;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		const char *a = optarg;

		switch (c) {
		case O_WL:
			if (!strcmp(a, "tiny"))
				p->kind = WL_TINY;
			else if (!strcmp(a, "sgemm"))
				p->kind = WL_SGEMM;
			else if (!strcmp(a, "balanced"))
				p->kind = WL_BALANCED;
			else if (!strcmp(a, "stream"))
				p->kind = WL_STREAM;
			else
				return usage_error("--workload '%s': use tiny, "
						   "sgemm, balanced or stream",
						   a);
			break;
		case O_SHADER:
			p->shader_file = a;
			p->kind = WL_USER;
			break;
		case O_IN:
			if (parse_u64(a, &v) || !v)
				return usage_error("--in-bytes '%s': a byte "
						   "count above 0", a);
			p->in_bytes = v;
			break;
		case O_OUT:
			if (parse_u64(a, &v) || !v)
				return usage_error("--out-bytes '%s': a byte "
						   "count above 0", a);
			p->out_bytes = v;
			break;
		case O_GROUPS:
			if (sscanf(a, "%u,%u,%u", &p->groups[0],
				   &p->groups[1], &p->groups[2]) != 3 ||
			    !p->groups[0] || !p->groups[1] || !p->groups[2])
				return usage_error("--groups '%s': three counts "
						   "above 0, as X,Y,Z", a);
			break;
		case O_ITEMS:
			if (parse_u64(a, &v) || !v || v > 100000000)
				return usage_error("--items '%s': 1 to "
						   "100000000", a);
			p->items = v;
			break;
		case O_ROUNDS:
			if (parse_u64(a, &v) || !v || v > 1000)
				return usage_error("--rounds '%s': 1 to 1000",
						   a);
			p->rounds = (unsigned)v;
			break;
		case O_MODES:
			if (parse_modes(a, &p->modes))
				return usage_error("--modes '%s': a list of "
						   "raw,sync,ring,gpupipe", a);
			break;
		case O_DEPTH:
			if (parse_u64(a, &v) || !v || v > GPUPIPE_MAX_DEPTH)
				return usage_error("--depth '%s': 1 to 256", a);
			p->depth = (unsigned)v;
			break;
		case O_PREP:
			if (parse_u64(a, &v) || !v ||
			    v > GPUPIPE_MAX_PREP_THREADS)
				return usage_error("--prep-threads '%s': 1 to "
						   "64", a);
			p->prep_threads = (unsigned)v;
			break;
		case O_BATCH:
			if (!strcmp(a, "auto")) {
				p->batch = 0;
				break;
			}
			if (parse_u64(a, &v) || !v || v > GPUPIPE_MAX_BATCH)
				return usage_error("--batch '%s': 1 to 256, or "
						   "auto", a);
			p->batch = (unsigned)v;
			break;
		case O_BLAT:
			if (parse_u64(a, &v) || !v || v > 10000000)
				return usage_error("--batch-latency-us '%s': 1 "
						   "to 10000000", a);
			p->batch_latency_us = (unsigned)v;
			break;
		case O_WAIT:
			if (!strcmp(a, "block"))
				p->wait = GPUPIPE_WAIT_BLOCK;
			else if (!strcmp(a, "signalled"))
				p->wait = GPUPIPE_WAIT_SIGNALLED;
			else
				return usage_error("--wait '%s': block or "
						   "signalled", a);
			break;
		case O_POST:
			if (parse_u64(a, &v) || v > GPUPIPE_MAX_POST_THREADS)
				return usage_error("--post-threads '%s': 0 to "
						   "64", a);
			p->post_threads = (unsigned)v;
			break;
		case O_CHECK:
			if (!strcmp(a, "auto"))
				p->check = CHECK_AUTO;
			else if (!strcmp(a, "sampled"))
				p->check = CHECK_SAMPLED;
			else if (!strcmp(a, "full"))
				p->check = CHECK_FULL;
			else
				return usage_error("--check '%s': auto, sampled "
						   "or full", a);
			break;
		case O_PREPUS:
		case O_POSTUS:
		case O_GPUUS:
			if (parse_u64(a, &v) || v > 1000000)
				return usage_error("'%s': microseconds, 0 to "
						   "1000000", a);
			*(c == O_PREPUS ? &p->prep_us : c == O_POSTUS ?
			  &p->post_us : &p->gpu_us) = (double)v;
			break;
		case O_N:
			if (parse_u64(a, &v) || !v || v % 16 || v > 16384)
				return usage_error("--n '%s': a multiple of 16, "
						   "at most 16384", a);
			p->n = (unsigned)v;
			break;
		case O_JSON:
			p->json = a;
			break;
		case O_CSV:
			p->csv = a;
			break;
		case O_TRACE:
			p->trace = a;
			break;
		case O_QUIET:
			p->quiet = true;
			break;
		case O_DEVICE:
			if (parse_u64(a, &v) || v > 63)
				return usage_error("--device '%s': an EGL "
						   "device index, 0 to 63", a);
			p->display = GPUPIPE_DISPLAY_DEVICE;
			p->device_index = (unsigned)v;
			break;
		case O_CORRUPT:
			if (parse_modes(a, &p->corrupt))
				return usage_error("--corrupt '%s': a list of "
						   "raw,sync,ring,gpupipe", a);
			break;
		case O_WARMUP:
			p->warmup_s = atof(a);
			if (p->warmup_s < 0 || p->warmup_s > 60)
				return usage_error("--warmup-s '%s': 0 to 60 "
						   "seconds", a);
			break;
		case O_HELP:
			fputs(usage, stdout);
			exit(0);
		case O_LIST_DEVICES:
			exit(list_devices());
		case O_NO_RESET:
			p->no_reset = true;
			break;
		case O_DEVICES:
			if (parse_devices(a, p))
				return usage_error("--devices '%s': all, or a "
						   "comma-separated list of "
						   "EGL device indexes 0 to 63 "
						   "(at most 16)", a);
			break;
		default:
			return usage_error("unknown or incomplete option '%s'",
					   argv[optind - 1]);
		}
	}
	if (optind < argc)
		return usage_error("unexpected argument '%s'", argv[optind]);
	/* --devices: gpupipe on one device beside gpupipe-all on all. */
	if (p->multi && (p->modes & (1u << MODE_GPUPIPE)))
		p->modes |= 1u << MODE_GPUPIPE_ALL;
	if (!p->multi && (p->modes & (1u << MODE_GPUPIPE_ALL)))
		return usage_error("%s", "--modes gpupipe-all goes with "
				   "--devices");
	if (p->multi && p->display == GPUPIPE_DISPLAY_DEVICE)
		return usage_error("%s", "--devices and --device: give one");
	if (p->kind == WL_USER &&
	    (!p->in_bytes || !p->out_bytes || !p->groups[0]))
		return usage_error("%s", "--shader needs --in-bytes, "
				   "--out-bytes and --groups");
	if (p->kind != WL_USER && (p->in_bytes || p->out_bytes))
		return usage_error("%s", "--in-bytes and --out-bytes go with "
				   "--shader");
	return 0;
}

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

static double median(double *v, unsigned n)
{
	unsigned i, j;

	for (i = 1; i < n; i++)
		for (j = i; j > 0 && v[j - 1] > v[j]; j--) {
			double t = v[j];

			v[j] = v[j - 1];
			v[j - 1] = t;
		}
	return n ? (n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2) : 0;
}

struct samples {
	double us[1000], us_q[1000], util[1000], busy[1000], wall[1000];
	double cpu[1000], cpu_main[1000], cpu_prep[1000], cpu_sub[1000],
		cpu_rb[1000], p50[1000], p99[1000], fences[1000];
	double sprep[1000], sgpu[1000], spost[1000];
	unsigned n, nq;
	bool ok, has_busy, has_latency;
};

static void summarise(struct bench *b, struct samples *s, enum mode m,
		      struct mode_summary *out)
{
	double items = (double)b->prm.items, tmp[1000];
	unsigned i;

	memset(out, 0, sizeof(*out));
	out->ran = s->n > 0;
	out->ok = s->ok;
	out->runs = s->n + s->nq;
	if (!s->n)
		return;
	memcpy(tmp, s->us, s->n * sizeof(double));
	out->us_per_item[0] = median(tmp, s->n);
	out->us_per_item[1] = out->us_per_item[2] = s->us[0];
	for (i = 0; i < s->n; i++) {
		out->us_per_item[1] = fmin(out->us_per_item[1], s->us[i]);
		out->us_per_item[2] = fmax(out->us_per_item[2], s->us[i]);
	}
	out->wall_s = out->us_per_item[0] * items / 1e6;
	out->items_per_s = 1e6 / out->us_per_item[0];
	out->cpu_us_per_item = median(s->cpu, s->n);
	out->cpu_main_us = median(s->cpu_main, s->n);
	out->cpu_prep_us = median(s->cpu_prep, s->n);
	out->cpu_submit_us = median(s->cpu_sub, s->n);
	out->cpu_readback_us = median(s->cpu_rb, s->n);
	out->fences_per_item = median(s->fences, s->n) / items;
	out->has_latency = s->has_latency;
	if (s->has_latency) {
		out->lat_p50_us = median(s->p50, s->n);
		out->lat_p99_us = median(s->p99, s->n);
	}
	if (s->nq && s->has_busy) {
		out->has_busy = true;
		memcpy(tmp, s->util, s->nq * sizeof(double));
		out->util[0] = median(tmp, s->nq);
		out->util[1] = out->util[2] = s->util[0];
		for (i = 0; i < s->nq; i++) {
			out->util[1] = fmin(out->util[1], s->util[i]);
			out->util[2] = fmax(out->util[2], s->util[i]);
		}
		out->busy_s = median(s->busy, s->nq);
		memcpy(tmp, s->wall, s->nq * sizeof(double));
		out->wall_q_s = median(tmp, s->nq);
		out->idle_s = out->wall_q_s - out->busy_s;
		memcpy(tmp, s->us_q, s->nq * sizeof(double));
		out->query_overhead = median(tmp, s->nq) /
				      out->us_per_item[0] - 1;
	}
	if (b->wl.flops > 0)
		out->gflops = b->wl.flops / (out->us_per_item[0] * 1e3);
	(void)m;
}

static void add_run(struct samples *s, const struct run_result *r,
		    bool queries, double items)
{
	double us = (double)r->wall_ns / 1e3 / items;
	unsigned i;

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
	s->cpu_main[i] = (double)r->cpu_main_ns / 1e3 / items;
	s->cpu_prep[i] = (double)r->cpu_prep_ns / 1e3 / items;
	s->cpu_sub[i] = (double)r->cpu_submit_ns / 1e3 / items;
	s->cpu_rb[i] = (double)r->cpu_readback_ns / 1e3 / items;
	s->cpu[i] = s->cpu_main[i] + s->cpu_prep[i] + s->cpu_sub[i] +
		    s->cpu_rb[i];
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
 * hides), or from sync's GPU stage if that was faster.
 */
static void ideal_and_checks(struct bench *b, struct samples *s,
			     struct report *rep)
{
	unsigned devs = b->info_all.ndevices ? b->info_all.ndevices : 1;
	double scale;
	struct samples *sy = &s[MODE_SYNC];
	unsigned threads = b->prm.prep_threads, cores = b->cores, m;
	unsigned posts = b->prm.post_threads ? b->prm.post_threads : 1;
	double pool = threads < cores ? threads : cores;
	double post_pool = posts < cores ? posts : cores;
	double prep, gpu, post, raw_gflops = 0;

	rep->ideal_us = 0;
	if (!sy->n)
		return;
	prep = min_of(sy->sprep, sy->n);
	gpu = min_of(sy->sgpu, sy->n);
	post = min_of(sy->spost, sy->n);
	rep->stage_prep_us = prep;
	rep->stage_gpu_us = gpu;
	rep->stage_post_us = post;
	if (rep->m[MODE_RAW].ran)
		gpu = fmin(gpu, rep->m[MODE_RAW].us_per_item[1]);
	/* The GPU's best showing, raw's or sync's GPU stage (on llvmpipe,
	 * raw's fresh regions can be slower than sync's cache-hot one). */
	if (b->wl.flops > 0)
		raw_gflops = b->wl.flops / (gpu * 1e3);
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
	for (m = 0; m < MODE_COUNT; m++) {
		struct mode_summary *ms = &rep->m[m];

		if (!ms->ran)
			continue;
		if (rep->m[MODE_SYNC].ran)
			ms->ratio_sync = rep->m[MODE_SYNC].us_per_item[0] /
					 ms->us_per_item[0];
		ms->ratio_ideal = rep->ideal_us / ms->us_per_item[0];
		if (ms->has_busy && ms->util[2] > 1.01)
			problem(rep, "%s: GPU busy exceeds wall time "
				"(utilization %.3f, limit %.2f)", ms->util[2],
				1.01, mode_names[m]);
		/* Several devices may beat one device's bounds by their
		 * number, no more. */
		scale = m == MODE_GPUPIPE_ALL ? (double)devs : 1.0;
		if (m != MODE_RAW &&
		    ms->us_per_item[0] < 0.95 * rep->ideal_us / scale)
			problem(rep, "%s: %.3f us per item is faster than the "
				"ideal bound %.3f us by more than 5%%",
				ms->us_per_item[0], rep->ideal_us / scale,
				mode_names[m]);
		if (raw_gflops > 0 && ms->gflops > 1.05 * raw_gflops * scale)
			problem(rep, "%s: %.1f GFLOP/s exceeds the GPU's best "
				"showing, %.1f, by more than 5%%", ms->gflops,
				raw_gflops * scale, mode_names[m]);
	}
}

int main(int argc, char **argv)
{
	static struct samples s[MODE_COUNT];
	struct bench b;
	struct report rep;
	struct gpupipe_trace_record *last_trace = NULL;
	size_t last_ntrace = 0;
	char err[4096];
	unsigned round, m;
	bool progress, all_ok = true;
	int ret;

	memset(&b, 0, sizeof(b));
	ret = parse_args(argc, argv, &b.prm);
	if (ret)
		return ret;
	if (!getenv("LP_NUM_THREADS"))
		setenv("LP_NUM_THREADS", "0", 0);
	b.cores = (unsigned)sysconf(_SC_NPROCESSORS_ONLN);
	if (glctx_open(&b.gl, b.prm.display, b.prm.device_index, err,
		       sizeof(err))) {
		fprintf(stderr, "gpupipe-bench: %s\n", err);
		return 1;
	}
	if (!b.prm.items)
		b.prm.items = default_items(b.prm.kind, b.gl.llvmpipe);
	if (workload_init(&b.wl, &b.prm, b.gl.llvmpipe, err, sizeof(err)) ||
	    (b.wl.kind == WL_USER &&
	     !(b.wl.ref_hash = calloc(b.prm.items, sizeof(uint64_t)))) ||
	    bench_setup_modes(&b, err, sizeof(err))) {
		fprintf(stderr, "gpupipe-bench: %s\n", err);
		bench_teardown_modes(&b);
		workload_fini(&b.wl);
		glctx_close(&b.gl);
		return 1;
	}
	calibrate_gpu(&b);
	progress = !b.prm.quiet && isatty(2);

	/* Warm-up: the GPU's clocks idle low until it has had work. */
	{
		uint64_t t0 = now_ns();
		struct run_result r;

		do {
			for (m = 0; m < MODE_COUNT; m++)
				if ((b.prm.modes & (1u << m)) &&
				    (m == MODE_RAW || m == MODE_GPUPIPE ||
				     m == MODE_GPUPIPE_ALL)) {
					run_mode(&b, (enum mode)m, false, &r);
					free(r.trace);
				}
		} while ((double)(now_ns() - t0) / 1e9 < b.prm.warmup_s);
	}

	for (m = 0; m < MODE_COUNT; m++)
		s[m].ok = true;
	for (round = 0; round < b.prm.rounds; round++) {
		for (m = 0; m < MODE_COUNT; m++) {
			struct run_result r;
			int q;

			if (!(b.prm.modes & (1u << m)))
				continue;
			for (q = 0; q < 2; q++) {
				if (progress)
					fprintf(stderr, "\rround %u/%u: %-8s%s",
						round + 1, b.prm.rounds,
						mode_names[m],
						q ? " (timestamps)" : "              ");
				run_mode(&b, (enum mode)m, q, &r);
				add_run(&s[m], &r, q, (double)b.prm.items);
				if (r.trace) {
					free(last_trace);
					last_trace = r.trace;
					last_ntrace = r.ntrace;
				}
			}
		}
	}
	if (progress)
		fprintf(stderr, "\r%60s\r", "");

	memset(&rep, 0, sizeof(rep));
	rep.b = &b;
	for (m = 0; m < MODE_COUNT; m++) {
		summarise(&b, &s[m], (enum mode)m, &rep.m[m]);
		if (rep.m[m].ran && !rep.m[m].ok)
			all_ok = false;
	}
	ideal_and_checks(&b, s, &rep);
	if (!b.prm.quiet)
		report_print(&rep, stdout);
	if (b.prm.json && report_json(&rep, b.prm.json))
		all_ok = false;
	if (b.prm.csv && report_csv(&rep, b.prm.csv))
		all_ok = false;
	if (b.prm.trace && last_trace &&
	    report_trace(last_trace, last_ntrace, b.prm.trace))
		all_ok = false;
	free(last_trace);
	if (rep.problems[0])
		fprintf(stdout, "SELF-CHECK FAILED:\n%s", rep.problems);
	for (m = 0; m < MODE_COUNT; m++)
		if (rep.m[m].ran && !rep.m[m].ok)
			fprintf(stdout, "%s: FAILED: wrong outputs\n",
				mode_names[m]);
	ret = all_ok && !rep.problems[0] ? 0 : 1;
	fprintf(stdout, "gpupipe-bench: %s\n",
		ret ? "FAILED" : "all modes ran and checked");
	bench_teardown_modes(&b);
	workload_fini(&b.wl);
	glctx_close(&b.gl);
	return ret;
}
