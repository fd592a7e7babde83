/* SPDX-License-Identifier: MIT */
/*
 * gpupipe-bench: the same items through four ways of driving the GPU, in
 * one run, so that their figures can be compared honestly.
 *
 *   raw      back-to-back dispatches of prepared inputs, one glFinish at
 *            the end: the GPU floor for this kernel on this driver
 *   sync     one thread: prep, dispatch, glFinish, post, per item
 *   ring     one thread: a ring of `depth` buffer sets, a fence per item
 *   gpupipe  the library
 *
 * Files: main.c (setup, warm-up, rounds), options.c (the command line),
 * workload.c (kernels, inputs, reference checks), glctx.c (the bench's
 * own GL context for raw/sync/ring, on egl-setup.c's display), modes.c
 * (the four modes), summary.c (medians, the ideal bound, self-checks),
 * report.c (table, JSON, CSV, Chrome trace). bench/probes/ holds probes
 * of single GL costs, without the library; bench/plot draws a run.
 */
#ifndef GPUPIPE_BENCH_H
#define GPUPIPE_BENCH_H

#include <stdatomic.h>
#include <stdio.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "gpupipe.h"

/* MODE_GPUPIPE_ALL: gpupipe over the devices of --devices, beside
 * MODE_GPUPIPE on the first of them; only with --devices. */
enum mode { MODE_RAW, MODE_SYNC, MODE_RING, MODE_GPUPIPE, MODE_GPUPIPE_ALL,
	    MODE_COUNT };
extern const char *const mode_names[MODE_COUNT];

enum workload_kind { WL_TINY, WL_SGEMM, WL_BALANCED, WL_STREAM, WL_USER };

/* Command-line parameters; 0 means "the workload's default". */
struct params {
	enum workload_kind kind;
	const char *shader_file;    /* --shader */
	size_t in_bytes, out_bytes; /* with --shader */
	uint32_t groups[3];         /* with --shader */
	uint64_t items;
	unsigned rounds;
	unsigned modes;             /* bit per enum mode */
	unsigned depth, prep_threads, batch; /* batch 0: adaptive */
	unsigned post_threads, batch_latency_us;
	enum gpupipe_wait wait;
	bool no_reset;             /* GPUPIPE_NO_RESET_NOTIFICATION */
	enum { CHECK_AUTO, CHECK_SAMPLED, CHECK_FULL } check;
	double prep_us, post_us, gpu_us; /* balanced */
	unsigned n;                 /* sgemm N */
	const char *json, *csv, *trace;
	bool quiet;
	bool wide;                  /* --wide: the full table */
	enum gpupipe_display display;
	unsigned device_index;
	bool multi;                 /* --devices given */
	unsigned ndevices;          /* --devices LIST; 0 with "all" */
	unsigned devices[GPUPIPE_MAX_DEVICES];
	unsigned corrupt;           /* bit per mode: corrupt one item there */
	double warmup_s;
};

/* ---- options.c -------------------------------------------------------- */

#define MAX_ROUNDS 1000

/* Fills p from the command line (--help and --list-devices print and
 * exit); 0, or 2 having said what is wrong. */
int parse_args(int argc, char **argv, struct params *p);

/* ---- workload.c ------------------------------------------------------- */

struct workload {
	const char *name;
	enum workload_kind kind;
	char *shader;
	size_t in_bytes, out_bytes;
	void *weights;
	size_t weights_bytes;
	float *weights_t;        /* sgemm: B transposed, for the reference */
	uint32_t groups[3];
	uint32_t elems;          /* uint/float elements per item */
	uint32_t param1;         /* sgemm N; balanced iterations */
	double flops;            /* per item; 0: not declared */
	uint64_t prep_iters;     /* extra CPU work in prep (balanced) */
	uint64_t post_iters;     /* extra CPU work in post (balanced) */
	/* Inputs come from a pool of patterns, so that prep writes real
	 * data without spending its time generating it. */
	unsigned npool;
	void **pool_in;          /* npool inputs */
	uint32_t **pool_ref;     /* npool reference outputs, tag not added */
	uint32_t *pool_sum;      /* their word sums (mod 2^32), tag not added */
	/* --shader: the output hash of each item in the sync mode. */
	uint64_t *ref_hash;
	uint64_t ref_cap;
	atomic_bool ref_ready;
};

/* Tag of item id: differs for any two ids (an odd multiplier is a
 * bijection modulo 2^32 within 2^32 items). */
static inline uint32_t item_tag(uint64_t id)
{
	return (uint32_t)(id * 2654435761u + 0x9e3779b9u);
}

int workload_init(struct workload *w, const struct params *p, bool llvmpipe,
		  char *err, size_t errlen);
void workload_fini(struct workload *w);
/* Write item id's input and parameters; corrupt asks the shader to flip a
 * bit of one output element. */
void workload_prep(const struct workload *w, uint64_t id, void *in,
		   uint32_t *params, uint32_t *groups, bool corrupt);
/* Check item id's output; full checks every element it can afford. */
bool workload_post(struct workload *w, uint64_t id, const void *out,
		   bool full, bool record_ref);
/* Whether item id gets a full check: --check full, every item;
 * --check sampled, none (tag and spread elements only); by default small
 * outputs, stream's (reading all of it is its point) and one item in 64. */
static inline bool full_check(const struct workload *w, int check,
			      uint64_t id)
{
	if (check)
		return check == 2;
	return w->kind == WL_STREAM || w->out_bytes <= 65536 || id % 64 == 0;
}

/* Real CPU work: iters rounds of an integer mix; calibrated once. */
uint64_t cpu_work(uint64_t iters, uint64_t seed);
double cpu_iters_per_us(void);

/* ---- glctx.c ---------------------------------------------------------- */

struct glctx {
	void *display, *context;
	char renderer[128], version[128], vendor[64];
	bool llvmpipe;
	unsigned program;
};

int glctx_open(struct glctx *g, enum gpupipe_display kind, unsigned device,
	       char *err, size_t errlen);
void glctx_close(struct glctx *g);
int glctx_program(struct glctx *g, const char *src, char *err, size_t n);

/* Persistently mapped buffer regions laid out as gpupipe's slots are. */
struct regions {
	unsigned n;
	unsigned in_buf, out_buf, params_buf, weights_buf;
	uint8_t *in_map, *out_map, *params_map;
	size_t in_stride, out_stride, params_stride;
	size_t in_bytes, out_bytes, weights_bytes;
};

int regions_create(struct regions *r, const struct workload *w, unsigned n,
		   char *err, size_t errlen);
void regions_destroy(struct regions *r);
void regions_bind(const struct regions *r, unsigned i);
static inline void *region_in(const struct regions *r, unsigned i)
{
	return r->in_map + i * r->in_stride;
}
static inline const void *region_out(const struct regions *r, unsigned i)
{
	return r->out_map + i * r->out_stride;
}
static inline uint32_t *region_params(const struct regions *r, unsigned i)
{
	return (uint32_t *)(r->params_map + i * r->params_stride);
}

/* GL_TIMESTAMP pairs around dispatches, read after the GPU is drained.
 * Only their union's length is used, a duration on the GPU's clock, so
 * that clock's offset from CLOCK_MONOTONIC never matters (the gpupipe
 * mode's GPU times come from trace records the library has already put
 * on CLOCK_MONOTONIC). */
struct qpool {
	unsigned *q;
	unsigned cap, used;
};

int qpool_init(struct qpool *qp, unsigned pairs);
void qpool_fini(struct qpool *qp);
void qpool_before(struct qpool *qp);
void qpool_after(struct qpool *qp);
/* Union of the recorded intervals, after glFinish; resets the pool. */
uint64_t qpool_busy_ns(struct qpool *qp);
/* Total length of the union of n [start, end] pairs; sorts them. */
uint64_t busy_union_ns(uint64_t *pairs, size_t n);

uint64_t now_ns(void);
uint64_t thread_cpu_ns(void);

/* ---- modes.c ---------------------------------------------------------- */

/* The threads whose CPU and sleeps the report shows, by role. */
enum thread_role { ROLE_MAIN, ROLE_PREP, ROLE_SUBMIT, ROLE_READBACK,
		   THREAD_ROLES };

/* What one run of one mode measured. */
struct run_result {
	bool ok;                 /* every output checked and right */
	uint64_t items, bad;
	uint64_t wall_ns;
	bool has_busy;
	uint64_t gpu_busy_ns;
	/* By role (enum thread_role): thread CPU time, and, gpupipe only,
	 * sleeps (voluntary context switches); main is the calling thread,
	 * the only one outside gpupipe */
	uint64_t cpu_ns[THREAD_ROLES];
	uint64_t sleeps[THREAD_ROLES];
	/* gpupipe only: wall time inside prep_cb and done_cb, summed over
	 * the threads (the library's prep_busy_ns and done_busy_ns) */
	uint64_t prep_cb_ns, done_cb_ns;
	bool has_latency;
	double lat_p50_us, lat_p99_us;
	/* sync only: mean time per item of each stage */
	double stage_prep_ns, stage_gpu_ns, stage_post_ns;
	/* gpupipe with queries: the trace, for --trace */
	struct gpupipe_trace_record *trace;
	size_t ntrace;
	uint64_t fences;
};

struct bench {
	struct params prm;
	struct workload wl;
	struct glctx gl;
	struct regions raw_regions, ring_regions;
	struct qpool qp;
	gpupipe *pipe;
	gpupipe *pipe_all;          /* MODE_GPUPIPE_ALL */
	struct gpupipe_info info;
	struct gpupipe_info info_all;
	unsigned cores;
	/* per-item timing scratch, items long */
	uint64_t *t_in;          /* push call / prep start */
	double *lat_us;
	/* gpupipe mode's callbacks */
	atomic_uint_fast64_t bad, ndone;
	uint64_t corrupt_id;
	bool corrupt_now;
	struct gpupipe_stats last_stats; /* after the last gpupipe run */
};

int bench_setup_modes(struct bench *b, char *err, size_t errlen);
void bench_teardown_modes(struct bench *b);
void run_mode(struct bench *b, enum mode m, bool queries,
	      struct run_result *r);

/* ---- summary.c -------------------------------------------------------- */

/* One mode's runs, one entry per round: plain runs (n) give times, CPU
 * and latency; runs with timestamps (nq) give GPU busy time. */
struct samples {
	double us[MAX_ROUNDS], us_q[MAX_ROUNDS], util[MAX_ROUNDS],
		busy[MAX_ROUNDS], wall[MAX_ROUNDS];
	double cpu[MAX_ROUNDS], p50[MAX_ROUNDS], p99[MAX_ROUNDS],
		fences[MAX_ROUNDS];
	double cpu_role[THREAD_ROLES][MAX_ROUNDS];
	double sleeps[THREAD_ROLES][MAX_ROUNDS];
	double prep_cb[MAX_ROUNDS], done_cb[MAX_ROUNDS];
	double sprep[MAX_ROUNDS], sgpu[MAX_ROUNDS], spost[MAX_ROUNDS];
	unsigned n, nq;
	bool ok, has_busy, has_latency;
};

struct mode_summary;
struct report;

void samples_add(struct samples *s, const struct run_result *r,
		 bool queries, double items);
void summarise(const struct bench *b, const struct samples *s,
	       struct mode_summary *out);
/* The ideal bound, each mode's ratios, and the self-checks (into
 * rep->problems); s is indexed by enum mode. */
void ideal_and_checks(const struct bench *b, const struct samples *s,
		      struct report *rep);

/* ---- report.c --------------------------------------------------------- */

struct mode_summary {
	bool ran, ok;
	unsigned runs;
	double us_per_item[3];   /* median, min, max: from runs w/o queries */
	double wall_s, items_per_s;
	double busy_s, idle_s, util[3]; /* from runs with queries */
	double wall_q_s;         /* wall time of the runs with queries */
	bool has_busy;
	double query_overhead;   /* (with - without) / without */
	double cpu_us_per_item;       /* all threads */
	double cpu_us[THREAD_ROLES];  /* per item, by role */
	double sleeps_per_item[THREAD_ROLES]; /* gpupipe: by role */
	double prep_cb_us, done_cb_us; /* gpupipe: per item, in callbacks */
	bool has_latency;
	double lat_p50_us, lat_p99_us;
	double gflops;
	double ratio_sync, ratio_ideal;
	double fences_per_item;
};

struct report {
	const struct bench *b;
	struct mode_summary m[MODE_COUNT];
	double ideal_us;
	double gpu_best_us;      /* the GPU stage the ideal bound used */
	double stage_prep_us, stage_gpu_us, stage_post_us;
	const char *ideal_bound; /* which stage sets it */
	char problems[2048];     /* self-check failures, one per line */
};

/* The default table fits 100 columns; prm.wide prints the full one. */
void report_print(const struct report *r, FILE *f);
/* The run in words: gpupipe against sync and the ideal bound, and what
 * bounds it; empty when gpupipe did not run. */
void report_summary(const struct report *r, char *buf, size_t n);
int report_json(const struct report *r, const char *path);
int report_csv(const struct report *r, const char *path);
int report_trace(const struct gpupipe_trace_record *rec, size_t n,
		 const char *path);

#endif
