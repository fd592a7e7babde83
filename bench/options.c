/* SPDX-License-Identifier: MIT */
/*
 * gpupipe-bench's command line: one table gives each option's argument,
 * how it is read and checked, and its line in --help, so that the parser
 * and the help cannot drift apart.
 */
#include "config.h"

#include <assert.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"

struct opt;
typedef int (*setter)(const struct opt *o, const char *arg, struct params *p);

struct opt {
	const char *name;
	const char *arg;     /* as --help shows it; NULL: takes none */
	setter set;          /* 0, or -1 for a bad argument */
	size_t off, size;    /* the field of struct params it sets */
	uint64_t min, max;   /* numbers: the range */
	const char *want;    /* what a bad argument should be; NULL:
			      * "min to max" */
	const char *help;    /* "\n" continues it on the next line */
};

#define F(f) offsetof(struct params, f), sizeof(((struct params *)0)->f)
#define STR_(x) #x
#define STR(x) STR_(x)

static void *field(struct params *p, const struct opt *o)
{
	return (char *)p + o->off;
}

static int parse_u64(const char *s, uint64_t *out)
{
	char *end;

	if (!s || !*s || *s == '-')
		return -1;
	*out = strtoull(s, &end, 10);
	return *end ? -1 : 0;
}

static int parse_range(const struct opt *o, const char *a, uint64_t *v)
{
	return parse_u64(a, v) || *v < o->min || *v > o->max ? -1 : 0;
}

/* A whole number in [min, max] into an unsigned field of 4 or 8 bytes
 * (unsigned, size_t, uint64_t): memcpy, whatever its type's name. */
static int set_number(const struct opt *o, const char *a, struct params *p)
{
	uint64_t v;
	uint32_t v32;

	assert(o->size == sizeof(v32) || o->size == sizeof(v));
	if (parse_range(o, a, &v))
		return -1;
	v32 = (uint32_t)v;
	memcpy(field(p, o), o->size == sizeof(v32) ? (void *)&v32 : (void *)&v,
	       o->size);
	return 0;
}

/* A whole number of microseconds into a double. */
static int set_us(const struct opt *o, const char *a, struct params *p)
{
	uint64_t v;

	if (parse_range(o, a, &v))
		return -1;
	*(double *)field(p, o) = (double)v;
	return 0;
}

static int set_seconds(const struct opt *o, const char *a, struct params *p)
{
	char *end;
	double s = strtod(a, &end);

	if (end == a || *end || !(s >= (double)o->min && s <= (double)o->max))
		return -1;
	*(double *)field(p, o) = s;
	return 0;
}

static int set_string(const struct opt *o, const char *a, struct params *p)
{
	*(const char **)field(p, o) = a;
	return 0;
}

static int set_flag(const struct opt *o, const char *a, struct params *p)
{
	(void)a;
	*(bool *)field(p, o) = true;
	return 0;
}

/* The index of a among the n names, or -1. */
static int name_index(const char *a, const char *const *names, int n)
{
	int i;

	for (i = 0; i < n; i++)
		if (!strcmp(a, names[i]))
			return i;
	return -1;
}

#define NAME_INDEX(a, names) \
	name_index(a, names, (int)(sizeof(names) / sizeof(names[0])))

static int set_workload(const struct opt *o, const char *a, struct params *p)
{
	/* In enum workload_kind's order. */
	static const char *const names[] = { "tiny", "sgemm", "balanced",
					     "stream" };
	int i = NAME_INDEX(a, names);

	(void)o;
	if (i < 0)
		return -1;
	p->kind = (enum workload_kind)i;
	return 0;
}

static int set_shader(const struct opt *o, const char *a, struct params *p)
{
	(void)o;
	p->shader_file = a;
	p->kind = WL_USER;
	return 0;
}

static int set_wait(const struct opt *o, const char *a, struct params *p)
{
	static const char *const names[] = { "block", "signalled" };
	static const enum gpupipe_wait waits[] = { GPUPIPE_WAIT_BLOCK,
						   GPUPIPE_WAIT_SIGNALLED };
	int i = NAME_INDEX(a, names);

	(void)o;
	if (i < 0)
		return -1;
	p->wait = waits[i];
	return 0;
}

static int set_check(const struct opt *o, const char *a, struct params *p)
{
	/* In CHECK_AUTO, CHECK_SAMPLED, CHECK_FULL's order. */
	static const char *const names[] = { "auto", "sampled", "full" };
	int i = NAME_INDEX(a, names);

	(void)o;
	if (i < 0)
		return -1;
	p->check = i;
	return 0;
}

static int set_batch(const struct opt *o, const char *a, struct params *p)
{
	if (!strcmp(a, "auto")) {
		p->batch = 0;
		return 0;
	}
	return set_number(o, a, p);
}

static int set_groups(const struct opt *o, const char *a, struct params *p)
{
	uint32_t *g = p->groups;

	(void)o;
	return sscanf(a, "%u,%u,%u", &g[0], &g[1], &g[2]) == 3 && g[0] &&
	       g[1] && g[2] ? 0 : -1;
}

static int set_sgemm_n(const struct opt *o, const char *a, struct params *p)
{
	uint64_t v;

	if (parse_range(o, a, &v) || v % 16)
		return -1;
	p->n = (unsigned)v;
	return 0;
}

/* A comma-separated list of mode names into a bit per enum mode. */
static int set_modes(const struct opt *o, const char *a, struct params *p)
{
	char buf[128], *tok, *save = NULL;
	unsigned mask = 0;
	int m;

	snprintf(buf, sizeof(buf), "%s", a);
	for (tok = strtok_r(buf, ",", &save); tok;
	     tok = strtok_r(NULL, ",", &save)) {
		m = name_index(tok, mode_names, MODE_COUNT);
		if (m < 0)
			return -1;
		mask |= 1u << m;
	}
	*(unsigned *)field(p, o) = mask;
	return mask ? 0 : -1;
}

static int set_device(const struct opt *o, const char *a, struct params *p)
{
	if (set_number(o, a, p))
		return -1;
	p->display = GPUPIPE_DISPLAY_DEVICE;
	return 0;
}

/* --devices all | N,N,...: the devices of gpupipe-all. */
static int set_devices(const struct opt *o, const char *a, struct params *p)
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
		if (parse_range(o, tok, &v) ||
		    p->ndevices == GPUPIPE_MAX_DEVICES)
			return -1;
		p->devices[p->ndevices++] = (unsigned)v;
	}
	return p->ndevices ? 0 : -1;
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

static int run_list_devices(const struct opt *o, const char *a,
			    struct params *p)
{
	(void)o;
	(void)a;
	(void)p;
	exit(list_devices());
}

static int show_help(const struct opt *o, const char *a, struct params *p);

static const struct opt opts[] = {
	{ "workload", "NAME", set_workload,
	  .want = "tiny, sgemm, balanced or stream",
	  .help = "tiny (default), sgemm, balanced or stream" },
	{ "shader", "FILE", set_shader,
	  .help = "your own compute shader instead (needs --in-bytes,\n"
		  "--out-bytes, --groups); outputs are checked against\n"
		  "the sync mode's" },
	{ "in-bytes", "N", set_number, F(in_bytes), .min = 1, .max = SIZE_MAX,
	  .help = "input bytes per item (with --shader)" },
	{ "out-bytes", "N", set_number, F(out_bytes), .min = 1,
	  .max = SIZE_MAX, .help = "output bytes per item (with --shader)" },
	{ "groups", "X,Y,Z", set_groups,
	  .want = "three counts above 0, as X,Y,Z",
	  .help = "work groups per dispatch (with --shader)" },
	{ "items", "N", set_number, F(items), .min = 1, .max = 100000000,
	  .help = "items per run (default: per workload and renderer)" },
	{ "rounds", "N", set_number, F(rounds), .min = 1, .max = MAX_ROUNDS,
	  .help = "rounds of every mode (default 5)" },
	{ "modes", "LIST", set_modes, F(modes),
	  .want = "a list of raw,sync,ring,gpupipe",
	  .help = "any of raw,sync,ring,gpupipe (default all)" },
	{ "depth", "N", set_number, F(depth), .min = 1,
	  .max = GPUPIPE_MAX_DEPTH,
	  .help = "ring sets and gpupipe depth (default 3)" },
	{ "prep-threads", "N", set_number, F(prep_threads), .min = 1,
	  .max = GPUPIPE_MAX_PREP_THREADS,
	  .help = "gpupipe prep threads (default 2)" },
	{ "batch", "N|auto", set_batch, F(batch), .min = 1,
	  .max = GPUPIPE_MAX_BATCH,
	  .want = "1 to " STR(GPUPIPE_MAX_BATCH) ", or auto",
	  .help = "gpupipe items per fence: fixed N, or adaptive\n"
		  "(default auto)" },
	{ "batch-latency-us", "N", set_number, F(batch_latency_us), .min = 1,
	  .max = 10000000,
	  .help = "adaptive batches: latency budget per batch in\n"
		  "flight (median latency <= depth x N; default\n"
		  "none, throughput first)" },
	{ "wait", "block|signalled", set_wait, .want = "block or signalled",
	  .help = "how gpupipe's readback learns of completion\n"
		  "(default: the library's, signalled)" },
	{ "post-threads", "N", set_number, F(post_threads),
	  .max = GPUPIPE_MAX_POST_THREADS,
	  .help = "gpupipe completions on N post threads, unordered\n"
		  "(default 0: in order on the readback thread)" },
	{ "check", "auto|sampled|full", set_check,
	  .want = "auto, sampled or full",
	  .help = "how much of each output post checks: auto\n"
		  "checks small outputs fully and large ones at\n"
		  "spread elements, one item in 64 fully" },
	{ "prep-us", "N", set_us, F(prep_us), .max = 1000000,
	  .help = "balanced: CPU work in prep, microseconds (100)" },
	{ "post-us", "N", set_us, F(post_us), .max = 1000000,
	  .help = "balanced: CPU work in post, microseconds (100)" },
	{ "gpu-us", "N", set_us, F(gpu_us), .max = 1000000,
	  .help = "balanced: GPU time per item, microseconds (100)" },
	{ "n", "N", set_sgemm_n, .min = 16, .max = 16384,
	  .want = "a multiple of 16, at most 16384",
	  .help = "sgemm: matrix size (2048; 128 on llvmpipe)" },
	{ "device", "N", set_device, F(device_index), .max = 63,
	  .want = "an EGL device index, 0 to 63",
	  .help = "use EGL device N (eglQueryDevicesEXT) instead of\n"
		  "the default display" },
	{ "list-devices", NULL, run_list_devices,
	  .help = "print the host's EGL devices and exit" },
	{ "devices", "all|N,N..", set_devices, .max = 63,
	  .want = "all, or a comma-separated list of EGL device indexes "
		  "0 to 63 (at most 16)",
	  .help = "gpupipe on the first device and gpupipe-all on all\n"
		  "of these (all: every hardware device), with the\n"
		  "scaling ratio; a device may repeat" },
	{ "no-reset-notification", NULL, set_flag, F(no_reset),
	  .help = "gpupipe's contexts without GPU reset\n"
		  "notification (GPUPIPE_NO_RESET_NOTIFICATION)" },
	{ "warmup-s", "S", set_seconds, F(warmup_s), .max = 60,
	  .want = "0 to 60 seconds",
	  .help = "GPU warm-up before the first round (default 0.5)" },
	{ "json", "FILE", set_string, F(json),
	  .help = "write the results as JSON" },
	{ "csv", "FILE", set_string, F(csv),
	  .help = "write one CSV row per mode" },
	{ "trace", "FILE", set_string, F(trace),
	  .help = "write the last gpupipe run as a Chrome trace" },
	{ "corrupt", "LIST", set_modes, F(corrupt),
	  .want = "a list of raw,sync,ring,gpupipe",
	  .help = "self-test: make the shader write one wrong element\n"
		  "of one item in these modes; they must report FAILED" },
	{ "wide", NULL, set_flag, F(wide),
	  .help = "the full table (150 columns): ranges, idle time,\n"
		  "query overhead, fences, the library's counters" },
	{ "quiet", NULL, set_flag, F(quiet),
	  .help = "print only the final verdict line" },
	{ "help", NULL, show_help, .help = "this text" },
};

#define NOPTS (sizeof(opts) / sizeof(opts[0]))
/* getopt_long's value for opts[i]: OPT_VAL0 + i, clear of '?' and ':'. */
#define OPT_VAL0 256

/* Each option's help, its continuation lines under its first. */
static void print_option(const struct opt *o)
{
	char left[64];
	const char *h = o->help, *nl;
	int len = snprintf(left, sizeof(left), "--%s%s%s", o->name,
			   o->arg ? " " : "", o->arg ? o->arg : "");

	printf("  %-*s%s", 20, left, len < 20 ? "" : "  ");
	while ((nl = strchr(h, '\n'))) {
		printf("%.*s\n%22s", (int)(nl - h), h, "");
		h = nl + 1;
	}
	printf("%s\n", h);
}

static int show_help(const struct opt *o, const char *a, struct params *p)
{
	size_t i;

	(void)o;
	(void)a;
	(void)p;
	printf("usage: gpupipe-bench [options]\n\n"
	       "Runs the same items through raw, sync, ring and gpupipe "
	       "modes, interleaved\nover several rounds, checks every "
	       "output, and prints what each costs.\n\n");
	for (i = 0; i < NOPTS; i++)
		print_option(&opts[i]);
	printf("\nExit status: 0 every mode ran and checked; 1 a mode "
	       "FAILED or a\nself-check broke; 2 bad usage.\n");
	exit(0);
}

__attribute__((format(printf, 1, 2)))
static int usage_error(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "gpupipe-bench: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nTry 'gpupipe-bench --help'.\n");
	return 2;
}

static int bad_argument(const struct opt *o, const char *a)
{
	char range[64];

	if (!o->want)
		snprintf(range, sizeof(range), "%llu to %llu",
			 (unsigned long long)o->min,
			 (unsigned long long)o->max);
	return usage_error("--%s '%s': %s", o->name, a,
			   o->want ? o->want : range);
}

static void set_defaults(struct params *p)
{
	memset(p, 0, sizeof(*p));
	p->kind = WL_TINY;
	p->rounds = 5;
	p->modes = ((1u << MODE_COUNT) - 1) & ~(1u << MODE_GPUPIPE_ALL);
	p->depth = 3;
	p->prep_threads = 2;
	p->prep_us = p->post_us = p->gpu_us = 100;
	p->warmup_s = 0.5;
}

/* What no single option can check. */
static int check_combinations(struct params *p)
{
	/* --devices: gpupipe on one device beside gpupipe-all on all. */
	if (p->multi && (p->modes & (1u << MODE_GPUPIPE)))
		p->modes |= 1u << MODE_GPUPIPE_ALL;
	if (!p->multi && (p->modes & (1u << MODE_GPUPIPE_ALL)))
		return usage_error("--modes gpupipe-all goes with --devices");
	if (p->multi && p->display == GPUPIPE_DISPLAY_DEVICE)
		return usage_error("--devices and --device: give one");
	if (p->kind == WL_USER &&
	    (!p->in_bytes || !p->out_bytes || !p->groups[0]))
		return usage_error("--shader needs --in-bytes, --out-bytes "
				   "and --groups");
	if (p->kind != WL_USER && (p->in_bytes || p->out_bytes))
		return usage_error("--in-bytes and --out-bytes go with "
				   "--shader");
	return 0;
}

int parse_args(int argc, char **argv, struct params *p)
{
	struct option lo[NOPTS + 1];
	size_t i;
	int c;

	for (i = 0; i < NOPTS; i++)
		lo[i] = (struct option){ opts[i].name,
					 opts[i].arg ? required_argument
						     : no_argument,
					 NULL, OPT_VAL0 + (int)i };
	memset(&lo[NOPTS], 0, sizeof(lo[NOPTS]));
	set_defaults(p);
	opterr = 0;
	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		const struct opt *o;

		if (c < OPT_VAL0 || c >= OPT_VAL0 + (int)NOPTS)
			return usage_error("unknown or incomplete option '%s'",
					   argv[optind - 1]);
		o = &opts[c - OPT_VAL0];
		if (o->set(o, optarg, p))
			return bad_argument(o, optarg);
	}
	if (optind < argc)
		return usage_error("unexpected argument '%s'", argv[optind]);
	return check_combinations(p);
}
