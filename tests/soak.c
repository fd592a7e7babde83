/* SPDX-License-Identifier: MIT */
/*
 * gpupipe-soak: push many items through pipelines of several shapes and
 * check every output element and every completion. For long runs and for
 * real GPUs, where llvmpipe cannot show a fence that never signals in the
 * readback context or a race between the GPU writing and the CPU reading.
 *
 *   soak [--items N] [--elems N] [--depths 1,3,8] [--batches 1,16]
 *        [--prep-threads N] [--prep-delay-us N]
 *
 * Prints one line per configuration (and its resident set after 10^4,
 * 10^5, ... items pushed) and exits 0 only if every item of
 * every configuration completed once, in order, with the right output.
 */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common.h"

static unsigned parse_list(const char *s, unsigned *out, unsigned max)
{
	unsigned n = 0;
	char *end;

	while (*s && n < max) {
		out[n++] = (unsigned)strtoul(s, &end, 10);
		if (*end != ',')
			break;
		s = end + 1;
	}
	return n;
}

static int run_one(uint64_t items, uint32_t elems, unsigned depth,
		   unsigned batch, unsigned threads, unsigned delay_us)
{
	struct harness h;
	struct gpupipe_info info;
	struct gpupipe_stats st;
	uint64_t t1, id, missing = 0, pushed = 0, mark = 10000;
	long rss[8];
	unsigned nrss = 0, r;
	int ret, ok;

	harness_init(&h, elems, depth, batch, threads, items);
	h.prep_delay_us = delay_us;
	/* The test's own per-item record, touched now, so that the resident
	 * set measured below grows only with what the library holds. */
	if (h.seen)
		memset(h.seen, 0, items);
	ret = harness_create(&h);
	if (ret)
		return 1;
	gpupipe_get_info(h.p, &info);
	{
		struct timespec a, b;

		clock_gettime(CLOCK_MONOTONIC, &a);
		/* Push in runs that end at 10^4, 10^5, ... items; note the
		 * resident set at each. */
		ret = 0;
		while (!ret && pushed < items) {
			uint64_t n = (mark < items ? mark : items) - pushed;

			ret = harness_push(&h, pushed, n);
			pushed += n;
			if (pushed == mark) {
				if (nrss < 8)
					rss[nrss++] = rss_kib();
				mark *= 10;
			}
		}
		if (!ret)
			ret = gpupipe_drain(h.p, -1);
		clock_gettime(CLOCK_MONOTONIC, &b);
		t1 = (uint64_t)(b.tv_sec - a.tv_sec) * 1000000000u +
		     (uint64_t)(b.tv_nsec - a.tv_nsec);
	}
	gpupipe_get_stats(h.p, &st);
	for (id = 0; id < items; id++)
		missing += h.seen[id] != 1;
	ok = ret == 0 && atomic_load(&h.completions) == items &&
	     atomic_load(&h.by_status[GPUPIPE_DONE]) == items &&
	     !atomic_load(&h.bad_output) && !atomic_load(&h.bad_order) &&
	     !atomic_load(&h.bad_seq) && !atomic_load(&h.bad_status) &&
	     !missing;
	printf("%-4s depth %3u batch %3u prep %u elems %6u: %8llu items, "
	       "%llu done, %llu bad outputs, %llu out of order, %llu "
	       "missing/dup, %llu fences, %.2f us/item  [%s]\n",
	       ok ? "OK" : "FAIL", depth, batch, threads, elems,
	       (unsigned long long)items,
	       (unsigned long long)atomic_load(&h.by_status[GPUPIPE_DONE]),
	       (unsigned long long)atomic_load(&h.bad_output),
	       (unsigned long long)(atomic_load(&h.bad_order) +
				    atomic_load(&h.bad_seq)),
	       (unsigned long long)missing, (unsigned long long)st.batches,
	       (double)t1 / 1e3 / (double)items, info.renderer);
	if (nrss) {
		printf("     resident set after 10^4");
		for (r = 1; r < nrss; r++)
			printf(", 10^%u", r + 4);
		printf(" items pushed:");
		for (r = 0; r < nrss; r++)
			printf(" %ld", rss[r]);
		printf(" KiB\n");
	}
	fflush(stdout);
	if (harness_fini(&h))
		ok = 0;
	return ok ? 0 : 1;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "items", required_argument, NULL, 'n' },
		{ "elems", required_argument, NULL, 'e' },
		{ "depths", required_argument, NULL, 'd' },
		{ "batches", required_argument, NULL, 'b' },
		{ "prep-threads", required_argument, NULL, 't' },
		{ "prep-delay-us", required_argument, NULL, 'y' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	unsigned depths[16] = { 1, 3, 8 }, batches[16] = { 1, 16 };
	unsigned nd = 3, nb = 2, threads = 2, delay = 0, i, j;
	uint64_t items = 100000;
	uint32_t elems = 1024;
	int c, failures = 0;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'n': items = strtoull(optarg, NULL, 10); break;
		case 'e': elems = (uint32_t)strtoul(optarg, NULL, 10); break;
		case 'd': nd = parse_list(optarg, depths, 16); break;
		case 'b': nb = parse_list(optarg, batches, 16); break;
		case 't': threads = (unsigned)strtoul(optarg, NULL, 10); break;
		case 'y': delay = (unsigned)strtoul(optarg, NULL, 10); break;
		default:
			fprintf(stderr, "usage: %s [--items N] [--elems N] "
				"[--depths 1,3,8] [--batches 1,16] "
				"[--prep-threads N] [--prep-delay-us N]\n",
				argv[0]);
			return c == 'h' ? 0 : 2;
		}
	}
	if (!items || !elems || !nd || !nb) {
		fprintf(stderr, "soak: --items, --elems, --depths and "
			"--batches need values above 0\n");
		return 2;
	}
	setenv("LP_NUM_THREADS", "0", 0);
	for (i = 0; i < nd; i++)
		for (j = 0; j < nb; j++)
			failures += run_one(items, elems, depths[i],
					    batches[j], threads, delay);
	printf("soak: %d of %u configurations failed\n", failures, nd * nb);
	return failures ? 1 : 0;
}
