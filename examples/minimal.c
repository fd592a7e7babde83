/* SPDX-License-Identifier: MIT */
/*
 * minimal: push N items through a gpupipe pipeline and check each output.
 *
 * Each item is 1024 floats; the shader computes y = a * x + b with a and b
 * from the shared "weights" buffer. prep_cb fills x, done_cb checks y
 * against the same computation on the CPU.
 *
 *   cc minimal.c $(pkg-config --cflags --libs gpupipe) -o minimal
 *   ./minimal [items]
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include <gpupipe.h>

#define N 1024

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

static const float weights[2] = { 2.5f, -1.0f };

struct totals {
	unsigned long done, bad, other;
};

static float input(unsigned long item, unsigned i)
{
	return (float)((item * 31 + i * 7) % 1000) / 10.0f + 0.5f;
}

static int prep(struct gpupipe_job *job, void *user)
{
	unsigned long item = (unsigned long)(uintptr_t)job->item;
	float *x = job->input;
	unsigned i;

	for (i = 0; i < N; i++)
		x[i] = input(item, i);
	job->groups[0] = N / 64;
	return 0;
}

static void done(struct gpupipe_job *job, void *user)
{
	struct totals *t = user;
	unsigned long item = (unsigned long)(uintptr_t)job->item;
	const float *y = job->output;
	unsigned i;

	if (job->status != GPUPIPE_DONE) {
		fprintf(stderr, "item %lu: %s: %s\n", item,
			gpupipe_status_name(job->status), job->message);
		t->other++;
		return;
	}
	for (i = 0; i < N; i++) {
		float want = weights[0] * input(item, i) + weights[1];

		if (fabsf(y[i] - want) > 1e-4f * fabsf(want)) {
			t->bad++;
			return;
		}
	}
	t->done++;
}

int main(int argc, char **argv)
{
	unsigned long items = argc > 1 ? strtoul(argv[1], NULL, 0) : 10000;
	struct totals t = { 0 };
	struct gpupipe_config cfg = {
		.shader_source = shader,
		.in_bytes = N * sizeof(float),
		.out_bytes = N * sizeof(float),
		.weights = weights,
		.weights_bytes = sizeof(weights),
		.prep_cb = prep,
		.done_cb = done,
		.user_data = &t,
	};
	struct gpupipe_info info;
	gpupipe *p;
	unsigned long i;
	int ret;

	ret = gpupipe_create(&cfg, &p);
	if (ret) {
		fprintf(stderr, "gpupipe_create: %s\n%s\n",
			gpupipe_strerror(ret), gpupipe_errmsg());
		return 1;
	}
	gpupipe_get_info(p, &info);
	printf("renderer: %s (%s), depth %u, %u prep threads\n",
	       info.renderer, info.version, info.depth, info.prep_threads);
	for (i = 0; i < items; i++) {
		ret = gpupipe_push(p, (void *)(uintptr_t)i, 0);
		if (ret) {
			fprintf(stderr, "gpupipe_push: %s\n%s\n",
				gpupipe_strerror(ret), gpupipe_errmsg());
			break;
		}
	}
	/* destroy cancels what no prep thread has taken: wait first. */
	gpupipe_drain(p, -1);
	gpupipe_destroy(p);
	printf("%lu items: %lu correct, %lu wrong, %lu not done\n", items,
	       t.done, t.bad, t.other);
	return t.done == items ? 0 : 1;
}
