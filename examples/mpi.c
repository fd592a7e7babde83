/* SPDX-License-Identifier: MIT */
/*
 * mpi: one gpupipe pipeline per MPI rank, the items divided among the
 * ranks, the results gathered and checked on rank 0.
 *
 * Each item is 256 floats; the shader computes y = a * x + b (exact in
 * float for these inputs). Global item i goes to rank i % size. Each rank
 * takes its node-local GPU (hardware devices, local rank % count; on a
 * host with none, the default display, llvmpipe included), pushes its
 * share, and done_cb, which runs in push order, stores each result. Rank
 * 0 gathers every result in global item order, checks it against the CPU,
 * prints one line for the job and one per rank, and the verdict goes to
 * every rank: each exits 0 only if every item is correct.
 *
 *   mpicc mpi.c $(pkg-config --cflags --libs gpupipe) -o mpi
 *   mpirun -np 2 ./mpi [--items N] [--fail-rank R --fail-every K]
 *
 * --fail-rank R --fail-every K: rank R's prep_cb fails every K-th of its
 * own items (its K-th, 2K-th, ...), which complete GPUPIPE_FAILED; rank 0
 * lists their global numbers and the job exits 1.
 */
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mpi.h>
#include <gpupipe.h>

#define N 256
#define WHERE 128 /* gpupipe_info.renderer */

enum { RES_NONE = 0, RES_DONE, RES_FAILED };

static const char *shader =
	"#version 430\n"
	"layout(local_size_x = 64) in;\n"
	"layout(std430, binding = 0) readonly buffer In { float x[]; };\n"
	"layout(std430, binding = 1) readonly buffer W { float a, b; };\n"
	"layout(std430, binding = 2) writeonly buffer Out { float y[]; };\n"
	"void main() {\n"
	"	uint i = gl_GlobalInvocationID.x;\n"
	"	y[i] = a * x[i] + b;\n"
	"}\n";

static const float weights[2] = { 2.0f, 0.5f };

struct opts {
	unsigned long items;
	long fail_rank;
	unsigned long fail_every;
};

/* One rank's share: its local item j is global item rank + j * size. */
struct share {
	int rank, size;
	unsigned long count;     /* items of this rank */
	unsigned long fail_every; /* 0: none of this rank's items fail */
	float *y;                /* count * N results, by local item */
	int *res;                /* count RES_* */
	double seconds;          /* common start to drained */
	char where[WHERE];       /* the renderer, or why none */
};

/* Non-zero, and exact in float: quarters from 0.25 to 250. */
static float input(unsigned long item, unsigned k)
{
	return (float)((item * 31 + k * 7) % 1000 + 1) * 0.25f;
}

static unsigned long share_of(unsigned long items, int rank, int size)
{
	if ((unsigned long)rank >= items)
		return 0;
	return (items - rank + size - 1) / size;
}

static int prep(struct gpupipe_job *job, void *user)
{
	struct share *s = user;
	unsigned long j = (unsigned long)(uintptr_t)job->item;
	unsigned long item = s->rank + j * s->size;
	float *x = job->input;
	unsigned k;

	if (s->fail_every && (j + 1) % s->fail_every == 0) {
		gpupipe_job_set_message(job, "item %lu: failed on purpose",
					item);
		return 1;
	}
	for (k = 0; k < N; k++)
		x[k] = input(item, k);
	job->groups[0] = N / 64;
	return 0;
}

/* In push order, one at a time: the rank's own items, j = 0, 1, ... */
static void done(struct gpupipe_job *job, void *user)
{
	struct share *s = user;
	unsigned long j = (unsigned long)(uintptr_t)job->item;

	if (job->status != GPUPIPE_DONE) {
		s->res[j] = RES_FAILED;
		return;
	}
	memcpy(s->y + j * N, job->output, N * sizeof(float));
	s->res[j] = RES_DONE;
}

/* This node's GPU for this rank, or the default display. */
static void pick_device(struct gpupipe_config *cfg, int local)
{
	struct gpupipe_device devs[GPUPIPE_MAX_DEVICES];
	unsigned count = 0, hw[GPUPIPE_MAX_DEVICES], nhw = 0, i;

	if (gpupipe_list_devices(devs, GPUPIPE_MAX_DEVICES, &count))
		count = 0;
	if (count > GPUPIPE_MAX_DEVICES)
		count = GPUPIPE_MAX_DEVICES;
	for (i = 0; i < count; i++)
		if (!devs[i].software)
			hw[nhw++] = devs[i].index;
	if (nhw) {
		cfg->display = GPUPIPE_DISPLAY_DEVICE;
		cfg->device_index = hw[local % nhw];
	}
}

/* This rank's pipeline, or NULL (s->where says why). */
static gpupipe *open_pipe(struct share *s, int local)
{
	struct gpupipe_config cfg = {
		.shader_source = shader,
		.in_bytes = N * sizeof(float),
		.out_bytes = N * sizeof(float),
		.weights = weights,
		.weights_bytes = sizeof(weights),
		.prep_cb = prep,
		.done_cb = done,
		.user_data = s,
	};
	struct gpupipe_info info;
	gpupipe *p;
	int ret;

	pick_device(&cfg, local);
	ret = gpupipe_create(&cfg, &p);
	if (ret) {
		snprintf(s->where, WHERE, "no pipeline: %s",
			 gpupipe_error_name(ret));
		fprintf(stderr, "rank %d: gpupipe_create: %s\n%s\n", s->rank,
			gpupipe_strerror(ret), gpupipe_errmsg());
		return NULL;
	}
	gpupipe_get_info(p, &info);
	snprintf(s->where, WHERE, "%s", info.renderer);
	return p;
}

/*
 * Push this rank's share and wait for it; s->seconds runs from t0, when
 * every rank started. Items never pushed stay RES_NONE: failures are data.
 */
static void run_share(struct share *s, gpupipe *p, double t0)
{
	unsigned long j;
	int ret;

	for (j = 0; p && j < s->count; j++) {
		ret = gpupipe_push(p, (void *)(uintptr_t)j, 0);
		if (ret) {
			fprintf(stderr, "rank %d: gpupipe_push: %s\n%s\n",
				s->rank, gpupipe_strerror(ret),
				gpupipe_errmsg());
			break;
		}
	}
	/* destroy cancels what no prep thread has taken: wait first. */
	if (p)
		gpupipe_drain(p, -1);
	s->seconds = MPI_Wtime() - t0;
	if (p)
		gpupipe_destroy(p);
}

/* Rank 0's view of the whole job, in global item order. */
struct job {
	unsigned long items;
	int size;
	float *y;        /* items * N */
	int *res;        /* items */
	double *seconds; /* per rank */
	char *where;     /* per rank, WHERE bytes each */
};

/* Any rank out of memory ends the whole job, not just itself. */
static void *need(void *p)
{
	if (!p) {
		fprintf(stderr, "mpi: out of memory\n");
		MPI_Abort(MPI_COMM_WORLD, 1);
	}
	return p;
}

/* Gather every rank's results; on rank 0, put them in global order. */
static void gather(struct share *s, struct job *g)
{
	int *cnt = NULL, *disp = NULL, *ycnt = NULL, *ydisp = NULL, r;
	float *y = NULL;
	int *res = NULL;
	unsigned long i, at;

	if (s->rank == 0) {
		cnt = need(calloc(s->size * 4, sizeof(*cnt)));
		y = need(malloc(g->items * N * sizeof(*y) + 1));
		res = need(malloc(g->items * sizeof(*res) + 1));
		disp = cnt + s->size;
		ycnt = disp + s->size;
		ydisp = ycnt + s->size;
		for (r = 0; r < s->size; r++) {
			cnt[r] = share_of(g->items, r, s->size);
			disp[r] = r ? disp[r - 1] + cnt[r - 1] : 0;
			ycnt[r] = cnt[r] * N;
			ydisp[r] = disp[r] * N;
		}
	}
	MPI_Gatherv(s->res, s->count, MPI_INT, res, cnt, disp, MPI_INT, 0,
		    MPI_COMM_WORLD);
	MPI_Gatherv(s->y, s->count * N, MPI_FLOAT, y, ycnt, ydisp, MPI_FLOAT,
		    0, MPI_COMM_WORLD);
	/* Rank r's j-th item is global item r + j * size. */
	for (i = 0; s->rank == 0 && i < g->items; i++) {
		at = disp[i % s->size] + i / s->size;
		g->res[i] = res[at];
		memcpy(g->y + i * N, y + at * N, N * sizeof(float));
	}
	free(cnt);
	free(y);
	free(res);
}

/* Rank 0: check, report, and decide. Returns the exit status. */
static int report(const struct job *g, double job_seconds)
{
	unsigned long i, right = 0, wrong = 0, failed = 0, n;
	unsigned k;
	int r;

	for (i = 0; i < g->items; i++) {
		if (g->res[i] != RES_DONE) {
			failed++;
			continue;
		}
		for (k = 0; k < N; k++)
			if (g->y[i * N + k] !=
			    weights[0] * input(i, k) + weights[1])
				break;
		if (k == N)
			right++;
		else
			wrong++;
	}
	printf("mpi: %lu items of %d floats, %d ranks: %lu correct, "
	       "%lu wrong, %lu failed, %.0f items/s\n", g->items, N, g->size,
	       right, wrong, failed,
	       job_seconds > 0 ? g->items / job_seconds : 0.0);
	for (r = 0; r < g->size; r++) {
		n = share_of(g->items, r, g->size);
		printf("mpi: rank %d: %lu items, %.0f items/s (%s)\n", r, n,
		       g->seconds[r] > 0 ? n / g->seconds[r] : 0.0,
		       g->where + r * WHERE);
	}
	if (failed) {
		printf("mpi: failed items:");
		for (i = 0; i < g->items; i++)
			if (g->res[i] != RES_DONE)
				printf(" %lu", i);
		printf("\n");
	}
	return right == g->items ? 0 : 1;
}

static void usage(FILE *f)
{
	fputs("usage: mpirun -np RANKS mpi [OPTION]...\n"
	      "One gpupipe pipeline per MPI rank: item i of N goes to rank\n"
	      "i % RANKS; rank 0 checks every result and reports.\n"
	      "  --items N        items of 256 floats in all (default 1000)\n"
	      "  --fail-rank R    with --fail-every K: rank R's prep_cb fails\n"
	      "  --fail-every K   every K-th of its items (K-th, 2K-th, ...)\n"
	      "  -h, --help       print this and exit\n"
	      "Exit status: 0 every item correct; 1 not; 2 bad arguments.\n",
	      f);
}

/* Every rank parses the same arguments: 0 run, 1 help, -1 bad. */
static int parse(int argc, char **argv, struct opts *o)
{
	static const struct option longopts[] = {
		{ "items", required_argument, NULL, 'n' },
		{ "fail-rank", required_argument, NULL, 'r' },
		{ "fail-every", required_argument, NULL, 'k' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	char *end;
	long v;
	int c;

	o->items = 1000;
	o->fail_rank = -1;
	o->fail_every = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		if (c == 'h')
			return 1;
		if (c == '?')
			return -1;
		v = strtol(optarg, &end, 10);
		if (*optarg == '\0' || *end != '\0' || v < 0 ||
		    (c != 'r' && v == 0))
			return -1;
		if (c == 'n')
			o->items = v;
		else if (c == 'r')
			o->fail_rank = v;
		else
			o->fail_every = v;
	}
	if (optind != argc || (o->fail_rank >= 0) != (o->fail_every > 0) ||
	    o->items > (unsigned long)INT32_MAX / N)
		return -1;
	return 0;
}

/* Job-wide timing and per-rank figures onto rank 0; then the verdict. */
static int finish(struct share *s, struct job *g)
{
	double longest = 0;
	int status = 1;

	MPI_Reduce(&s->seconds, &longest, 1, MPI_DOUBLE, MPI_MAX, 0,
		   MPI_COMM_WORLD);
	MPI_Gather(&s->seconds, 1, MPI_DOUBLE, g->seconds, 1, MPI_DOUBLE, 0,
		   MPI_COMM_WORLD);
	MPI_Gather(s->where, WHERE, MPI_CHAR, g->where, WHERE, MPI_CHAR, 0,
		   MPI_COMM_WORLD);
	gather(s, g);
	if (s->rank == 0)
		status = report(g, longest);
	MPI_Bcast(&status, 1, MPI_INT, 0, MPI_COMM_WORLD);
	return status;
}

static int run(const struct opts *o, int rank, int size)
{
	struct share s = { .rank = rank, .size = size };
	struct job g = { .items = o->items, .size = size };
	MPI_Comm node;
	int local = 0, status;
	gpupipe *p;
	double t0;

	MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, rank,
			    MPI_INFO_NULL, &node);
	MPI_Comm_rank(node, &local);
	MPI_Comm_free(&node);
	s.count = share_of(o->items, rank, size);
	if (o->fail_rank == rank)
		s.fail_every = o->fail_every;
	s.y = need(calloc(s.count * N + 1, sizeof(*s.y)));
	s.res = need(calloc(s.count + 1, sizeof(*s.res)));
	if (rank == 0) {
		g.y = need(calloc(o->items * N + 1, sizeof(*g.y)));
		g.res = need(calloc(o->items + 1, sizeof(*g.res)));
		g.seconds = need(calloc(size, sizeof(*g.seconds)));
		g.where = need(calloc(size, WHERE));
	}
	/* The clock starts when every rank has its pipeline (or none). */
	p = open_pipe(&s, local);
	MPI_Barrier(MPI_COMM_WORLD);
	t0 = MPI_Wtime();
	run_share(&s, p, t0);
	status = finish(&s, &g);
	free(s.y);
	free(s.res);
	free(g.y);
	free(g.res);
	free(g.seconds);
	free(g.where);
	return status;
}

int main(int argc, char **argv)
{
	struct opts o;
	int rank, size, ret, status;

	MPI_Init(&argc, &argv);
	MPI_Comm_rank(MPI_COMM_WORLD, &rank);
	MPI_Comm_size(MPI_COMM_WORLD, &size);
	ret = parse(argc, argv, &o);
	if (ret) {
		if (rank == 0)
			usage(ret > 0 ? stdout : stderr);
		MPI_Finalize();
		return ret > 0 ? 0 : 2;
	}
	status = run(&o, rank, size);
	MPI_Finalize();
	return status;
}
