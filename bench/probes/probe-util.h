/* SPDX-License-Identifier: MIT */
/*
 * What the probes share: the monotonic clock in nanoseconds, a qsort
 * comparison, and the --reps option of the probes that take nothing else.
 */
#ifndef GPUPIPE_PROBE_UTIL_H
#define GPUPIPE_PROBE_UTIL_H

#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static inline uint64_t probe_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static inline int probe_cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Parse `[--reps 1..max]` into *reps; -1 to go on, else the exit status
 * (0 after --help, 2 after a bad argument, with the usage printed). */
static inline int probe_reps_option(int argc, char **argv, unsigned max,
				    unsigned *reps)
{
	static const struct option opts[] = {
		{ "reps", required_argument, NULL, 'r' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c == 'r' && atoi(optarg) > 0 &&
		    (unsigned)atoi(optarg) <= max) {
			*reps = (unsigned)atoi(optarg);
		} else {
			fprintf(stderr, "usage: %s [--reps 1..%u]\n", argv[0],
				max);
			return c == 'h' ? 0 : 2;
		}
	}
	return -1;
}

#endif /* GPUPIPE_PROBE_UTIL_H */
